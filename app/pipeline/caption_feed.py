"""CaptionFeed: the ``SessionListener`` that writes a session into the caption page's event log.

Pure Python; called from the session's threads (capture, websocket, translation pool). Every call
is a short append under the log's lock, so the session never waits on a viewer: the page's
server reads the log on its own thread (``app/web``). One feed per session; the log's chapter for
the session begins with the first event after the session's folder was opened (a session that
could not even start never appears on the page), and events that arrive after a newer session has
begun (a translation retried long after Stop) are left out of the newer one.

What reaches the log is what a person in the room may read: the words, their translations, gaps,
and the session's state in plain words. Never file paths, error texts or anything of the key.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

from app.core.errors import AppError
from app.core.event_log import EventLog
from app.core.transcript import Gap, Translation, Turn
from app.pipeline.events import SessionState, SessionSummary

# What the page says for each state (the window's detail texts may name servers or counts).
STATE_LABELS = {
    SessionState.STARTING: "Starting…",
    SessionState.CONNECTING: "Connecting…",
    SessionState.OFFLINE: "Recording, not transcribing: the speech service cannot be reached",
    SessionState.LIVE: "Live",
    SessionState.RECONNECTING: "Reconnecting…",
    SessionState.FINISHING: "Finishing the last turn…",
    SessionState.ENDED: "Session ended",
    SessionState.FAILED: "Session ended",
}


class CaptionFeed:
    def __init__(self, log: EventLog, languages: Sequence[str], source: str | None = None) -> None:
        self._log = log
        self._languages = tuple(languages)
        self._source = source
        self._lock = threading.Lock()
        self._session: int | None = None
        self._state: SessionState | None = None

    def _chapter(self) -> int:
        """The log's number for this session, beginning it on first use."""
        with self._lock:
            if self._session is None:
                self._session = self._log.begin_session(self._languages, self._source)
            return self._session

    def state_changed(self, state: SessionState, detail: str) -> None:
        if state is SessionState.STARTING:
            return  # the folder and device are being opened: the session may not start at all
        with self._lock:
            repeated, self._state = state is self._state, state
        if not repeated:  # "finishing 48 translations…" counts down: the page needs it once
            self._log.state(state.value, STATE_LABELS.get(state, state.value), session=self._chapter())

    def interim_changed(self, text: str) -> None:
        self._log.interim(text, session=self._chapter())

    def turn_finalized(self, turn: Turn) -> None:
        self._log.turn(turn, session=self._chapter())

    def translation_updated(self, index: int, translation: Translation) -> None:
        self._log.translation(index, translation, session=self._chapter())

    def turn_revised(self, turn: Turn) -> None:
        """A speaker relabelled: the caption page shows no speakers, so nothing it shows changes."""

    def gap_added(self, gap: Gap) -> None:
        self._log.gap(gap, session=self._chapter())

    def level_changed(self, dbfs: float) -> None:
        pass  # a meter is the operator's business, and far too chatty for a page

    def error_occurred(self, error: AppError) -> None:
        pass  # errors are the operator's; the page hears what they lead to (reconnecting, ended)

    def rate_limit_changed(self, waiting: int, resume_in_s: float) -> None:
        pass

    def session_ended(self, summary: SessionSummary) -> None:
        with self._lock:
            session = self._session
        if session is not None:
            self._log.end_session(summary.turns, session=session)
