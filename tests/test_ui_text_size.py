"""The transcript's text size changed live (keys, Ctrl+wheel, Settings): every cell still shows all of
its text, measured against the new font, without a restart."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QFontMetrics, QWheelEvent
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
from ui_support import build_window, done, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.settings import DEFAULT_FONT_SIZE, Settings
from app.ui.transcript_model import TIME_COLUMN
from app.ui.transcript_view import TranscriptDelegate

pytestmark = pytest.mark.timeout(60)

TALK = [("Good morning everyone, and thanks for joining the weekly product sync.",
         "Buenos días a todos y gracias por unirse a la reunión semanal de producto.",
         "Guten Morgen zusammen und danke, dass ihr beim wöchentlichen Produkt-Sync dabei seid."),
        ("Today we'll look at the release schedule.", "Hoy revisaremos el calendario.", "Heute der Plan.")]


def cells_that_do_not_fit(view) -> list[str]:  # type: ignore[no-untyped-def]
    """Every cell whose text needs more room, in the view's current font, than its cell has."""
    model, delegate = view.model(), view.itemDelegate()
    pad_x, pad_y = TranscriptDelegate.PAD_X, TranscriptDelegate.PAD_Y
    short = (TIME_COLUMN, model.delay_column)
    bad = []
    for row in range(model.rowCount()):
        for col in range(model.columnCount()):
            index = model.index(row, col)
            text = str(index.data() or "")
            if not text:
                continue
            option = QStyleOptionViewItem()
            option.font = view.font()
            option.rect = QRect(0, 0, view.columnWidth(col), view.rowHeight(row))
            delegate.initStyleOption(option, index)
            metrics = QFontMetrics(option.font)
            where = f"row {row} column {col} ({text[:20]!r})"
            if col in short and metrics.horizontalAdvance(text) + 2 * pad_x > view.columnWidth(col):
                bad.append(f"{where}: {metrics.horizontalAdvance(text)} px of text in {view.columnWidth(col)} px")
            wrapped = metrics.boundingRect(QRect(0, 0, view.columnWidth(col) - 2 * pad_x, 100_000),
                                           int(Qt.TextFlag.TextWordWrap), text)
            if wrapped.height() + 2 * pad_y > view.rowHeight(row):
                bad.append(f"{where}: {wrapped.height()} px of wrapped text in a {view.rowHeight(row)} px row")
    return bad


def transcript_window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es", "de")))
    w = parts.window
    w.resize(1180, 720)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    session = parts.factory.last
    for i, (original, spanish, german) in enumerate(TALK):
        session.final(make_turn(i, original, start_ms=i * 65_000 + 400))
        session.translation(i, done("es", spanish, 900))
        session.translation(i, done("de", german, 12_300))
    qtbot.waitUntil(lambda: w.model.index(1, 3).data() == "Heute der Plan.", timeout=5000)
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()
    w.view.setFocus()
    qtbot.waitUntil(w.view.hasFocus, timeout=2000)
    return parts


def test_larger_text_relays_out_every_cell_at_once(qtbot, tmp_path) -> None:
    parts = transcript_window(qtbot, tmp_path)
    w = parts.window
    assert cells_that_do_not_fit(w.view) == []
    for _ in range(9):
        qtbot.keyClick(w.view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)  # Ctrl+=
    assert w.settings.font_size == DEFAULT_FONT_SIZE + 9 and w.view.font().pointSize() == DEFAULT_FONT_SIZE + 9
    assert cells_that_do_not_fit(w.view) == [], "no waiting for a timer, no restart"
    qtbot.keyClick(w.view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)  # Ctrl+0: the normal size
    assert w.settings.font_size == DEFAULT_FONT_SIZE and parts.settings_store.load().font_size == DEFAULT_FONT_SIZE
    assert cells_that_do_not_fit(w.view) == []
    for _ in range(4):
        qtbot.keyClick(w.view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert w.settings.font_size == DEFAULT_FONT_SIZE - 4
    assert cells_that_do_not_fit(w.view) == []


def test_ctrl_wheel_and_the_settings_dialog_change_the_size_the_same_way(qtbot, tmp_path) -> None:
    parts = transcript_window(qtbot, tmp_path)
    w = parts.window
    viewport = w.view.viewport()
    for _ in range(6):
        wheel = QWheelEvent(QPointF(50, 50), QPointF(viewport.mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
                            QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(viewport, wheel)
    assert w.settings.font_size == DEFAULT_FONT_SIZE + 6
    assert cells_that_do_not_fit(w.view) == []
    w.apply_settings(w.settings.with_changes(font_size=30))
    assert w.view.font().pointSize() == 30 and cells_that_do_not_fit(w.view) == []
