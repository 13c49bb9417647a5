"""SettingsDialog (Ctrl+,): API key, service, transcription, translation, output and text size.

GUI thread. The dialog edits a copy of ``Settings`` and the key text; the window stores them (the
key through ``KeyStore``, off the GUI thread). "Test key" runs ``app.workers.key_check.check_key``
(both services: streaming and the LLM Gateway, with the URLs and model entered here) in a
``BackgroundTask`` and shows the answer under the field. Save refuses what ``validate`` would
refuse of the LLM choices (a URL that cannot work, a model the region's gateway does not serve).
The key field is masked, and the dialog says where the key will be kept (system keyring,
environment, or this run only).
"""
from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.backends import secret, speech_backend, translation_backend
from app.core.catalog import region
from app.core.errors import AppError, ConfigError
from app.core.settings import FONT_SIZE_MAX, FONT_SIZE_MIN, Settings
from app.core.validate import check_llm_model, llm_base_url, streaming_base_url
from app.settings.keystore import KeyStatus
from app.ui.choices import (
    add_model_tooltips,
    backend_model,
    fill_combo,
    mode_choices,
    preset_choices,
    region_choices,
    speech_model_choices,
)
from app.ui.look import Tone, tone
from app.workers.key_check import check_key
from app.workers.tasks import BackgroundTask

# (key, streaming URL or None, region, LLM URL or None, LLM model) -> a sentence saying it works
KeyChecker = Callable[[str, "str | None", str, "str | None", str], str]


def _key_note(status: KeyStatus, keyring_available: bool) -> str:
    if status.source == "environment":
        return f"Using {status.env_var} from the environment; it wins over a key saved here."
    if status.source == "memory" or not keyring_available:
        return f"No system keyring was found: the key is kept for this run only. Set {status.env_var} to keep it."
    return "Saved in the system keyring, never in a settings file."


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, key_status: KeyStatus, *, keyring_available: bool,
                 default_sessions_dir: Path, key_checker: KeyChecker = check_key,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self._original_key = key_status.key or ""
        self._checker = key_checker
        self._default_sessions_dir = default_sessions_dir
        self.check_task: BackgroundTask | None = None
        # The choices are the backends' (``app.core.backends``), not any backend package's constants.
        self._speech = speech_backend(settings.speech_backend)
        self._translation = translation_backend(settings.translation_backend)

        self.key_edit = QLineEdit(self._original_key)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText(f"Paste your {secret(key_status.service).label}")
        self.key_edit.setMinimumWidth(320)
        reveal = QAction("Show", self.key_edit)
        reveal.setCheckable(True)
        reveal.toggled.connect(self._reveal_key)
        self.key_edit.addAction(reveal, QLineEdit.ActionPosition.TrailingPosition)
        self.test_button = QPushButton("Test key")
        self.test_button.clicked.connect(self.test_key)
        self.key_result = QLabel("")
        self.key_result.setWordWrap(True)
        self.key_note = QLabel(_key_note(key_status, keyring_available))
        self.key_note.setWordWrap(True)

        self.speech_model = QComboBox()
        fill_combo(self.speech_model, speech_model_choices(self._speech), settings.speech_model)
        add_model_tooltips(self.speech_model, self._speech)
        self.mode = QComboBox()
        fill_combo(self.mode, mode_choices(self._speech), settings.mode)
        self.mode.setToolTip("Universal-3.5 Pro only: trade how soon the text comes against how accurate it is")
        self._update_mode_enabled()
        self.speech_model.currentIndexChanged.connect(self._update_mode_enabled)
        self.turn_preset = QComboBox()
        fill_combo(self.turn_preset, preset_choices(self._speech), settings.turn_preset)
        self.format_turns = QCheckBox("Punctuate and capitalise finished turns")
        self.format_turns.setChecked(settings.format_turns)
        # One term per line: a term may itself hold a comma ("Acme, Inc.").
        self.keyterms = QPlainTextEdit("\n".join(settings.keyterms))
        self.keyterms.setPlaceholderText("Names and terms to recognise, one per line")
        self.keyterms.setTabChangesFocus(True)
        self.keyterms.setFixedHeight(self.keyterms.fontMetrics().lineSpacing() * 4 + 12)

        self.llm_model = QComboBox()
        self.llm_model.setEditable(True)
        self.llm_model.addItems(list(dict.fromkeys((settings.llm_model, *self._translation.models))))
        self.llm_model.setCurrentText(settings.llm_model)

        self.region = QComboBox()
        fill_combo(self.region, region_choices(self._speech), settings.region)
        self.streaming_url = QLineEdit(settings.streaming_url or "")
        self.llm_url = QLineEdit(settings.llm_url or "")
        self._update_placeholders()
        self.region.currentIndexChanged.connect(self._update_placeholders)

        self.sessions_dir = QLineEdit(str(settings.sessions_dir or ""))
        self.sessions_dir.setPlaceholderText(str(default_sessions_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_folder)
        self.font_size = QSpinBox()
        self.font_size.setRange(FONT_SIZE_MIN, FONT_SIZE_MAX)
        self.font_size.setSuffix(" pt")
        self.font_size.setValue(settings.font_size)

        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {tone(self.palette(), Tone.BAD).name()}")
        self.error_label.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        account = QFormLayout()
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.test_button)
        account.addRow("API key", key_row)
        account.addRow("", self.key_result)
        account.addRow("", self.key_note)
        speech = QFormLayout()
        speech.addRow("Speech model", self.speech_model)
        speech.addRow("Accuracy mode", self.mode)
        speech.addRow("Turn detection", self.turn_preset)
        speech.addRow("", self.format_turns)
        speech.addRow("Key terms", self.keyterms)
        translation = QFormLayout()
        translation.addRow("LLM model", self.llm_model)
        service = QFormLayout()
        service.addRow("Region", self.region)
        service.addRow("Streaming URL", self.streaming_url)
        service.addRow("LLM Gateway URL", self.llm_url)
        output = QFormLayout()
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.sessions_dir, 1)
        folder_row.addWidget(browse)
        output.addRow("Sessions folder", folder_row)
        output.addRow("Transcript text", self.font_size)
        layout = QVBoxLayout(self)
        for title, form in (("AssemblyAI account", account), ("Speech recognition", speech),
                            ("Translation", translation), ("Service (leave the URLs empty for the region's)", service),
                            ("Output and display", output)):
            box = QGroupBox(title)
            box.setLayout(form)
            layout.addWidget(box)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    # --- results ------------------------------------------------------------------------------

    def entered_key(self) -> str | None:
        """The key typed in, or None when it was left as it was."""
        key = self.key_edit.text().strip()
        return None if key == self._original_key.strip() else key

    def result_settings(self) -> Settings:
        """The edited settings; raises ``ConfigError`` for a value that cannot work."""
        streaming = self.streaming_url.text().strip() or None
        if streaming:
            streaming_base_url(streaming)
        llm = self.llm_url.text().strip() or None
        place = str(self.region.currentData())
        model = self.llm_model.currentText().strip()
        if not model:
            raise ConfigError("Enter an LLM model, for example gemini-2.5-flash-lite.")
        check_llm_model(model, llm_base_url(llm or region(place).llm_url))  # the rules validate() applies
        folder = self.sessions_dir.text().strip()
        return self._settings.with_changes(
            speech_model=self.speech_model.currentData(),
            turn_preset=self.turn_preset.currentData(),
            mode=self.mode.currentData(),
            format_turns=self.format_turns.isChecked(),
            keyterms=tuple(t.strip() for t in self.keyterms.toPlainText().splitlines() if t.strip()),
            llm_model=model,
            region=place,
            streaming_url=streaming,
            llm_url=llm,
            sessions_dir=Path(folder).expanduser() if folder else None,
            font_size=self.font_size.value(),
        )

    @Slot()
    def accept(self) -> None:
        try:
            self.result_settings()
        except AppError as exc:
            self.error_label.setText(exc.message)
            self.error_label.show()
            return
        super().accept()

    # --- key test -----------------------------------------------------------------------------

    @Slot()
    def test_key(self) -> None:
        self.test_button.setEnabled(False)
        self.key_result.setText("Checking the key with both services…")
        url = self.streaming_url.text().strip() or None
        region = str(self.region.currentData())
        llm_url = self.llm_url.text().strip() or None
        model = self.llm_model.currentText().strip()
        key, checker = self.key_edit.text(), self._checker
        self.check_task = BackgroundTask.launch(lambda: checker(key, url, region, llm_url, model),
                                                on_success=self._key_ok, on_failure=self._key_failed,
                                                name="key-check")

    @Slot(object)
    def _key_ok(self, message: object) -> None:
        self.test_button.setEnabled(True)
        self.key_result.setText(f'<span style="color:{tone(self.palette(), Tone.GOOD).name()}">✔</span> '
                                f"{html.escape(str(message))}")

    @Slot(object)
    def _key_failed(self, error: AppError) -> None:
        self.test_button.setEnabled(True)
        self.key_result.setText(f'<span style="color:{tone(self.palette(), Tone.BAD).name()}">✘</span> '
                                f"{html.escape(error.message)}")

    # --- helpers ------------------------------------------------------------------------------

    @Slot(bool)
    def _reveal_key(self, shown: bool) -> None:
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    @Slot()
    def _update_mode_enabled(self) -> None:
        # The choice is kept either way; it is only sent to a model that honours it.
        self.mode.setEnabled(backend_model(str(self.speech_model.currentData()), self._speech).modes)

    @Slot()
    def _update_placeholders(self) -> None:
        place = region(str(self.region.currentData()))
        self.streaming_url.setPlaceholderText(place.streaming_url)
        self.llm_url.setPlaceholderText(place.llm_url)

    @Slot()
    def _browse_folder(self) -> None:
        start = self.sessions_dir.text().strip() or str(self._default_sessions_dir)
        folder = QFileDialog.getExistingDirectory(self, "Sessions folder", start)
        if folder:
            self.sessions_dir.setText(folder)
