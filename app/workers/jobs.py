"""JobThread: runs one long archive job (translating a session again, filling its gaps) off the
GUI thread, with its progress as a signal and a way to ask it to stop.

The job is a Qt-free callable from ``app.pipeline`` taking the progress callback and the cancel
event; it runs in ``run()`` on this thread, under the one catch-all; progress, the result and the
failure come back as signals on the GUI thread. Every report is passed on: jobs report per cell
translated or four times a second, never faster than the window can show. ``cancel()`` returns at
once; the job stops at its next check and what it did is kept.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import catch_all
from app.pipeline.jobs import JobProgress, Progress
from app.workers.threads import OwnedThread

log = logging.getLogger("app.workers")

Job = Callable[[Progress, threading.Event], object]


class JobThread(OwnedThread):
    progressed = Signal(object)  # JobProgress
    succeeded = Signal(object)  # what the job returned
    failed = Signal(object)  # AppError

    def __init__(self, job: Job, *, name: str = "archive-job", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._job = job
        self._cancel = threading.Event()

    @classmethod
    def launch(cls, job: Job, *, on_progress: Callable[[Any], object], on_success: Callable[[Any], object],
               on_failure: Callable[[Any], object], name: str = "archive-job") -> JobThread:
        """Connect (before starting) bound ``@Slot`` methods of GUI-thread objects, and start."""
        thread = cls(job, name=name)
        thread.progressed.connect(on_progress)
        thread.succeeded.connect(on_success)
        thread.failed.connect(on_failure)
        thread.start_owned()
        return thread

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _report(self, progress: JobProgress) -> None:
        self.progressed.emit(progress)

    def run(self) -> None:
        with catch_all(log, f"The {self.objectName()} job stopped", self.failed.emit) as job:
            result = self._job(self._report, self._cancel)
        if not job.failed:
            self.succeeded.emit(result)
