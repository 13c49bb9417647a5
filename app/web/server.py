"""CaptionServer: the read-only caption page and its live stream of the session (Server-Sent Events).

Threads: ``bind()`` runs on the caller's thread (so "port in use" is an error the caller can show
at once); ``serve()`` blocks on a thread of its own (a plain thread in the terminal and in tests,
a QThread in the window) running an asyncio loop with aiohttp. ``stop()`` and the read-only
properties may be called from any thread. The session's threads never touch the server: they
append to the ``EventLog``, whose watcher only schedules ``_pump`` on the loop.

Safety, as the README says it: every address is ``/c/<token>/...`` with an unguessable token, and
anything else gets 403 with nothing in it; GET (and HEAD) only, no endpoint changes anything; the
page's files are served from memory, the stream from the log, and neither holds a path or a key.

Delivery: each viewer has a bounded queue of pushes. The pump encodes each batch of new events
once and offers the same bytes to every queue; a viewer whose queue is full (a stuck phone, a dead
Wi-Fi) is disconnected at once, so it never delays the others or the session, and a write that
hangs is given up after ``write_timeout_s``. A dropped viewer's browser reconnects by itself with
``Last-Event-ID`` and resumes from the log, missing nothing. ``stop()`` sends every viewer a
``closed`` event, which tells the page not to reconnect.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import socket
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from app.core.errors import ConfigError
from app.core.event_log import EventLog
from app.web import sse
from app.web.addresses import DEFAULT_PORT, LOOPBACK, Scope, network_addresses, page_path, page_url
from app.web.page import PageFile, load_page

log = logging.getLogger("app.web")

STOPPED_TEXT = ("Sharing has stopped. If it is started again, the person sharing will give you a new address "
                "(or QR code).")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEADERS = {
    "Cache-Control": "no-store",  # the address is a secret: keep the page out of caches
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
}


@dataclass(frozen=True)
class ServerLimits:
    max_viewers: int = 300
    queue_batches: int = 256  # pushes a viewer may have waiting; one more and it is too slow: dropped
    write_timeout_s: float = 20.0  # a single write stuck this long: the viewer is gone
    heartbeat_s: float = 15.0  # a comment line on a quiet stream, so dead viewers are noticed
    shutdown_s: float = 2.0  # after stop(): how long viewers get to receive "closed"


class _Closing:
    """Queued to a viewer by ``stop()``: write ``closed`` with this message and end the stream."""

    def __init__(self, message: str) -> None:
        self.message = message


@dataclass(eq=False)
class _Viewer:
    cursor: int  # the newest log id this viewer has been given (or was given in its replay)
    queue: asyncio.Queue[bytes | _Closing]
    transport: asyncio.Transport | None
    dropped: bool = False

    def offer(self, chunk: bytes) -> bool:
        """Queue a push; False if the queue is full (the viewer is too slow)."""
        try:
            self.queue.put_nowait(chunk)
        except asyncio.QueueFull:
            return False
        return True

    def drop(self) -> None:
        self.dropped = True
        if self.transport is not None:
            self.transport.abort()  # a write stuck on this viewer fails now, not at its timeout

    def close(self, message: str) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_Closing(message))


@dataclass
class _Counters:
    viewers: int = 0
    dropped: int = 0  # viewers disconnected for being too slow
    refused: int = 0  # viewers turned away because the cap was reached
    served: int = 0  # streams opened


class CaptionServer:
    def __init__(self, log_: EventLog, scope: Scope = Scope.THIS_COMPUTER, port: int = DEFAULT_PORT, *,
                 limits: ServerLimits | None = None, any_port_if_busy: bool = False) -> None:
        self.event_log = log_
        self.scope = scope
        self.limits = limits or ServerLimits()
        self.token = secrets.token_urlsafe(18)  # 144 random bits: unguessable, and short enough for a QR
        self._port = port
        self._any_port_if_busy = any_port_if_busy
        self._sock: socket.socket | None = None
        self._page: dict[str, PageFile] = {}
        self._viewers: set[_Viewer] = set()
        self._counts = _Counters()
        self._lock = threading.Lock()  # guards _loop, _stop_message and _counts across threads
        self._counted = threading.Condition(self._lock)  # notified whenever a count changes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_message: str | None = None
        self._serving = False  # serve() has begun (its loop may not be running yet)
        self._stopping: asyncio.Event | None = None
        self._wake_pending = False
        self._cursor = 0  # the newest id the pump has handed out
        self.finished = threading.Event()
        self.thread: threading.Thread | None = None

    # --- addresses ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        """The host people use: this machine's network address when sharing on the network."""
        if self.scope is Scope.NETWORK:
            found = network_addresses()
            if found:
                return found[0]
        return LOOPBACK

    @property
    def url(self) -> str:
        return page_url(self.host, self._port, self.token)

    @property
    def local_url(self) -> str:
        return page_url(LOOPBACK, self._port, self.token)

    @property
    def obs_url(self) -> str:
        return page_url(LOOPBACK, self._port, self.token, layout="obs")

    # --- counts (any thread) ------------------------------------------------------------------

    @property
    def viewer_count(self) -> int:
        with self._lock:
            return self._counts.viewers

    @property
    def dropped_viewers(self) -> int:
        with self._lock:
            return self._counts.dropped

    @property
    def refused_viewers(self) -> int:
        with self._lock:
            return self._counts.refused

    @property
    def streams_served(self) -> int:
        with self._lock:
            return self._counts.served

    def wait_for_counts(self, *, viewers: int | None = None, dropped: int | None = None,
                        timeout_s: float = 5.0) -> bool:
        """Block (any thread but the server's) until the counts are as given; False on timeout."""
        def reached() -> bool:
            return ((viewers is None or self._counts.viewers == viewers)
                    and (dropped is None or self._counts.dropped >= dropped))

        with self._counted:
            return self._counted.wait_for(reached, timeout_s)

    # --- life ---------------------------------------------------------------------------------

    def bind(self) -> None:
        """Open the listening socket (caller's thread). Raises ``ConfigError`` with what to do."""
        self._page = load_page()
        host = self.scope.bind_host
        try:
            self._sock = _listen(host, self._port)
        except OSError as exc:
            if not self._any_port_if_busy:
                raise ConfigError(f"The captions cannot be shared on port {self._port}: {exc.strerror or exc}. "
                                  "Another program may be using it; choose another port (--captions-port N) "
                                  "or stop that program.") from exc
            self._sock = _listen(host, 0)
        self._port = int(self._sock.getsockname()[1])
        log.info("captions shared on %s port %d (%s)", host, self._port, self.scope.value)

    def start_thread(self) -> threading.Thread:
        """``bind()`` if needed, then ``serve()`` on a plain thread of its own (terminal, tests)."""
        if self._sock is None:
            self.bind()
        self.thread = threading.Thread(target=self.serve, name="caption-server", daemon=True)
        self.thread.start()
        return self.thread

    def serve(self) -> None:
        """Serve until ``stop()`` (blocks; its own thread). ``bind()`` must have been called."""
        if self._sock is None:
            raise RuntimeError("CaptionServer.serve() needs bind() first")
        with self._lock:
            if self._stop_message is not None:
                return  # stopped before it began: stop() closed the socket
            self._serving = True
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(loop))
        finally:
            with self._lock:
                self._loop = None
            loop.close()
            self.finished.set()

    def stop(self, message: str = STOPPED_TEXT) -> None:
        """End sharing (any thread, never blocks): every viewer is told ``message`` and its stream
        ends, so no page keeps reconnecting; then the server closes. ``finished`` is set after."""
        with self._lock:
            if self._stop_message is not None:
                return
            self._stop_message = message
            loop, serving = self._loop, self._serving
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed in the meantime: nothing to stop
                loop.call_soon_threadsafe(self._begin_stop)
        elif not serving:
            if self._sock is not None:
                self._sock.close()  # bound but never served (serve() will not begin now)
            self.finished.set()
        # else: serve() has begun and its loop is not up yet; it sees the message and stops itself.

    def wait(self, timeout_s: float) -> bool:
        """Bounded wait for the server to have closed (after ``stop()``)."""
        return self.finished.wait(timeout_s)

    # --- the loop (its own thread) ------------------------------------------------------------

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._guard])
        prefix = page_path(self.token)
        app.router.add_get(prefix + "events", self._events, allow_head=False)
        for name in self._page:
            app.router.add_get(prefix + name, self._static)
        app.router.add_get(prefix.rstrip("/"), self._to_page)
        # handler_cancellation: a viewer that hangs up frees its place at once, not at the next write.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.limits.shutdown_s, handler_cancellation=True)
        await runner.setup()
        assert self._sock is not None
        await web.SockSite(runner, self._sock).start()
        with self._lock:
            self._loop = loop
            stop_asked = self._stop_message is not None
        self.event_log.add_watcher(self._wake)
        self._cursor = self.event_log.latest_id
        if stop_asked:
            self._begin_stop()
        try:
            await self._stopping.wait()
            await self._let_viewers_go()
        finally:
            self.event_log.remove_watcher(self._wake)
            await runner.cleanup()

    def _begin_stop(self) -> None:
        assert self._stopping is not None
        message = self._stop_message or STOPPED_TEXT
        for viewer in list(self._viewers):
            viewer.close(message)
        self._stopping.set()

    async def _let_viewers_go(self) -> None:
        """Give every viewer a moment to receive "closed", then cut whoever is still there."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.shutdown_s
        while self._viewers and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for viewer in list(self._viewers):
            viewer.drop()

    def _wake(self) -> None:
        """The log's watcher: called on the session's threads after each append. Schedules one
        pump on the loop, however many events arrive before it runs."""
        with self._lock:
            if self._wake_pending or self._loop is None:
                return
            self._wake_pending = True
            loop = self._loop
        with contextlib.suppress(RuntimeError):  # the loop is closing: the viewers are being let go
            loop.call_soon_threadsafe(self._pump)

    def _pump(self) -> None:
        """Hand every viewer what the log has that it has not been given (loop thread)."""
        with self._lock:
            self._wake_pending = False
        replay = self.event_log.since(self._cursor)
        self._cursor = replay.latest_id
        if not replay.events:
            return
        shared: dict[int, bytes] = {}  # viewers at the same cursor (nearly all) share one encoding
        for viewer in list(self._viewers):
            if viewer.cursor not in shared:
                shared[viewer.cursor] = sse.frames(e for e in replay.events if e.id > viewer.cursor)
            chunk = shared[viewer.cursor]
            viewer.cursor = replay.latest_id
            if chunk and not viewer.offer(chunk):
                log.info("a caption viewer was too slow and was disconnected (it will resume by itself)")
                with self._counted:
                    self._counts.dropped += 1
                    self._counted.notify_all()
                viewer.drop()

    # --- requests (loop thread) ---------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """403, and nothing else, for any address without this server's token."""
        parts = request.path.split("/", 3)
        given = parts[2] if len(parts) >= 3 and parts[1] == "c" else ""
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode()):
            return web.Response(status=403, text="Forbidden\n", headers={"Cache-Control": "no-store"})
        return await handler(request)

    async def _to_page(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(page_path(self.token) + (f"?{request.query_string}" if request.query_string else ""))

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.path[len(page_path(self.token)):]
        page = self._page[name]
        return web.Response(body=page.body, content_type=page.content_type, charset="utf-8", headers=HEADERS)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={**HEADERS, "Content-Type": "text/event-stream; charset=utf-8",
                                               "X-Accel-Buffering": "no"})
        with self._lock:
            full = self._counts.viewers >= self.limits.max_viewers
            stopping = self._stop_message is not None
            if full:
                self._counts.refused += 1
        if full or stopping:
            await response.prepare(request)
            if stopping:
                await response.write(sse.control("closed", message=self._stop_message or STOPPED_TEXT))
            else:
                await response.write(sse.control(
                    "full", message=f"Too many people are following these captions right now (the limit is "
                                    f"{self.limits.max_viewers}). Try again in a minute."))
            return response
        await response.prepare(request)
        # No await between reading the log and joining the viewers: the pump runs on this same
        # loop, so it cannot hand out an event in between (none is missed, none comes twice).
        replay = self.event_log.since(sse.parse_last_event_id(request.headers.get("Last-Event-ID"),
                                                              request.query.get("last")))
        viewer = _Viewer(replay.latest_id, asyncio.Queue(self.limits.queue_batches), request.transport)
        self._viewers.add(viewer)
        with self._counted:
            self._counts.viewers += 1
            self._counts.served += 1
            self._counted.notify_all()
        try:
            hello = sse.control("hello", scope=self.scope.value, plain_http_network=self.scope is Scope.NETWORK)
            await self._write(response, sse.retry_field() + hello + sse.frames(replay.events))
            await self._stream(response, viewer)
        except (ConnectionError, asyncio.TimeoutError):
            pass  # the viewer went away, was too slow, or was cut at shutdown: nothing to tell anyone
        finally:
            self._viewers.discard(viewer)
            with self._counted:
                self._counts.viewers -= 1
                self._counted.notify_all()
        return response

    async def _stream(self, response: web.StreamResponse, viewer: _Viewer) -> None:
        while not viewer.dropped:
            try:
                item = await asyncio.wait_for(viewer.queue.get(), self.limits.heartbeat_s)
            except asyncio.TimeoutError:
                item = sse.PING
            if isinstance(item, _Closing):
                await self._write(response, sse.control("closed", message=item.message))
                await response.write_eof()
                return
            await self._write(response, item)

    async def _write(self, response: web.StreamResponse, chunk: bytes) -> None:
        await asyncio.wait_for(response.write(chunk), self.limits.write_timeout_s)


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # Sharing turned off and on again rebinds the port while old connections sit in TIME_WAIT,
        # which SO_REUSEADDR allows on POSIX; on Windows it would let two servers share a port.
        if not _is_windows():
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(512)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _is_windows() -> bool:
    return sys.platform == "win32"


@dataclass(frozen=True)
class SharingInfo:
    """What the window and the terminal show about a running share."""

    scope: Scope
    url: str  # the address people open (the network one when sharing on the network)
    local_url: str  # the same page on this computer
    obs_url: str  # the transparent strip for an OBS browser source on this computer
    other_urls: tuple[str, ...] = field(default_factory=tuple)  # the page on this machine's other addresses


def sharing_info(server: CaptionServer) -> SharingInfo:
    others: tuple[str, ...] = ()
    if server.scope is Scope.NETWORK:
        others = tuple(page_url(a, server.port, server.token) for a in network_addresses()[1:])
    return SharingInfo(server.scope, server.url, server.local_url, server.obs_url, others)
