"""BackgroundTask: run one blocking call (keyring, a key check, a file copy) off the GUI thread.

``run()`` executes the callable on its own thread; the result or the error comes back as a signal
on the GUI thread. One catch-all: an ``AppError`` is passed on as it is, anything else is logged and
wrapped, so the window always gets a message it can show. The task keeps itself alive until it has
finished (``OwnedThread``), then deletes itself.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import AppError, catch_all
from app.workers.threads import OwnedThread

log = logging.getLogger("app.workers")

class BackgroundTask(OwnedThread):
    succeeded = Signal(object)  # whatever the callable returned
    failed = Signal(object)  # AppError

    def __init__(self, work: Callable[[], object], *, name: str = "task", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._work = work

    @classmethod
    def launch(cls, work: Callable[[], object], *, on_success: Callable[[Any], object] | None = None,
               on_failure: Callable[[AppError], object] | None = None, name: str = "task") -> BackgroundTask:
        """Create, connect (before starting: a fast task must not emit into the void) and start a
        task that deletes itself when done. Pass bound ``@Slot`` methods of GUI-thread objects."""
        task = cls(work, name=name)
        if on_success is not None:
            task.succeeded.connect(on_success)
        if on_failure is not None:
            task.failed.connect(on_failure)
        task.start_owned()
        return task

    def run(self) -> None:
        with catch_all(log, f"The {self.objectName()} task stopped", self.failed.emit) as task:
            result = self._work()
        if not task.failed:
            self.succeeded.emit(result)
