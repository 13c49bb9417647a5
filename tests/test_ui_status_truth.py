"""Status that tells the truth: "Ready" only when Record would work, errors cleared when their cause is,
"Live" the moment a connection is back, the "Saved" link kept until the next session, the hint
hidden while recording, actions enabled only with something to act on, and a folder named when no
file manager opens."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from ui_support import build_window, done, failed, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.devices import InputDevice
from app.core.errors import AuthError, DeviceError, StreamingError
from app.core.settings import Settings
from app.pipeline.events import SessionState
from app.settings.keystore import KeyStatus

pytestmark = pytest.mark.timeout(60)

SPOKEN_ONLY = Settings(targets=("de",), source="de", speech_model="universal-streaming-multilingual")


def test_ready_only_when_record_would_work(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, key=None)
    w = parts.window
    assert w.status.state_text == "Not ready: no API key (Settings, Ctrl+,)"
    w.key_changed(KeyStatus("a-key-that-exists", "keyring", True))
    assert w.status.state_text == "Ready"
    w.hold_recording("Checking for a session that did not finish…")
    assert w.status.state_text == "Not ready: checking for a session that did not finish"
    w.hold_recording("")
    w.apply_settings(SPOKEN_ONLY)
    assert w.status.state_text.startswith("Not ready: German is the spoken language")
    assert w.status.state_label.toolTip() == w.status.state_text, "cut in the bar, whole in the tooltip"
    w.apply_settings(SPOKEN_ONLY.with_changes(targets=("de", "es")))
    assert w.status.state_text == "Ready"


def test_a_start_that_failed_on_the_settings_is_cleared_when_they_change(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(streaming_url="http://not-a-websocket.test"))
    w = parts.window
    w.show()
    qtbot.mouseClick(w.controls.record_button, Qt.MouseButton.LeftButton)
    assert w.status.state_text == "Error"
    w.error_dialogs.dialog.close()  # type: ignore[union-attr]
    w.key_changed(KeyStatus("another-key-entirely", "keyring", True))
    assert w.status.state_text == "Error", "a new key does not fix a URL"
    w.apply_settings(w.settings.with_changes(streaming_url=None))
    assert w.status.state_text == "Ready"


def test_a_rejected_key_stops_the_session_and_a_new_key_clears_the_error(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        parts.factory.last.error(AuthError("The API key was rejected (1008)."))
    assert w.status.state == SessionState.FAILED.value
    w.apply_settings(w.settings.with_changes(font_size=15))
    assert w.status.state == SessionState.FAILED.value, "the text size does not fix a key"
    w.key_changed(KeyStatus("the-new-key-1234", "keyring", True))
    assert w.status.state_text == "Ready"


def test_a_microphone_error_is_cleared_when_the_devices_change(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        parts.factory.last.error(DeviceError('The microphone "USB Headset" disappeared.'))
    assert w.status.state == SessionState.FAILED.value
    w.controls.set_devices([InputDevice(0, "USB Headset", 48000, 1, True)])  # plugged in again
    assert w.status.state_text == "Ready"


def test_live_replaces_reconnecting_and_its_message_at_once(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    session = parts.factory.last
    drop = StreamingError("The connection dropped. Reconnecting (attempt 1); recording continues.", retryable=True)
    drop.fatal = False
    session.state(SessionState.RECONNECTING, "reconnecting (1)")
    session.error(drop)
    qtbot.waitUntil(lambda: "Reconnecting" in w.status.message_label.text(), timeout=5000)
    assert w.status.state_text == "Reconnecting (1)"
    session.state(SessionState.LIVE)
    qtbot.waitUntil(lambda: w.status.state_text == "Live", timeout=5000)
    assert "Reconnecting" not in w.status.message_label.text()
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()


def test_the_saved_link_stays_until_the_next_session(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    w.show()
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    parts.factory.last.final(make_turn(0, "Hello there."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()
    saved = w.status.message_label.text()
    assert saved.startswith("Saved 1 turn and") and "open folder" in saved
    w.view.selectRow(0)
    w.view.copy_selected()
    assert w.status.message_label.text() == "Copied 1 row to the clipboard"
    w.status._message_timer.timeout.emit()  # the copy message's time is up
    assert w.status.message_label.text() == saved, "the link is back, not lost"
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    assert "open folder" not in w.status.message_label.text()
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()


def test_the_hint_is_hidden_while_recording_and_actions_wait_for_something_to_act_on(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es",)))
    w = parts.window
    assert w.view.empty_hint and not w.retry_action.isEnabled()
    assert not w.view.copy_rows_action.isEnabled() and not w.view.copy_all_action.isEnabled()
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    assert w.view.empty_hint == "", "nothing to point at while recording"
    session = parts.factory.last
    session.final(make_turn(0, "Hello there."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    assert w.export_action.isEnabled() and w.controls.export_button.isEnabled(), "the first turn can be exported"
    assert w.view.copy_all_action.isEnabled() and not w.view.copy_rows_action.isEnabled()
    assert not w.retry_action.isEnabled(), "nothing failed"
    session.translation(0, failed("es"))
    qtbot.waitUntil(lambda: w.model.failed_count() == 1, timeout=5000)
    assert w.retry_action.isEnabled()
    session.translation(0, done("es", "Hola."))
    qtbot.waitUntil(lambda: w.model.failed_count() == 0, timeout=5000)
    assert not w.retry_action.isEnabled()
    w.view.selectRow(0)
    assert w.view.copy_rows_action.isEnabled()
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()
    assert w.view.empty_hint


def test_open_sessions_folder_says_where_it_is_when_no_file_manager_opens(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    (tmp_path / "sessions").mkdir()
    w.open_sessions_folder()  # offscreen, Qt can start no file manager: openUrl() fails for real
    text = w.status.message_label.text()
    assert "No file manager could be opened" in text and str(tmp_path / "sessions") in text
    assert QGuiApplication.clipboard().text() == str(tmp_path / "sessions")
