"""Target-language choice: a searchable checkable list, and the toolbar button that opens it.

GUI thread. The order in which languages are ticked is the column order. At least one language
stays chosen (unticking the last one is refused, with a hint). Searching matches the English name,
the native name and the code, ignoring case and accents ("espanol" finds Español).
"""
from __future__ import annotations

import unicodedata

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from app.core.languages import LANGUAGES, language_name

CODE_ROLE = Qt.ItemDataRole.UserRole + 1


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in text if not unicodedata.combining(ch))


class LanguagePicker(QWidget):
    selection_changed = Signal(tuple)  # tuple[str, ...]: target codes in column order

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._order: list[str] = []
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search languages…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        self.hint = QLabel("Choose one or more languages; each gets its own column.", self)
        self.hint.setWordWrap(True)
        for lang in LANGUAGES:
            item = QListWidgetItem(lang.label(), self.list)
            item.setData(CODE_ROLE, lang.code)
            item.setData(Qt.ItemDataRole.ToolTipRole, lang.code)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable)
            item.setCheckState(Qt.CheckState.Unchecked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.hint)
        self.search.textChanged.connect(self._filter)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.itemActivated.connect(self._toggle)
        self.setMinimumSize(300, 360)

    def selected(self) -> tuple[str, ...]:
        return tuple(self._order)

    def set_selected(self, codes: tuple[str, ...]) -> None:
        known = {self.list.item(i).data(CODE_ROLE) for i in range(self.list.count())}
        self._order = [c for c in dict.fromkeys(codes) if c in known]
        with QSignalBlocker(self.list):
            for i in range(self.list.count()):
                item = self.list.item(i)
                checked = item.data(CODE_ROLE) in self._order
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    @Slot(str)
    def _filter(self, text: str) -> None:
        needle = _fold(text.strip())
        first_visible: QListWidgetItem | None = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            hay = _fold(f"{item.text()} {item.data(CODE_ROLE)}")
            hidden = bool(needle) and needle not in hay
            item.setHidden(hidden)
            if not hidden and first_visible is None:
                first_visible = item
        if first_visible is not None:
            self.list.setCurrentItem(first_visible)

    @Slot(QListWidgetItem)
    def _toggle(self, item: QListWidgetItem) -> None:
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    @Slot(QListWidgetItem)
    def _on_item_changed(self, item: QListWidgetItem) -> None:
        code = str(item.data(CODE_ROLE))
        if item.checkState() == Qt.CheckState.Checked:
            if code not in self._order:
                self._order.append(code)
        elif code in self._order:
            if len(self._order) == 1:
                with QSignalBlocker(self.list):
                    item.setCheckState(Qt.CheckState.Checked)
                self.hint.setText("At least one language is needed: tick another one first.")
                return
            self._order.remove(code)
        self.hint.setText("Choose one or more languages; each gets its own column.")
        self.selection_changed.emit(tuple(self._order))


class TargetLanguageButton(QPushButton):
    """Shows the chosen languages ("Spanish, German") and opens the picker as a popup."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = LanguagePicker()
        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.picker)
        menu.addAction(action)
        menu.aboutToShow.connect(self._prepare)
        self.setMenu(menu)
        self.setToolTip("Languages to translate into; each one adds a column")
        self.picker.selection_changed.connect(self._update_text)

    def set_selected(self, codes: tuple[str, ...]) -> None:
        self.picker.set_selected(codes)
        self._update_text(self.picker.selected())

    @Slot()
    def _prepare(self) -> None:
        self.picker.search.clear()
        self.picker.search.setFocus()

    @Slot(tuple)
    def _update_text(self, codes: tuple[str, ...]) -> None:
        names = [language_name(c) for c in codes]
        self.setText(", ".join(names) if len(names) <= 3 else f"{', '.join(names[:2])} +{len(names) - 2}")
