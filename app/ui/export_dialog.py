"""ExportDialog (Ctrl+E): write the transcript as TXT, SRT, VTT, JSON or Markdown, and copy the WAV.

GUI thread for the form; the writing runs in a ``BackgroundTask`` (``app.pipeline.export_files``), so a
large WAV copy never freezes the window. Content: original only, one translation, or bilingual
(original plus every translation). The dialog closes itself when the files are written and
reports them through ``exported``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AppError
from app.core.exports import Content, Entry, ExportOptions
from app.core.languages import language_name
from app.pipeline.export_files import ExportJob, run_export
from app.ui.look import Tone, tone
from app.workers.tasks import BackgroundTask

FORMAT_LABELS = {"txt": "Plain text (.txt)", "srt": "Subtitles (.srt)", "vtt": "Web subtitles (.vtt)",
                 "json": "JSON (.json)", "md": "Markdown table (.md)"}


class ExportDialog(QDialog):
    exported = Signal(list)  # list[Path] written

    def __init__(self, entries: Sequence[Entry], languages: tuple[str, ...], *, metadata: dict[str, object],
                 default_folder: Path, base_name: str, audio_path: Path | None,
                 names: dict[str, str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export transcript")
        self._entries = list(entries)
        self._languages = languages
        self._metadata = metadata
        self._audio_path = audio_path
        self.task: BackgroundTask | None = None

        self.format = QComboBox()
        for fmt, label in FORMAT_LABELS.items():
            self.format.addItem(label, fmt)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.bilingual = QRadioButton("Original and translations")
        self.original = QRadioButton("Original only")
        self.translation = QRadioButton("One translation:")
        self.translation_language = QComboBox()
        for code in languages:  # a language, or a translation set's label ("es.2") named in ``names``
            self.translation_language.addItem((names or {}).get(code) or language_name(code), code)
        self.content = QButtonGroup(self)
        for button in (self.bilingual, self.original, self.translation):
            self.content.addButton(button)
        self.bilingual.setChecked(True)
        if not languages:
            self.translation.setEnabled(False)
            self.bilingual.setText("Original")
        self.timestamps = QCheckBox("Include times")
        self.timestamps.setChecked(True)

        self.path = QLineEdit(str(default_folder / f"{base_name}.txt"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.copy_audio = QCheckBox("Also copy the recording (WAV) to:")
        self.audio_target = QLineEdit(str(default_folder / f"{base_name}.wav"))
        audio_browse = QPushButton("Browse…")
        audio_browse.clicked.connect(self._browse_audio)
        has_audio = audio_path is not None and audio_path.is_file()
        for widget in (self.copy_audio, self.audio_target, audio_browse):
            widget.setEnabled(has_audio)
        if not has_audio:
            self.copy_audio.setToolTip("The recording is available once the session has been saved.")
        self.copy_audio.toggled.connect(self.audio_target.setEnabled)
        self.audio_target.setEnabled(False)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Format", self.format)
        content = QVBoxLayout()
        content.addWidget(self.bilingual)
        content.addWidget(self.original)
        one = QHBoxLayout()
        one.addWidget(self.translation)
        one.addWidget(self.translation_language, 1)
        content.addLayout(one)
        form.addRow("Content", content)
        form.addRow("", self.timestamps)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        form.addRow("Save as", file_row)
        audio_row = QHBoxLayout()
        audio_row.addWidget(self.audio_target, 1)
        audio_row.addWidget(audio_browse)
        form.addRow(self.copy_audio)
        form.addRow("", audio_row)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{sum(1 for e in self._entries if hasattr(e, 'text'))} turns to export."))
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def options(self) -> ExportOptions:
        if self.original.isChecked() or not self._languages:
            content, languages = Content.ORIGINAL, self._languages
        elif self.translation.isChecked():
            content, languages = Content.TRANSLATION, (str(self.translation_language.currentData()),)
        else:
            content, languages = Content.BILINGUAL, self._languages
        return ExportOptions(content, tuple(languages), self.timestamps.isChecked(), dict(self._metadata))

    def job(self) -> ExportJob:
        copy_audio = self.copy_audio.isChecked() and self._audio_path is not None
        return ExportJob(
            entries=self._entries, fmt=str(self.format.currentData()), options=self.options(),
            transcript_path=Path(self.path.text().strip()).expanduser(),
            audio_source=self._audio_path if copy_audio else None,
            audio_target=Path(self.audio_target.text().strip()).expanduser() if copy_audio else None,
        )

    @Slot()
    def start_export(self) -> None:
        if not self.path.text().strip():
            self._failed(AppError("Choose where to save the transcript."))
            return
        job = self.job()
        self.export_button.setEnabled(False)
        self.status.setText("Writing…")
        self.task = BackgroundTask.launch(lambda: run_export(job), on_success=self._done,
                                          on_failure=self._failed, name="export")

    @Slot(object)
    def _done(self, written: list[Path]) -> None:
        self.exported.emit(list(written))
        self.accept()

    @Slot(object)
    def _failed(self, error: AppError) -> None:
        self.export_button.setEnabled(True)
        self.status.setStyleSheet(f"color: {tone(self.palette(), Tone.BAD).name()}")
        self.status.setText(error.message)

    @Slot(int)
    def _format_changed(self, _index: int) -> None:
        path = Path(self.path.text().strip() or "transcript.txt")
        self.path.setText(str(path.with_suffix(f".{self.format.currentData()}")))

    @Slot()
    def _browse(self) -> None:
        fmt = str(self.format.currentData())
        chosen, _ = QFileDialog.getSaveFileName(self, "Save transcript", self.path.text(),
                                                f"{FORMAT_LABELS[fmt]} (*.{fmt})")
        if chosen:
            self.path.setText(chosen)

    @Slot()
    def _browse_audio(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Copy the recording to", self.audio_target.text(), "WAV (*.wav)")
        if chosen:
            self.audio_target.setText(chosen)
