"""The history window's two lists: the sessions (newest first) and the search hits, each row a
small piece of rich text drawn by ``RichTextDelegate``.

GUI thread only. The models only present what the archive gave (``ListedSession``,
``FoundTurn``); loading and searching happen in the window's background tasks. Hits carry their
matches between the ``HIT_MARK`` characters (``Archive.find(mark=HIT_MARK)``), turned into a
highlight here after the text is escaped, so nothing a person said is ever read as markup.
"""
from __future__ import annotations

import html
import time
from enum import IntEnum

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from app.core.catalog import heard_language
from app.core.languages import language_name
from app.core.timefmt import time_label
from app.pipeline.archive import FoundTurn, ListedSession, SessionStatus
from app.ui.look import Tone, blend, muted, tone

HIT_MARK = ("\x02", "\x03")  # around each match in a hit's snippet; never in speech
ModelIndex = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
FIRST_WORDS_CHARS = 110


class Role(IntEnum):
    SESSION_ID = Qt.ItemDataRole.UserRole + 1  # int
    TURN_INDEX = Qt.ItemDataRole.UserRole + 2  # int, hits only
    COLUMN = Qt.ItemDataRole.UserRole + 3  # str | None, hits only: the translation set's label


def when(unix: float) -> str:
    """"Tue 12 Dec 2026, 14:03" in the user's time zone."""
    return time.strftime("%a %d %b %Y, %H:%M", time.localtime(unix))


def languages_text(source: str | None, labels: list[str], speech_model: str | None = None) -> str:
    """"English → es, de": the spoken language as chosen, else the one the model hears, else detected."""
    code = heard_language(source, speech_model)
    heard = language_name(code) if code else "detected language"
    return f"{heard} → {', '.join(labels)}" if labels else heard


class SessionListModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ListedSession] = []

    def rowCount(self, parent: ModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def set_rows(self, rows: list[ListedSession], *, append: bool = False) -> None:
        self.beginResetModel()
        self._rows = [*self._rows, *rows] if append else list(rows)
        self.endResetModel()

    def row_of(self, session_id: int) -> int | None:
        return next((n for n, r in enumerate(self._rows) if r.record.id == session_id), None)

    def listed(self, row: int) -> ListedSession:
        return self._rows[row]

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Role.SESSION_ID:
            return row.record.id
        if role == Qt.ItemDataRole.DisplayRole:
            return self._html(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{row.title}, {when(row.record.started_at)}, {time_label(row.record.duration_ms or 0)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.record.folder}\nID {row.record.short_id}" + (
                "" if row.audio_there else f"\nThe recording {row.record.audio_path.name} is missing.")
        return None

    def _html(self, row: ListedSession) -> str:
        r, o = row.record, row.overview
        labels = [s.label for s in o.sets] or list(r.target_languages)
        facts = [when(r.started_at), time_label(r.duration_ms or 0),
                 languages_text(r.source_language, labels, r.speech_model)]
        if r.speech_model:
            facts.append(r.speech_model)
        marks = []
        if r.status is SessionStatus.RECORDING:
            marks.append(("recording now", "good"))
        if not row.audio_there:
            marks.append(("recording missing", "warn"))
        if o.gaps:
            marks.append((f"{o.gaps} gap{'s' if o.gaps != 1 else ''} not transcribed", "warn"))
        words = o.first_words if len(o.first_words) <= FIRST_WORDS_CHARS else o.first_words[:FIRST_WORDS_CHARS] + "…"
        badge = "".join(f' <span class="{kind}">· {html.escape(m)}</span>' for m, kind in marks)
        first = f"<br>“{html.escape(words)}”" if words else "<br><i>no turns</i>"
        return (f"<b>{html.escape(row.title)}</b>{badge}<br><span class='soft'>"
                f"{html.escape(' · '.join(facts))}</span>{first}")


class HitListModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hits: list[FoundTurn] = []

    def rowCount(self, parent: ModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._hits)

    def set_hits(self, hits: list[FoundTurn]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hit(self, row: int) -> FoundTurn:
        return self._hits[row]

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        found = self._hits[index.row()]
        if role == Role.SESSION_ID:
            return found.record.id
        if role == Role.TURN_INDEX:
            return found.hit.turn_index
        if role == Role.COLUMN:
            return found.hit.column
        if role == Qt.ItemDataRole.DisplayRole:
            return self._html(found)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{found.record.title or found.record.folder.name}: {found.hit.snippet.translate(_NO_MARKS)}"
        return None

    def _html(self, found: FoundTurn) -> str:
        snippet = html.escape(found.hit.snippet).replace(HIT_MARK[0], "<b class='hit'>").replace(HIT_MARK[1], "</b>")
        title = found.record.title or found.record.folder.name
        facts = f"{when(found.record.started_at)} · at {time_label(found.hit.start_ms)} · {found.column_name}"
        return f"<b>{html.escape(title)}</b> <span class='soft'>{html.escape(facts)}</span><br>{snippet}"


_NO_MARKS = str.maketrans("", "", "".join(HIT_MARK))


class RichTextDelegate(QStyledItemDelegate):
    """Draws a row's HTML with the view's font, wrapped to its width; the selection as the style
    draws it. The rows' colours are classes (``soft``, ``warn``, ``good``, ``hit``) given their
    colours here from the palette, and on a selected row the highlighted-text colour, so every
    word reads in light and dark themes and on the selection."""

    PAD = 8

    @staticmethod
    def style_sheet(palette: QPalette, selected: bool) -> str:
        if selected:
            text = palette.color(QPalette.ColorRole.HighlightedText).name()
            return f".soft, .warn, .good {{ color: {text}; }} .hit {{ text-decoration: underline; }}"
        hit = blend(palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Highlight), 0.35)
        return (f".soft {{ color: {muted(palette).name()}; }} .warn {{ color: {tone(palette, Tone.WARNING).name()}; }}"
                f" .good {{ color: {tone(palette, Tone.GOOD).name()}; }} .hit {{ background-color: {hit.name()}; }}")

    def _document(self, option: QStyleOptionViewItem, text: str, width: float, selected: bool = False
                  ) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultStyleSheet(self.style_sheet(option.palette, selected))
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(0)
        doc.setHtml(text)
        doc.setTextWidth(max(40.0, width - 2 * self.PAD))
        return doc

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        doc = self._document(opt, text, opt.rect.width(), selected)
        context = QAbstractTextDocumentLayout.PaintContext()
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(role))
        painter.save()
        painter.translate(opt.rect.left() + self.PAD, opt.rect.top() + self.PAD / 2)
        painter.setClipRect(QRectF(0, 0, opt.rect.width() - self.PAD, opt.rect.height()))
        doc.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        view = opt.widget
        width = view.width() - 24 if isinstance(view, QWidget) else 360
        doc = self._document(opt, opt.text, width)
        return QSize(int(doc.idealWidth()) + 2 * self.PAD, int(doc.size().height()) + self.PAD)
