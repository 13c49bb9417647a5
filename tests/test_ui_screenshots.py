"""Screenshots of the window as a person sees it: idle, first run, mid-session with two languages (light
and dark). Saved to tests/artifacts/ for review; the light mid-session one is also the README's
``resources/screenshot.png`` when LIVE_TRANSLATE_UPDATE_README_SHOT=1 is set. The error screenshot comes from test_ui_pipeline (a real 1008)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import QApplication
from ui_support import build_window, done, make_turn, qt_hygiene, save_screenshot  # noqa: F401

from app.core.settings import Settings
from app.pipeline.events import SessionState

pytestmark = pytest.mark.timeout(60)

README_SHOT = Path(__file__).parent.parent / "resources" / "screenshot.png"
SIZE = (1180, 720)

TALK = [
    ("Good morning everyone, and thanks for joining the weekly product sync.",
     "Buenos días a todos y gracias por unirse a la reunión semanal de producto.",
     "Guten Morgen zusammen und danke, dass ihr beim wöchentlichen Produkt-Sync dabei seid."),
    ("Today we'll look at the release schedule and the two open customer issues.",
     "Hoy revisaremos el calendario de lanzamientos y los dos problemas abiertos de clientes.",
     "Heute schauen wir uns den Release-Plan und die beiden offenen Kundenprobleme an."),
    ("The mobile release moves to Thursday because the payment tests need one more day.",
     "El lanzamiento móvil pasa al jueves porque las pruebas de pago necesitan un día más.",
     "Das mobile Release verschiebt sich auf Donnerstag, weil die Zahlungstests einen Tag länger brauchen."),
    ("Does anyone see a problem with that?",
     "¿Alguien ve algún problema con eso?",
     None),
]


def is_dark(image: QImage) -> bool:
    return QColor(image.pixel(image.width() // 2, image.height() // 2)).lightness() < 100


def painted(path: Path) -> QImage:
    image = QImage(str(path))
    assert (image.width(), image.height()) == SIZE
    return image


def recording_window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es", "de")))
    w = parts.window
    w.resize(*SIZE)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    session = parts.factory.last
    for index, (original, spanish, german) in enumerate(TALK):
        session.final(make_turn(index, original, start_ms=index * 5200 + 400))
        session.translation(index, done("es", spanish, 700 + 90 * index))
        if german:
            session.translation(index, done("de", german, 900 + 120 * index))
    session.interim("I think Thursday works for the support team as long as")
    qtbot.waitUntil(lambda: w.model.rowCount() == len(TALK) + 1, timeout=5000)
    qtbot.waitUntil(lambda: w.status.state == SessionState.LIVE.value, timeout=5000)
    qtbot.waitUntil(lambda: w.controls.meter.fraction > 0.3, timeout=5000)
    w.view._resize_all_rows()
    w.status._started -= 21.4  # type: ignore[operator]  # a clock that matches the 00:16 turn on screen
    w.status._update_clock()
    return parts


def test_screenshot_idle_and_first_run(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es", "de")))
    parts.window.resize(*SIZE)
    parts.window.show()
    qtbot.waitExposed(parts.window)
    painted(save_screenshot(parts.window, "window-idle.png"))
    first = build_window(qtbot, tmp_path / "first", key=None)
    first.window.resize(*SIZE)
    first.window.show()
    qtbot.waitExposed(first.window)
    assert first.window.key_banner.isVisible()
    painted(save_screenshot(first.window, "window-first-run.png"))


def test_screenshot_mid_session_with_two_languages(qtbot, tmp_path) -> None:
    parts = recording_window(qtbot, tmp_path)
    w = parts.window
    assert w.model.index(3, 3).data() == "translating…"
    path = save_screenshot(w, "window-recording.png")
    assert not is_dark(painted(path))
    if os.environ.get("LIVE_TRANSLATE_UPDATE_README_SHOT") == "1":  # a deliberate refresh, not every run
        shutil.copyfile(path, README_SHOT)
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()


def test_screenshot_mid_session_in_a_dark_theme(qtbot, tmp_path) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    saved = QGuiApplication.palette()
    dark = QPalette()
    for role, color in ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#e8e8e8"),
                        (QPalette.ColorRole.Base, "#1f1f1f"), (QPalette.ColorRole.AlternateBase, "#272727"),
                        (QPalette.ColorRole.Text, "#e8e8e8"), (QPalette.ColorRole.Button, "#3a3a3a"),
                        (QPalette.ColorRole.ButtonText, "#e8e8e8"), (QPalette.ColorRole.Highlight, "#3d7bd9"),
                        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.PlaceholderText, "#8c8c8c"),
                        (QPalette.ColorRole.Mid, "#4a4a4a"), (QPalette.ColorRole.ToolTipBase, "#3a3a3a")):
        dark.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        dark.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    app.setPalette(dark)
    try:
        parts = recording_window(qtbot, tmp_path)
        path = save_screenshot(parts.window, "window-recording-dark.png")
        assert is_dark(painted(path))
        with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
            parts.window.toggle_recording()
    finally:
        app.setPalette(saved)
