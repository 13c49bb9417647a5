"""One websocket connection to AssemblyAI Universal Streaming v3 (websocket-client, no asyncio).

One ``StreamingClient`` object = one connection = one session; a reconnect makes a new object.

Threads:
- ``connect()`` then ``run()``: the websocket worker thread (a QThread in the GUI, a plain thread in
  the CLI). ``run()`` blocks reading server messages and calls ``on_message`` on that same thread.
- ``send_audio()``: the capture thread. It never blocks on the network: chunks go into a bounded
  queue, and when it is full they are dropped and counted (``dropped_bytes``); the WAV writer has
  kept every sample anyway.
- ``stop()`` and ``abort()``: any thread (the GUI included); neither blocks. ``wait_closed()``
  blocks, with a timeout, until ``run()`` has returned.
- Started here: a sender thread ("stt-sender") that owns the outgoing frames: it re-cuts chunks into
  50-1000 ms frames (FrameBuffer, protocol §2.1), keeps them near real-time pace (§2.1, §6.4),
  sends the liveness pings and ``Terminate`` after the last frame; a liveness watchdog
  ("stt-liveness", ``app.stt.liveness``, while ``run()`` reads); and, after ``stop()``, a timer
  ("stt-stop-deadline") that closes the socket abruptly if the service has not finished in time.
  All have exited when ``run()`` returns.

A dead network path [protocol §9.1]: the watchdog asks for a ping when the line has been quiet
for ``ping_interval_s`` and gives up when nothing at all, pongs included, has arrived for
``liveness_timeout_s``; the socket is then shut down without a close frame and ``run()`` returns
a ``CloseInfo`` with no code (a drop) and ``silent_for_s`` set.

The API key only ever travels in the ``Authorization`` header [protocol §1.2]; it is never put in
the URL, a log line or an error message. How a session ended (``CloseInfo``) and the message for
each way a connection fails live in ``app.stt.errors``.
"""
from __future__ import annotations

import contextlib
import logging
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import websocket

from app.core.errors import StreamingError
from app.core.units import SAMPLE_RATE
from app.core.units import SAMPLE_WIDTH as BYTES_PER_SAMPLE
from app.stt import liveness

# CloseInfo and NO_STATUS_CLOSE are re-exported: callers import them from here, with the client.
from app.stt.errors import NO_STATUS_CLOSE as NO_STATUS_CLOSE
from app.stt.errors import CloseInfo as CloseInfo
from app.stt.errors import (
    cancelled_error,
    closed_before_begin_error,
    connect_error,
    dropped_before_begin_error,
    no_begin_error,
)
from app.stt.framing import FrameBuffer
from app.stt.protocol import (
    SEND_AHEAD_TOLERANCE_S,
    TERMINATE,
    Begin,
    MalformedMessage,
    ServerError,
    ServerMessage,
    Termination,
    auth_headers,
    configuration_differences,
    parse_message,
)

log = logging.getLogger("app.stt")

# After Termination the service closes at once; if its close frame is lost, stop waiting soon.
CLOSE_AFTER_TERMINATION_S = 2.0
SENDER_JOIN_S = 2.0
PING_INTERVAL_S = liveness.PING_INTERVAL_S
LIVENESS_TIMEOUT_S = liveness.TIMEOUT_S


class StreamingClient:
    """See the module docstring for which thread calls what."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        on_message: Callable[[ServerMessage], None],
        frame_ms: int = 100,
        open_timeout: float = 10.0,
        begin_timeout: float = 10.0,
        send_queue_frames: int = 600,
        max_lead_s: float = SEND_AHEAD_TOLERANCE_S,
        ping_interval_s: float = PING_INTERVAL_S,
        liveness_timeout_s: float | None = LIVENESS_TIMEOUT_S,
    ) -> None:
        self._url = url
        self._api_key = api_key
        self._on_message = on_message
        self._open_timeout = open_timeout
        self._begin_timeout = begin_timeout
        # The URL is the one place the sample rate is stated; frames are cut to match it.
        self.sample_rate = _sample_rate(url)
        self._framer = FrameBuffer(self.sample_rate, frame_ms)
        self._max_queue_bytes = send_queue_frames * self._framer.frame_size
        self._max_lead_s = max_lead_s
        self._ping_interval_s = ping_interval_s
        self._liveness_timeout_s = liveness_timeout_s  # None: no liveness check
        self._ws = websocket.WebSocket(enable_multithread=True)  # locks sends: two threads write

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # wakes the sender: audio, stop, abort, closed
        self._chunks: deque[bytes] = deque()
        self._queued_bytes = 0
        self._state = "new"  # new -> connecting -> opened (sending) -> open (Begin) -> running -> closed
        self._stop_requested = False
        self._aborted = False
        self._finished = threading.Event()
        self._sender: threading.Thread | None = None
        self._stop_timer: threading.Timer | None = None
        self._stop_timeout = 5.0
        self._last_error: ServerError | None = None
        self._terminated = False
        self._watch: liveness.LivenessWatch | None = None
        self._ping_due = False  # the watchdog asked the sender for a ping
        self._silent_for_s: float | None = None

        self.begin: Begin | None = None
        self.frames_sent = 0
        self.bytes_sent = 0
        self.dropped_bytes = 0

    # --- worker thread ---------------------------------------------------------------------

    def connect(self, on_open: Callable[[], None] | None = None) -> Begin:
        """Open the socket, start sending at once, and wait for ``Begin``. Raises AppError.

        Audio flows as soon as the socket is open, like the reference clients do: ``Begin`` can
        take a second [protocol §9.8], and the first words must not wait for it. ``on_open`` is
        called (on this thread) the moment the socket is open, so the caller can hand over the
        audio it captured meanwhile; if ``Begin`` never comes, that audio was not transcribed."""
        with self._lock:
            if self._state != "new":
                raise RuntimeError("connect() is called once per StreamingClient")
            if self._stop_requested or self._aborted:
                self._state = "closed"
                self._finished.set()
                raise cancelled_error()
            self._state = "connecting"
        try:
            self._open()
            with self._wake:
                if self._aborted:
                    raise cancelled_error()
                self._state = "opened"  # sending allowed; Begin not yet received
                self._sender = threading.Thread(target=self._send_loop, name="stt-sender", daemon=True)
                self._sender.start()
                if self._stop_requested and self._stop_timer is None:
                    self._arm_stop_timer()
            if on_open is not None:
                on_open()
            begin = self._wait_for_begin()
            self._ws.settimeout(None)  # from here on, stop()/abort() bound every wait
            log.info("Streaming session %s started (model %s, mode %s, expires_at %s)", begin.id, begin.model,
                     begin.mode, begin.expires_at)
            for difference in configuration_differences(_query(self._url), begin):
                log.warning("Streaming session %s: %s", begin.id, difference)
        except BaseException:
            self._connect_failed()
            raise
        with self._wake:
            self.begin = begin
            self._state = "open"
            if self._stop_requested and self._stop_timer is None:
                self._arm_stop_timer()  # stop() raced with the end of connect(): keep it bounded
            self._wake.notify_all()
        return begin

    def _connect_failed(self) -> None:
        with self._wake:
            self._state = "closed"
            self._wake.notify_all()
            sender, timer = self._sender, self._stop_timer
        _ws_shutdown(self._ws)
        if timer is not None:
            timer.cancel()
        if sender is not None:
            sender.join(SENDER_JOIN_S)
        self._finished.set()

    def _open(self) -> None:
        headers = auth_headers(self._api_key)  # ConfigError without a key
        where = _check_url(self._url)
        log.info("Connecting to %s", _redact(self._url))
        try:
            # Origin is a browser header; the service does not want it and SDKs do not send it.
            _ws_connect(self._ws, self._url, header=[f"{k}: {v}" for k, v in headers.items()],
                        timeout=self._open_timeout, suppress_origin=True)
        except Exception as exc:
            raise connect_error(exc, where, self._open_timeout) from exc
        if self._aborted or self._stop_requested:
            raise cancelled_error()

    def _wait_for_begin(self) -> Begin:
        deadline = time.monotonic() + self._begin_timeout
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise websocket.WebSocketTimeoutException("no Begin")
                self._ws.settimeout(left)
                opcode, frame = self._ws.recv_data_frame(True)
            except websocket.WebSocketTimeoutException:
                raise no_begin_error(self._begin_timeout) from None
            except (websocket.WebSocketException, OSError) as exc:
                if self._aborted or self._stop_requested:
                    raise cancelled_error() from exc
                raise dropped_before_begin_error(self._last_error) from exc
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code, reason = _close_payload(frame.data)
                if self._stop_requested and code == 1000:
                    raise cancelled_error()  # our Terminate (sent as we stopped) was answered first
                raise closed_before_begin_error(code, reason, self._last_error)
            if opcode == websocket.ABNF.OPCODE_TEXT:
                msg = self._parse(frame.data)
                if isinstance(msg, Begin):
                    return msg
                if isinstance(msg, ServerError):
                    self._note(msg)  # reported by the exception raised when the close follows
                elif msg is not None:
                    self._on_message(msg)

    def run(self) -> CloseInfo:
        """Read until the session ends; report every message via ``on_message``.

        Returns how it ended and never raises for network trouble (a drop gives ``code=None``).
        An exception raised by ``on_message`` is a bug in the caller: the connection is closed
        and the exception propagates.
        """
        with self._lock:
            if self._state not in ("open", "closed") or self.begin is None:
                raise RuntimeError("run() needs a successful connect() first")
            if self._state == "closed":  # abort() came between connect() and run()
                return self._close_info(None, "")
            self._state = "running"
            if self._liveness_timeout_s is not None:
                self._watch = liveness.LivenessWatch(ping_interval_s=self._ping_interval_s,
                                                     timeout_s=self._liveness_timeout_s,
                                                     request_ping=self._request_ping, on_dead=self._declare_dead)
                self._watch.start()
        code: int | None = None
        reason = ""
        try:
            code, reason = self._read_until_closed()
        finally:
            info = self._release(code, reason)
        return info

    def _read_until_closed(self) -> tuple[int | None, str]:
        while True:
            try:
                opcode, frame = self._ws.recv_data_frame(True)
            except websocket.WebSocketTimeoutException:
                log.info("No close frame after Termination; closing the connection")
                return None, ""
            except (websocket.WebSocketException, OSError) as exc:
                if not (self._aborted or self._terminated or self._silent_for_s is not None):
                    log.warning("Connection to the streaming service lost: %s", exc)
                return None, ""
            if self._watch is not None:
                self._watch.heard()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return _close_payload(frame.data)
            if opcode == websocket.ABNF.OPCODE_TEXT:
                msg = self._parse(frame.data)
                if msg is not None:
                    self._note(msg)
                    self._on_message(msg)
            # Binary, ping and pong frames need nothing more (websocket-client answers pings);
            # receiving them was the point: the path is alive.

    def _parse(self, data: bytes | str) -> ServerMessage | None:
        try:
            return parse_message(data)
        except MalformedMessage as exc:
            # Tolerant reader [protocol §3]: one bad frame must not end a session.
            log.warning("Ignoring a malformed message from the streaming service: %s", exc)
            return None

    def _note(self, msg: ServerMessage) -> None:
        if isinstance(msg, ServerError):
            self._last_error = msg
            log.warning("Streaming service error %s: %s", msg.code, msg.message)
        elif isinstance(msg, Termination):
            self._terminated = True
            # The close frame follows at once; do not let a lost one hold the session open.
            self._ws.settimeout(CLOSE_AFTER_TERMINATION_S)

    def _release(self, code: int | None, reason: str) -> CloseInfo:
        """Close the socket, let the sender and the stop timer go. Runs once, on the run() thread
        (or in abort() when run() never started)."""
        with self._wake:
            self._state = "closed"
            self._wake.notify_all()
            sender, timer, watch = self._sender, self._stop_timer, self._watch
        _ws_shutdown(self._ws)
        if watch is not None:
            watch.stop()
        if timer is not None:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join(SENDER_JOIN_S)
        if sender is not None and sender is not threading.current_thread():
            sender.join(SENDER_JOIN_S)
            if sender.is_alive():
                log.error("The audio sender thread did not stop within %s s", SENDER_JOIN_S)
        info = self._close_info(code, reason)
        self._finished.set()
        log.info("Streaming session ended: code=%s reason=%r terminated=%s requested=%s frames_sent=%d "
                 "dropped_bytes=%d", info.code, info.reason, info.terminated, info.requested,
                 self.frames_sent, self.dropped_bytes)
        return info

    def _close_info(self, code: int | None, reason: str) -> CloseInfo:
        return CloseInfo(code, reason, self._last_error, self._terminated,
                         requested=self._stop_requested or self._aborted,
                         silent_for_s=self._silent_for_s if code is None else None)

    # --- liveness watchdog thread ----------------------------------------------------------

    def _request_ping(self) -> None:
        with self._wake:
            self._ping_due = True
            self._wake.notify_all()

    def _declare_dead(self, silent_for_s: float) -> None:
        with self._wake:
            if self._state == "closed" or self._aborted:
                return
            self._silent_for_s = silent_for_s
        log.warning("Nothing received from the streaming service for %.1f s (pings unanswered); "
                    "treating the connection as lost", silent_for_s)
        _ws_abort(self._ws)  # no close frame: the path is dead, and a send could block forever

    # --- capture thread --------------------------------------------------------------------

    def send_audio(self, pcm: bytes) -> None:
        """Queue PCM (s16le at the URL's sample rate) for sending. Never blocks on the network."""
        if not pcm:
            return
        with self._wake:
            if self._stop_requested or self._aborted:
                return  # the app is ending the session; late chunks are expected, not lost audio
            if self._state == "closed" or self._queued_bytes + len(pcm) > self._max_queue_bytes:
                self.dropped_bytes += len(pcm)
                return
            self._chunks.append(bytes(pcm))
            self._queued_bytes += len(pcm)
            self._wake.notify_all()

    # --- any thread ------------------------------------------------------------------------

    def stop(self, timeout: float = 5.0) -> None:
        """Graceful end, without blocking: send the queued audio (last frame padded to >= 50 ms),
        then Terminate; ``run()`` returns when Termination and the close arrive, or after
        ``timeout`` seconds, when the socket is closed abruptly."""
        with self._wake:
            if self._stop_requested or self._aborted or self._state == "closed":
                return
            self._stop_requested = True
            state = self._state
            self._stop_timeout = timeout
            if state in ("opened", "open", "running"):
                self._arm_stop_timer()
            self._wake.notify_all()
        if state == "connecting":
            # Nothing was sent yet, so there is nothing to flush: cut the handshake short.
            _ws_abort(self._ws)

    def _arm_stop_timer(self) -> None:
        # Caller holds the lock.
        self._stop_timer = threading.Timer(self._stop_timeout, self._stop_deadline, args=(self._stop_timeout,))
        self._stop_timer.name = "stt-stop-deadline"
        self._stop_timer.daemon = True
        self._stop_timer.start()

    def _stop_deadline(self, timeout: float) -> None:
        if not self._finished.is_set():
            log.warning("The streaming service did not end the session within %g s of Terminate; "
                        "closing the connection", timeout)
            self.abort()

    def abort(self) -> None:
        """Close now, without Terminate. Wakes a blocked ``run()`` or ``connect()``."""
        with self._wake:
            if self._aborted:
                return
            self._aborted = True
            release_here = self._state == "open"  # connected, but no run() to clean up
            if release_here:
                self._state = "closed"
            self._wake.notify_all()
        _ws_abort(self._ws)  # shutdown(SHUT_RDWR): a blocked recv/send returns at once
        if release_here:
            self._release(None, "")

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the session is over (``run()`` returned or ``connect()`` failed)."""
        return self._finished.wait(timeout)

    # --- sender thread ---------------------------------------------------------------------

    def _send_loop(self) -> None:
        started: float | None = None
        audio_s = 0.0
        bytes_per_s = self.sample_rate * BYTES_PER_SAMPLE
        try:
            while True:
                with self._wake:
                    while not (self._chunks or self._stop_requested or self._aborted or self._state == "closed"
                               or self._ping_due):
                        self._wake.wait()
                    if self._aborted or self._state == "closed":
                        return
                    ping = self._take_ping()
                    chunks = list(self._chunks)
                    self._chunks.clear()
                    self._queued_bytes = 0
                    # Decided in the same locked block as the drain: no chunk can follow stop().
                    last = self._stop_requested
                if ping:
                    self._ws.ping()
                frames = [frame for chunk in chunks for frame in self._framer.push(chunk)]
                tail = self._framer.flush() if last else None
                if tail is not None:
                    frames.append(tail)
                for frame in frames:
                    started = time.monotonic() if started is None else started
                    if not self._pace(started, audio_s + len(frame) / bytes_per_s):
                        return
                    self._ws.send(frame, websocket.ABNF.OPCODE_BINARY)
                    audio_s += len(frame) / bytes_per_s
                    self.frames_sent += 1
                    self.bytes_sent += len(frame)
                if last:
                    self._ws.send(TERMINATE)
                    log.info("Sent Terminate after %d frames (%.1f s of audio)", self.frames_sent, audio_s)
                    return
        except (websocket.WebSocketException, OSError) as exc:
            # The reader sees the same dead socket and reports it; this is only for the log.
            if not (self._aborted or self._state == "closed"):
                log.warning("Sending audio failed: %s", exc)

    def _pace(self, started: float, audio_after_s: float) -> bool:
        """Hold a frame while the audio sent would run more than ``max_lead_s`` ahead of the
        clock: the service closes faster-than-real-time streams with 3007 [protocol §2.1]. A live
        microphone never waits here; a backlog or a file fed too fast does. False = give up."""
        while True:
            wait = audio_after_s - (time.monotonic() - started) - self._max_lead_s
            if wait <= 0:
                return True
            with self._wake:
                if self._aborted or self._state == "closed":
                    return False
                ping = self._take_ping()
                if not ping:
                    self._wake.wait(wait)
            if ping:
                self._ws.ping()

    def _take_ping(self) -> bool:
        """Caller holds the lock: True once per ping the watchdog asked for."""
        due, self._ping_due = self._ping_due, False
        return due


# --- helpers -------------------------------------------------------------------------------------

# websocket-client leaves these three methods unannotated; typed wrappers keep the ignores in one place.
def _ws_connect(ws: websocket.WebSocket, url: str, **options: Any) -> None:
    ws.connect(url, **options)


def _ws_shutdown(ws: websocket.WebSocket) -> None:
    """Close the socket now, no close frame. SHUT_RDWR first: close() alone does not wake a
    thread blocked in send() on the same socket, shutdown() does."""
    sock = ws.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed or never connected
            sock.shutdown(socket.SHUT_RDWR)
    ws.shutdown()


def _ws_abort(ws: websocket.WebSocket) -> None:
    """shutdown(SHUT_RDWR) on the socket: a recv/send blocked in another thread returns at once."""
    ws.abort()


_TOKEN = re.compile(r"(?<=[?&]token=)[^&]*")


def _redact(url: str) -> str:
    """The URL for logs: a temporary token in the query is replaced."""
    return _TOKEN.sub("***", url)


def _query(url: str) -> dict[str, str]:
    """The URL's query, last value of each name."""
    return {name: values[-1] for name, values in parse_qs(urlsplit(url).query).items()}


def _sample_rate(url: str) -> int:
    try:
        value = _query(url).get("sample_rate")
        rate = int(value) if value else SAMPLE_RATE
    except ValueError:
        return SAMPLE_RATE
    return rate if rate > 0 else SAMPLE_RATE


def _check_url(url: str) -> str:
    """``host:port`` for messages, or StreamingError for a URL that cannot be used."""
    invalid = StreamingError(
        f"The streaming URL {_redact(url)!r} is not valid: it must start with wss:// or ws:// and name "
        "a host, e.g. wss://streaming.assemblyai.com/v3/ws. Check the streaming URL in Settings.",
        retryable=False)
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise invalid from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise invalid
    return f"{parts.hostname}:{port}" if port else parts.hostname


def _close_payload(data: Any) -> tuple[int, str]:
    raw = data if isinstance(data, bytes) else str(data).encode()
    if len(raw) < 2:
        return NO_STATUS_CLOSE, ""
    return struct.unpack("!H", raw[:2])[0], raw[2:].decode("utf-8", "replace")

