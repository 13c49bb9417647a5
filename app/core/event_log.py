"""The session's event log: an append-only, numbered record of what a live caption viewer needs.

Pure Python, thread-safe. The session's threads append (through ``app.pipeline.caption_feed``);
readers on any thread (the caption page's server, ``app/web``) ask for what came after the last id
they saw. One log outlives many sessions: while captions are shared, each new session starts a new
chapter (``begin_session``) and the ids keep counting, so a viewer that was away across the change
of session is told so (the replay starts with the new ``session_started``) instead of being handed
ids that mean something else.

What is kept is the current (or last) session, so a late joiner gets the session so far, and the
one before it, so a viewer that was a moment behind when a new session began still gets the end
of the old one ("session ended") before the new one starts. Interim
text changes many times a second; only the newest interim in a row is kept (a newer one replaces
it), so the log grows with turns, not with keystrokes of the recogniser, and a reader that falls
behind skips superseded interims instead of replaying them.

Every event's payload is JSON, encoded once when it is appended (every viewer gets the same
bytes), and carries ``t``, the wall-clock time it arrived in the app, so delivery latency can be
measured at the viewer. Nothing here knows a file path or the API key, and nothing about them is
ever put in a payload.
"""
from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.languages import find_language
from app.core.timefmt import span_label, time_label
from app.core.transcript import Gap, Translation, TranslationStatus, Turn

Watcher = Callable[[], None]


class EventKind:
    """The event names a viewer sees (the SSE ``event:`` field); one place for the page's contract."""

    SESSION_STARTED = "session_started"  # a new session: forget what was shown
    LANGUAGES = "languages"  # the session's languages changed (one added mid-session)
    STATE = "state"  # live, reconnecting, finishing ...
    INTERIM = "interim"  # the words of the turn in progress; "" clears them
    TURN = "turn"  # a finished turn
    TRANSLATION = "translation"  # one translation of a turn (done or failed)
    GAP = "gap"  # a stretch with no transcript
    SESSION_ENDED = "session_ended"


@dataclass(frozen=True)
class LoggedEvent:
    id: int  # 1, 2, 3 ... for the life of the log, across sessions
    kind: str  # an ``EventKind`` value
    data: str  # the payload as JSON (one line)
    session: int  # 1 for the first session of this log, +1 per session


@dataclass(frozen=True)
class Replay:
    """What a reader gets: the events to show, and the id to ask after next time."""

    events: list[LoggedEvent]
    latest_id: int  # the newest id in the log when this was read (even if it was a dropped interim)
    restarted: bool  # True: ``events`` is the whole current session (begin from its session_started)


def language_entry(code: str) -> dict[str, str]:
    """A language as a page shows it: its code, English name and native name."""
    lang = find_language(code)
    if lang is None:
        return {"code": code, "name": code, "native": code}
    return {"code": lang.code, "name": lang.name, "native": lang.native}


class EventLog:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._events: list[LoggedEvent] = []  # the previous session's and the current one's, oldest first
        self._ids: list[int] = []  # the same events' ids, for bisecting
        self._current = 0  # where the current session starts in ``_events``
        self._next_id = 1
        self._session = 0
        self._languages: list[str] = []
        self._open = False  # a session has begun and not ended
        self._watchers: list[Watcher] = []

    # --- writing (any thread) -----------------------------------------------------------------

    def begin_session(self, languages: Sequence[str], source: str | None = None) -> int:
        """Start a new session's chapter (what the previous one said is dropped); returns its
        number. A writer that passes that number to the methods below is ignored once a newer
        session has begun (a translation retried after Stop of a session that is long over)."""
        with self._lock:
            del self._events[:self._current]
            del self._ids[:self._current]
            self._current = len(self._events)
            self._session += 1
            self._languages = list(dict.fromkeys(languages))
            self._open = True
            self._append_locked(EventKind.SESSION_STARTED, {
                "session": self._session,
                "languages": [language_entry(c) for c in self._languages],
                "source": language_entry(source) if source else None,
            })
            number = self._session
        self._notify()
        return number

    def state(self, state: str, label: str, *, session: int | None = None) -> None:
        self._append(EventKind.STATE, {"state": state, "label": label}, session)

    def interim(self, text: str, *, session: int | None = None) -> None:
        self._append(EventKind.INTERIM, {"text": text}, session)

    def turn(self, turn: Turn, *, session: int | None = None) -> None:
        self._append(EventKind.TURN, {"turn": turn.index, "text": turn.text, "at": time_label(turn.start_ms),
                                      "language": turn.language_code}, session)

    def translation(self, index: int, translation: Translation, *, session: int | None = None) -> None:
        """A finished translation (done or failed); pending ones are not news for a viewer. The
        failure's reason stays in the app: it may name a server or an account problem."""
        if translation.status is TranslationStatus.PENDING:
            return
        done = translation.status is TranslationStatus.DONE
        with self._lock:
            if not self._accepts(session):
                return
            if translation.language not in self._languages:
                self._languages.append(translation.language)
                self._append_locked(EventKind.LANGUAGES,
                                    {"languages": [language_entry(c) for c in self._languages]})
            self._append_locked(EventKind.TRANSLATION, {
                "turn": index, "language": translation.language, "status": translation.status.value,
                "text": translation.text if done else "",
            })
        self._notify()

    def gap(self, gap: Gap, *, session: int | None = None) -> None:
        self._append(EventKind.GAP, {"label": f"no transcript {span_label(gap.start_ms, gap.end_ms)}",
                                     "at": time_label(gap.start_ms)}, session)

    def end_session(self, turns: int, *, session: int | None = None) -> None:
        with self._lock:
            if not self._open or not self._accepts(session):
                return
            self._open = False
            self._append_locked(EventKind.INTERIM, {"text": ""})
            self._append_locked(EventKind.SESSION_ENDED, {"turns": turns})
        self._notify()

    def _append(self, kind: str, payload: dict[str, object], session: int | None) -> None:
        with self._lock:
            if not self._accepts(session):
                return
            self._append_locked(kind, payload)
        self._notify()

    def _accepts(self, session: int | None) -> bool:
        if self._session == 0:
            return False  # nothing begun: a stray event from before the first session
        return session is None or session == self._session

    def _append_locked(self, kind: str, payload: dict[str, object]) -> None:
        payload["t"] = round(self._clock(), 4)
        event = LoggedEvent(self._next_id, kind, json.dumps(payload, ensure_ascii=False), self._session)
        self._next_id += 1
        if (kind == EventKind.INTERIM and len(self._events) > self._current
                and self._events[-1].kind == EventKind.INTERIM):
            # The newer words replace the older ones: keep only the newest interim in a row.
            self._events.pop()
            self._ids.pop()
        self._events.append(event)
        self._ids.append(event.id)

    # --- reading (any thread) -----------------------------------------------------------------

    def since(self, last_id: int | None) -> Replay:
        """The events after ``last_id`` (the rest of the previous session, if it was in it, then
        the current one); the whole current session when ``last_id`` is None, older than the
        previous session, or unknown (newer than anything this log has handed out)."""
        with self._lock:
            latest = self._next_id - 1
            first = self._ids[0] if self._ids else self._next_id
            if last_id is None or last_id < first - 1 or last_id > latest:
                return Replay(self._events[self._current:], latest, restarted=True)
            at = bisect.bisect_right(self._ids, last_id)
            return Replay(self._events[at:], latest, restarted=False)

    @property
    def latest_id(self) -> int:
        with self._lock:
            return self._next_id - 1

    @property
    def languages(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._languages)

    @property
    def session_open(self) -> bool:
        with self._lock:
            return self._open

    def __len__(self) -> int:
        """Events kept of the current session."""
        with self._lock:
            return len(self._events) - self._current

    # --- watching -----------------------------------------------------------------------------

    def add_watcher(self, watcher: Watcher) -> None:
        """``watcher()`` is called after every append, on the appending thread: it must only wake
        its owner (e.g. ``loop.call_soon_threadsafe``) and return; it must not raise."""
        with self._lock:
            self._watchers.append(watcher)

    def remove_watcher(self, watcher: Watcher) -> None:
        with self._lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def _notify(self) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for watcher in watchers:
            watcher()
