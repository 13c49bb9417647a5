"""ExportDialog (Ctrl+E): write the transcript as TXT, SRT, VTT, JSON or Markdown, and copy the WAV.

GUI thread for the form; the writing runs in a ``BackgroundTask`` (``app.pipeline.export_files``), so a
large WAV copy never freezes the window. Content: original only, one translation, or bilingual
(original plus every translation; bilingual subtitles with several translations are one file per
translation, which the dialog says). It opens where people look (the folder of the last export, or
Documents), with the format and options of the last export (``ExportChoices``, kept by the window);
the WAV is named after the transcript, next to it, until its name is edited by hand; "Include
times" is ticked and disabled for the formats that always carry times; and any file that would be
replaced is named in a question first (window-modal, ``open()``, never a nested event loop). The
dialog closes itself when the files are written and reports them through ``exported``.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractButton,
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
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AppError
from app.core.exports import ALWAYS_TIMED, Content, Entry, ExportOptions, export_files
from app.core.languages import language_name
from app.core.transcript import Turn
from app.core.who import SEPARATOR, Shown, names_of, who
from app.pipeline.export_files import ExportJob, planned_files, run_export
from app.settings.qt_store import ExportChoices
from app.ui.look import Tone, tone
from app.workers.tasks import BackgroundTask

FORMAT_LABELS = {"txt": "Plain text (.txt)", "srt": "Subtitles (.srt)", "vtt": "Web subtitles (.vtt)",
                 "json": "JSON (.json)", "md": "Markdown table (.md)"}
ALWAYS_TIMED_TIP = "{fmt} always carries the times of each turn."


def documents_folder() -> Path:
    """The user's Documents folder, or the home folder where there is none."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def start_folder(choices: ExportChoices) -> Path:
    return choices.folder if choices.folder is not None and choices.folder.is_dir() else documents_folder()


def who_note(entries: Sequence[Entry], metadata: dict[str, object]) -> str:
    """", each with who said it (You, Them, Ana, B)" when the session has speakers or two sides."""
    turns = [e for e in entries if isinstance(e, Turn)]
    shown, names = Shown.of(turns), names_of(metadata)
    said = list(dict.fromkeys(part for t in turns for part in who(t, names, shown).split(SEPARATOR) if part))
    if not said:
        return ""
    listed = ", ".join(said[:6]) + (", …" if len(said) > 6 else "")
    return f", each with who said it ({listed})"


class ExportDialog(QDialog):
    exported = Signal(list)  # list[Path] written

    def __init__(self, entries: Sequence[Entry], languages: tuple[str, ...], *, metadata: dict[str, object],
                 base_name: str, audio_path: Path | None, choices: ExportChoices | None = None,
                 names: dict[str, str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export transcript")
        self._entries = list(entries)
        self._languages = languages
        self._metadata = metadata
        self._audio_path = audio_path
        self._audio_named_by_hand = False
        self.task: BackgroundTask | None = None
        self.overwrite_question: QMessageBox | None = None
        chosen = choices or ExportChoices()
        self._timestamps_wanted = chosen.timestamps  # the user's own choice, for formats where it applies

        self.format = QComboBox()
        for fmt, label in FORMAT_LABELS.items():
            self.format.addItem(label, fmt)
        self.bilingual = QRadioButton("Original and translations")
        self.original = QRadioButton("Original only")
        self.translation = QRadioButton("One translation:")
        self.translation_language = QComboBox()
        for code in languages:  # a language, or a translation set's label ("es.2") named in ``names``
            self.translation_language.addItem((names or {}).get(code) or language_name(code), code)
        self.content = QButtonGroup(self)
        for button in (self.bilingual, self.original, self.translation):
            self.content.addButton(button)
        if not languages:
            self.translation.setEnabled(False)
            self.bilingual.setText("Original")
        self.timestamps = QCheckBox("Include times")
        self.split_note = QLabel("")
        self.split_note.setWordWrap(True)

        folder = start_folder(chosen)
        self.path = QLineEdit(str(folder / f"{base_name}.{chosen.fmt if chosen.fmt in FORMAT_LABELS else 'txt'}"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.copy_audio = QCheckBox("Also copy the recording (WAV) to:")
        self.audio_target = QLineEdit()
        audio_browse = QPushButton("Browse…")
        audio_browse.clicked.connect(self._browse_audio)
        self.has_audio = audio_path is not None and audio_path.is_file()
        self.copy_audio.setEnabled(self.has_audio)
        self.copy_audio.setChecked(self.has_audio and chosen.copy_audio)
        if not self.has_audio:
            self.copy_audio.setToolTip("The recording is available once the session has been saved.")
        self._audio_browse = audio_browse
        self.copy_audio.toggled.connect(self._update_audio_enabled)
        self.audio_target.textEdited.connect(self._audio_edited)
        self.path.textChanged.connect(self._name_audio_after_transcript)
        self._name_audio_after_transcript()
        self._update_audio_enabled()

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
        form.addRow("", self.split_note)
        audio_row = QHBoxLayout()
        audio_row.addWidget(self.audio_target, 1)
        audio_row.addWidget(audio_browse)
        form.addRow(self.copy_audio)
        form.addRow("", audio_row)
        layout = QVBoxLayout(self)
        turns = sum(1 for e in self._entries if hasattr(e, "text"))
        self.summary = QLabel(f"{turns} turn{'s' if turns != 1 else ''} to export{who_note(self._entries, metadata)}.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

        self._apply_choices(chosen)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.content.buttonToggled.connect(self._update_split_note)
        self.translation_language.currentIndexChanged.connect(self._update_split_note)
        self.timestamps.toggled.connect(self._timestamps_toggled)
        self._format_changed()

    def _apply_choices(self, chosen: ExportChoices) -> None:
        self.format.setCurrentIndex(max(0, self.format.findData(chosen.fmt)))
        if chosen.content == Content.TRANSLATION.value and self._languages:
            self.translation.setChecked(True)
            self.translation_language.setCurrentIndex(max(0, self.translation_language.findData(chosen.language)))
        elif chosen.content == Content.ORIGINAL.value:
            self.original.setChecked(True)
        else:
            self.bilingual.setChecked(True)

    # --- what the form says -------------------------------------------------------------------

    @property
    def fmt(self) -> str:
        return str(self.format.currentData())

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
            entries=self._entries, fmt=self.fmt, options=self.options(),
            transcript_path=Path(self.path.text().strip()).expanduser(),
            audio_source=self._audio_path if copy_audio else None,
            audio_target=Path(self.audio_target.text().strip()).expanduser() if copy_audio else None,
        )

    def choices(self) -> ExportChoices:
        """What to offer next time: this export's format, content, options and folder."""
        options = self.options()
        return ExportChoices(fmt=self.fmt, content=options.content.value,
                             language=str(self.translation_language.currentData() or "") or None,
                             timestamps=self._timestamps_wanted, copy_audio=self.copy_audio.isChecked(),
                             folder=Path(self.path.text().strip()).expanduser().parent)

    # --- exporting ----------------------------------------------------------------------------

    @Slot()
    def start_export(self) -> None:
        if not self.path.text().strip():
            self._failed(AppError("Choose where to save the transcript."))
            return
        if self.copy_audio.isChecked() and not self.audio_target.text().strip():
            self._failed(AppError("Choose where to copy the recording, or untick it."))
            return
        job = self.job()
        existing = [p for p in planned_files(job) if p.exists()]
        if existing:
            self._ask_before_replacing(existing)
            return
        self._write(job)

    def _ask_before_replacing(self, existing: list[Path]) -> None:
        names = "".join(f"<br>{html.escape(p.name)}" for p in existing)
        folders = {str(p.parent) for p in existing}
        where = f" in {html.escape(folders.pop())}" if len(folders) == 1 else ""
        box = QMessageBox(QMessageBox.Icon.Question, "Replace files?",
                          f"{'This file exists' if len(existing) == 1 else 'These files exist'}{where}:"
                          f"{names}<br><br>Replace {'it' if len(existing) == 1 else 'them'}?",
                          QMessageBox.StandardButton.Cancel, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        self._replace_button = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(self._answered)
        self.overwrite_question = box
        box.open()

    @Slot(QAbstractButton)
    def _answered(self, button: QAbstractButton) -> None:
        self.overwrite_question = None
        if button is self._replace_button:
            self._write(self.job())
        else:
            self.status.setText("Nothing was replaced: choose another name, or Export again to replace.")

    def _write(self, job: ExportJob) -> None:
        self.export_button.setEnabled(False)
        self.status.setStyleSheet("")
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

    # --- keeping the form consistent ----------------------------------------------------------

    @Slot()
    def _format_changed(self) -> None:
        path = Path(self.path.text().strip() or "transcript.txt")
        self.path.setText(str(path.with_suffix(f".{self.fmt}")))
        always = self.fmt in ALWAYS_TIMED
        self.timestamps.blockSignals(True)
        self.timestamps.setChecked(True if always else self._timestamps_wanted)
        self.timestamps.blockSignals(False)
        self.timestamps.setEnabled(not always)
        self.timestamps.setToolTip(ALWAYS_TIMED_TIP.format(fmt=FORMAT_LABELS[self.fmt].split(" (")[0])
                                   if always else "Start each turn with its time in the recording")
        self._update_split_note()

    @Slot(bool)
    def _timestamps_toggled(self, checked: bool) -> None:
        if self.timestamps.isEnabled():
            self._timestamps_wanted = checked

    @Slot()
    def _update_split_note(self) -> None:
        files = export_files(self.fmt, self.options(), Path(self.path.text().strip() or "transcript"))
        if len(files) > 1:
            names = ", ".join(p.name for p, _ in files)
            self.split_note.setText(f"A subtitle shows at most two languages at a time, so this writes one file "
                                    f"per translation, each with the original: {names}.")
            self.split_note.show()
        else:
            self.split_note.hide()

    @Slot()
    def _name_audio_after_transcript(self) -> None:
        """The WAV is named after the transcript, next to it (until its name is edited by hand)."""
        if not self._audio_named_by_hand:
            self.audio_target.setText(str(Path(self.path.text().strip() or "transcript").with_suffix(".wav")))
        self._update_split_note()

    @Slot(str)
    def _audio_edited(self, _text: str) -> None:
        self._audio_named_by_hand = True

    @Slot()
    def _update_audio_enabled(self) -> None:
        on = self.has_audio and self.copy_audio.isChecked()
        self.audio_target.setEnabled(on)
        self._audio_browse.setEnabled(on)

    @Slot()
    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Save transcript", self.path.text(),
                                                f"{FORMAT_LABELS[self.fmt]} (*.{self.fmt})",
                                                options=QFileDialog.Option.DontConfirmOverwrite)
        if chosen:
            self.path.setText(chosen)  # replacing is asked about once, on Export

    @Slot()
    def _browse_audio(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Copy the recording to", self.audio_target.text(),
                                                "WAV (*.wav)", options=QFileDialog.Option.DontConfirmOverwrite)
        if chosen:
            self._audio_named_by_hand = True
            self.audio_target.setText(chosen)
