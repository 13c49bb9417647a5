"""Target-language choice: a searchable checkable list, and the toolbar button that opens it.

GUI thread. The order in which languages are ticked is the column order. At least one language
stays chosen (unticking the last one is refused, with a hint). Searching matches the English name,
the native name and the code, ignoring case and accents ("espanol" finds Español).

The list is sorted by the language's English name. The spoken language is listed last, marked and
disabled: there is nothing to translate it into, and its tick is kept (not removed), so the saved
targets come back when another spoken language is chosen. What is translated is decided by
``app.core.validate.effective_targets``, here for the button's text as for the session.

Keyboard, as in the list pickers of KDE and GNOME apps: typing goes to the search field; Up/Down
(and Page Up/Down) move through the list from there; Tab and Shift+Tab go between the two; Enter
ticks or unticks the current language, from the search field or the list, and so does Space in the
list; letters typed in the list jump to the next language starting with them. A click anywhere on
a row ticks it, not only on its box. The popup stays open while ticking, so several languages can
be chosen in one go.
"""
from __future__ import annotations

import unicodedata

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QStyleOptionButton,
    QStylePainter,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from app.core.languages import LANGUAGES, Language, language_name
from app.core.validate import effective_targets

CODE_ROLE = Qt.ItemDataRole.UserRole + 1
SPOKEN_MARK = "spoken language"
HINT = "Choose one or more languages; each gets its own column."
_MOVES = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}
_TICKS = {Qt.Key.Key_Return, Qt.Key.Key_Enter}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in text if not unicodedata.combining(ch))


SORTED_LANGUAGES: tuple[Language, ...] = tuple(sorted(LANGUAGES, key=lambda lang: _fold(lang.name)))


class LanguagePicker(QWidget):
    selection_changed = Signal(tuple)  # tuple[str, ...]: target codes in column order (the spoken one included)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._order: list[str] = []
        self._spoken: str | None = None
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search languages…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search languages")
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        self.list.setAccessibleName("Languages to translate into")
        self.hint = QLabel(HINT, self)
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.hint)
        self._populate()
        self.search.textChanged.connect(self._filter)
        self.list.itemClicked.connect(self._toggle)
        self.list.itemChanged.connect(self._on_item_changed)
        self.search.installEventFilter(self)
        self.list.installEventFilter(self)
        self.setMinimumSize(300, 360)

    # --- state --------------------------------------------------------------------------------

    def selected(self) -> tuple[str, ...]:
        return tuple(self._order)

    def spoken(self) -> str | None:
        return self._spoken

    def set_selected(self, codes: tuple[str, ...]) -> None:
        known = {lang.code for lang in LANGUAGES}
        self._order = [c for c in dict.fromkeys(codes) if c in known]
        with QSignalBlocker(self.list):
            for item in self.items():
                checked = item.data(CODE_ROLE) in self._order
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def set_spoken(self, code: str | None) -> None:
        """Move the spoken language to the end, marked and disabled; its tick is kept."""
        if code == self._spoken:
            return
        self._spoken = code
        current = self.list.currentItem()
        keep = str(current.data(CODE_ROLE)) if current is not None else None
        self._populate()
        self._filter(self.search.text())
        kept = self.item(keep) if keep is not None and keep != code else None
        if kept is not None:
            self.list.setCurrentItem(kept)

    def items(self) -> list[QListWidgetItem]:
        return [self.list.item(i) for i in range(self.list.count())]

    def item(self, code: str) -> QListWidgetItem | None:
        return next((item for item in self.items() if item.data(CODE_ROLE) == code), None)

    def _populate(self) -> None:
        with QSignalBlocker(self.list):
            self.list.clear()
            spoken = [lang for lang in SORTED_LANGUAGES if lang.code == self._spoken]
            for lang in [*(lang for lang in SORTED_LANGUAGES if lang.code != self._spoken), *spoken]:
                is_spoken = lang.code == self._spoken
                item = QListWidgetItem(f"{lang.label()}  ({SPOKEN_MARK})" if is_spoken else lang.label(), self.list)
                item.setData(CODE_ROLE, lang.code)
                tip = (f"{lang.name} is the spoken language: there is nothing to translate into. Choose another "
                       "spoken language to translate into it." if is_spoken else lang.code)
                item.setData(Qt.ItemDataRole.ToolTipRole, tip)
                # Not ItemIsUserCheckable: the delegate would then toggle on a click on the box and the
                # row's click below would toggle it back. The row's click and the keys toggle it.
                item.setFlags(Qt.ItemFlag.NoItemFlags if is_spoken
                              else Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                checked = lang.code in self._order
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    # --- searching and the keyboard -----------------------------------------------------------

    @Slot(str)
    def _filter(self, text: str) -> None:
        needle = _fold(text.strip())
        first_visible: QListWidgetItem | None = None
        for item in self.items():
            hay = _fold(f"{item.text()} {item.data(CODE_ROLE)}")
            hidden = bool(needle) and needle not in hay
            item.setHidden(hidden)
            if not hidden and first_visible is None and item.flags() & Qt.ItemFlag.ItemIsEnabled:
                first_visible = item
        if first_visible is not None:
            self.list.setCurrentItem(first_visible)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        key = event.key()
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            # Inside a menu, Tab would move between the menu's actions: here it moves between the
            # search field and the list.
            (self.list if watched is self.search and key == Qt.Key.Key_Tab else self.search).setFocus(
                Qt.FocusReason.TabFocusReason)
            return True
        if watched is self.search and key in _MOVES:
            if self.list.currentItem() is None:
                self._filter(self.search.text())
            # The list moves its current row; the search field keeps the focus and the typing.
            QApplication.sendEvent(self.list, QKeyEvent(event.type(), key, event.modifiers(), event.text()))
            return True
        if key in _TICKS or (watched is self.list and key == Qt.Key.Key_Space):
            # Handled here: left to the list, Enter would reach the menu and close the popup.
            current = self.list.currentItem()
            if current is not None and not current.isHidden():
                self._toggle(current)
            return True
        return False

    # --- ticking ------------------------------------------------------------------------------

    @Slot(QListWidgetItem)
    def _toggle(self, item: QListWidgetItem) -> None:
        """A click on the row or Space/Enter: flip the tick (``_on_item_changed`` keeps the order)."""
        if item.flags() & Qt.ItemFlag.ItemIsEnabled:
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
        self.hint.setText(HINT)
        self.selection_changed.emit(tuple(self._order))


class TargetLanguageButton(QPushButton):
    """Shows the languages translated into ("Spanish, German") and opens the picker as a popup."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = LanguagePicker()
        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.picker)
        menu.addAction(action)
        menu.aboutToShow.connect(self._prepare)
        self.setMenu(menu)
        self.picker.selection_changed.connect(self._update_text)

    def set_selected(self, codes: tuple[str, ...]) -> None:
        self.picker.set_selected(codes)
        self._update_text(self.picker.selected())

    def set_spoken(self, code: str | None) -> None:
        self.picker.set_spoken(code)
        self._update_text(self.picker.selected())

    def paintEvent(self, event: QPaintEvent) -> None:
        # A push button clips a text that is too long on both sides; end it in "…" instead (the
        # whole list is in the tooltip).
        painter = QStylePainter(self)
        option = QStyleOptionButton()
        self.initStyleOption(option)
        indicator = self.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, option, self)
        room = self.width() - indicator - 2 * self.style().pixelMetric(QStyle.PixelMetric.PM_ButtonMargin) - 8
        option.text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, max(0, room))
        painter.drawControl(QStyle.ControlElement.CE_PushButton, option)

    @Slot()
    def _prepare(self) -> None:
        self.picker.search.clear()
        self.picker.search.setFocus()

    @Slot(tuple)
    def _update_text(self, codes: tuple[str, ...]) -> None:
        names = [language_name(c) for c in effective_targets(codes, self.picker.spoken())]
        if not names:
            self.setText("Choose a language")
            self.setToolTip("Nothing to translate into: the spoken language is not a target")
            return
        self.setText(", ".join(names) if len(names) <= 3 else f"{', '.join(names[:2])} +{len(names) - 2}")
        self.setToolTip(f"Translated into {', '.join(names)}; each language adds a column")
