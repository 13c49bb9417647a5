"""The history's small dialogs: translate a session again (language, model, instructions), and
the confirmation before a session is deleted, which names exactly what goes.

GUI thread; forms only. The choices are checked by the layer below (``resolve_language``; the
model by the translator's own validation when the job starts), in the same words as the terminal.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import LLM_MODELS
from app.core.errors import ConfigError
from app.core.languages import LANGUAGES, resolve_language
from app.pipeline.archive import DeletionPlan
from app.pipeline.retranslate import TranslateAgain
from app.ui.look import Tone, tone


class TranslateAgainDialog(QDialog):
    """Translate a kept session again; ``wanted()`` is what was chosen once accepted."""

    def __init__(self, title: str, *, model: str, have: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Translate the session again")
        self.language = QComboBox()
        self.language.setEditable(True)
        self.language.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for lang in LANGUAGES:
            self.language.addItem(lang.label(), lang.code)
        completer = self.language.completer()
        assert completer is not None
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.language.setCurrentIndex(max(0, self.language.findData(have[0] if have else "es")))
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(list(dict.fromkeys((model, *LLM_MODELS))))
        self.model.setCurrentText(model)
        self.instructions = QLineEdit()
        self.instructions.setPlaceholderText("Optional, e.g. “Use a formal register.”")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {tone(self.palette(), Tone.BAD).name()}")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.addButton("Translate", QDialogButtonBox.ButtonRole.AcceptRole).setDefault(True)
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Language", self.language)
        form.addRow("LLM model", self.model)
        form.addRow("Instructions", self.instructions)
        layout = QVBoxLayout(self)
        intro = QLabel(f"“{title}” is translated again as a new column; the translations it has are kept"
                       + (f" ({', '.join(have)})." if have else "."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def wanted(self) -> TranslateAgain:
        text = self.language.currentText().strip()
        chosen = self.language.currentData() if self.language.currentIndex() >= 0 and \
            self.language.itemText(self.language.currentIndex()) == text else text
        return TranslateAgain(str(chosen), self.model.currentText().strip(), self.instructions.text().strip())

    @Slot()
    def _check(self) -> None:
        try:
            resolve_language(self.wanted().language)
        except ConfigError as exc:
            self.error.setText(exc.message)
            return
        if not self.wanted().llm_model:
            self.error.setText("Choose an LLM model.")
            return
        self.accept()


def deletion_box(plan: DeletionPlan, parent: QWidget) -> QMessageBox:
    """The confirmation: what goes, named; "Cancel" is the default (Enter and Esc keep it)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Delete this session?", f"Delete “{plan.title}”?", parent=parent)
    box.setInformativeText(plan.describe())
    if plan.files:
        box.setDetailedText("\n".join(str(p) for p in plan.files))
    delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
    delete.setObjectName("delete")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box
