"""TranscriptView: the table that shows the transcript side by side, with copy and retry.

GUI thread. Word-wrapped cells and rows that grow to fit; follows the newest row unless the user
has scrolled up (and follows again once they scroll back to the bottom); a click on a
"not translated — retry" cell asks for a retry. Copying renders through ``app.core.exports`` (plain
text with times), so what is copied reads like an export. Styling of the states (interim, waiting,
failed, gap) is derived from the palette, so it works in light and dark themes. A turn's "Who"
(speaker, side) is renamed from its context menu or by double-clicking it (``RenameDialog``).
"""
from __future__ import annotations

import math
from functools import partial

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QPoint, QPointF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from app.core.exports import Content, ExportOptions, render
from app.core.who import Kind
from app.ui.look import Tone, italic, muted, scaled, tone
from app.ui.rename_dialog import RenameDialog, rename_title
from app.ui.transcript_model import TIME_COLUMN, CellState, Role, TranscriptModel

FOLLOW_SLACK_PX = 4
EMPTY_HINT = "Press Record (Ctrl+R) and start speaking.\nEach turn appears here, with its translations beside it."


def text_layout(text: str, font: QFont, width: float, alignment: Qt.AlignmentFlag,
                formats: list[QTextLayout.FormatRange] | None = None) -> tuple[QTextLayout, float]:
    """The cell's text laid out in ``width``: wrapped between words, and inside a word only when the
    word alone is wider than the cell, so no word is ever cut off with "…". Returns the layout and
    its height. ``formats`` style parts of the text (a language tag in a muted colour)."""
    layout = QTextLayout(text, font)
    if formats:
        layout.setFormats(formats)
    option = QTextOption(alignment)
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.beginLayout()
    height = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(max(1.0, width))
        line.setPosition(QPointF(0, height))
        height += line.height()
    layout.endLayout()
    return layout, height


class TranscriptDelegate(QStyledItemDelegate):
    """Muted italics for interim/waiting text, a warning colour for failures, padding for air. The
    text is laid out here (``text_layout``), so its height and its painting always agree."""

    PAD_X, PAD_Y = 8, 5

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        state = index.data(Role.CELL_STATE)
        palette = option.palette
        role = palette.ColorRole.Text
        tag = index.data(Role.LANGUAGE_TAG)
        if tag:
            option.text = f"{_tag(tag)}{option.text}"
        if state in (CellState.PENDING, CellState.TRANSLATING, CellState.GAP):
            option.font = italic(option.font)
            palette.setColor(role, muted(palette))
        elif state in (CellState.SECONDARY, CellState.COPIED):
            palette.setColor(role, muted(palette))
        elif state == CellState.WHO:
            option.font = scaled(option.font, 1.0, bold=True)
        elif state == CellState.FAILED:
            palette.setColor(role, tone(palette, Tone.BAD))
            underlined = QFont(option.font)
            underlined.setUnderline(True)
            option.font = underlined
        if state == CellState.GAP:
            option.displayAlignment = Qt.AlignmentFlag.AlignCenter
        option.palette = palette

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        # Selection and hover fill the whole cell; the text sits inside the padding.
        full = QStyleOptionViewItem(option)
        self.initStyleOption(full, index)
        text = full.text
        full.text = ""
        widget = full.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, full, painter, widget)
        if not text:
            return
        inner = option.rect.adjusted(self.PAD_X, self.PAD_Y, -self.PAD_X, -self.PAD_Y)
        horizontal = full.displayAlignment & Qt.AlignmentFlag.AlignHorizontal_Mask
        tag = index.data(Role.LANGUAGE_TAG)
        formats = [_muted_range(len(_tag(tag)), full.palette)] if tag else None
        layout, _height = text_layout(text, full.font, inner.width(), Qt.AlignmentFlag(horizontal), formats)
        if not full.state & QStyle.StateFlag.State_Enabled:
            group = QPalette.ColorGroup.Disabled
        elif full.state & QStyle.StateFlag.State_Active:
            group = QPalette.ColorGroup.Active
        else:
            group = QPalette.ColorGroup.Inactive
        selected = bool(full.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setClipRect(option.rect)
        painter.setPen(full.palette.color(group, role))
        layout.draw(painter, QPointF(inner.topLeft()))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        full = QStyleOptionViewItem(option)
        self.initStyleOption(full, index)
        metrics = QFontMetricsF(full.font)
        lines = full.text.split("\n") if full.text else [""]
        natural = max(metrics.horizontalAdvance(line) for line in lines)
        width = option.rect.width() - 2 * self.PAD_X
        if option.rect.width() > 0 and full.text:
            _layout, height = text_layout(full.text, full.font, width, Qt.AlignmentFlag.AlignLeft)
        else:
            height = metrics.height() * len(lines)
        # +2: a line laid out in exactly its natural width may still break (shaping and hinting round)
        return QSize(math.ceil(natural) + 2 * self.PAD_X + 2, math.ceil(height) + 2 * self.PAD_Y)


def _tag(code: str) -> str:
    """The detected language before an original: "(de) "."""
    return f"({code}) "


def _muted_range(length: int, palette: QPalette) -> QTextLayout.FormatRange:
    fmt = QTextCharFormat()
    fmt.setForeground(muted(palette))
    part = QTextLayout.FormatRange()
    part.start, part.length, part.format = 0, length, fmt
    return part


class TranscriptView(QTableView):
    retry_requested = Signal(int, str)  # turn index, target language code
    retry_all_requested = Signal()
    copied = Signal(str)  # a short note for the status bar ("Copied 3 rows")
    zoom_requested = Signal(int)  # steps of text size: Ctrl+wheel, +1 up / -1 down

    def __init__(self, model: TranscriptModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_hint = EMPTY_HINT
        self._model = model
        self._follow = True
        self._revealed: int | None = None  # a row kept in view (reveal_row) until the user scrolls
        self._revealing = False
        self.rename_dialog: RenameDialog | None = None
        self._columns_due = False
        self.setModel(model)
        self.setItemDelegate(TranscriptDelegate(self))
        self.setWordWrap(True)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(48)
        header.setFont(scaled(QApplication.font(), 1.0, bold=True))  # not scaled with the transcript text
        self._style_header()
        # Row heights follow the text; recomputing all of them is debounced (column resizes).
        self._relayout = QTimer(self)
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(60)
        self._relayout.timeout.connect(self._resize_all_rows)
        header.sectionResized.connect(self._schedule_relayout)
        model.rowsInserted.connect(self._on_rows_inserted)
        model.dataChanged.connect(self._on_data_changed)
        model.modelReset.connect(self._on_reset)
        model.columnsInserted.connect(self._on_columns_inserted)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        self.clicked.connect(self._on_clicked)
        self.doubleClicked.connect(self._on_double_clicked)
        self.customContextMenuRequested.connect(self._show_menu)
        self._add_shortcuts()
        self._apply_column_modes()

    # --- layout -------------------------------------------------------------------------------

    def _apply_column_modes(self) -> None:
        header = self.horizontalHeader()
        for col in range(self._model.columnCount()):
            if col in (TIME_COLUMN, self._model.who_column, self._model.delay_column):
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
            else:
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        self._update_spans()

    def _update_spans(self) -> None:
        self.clearSpans()
        first = self._model.original_column
        span = self._model.columnCount() - first
        for row in range(self._model.rowCount()):
            if self._model.is_gap_row(row):
                self.setSpan(row, first, 1, span)

    def _style_header(self) -> None:
        # Padding lines the titles up with the cell text. palette() in a style sheet is resolved
        # when it is set, so it is set again when the system switches between light and dark.
        self.horizontalHeader().setStyleSheet(
            "QHeaderView::section { padding: 5px 8px; border: none; border-bottom: 1px solid palette(mid);"
            " background: palette(window); color: palette(window-text); }")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._style_header()

    def set_text_size(self, points: int) -> None:
        """Change the transcript's text size and lay everything out again at once: the Time and
        Delay columns are sized to their new contents, then every row to its wrapped text."""
        if self.font().pointSize() == points:
            return
        font = QFont(self.font())
        font.setPointSize(points)
        self.setFont(font)
        self.relayout()

    def relayout(self) -> None:
        """Columns first (sized to contents), then rows (their heights depend on the widths)."""
        self._columns_due = False
        header = self.horizontalHeader()
        for col in (TIME_COLUMN, self._model.who_column, self._model.delay_column):
            if col is not None and col < self._model.columnCount():
                # A section resized to contents is only measured again when its size is asked for
                # anew: set it from the new font's size hint now, then let the header keep it so.
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(col, max(header.minimumSectionSize(), self.sizeHintForColumn(col),
                                              header.sectionSizeHint(col)))
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self._resize_all_rows()

    @Slot()
    def _schedule_relayout(self) -> None:
        self._relayout.start()

    @property
    def laid_out(self) -> bool:
        """False while the rows are about to get their heights (a debounced relayout is due)."""
        return not self._relayout.isActive()

    @Slot()
    def _resize_all_rows(self) -> None:
        if self._columns_due:  # a name in the Who column changed: it may need more room
            self.relayout()
            return
        self.resizeRowsToContents()
        if self._revealed is not None:  # heights changed: the row asked for moved
            self._scroll_to_revealed()

    def reveal_row(self, row: int) -> None:
        """Select ``row`` and keep it in view (a search hit opened in the history) while the rows
        get their heights; the view stops following the newest row. Scrolling lets it go."""
        self._follow = False
        self._revealed = row
        self.selectRow(row)
        self._scroll_to_revealed()

    def _scroll_to_revealed(self) -> None:
        assert self._revealed is not None
        self._revealing = True
        try:
            self.scrollTo(self._model.index(self._revealed, 0), QAbstractItemView.ScrollHint.PositionAtTop)
        finally:
            self._revealing = False

    @Slot(QModelIndex, int, int)
    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            if self._model.is_gap_row(row):
                first = self._model.original_column
                self.setSpan(row, first, 1, self._model.columnCount() - first)
            self.resizeRowToContents(row)

    @Slot(QModelIndex, QModelIndex, list)
    def _on_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: list[int]) -> None:
        who = self._model.who_column
        if who is not None and top_left.column() <= who <= bottom_right.column():
            self._columns_due = True  # renamed or relabelled: size the column to its names again
            self._schedule_relayout()
            return
        for row in range(top_left.row(), bottom_right.row() + 1):
            self.resizeRowToContents(row)

    @Slot()
    def _on_columns_inserted(self) -> None:
        self._apply_column_modes()
        self._schedule_relayout()

    @Slot()
    def _on_reset(self) -> None:
        self._apply_column_modes()
        self._follow = True
        self._revealed = None
        self._schedule_relayout()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() // 120
            if steps:
                self.zoom_requested.emit(1 if steps > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)

    # --- following the newest row -------------------------------------------------------------

    @property
    def following(self) -> bool:
        return self._follow

    @Slot(int)
    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        if not self._revealing:
            self._revealed = None  # the user scrolled: the row asked for is theirs to leave
        self._follow = value >= bar.maximum() - FOLLOW_SLACK_PX and self._revealed is None

    @Slot(int, int)
    def _on_range_changed(self, minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    # --- retry --------------------------------------------------------------------------------

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        if index.data(Role.CELL_STATE) == CellState.FAILED:
            self.retry_requested.emit(int(index.data(Role.TURN_INDEX)), str(index.data(Role.LANGUAGE)))

    @Slot()
    def _retry_all(self) -> None:
        self.retry_all_requested.emit()

    # --- who said it --------------------------------------------------------------------------

    @Slot(QModelIndex)
    def _on_double_clicked(self, index: QModelIndex) -> None:
        if index.column() != self._model.who_column:
            return
        parts = index.data(Role.WHO_PARTS) or []
        if parts:
            self.rename(*parts[-1])  # the speaker when there is one: the side is in the menu

    def rename(self, kind: Kind, key: str) -> RenameDialog:
        """Ask for a new name of a speaker or a side (not modal: a live session goes on)."""
        if self.rename_dialog is not None:
            self.rename_dialog.close()
        dialog = RenameDialog(kind, key, self._model.names, self)
        dialog.renamed.connect(self._renamed)
        self.rename_dialog = dialog
        dialog.open()
        return dialog

    @Slot(object, str, str)
    def _renamed(self, kind: Kind, key: str, name: str) -> None:
        self._model.rename(kind, key, name)
        self.copied.emit(f"{Kind(kind).value.capitalize()} {key} is “{self._model.names.name(kind, key)}” "
                         "in this session")

    # --- copying ------------------------------------------------------------------------------

    def _add_shortcuts(self) -> None:
        self.copy_rows_action = QAction("Copy rows", self)
        self.copy_rows_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_rows_action.triggered.connect(self.copy_selected)
        self.copy_all_action = QAction("Copy the whole transcript", self)
        self.copy_all_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.copy_all_action.triggered.connect(self.copy_all)
        for action in (self.copy_rows_action, self.copy_all_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.selectionModel().selectedRows()})

    def transcript_text(self, rows: list[int] | None, content: Content, language: str | None = None) -> str:
        entries = self._model.entries(rows)
        languages = (language,) if content is Content.TRANSLATION and language else self._model.languages
        if content is Content.TRANSLATION and not languages:
            return ""
        return render("txt", entries, ExportOptions(content, tuple(languages), timestamps=True,
                                                    metadata={"names": self._model.names.to_json()}))

    def _copy(self, rows: list[int] | None, content: Content, language: str | None = None) -> None:
        text = self.transcript_text(rows, content, language)
        if not text:
            return
        QGuiApplication.clipboard().setText(text)
        count = len(self._model.entries(rows))
        self.copied.emit(f"Copied {count} row{'s' if count != 1 else ''} to the clipboard")

    @Slot()
    def copy_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            self._copy(rows, Content.BILINGUAL)

    @Slot()
    def copy_all(self) -> None:
        self._copy(None, Content.BILINGUAL)

    @Slot(QPoint)
    def _show_menu(self, pos: QPoint) -> None:
        self.build_menu(self.indexAt(pos)).popup(self.viewport().mapToGlobal(pos))

    def build_menu(self, index: QModelIndex) -> QMenu:
        menu = QMenu(self)
        if index.isValid() and index.row() not in self.selected_rows():
            self.selectRow(index.row())
        rows = self.selected_rows()
        names = {code: self._model.headerData(self._model.language_column(code), Qt.Orientation.Horizontal)
                 for code in self._model.languages}
        if index.isValid() and index.data(Role.CELL_STATE) == CellState.FAILED:
            turn, code = int(index.data(Role.TURN_INDEX)), str(index.data(Role.LANGUAGE))
            menu.addAction(f"Retry the {names[code]} translation", partial(self.retry_requested.emit, turn, code))
        if self._model.failed_count():
            menu.addAction("Retry all failed translations", self._retry_all)
        who_index = self._model.index(index.row(), self._model.who_column) if (
            index.isValid() and self._model.who_column is not None) else None
        for kind, key in (who_index.data(Role.WHO_PARTS) or []) if who_index is not None else []:
            menu.addAction(rename_title(kind, key, self._model.names), partial(self.rename, kind, key))
        if not menu.isEmpty():
            menu.addSeparator()
        has_rows = bool(rows)
        copy_rows = menu.addAction("Copy rows (original and translations)", self.copy_selected)
        copy_rows.setShortcut(self.copy_rows_action.shortcut())
        copy_rows.setEnabled(has_rows)
        original = menu.addAction("Copy original text", partial(self._copy, rows, Content.ORIGINAL))
        original.setEnabled(has_rows)
        for code, name in names.items():
            copy_one = menu.addAction(f"Copy {name} text", partial(self._copy, rows, Content.TRANSLATION, code))
            copy_one.setEnabled(has_rows)
        menu.addSeparator()
        whole = menu.addMenu("Copy the whole transcript")
        whole.setEnabled(self._model.turn_count() > 0)
        whole.addAction("Original and translations", self.copy_all).setShortcut(self.copy_all_action.shortcut())
        whole.addAction("Original only", partial(self._copy, None, Content.ORIGINAL))
        for code, name in names.items():
            whole.addAction(f"{name} only", partial(self._copy, None, Content.TRANSLATION, code))
        return menu

    def set_empty_hint(self, text: str) -> None:
        if text != self.empty_hint:
            self.empty_hint = text
            self.viewport().update()

    # --- empty state --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._model.rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(muted(self.palette()))
            font = QFont(self.font())
            font.setPointSizeF(max(9.0, font.pointSizeF() * 1.05))
            painter.setFont(font)
            painter.drawText(self.viewport().rect(), int(Qt.AlignmentFlag.AlignCenter), self.empty_hint)
            painter.end()
