"""FanOutListener: one ``SessionListener`` that passes every call on to several.

Pure Python; called from the session's threads like any listener. It is how a second view of the
session (the caption page's event log) is attached next to the window's bridge or the terminal's
printer without either knowing about the other: ``build_session(request, FanOutListener(a, b))``.

Each call goes to every listener in order. One that raises does not keep the others from hearing
the event; the first exception is raised again afterwards, so the session's own error handling
sees it exactly as it would without the fan-out.
"""
from __future__ import annotations

from collections.abc import Callable

from app.core.errors import AppError
from app.core.transcript import Gap, Translation, Turn
from app.pipeline.events import SessionListener, SessionState, SessionSummary


class FanOutListener:
    def __init__(self, *listeners: SessionListener) -> None:
        self.listeners = tuple(listeners)

    def _each(self, call: Callable[[SessionListener], None]) -> None:
        first: BaseException | None = None
        for listener in self.listeners:
            try:
                call(listener)
            except Exception as exc:  # noqa: BLE001 - raised again below, after the others heard it
                first = first or exc
        if first is not None:
            raise first

    def state_changed(self, state: SessionState, detail: str) -> None:
        self._each(lambda listener: listener.state_changed(state, detail))

    def interim_changed(self, text: str) -> None:
        self._each(lambda listener: listener.interim_changed(text))

    def turn_finalized(self, turn: Turn) -> None:
        self._each(lambda listener: listener.turn_finalized(turn))

    def translation_updated(self, index: int, translation: Translation) -> None:
        self._each(lambda listener: listener.translation_updated(index, translation))

    def turn_revised(self, turn: Turn) -> None:
        self._each(lambda listener: listener.turn_revised(turn))

    def gap_added(self, gap: Gap) -> None:
        self._each(lambda listener: listener.gap_added(gap))

    def level_changed(self, dbfs: float) -> None:
        self._each(lambda listener: listener.level_changed(dbfs))

    def error_occurred(self, error: AppError) -> None:
        self._each(lambda listener: listener.error_occurred(error))

    def rate_limit_changed(self, waiting: int, resume_in_s: float) -> None:
        self._each(lambda listener: listener.rate_limit_changed(waiting, resume_in_s))

    def session_ended(self, summary: SessionSummary) -> None:
        self._each(lambda listener: listener.session_ended(summary))
