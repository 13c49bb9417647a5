"""The session's listener for the window: session threads in, Qt signals out on the GUI thread.

``SessionBridge.listener`` (a ``SessionEvents``) implements ``app.pipeline.events.SessionListener``.
Its methods are called from the session's threads (capture, websocket, translation pool): they only
append to a lock-protected queue and return, so the audio path never waits on the GUI. A ``QTimer`` on the GUI
thread drains the queue at screen pace (~30 Hz) and emits the signals from there, which is the only
thread that emits them (STYLE: emit only from Qt-owned threads).

Coalescing per drain: consecutive interim texts collapse to the newest one (the view repaints once,
not once per websocket message), and level readings collapse to the loudest, so the meter shows
peaks. Everything else is delivered in order and exactly once. Objects are copied when they are
queued, because the session keeps mutating its own ``Turn`` (translations arrive on pool threads).
"""
from __future__ import annotations

import copy
import threading
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Slot

from app.core.errors import AppError
from app.core.transcript import Gap, Translation, Turn
from app.pipeline.events import SESSION_EVENTS, SessionState, SessionSummary
from app.workers.session_signals import SessionSignals

DRAIN_INTERVAL_MS = 33  # ~30 Hz: smooth to the eye, cheap for the GUI thread


_SIGNAL = {event.method: event.signal for event in SESSION_EVENTS}
_INTERIM = _SIGNAL["interim_changed"]
# What an ended session still says: translations retried after Stop, and what became of them.
_AFTER_THE_END = frozenset(event.signal for event in SESSION_EVENTS if event.after_end)
_ENDED = _SIGNAL["session_ended"]


@dataclass(frozen=True)
class _Event:
    signal: str  # the name of the SessionBridge signal that delivers it
    args: tuple[object, ...]


class SessionEvents:
    """The ``SessionListener`` half: thread-safe, Qt-free, only queues. Called from any thread.

    A separate object because the listener's method names (``turn_finalized`` ...) are the
    bridge's signal names, and a QObject cannot have a method and a signal of the same name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: deque[_Event] = deque()
        self._level: float | None = None
        self._closed = False  # set once session_ended is queued: later live events are dropped

    def take(self) -> tuple[list[_Event], float | None]:
        with self._lock:
            events = list(self._events)
            self._events.clear()
            level, self._level = self._level, None
        return events, level

    def _put(self, signal: str, *args: object) -> None:
        with self._lock:
            if self._closed and signal not in _AFTER_THE_END:
                return
            self._events.append(_Event(signal, args))
            if signal == _ENDED:
                self._closed = True

    def state_changed(self, state: SessionState, detail: str) -> None:
        self._put(_SIGNAL["state_changed"], state.value if isinstance(state, SessionState) else str(state), detail)

    def interim_changed(self, text: str) -> None:
        self._put(_INTERIM, text)

    def turn_finalized(self, turn: Turn) -> None:
        self._put(_SIGNAL["turn_finalized"], copy.deepcopy(turn))

    def turn_revised(self, turn: Turn) -> None:
        self._put(_SIGNAL["turn_revised"], copy.deepcopy(turn))

    def translation_updated(self, index: int, translation: Translation) -> None:
        self._put(_SIGNAL["translation_updated"], index, copy.copy(translation))

    def gap_added(self, gap: Gap) -> None:
        self._put(_SIGNAL["gap_added"], copy.copy(gap))

    def level_changed(self, dbfs: float) -> None:
        with self._lock:
            if not self._closed:
                self._level = dbfs if self._level is None else max(self._level, dbfs)

    def error_occurred(self, error: AppError) -> None:
        self._put(_SIGNAL["error_occurred"], error)

    def rate_limit_changed(self, waiting: int, resume_in_s: float) -> None:
        self._put(_SIGNAL["rate_limit_changed"], waiting, resume_in_s)

    def session_ended(self, summary: SessionSummary) -> None:
        self._put(_ENDED, summary)


class SessionBridge(SessionSignals):
    """One per session. Create it on the GUI thread, hand ``bridge.listener`` to the session, and
    call ``start()`` before the session runs; ``stop()`` when the session is done with for good.
    Its signals are ``SessionSignals``'."""

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = DRAIN_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.listener = SessionEvents()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)

    # --- GUI thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    @Slot()
    def drain(self) -> None:
        """Emit everything queued since the last drain (GUI thread)."""
        events, level = self.listener.take()
        if level is not None:
            self.level_changed.emit(level)
        for i, event in enumerate(events):
            if event.signal == _INTERIM and i + 1 < len(events) and events[i + 1].signal == _INTERIM:
                continue  # a newer interim text follows: skip this one
            getattr(self, event.signal).emit(*event.args)
        # The timer keeps running after session_ended: translations retried after Stop still come
        # through here. The controller stops it when the next session replaces this bridge.
