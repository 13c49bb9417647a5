"""Noticing a dead network path in seconds [protocol §9.1]: a watchdog over one connection.

The streaming service sends nothing while nobody speaks, so a path that died without a close
(Wi-Fi change, sleep and resume, VPN reconnect, NAT timeout) looks like a quiet room until TCP
gives up, minutes later. ``LivenessWatch`` asks for a WebSocket ping whenever nothing has arrived
for ``ping_interval_s`` (the service answers pings with pongs, as every websocket server must;
the official Python SDK relies on that with its 20 s keepalive) and declares the connection dead
when nothing at all, pongs included, has arrived for ``timeout_s``.

It only asks and reports: sending the ping and closing the socket are the client's
(``app.stt.client``), through the two callbacks. The watchdog never sends anything itself: a send
blocked on a dead socket holds websocket-client's send lock, and a watchdog stuck behind it could
not enforce its own deadline. The service's opt-in ``session_heartbeat`` is not used: pings work
with every model and need nothing from the server.

Threads: ``heard()`` is called by the reading thread, ``start()``/``stop()`` by the client on the
same thread; the watchdog runs on its own thread, "stt-liveness", and calls ``request_ping`` and
``on_dead`` from there. ``stop()`` joins it (bounded).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

# A dead path is noticed within TIMEOUT_S + CHECK_S of the last frame (under the 10 s the README
# promises); a ping goes out after PING_INTERVAL_S without a frame, so a live but quiet service has
# answered three or four pings before the deadline, which tolerates a slow link.
PING_INTERVAL_S = 2.0
TIMEOUT_S = 8.0
CHECK_S = 0.25
JOIN_S = 2.0


class LivenessWatch:
    def __init__(self, *, ping_interval_s: float, timeout_s: float, request_ping: Callable[[], None],
                 on_dead: Callable[[float], None]) -> None:
        self._ping_interval_s = ping_interval_s
        self._timeout_s = timeout_s
        self._request_ping = request_ping
        self._on_dead = on_dead
        self._last_rx = time.monotonic()  # a float written by the reader, read here: atomic enough
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stt-liveness", daemon=True)

    def heard(self) -> None:
        """Something arrived (any frame: data, pong, ping, close)."""
        self._last_rx = time.monotonic()

    def start(self) -> None:
        self._last_rx = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(JOIN_S)

    def _run(self) -> None:
        check = min(CHECK_S, self._timeout_s / 4)
        last_request = 0.0
        while not self._stopped.wait(check):
            now = time.monotonic()
            idle = now - self._last_rx
            if idle >= self._timeout_s:
                self._on_dead(idle)
                return
            if idle >= self._ping_interval_s and now - last_request >= self._ping_interval_s:
                last_request = now
                self._request_ping()
