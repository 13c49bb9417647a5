"""``live-translate --smoke-test``: open the window, draw one frame, and quit; exit 0 only if all went well.

For checking a build (the frozen folder, the installed .deb) on a machine with or without a
display (``QT_QPA_PLATFORM=offscreen``): the window is built as usual, the first listing of input
devices arrives from PortAudio (so the audio library loads), one frame of the window and of the
About dialog (every package's metadata) is drawn, and the app quits. Anything unexpected on the
way (an exception the crash reporter saw, a listing that failed, no listing in time) makes the
exit code 1 and is written to the log. GUI thread.
"""
from __future__ import annotations

import logging
from importlib import metadata

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QMainWindow

from app.core.devices import InputDevice
from app.core.errors import AppError
from app.ui.about_dialog import AboutDialog
from app.ui.errors import CrashReporter
from app.workers.threads import DeviceMonitor

log = logging.getLogger("app.smoke")

DEVICES_TIMEOUT_MS = 20000  # PortAudio lists devices in well under a second; this only bounds a hang


class SmokeTest(QObject):
    """Started right after the window is shown; ``exit_code`` is what the run should return."""

    def __init__(self, app: QApplication, window: QMainWindow, monitor: DeviceMonitor, crash: CrashReporter) -> None:
        super().__init__()  # not the window's child: the window is deleted before exit_code is read
        self._app = app
        self._window = window
        self._crash = crash
        self.exit_code = 0
        self._done = False
        monitor.devices_changed.connect(self._devices_listed)
        monitor.failed.connect(self._devices_failed)
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.timeout.connect(self._timed_out)
        self._timeout.start(DEVICES_TIMEOUT_MS)

    @Slot(list)
    def _devices_listed(self, devices: list[InputDevice]) -> None:
        log.info("smoke test: %d input devices: %s", len(devices), [d.name for d in devices])
        self._finish_soon()

    @Slot(object)
    def _devices_failed(self, error: AppError) -> None:
        self._fail(f"listing input devices failed: {error.message}")
        self._finish_soon()

    @Slot()
    def _timed_out(self) -> None:
        self._fail(f"no list of input devices within {DEVICES_TIMEOUT_MS / 1000:g} s")
        self._finish_soon()

    def _fail(self, why: str) -> None:
        log.error("smoke test: %s", why)
        self.exit_code = 1

    def _finish_soon(self) -> None:
        if not self._done:
            self._done = True
            self._timeout.stop()
            QTimer.singleShot(0, self._finish)  # after the events already queued (a crash report among them)

    @Slot()
    def _finish(self) -> None:
        frame = self._window.grab()
        about = AboutDialog(self._window)
        about_frame = about.grab()
        if frame.isNull() or about_frame.isNull():
            self._fail("the window could not be drawn")
        backends = sorted(e.name for e in metadata.entry_points(group="keyring.backends"))
        log.info("smoke test: drew the window (%dx%d) and the About dialog; keyring back ends registered: %s",
                 frame.width(), frame.height(), backends)
        if not backends:
            self._fail("keyring registered no back ends: its package metadata is missing")
        reported = self._crash.dialogs_shown + self._crash.suppressed
        if reported:
            self._fail(f"{reported} unexpected errors were reported (see the log above)")
        about.deleteLater()
        self._window.close()
        self._app.exit(self.exit_code)
