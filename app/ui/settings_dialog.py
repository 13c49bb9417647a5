"""SettingsDialog (Ctrl+,): API key, service, transcription, translation, output and text size.

GUI thread. The dialog edits a copy of ``Settings`` and the key text; the window stores them (the
key through ``KeyStore``, off the GUI thread). "Test key" runs ``app.workers.key_check.check_key``
(both services: streaming and the LLM Gateway, with the URLs and model entered here) in a
``BackgroundTask`` and shows the answer under the field, in the dialog's width and without advice
to open Settings (it is open). Save refuses what ``validate`` would refuse of the LLM choices (a
URL that cannot work, a model the region's gateway does not serve), and offers to test a new key
that was not tested. The key field is masked, and the dialog says where the key lives now
(``KeyStatus.where``); where there is no keyring it offers, unticked, to keep the key in a file
only the user can read, and names that file.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractButton,
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
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.backends import secret, speech_backend, translation_backend
from app.core.catalog import MAX_SPEAKERS, region
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


def _key_note(status: KeyStatus, keyring_available: bool, key_file: Path | None = None) -> str:
    where = status.where
    if status.source in ("none", "memory") and not keyring_available:
        where += " Without a system keyring it is kept for this run only, unless you keep it in a file"
        where += f" ({key_file})." if key_file is not None else "."
    elif status.source in ("none", "keyring"):
        where += " It is never written to a settings file."
    return where


_OPEN_SETTINGS = re.compile(r"Open Settings(?: \(Ctrl\+,\))? to (\w)")
_IN_SETTINGS = re.compile(r" in Settings(?: \(Ctrl\+,\))?(?: or with --[\w-]+)?")
_SAVE_IN_SETTINGS = re.compile(r",? or (?:save|enter) (?:one|it) in (?:the window's )?Settings(?: \(Ctrl\+,\))?")


def inside_settings(message: str) -> str:
    """A message as the Settings dialog shows it: advice to open Settings (or to use a command-line
    option) is dropped or pointed here, since this is where the key and the URLs are entered."""
    message = _OPEN_SETTINGS.sub(lambda m: m.group(1).upper(), message)
    message = _SAVE_IN_SETTINGS.sub("", message)
    message = _IN_SETTINGS.sub(" here", message)
    return re.sub(r" or with --[\w-]+", "", message)


class WrappingLabel(QLabel):
    """A word-wrapped label that asks for the height its text needs at the width it has: Qt's own
    asks for the height of a narrow column, which a form row then keeps, half empty."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._asked = -1

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        width = self.width() if self.width() > hint.width() else hint.width()
        return QSize(hint.width(), self.heightForWidth(width) if self.text() else 0)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())

    def setText(self, text: str) -> None:
        super().setText(text)
        self.updateGeometry()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        height = self.heightForWidth(self.width())
        if height != self._asked:  # once per new height: no loop between the label and its layout
            self._asked = height
            self.updateGeometry()


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, key_status: KeyStatus, *, keyring_available: bool,
                 default_sessions_dir: Path, key_checker: KeyChecker = check_key, key_file: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self._original_key = key_status.key or ""
        self._in_file = key_status.source == "file"
        self._checker = key_checker
        self._default_sessions_dir = default_sessions_dir
        self.check_task: BackgroundTask | None = None
        self.test_question: QMessageBox | None = None
        self._tested_ok: str | None = None  # the key text the last successful test checked
        self._testing = ""
        self._save_after_test = False
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
        # Long answers wrap inside the dialog's width instead of widening it, and the dialog grows
        # in height to show them whole (``WrappingLabel``, ``_fit_height``).
        self.key_result = WrappingLabel()
        self.key_note = WrappingLabel(_key_note(key_status, keyring_available, key_file))
        self.key_in_file = QCheckBox("Keep the key in a file only you can read")
        self.key_in_file.setChecked(self._in_file)
        self.key_in_file.setToolTip(f"{key_file or 'In your settings folder'}: mode 0600, never the settings file "
                                    "itself. The terminal (live-translate --headless) reads the same file.")
        self.key_in_file.setVisible(not keyring_available or self._in_file)

        self.speech_model = QComboBox()
        fill_combo(self.speech_model, speech_model_choices(self._speech), settings.speech_model)
        add_model_tooltips(self.speech_model, self._speech)
        self.mode = QComboBox()
        fill_combo(self.mode, mode_choices(self._speech), settings.mode)
        self.mode.setToolTip("Universal-3.5 Pro only: trade how soon the text comes against how accurate it is")
        self._update_mode_enabled()
        self.speech_model.currentIndexChanged.connect(self._update_mode_enabled)
        # Who speaks: only the models that label speakers are asked (the catalog's flag).
        self.speakers = QCheckBox("Label who speaks (A, B, …)")
        self.speakers.setChecked(settings.speakers)
        self.max_speakers = QSpinBox()
        self.max_speakers.setRange(0, MAX_SPEAKERS)
        self.max_speakers.setSpecialValueText("any number")
        self.max_speakers.setValue(settings.max_speakers or 0)
        self.max_speakers_label = QLabel("Up to")
        self.max_speakers_label.setBuddy(self.max_speakers)
        self.max_speakers.setToolTip(f"At most this many speakers (1–{MAX_SPEAKERS}): a hint that helps the service "
                                     "tell similar voices apart")
        self.speakers_note = WrappingLabel()
        self._update_speakers_enabled()
        self.speech_model.currentIndexChanged.connect(self._update_speakers_enabled)
        self.speakers.toggled.connect(self._update_speakers_enabled)
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
        account.addRow("", self.key_in_file)
        speech = QFormLayout()
        speech.addRow("Speech model", self.speech_model)
        speech.addRow("Accuracy mode", self.mode)
        speech.addRow("Turn detection", self.turn_preset)
        speech.addRow("", self.format_turns)
        speakers_row = QHBoxLayout()
        speakers_row.addWidget(self.speakers)
        speakers_row.addSpacing(12)
        speakers_row.addWidget(self.max_speakers_label)
        speakers_row.addWidget(self.max_speakers)
        speakers_row.addStretch(1)
        speech.addRow("Speakers", speakers_row)
        speech.addRow("", self.speakers_note)
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
        layout.addStretch(1)  # room the dialog has over what its rows need goes here, not into the labels
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
        QTimer.singleShot(0, self._fit_height)

    # --- results ------------------------------------------------------------------------------

    def entered_key(self) -> str | None:
        """The key to save (typed in, or moved into or out of the key file), or None when both the
        key and where it is kept were left as they were."""
        key = self.key_edit.text().strip()
        unchanged = key == self._original_key.strip() and self.key_to_file() == self._in_file
        return None if unchanged else key

    def key_to_file(self) -> bool:
        """The user chose to keep the key in the key file (offered where there is no keyring)."""
        return not self.key_in_file.isHidden() and self.key_in_file.isChecked()

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
            speakers=self.speakers.isChecked(),
            max_speakers=self.max_speakers.value() or None,
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
        key = self.key_edit.text().strip()
        if key and key != self._original_key.strip() and key != self._tested_ok:
            self._offer_test()
            return
        super().accept()

    def _offer_test(self) -> None:
        """A new key nobody tested: offer to test it first (window-modal, never a nested loop)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Test the new key?",
                          "The new API key has not been tested. Test it with both services before saving?",
                          QMessageBox.StandardButton.Cancel, self)
        self._test_and_save = box.addButton("Test and save", QMessageBox.ButtonRole.AcceptRole)
        self._save_untested = box.addButton("Save without testing", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(self._test_and_save)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(self._test_answered)
        self.test_question = box
        box.open()

    @Slot(QAbstractButton)
    def _test_answered(self, button: QAbstractButton) -> None:
        self.test_question = None
        if button is self._save_untested:
            super().accept()
        elif button is self._test_and_save:
            self._save_after_test = True
            self.test_key()

    # --- key test -----------------------------------------------------------------------------

    @Slot()
    def test_key(self) -> None:
        self.test_button.setEnabled(False)
        self._show_key_result("Checking the key with both services…")
        url = self.streaming_url.text().strip() or None
        region = str(self.region.currentData())
        llm_url = self.llm_url.text().strip() or None
        model = self.llm_model.currentText().strip()
        key, checker = self.key_edit.text(), self._checker
        self._testing = key.strip()
        self.check_task = BackgroundTask.launch(lambda: checker(key, url, region, llm_url, model),
                                                on_success=self._key_ok, on_failure=self._key_failed,
                                                name="key-check")

    def _show_key_result(self, text: str) -> None:
        self.key_result.setText(text)
        QTimer.singleShot(0, self._fit_height)

    @Slot()
    def _fit_height(self) -> None:
        """A long answer wraps in the dialog's width; the dialog grows in height to show all of it
        (a window does not follow its contents' height by itself once it is shown)."""
        layout = self.layout()
        if layout is not None:
            layout.activate()
            needed = max(layout.totalSizeHint().height(), layout.totalMinimumSize().height())
            if needed > self.height():
                self.resize(self.width(), needed)

    @Slot(object)
    def _key_ok(self, message: object) -> None:
        self.test_button.setEnabled(True)
        self._tested_ok = self._testing
        self._show_key_result(f'<span style="color:{tone(self.palette(), Tone.GOOD).name()}">✔</span> '
                              f"{html.escape(str(message))}")
        if self._save_after_test:
            self._save_after_test = False
            if self.key_edit.text().strip() == self._tested_ok:
                super().accept()

    @Slot(object)
    def _key_failed(self, error: AppError) -> None:
        self.test_button.setEnabled(True)
        self._save_after_test = False  # not saved: the answer says why, and the dialog stays open
        self._show_key_result(f'<span style="color:{tone(self.palette(), Tone.BAD).name()}">✘</span> '
                              f"{html.escape(inside_settings(error.message))}")

    # --- helpers ------------------------------------------------------------------------------

    @Slot(bool)
    def _reveal_key(self, shown: bool) -> None:
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    @Slot()
    def _update_mode_enabled(self) -> None:
        # The choice is kept either way; it is only sent to a model that honours it.
        self.mode.setEnabled(backend_model(str(self.speech_model.currentData()), self._speech).modes)

    def speakers_reason(self) -> str:
        """Why speakers cannot be labelled with the model chosen ("" when they can)."""
        model = backend_model(str(self.speech_model.currentData()), self._speech)
        if model.speaker_labels:
            return ""
        return f"{model.title} ({model.id}) does not tell speakers apart: choose another speech model to label them."

    @Slot()
    def _update_speakers_enabled(self) -> None:
        # Like the mode, the choice is kept either way; only a model that labels speakers is asked.
        reason = self.speakers_reason()
        self.speakers.setEnabled(not reason)
        self.max_speakers.setEnabled(not reason and self.speakers.isChecked())
        self.max_speakers_label.setEnabled(self.max_speakers.isEnabled())
        self.speakers.setToolTip(reason or "Each turn shows its speaker; rename them for a session (right-click a "
                                 "turn). Exports carry the names.")
        self.speakers_note.setText(reason)
        self.speakers_note.setVisible(bool(reason))

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
