"""A TCP relay that can play a dead network path: it stops forwarding, in both directions, without
closing anything.

Why a relay and not a switch in the fake server [protocol §9.1]: a websocket server library answers
pings by itself (``websockets`` does, in its own reading thread) even when the session handler has
stopped reading, so a fault inside the server can never look like a Wi-Fi change, a laptop that
slept, a VPN that reconnected or a NAT that forgot the mapping. Those lose packets *on the path*:
the client's pings go nowhere, nothing comes back, and neither end sees a FIN or an RST until TCP
gives up minutes later. ``stall()`` imitates exactly that: the bytes already in flight stay where
they are (the relay stops reading both sockets), no close, no reset, nothing.

What is not imitated: retransmission timers and the point where the OS finally resets the
connection (minutes on a real network; here only when the relay is closed), and a path that loses
only some packets.

Connections opened after ``stall()`` are forwarded normally: the network is back, on a new path,
as after a reconnect on a real network. ``stall(new_connections=True)`` also swallows new ones
(accepted, never forwarded), for a network that stays dead.

Threads: one accept thread, and two pump threads per relayed connection (client->server and
server->client), all started here and joined by ``close()``. The sockets are closed by
``close()`` (or ``cut()``, a blip that drops every open connection) only, so a stalled path stays
open for as long as the test wants.

Usage::

    with FakeStreamingServer(...) as srv, TcpRelay(srv.port) as relay:
        url = relay.ws_url("/v3/ws")          # the app connects here
        ...
        relay.stall()                         # the path dies mid-sentence
"""
from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType

_POLL_S = 0.05  # how often a pump looks at the stall flag; sleeping in a fake is fine


class _Link:
    """One relayed connection: the client's socket and ours to the server."""

    def __init__(self, client: socket.socket, server: socket.socket | None) -> None:
        self.client = client
        self.server = server
        self.stalled = threading.Event()
        self.forwarded = [0, 0]  # bytes client->server, server->client
        self.threads: list[threading.Thread] = []

    def close(self) -> None:
        for sock in (self.client, self.server):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


class TcpRelay:
    """See the module docstring."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._closing = threading.Event()
        self._swallow_new = False
        self._accept_thread = threading.Thread(target=self._accept_loop, name="fake-relay-accept", daemon=True)
        self.errors: list[BaseException] = []

    def __enter__(self) -> TcpRelay:
        self._accept_thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
        if exc_type is None and self.errors:
            raise self.errors[0]

    def ws_url(self, path: str = "/v3/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._links)

    def stall(self, *, new_connections: bool = False) -> None:
        """Stop forwarding on every open connection, silently (see the module docstring)."""
        with self._lock:
            for link in self._links:
                link.stalled.set()
            self._swallow_new = new_connections

    def cut(self) -> None:
        """Close every open connection at once, both ways, as a network blip does (a Wi-Fi that
        dropped and came back); new connections are forwarded as before."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()
        for link in links:
            for thread in link.threads:
                thread.join(2)

    def resume_new_connections(self) -> None:
        with self._lock:
            self._swallow_new = False

    def close(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._accept_thread.is_alive():
            self._accept_thread.join(2)
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close()
        for link in links:
            for thread in link.threads:
                thread.join(2)

    # --- threads ---

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                readable, _, _ = select.select([self._listener], [], [], _POLL_S)
                if not readable:
                    continue
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                swallow = self._swallow_new
            try:
                server = None if swallow else socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()  # the fake server is gone: refuse like a dead host would
                continue
            link = _Link(client, server)
            if server is None:
                link.stalled.set()
            else:
                server.settimeout(None)
                link.threads = [
                    threading.Thread(target=self._pump, args=(link, client, server, 0), name="fake-relay-up",
                                     daemon=True),
                    threading.Thread(target=self._pump, args=(link, server, client, 1), name="fake-relay-down",
                                     daemon=True),
                ]
                for thread in link.threads:
                    thread.start()
            with self._lock:
                self._links.append(link)

    def _pump(self, link: _Link, src: socket.socket, dst: socket.socket, direction: int) -> None:
        try:
            while not self._closing.is_set():
                if link.stalled.is_set():
                    # A dead path: read nothing, forward nothing, close nothing.
                    self._closing.wait(_POLL_S)
                    continue
                readable, _, _ = select.select([src], [], [], _POLL_S)
                if not readable or link.stalled.is_set():
                    continue
                data = src.recv(65536)
                if not data:
                    # A real close (FIN) from one side: pass it on, as a working path would.
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
                link.forwarded[direction] += len(data)
        except OSError:
            return  # a socket was closed under us (close(), or the other pump saw a reset)
        except BaseException as exc:
            self.errors.append(exc)
