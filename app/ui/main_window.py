"""MainWindow: record, pick languages, read the original and its translations side by side.

GUI thread. Widgets and wiring only: sessions are run by the ``SessionController`` (app/workers),
settings are kept by ``QtSettingsStore`` and the key by ``KeyStore`` (saved off the GUI thread),
text rendering and exports come from ``app/core``. Closing while recording never blocks: the close
is ignored, the session is stopped, and the window closes itself once the session has been saved.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMainWindow, QVBoxLayout, QWidget

from app.core.errors import AppError, ConfigError
from app.core.languages import language_name
from app.core.settings import Settings, clamp_font_size
from app.core.transcript import Gap, Turn
from app.core.validate import resolve_targets, validate
from app.logsetup import redactor
from app.pipeline.events import SessionState, SessionSummary
from app.settings.keystore import KeyStatus, KeyStore
from app.settings.qt_store import QtSettingsStore, SettingsKey
from app.ui.banner import Banner
from app.ui.caption_views import CaptionViews
from app.ui.controls import SessionControls
from app.ui.errors import SessionErrorDialogs
from app.ui.export_dialog import ExportDialog
from app.ui.look import Tone
from app.ui.settings_dialog import KeyChecker, SettingsDialog
from app.ui.status import ERROR, IDLE, StatusPanel
from app.ui.transcript_model import TranscriptModel
from app.ui.transcript_view import EMPTY_HINT, TranscriptView
from app.ui.window_dialogs import RecoveredLike, WindowDialogs
from app.workers.controller import SessionController
from app.workers.key_check import check_key

NO_KEY_TEXT = ("<b>Add your AssemblyAI API key to start.</b> Live Translate sends your speech to AssemblyAI to "
               "transcribe it and translate each turn.")
NO_KEY_WHY = "Add your AssemblyAI API key in Settings (Ctrl+,) first."
NO_KEY_HINT = "Add your AssemblyAI API key in Settings (Ctrl+,),\nthen press Record and start speaking."
RecoveryLoader = Callable[[RecoveredLike], tuple[list[Turn | Gap], tuple[str, ...]]]


class MainWindow(QMainWindow):
    activated = Signal()  # the user came back to the window (a good moment to look for new microphones)

    def __init__(self, controller: SessionController, *, settings: Settings, key_store: KeyStore,
                 key_status: KeyStatus, settings_store: QtSettingsStore, default_sessions_dir: Path,
                 session_only: dict[str, object] | None = None, input_file: Path | None = None,
                 recovery_loader: RecoveryLoader | None = None, key_checker: KeyChecker = check_key,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Live Translate")
        self.controller = controller
        self.settings = settings
        self.key_status = key_status
        self._store = settings_store
        self.default_sessions_dir = default_sessions_dir
        self._session_only = dict(session_only or {})  # command-line overrides: this run only
        self._input_file = input_file
        self.recovery_loader = recovery_loader
        self.key_checker = key_checker
        self._close_when_ended = False
        self._hold_reason = ""  # why Record waits (e.g. crash recovery still running)
        self._stopping = False
        self.audio_path: Path | None = None  # the WAV behind the transcript shown (for export)
        self.session_folder: Path | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.export_dialog: ExportDialog | None = None

        self.controls = SessionControls()
        self.model = TranscriptModel(settings.targets)
        self.view = TranscriptView(self.model)
        self.view.set_text_size(settings.font_size)
        self.key_banner = Banner(NO_KEY_TEXT, closable=False)
        self.key_banner.add_button("Open Settings", self.open_settings, default=True)
        self.recovery_banner = Banner("", kind=Tone.WARNING)
        self.recovery_banner.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.controls)
        for banner in (self.key_banner, self.recovery_banner):
            holder = QVBoxLayout()
            holder.setContentsMargins(12, 0, 12, 8)
            holder.addWidget(banner)
            layout.addLayout(holder)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self.status = StatusPanel(self.statusBar())
        self.status.message_label.setOpenExternalLinks(True)
        self.error_dialogs = SessionErrorDialogs(self)
        self.error_dialogs.settings_requested.connect(self.open_settings)
        self.dialogs = WindowDialogs(self, key_store)
        self._build_menus()
        self.captions = CaptionViews(self, self.model, self.view_menu, settings_store, self.status.show_message)
        self._connect()
        self.controls.set_choices(device=settings.device, source=settings.source,
                                  speech_model=settings.speech_model, targets=settings.targets)
        self.refresh()
        self._restore_geometry()

    # --- building -----------------------------------------------------------------------------

    def _action(self, text: str, slot: Callable[[], object],
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        self.record_action = self._action("Record / Stop", self.toggle_recording, "Ctrl+R")
        self.export_action = self._action("Export…", self.open_export, "Ctrl+E")
        self.settings_action = self._action("Settings…", self.open_settings, "Ctrl+,")
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.retry_action = self._action("Retry failed translations", self.retry_failed)
        self.earlier_action = self._action("Translate earlier turns into new languages", self.translate_earlier)
        self.earlier_action.setEnabled(False)
        bigger = self._action("Larger text", self._bigger_text, QKeySequence.StandardKey.ZoomIn)
        smaller = self._action("Smaller text", self._smaller_text, QKeySequence.StandardKey.ZoomOut)
        open_folder = self._action("Open sessions folder", self.open_sessions_folder)
        quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        file_menu = self.menuBar().addMenu("&File")
        for action in (self.export_action, open_folder, None, self.settings_action, None, quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        session_menu = self.menuBar().addMenu("&Session")
        session_menu.addAction(self.record_action)
        session_menu.addAction(self.retry_action)
        session_menu.addAction(self.earlier_action)
        view_menu = self.view_menu = self.menuBar().addMenu("&View")
        for action in (bigger, smaller, None, self.view.copy_rows_action, self.view.copy_all_action):
            view_menu.addSeparator() if action is None else view_menu.addAction(action)

    def _connect(self) -> None:
        c, controls = self.controller, self.controls
        controls.record_clicked.connect(self.toggle_recording)
        controls.export_button.clicked.connect(self.open_export)
        controls.settings_button.clicked.connect(self.open_settings)
        controls.device_changed.connect(self._on_device_changed)
        controls.source_changed.connect(self._on_source_changed)
        controls.speech_model_changed.connect(self._on_speech_model_changed)
        controls.targets_changed.connect(self._on_targets_changed)
        c.running_changed.connect(self._on_running_changed)
        c.session_started.connect(self._on_session_started)
        c.start_failed.connect(self._on_start_failed)
        c.state_changed.connect(self._on_state_changed)
        self.status.quit_button.clicked.connect(self.quit_now)
        c.interim_text_changed.connect(self.model.set_interim)
        c.turn_finalized.connect(self._on_turn)
        c.translation_updated.connect(self.model.set_translation)
        c.gap_added.connect(self.model.add_gap)
        c.level_changed.connect(controls.meter.set_level)
        c.error_occurred.connect(self._on_error)
        c.rate_limit_changed.connect(self.status.set_rate_limit)
        c.session_ended.connect(self._on_session_ended)
        self.view.retry_requested.connect(self.controller.retry)
        self.view.retry_all_requested.connect(self.retry_failed)
        self.view.copied.connect(self.status.show_message)
        self.model.rowsInserted.connect(self._update_export)
        self.model.modelReset.connect(self._update_export)

    # --- recording ----------------------------------------------------------------------------

    @property
    def has_key(self) -> bool:
        return bool(self.key_status.key)

    @Slot()
    def toggle_recording(self) -> None:
        if self.controller.running:
            if not self._stopping:
                self._stopping = True
                self.controller.stop()
                self.refresh()
            return
        if not self.has_key or self._hold_reason:
            self.status.show_message(self._hold_reason or NO_KEY_WHY)
            return
        try:
            # The same rules, in the same words, as the command line's (app.core.validate).
            settings = validate(self.settings).settings
        except ConfigError as exc:
            self._on_start_failed(exc)
            return
        self.model.clear()
        self.model.set_languages(settings.targets)
        self.error_dialogs.new_session()
        self.audio_path = self.session_folder = None
        self.status.set_turns(0)
        self.status.clear_message()
        self.controller.start(settings, self.key_status.key or "", self.sessions_dir, self._input_file)

    @Slot()
    def quit_now(self) -> None:
        """Stop waiting for the end of the session: open translations are marked, all is saved."""
        if self.controller.running:
            self._stopping = True
            self.controller.quit_now()
            self.refresh()

    def close_after_session(self, deadline_s: float) -> None:
        """A signal (SIGTERM, SIGHUP, Ctrl+C in the terminal that started the app): finish the
        session within ``deadline_s`` seconds, save it, and close."""
        if not self.controller.running:
            self.close()
            return
        if not self._stopping:
            self._stopping = True
            self.controller.stop(deadline_s)
            self.refresh()
        self._close_when_ended = True  # _on_running_changed closes the window once it is saved
        self.status.show_message("Finishing the session: the window closes as soon as it is saved.", timeout_ms=0)

    @property
    def sessions_dir(self) -> Path:
        return self.settings.sessions_dir or self.default_sessions_dir

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        if not running:
            self._stopping = False
            self.status.stop_clock()
            self.status.set_rate_limit(0, 0.0)  # nothing waits once the session is over
        self.refresh()
        if not running and self._close_when_ended:
            self.close()

    @Slot(str)
    def _on_session_started(self, folder: str) -> None:
        self.session_folder = Path(folder)
        self.status.start_clock()

    @Slot(object)
    def _on_start_failed(self, error: AppError) -> None:
        self.status.set_state(ERROR)
        self.error_dialogs.show_error(error, title="Could not start recording")
        self.refresh()

    @Slot(str, str)
    def _on_state_changed(self, state: str, detail: str) -> None:
        self.status.set_state(state, detail)

    @Slot(object)
    def _on_turn(self, turn: Turn) -> None:
        self.model.add_turn(turn)
        self.status.set_turns(self.model.turn_count())

    @Slot(object)
    def _on_error(self, error: AppError) -> None:
        if error.fatal:
            self.error_dialogs.show_error(error, saved_in=self.session_folder)
        else:
            self.status.show_message(error.message)

    @Slot(object)
    def _on_session_ended(self, summary: SessionSummary) -> None:
        self.audio_path = summary.audio_path
        self.session_folder = summary.folder
        if summary.error is not None:
            self.error_dialogs.show_error(summary.error, saved_in=summary.folder)  # once: it dedupes
        url = QUrl.fromLocalFile(str(summary.folder)).toString()
        link = f'<a href="{html.escape(url)}">open folder</a>'
        if not summary.transcribed:
            self.status.show_message(f"Saved {summary.audio_seconds:.0f} s of audio; nothing was transcribed: the "
                                     f"streaming service could not be reached — {link}", timeout_ms=0)
        else:
            failed = (f", {summary.translations_failed} not translated (Session ▸ Retry)"
                      if summary.translations_failed else "")
            self.status.show_message(f"Saved {summary.turns} turns and {summary.audio_seconds:.0f} s of audio{failed}"
                                     f" — {link}", timeout_ms=0)
        self.refresh()

    @Slot()
    def _update_export(self) -> None:
        """Export works on the transcript on screen, mid-session too, once it has a turn."""
        has_turns = self.model.turn_count() > 0
        self.export_action.setEnabled(has_turns)
        self.controls.export_button.setEnabled(has_turns)
        self.controls.export_button.setToolTip("Export the transcript and copy the recording (Ctrl+E)" if has_turns
                                               else "Nothing to export yet")

    @Slot()
    def retry_failed(self) -> None:
        count = self.controller.retry_failed()
        self.status.show_message(f"Retrying {count} translation{'s' if count != 1 else ''}…" if count
                                 else "No failed translations to retry.")

    def refresh(self) -> None:
        """Bring buttons, actions and banners in line with the key and the session state."""
        running = self.controller.running
        self.key_banner.setVisible(not self.has_key)
        can_record = self.has_key and not self._hold_reason
        self.view.set_empty_hint(EMPTY_HINT if self.has_key else NO_KEY_HINT)
        self.controls.set_recording(running, stopping=self._stopping, can_record=can_record,
                                    why_not=self._hold_reason or NO_KEY_WHY)
        self.record_action.setEnabled(running or can_record)
        self.earlier_action.setEnabled(bool(self._languages_missing_in_earlier_turns()))
        self._update_export()
        if not running and self.status.state not in (ERROR, SessionState.FAILED.value, SessionState.ENDED.value):
            self.status.set_state(IDLE)

    # --- choices ------------------------------------------------------------------------------

    def _change_settings(self, **changes: object) -> None:
        self.settings = self.settings.with_changes(**changes)
        for name in changes:
            self._session_only.pop(name, None)  # the user chose it: it is theirs to keep
        self.save_settings()

    def save_settings(self) -> None:
        stored = self._store.load()
        kept = {name: getattr(stored, name) for name, value in self._session_only.items()
                if getattr(self.settings, name) == value}
        self._store.save(self.settings.with_changes(**kept))

    @Slot(object)
    def _on_device_changed(self, name: str | None) -> None:
        self._change_settings(device=name)

    @Slot(object)
    def _on_source_changed(self, code: str | None) -> None:
        self._change_settings(source=code)

    @Slot(str)
    def _on_speech_model_changed(self, model: str) -> None:
        self._change_settings(speech_model=model)

    @Slot(tuple)
    def _on_targets_changed(self, codes: tuple[str, ...]) -> None:
        added = [c for c in codes if c not in self.model.languages]
        self._change_settings(targets=codes)
        self.model.set_languages(codes)
        if self.controller.running:
            self.controller.set_targets(resolve_targets(codes))
        missing = self._languages_missing_in_earlier_turns()
        self.earlier_action.setEnabled(bool(missing))
        if added and missing and self.model.turn_count():
            names = ", ".join(language_name(c) for c in added)
            self.status.show_message(f"{names}: new turns are translated into it; for the earlier ones, "
                                     "Session ▸ Translate earlier turns into new languages.", timeout_ms=15000)

    def _languages_missing_in_earlier_turns(self) -> tuple[str, ...]:
        turns = self.model.turns()
        return tuple(c for c in self.model.languages if any(c not in t.translations for t in turns))

    @Slot()
    def translate_earlier(self) -> None:
        missing = self._languages_missing_in_earlier_turns()
        count = self.controller.translate_earlier_turns(resolve_targets(missing)) if missing else 0
        self.earlier_action.setEnabled(False)
        self.status.show_message(f"Translating {count} earlier cell{'s' if count != 1 else ''}…" if count
                                 else "Every turn is already translated into every chosen language.")

    @Slot()
    def _bigger_text(self) -> None:
        self._set_font_size(self.settings.font_size + 1)

    @Slot()
    def _smaller_text(self) -> None:
        self._set_font_size(self.settings.font_size - 1)

    def _set_font_size(self, size: int) -> None:
        size = clamp_font_size(size)
        self._change_settings(font_size=size)
        self.view.set_text_size(size)

    # --- dialogs (app/ui/window_dialogs.py) ---------------------------------------------------

    @Slot()
    def open_settings(self) -> SettingsDialog:
        return self.dialogs.open_settings()

    @Slot()
    def open_export(self) -> ExportDialog | None:
        return self.dialogs.open_export()

    def offer_recovered(self, sessions: Sequence[RecoveredLike]) -> None:
        self.dialogs.offer_recovered(sessions)

    def hold_recording(self, reason: str) -> None:
        """Keep Record disabled, saying why (``""`` releases it)."""
        self._hold_reason = reason
        self.refresh()

    def key_changed(self, status: KeyStatus) -> None:
        self.key_status = status
        redactor.add(status.key)  # a new key never reaches the log file either
        self.refresh()

    def apply_settings(self, settings: Settings) -> None:
        changed = {f: getattr(settings, f) for f in settings.__dataclass_fields__
                   if getattr(settings, f) != getattr(self.settings, f)}
        if changed:
            self._change_settings(**changed)
        self.view.set_text_size(self.settings.font_size)
        self.controls.set_choices(device=self.settings.device, source=self.settings.source,
                                  speech_model=self.settings.speech_model, targets=self.settings.targets)

    @Slot()
    def open_sessions_folder(self) -> None:
        folder = self.session_folder or self.sessions_dir
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # --- window life --------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self._store.window_bytes(SettingsKey.WINDOW_GEOMETRY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 720)
        state = self._store.window_bytes(SettingsKey.WINDOW_STATE)
        if state is not None:
            self.restoreState(state)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.activated.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.controller.running:
            # Never block here: stop, and close again once the session has been saved. Closing
            # again while it finishes is "quit now", like a second Ctrl+C in the terminal.
            event.ignore()
            if self._close_when_ended:
                self.quit_now()
                return
            self._close_when_ended = True
            if not self._stopping:
                self.toggle_recording()
            self.status.show_message("Finishing the session: the window closes as soon as it is saved.", timeout_ms=0)
            return
        self._store.set_window_bytes(SettingsKey.WINDOW_GEOMETRY, self.saveGeometry())
        self._store.set_window_bytes(SettingsKey.WINDOW_STATE, self.saveState())
        self.save_settings()
        event.accept()
