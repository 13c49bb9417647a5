"""The window's composition root: builds the app's parts, wires them, and runs the event loop.

Runs on the main thread, which becomes the GUI thread. ``run_window`` is called by ``app.main``
with the command-line options already parsed into ``Settings`` field names; they preset the window
for this run and are not saved unless the user changes them in the window. Everything slow at
start-up (listing microphones, crash recovery) runs on worker threads; Record waits for recovery,
so a new session is never mistaken for an unfinished one.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, Slot
from PySide6.QtWidgets import QApplication

from app.core.errors import AppError, ConfigError
from app.core.event_log import EventLog
from app.core.settings import Paths, Settings
from app.core.transcript import Gap, Turn
from app.core.who import Names
from app.logsetup import setup_logging
from app.pipeline.archive import Archive
from app.pipeline.events import SIGNAL_FINISH_S
from app.pipeline.recovery import RecoveredSession, recover_unfinished
from app.settings.keystore import KeyStore
from app.settings.qt_store import QtSettingsStore
from app.store.db import SessionStore
from app.ui.about_dialog import app_icon
from app.ui.errors import CrashReporter
from app.ui.help import Place
from app.ui.main_window import MainWindow
from app.ui.recovery_offer import RecoveredLike, RecoveryLoader
from app.ui.smoke import SmokeTest
from app.workers.caption_sharing import CaptionSharing, feeding_captions
from app.workers.controller import SessionController, pipeline_session_factory
from app.workers.os_signals import StopSignals
from app.workers.tasks import BackgroundTask
from app.workers.threads import DeviceMonitor, wait_for_owned_threads

log = logging.getLogger("app.gui")

APP_NAME = "Live Translate"
ORG = "live-translate"
EXIT_WAIT_MS = 3000
EXIT_QUIT = 130  # as in the terminal: a second signal quit without waiting


def app_qsettings() -> QSettings:
    """INI format everywhere, so the file is readable (and checkable: it never holds the key)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, "window")


def open_store(paths: Paths) -> tuple[SessionStore | None, str]:
    """The session archive / crash journal, or None with a message if it cannot be opened."""
    try:
        paths.data_dir.mkdir(parents=True, exist_ok=True)
        store = SessionStore(paths.db_path)
    except AppError as exc:
        return None, f"{exc.message} Sessions are still saved as folders."
    except OSError as exc:
        return None, f"The session archive could not be opened ({exc}). Sessions are still saved as folders."
    return store, str(getattr(store, "notice", "") or "")


def recovery_loader(archive: Archive) -> RecoveryLoader:
    def load(session: RecoveredLike) -> tuple[list[Turn | Gap], tuple[str, ...], Names]:
        kept = archive.load(session.session_id)
        return kept.entries, kept.languages, kept.names

    return load


def recover(store: SessionStore, sessions_dir: Path) -> tuple[list[RecoveredSession], list[str]]:
    """Unfinished sessions recovered, and what to say: rows set aside, a history rebuilt from the
    session folders after a damaged archive was replaced."""
    recovered = recover_unfinished(store)
    notes = list(store.set_aside)
    archive = Archive(store)
    if archive.rebuild_pending():
        notes.append(archive.rebuild(sessions_dir).describe())
    return recovered, notes


class _Startup:
    """Holds the pieces whose signals arrive after ``run_window`` set them up (GUI thread)."""

    def __init__(self, window: MainWindow, monitor: DeviceMonitor) -> None:
        self.window = window
        self.monitor = monitor
        # The window is gone (run_window deletes it at the end): a late answer (the recovery scan
        # finishing after a quick close, on a busy machine) must not touch it, or the process dies.
        self.ended = False

    @Slot(bool)
    def running_changed(self, running: bool) -> None:
        self.monitor.pause(running)  # a second PortAudio instance must not disturb the recording

    @Slot(object)
    def recovered(self, found: tuple[list[RecoveredSession], list[str]]) -> None:
        if self.ended:
            return
        sessions, set_aside = found
        self.window.hold_recording("")
        self.window.offer_recovered(sessions)
        if set_aside:
            self.window.status.show_message(" ".join(set_aside), timeout_ms=20000)

    @Slot(object)
    def recovery_failed(self, error: AppError) -> None:
        if self.ended:
            return
        self.window.hold_recording("")
        self.window.status.show_message(f"An unfinished session could not be recovered: {error.message}")

    @Slot(object)
    def devices_failed(self, error: AppError) -> None:
        if not self.ended:
            self.window.status.show_message(error.message)


class _SignalEnding:
    """SIGTERM, SIGHUP or Ctrl+C in the terminal end the window like closing it does: the session
    is finished (within SIGNAL_FINISH_S) and saved first; a second signal quits now (exit 130)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.count = 0
        self.quit = False

    @Slot(int)
    def received(self, signum: int) -> None:
        self.count += 1
        log.info("signal %s received (%d)", signal.Signals(signum).name, self.count)
        if self.count == 1:
            self.window.close_after_session(SIGNAL_FINISH_S)
        else:
            self.quit = True
            self.window.quit_now()


NO_DISPLAY = ("There is no display to open the window on ({why}). To use Live Translate without a window, "
              "run it in the terminal: live-translate --headless --to es (live-translate --help lists the options).")


def check_display(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> None:
    """Raise ConfigError instead of letting Qt abort the process when no display can be reached."""
    if not platform.startswith("linux"):
        return
    qpa = environ.get("QT_QPA_PLATFORM", "")
    if qpa and not qpa.startswith(("xcb", "wayland")):
        return  # offscreen, vnc, eglfs ...: the user chose a platform that needs no desktop
    wayland, x11 = environ.get("WAYLAND_DISPLAY", ""), environ.get("DISPLAY", "")
    if wayland and not qpa.startswith("xcb"):
        return
    if not x11:
        raise ConfigError(NO_DISPLAY.format(why="DISPLAY and WAYLAND_DISPLAY are not set"))
    host, _, number = x11.partition(":")
    number = number.split(".")[0]
    if not host and number.isdigit() and not os.path.exists(f"/tmp/.X11-unix/X{number}"):
        raise ConfigError(NO_DISPLAY.format(why=f"no X server is running on display {x11}"))


def run_window(settings_overrides: Mapping[str, object], *, paths: Paths,
               argv: list[str] | None = None, smoke_test: bool = False) -> int:
    """Run the window until it closes; returns the exit code. ``smoke_test``: quit after the first
    frame and the first device listing (``app/ui/smoke.py``), 1 if anything went wrong."""
    check_display()
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    log_file = setup_logging(paths.log_dir, console_level=logging.WARNING)
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    assert isinstance(app, QApplication)
    QCoreApplication.setOrganizationName(ORG)
    QCoreApplication.setApplicationName(APP_NAME)
    app.setDesktopFileName("live-translate")
    app.setWindowIcon(app_icon())
    window: MainWindow | None = None
    crash = CrashReporter(log_file, lambda: window)
    crash.install()

    settings_store = QtSettingsStore(app_qsettings())
    overrides = {k: v for k, v in settings_overrides.items() if v is not None and k in Settings.__dataclass_fields__}
    settings = settings_store.load().with_changes(**overrides)
    key_store = KeyStore()
    key_status = key_store.load()
    store, store_notice = open_store(paths)
    # One event log for the app's life: every session is written into it for the caption page,
    # which is served only while the user shares it (Share menu), from the same address throughout.
    caption_log = EventLog()
    controller = SessionController(feeding_captions(pipeline_session_factory(store), caption_log))
    sharing = CaptionSharing(caption_log)
    files = [Place("Session archive", paths.db_path, "Every session's transcript, searchable; recovery uses it."),
             Place("Log file", log_file, "Attach it when you report a problem; it never holds the API key.")]
    window = MainWindow(controller, settings=settings, key_store=key_store, key_status=key_status,
                        settings_store=settings_store, default_sessions_dir=paths.sessions_dir,
                        session_only=overrides, recovery_loader=recovery_loader(Archive(store)) if store else None,
                        files=files, archive=Archive(store) if store else None,
                        archive_problem=store_notice if not store else "")
    window.captions.set_sharing(sharing)
    monitor = DeviceMonitor()
    startup = _Startup(window, monitor)
    monitor.devices_changed.connect(window.controls.set_devices)
    window.activated.connect(monitor.refresh)
    monitor.failed.connect(startup.devices_failed)
    controller.running_changed.connect(startup.running_changed)
    smoke = SmokeTest(app, window, monitor, crash) if smoke_test else None  # before the first listing
    monitor.start()
    if store is not None:
        window.hold_recording("Checking for a session that did not finish…")
        sessions_dir = window.sessions_dir
        BackgroundTask.launch(lambda: recover(store, sessions_dir), on_success=startup.recovered,
                              on_failure=startup.recovery_failed, name="recovery")
    notices = " ".join(n for n in (store_notice, *settings_store.notices) if n)
    if notices:
        window.status.show_message(notices, timeout_ms=20000)
    stop_signals = StopSignals()
    ending = _SignalEnding(window)
    stop_signals.received.connect(ending.received)
    window.show()
    log.info("window started")
    try:
        code = app.exec()
    finally:
        stop_signals.uninstall()
        monitor.stop()
        controller.shutdown(EXIT_WAIT_MS)
        sharing.shutdown(EXIT_WAIT_MS)  # every viewer is told that sharing stopped
        window.captions.close_windows()
        monitor.wait(EXIT_WAIT_MS)
        wait_for_owned_threads(EXIT_WAIT_MS)
        if store is not None:
            store.close()
        crash.uninstall()
        for handler in [h for h in root.handlers if h not in handlers_before]:
            root.removeHandler(handler)
            handler.close()
        # Delete the window now, on this thread, while the application is whole: left to Python's
        # garbage collector (closures hold it in cycles) it was freed at a random later moment,
        # and freeing Qt objects then crashed the process inside the collector.
        startup.ended = True
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        window = None
    if smoke is not None and code == 0:
        code = smoke.exit_code
    return EXIT_QUIT if ending.quit else int(code)
