"""How errors reach the person: one dialog per session-fatal error, and one crash dialog at most.

GUI thread, except ``CrashReporter``'s hooks, which may run on any thread: they log the traceback
to the log file and post an event to the GUI thread (``QCoreApplication.postEvent`` is thread-safe),
where a single dialog names the log file. While that dialog is open, and for a short while after,
further crashes are only logged, so a failing timer cannot bury the user in dialogs.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.errors import AppError, AuthError
from app.logsetup import redactor

log = logging.getLogger("app.crash")

CRASH_DIALOG_QUIET_S = 30.0


class SessionErrorDialogs(QObject):
    """Shows each fatal session error once (the same message twice is one dialog), in a
    window-modal box that does not block the event loop. ``settings_requested`` fires for a
    rejected key's "Open Settings" button."""

    settings_requested = Signal()

    def __init__(self, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self._parent = parent_widget
        self._shown: set[str] = set()
        self.dialog: QMessageBox | None = None
        self.shown_count = 0

    def new_session(self) -> None:
        self._shown.clear()

    def show_error(self, error: AppError, *, title: str = "The session stopped", saved_in: Path | None = None,
                   note: str = "") -> bool:
        """``saved_in``: the folder that holds the recording; ``note``: said instead when nothing was kept."""
        if error.message in self._shown:
            return False
        self._shown.add(error.message)
        text = error.message
        if saved_in is not None:
            text += f"\n\nEverything recorded until then is saved in:\n{saved_in}"
        elif note:
            text += f"\n\n{note}"
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Close, self._parent)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._dialog_closed)
        if isinstance(error, AuthError):
            settings = box.addButton("Open Settings", QMessageBox.ButtonRole.AcceptRole)
            settings.clicked.connect(self.settings_requested)
        self.dialog = box
        self.shown_count += 1
        box.open()
        return True

    @Slot(int)
    def _dialog_closed(self, result: int) -> None:
        self.dialog = None


class _CrashEvent(QEvent):
    TYPE = QEvent.Type(QEvent.registerEventType())

    def __init__(self, summary: str) -> None:
        super().__init__(self.TYPE)
        self.summary = summary


class CrashReporter(QObject):
    """The global exception hook. ``install()`` replaces ``sys.excepthook`` and
    ``threading.excepthook``; ``uninstall()`` puts the previous ones back (tests)."""

    def __init__(self, log_file: Path, parent_widget: Callable[[], QWidget | None],
                 *, quiet_s: float = CRASH_DIALOG_QUIET_S) -> None:
        super().__init__()
        self.log_file = log_file
        self._parent_widget = parent_widget
        self._quiet_s = quiet_s
        self._last_dialog_closed = -1e9
        self.dialog: QMessageBox | None = None
        self.dialogs_shown = 0
        self.suppressed = 0
        self._previous: tuple[Callable[..., Any], Callable[[threading.ExceptHookArgs], Any]] | None = None

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    # --- any thread ---------------------------------------------------------------------------

    def _sys_hook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        self.report(kind, value, tb, where=threading.current_thread().name)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        thread = args.thread.name if args.thread is not None else "a thread"
        self.report(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback, where=thread)

    def report(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None, *, where: str) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QCoreApplication.quit()
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("unexpected error in %s:\n%s", where, text)
        app = QCoreApplication.instance()
        if app is not None:
            # The dialog text is redacted like the log: an exception may quote a header or a URL.
            QCoreApplication.postEvent(self, _CrashEvent(redactor.redact(f"{kind.__name__}: {value}")))

    # --- GUI thread ---------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        if isinstance(event, _CrashEvent) or event.type() == _CrashEvent.TYPE:
            self._show(getattr(event, "summary", ""))
            return True
        return super().event(event)

    def _show(self, summary: str) -> None:
        if self.dialog is not None or time.monotonic() - self._last_dialog_closed < self._quiet_s:
            self.suppressed += 1
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "Live Translate hit a problem",
                          "Something unexpected went wrong. Recording and saving go on where they can.\n\n"
                          f"Details were written to the log file:\n{self.log_file}\n\n"
                          "Please attach that file if you report the problem.",
                          QMessageBox.StandardButton.Ok, self._parent_widget())
        box.setDetailedText(summary)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._dialog_closed)
        self.dialog = box
        self.dialogs_shown += 1
        box.open()

    @Slot(int)
    def _dialog_closed(self, result: int) -> None:
        self.dialog = None
        self._last_dialog_closed = time.monotonic()
