"""RenameDialog: call a speaker ("B") or a side ("Them") something else, for one session.

GUI thread. Opened with ``open()`` (never blocking the window: a live session goes on behind it);
``renamed`` carries the kind, the key and the new name ("" = back to the default). The names are
the session's only: the window keeps them with the session (archive, session folder, exports).
"""
from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.core.who import MAX_NAME, Kind, Names


def rename_title(kind: Kind, key: str, names: Names) -> str:
    """The menu's words: "Rename speaker B…", "Rename “Them”…"."""
    current = names.name(kind, key)
    if kind is Kind.SPEAKER:
        return f"Rename speaker {current}…" if current == key else f"Rename speaker {current} ({key})…"
    return f"Rename “{current}”…"


class RenameDialog(QDialog):
    renamed = Signal(object, str, str)  # Kind, key, name ("" = the default)

    def __init__(self, kind: Kind, key: str, names: Names, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind, self.key = kind, key
        default = Names().name(kind, key)
        what = (f"Speaker {key}, as the speech service labelled them" if kind is Kind.SPEAKER
                else f"“{default}”: the turns heard from the {'microphone' if default == 'You' else 'system audio'}")
        self.setWindowTitle("Rename speaker" if kind is Kind.SPEAKER else "Rename side")
        label = QLabel(f"{what}.\nThe name is shown for this session, in its History and in its exports. "
                       f"Leave it empty for “{default}”.")
        label.setWordWrap(True)
        self.name_edit = QLineEdit(names.name(kind, key))
        self.name_edit.setMaxLength(MAX_NAME)
        self.name_edit.selectAll()
        self.name_edit.setPlaceholderText(default)
        label.setBuddy(self.name_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.accepted.connect(self._accepted)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.name_edit)
        layout.addWidget(buttons)
        self.resize(max(self.sizeHint().width(), 380), self.sizeHint().height())

    @Slot()
    def _accepted(self) -> None:
        self.renamed.emit(self.kind, self.key, self.name_edit.text().strip())
