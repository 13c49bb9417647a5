"""The main window's way into the history: View ▸ History (Ctrl+H), the offer shown when a session
has ended ("Show in History"), File ▸ Transcribe a recording… (Ctrl+O), and a WAV (or a bundle)
dropped on the window.

GUI thread. ``HistoryFlow`` owns its actions, its banner, the progress shown while a recording is
transcribed, and the ``HistoryWindow`` (made the first time it is asked for); it talks to the main
window only through the small ``HistoryHost`` surface. A recording runs as the same session as
``--input``: at real time, with the time left counted from the recording's length, stopped with
Record/Stop like any session, and kept in the history like any other.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QProgressBar, QStatusBar, QWidget

from app.core.errors import AppError
from app.core.settings import Settings
from app.core.timefmt import time_label
from app.pipeline.archive import Archive
from app.pipeline.events import SessionSummary
from app.pipeline.jobs import seconds_left_text
from app.pipeline.recordings import RecordingInfo, probe_recording
from app.settings.keystore import KeyStatus
from app.ui.banner import Banner
from app.ui.history_window import HistoryWindow
from app.ui.session_pane import Services
from app.workers.controller import SessionController
from app.workers.tasks import BackgroundTask

TICK_MS = 500


class HistoryHost(Protocol):
    """What the flow needs of the main window."""

    controller: SessionController
    settings: Settings
    key_status: KeyStatus

    @property
    def sessions_dir(self) -> Path: ...

    def statusBar(self) -> QStatusBar: ...

    def transcribe_recording(self, path: Path) -> None: ...


class HistoryFlow(QObject):
    def __init__(self, window: QWidget, host: HistoryHost, archive: Archive | None, *, unavailable: str = "") -> None:
        super().__init__(window)
        self._window = window
        self._host = host
        self.archive = archive
        self.unavailable = unavailable
        self.history: HistoryWindow | None = None
        self.history_action = QAction("History…", window)
        self.history_action.setShortcut(QKeySequence("Ctrl+H"))
        self.history_action.triggered.connect(self.open_history)
        self.transcribe_action = QAction("Transcribe a recording…", window)
        self.transcribe_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Open))
        self.transcribe_action.triggered.connect(self.choose_recording)
        for action in (self.history_action, self.transcribe_action):
            window.addAction(action)
        self.banner = Banner("")
        self.banner.add_button("Show in History", self.show_last_in_history, default=True)
        self.banner.hide()
        self._last_folder: Path | None = None
        self.recording: RecordingInfo | None = None  # the file being transcribed, if one is
        self._started_at = 0.0
        self.progress = QProgressBar()  # its text says where the recording is and how long is left
        self.progress.setRange(0, 1000)
        self.progress.setMinimumWidth(360)
        self.progress.setTextVisible(True)
        host.statusBar().addPermanentWidget(self.progress)
        self.progress.hide()
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._show_progress)
        controller = host.controller
        controller.session_started.connect(self._session_started)
        controller.running_changed.connect(self._running_changed)
        controller.session_ended.connect(self._session_ended)
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    # --- the history window -------------------------------------------------------------------

    def _services(self) -> Services:
        host = self._host

        def secrets() -> Mapping[str, str]:
            status = host.key_status
            return {status.service: status.key} if status.key else {}

        return Services(settings=lambda: host.settings, secrets=secrets, sessions_dir=lambda: host.sessions_dir)

    @Slot()
    def open_history(self) -> HistoryWindow:
        if self.history is None:
            self.history = HistoryWindow(self.archive, self._services(), unavailable=self.unavailable)
        self.history.show()
        self.history.raise_()
        self.history.activateWindow()
        return self.history

    @Slot()
    def show_last_in_history(self) -> None:
        folder, archive = self._last_folder, self.archive
        self.banner.hide()
        self.open_history()
        if folder is None or archive is None:
            return
        BackgroundTask.launch(lambda: archive.session_in(folder), on_success=self._found_last, name="history-find")

    @Slot(object)
    def _found_last(self, session_id: int | None) -> None:
        if session_id is not None and self.history is not None:
            self.history.show_session(session_id)

    @Slot(object)
    def _session_ended(self, summary: SessionSummary) -> None:
        """The first thing offered after a session: where it went, and the way to it in the history."""
        self._last_folder = summary.folder
        if self.archive is None:
            return
        length = time_label(round(summary.audio_seconds * 1000))
        what = (f"{summary.turns} turn{'s' if summary.turns != 1 else ''}, {length}" if summary.transcribed
                else "nothing transcribed yet: transcribe it from the history when the service can be reached")
        self.banner.set_text(f"<b>Saved {summary.folder.name}</b> ({what}). Rename it, search it, translate it "
                             "again or export it from the history.")
        self.banner.show()

    # --- a recording, transcribed in the window -----------------------------------------------

    @Slot()
    def choose_recording(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self._window, "Transcribe a recording", str(Path.home()),
                                                "WAV recordings (*.wav *.WAV);;All files (*)")
        if chosen:
            self.transcribe(Path(chosen))

    def transcribe(self, path: Path) -> None:
        """Check the file (off the GUI thread), then run it as a session."""
        if self._host.controller.running:
            self._say("Stop the recording first; then the recording can be transcribed.")
            return
        BackgroundTask.launch(lambda: probe_recording(path), on_success=self._probed, on_failure=self._not_usable,
                              name="probe-recording")

    @Slot(object)
    def _probed(self, info: RecordingInfo) -> None:
        if self._host.controller.running:
            return
        self.recording = info
        self._say(f"Transcribing {info.path.name} at real time (Stop: Ctrl+R)")
        self._host.transcribe_recording(info.path)

    @Slot(object)
    def _not_usable(self, error: AppError) -> None:
        self._say(f"That recording cannot be transcribed: {error.message}")

    @Slot(str)
    def _session_started(self, folder: str) -> None:
        if self.recording is None:
            return
        self._started_at = time.monotonic()
        self.progress.show()
        self._show_progress()
        self._tick.start()

    @Slot(bool)
    def _running_changed(self, running: bool) -> None:
        if running:
            return
        self._tick.stop()
        self.recording = None
        self.progress.hide()

    @Slot()
    def _show_progress(self) -> None:
        info = self.recording
        if info is None:
            return
        # A recording streams at real time (the service refuses faster audio): time read = time spent.
        done = min(info.duration_s, time.monotonic() - self._started_at)
        fraction = done / info.duration_s if info.duration_s > 0 else 1.0
        self.progress.setValue(round(fraction * 1000))
        length = time_label(round(info.duration_s * 1000))
        self.progress.setFormat(f"{info.path.name}: {time_label(round(done * 1000))} of {length}, "
                                f"{seconds_left_text(info.duration_s - done)}")

    # --- drops --------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() in (QEvent.Type.DragEnter, QEvent.Type.Drop):
            assert isinstance(event, (QDragEnterEvent, QDropEvent))
            path = _dropped(event)
            if path is None:
                return False
            event.acceptProposedAction()
            if event.type() == QEvent.Type.Drop:
                if path.suffix.lower() == ".zip":
                    self.open_history().import_path(path)
                else:
                    self.transcribe(path)
            return True
        return super().eventFilter(watched, event)

    def _say(self, text: str) -> None:
        self._host.statusBar().showMessage(text, 15000)


def _dropped(event: QDragEnterEvent | QDropEvent) -> Path | None:
    """The one local WAV or bundle being dropped, if that is what it is."""
    mime = event.mimeData()
    urls = mime.urls() if mime is not None and mime.hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.suffix.lower() in (".wav", ".zip") else None
