"""MainWindow: record, pick languages, read the original and its translations side by side.

GUI thread. Widgets and wiring only: sessions are run by the ``SessionController`` (app/workers),
settings are kept by ``QtSettingsStore`` and the key by ``KeyStore`` (saved off the GUI thread),
text rendering and exports come from ``app/core``. Closing while recording never blocks: the close
is ignored, the session is stopped, and the window closes itself once the session has been saved.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMainWindow, QVBoxLayout, QWidget

from app.core.catalog import SPEECH_MODEL_IDS, speech_model
from app.core.errors import AppError, ConfigError, StreamingError
from app.core.languages import language_name
from app.core.settings import DEFAULT_FONT_SIZE, Settings, clamp_font_size
from app.core.transcript import Turn
from app.core.validate import effective_targets, resolve_targets, validate
from app.core.who import Shown
from app.pipeline.archive import Archive
from app.pipeline.events import SessionState, SessionSummary, nothing_kept_text
from app.pipeline.two_way import plan_two_way
from app.settings.keystore import KeyStatus, KeyStore
from app.settings.qt_store import QtSettingsStore, SettingsKey
from app.ui.about_dialog import AboutDialog
from app.ui.banner import Banner
from app.ui.caption_views import CaptionViews
from app.ui.controls import TWO_WAY_COST, SessionControls
from app.ui.errors import SessionErrorDialogs
from app.ui.export_dialog import ExportDialog
from app.ui.help import WIDGET_KEYS, HelpMenu, Place, shortcut_rows
from app.ui.history_flow import HistoryFlow
from app.ui.look import Tone
from app.ui.recovery_offer import LoadedSession, RecoveredLike, RecoveryLoader, RecoveryOffer
from app.ui.session_names import SessionNames
from app.ui.settings_dialog import KeyChecker, SettingsDialog
from app.ui.settings_flow import DEFAULT_TIMEOUT, SettingsFlow
from app.ui.status import ERROR, IDLE, NOT_READY, StatusPanel, cause_of, fixes, saved_text
from app.ui.transcript_model import TranscriptModel
from app.ui.transcript_view import EMPTY_HINT, TranscriptView
from app.workers.controller import SessionController
from app.workers.key_check import check_key

NO_KEY_TEXT = ("<b>Add your AssemblyAI API key to start.</b> Live Translate sends your speech to AssemblyAI to "
               "transcribe it and translate each turn.")
NO_KEY_WHY = "Add your AssemblyAI API key in Settings (Ctrl+,) first."
MIN_WIDTH, MIN_HEIGHT = 560, 420  # the controls take two rows below about 900 px; nothing overlaps down to here
NO_KEY_HINT = "Add your AssemblyAI API key in Settings (Ctrl+,),\nthen press Record and start speaking."


class MainWindow(QMainWindow):
    activated = Signal()  # the user came back to the window (a good moment to look for new microphones)

    def __init__(self, controller: SessionController, *, settings: Settings, key_store: KeyStore,
                 key_status: KeyStatus, settings_store: QtSettingsStore, default_sessions_dir: Path,
                 session_only: dict[str, object] | None = None, input_file: Path | None = None,
                 recovery_loader: RecoveryLoader | None = None, key_checker: KeyChecker = check_key,
                 files: Sequence[Place] = (), archive: Archive | None = None, archive_problem: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Live Translate")
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.controller = controller
        self.settings = settings
        self.key_status = key_status
        self._store = settings_store
        self.default_sessions_dir = default_sessions_dir
        self._session_only = dict(session_only or {})  # command-line overrides: this run only
        self._input_file = input_file
        self._next_input: Path | None = None  # a recording to transcribe with the next Record (History flow)
        self._close_when_ended = False
        self._hold_reason = ""  # why Record waits (e.g. crash recovery still running)
        self._stopping = False
        self._error_at_end: AppError | None = None  # a fatal error said once the session has ended
        self._error_cause: str | None = None  # what would fix the error state shown: "key", "settings", ...
        self._connection_message = False  # the message shown is about the connection (cleared when Live)
        self.audio_path: Path | None = None  # the WAV behind the transcript shown (for export)
        self.session_folder: Path | None = None
        self.export_dialog: ExportDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self._files = tuple(files)  # the archive, the log, ... for Help ▸ Where files are kept
        self._key_store = key_store

        self.controls = SessionControls()
        self.model = TranscriptModel(columns_for(settings))
        self.view = TranscriptView(self.model)
        self.view.set_text_size(settings.font_size)
        self.session_names = SessionNames(self)  # renamed speakers and sides, kept with their session
        self.key_banner = Banner(NO_KEY_TEXT, closable=False)
        self.key_banner.add_button("Open Settings", self.open_settings, default=True)
        self.recovery_banner = Banner("", kind=Tone.WARNING)
        self.recovery_banner.hide()
        # View ▸ History, File ▸ Transcribe a recording…, drops, the offer after a session (history_flow.py)
        self.history_flow = HistoryFlow(self, self, archive, unavailable=archive_problem or "no session archive")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.controls)
        for banner in (self.key_banner, self.recovery_banner, self.history_flow.banner):
            holder = QVBoxLayout()
            holder.setContentsMargins(12, 0, 12, 8)
            holder.addWidget(banner)
            layout.addLayout(holder)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self.status = StatusPanel(self.statusBar())
        self.status.message_label.linkActivated.connect(self._link_activated)
        self.error_dialogs = SessionErrorDialogs(self)
        self.error_dialogs.settings_requested.connect(self.open_settings)
        self.settings_flow = SettingsFlow(self, key_store, key_checker=key_checker,
                                          default_sessions_dir=default_sessions_dir)
        self.settings_flow.settings_chosen.connect(self.apply_settings)
        self.settings_flow.key_changed.connect(self.key_changed)
        self.settings_flow.message.connect(self._show_message)
        self.recovery = RecoveryOffer(self.recovery_banner, recovery_loader, busy=lambda: self.controller.running,
                                      parent=self)
        self.recovery.loaded.connect(self._show_loaded)
        self.recovery.message.connect(self.status.show_message)
        self.recovery.folder_requested.connect(self.open_folder)
        self._build_menus()
        self.captions = CaptionViews(self, self.model, self.view_menu, settings_store, self.status.show_message)
        self._connect()
        self.controls.set_choices(device=settings.device, source=settings.source,
                                  speech_model=settings.speech_model, targets=settings.targets)
        self.controls.set_two_way(settings.two_way, settings.other_language)
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
        # Ctrl++ needs Shift on most keyboards; every Qt app also takes Ctrl+= for it.
        bigger.setShortcuts([*QKeySequence.keyBindings(QKeySequence.StandardKey.ZoomIn), QKeySequence("Ctrl+=")])
        smaller = self._action("Smaller text", self._smaller_text, QKeySequence.StandardKey.ZoomOut)
        normal = self._action("Normal text size", self._normal_text, "Ctrl+0")
        open_folder = self._action("Open sessions folder", self.open_sessions_folder)
        quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        about = self._action("About Live Translate", self.open_about)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        # Some platforms bind no key to Quit (the offscreen one, some minimal desktops): Ctrl+Q then.
        quit_action.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) or [QKeySequence("Ctrl+Q")])
        file_menu = self.menuBar().addMenu("&File")
        for action in (self.history_flow.transcribe_action, self.export_action, open_folder, None,
                       self.settings_action, None, quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        session_menu = self.menuBar().addMenu("&Session")
        session_menu.addAction(self.record_action)
        session_menu.addAction(self.retry_action)
        session_menu.addAction(self.earlier_action)
        view_menu = self.view_menu = self.menuBar().addMenu("&View")
        for action in (self.history_flow.history_action, None, bigger, smaller, normal, None,
                       self.view.copy_rows_action, self.view.copy_all_action):
            view_menu.addSeparator() if action is None else view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        self.help = HelpMenu(self, help_menu, shortcuts=self.shortcuts, places=self.places)
        self.help.open_requested.connect(self.open_folder)
        help_menu.addSeparator()
        help_menu.addAction(about)

    def _connect(self) -> None:
        c, controls = self.controller, self.controls
        controls.record_clicked.connect(self.toggle_recording)
        controls.export_button.clicked.connect(self.open_export)
        controls.settings_button.clicked.connect(self.open_settings)
        controls.device_changed.connect(self._on_device_changed)
        controls.source_changed.connect(self._on_source_changed)
        controls.speech_model_changed.connect(self._on_speech_model_changed)
        controls.targets_changed.connect(self._on_targets_changed)
        controls.two_way_changed.connect(self._on_two_way_changed)
        controls.other_language_changed.connect(self._on_other_language_changed)
        c.running_changed.connect(self._on_running_changed)
        c.session_started.connect(self._on_session_started)
        c.start_failed.connect(self._on_start_failed)
        c.state_changed.connect(self._on_state_changed)
        self.status.quit_button.clicked.connect(self.quit_now)
        c.interim_text_changed.connect(self.model.set_interim)
        c.turn_finalized.connect(self._on_turn)
        c.turn_revised.connect(self.model.revise_turn)
        self.model.names_changed.connect(self.session_names.keep)
        self.session_names.message.connect(self.status.show_message)
        c.translation_updated.connect(self.model.set_translation)
        c.gap_added.connect(self.model.add_gap)
        c.level_changed.connect(controls.meter.set_level)
        c.error_occurred.connect(self._on_error)
        c.rate_limit_changed.connect(self.status.set_rate_limit)
        c.session_ended.connect(self._on_session_ended)
        self.view.retry_requested.connect(self.controller.retry)
        self.view.retry_all_requested.connect(self.retry_failed)
        self.view.copied.connect(self.status.show_message)
        self.view.zoom_requested.connect(self._zoom)
        for changed in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset, self.model.dataChanged):
            changed.connect(self._update_actions)
        self.view.selectionModel().selectionChanged.connect(self._update_actions)
        controls.devices_listed.connect(self._devices_listed)

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
            settings, columns = self._session_settings()
        except ConfigError as exc:
            self._on_start_failed(exc)
            return
        self.model.set_languages(columns)
        model = speech_model(settings.speech_model) if settings.speech_model in SPEECH_MODEL_IDS else None
        # Two-way: the side of every turn from the start; its languages are the sides', not tags.
        self.model.start_session(shown=Shown(sides=settings.two_way,
                                             speakers=bool(settings.speakers and model and model.speaker_labels)),
                                 language_tags=bool(model and model.multilingual and not settings.two_way))
        self.session_names.follow(None)
        self.recovery.withdraw()  # a new recording: the offer of an old one is no longer the news
        self.error_dialogs.new_session()
        self.audio_path = self.session_folder = None
        self.status.set_turns(0)
        self.status.clear_standing()  # the last session's "Saved … open folder" goes with it
        self._error_cause = None
        secrets = {self.key_status.service: self.key_status.key} if self.key_status.key else {}
        if self.controller.start(settings, secrets, self.sessions_dir, self._next_input or self._input_file):
            session = self.controller.session
            self.session_names.follow(session.set_names if session is not None else None)

    def transcribe_recording(self, path: Path) -> None:
        """Run ``path`` as a session now, as ``--input`` does (File ▸ Transcribe a recording…)."""
        if self.controller.running:
            return
        self._next_input = path
        try:
            self.toggle_recording()
        finally:
            self._next_input = None  # started or refused: never the next Record's

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
        self._error_cause = cause_of(error)
        self.error_dialogs.show_error(error, title="Could not start recording")
        self.refresh()

    @Slot(str, str)
    def _on_state_changed(self, state: str, detail: str) -> None:
        self.status.set_state(state, detail)
        if state == SessionState.LIVE.value and self._connection_message:
            self._connection_message = False
            self.status.clear_message()  # "… Reconnecting" is over the moment the connection is back

    @Slot(object)
    def _on_turn(self, turn: Turn) -> None:
        self.model.add_turn(turn)
        self.status.set_turns(self.model.turn_count())

    @Slot(object)
    def _on_error(self, error: AppError) -> None:
        if not error.fatal:
            self.status.show_message(error.message)
            self._connection_message = isinstance(error, StreamingError)
        elif self.controller.running and self.model.turn_count() == 0:
            # Maybe nothing will be kept (a key refused at once): the session's end says, in a moment.
            self._error_at_end = error
        else:
            self.error_dialogs.show_error(error, saved_in=self.session_folder)

    @Slot(object)
    def _on_session_ended(self, summary: SessionSummary) -> None:
        error = summary.error or self._error_at_end
        self._error_at_end = None
        self._error_cause = cause_of(error) if error is not None else None
        if summary.discarded:
            self.audio_path = self.session_folder = None
            if error is not None:
                self.error_dialogs.show_error(error, note="Nothing was recorded, so no session was kept.")
            self.status.set_standing(nothing_kept_text(summary))
            self.refresh()
            return
        self.audio_path = summary.audio_path
        self.session_folder = summary.folder
        if error is not None:
            self.error_dialogs.show_error(error, saved_in=summary.folder)  # once: it dedupes
        self.status.set_standing(*saved_text(summary))
        self.refresh()

    @Slot()
    def _update_actions(self) -> None:
        """Each action is enabled when there is something for it to act on."""
        has_turns = self.model.turn_count() > 0
        self.export_action.setEnabled(has_turns)
        self.controls.export_button.setEnabled(has_turns)
        self.controls.export_button.setToolTip("Export the transcript and copy the recording (Ctrl+E)" if has_turns
                                               else "Nothing to export yet")
        # A retry needs the session that made the cells (a recovered transcript has none here).
        self.retry_action.setEnabled(self.model.failed_count() > 0 and self.controller.session is not None)
        self.view.copy_rows_action.setEnabled(bool(self.view.selected_rows()))
        self.view.copy_all_action.setEnabled(has_turns)

    @Slot()
    def retry_failed(self) -> None:
        count = self.controller.retry_failed()
        self.status.show_message(f"Retrying {count} translation{'s' if count != 1 else ''}…" if count
                                 else "No failed translations to retry.")

    def not_ready_reason(self) -> str:
        """Why Record would not work now ("" when it would): the same rules Record applies."""
        if self._hold_reason:
            return self._hold_reason.rstrip("…. ").lower()
        if not self.has_key:
            return "no API key (Settings, Ctrl+,)"
        try:
            self._session_settings()
        except ConfigError as exc:
            return exc.message
        return ""

    def _session_settings(self) -> tuple[Settings, tuple[str, ...]]:
        """The settings a session starts with and its columns, or the ``ConfigError`` that stops
        it. Two-way: your language, theirs, then the ticked extras (``app.pipeline.two_way``)."""
        if not self.settings.two_way:
            settings = validate(self.settings).settings
            return settings, settings.targets
        two = plan_two_way(self.settings)
        return self.settings, tuple(t.code for t in two.targets)

    @Slot(bool)
    def _on_two_way_changed(self, on: bool) -> None:
        self._change_settings(two_way=on)
        if not self.controller.running:
            self.model.set_languages(columns_for(self.settings))
        if on:
            self.status.show_message(TWO_WAY_COST)
        self.refresh()

    @Slot(object)
    def _on_other_language_changed(self, code: str | None) -> None:
        self._change_settings(other_language=code)
        if not self.controller.running:
            self.model.set_languages(columns_for(self.settings))
        self.refresh()

    def refresh(self) -> None:
        """Bring buttons, actions, banners and the state in line with the key and the session."""
        running = self.controller.running
        self.key_banner.setVisible(not self.has_key)
        can_record = self.has_key and not self._hold_reason
        # Nothing to point at while recording: the words appear as soon as they are heard.
        self.view.set_empty_hint("" if running else EMPTY_HINT if self.has_key else NO_KEY_HINT)
        self.controls.set_recording(running, stopping=self._stopping, can_record=can_record,
                                    why_not=self._hold_reason or NO_KEY_WHY)
        self.record_action.setEnabled(running or can_record)
        self.earlier_action.setEnabled(bool(self._languages_missing_in_earlier_turns()))
        self._update_actions()
        if not running and self.status.state not in (ERROR, SessionState.FAILED.value, SessionState.ENDED.value):
            reason = self.not_ready_reason()
            if reason:
                self.status.set_state(NOT_READY, reason)
            else:
                self.status.set_state(IDLE)

    def _fixed(self, what: str) -> None:
        """``what`` changed ("key", "settings", "devices"): an error state it may have fixed goes."""
        cause = self._error_cause
        if cause is None or self.controller.running or self.status.state not in (ERROR, SessionState.FAILED.value):
            return
        if fixes(what, cause):
            self._error_cause = None
            self.status.set_state(IDLE)  # refresh() says Ready, or Not ready and why
            self.refresh()

    @Slot()
    def _devices_listed(self) -> None:
        self._fixed("devices")

    # --- choices ------------------------------------------------------------------------------

    def _change_settings(self, **changes: object) -> None:
        self.settings = self.settings.with_changes(**changes)
        for name in changes:
            self._session_only.pop(name, None)  # the user chose it: it is theirs to keep
        self.save_settings()
        self._fixed("settings")
        if not self.controller.running:
            self.refresh()  # Ready, or Not ready and why, for the settings as they are now

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
        if not self.controller.running:  # the spoken language is never a column of its own
            self.model.set_languages(columns_for(self.settings))

    @Slot(str)
    def _on_speech_model_changed(self, model: str) -> None:
        self._change_settings(speech_model=model)

    @Slot(tuple)
    def _on_targets_changed(self, ticked: tuple[str, ...]) -> None:
        self._change_settings(targets=ticked)
        codes = columns_for(self.settings)  # two-way: your language and theirs stay, with the extras
        added = [c for c in codes if c not in self.model.languages]
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

    @Slot()
    def _normal_text(self) -> None:
        self._set_font_size(DEFAULT_FONT_SIZE)

    @Slot(int)
    def _zoom(self, steps: int) -> None:
        self._set_font_size(self.settings.font_size + steps)

    def _set_font_size(self, size: int) -> None:
        size = clamp_font_size(size)
        self._change_settings(font_size=size)
        self.view.set_text_size(size)

    # --- dialogs and offers (settings_flow.py, export_dialog.py, recovery_offer.py) ---------------

    @property
    def settings_dialog(self) -> SettingsDialog | None:
        return self.settings_flow.dialog

    @Slot()
    def open_settings(self) -> SettingsDialog:
        return self.settings_flow.open(self.settings, self.key_status)

    @Slot(str, int)
    def _show_message(self, text: str, timeout_ms: int) -> None:
        if timeout_ms == DEFAULT_TIMEOUT:
            self.status.show_message(text)
        else:
            self.status.show_message(text, timeout_ms=timeout_ms)

    @Slot()
    def open_export(self) -> ExportDialog | None:
        """Export what is on screen (a live, ended or recovered session) with every option."""
        entries = self.model.entries()
        if not entries:
            self.status.show_message("Nothing to export yet: record a session first.")
            return None
        folder = self.session_folder
        name = folder.name if folder is not None else "transcript"
        metadata: dict[str, object] = {"title": name, "started": name, "targets": list(self.model.languages),
                                       "source_code": self.settings.source or "",
                                       "speech_model": self.settings.speech_model}
        if self.model.names:
            metadata["names"] = self.model.names.to_json()
        dialog = ExportDialog(entries, self.model.languages, metadata=metadata, base_name=f"{name}-transcript",
                              audio_path=self.audio_path, choices=self._store.export_choices(), parent=self)
        dialog.exported.connect(self._exported)
        self.export_dialog = dialog
        dialog.open()
        return dialog

    @Slot(list)
    def _exported(self, paths: list[Path]) -> None:
        if self.export_dialog is not None:
            self._store.save_export_choices(self.export_dialog.choices())  # offered again next time
        self.status.show_message("Exported: " + ", ".join(str(p) for p in paths), timeout_ms=15000)

    @Slot()
    def open_about(self) -> AboutDialog:
        """Help ▸ About (not modal: it can stay open beside a session)."""
        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self)
        self.about_dialog.show()
        self.about_dialog.raise_()
        return self.about_dialog

    def offer_recovered(self, sessions: Sequence[RecoveredLike]) -> None:
        self.recovery.offer(sessions)

    @Slot(object)
    def _show_loaded(self, session: LoadedSession) -> None:
        """A recovered session's transcript, on screen as a live one would be."""
        self.model.load(session.entries, session.languages, who_names=session.names)
        archive, session_id = self.history_flow.archive, session.session_id
        # Renamed here, kept in the archive (and the folder's files) when the archive has the session.
        self.session_names.follow((lambda names: archive.set_names(session_id, names))
                                  if archive is not None and session_id is not None else None)
        self.audio_path, self.session_folder = session.audio_path, session.folder
        self.status.set_turns(self.model.turn_count())
        self.status.show_message(f"Showing the recovered session {session.folder.name}.")
        self.refresh()

    def hold_recording(self, reason: str) -> None:
        """Keep Record disabled, saying why (``""`` releases it)."""
        self._hold_reason = reason
        self.refresh()

    @Slot(object)
    def key_changed(self, status: KeyStatus) -> None:
        self.key_status = status
        self._fixed("key")
        self.refresh()

    @Slot(object)
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
        self.open_folder(self.session_folder or self.sessions_dir)

    @Slot(object)
    def open_folder(self, folder: Path) -> None:
        """Show ``folder`` in the file manager; where none can be started, say where it is (and put
        the path on the clipboard) instead of doing nothing."""
        if folder.is_dir() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            return
        QGuiApplication.clipboard().setText(str(folder))
        if not folder.is_dir():
            self.status.show_message(f"{folder} does not exist (yet): it is made when a session is saved there. "
                                     "The path is on the clipboard.", timeout_ms=15000)
            return
        self.status.show_message(f"No file manager could be opened. The folder is {folder} (the path is on the "
                                 "clipboard): paste it into a file manager or a terminal.", timeout_ms=20000)

    @Slot(str)
    def _link_activated(self, url: str) -> None:
        self.open_folder(Path(QUrl(url).toLocalFile()))

    # --- help (app/ui/help.py) --------------------------------------------------------------

    def places(self) -> list[Place]:
        """Where this window's sessions, archive, log, settings and key file are, now."""
        status = self.key_status
        return [Place("Sessions", self.sessions_dir, "One folder per session: audio.wav and the transcripts."),
                *self._files,
                Place("Settings", Path(self._store.qsettings.fileName()), "Your choices; never the API key."),
                Place("API key file", self._key_store.key_file(status.service),
                      "Readable only by you (mode 0600)." if status.source == "file"
                      else "Used only where you choose it (no keyring).")]

    def shortcuts(self) -> list[tuple[str, str]]:
        help_actions = self.help.actions
        actions = [a for a in self.actions() if a not in help_actions] + list(help_actions)
        return shortcut_rows([*actions, *self.view.actions()], WIDGET_KEYS)

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
        self.history_flow.close_windows()  # a window of its own: left open, it would keep the app running
        event.accept()


def columns_for(settings: Settings) -> tuple[str, ...]:
    """The transcript's columns: the targets without the spoken language; two-way, your language
    and the other side's first, then the extras (while the two-way choice is incomplete, the targets)."""
    if settings.two_way:
        try:
            return tuple(t.code for t in plan_two_way(settings).targets)
        except ConfigError:
            pass
    return effective_targets(settings.targets, settings.source)
