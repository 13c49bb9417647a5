"""Small windows: the controls take two rows below the width one row needs, nothing overlaps or is cut
at 640 px (or at the minimum size), and the window cannot be made smaller than that minimum."""
from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget
from ui_support import build_window, done, make_turn, qt_hygiene, save_screenshot  # noqa: F401 - autouse fixture

from app.core.settings import Settings
from app.ui.main_window import MIN_HEIGHT, MIN_WIDTH

pytestmark = pytest.mark.timeout(60)


def in_window(widget: QWidget) -> QRect:
    return QRect(widget.mapTo(widget.window(), widget.rect().topLeft()), widget.size())


def overlaps_and_cuts(window) -> list[str]:  # type: ignore[no-untyped-def]
    c = window.controls
    parts: dict[str, QWidget] = {
        "Record": c.record_button, "level meter": c.meter, "microphone": c.device, "spoken language": c.source,
        "speech model": c.model, "translate to": c.targets, "Export": c.export_button, "Settings": c.settings_button,
        **{f"caption {f.caption.text()}": f.caption for f in c.fields},
        "state": window.status.state_label, "turns": window.status.turns_label, "clock": window.status.clock_label,
    }
    problems = []
    bounds = window.rect()
    for name, widget in parts.items():
        rect = in_window(widget)
        if not widget.isVisible() or rect.isEmpty():
            problems.append(f"{name} is not shown")
        elif not bounds.contains(rect):
            problems.append(f"{name} {rect} reaches out of the window {bounds}")
        if isinstance(widget, QAbstractButton) and widget is not c.targets and widget.width() < widget.sizeHint().width():
            problems.append(f"{name} is {widget.width()} px wide, its text needs {widget.sizeHint().width()}")
        if isinstance(widget, QLabel) and widget.fontMetrics().horizontalAdvance(widget.text()) > widget.width() \
                and "<" not in widget.text():
            problems.append(f"{name} cuts its text {widget.text()!r}")
        if widget in (c.device, c.source, c.model, c.targets) and widget.width() < 90:
            problems.append(f"{name} is only {widget.width()} px wide")
    for (a, wa), (b, wb) in itertools.combinations(parts.items(), 2):
        if in_window(wa).intersects(in_window(wb)):
            problems.append(f"{a} {in_window(wa)} overlaps {b} {in_window(wb)}")
    return problems


def settled(window) -> bool:  # type: ignore[no-untyped-def]
    c = window.controls
    return c.width() == window.width() and c.height() == c.sizeHint().height()


def shown(qtbot, tmp_path, width: int, height: int):  # type: ignore[no-untyped-def]
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es", "de")))
    w = parts.window
    w.resize(width, height)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: settled(w), timeout=3000)
    return parts


def test_at_640_px_the_controls_take_two_rows_and_nothing_overlaps(qtbot, tmp_path) -> None:
    parts = shown(qtbot, tmp_path, 640, 600)
    w = parts.window
    assert w.width() == 640 and w.controls.rows == 2
    assert overlaps_and_cuts(w) == []
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    parts.factory.last.final(make_turn(0, "Good morning everyone, and thanks for joining the weekly product sync."))
    parts.factory.last.translation(0, done("de", "Guten Morgen zusammen und danke, dass ihr dabei seid."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    assert overlaps_and_cuts(w) == [], "nor while recording (Stop, the clock)"
    save_screenshot(w, "window-640.png")
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()


def test_a_wide_window_keeps_one_row_and_the_minimum_size_still_fits_everything(qtbot, tmp_path) -> None:
    parts = shown(qtbot, tmp_path, 1180, 720)
    w = parts.window
    assert w.controls.rows == 1 and overlaps_and_cuts(w) == []
    w.resize(300, 200)  # smaller than allowed: the window stops at its minimum
    qtbot.waitUntil(lambda: settled(w), timeout=3000)
    assert (w.width(), w.height()) == (MIN_WIDTH, MIN_HEIGHT)
    assert w.controls.rows == 2 and overlaps_and_cuts(w) == []
    assert w.view.height() > 100, "the transcript keeps room to read"
    w.resize(1180, 720)
    qtbot.waitUntil(lambda: w.controls.rows == 1 and settled(w), timeout=3000)
    assert overlaps_and_cuts(w) == []
