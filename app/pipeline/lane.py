"""One audio source's way to the speech service: the backlog, the connection loop with its
reconnects and the gaps it leaves. Generic: the wire protocol and the turn rules come from the
backend (``app.pipeline.speech``); a session runs one lane per source it transcribes.

Threads: ``feed`` and ``tick`` on the capture thread (never blocking: audio goes to the current
connection or into the bounded backlog); ``run`` on the lane's streaming thread (connects,
reconnects with the backoff, reads); ``terminate`` and ``hurry`` from any thread. The lane reports
through ``LaneEvents``, called from those threads; the session turns them into turns, gaps and
listener calls. Positions are milliseconds of the session's recording.
"""
from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Protocol

from app.core.errors import AppError, AuthError, StreamingError
from app.core.settings import ReconnectPolicy
from app.core.transcript import Gap
from app.core.turn_events import AssemblerEvent
from app.core.units import BYTES_PER_MS
from app.pipeline.events import SessionState
from app.pipeline.speech import ConnectionEnd, SpeechConnection, SpeechService

log = logging.getLogger("app.pipeline")

GAP_MIN_MS = 200  # shorter outages are not worth a marker
OFFLINE_TEXT = "offline — recording; not transcribing"


class LaneEvents(Protocol):
    """What a lane tells its session (from the lane's threads)."""

    def lane_state(self, state: SessionState, detail: str) -> None: ...

    def lane_events(self, events: list[AssemblerEvent]) -> None: ...

    def lane_gap(self, gap: Gap) -> None: ...

    def lane_error(self, error: AppError) -> None:
        """Not fatal: said in the status bar; the lane goes on."""

    def lane_failed(self, error: AppError) -> None:
        """Fatal: the lane gave up; the session ends (everything recorded is kept)."""

    def lane_reconnected(self) -> None: ...

    def last_turn_end_ms(self, segment: int) -> int | None:
        """The end of the last final turn of ``segment`` of this lane, if any (where a gap starts)."""


class StreamingLane:
    def __init__(self, speech: SpeechService, events: LaneEvents, *, reconnect: ReconnectPolicy,
                 stop: threading.Event, capture_done: threading.Event, quitting: threading.Event,
                 rng: Callable[[], float] = random.random) -> None:
        self.speech = speech
        self._events = events
        self._reconnect = reconnect
        self._stop = stop
        self._capture_done = capture_done
        self._quitting = quitting
        self._rng = rng
        self._rules = speech.turn_rules()
        self._rules_lock = threading.Lock()  # messages (streaming thread) and ticks (capture thread)
        self._lock = threading.Lock()  # the state below: capture and streaming threads
        self._client: SpeechConnection | None = None  # the connection the audio goes to
        self._current: SpeechConnection | None = None  # the one connecting or running (stop/abort it)
        self._connection_offset_ms = 0  # where the current connection's audio starts
        self._backlog: deque[bytes] = deque()  # captured while no connection is up, newest last
        self._backlog_bytes = 0
        self._position_bytes = 0  # audio of this source captured (== written to the recording)
        self._gap_start_ms: int | None = 0  # audio not being transcribed since this position
        self.connected_once = False
        self.dropped_bytes = 0  # audio the service never received (it is in the recording)
        self.reconnects = 0

    # --- capture thread -------------------------------------------------------------------------

    def feed(self, block: bytes) -> None:
        with self._lock:
            self._position_bytes += len(block)
            client = self._client
            if client is not None:
                client.send_audio(block)
                return
            # No connection is up: keep the newest audio for the next one (it is sent faster than
            # real time, within the service's tolerance); what falls out of the window is not sent
            # and ends up inside a gap row (the recording has it).
            self._backlog.append(block)
            self._backlog_bytes += len(block)
            limit = int(self.speech.send_ahead_s * 1000) * BYTES_PER_MS
            while self._backlog_bytes > limit:
                dropped = len(self._backlog.popleft())
                self._backlog_bytes -= dropped
                self.dropped_bytes += dropped

    def tick(self) -> None:
        with self._rules_lock:
            events = self._rules.tick()
        self._events.lane_events(events)

    @property
    def position_ms(self) -> int:
        with self._lock:
            return self._position_bytes // BYTES_PER_MS

    # --- streaming thread -----------------------------------------------------------------------

    def run(self) -> None:
        """Connect, read, reconnect, until the recording ends (or the lane gives up)."""
        segment = 0  # successful connections so far; the backend's turn numbering restarts with each
        attempt = 0  # failed tries since the last connection that worked (or since the start)
        auth_closed = False  # the last connect ended in a rejection after the socket opened
        while not self._quitting.is_set():
            if self._capture_done.is_set() and not self._has_unsent_audio():
                return
            if attempt and self.connected_once:
                self._events.lane_state(SessionState.RECONNECTING, f"reconnecting ({attempt})")
            elif not attempt:
                self._events.lane_state(SessionState.CONNECTING, "")
            client = self.speech.connection(self._on_message)
            with self._lock:
                self._current = client
            try:
                client.connect(on_open=partial(self._attach, client))
            except AuthError as exc:
                self._detach(client)
                # Valid keys are sometimes closed with a transient 1008 ("Incorrect padding") and
                # the next connection works: one retry after a short wait. A second rejection in a
                # row, or one at the handshake (HTTP 401), is the key [protocol §9.2].
                if exc.close_code is None or auth_closed or self._gave_up(attempt + 1):
                    self._events.lane_failed(exc)
                    return
                auth_closed = True
                attempt += 1
                log.warning("the service closed the connection with %s (%s); trying once more", exc.close_code,
                            exc.detail)
                if self._backoff(1):
                    return
                continue
            except StreamingError as exc:
                self._detach(client)  # what it was sent before it began was never transcribed: a gap
                if self._stop.is_set():
                    return  # stop() cut this attempt short: nothing failed
                if not exc.retryable or self._gave_up(attempt + 1):
                    self._events.lane_failed(exc)
                    return
                attempt += 1
                self._connect_failed(exc, attempt)
                if self._backoff(attempt):
                    return
                continue
            auth_closed = False
            end = self._run_connection(client, segment)
            if end.terminated or self._capture_done.is_set():
                return  # graceful end (or the stop timed out: nothing more can arrive)
            error = end.to_error()
            if isinstance(error, AuthError) or (isinstance(error, StreamingError) and not error.retryable):
                self._events.lane_failed(error or StreamingError("The connection ended."))
                return
            segment += 1
            attempt = 1
            self.reconnects += 1
            self._events.lane_error(_transient(error, attempt))
            if self._backoff(attempt):
                return

    def _connect_failed(self, error: StreamingError, attempt: int) -> None:
        """A try failed; the recording goes on while the loop keeps trying with the backoff."""
        if self.connected_once:
            self._events.lane_error(_transient(error, attempt))
            return
        # Never connected: the network may be down at Record. Record anyway, say so once, and
        # mark what is not transcribed as gaps (the audio is in the recording, to transcribe later).
        self._events.lane_state(SessionState.OFFLINE, f"{OFFLINE_TEXT} (tried {attempt}×)")
        if attempt == 1:
            offline = StreamingError(f"{error.message} Recording anyway; the app keeps trying to connect, "
                                     "and what it cannot transcribe is kept as gaps in the recording.",
                                     close_code=error.close_code, retryable=True, detail=error.detail)
            offline.fatal = False
            self._events.lane_error(offline)

    def _attach(self, client: SpeechConnection) -> None:
        """The connection accepts audio (its session may not have begun yet): from now on the
        audio goes to it, starting with what was captured while no connection was up."""
        with self._lock:
            backlog = b"".join(self._backlog)
            self._backlog.clear()
            self._backlog_bytes = 0
            self._connection_offset_ms = (self._position_bytes - len(backlog)) // BYTES_PER_MS
            if backlog:
                client.send_audio(backlog)
            self._client = client

    def _detach(self, client: SpeechConnection) -> None:
        with self._lock:
            if self._client is client:
                self._client = None
            if self._current is client:
                self._current = None

    def _run_connection(self, client: SpeechConnection, segment: int) -> ConnectionEnd:
        with self._lock:
            offset_ms = self._connection_offset_ms
            gap_start, self._gap_start_ms = self._gap_start_ms, None
            self.connected_once = True
        if gap_start is not None and offset_ms - gap_start >= GAP_MIN_MS:
            # Not transcribed: a drop, a stretch before the first connection began, or audio
            # older than the backlog the service accepts at once.
            self._events.lane_gap(Gap(gap_start, offset_ms, "connection lost" if segment else "not connected yet"))
        with self._rules_lock:
            events = self._rules.start_segment(segment, offset_ms)
        self._events.lane_events(events)
        self._events.lane_state(SessionState.LIVE, "")
        if segment > 0:
            self._events.lane_reconnected()
        if self._capture_done.is_set():
            self.terminate()
        end = client.run()
        self._detach(client)
        with self._rules_lock:
            events = self._rules.flush()
        self._events.lane_events(events)
        if not end.terminated:
            # Speech not finalized before the drop was lost with the connection: the gap starts
            # after the last final turn of this connection (or where the connection began).
            last_end = self._events.last_turn_end_ms(segment)
            self._gap_start_ms = min(max(last_end if last_end is not None else offset_ms, offset_ms),
                                     self.position_ms)
        return end

    def _on_message(self, message: object) -> None:
        with self._rules_lock:
            events = self._rules.receive(message)
        self._events.lane_events(events)

    def _has_unsent_audio(self) -> bool:
        with self._lock:
            return bool(self._backlog) and not self.connected_once

    def _gave_up(self, attempt: int) -> bool:
        limit = self._reconnect.max_attempts
        return limit is not None and attempt >= limit

    def _backoff(self, attempt: int) -> bool:
        """Wait before the next try; True if the session is stopping and should not reconnect."""
        delay = self._reconnect.delay(attempt, self._rng())
        self._capture_done.wait(delay)
        return self._capture_done.is_set()

    # --- the end (streaming thread, after run) ---------------------------------------------------

    def finish(self) -> Gap | None:
        """After ``run``: release what the rules hold, and the gap left open at the end, if any."""
        with self._rules_lock:
            events = self._rules.flush()
        self._events.lane_events(events)
        position_ms = self.position_ms
        if self._gap_start_ms is not None and position_ms - self._gap_start_ms >= GAP_MIN_MS:
            reason = "connection lost" if self.connected_once else "not transcribed: the service was not reachable"
            return Gap(self._gap_start_ms, position_ms, reason)
        return None

    # --- any thread ------------------------------------------------------------------------------

    def terminate(self) -> None:
        """Ask the current connection to finish: the turn in flight, then the end (bounded)."""
        with self._lock:
            client = self._current
        if client is not None:
            client.stop(timeout=self.speech.terminate_timeout_s)

    def hurry(self) -> None:
        """The ending may not wait any longer: close the connection now."""
        with self._lock:
            client = self._current
        if client is not None:
            client.abort()


def _transient(error: AppError | None, attempt: int) -> AppError:
    text = error.message if error is not None else "The connection to the streaming service was lost."
    out = StreamingError(f"{text} Reconnecting (attempt {attempt}); recording continues.", retryable=True)
    out.fatal = False
    return out
