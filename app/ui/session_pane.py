"""SessionPane: one kept session in the history window, read-only in the same side-by-side view as
a live one, with what can be done to it: rename, note, export, translate again, retry, transcribe
its gaps, share as a bundle, reveal its folder, delete.

GUI thread; widgets and wiring only. Every archive call runs in a ``BackgroundTask`` and every long
job (translating, transcribing) in a ``JobThread`` with its progress and a Cancel button, so the
window never waits. A session deleted elsewhere meanwhile (another window, a script) is said as
such; what is on screen stays readable and exportable.
"""
from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import SPEECH_MODEL_IDS, speech_model
from app.core.errors import AppError
from app.core.settings import Settings
from app.core.timefmt import time_label
from app.core.wording import counted
from app.pipeline.archive import Archive, ArchivedSession, DeletionPlan, SessionStatus, UnknownSession
from app.pipeline.gap_filling import GapFilling, GapFillResult
from app.pipeline.jobs import JobProgress, Progress
from app.pipeline.retranslate import Retranslation, RetranslationResult, TranslateAgain, translators_from
from app.settings.qt_store import ExportChoices
from app.ui.banner import Banner
from app.ui.export_dialog import ExportDialog
from app.ui.history_dialogs import TranslateAgainDialog, deletion_box
from app.ui.history_model import languages_text, when
from app.ui.look import Tone, muted
from app.ui.session_names import SessionNames
from app.ui.transcript_model import TranscriptModel
from app.ui.transcript_view import TranscriptView
from app.workers.jobs import JobThread
from app.workers.tasks import BackgroundTask

EMPTY_PANE = "Choose a session on the left (↑ ↓), or search every session above (Ctrl+F)."


@dataclass(frozen=True)
class Services:
    """What a job needs from the window: the settings (URLs, region, models) and the keys."""

    settings: Callable[[], Settings]
    secrets: Callable[[], Mapping[str, str]]
    sessions_dir: Callable[[], Path]


class SessionPane(QWidget):
    changed = Signal(int)  # session id: something the history list shows changed
    deleted = Signal(int)  # session id: it is gone (deleted here or elsewhere)
    message = Signal(str)  # for the window's status bar

    def __init__(self, archive: Archive, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.archive = archive
        self.services = services
        self.session: ArchivedSession | None = None
        self.job: JobThread | None = None
        self.task: BackgroundTask | None = None
        self.export_dialog: ExportDialog | None = None
        self.translate_dialog: TranslateAgainDialog | None = None
        self.confirmation: QMessageBox | None = None
        self._plan: DeletionPlan | None = None
        self._after_task: Callable[[object], None] | None = None
        self._gone = False

        self.heading = QLabel("")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = Banner("", kind=Tone.WARNING, closable=False)
        self.warning.hide()
        self.toolbar = QToolBar("Session")
        self.actions_by_name: dict[str, QAction] = {}
        for name, text, slot, key in (
                ("rename", "Rename…", self.rename, "F2"), ("note", "Note…", self.edit_note, "Ctrl+Shift+N"),
                ("export", "Export…", self.export, "Ctrl+E"), ("translate", "Translate…", self.translate_again,
                                                              "Ctrl+T"),
                ("retry", "Retry failed", self.retry_failed, "Ctrl+R"),
                ("transcribe", "Transcribe gaps", self.transcribe_gaps, "Ctrl+G"),
                ("share", "Share as bundle…", self.share, "Ctrl+Shift+S"),
                ("reveal", "Reveal folder", self.reveal, None),
                ("delete", "Delete…", self.delete, None)):  # Delete in the list (history_window)
            action = QAction(text, self)
            if key is not None:
                action.setShortcut(QKeySequence(key))
            action.triggered.connect(slot)
            self.toolbar.addAction(action)
            self.actions_by_name[name] = action
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.progress_label, 2)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()
        self.model = TranscriptModel(())
        self.view = TranscriptView(self.model)
        self.view.set_empty_hint(EMPTY_PANE)
        self.view.retry_requested.connect(self.retry_cell)
        self.view.retry_all_requested.connect(self.retry_failed)
        self.view.copied.connect(self.message)
        self.names = SessionNames(self)  # a speaker or side renamed here is kept in the archive and the folder
        self.model.names_changed.connect(self.names.keep)
        self.names.message.connect(self.message)
        self.names.saved.connect(self._names_saved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.warning)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.view, 1)
        self._refresh_actions()

    # --- showing ------------------------------------------------------------------------------

    def show_session(self, session: ArchivedSession, at_turn: int | None = None) -> None:
        self.session, self._gone = session, False
        self.model.load(session.entries_with(), session.columns, session.column_names(), who_names=session.names,
                        language_tags=_multilingual(session.record.speech_model))
        session_id = session.record.id
        editable = session.record.status is not SessionStatus.RECORDING
        self.names.follow((lambda names: self.archive.set_names(session_id, names)) if editable else None)
        row = self.model.row_of(at_turn) if at_turn is not None else None
        if self.model.rowCount():
            self.view.reveal_row(row if row is not None else 0)
        self._show_heading()
        self._refresh_actions()

    @Slot(object)
    def _names_saved(self, _names: object) -> None:
        if self.session is not None:
            self.changed.emit(self.session.record.id)

    def mark_gone(self) -> None:
        """The session was deleted elsewhere: say so; what is shown stays readable and exportable."""
        self._gone = True
        if self.session is not None:
            self._show_heading()
        self._refresh_actions()

    def clear(self) -> None:
        self.session = None
        self.names.follow(None)
        self.model.load([], ())
        self.heading.setText("")
        self.warning.hide()
        self._refresh_actions()

    def _show_heading(self) -> None:
        session = self.session
        assert session is not None
        r = session.record
        soft = muted(self.palette()).name()
        turns = len(session.transcript)
        facts = [when(r.started_at), time_label(r.duration_ms or 0), counted(turns, "turn"),
                 languages_text(r.source_language, list(session.columns), r.speech_model)]
        models = " · ".join(m for m in (r.speech_model, r.llm_model) if m)
        note = f"<br>Note: {html.escape(r.user_note)}" if r.user_note else ""
        app_note = f"<br><span style='color:{soft}'>{html.escape(r.note)}</span>" if r.note else ""
        self.heading.setText(f"<span style='font-size:large'><b>{html.escape(session.title)}</b></span>"
                             f" <span style='color:{soft}'>ID {html.escape(r.short_id)}</span><br>"
                             f"{html.escape(' · '.join(facts))}<br><span style='color:{soft}'>{html.escape(models)}"
                             f"</span>{note}{app_note}")
        problems = []
        if self._gone:
            problems.append("This session was deleted (in another window or by a script): it is no longer in the "
                            "history. What is shown can still be read and exported.")
        elif not session.audio_there:
            problems.append(f"The recording {html.escape(r.audio_path.name)} was moved or deleted; the transcript is "
                            "kept (export, search and translate still work).")
        if r.status is SessionStatus.RECORDING and not self._gone:
            problems.append("This session is being recorded right now: what is shown is what had arrived when it was "
                            "opened.")
        gaps = len(session.transcript.gaps())
        if gaps and not self._gone:
            problems.append(f"{gaps} stretch{'es' if gaps != 1 else ''} of the recording {'are' if gaps != 1 else 'is'}"
                            " not transcribed: Transcribe gaps (Ctrl+G) fills them when the service can be reached.")
        self.warning.set_text("<br>".join(problems))
        self.warning.setVisible(bool(problems))

    def _refresh_actions(self) -> None:
        session = self.session
        idle = self.job is None and self.task is None
        there = session is not None and not self._gone
        editable = there and session is not None and session.record.status is not SessionStatus.RECORDING
        failed = len(session.failed_cells()) if session is not None else 0
        gaps = len(session.transcript.gaps()) if session is not None else 0
        audio = session is not None and session.audio_there
        enabled = {"rename": editable, "note": editable, "export": session is not None and len(session.transcript) > 0,
                   "translate": editable and session is not None and len(session.transcript) > 0,
                   "retry": editable and failed > 0, "transcribe": editable and gaps > 0 and audio,
                   "share": there, "reveal": there, "delete": editable}
        for name, action in self.actions_by_name.items():
            action.setEnabled(bool(enabled[name]) and (idle or name in ("export", "reveal")))
        self.actions_by_name["retry"].setText(f"Retry failed ({failed})" if failed else "Retry failed")
        self.actions_by_name["transcribe"].setText(f"Transcribe gaps ({gaps})" if gaps else "Transcribe gaps")
        self.actions_by_name["transcribe"].setToolTip(
            "The recording is missing, so its gaps cannot be transcribed" if gaps and not audio else
            "Stream the stretches not transcribed again, at real time, and fill them in (Ctrl+G)")

    # --- quick changes (background tasks) -----------------------------------------------------

    def _run(self, work: Callable[[], object], after: Callable[[object], None]) -> None:
        self._after_task = after
        self.task = BackgroundTask.launch(work, on_success=self._task_done, on_failure=self._task_failed,
                                          name="history")
        self._refresh_actions()

    @Slot(object)
    def _task_done(self, result: object) -> None:
        self.task = None
        after, self._after_task = self._after_task, None
        if after is not None:
            after(result)
        self._refresh_actions()

    @Slot(object)
    def _task_failed(self, error: AppError) -> None:
        self.task = None
        self._after_task = None
        self._failed(error)

    def _failed(self, error: AppError) -> None:
        if isinstance(error, UnknownSession) and self.session is not None:
            self.mark_gone()
            self.deleted.emit(self.session.record.id)
        self.message.emit(error.message)
        self._refresh_actions()

    def _reload(self, said: str) -> Callable[[object], None]:
        session = self.session
        assert session is not None
        session_id = session.record.id

        def after(_result: object) -> None:
            self.message.emit(said)
            self.changed.emit(session_id)
            self._run(lambda: self.archive.load(session_id), self._reloaded)

        return after

    def _reloaded(self, loaded: object) -> None:
        assert isinstance(loaded, ArchivedSession)
        if self.session is not None and self.session.record.id == loaded.record.id:
            self.show_session(loaded)

    @Slot()
    def rename(self) -> None:
        if self.session is None:
            return
        title, ok = QInputDialog.getText(self, "Rename the session", "Title (shown in the history, the terminal "
                                         "and every export):", QLineEdit.EchoMode.Normal, self.session.title)
        if ok and title.strip():
            self.apply_title(title.strip())

    def apply_title(self, title: str) -> None:
        assert self.session is not None
        session_id = self.session.record.id
        self._run(lambda: self.archive.rename(session_id, title), self._reload(f"Renamed to “{title}”."))

    @Slot()
    def edit_note(self) -> None:
        if self.session is None:
            return
        note, ok = QInputDialog.getMultiLineText(self, "Note", "A note kept with the session:",
                                                 self.session.record.user_note)
        if ok:
            self.apply_note(note)

    def apply_note(self, note: str) -> None:
        assert self.session is not None
        session_id = self.session.record.id
        self._run(lambda: self.archive.set_note(session_id, note), self._reload("Note saved."))

    @Slot()
    def reveal(self) -> None:
        if self.session is None:
            return
        folder = self.session.record.folder
        if not folder.is_dir():
            self.message.emit(f"The folder {folder} is gone (moved or deleted); the transcript is in the archive.")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    @Slot()
    def share(self) -> None:
        if self.session is None:
            return
        default = str(self.services.sessions_dir().parent / f"{self.session.record.folder.name}.zip")
        chosen, _ = QFileDialog.getSaveFileName(self, "Share the session as a bundle", default, "Bundle (*.zip)")
        if chosen:
            self.write_bundle(Path(chosen))

    def write_bundle(self, path: Path) -> None:
        assert self.session is not None
        session_id = self.session.record.id

        def after(result: object) -> None:
            assert isinstance(result, tuple)
            written, with_audio = result
            self.message.emit(f"Wrote {written}" + ("" if with_audio else " (the recording is missing: the "
                                                    "transcript only)") + ".")

        self._run(lambda: self.archive.bundle(session_id, path), after)

    @Slot()
    def delete(self) -> None:
        if self.session is None:
            return
        session_id = self.session.record.id
        self._run(lambda: self.archive.deletion_plan(session_id), self._confirm_delete)

    def _confirm_delete(self, plan: object) -> None:
        assert isinstance(plan, DeletionPlan)
        box = deletion_box(plan, self)
        box.buttonClicked.connect(self._delete_answered)
        self.confirmation = box
        self._plan = plan
        box.open()

    @Slot(QAbstractButton)
    def _delete_answered(self, button: QAbstractButton) -> None:
        box, self.confirmation = self.confirmation, None
        if box is None or box.buttonRole(button) is not QMessageBox.ButtonRole.DestructiveRole:
            self.message.emit("Not deleted.")
            return
        plan = self._plan
        assert plan is not None
        session_id = plan.session_id

        def after(_removed: object) -> None:
            self.message.emit(f"Deleted “{plan.title}”.")
            self.clear()
            self.deleted.emit(session_id)

        self._run(lambda: self.archive.delete(session_id, files=True), after)

    @Slot()
    def export(self) -> ExportDialog | None:
        session = self.session
        if session is None:
            return None
        folder = session.record.folder
        metadata = {**session.metadata(), "names": self.model.names.to_json()}  # renamed here: not reloaded yet
        dialog = ExportDialog(session.entries_with(), session.columns, metadata=metadata,
                              choices=ExportChoices(folder=folder if folder.is_dir() else self.services.sessions_dir()),
                              base_name=f"{folder.name}-transcript", audio_path=session.record.audio_path,
                              names=session.column_names(), parent=self)
        dialog.exported.connect(self._exported)
        self.export_dialog = dialog
        dialog.open()
        return dialog

    @Slot(list)
    def _exported(self, paths: list[Path]) -> None:
        self.message.emit("Exported: " + ", ".join(str(p) for p in paths))

    # --- long jobs (JobThread) ----------------------------------------------------------------

    @Slot()
    def translate_again(self) -> TranslateAgainDialog | None:
        if self.session is None:
            return None
        dialog = TranslateAgainDialog(self.session.title, model=self.services.settings().llm_model,
                                      have=self.session.columns, parent=self)
        dialog.accepted.connect(self._translate_chosen)
        self.translate_dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def _translate_chosen(self) -> None:
        if self.translate_dialog is not None:
            self.start_translation(self.translate_dialog.wanted())

    def start_translation(self, wanted: TranslateAgain) -> None:
        self._start_job(lambda job: job.translate(wanted), "Translating…")

    @Slot()
    def retry_failed(self) -> None:
        self._start_job(lambda job: job.retry(), "Retrying…")

    @Slot(int, str)
    def retry_cell(self, turn_index: int, column: str) -> None:
        self._start_job(lambda job: job.retry(cells=[(turn_index, column)]), "Retrying…")

    def _start_job(self, what: Callable[[Retranslation], RetranslationResult], starting: str) -> None:
        if self.session is None or self.job is not None:
            return
        session_id, archive = self.session.record.id, self.archive
        settings, secrets = self.services.settings(), dict(self.services.secrets())

        def job(report: Progress, cancel: threading.Event) -> object:
            return what(Retranslation(archive, session_id, translators_from(settings, secrets),
                                      default_model=settings.llm_model, progress=report, cancel=cancel))

        self._launch(job, starting)

    @Slot()
    def transcribe_gaps(self) -> None:
        if self.session is None or self.job is not None:
            return
        session_id, archive = self.session.record.id, self.archive
        settings, secrets = self.services.settings(), dict(self.services.secrets())

        def job(report: Progress, cancel: threading.Event) -> object:
            return GapFilling(archive, session_id, settings=settings, secrets=secrets, progress=report,
                              cancel=cancel).run()

        self._launch(job, "Connecting to the streaming service…")

    def _launch(self, job: Callable[[Progress, threading.Event], object], starting: str) -> None:
        self.progress.setRange(0, 0)  # busy until the first progress arrives
        self.progress_label.setText(starting)
        self.cancel_button.setEnabled(True)
        self.progress_box.show()
        self.job = JobThread.launch(job, on_progress=self._job_progress, on_success=self._job_done,
                                    on_failure=self._job_failed, name="history-job")
        self._refresh_actions()

    @Slot()
    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Stopping; what is done is kept…")

    @Slot(object)
    def _job_progress(self, progress: JobProgress) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(round(progress.fraction * 1000))
        if self.cancel_button.isEnabled():
            self.progress_label.setText(progress.text)

    @Slot(object)
    def _job_done(self, result: object) -> None:
        self._end_job()
        said = result.describe() if isinstance(result, (RetranslationResult, GapFillResult)) else "Done."
        if self.session is not None:
            self._reload(said)(None)

    @Slot(object)
    def _job_failed(self, error: AppError) -> None:
        self._end_job()
        self._failed(error)
        if self.session is not None and not self._gone:
            self._reload(error.message)(None)

    def _end_job(self) -> None:
        self.job = None
        self.progress_box.hide()
        self._refresh_actions()

    @property
    def busy(self) -> bool:
        return self.job is not None


def _multilingual(model_id: str) -> bool:
    return model_id in SPEECH_MODEL_IDS and speech_model(model_id).multilingual
