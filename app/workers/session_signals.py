"""The session's events as Qt signals, declared once for the bridge and the controller.

GUI thread. ``SessionBridge`` emits them (drained from the session's threads) and
``SessionController`` forwards the current bridge's, so the window connects once. The names come
from ``app.pipeline.events.SESSION_EVENTS``; the check below keeps this class and that list equal.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.pipeline.events import SESSION_EVENTS

__all__ = ["SessionSignals"]


class SessionSignals(QObject):
    state_changed = Signal(str, str)  # SessionState value, detail ("reconnecting (2)")
    interim_text_changed = Signal(str)  # live text of the turn in progress; "" clears it
    turn_finalized = Signal(object)  # Turn
    turn_revised = Signal(object)  # Turn: the same index, changed (its speaker)
    translation_updated = Signal(int, object)  # turn index, Translation
    gap_added = Signal(object)  # Gap
    level_changed = Signal(float)  # dBFS, the loudest block since the last drain
    error_occurred = Signal(object)  # AppError (fatal ones end the session)
    rate_limit_changed = Signal(int, float)  # translations held back by the rate limit (0: none), seconds left
    session_ended = Signal(object)  # SessionSummary


_DECLARED = {name for name, value in vars(SessionSignals).items() if isinstance(value, Signal)}
_LISTED = {event.signal for event in SESSION_EVENTS}
if _LISTED != _DECLARED:  # pragma: no cover - a programming error, found at import
    raise RuntimeError(f"SessionSignals and SESSION_EVENTS differ: {sorted(_DECLARED ^ _LISTED)}")
