"""SessionNames: the names a user gives a session's speakers and sides, kept with that session.

GUI thread. The model says when a name changed (``TranscriptModel.names_changed``); this writes
the names through whoever keeps the session shown (the live session: its archive meta and its
folder's exports, ``LiveSession.set_names``; a kept one: ``Archive.set_names``) in a
``BackgroundTask``, one write at a time, the newest names last. Nothing is written for a
transcript that has no session behind it (a recovered one shown before it is in the archive).
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from app.core.errors import AppError
from app.core.who import Names
from app.workers.tasks import BackgroundTask

Write = Callable[[Names], object]


class SessionNames(QObject):
    message = Signal(str)  # for the status bar: a write that failed
    saved = Signal(object)  # Names, once written

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._write: Write | None = None
        self._pending: Names | None = None
        self._task: BackgroundTask | None = None
        self._written = Names()

    def follow(self, write: Write | None) -> None:
        """Names from now on belong to this session (None: to nothing kept)."""
        self._write, self._pending = write, None

    @property
    def busy(self) -> bool:
        return self._task is not None or self._pending is not None

    @Slot(object)
    def keep(self, names: Names) -> None:
        if self._write is None:
            return
        self._pending = names
        self._next()

    def _next(self) -> None:
        if self._task is not None or self._pending is None or self._write is None:
            return
        names, write, self._pending = self._pending, self._write, None
        self._written = names
        self._task = BackgroundTask.launch(lambda: write(names), on_success=self._done, on_failure=self._failed,
                                           name="names")

    @Slot(object)
    def _done(self, _result: object) -> None:
        self._task = None
        self.saved.emit(self._written)
        self._next()

    @Slot(object)
    def _failed(self, error: AppError) -> None:
        self._task = None
        self.message.emit(f"The new name could not be kept with the session: {error.message}")
        self._next()
