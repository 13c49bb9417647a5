"""The journal of one live session: every turn, translation and gap committed to the session
archive (``app.store``) as it happens, and kept honest when the archive cannot be written.

Qt-free. ``write`` is called from the session's threads (websocket, translation pool, late
translations), one at a time under a lock, and returns when the write is durable: a turn is in the
journal before it is shown, so a kill -9 right after it appeared loses nothing. A file locked by
another program costs a write at most the store's short writer busy timeout
(``app.store.db.WRITE_BUSY_TIMEOUT_MS``). When a write fails (the data folder's disk is full, the
file is locked, or it was damaged and replaced), the session goes on:
the user is told exactly that, once; the session's exports still come from memory; and the journal
is brought up to date as soon as it can be written again (``SessionStore.sync_session`` with the
whole transcript, tried at most every ``CATCH_UP_EVERY_S`` and once more at the end). A journal
still behind at the end is caught up by crash recovery at the next start, from the session
folder's ``transcript.json``.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from app.core.errors import AppError, OutputError
from app.core.transcript import Gap, Turn
from app.store.db import NewSession, SessionStore

log = logging.getLogger("app.pipeline")

CATCH_UP_EVERY_S = 3.0
Write = Callable[[SessionStore, int], None]
_FAILURES = (AppError, OSError, KeyError, sqlite3.Error)


class SessionJournal:
    def __init__(self, store: SessionStore | None, *, fields: Callable[[], NewSession],
                 snapshot: Callable[[], tuple[list[Turn], list[Gap]]], notify: Callable[[AppError], None],
                 where: Callable[[], str], clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self._fields = fields  # the session's row as it is now (folder, languages ...)
        self._snapshot = snapshot  # the whole transcript as it is now
        self._notify = notify
        self._where = where  # the session folder, for messages
        self._clock = clock
        self._lock = threading.Lock()  # one write at a time, in the order they come
        self.session_id: int | None = None
        self.behind = False  # the archive misses writes; a catch-up is due
        self._last_try = 0.0
        self._ended = False
        self._moved_aside = store.moved_aside if store is not None else None

    def open(self) -> None:
        """Create the session's row (and take its lock) before anything is recorded. A failure is
        said, and caught up later."""
        if self.store is None:
            return
        fields = self._fields()
        with self._lock:
            try:
                self.session_id = self.store.create_session(
                    folder=fields.folder, audio_path=fields.audio_path, source_language=fields.source_language,
                    speech_model=fields.speech_model, target_languages=fields.target_languages,
                    llm_model=fields.llm_model, started_at=fields.started_at, title=fields.title,
                    uid=fields.uid).id
            except _FAILURES as exc:
                self._fell_behind_locked(exc)

    def write(self, write: Write) -> None:
        """Any thread; durable when it returns (or the failure is handled)."""
        if self.store is None:
            return
        with self._lock:
            if self.behind or self.session_id is None:
                self._catch_up_locked(force=self._ended)  # the catch-up carries this write too
                return
            try:
                write(self.store, self.session_id)
            except _FAILURES as exc:
                self._fell_behind_locked(exc)

    def finish(self, *, status: str, duration_ms: int) -> bool:
        """Close the row; True when the archive is complete and closed."""
        if self.store is None:
            return True
        self._ended = True
        with self._lock:
            if self.behind or self.session_id is None:
                self._catch_up_locked(force=True)
            if self.behind or self.session_id is None:
                self._notify(_notice(
                    f"The session archive could not be brought up to date; the session folder {self._where()} "
                    "has the whole recording and transcript, and the archive takes it in at the next start."))
                return False
            try:
                self.store.finish_session(self.session_id, status=status, duration_ms=duration_ms)
            except _FAILURES as exc:
                log.error("closing the journal row failed: %s", exc)
                self._notify(_notice(f"The session archive could not be closed ({_reason(exc)}); the session "
                                     f"folder {self._where()} has everything and the next start tidies it up."))
                return False
        return True

    def discard(self) -> None:
        """The session held nothing: forget its row (and its lock) instead of closing it."""
        if self.store is None:
            return
        self._ended = True
        with self._lock:
            try:
                if self.session_id is not None:
                    self.store.delete_session(self.session_id)
            except _FAILURES as exc:
                log.error("could not forget an empty session: %s", exc)  # recovery tidies it up
                return
            self.store.release(self._fields().uid)

    def _fell_behind_locked(self, exc: BaseException) -> None:
        log.error("the session archive cannot be written: %r", exc)
        assert self.store is not None
        if self.store.moved_aside is not None and self.store.moved_aside != self._moved_aside:
            # The file was found damaged and replaced by a new one: write this session into it.
            self._moved_aside = self.store.moved_aside
            self._catch_up_locked(force=True)
            if not self.behind:
                self._notify(_notice(f"{self.store.notice} This session was written into the new archive."))
                return
        if not self.behind:
            self._notify(_notice(
                f"The session archive cannot be written ({_reason(exc)}). The session goes on: the recording and "
                f"the transcript files in {self._where()} get everything, and the archive is brought up to date "
                "as soon as it can be written again."))
        self.behind = True
        self._last_try = self._clock()

    def _catch_up_locked(self, *, force: bool) -> None:
        assert self.store is not None
        if not force and self._clock() - self._last_try < CATCH_UP_EVERY_S:
            return
        self._last_try = self._clock()
        turns, gaps = self._snapshot()
        try:
            self.session_id = self.store.sync_session(self._fields(), turns, gaps)
        except _FAILURES as exc:
            log.info("the session archive still cannot be written: %s", exc)
            self.behind = True
            return
        was_behind, self.behind = self.behind, False
        if was_behind:
            self._notify(_notice("The session archive can be written again and is up to date."))


def _reason(exc: BaseException) -> str:
    return exc.message if isinstance(exc, AppError) else str(exc) or type(exc).__name__


def _notice(message: str) -> AppError:
    notice = OutputError(message)
    notice.fatal = False
    return notice
