"""CaptionOverlay: big captions in a frameless window above everything, for reading over a video.

GUI thread. A second view of the window's ``TranscriptModel`` (the same rows the main window
shows; nothing is copied): it repaints when the model changes, which the controller's bridge
already paces at screen rate. Which lines it shows is decided in ``app.core.captions``; this
widget only lays them out (wrapped, centred, newest at the bottom, oldest dropped off the top)
and paints them with an outline over a see-through background.

It moves by dragging anywhere and resizes at its edges (the window system does it where it can,
which is the only way on Wayland), and it remembers its place, size and style per screen
(``OverlayPlaces``, kept through ``PlacesStore``). "Let clicks pass through" makes it ignore the
mouse entirely, so the way back is in the main window (its View menu and Ctrl+Shift+L).

On Wayland the desktop decides where windows go and which stay on top: the overlay asks, and
says (``WAYLAND_NOTE``) that the desktop may not follow.
"""
from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPoint, QPointF, QRect, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QContextMenuEvent,
    QCursor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QHideEvent,
    QMouseEvent,
    QMoveEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QScreen,
    QShowEvent,
    QTextLayout,
    QWheelEvent,
)
from PySide6.QtWidgets import QColorDialog, QFontDialog, QMenu, QMessageBox, QWidget

from app.core.captions import (
    FONT_SIZE_RANGE,
    CaptionLine,
    CaptionShow,
    LineRole,
    OverlayPlaces,
    OverlayStyle,
    Place,
    caption_lines,
)
from app.core.languages import language_name
from app.ui.transcript_model import ORIGINAL_COLUMN, TranscriptModel

OVERLAY_FLAGS = (Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
                 | Qt.WindowType.Tool)
WAYLAND_NOTE = ("On Wayland the desktop decides where windows go and which stay on top: the caption overlay "
                "asks to stay above other windows, but your desktop may not let it, and it cannot put itself "
                "back where it was. Many desktops offer \u201cAlways on top\u201d in the window's menu (Alt+Space); "
                "or start Live Translate with QT_QPA_PLATFORM=xcb.")
HINT_TEXT = "Captions appear here · drag to move · right-click for choices"
EDGE = 10  # px at the border that resize instead of move
MARGIN = 16
LINE_GAP = 2  # between a turn's original and its translation
TURN_GAP = 10  # between turns
SAVE_DELAY_MS = 400


class PlacesStore(Protocol):
    """Where the overlay keeps its places and styles (the window's QSettings, a dict in tests)."""

    def overlay_places(self) -> str: ...

    def set_overlay_places(self, text: str) -> None: ...


def on_wayland() -> bool:
    return QGuiApplication.platformName().startswith("wayland")


class CaptionOverlay(QWidget):
    closed = Signal()  # the user closed the overlay (its menu)
    click_through_changed = Signal(bool)  # clicks now pass through (True) or reach it again

    def __init__(self, model: TranscriptModel, store: PlacesStore) -> None:
        super().__init__(None)  # a top-level window of its own, never inside the main window
        self.setWindowTitle("Live Translate — captions")
        self.setWindowFlags(OVERLAY_FLAGS)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setMouseTracking(True)
        self.setMinimumSize(240, 80)
        self.model = model
        self._store = store
        self.places = OverlayPlaces.from_json(store.overlay_places())
        self.style_ = OverlayStyle()
        self._placed = False
        self._drag: tuple[QPoint, QRect, Qt.Edge] | None = None
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save)
        for signal in (model.rowsInserted, model.rowsRemoved, model.dataChanged, model.modelReset):
            signal.connect(self._model_changed)

    # --- what it shows ------------------------------------------------------------------------

    @property
    def language(self) -> str | None:
        """The translation shown: the chosen one if the session has it, else its first target."""
        languages = self.model.languages
        if self.style_.language in languages:
            return self.style_.language
        return languages[0] if languages else None

    def interim(self) -> str:
        last = self.model.rowCount() - 1
        if last >= 0 and self.model.is_pending_row(last):
            return str(self.model.index(last, ORIGINAL_COLUMN).data() or "")
        return ""

    def lines(self) -> list[CaptionLine]:
        style = self.style_
        return caption_lines(self.model.turns()[-style.previous_turns:], self.interim(), style.show,
                             self.language, style.previous_turns)

    def text(self) -> str:
        """The lines as plain text, oldest first (what a reader sees, for tests and copying)."""
        return "\n".join(line.text for line in self.lines())

    @Slot()
    def _model_changed(self) -> None:
        self.update()

    # --- choices ------------------------------------------------------------------------------

    def set_style(self, style: OverlayStyle) -> None:
        self.style_ = style.clamped()
        self.update()
        self._save_timer.start()

    def change(self, **changes: object) -> None:
        data = self.style_.to_dict()
        data.update(changes)
        self.set_style(OverlayStyle.from_dict(data))

    @property
    def click_through(self) -> bool:
        return bool(self.windowFlags() & Qt.WindowType.WindowTransparentForInput)

    def set_click_through(self, on: bool) -> None:
        if on == self.click_through:
            return
        visible = self.isVisible()
        self.setWindowFlag(Qt.WindowType.WindowTransparentForInput, on)  # hides the window: show it again
        if visible:
            self.show()
        self.click_through_changed.emit(on)

    # --- place, per screen --------------------------------------------------------------------

    def place_on_screen(self) -> None:
        """Put the overlay where it was last, on the screen it was on if that is still connected
        (else on the main screen, where that screen's own place is used)."""
        screens = {s.name(): s for s in QGuiApplication.screens()}
        primary = QGuiApplication.primaryScreen()
        name = self.places.last_screen if self.places.last_screen in screens else primary.name()
        screen = screens.get(name, primary)
        place, style = self.places.for_screen(name)
        self.style_ = style
        area = screen.availableGeometry()
        rect = QRect(area.x() + place.x, area.y() + place.y, place.width, place.height) if place else QRect()
        if not place or not area.intersects(rect):
            width = max(self.minimumWidth(), int(area.width() * 0.7))
            height = max(self.minimumHeight(), int(area.height() * 0.22))
            rect = QRect(area.x() + (area.width() - width) // 2, area.bottom() - height - area.height() // 12,
                         width, height)
        if on_wayland():
            self.resize(rect.size())  # the desktop places it; only the size is the app's to choose
        else:
            self.setGeometry(rect)
        self._placed = True

    def current_screen(self) -> QScreen:
        """The screen under the overlay's centre. Looked up in the application's list rather
        than with ``QWidget.screen()``: PySide ties the wrapper that call returns to the widget,
        and when the widget's wrapper went, it took the application's QScreen with it."""
        centre = self.geometry().center()
        for screen in QGuiApplication.screens():
            if screen.geometry().contains(centre):
                return screen
        return QGuiApplication.primaryScreen()

    def save(self) -> None:
        screen = self.current_screen()
        area = screen.availableGeometry()
        geometry = self.geometry()
        x, y = (0, 0) if on_wayland() else (geometry.x() - area.x(), geometry.y() - area.y())
        self.places.remember(screen.name(), Place(x, y, geometry.width(), geometry.height()), self.style_)
        self._store.set_overlay_places(self.places.to_json())

    def showEvent(self, event: QShowEvent) -> None:
        if not self._placed:
            self.place_on_screen()
        super().showEvent(event)

    def moveEvent(self, event: QMoveEvent) -> None:
        super().moveEvent(event)
        if self._placed:
            self._save_timer.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._placed:
            self._save_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        if self._placed:
            self._save_timer.stop()
            self.save()
        super().hideEvent(event)

    # --- painting -----------------------------------------------------------------------------

    def _font(self, role: LineRole) -> QFont:
        style = self.style_
        font = QFont(style.font_family) if style.font_family else QFont(self.font())
        size = style.font_size * (0.7 if role in (LineRole.SECONDARY, LineRole.LIVE) else 1.0)
        font.setPointSizeF(max(8.0, size))
        font.setBold(style.bold and role is not LineRole.SECONDARY)
        font.setItalic(role is LineRole.LIVE)
        return font

    def _colour(self, role: LineRole) -> QColor:
        colour = QColor(self.style_.text_color)
        if role in (LineRole.SECONDARY, LineRole.LIVE):
            colour.setAlphaF(0.85)
        elif role is LineRole.PENDING:
            colour.setAlphaF(0.55)
        return colour

    def layout_lines(self) -> list[tuple[CaptionLine, QPainterPath, float]]:
        """The lines that fit, each with its wrapped text and its top; the newest turn at the
        bottom, and an older turn that does not fit drops off the top whole, never half of it."""
        lines = self.lines() or [CaptionLine(HINT_TEXT, LineRole.SECONDARY)]
        width = self.width() - 2 * MARGIN
        bottom = float(self.height() - MARGIN)
        placed: list[tuple[CaptionLine, QPainterPath, float]] = []
        for group in reversed(_groups(lines)):
            laid = [(line, *_text_path(line.text, self._font(line.role), width)) for line in group]
            height = sum(h for _, _, h in laid) + LINE_GAP * (len(laid) - 1)
            if bottom - height < MARGIN and placed:
                break
            top = bottom - height
            block = []
            for line, path, line_height in laid:
                block.append((line, path, top))
                top += line_height + LINE_GAP
            placed = block + placed
            bottom -= height + TURN_GAP
        return placed

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        background = QColor(0, 0, 0)
        # Never fully invisible: a window of nothing could not be found, grabbed or right-clicked.
        background.setAlphaF(max(self.style_.background_opacity, 1) / 100)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(self.rect(), 12, 12)
        outline = QPen(QColor(self.style_.outline_color), self.style_.outline_width * 2)
        outline.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        for line, path, top in self.layout_lines():
            painter.save()
            painter.translate(MARGIN, top)
            if self.style_.outline_width:
                painter.strokePath(path, outline)
            painter.fillPath(path, self._colour(line.role))
            painter.restore()
        painter.end()

    # --- mouse --------------------------------------------------------------------------------

    def _edges(self, pos: QPoint) -> Qt.Edge:
        edges = Qt.Edge(0)
        if pos.x() < EDGE:
            edges |= Qt.Edge.LeftEdge
        elif pos.x() > self.width() - EDGE:
            edges |= Qt.Edge.RightEdge
        if pos.y() < EDGE:
            edges |= Qt.Edge.TopEdge
        elif pos.y() > self.height() - EDGE:
            edges |= Qt.Edge.BottomEdge
        return edges

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        edges = self._edges(event.position().toPoint())
        handle = self.windowHandle()
        # The window system moves and resizes best (and on Wayland it is the only way); where it
        # cannot (offscreen, some X11 window managers), the widget does it itself.
        started = handle is not None and (handle.startSystemResize(edges) if edges else handle.startSystemMove())
        if not started:
            self._drag = (event.globalPosition().toPoint(), self.geometry(), edges)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            self._set_cursor(self._edges(event.position().toPoint()))
            return
        start, geometry, edges = self._drag
        delta = event.globalPosition().toPoint() - start
        if not edges:
            self.move(geometry.topLeft() + delta)
            return
        rect = QRect(geometry)
        if edges & Qt.Edge.LeftEdge:
            rect.setLeft(min(rect.left() + delta.x(), rect.right() - self.minimumWidth()))
        if edges & Qt.Edge.RightEdge:
            rect.setRight(max(rect.right() + delta.x(), rect.left() + self.minimumWidth()))
        if edges & Qt.Edge.TopEdge:
            rect.setTop(min(rect.top() + delta.y(), rect.bottom() - self.minimumHeight()))
        if edges & Qt.Edge.BottomEdge:
            rect.setBottom(max(rect.bottom() + delta.y(), rect.top() + self.minimumHeight()))
        self.setGeometry(rect)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        super().mouseReleaseEvent(event)

    def _set_cursor(self, edges: Qt.Edge) -> None:
        diagonal = {Qt.Edge.LeftEdge | Qt.Edge.TopEdge, Qt.Edge.RightEdge | Qt.Edge.BottomEdge}
        if edges in diagonal:
            shape = Qt.CursorShape.SizeFDiagCursor
        elif edges & (Qt.Edge.LeftEdge | Qt.Edge.RightEdge) and edges & (Qt.Edge.TopEdge | Qt.Edge.BottomEdge):
            shape = Qt.CursorShape.SizeBDiagCursor
        elif edges & (Qt.Edge.LeftEdge | Qt.Edge.RightEdge):
            shape = Qt.CursorShape.SizeHorCursor
        elif edges:
            shape = Qt.CursorShape.SizeVerCursor
        else:
            shape = Qt.CursorShape.SizeAllCursor
        self.setCursor(QCursor(shape))

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            step = 2 if event.angleDelta().y() > 0 else -2
            self.change(font_size=self.style_.font_size + step)
        else:
            super().wheelEvent(event)

    # --- the menu (right-click) ---------------------------------------------------------------

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.build_menu().exec(event.globalPos())

    def build_menu(self) -> QMenu:
        menu = QMenu(self)
        style = self.style_
        show = menu.addMenu("Show")
        self._choices(show, [("Original", CaptionShow.ORIGINAL), ("Translation", CaptionShow.TRANSLATION),
                             ("Original and translation", CaptionShow.BOTH)], style.show, "show")
        languages = menu.addMenu("Translation")
        self._choices(languages, [(language_name(c), c) for c in self.model.languages], self.language, "language")
        languages.setEnabled(bool(self.model.languages))
        turns = menu.addMenu("Turns shown")
        self._choices(turns, [("The last one", 1), ("The last two", 2), ("The last three", 3)],
                      style.previous_turns, "previous_turns")
        menu.addSeparator()
        menu.addAction("Larger text").triggered.connect(self._larger)
        menu.addAction("Smaller text").triggered.connect(self._smaller)
        menu.addAction("Font…").triggered.connect(self._pick_font)
        menu.addAction("Text colour…").triggered.connect(self._pick_text_colour)
        menu.addAction("Outline colour…").triggered.connect(self._pick_outline_colour)
        outline = menu.addMenu("Outline")
        self._choices(outline, [("None", 0), ("Thin", 1), ("Medium", 2), ("Thick", 4)], style.outline_width,
                      "outline_width")
        background = menu.addMenu("Background")
        self._choices(background, [(f"{p} %", p) for p in (0, 25, 45, 70, 100)], style.background_opacity,
                      "background_opacity")
        menu.addSeparator()
        menu.addAction("Let clicks pass through (Ctrl+Shift+L in the main window brings them back)").triggered.connect(
            self._pass_clicks)
        if on_wayland():
            menu.addAction("On Wayland: why it may not stay on top…").triggered.connect(self._explain_wayland)
        menu.addAction("Close the overlay").triggered.connect(self.close_overlay)
        return menu

    def _choices(self, menu: QMenu, options: list[tuple[str, object]], current: object, field: str) -> None:
        group = QActionGroup(menu)
        for label, value in options:
            action = QAction(label, menu)
            action.setCheckable(True)
            action.setChecked(value == current)
            action.setData((field, value))
            group.addAction(action)
            menu.addAction(action)
        group.triggered.connect(self._chosen)

    @Slot(QAction)
    def _chosen(self, action: QAction) -> None:
        field, value = action.data()
        self.change(**{field: value})

    @Slot()
    def _larger(self) -> None:
        self.change(font_size=self.style_.font_size + 4)

    @Slot()
    def _smaller(self) -> None:
        self.change(font_size=self.style_.font_size - 4)

    @Slot()
    def _pass_clicks(self) -> None:
        self.set_click_through(True)

    @Slot()
    def _explain_wayland(self) -> None:
        QMessageBox.information(self, "Caption overlay on Wayland", WAYLAND_NOTE)

    @Slot()
    def _pick_text_colour(self) -> None:
        self._pick_colour("text_color")

    @Slot()
    def _pick_outline_colour(self) -> None:
        self._pick_colour("outline_color")

    @Slot()
    def _pick_font(self) -> None:
        ok, font = QFontDialog.getFont(self._font(LineRole.TRANSLATION), self, "Caption font")
        if ok:
            size = round(font.pointSizeF()) if font.pointSizeF() > 0 else self.style_.font_size
            self.change(font_family=font.family(), font_size=max(FONT_SIZE_RANGE[0], size), bold=font.bold())

    def _pick_colour(self, field: str) -> None:
        colour = QColorDialog.getColor(QColor(str(getattr(self.style_, field))), self, "Caption colour")
        if colour.isValid():
            self.change(**{field: colour.name()})

    @Slot()
    def close_overlay(self) -> None:
        self.hide()
        self.closed.emit()


def _groups(lines: list[CaptionLine]) -> list[list[CaptionLine]]:
    """Consecutive lines of the same turn, together (oldest first)."""
    groups: list[list[CaptionLine]] = []
    for line in lines:
        if groups and groups[-1][0].group == line.group:
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _text_path(text: str, font: QFont, width: int) -> tuple[QPainterPath, float]:
    """``text`` wrapped to ``width`` and centred, as a path from (0, 0); and its height."""
    metrics = QFontMetricsF(font)
    layout = QTextLayout(text, font)
    layout.beginLayout()
    lines = []
    y = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        line.setPosition(QPointF(0, y))
        y += metrics.lineSpacing()
        lines.append((line.textStart(), line.textLength(), line.position().y()))
    layout.endLayout()
    path = QPainterPath()
    for start, length, top in lines:
        segment = text[start:start + length].rstrip()
        left = max(0.0, (width - metrics.horizontalAdvance(segment)) / 2)
        path.addText(QPointF(left, top + metrics.ascent()), font, segment)
    return path, y
