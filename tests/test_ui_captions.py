"""The caption overlay and the Share window, offscreen, on the main window and a scripted session.

The overlay must be a second view of the window's own transcript model (its text follows the
session's signals), a frameless window above the others, movable and resizable, remembering its
place, size and style per screen, with clicks that can pass through and a way back from the main
window. Sharing from the window serves the caption page from the app's one event log, shows the
address, its QR code and the number of viewers, and ends every viewer's stream when it stops.
"""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QApplication
from support.sse import EventReader, close_all
from ui_support import FakeSessionFactory, build_window, done, make_turn, qt_hygiene, save_screenshot  # noqa: F401

from app.core.captions import CaptionShow, OverlayPlaces
from app.core.event_log import EventKind, EventLog
from app.core.settings import Settings
from app.ui.caption_overlay import OVERLAY_FLAGS
from app.ui.share_window import NETWORK_NOTE
from app.workers.caption_sharing import CaptionSharing, Scope, feeding_captions

pytestmark = pytest.mark.timeout(60)

TWO = Settings(targets=("es", "de"))


@pytest.fixture(autouse=True)
def readers_closed():  # type: ignore[no-untyped-def]
    yield
    close_all()


def start(qtbot, parts):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        parts.window.toggle_recording()


def test_the_overlay_is_a_frameless_window_above_the_others_toggled_from_the_main_window(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    captions = parts.window.captions
    overlay = captions.overlay
    flags = overlay.windowFlags()
    for flag in (Qt.WindowType.FramelessWindowHint, Qt.WindowType.WindowStaysOnTopHint, Qt.WindowType.Tool):
        assert flags & flag, flag
    assert flags & OVERLAY_FLAGS == OVERLAY_FLAGS
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
    assert overlay.parent() is None, "not tied to the main window: minimising it must not take the captions along"
    assert not overlay.isVisible()
    assert captions.overlay_action.shortcut().toString() == "Ctrl+Shift+O"
    assert captions.overlay_action in parts.window.view_menu.actions()
    assert captions.overlay_button.defaultAction() is captions.overlay_action
    captions.overlay_action.trigger()
    assert overlay.isVisible() and captions.overlay_button.isChecked()
    captions.overlay_action.trigger()
    assert not overlay.isVisible()


def test_the_overlay_reads_the_windows_own_transcript_live_line_then_turn_then_translation(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    overlay = parts.window.captions.overlay
    assert overlay.model is parts.window.model, "one transcript model, two views"
    parts.window.show()
    parts.window.captions.set_overlay_visible(True)
    start(qtbot, parts)
    session = parts.factory.last
    session.interim("Good morning every")
    qtbot.waitUntil(lambda: overlay.text() == "Good morning every", timeout=3000)
    session.final(make_turn(0, "Good morning everyone."))
    qtbot.waitUntil(lambda: overlay.text() == "Good morning everyone.\n…", timeout=3000)
    session.translation(0, done("de", "Guten Morgen allerseits."))
    session.translation(0, done("es", "Buenos días a todos."))
    qtbot.waitUntil(lambda: overlay.text() == "Good morning everyone.\nBuenos días a todos.", timeout=3000)
    overlay.change(language="de", show=CaptionShow.TRANSLATION.value)
    assert overlay.text() == "Guten Morgen allerseits."
    session.interim("Let us")
    session.final(make_turn(1, "Let us begin."))
    session.translation(1, done("de", "Fangen wir an."))
    qtbot.waitUntil(lambda: overlay.text() == "Guten Morgen allerseits.\nFangen wir an.", timeout=3000)
    overlay.change(previous_turns=1, show=CaptionShow.ORIGINAL.value)
    assert overlay.text() == "Let us begin."
    overlay.change(show=CaptionShow.BOTH.value, previous_turns=2, font_size=34)
    overlay.resize(900, 260)
    save_screenshot(overlay, "caption-overlay.png")
    image = overlay.grab().toImage()
    assert image.pixelColor(450, 130).alpha() > 0, "the see-through background is still there to grab"


def test_an_older_turn_that_does_not_fit_drops_off_whole(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    overlay, model = parts.window.captions.overlay, parts.window.model
    for index, (text, spanish) in enumerate([("A first, rather long sentence of the talk.", "Una primera frase."),
                                             ("The second one.", "La segunda.")]):
        turn = make_turn(index, text)
        model.add_turn(turn)
        model.set_translation(index, done("es", spanish))
    overlay.show()
    overlay.resize(700, 400)
    shown = [(line.text, line.group) for line, _, _ in overlay.layout_lines()]
    assert [t for t, _ in shown] == ["A first, rather long sentence of the talk.", "Una primera frase.",
                                     "The second one.", "La segunda."]
    overlay.resize(700, 150)  # room for the newest turn and a bit: not for the older one whole
    shown = [(line.text, line.group) for line, _, _ in overlay.layout_lines()]
    assert shown == [("The second one.", 1), ("La segunda.", 1)]
    tops = [top for _, _, top in overlay.layout_lines()]
    assert tops == sorted(tops) and tops[0] >= 0


def test_the_overlay_remembers_its_place_size_and_style_for_the_screen_it_is_on(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    overlay = parts.window.captions.overlay
    parts.window.captions.set_overlay_visible(True)
    area = overlay.current_screen().availableGeometry()
    wanted = QRect(area.x() + 40, area.y() + 300, 700, 200)
    overlay.setGeometry(wanted)
    overlay.change(font_size=44, show=CaptionShow.TRANSLATION.value, language="de", background_opacity=70)
    parts.window.captions.set_overlay_visible(False)  # hiding saves at once
    stored = OverlayPlaces.from_json(parts.settings_store.overlay_places())
    screen = overlay.current_screen().name()
    assert stored.last_screen == screen
    place, style = stored.for_screen(screen)
    assert (place.x, place.y, place.width, place.height) == (40, 300, 700, 200)  # type: ignore[union-attr]
    assert (style.font_size, style.show, style.language, style.background_opacity) == (44, CaptionShow.TRANSLATION,
                                                                                         "de", 70)
    parts.settings_store.qsettings.sync()
    assert "overlay" in parts.ini.read_text()

    again = build_window(qtbot, tmp_path / "again", settings=TWO)
    again.settings_store.set_overlay_places(parts.settings_store.overlay_places())
    reopened = type(overlay)(again.window.model, again.settings_store)
    qtbot.addWidget(reopened)
    reopened.show()
    assert reopened.geometry() == wanted
    assert reopened.style_ == style


def test_a_new_overlay_sits_low_and_wide_on_the_main_screen(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    overlay = parts.window.captions.overlay
    overlay.show()
    area = QGuiApplication.primaryScreen().availableGeometry()
    geometry = overlay.geometry()
    assert area.contains(geometry) and geometry.width() >= area.width() * 0.6
    assert geometry.center().y() > area.center().y(), "in the lower part, where subtitles are"


def test_clicks_can_pass_through_and_the_main_window_brings_them_back(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    captions, overlay = parts.window.captions, parts.window.captions.overlay
    parts.window.show()
    captions.set_overlay_visible(True)
    through = next(a for a in overlay.build_menu().actions() if a.text().startswith("Let clicks pass through"))
    through.trigger()
    assert overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert overlay.isVisible() and overlay.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert captions.click_through_action.isChecked()
    assert captions.click_through_action.shortcut().toString() == "Ctrl+Shift+L"
    parts.window.activateWindow()
    qtbot.waitActive(parts.window)
    parts.window.view.setFocus()  # the first key after activation goes astray offscreen otherwise
    qtbot.waitUntil(parts.window.view.hasFocus, timeout=2000)
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(parts.window.view, Qt.Key.Key_L, keys)
    assert not overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert overlay.isVisible() and not captions.click_through_action.isChecked()
    qtbot.keyClick(parts.window.view, Qt.Key.Key_O, keys)  # and Ctrl+Shift+O puts the overlay away
    assert not overlay.isVisible() and not captions.overlay_action.isChecked()


def _mouse(overlay, kind, local: QPoint, button=Qt.MouseButton.LeftButton) -> None:  # type: ignore[no-untyped-def]
    global_pos = QPointF(overlay.mapToGlobal(local))
    buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, QPointF(local), global_pos, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(overlay, event)


def test_dragging_moves_the_overlay_and_its_corner_resizes_it(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    overlay = parts.window.captions.overlay
    overlay.show()
    overlay.setGeometry(QRect(100, 100, 600, 200))
    before = overlay.geometry()
    _mouse(overlay, QMouseEvent.Type.MouseButtonPress, QPoint(300, 100))
    overlay.move(overlay.pos())  # nothing moves on a press alone
    _mouse(overlay, QMouseEvent.Type.MouseMove, QPoint(340, 150))
    _mouse(overlay, QMouseEvent.Type.MouseButtonRelease, QPoint(340, 150))
    assert overlay.geometry() == before.translated(40, 50)
    corner = QPoint(overlay.width() - 3, overlay.height() - 3)
    _mouse(overlay, QMouseEvent.Type.MouseButtonPress, corner)
    _mouse(overlay, QMouseEvent.Type.MouseMove, corner + QPoint(100, 30))
    _mouse(overlay, QMouseEvent.Type.MouseButtonRelease, corner + QPoint(100, 30))
    assert overlay.size().width() == 700 and overlay.size().height() == 230


def test_sharing_from_the_window_shows_the_address_its_qr_code_and_who_follows(qtbot, tmp_path) -> None:
    log = EventLog()
    parts = build_window(qtbot, tmp_path, settings=TWO)
    sharing = CaptionSharing(log, port=0)
    captions = parts.window.captions
    captions.set_sharing(sharing)
    window = captions.share_window
    assert captions.share_button.text() == "Share captions" and not captions.stop_share_action.isEnabled()
    with qtbot.waitSignal(sharing.sharing_changed, timeout=3000):
        captions.share_network_action.trigger()
    info = sharing.info
    assert info is not None and info.scope is Scope.NETWORK
    assert window.isVisible() and window.address.text() == info.url and sharing.server is not None
    assert sharing.server.token in info.url and "?layout=obs" in window.obs_address.text()
    assert window.qr.text == info.url and window.qr.modules >= 21 + 8 and window.qr.isVisible()
    assert window.explanation.text() == NETWORK_NOTE
    viewer = EventReader(info.local_url + "events")
    assert viewer.next().kind == "hello"  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: window.viewers.text() == "1 person is following.", timeout=5000)
    assert captions.share_button.text() == "Sharing · 1 following"
    save_screenshot(window, "share-window.png")
    window.copy_address()
    assert QGuiApplication.clipboard().text() == info.url

    # This computer only: a new address (the network one is no more), and no QR code to scan.
    with qtbot.waitSignal(sharing.sharing_changed, timeout=3000):
        window.computer_button.click()
    assert viewer.until("closed")[-1].data["message"].startswith("Sharing has stopped")
    local = sharing.info
    assert local is not None and local.scope is Scope.THIS_COMPUTER and local.url != info.url
    assert not window.qr.isVisible()

    with qtbot.waitSignal(sharing.sharing_changed, timeout=3000):
        captions.stop_share_action.trigger()
    assert sharing.info is None and captions.share_button.text() == "Share captions"
    assert sharing.shutdown(3000)


def test_every_session_in_the_window_reaches_the_caption_log_at_one_address(qtbot, tmp_path) -> None:
    log = EventLog()
    fakes = FakeSessionFactory(tmp_path / "sessions")
    parts = build_window(qtbot, tmp_path, settings=TWO, factory=feeding_captions(fakes, log))
    sharing = CaptionSharing(log, port=0)
    parts.window.captions.set_sharing(sharing)
    sharing.start(Scope.THIS_COMPUTER)
    url = sharing.info.local_url  # type: ignore[union-attr]
    viewer = EventReader(url + "events")
    viewer.next()
    for number in (1, 2):
        start(qtbot, parts)
        session = fakes.last
        session.final(make_turn(0, f"Session {number}."))
        session.translation(0, done("es", f"Sesión {number}."))
        with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
            parts.window.toggle_recording()
    got = [e for e in viewer.until("session_ended") + viewer.until("session_ended") if e.kind != "state"]
    assert [(e.kind, e.data.get("text")) for e in got] == [
        (EventKind.SESSION_STARTED, None), (EventKind.INTERIM, ""), (EventKind.TURN, "Session 1."),
        (EventKind.TRANSLATION, "Sesión 1."), (EventKind.INTERIM, ""), (EventKind.SESSION_ENDED, None),
        (EventKind.SESSION_STARTED, None), (EventKind.INTERIM, ""), (EventKind.TURN, "Session 2."),
        (EventKind.TRANSLATION, "Sesión 2."), (EventKind.INTERIM, ""), (EventKind.SESSION_ENDED, None)]
    languages = json.loads(log.since(None).events[0].data)["languages"]
    assert [lang["code"] for lang in languages] == ["es", "de"]
    assert sharing.info is not None and sharing.info.local_url == url, "one address for both sessions"
    assert sharing.shutdown(3000)
    assert viewer.until("closed")
    stream = json.dumps([e.data for e in got])
    assert str(tmp_path) not in stream and "audio.wav" not in stream, "no file names reach a page"
