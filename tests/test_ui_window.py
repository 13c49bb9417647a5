"""The main window offscreen, on a scripted fake session: recording, the transcript, errors, closing."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from ui_support import build_window, done, failed, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.errors import AuthError, StreamingError
from app.core.settings import Settings
from app.core.transcript import Gap
from app.pipeline.events import SessionState
from app.ui.controls import FINISHING_TEXT, RECORD_TEXT, STOP_TEXT
from app.ui.transcript_model import NOT_TRANSLATED, TRANSLATING, CellState, Role

pytestmark = pytest.mark.timeout(60)

TWO = Settings(targets=("es", "de"))


def start_recording(qtbot, parts):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        qtbot.mouseClick(parts.window.controls.record_button, Qt.MouseButton.LeftButton)
    return parts.factory.last


def stop_recording(qtbot, parts) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        qtbot.mouseClick(parts.window.controls.record_button, Qt.MouseButton.LeftButton)


def cell(window, row: int, column: int) -> str:  # type: ignore[no-untyped-def]
    return str(window.model.index(row, column).data() or "")


def test_record_and_stop_enable_the_right_controls_at_each_step(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w, controls = parts.window, parts.window.controls
    w.show()
    assert controls.record_button.isEnabled() and controls.record_button.text() == RECORD_TEXT
    assert controls.device.isEnabled() and controls.model.isEnabled()
    session = start_recording(qtbot, parts)
    assert controls.record_button.text() == STOP_TEXT and controls.record_button.isEnabled()
    assert not controls.device.isEnabled() and not controls.source.isEnabled() and not controls.model.isEnabled()
    assert controls.targets.isEnabled(), "languages can be added while recording"
    session.push(lambda listener: None)
    qtbot.mouseClick(controls.record_button, Qt.MouseButton.LeftButton)
    assert controls.record_button.text() == FINISHING_TEXT and not controls.record_button.isEnabled()
    qtbot.waitUntil(lambda: not parts.controller.running, timeout=5000)
    assert controls.record_button.text() == RECORD_TEXT and controls.record_button.isEnabled()
    assert controls.device.isEnabled()
    assert w.status.state == SessionState.ENDED.value
    assert "Saved 0 turns" in w.status.message_label.text()


def test_ctrl_r_starts_and_stops(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    parts.window.show()
    parts.window.activateWindow()
    qtbot.waitActive(parts.window)
    parts.window.view.setFocus()  # the first key after activation goes astray offscreen otherwise
    qtbot.waitUntil(parts.window.view.hasFocus, timeout=2000)
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        qtbot.keyClick(parts.window.view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        qtbot.keyClick(parts.window.view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)


def test_without_a_key_the_window_says_what_to_do_and_record_is_disabled(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, key=None)
    w = parts.window
    w.show()
    assert w.key_banner.isVisible()
    assert "API key" in w.key_banner.label.text()
    assert [b.text() for b in w.key_banner.buttons] == ["Open Settings"]
    assert not w.controls.record_button.isEnabled()
    assert "Settings" in w.controls.record_button.toolTip()
    w.toggle_recording()  # Ctrl+R too
    assert parts.factory.sessions == []
    w.key_banner.buttons[0].click()
    assert w.settings_dialog is not None and w.settings_dialog.isVisible()
    w.settings_dialog.reject()


def test_interim_text_is_replaced_in_place_in_one_pending_row(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w = parts.window
    session = start_recording(qtbot, parts)
    for text in ("so", "so today", "so today we"):
        session.interim(text)
        qtbot.waitUntil(lambda t=text: cell(w, w.model.rowCount() - 1, 1) == t, timeout=5000)
        assert w.model.rowCount() == 1 and w.model.is_pending_row(0)
    assert w.model.index(0, 1).data(Role.CELL_STATE) == CellState.PENDING
    session.final(make_turn(0, "So today we start."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    assert w.model.rowCount() == 1 and not w.model.is_pending_row(0)
    assert cell(w, 0, 1) == "So today we start."
    session.interim("next")
    qtbot.waitUntil(lambda: w.model.rowCount() == 2, timeout=5000)
    assert w.model.is_pending_row(1) and cell(w, 1, 1) == "next"
    stop_recording(qtbot, parts)


def test_one_row_per_turn_with_each_translation_in_its_own_language_column(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w = parts.window
    session = start_recording(qtbot, parts)
    assert [w.model.headerData(c, Qt.Orientation.Horizontal) for c in range(w.model.columnCount())] == \
        ["Time", "Original", "Spanish", "German", "Delay"]
    session.final(make_turn(0, "Good morning."))
    session.final(make_turn(1, "Thank you."))
    session.final(make_turn(1, "Thank you."))  # a repeat of the same turn never adds a row
    qtbot.waitUntil(lambda: w.model.turn_count() == 2, timeout=5000)
    assert cell(w, 0, 2) == TRANSLATING and cell(w, 0, 3) == TRANSLATING
    session.translation(1, done("de", "Danke.", 650))
    session.translation(0, done("es", "Buenos días.", 900))
    session.translation(0, done("de", "Guten Morgen.", 1200))
    session.translation(1, done("es", "Gracias.", 700))
    qtbot.waitUntil(lambda: cell(w, 1, 2) == "Gracias.", timeout=5000)
    assert w.model.rowCount() == 2
    assert [cell(w, 0, c) for c in (1, 2, 3)] == ["Good morning.", "Buenos días.", "Guten Morgen."]
    assert [cell(w, 1, c) for c in (1, 2, 3)] == ["Thank you.", "Gracias.", "Danke."]
    assert cell(w, 0, 0) == "00:00" and cell(w, 1, 0) == "00:04"
    assert cell(w, 0, 4) == "1.2 s", "the delay column shows the slowest translation of the turn"
    assert "0.9 s" in w.model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert w.status.turns_label.text() == "2 turns"
    stop_recording(qtbot, parts)


def test_a_failed_translation_says_so_and_a_click_retries_it(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w = parts.window
    w.show()
    session = start_recording(qtbot, parts)
    session.final(make_turn(0, "Hello."))
    session.translation(0, failed("de"))
    qtbot.waitUntil(lambda: cell(w, 0, 3) == NOT_TRANSLATED, timeout=5000)
    assert w.model.index(0, 3).data(Role.CELL_STATE) == CellState.FAILED
    rect = w.view.visualRect(w.model.index(0, 3))
    qtbot.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert session.retries == [(0, "de")]
    menu = w.view.build_menu(w.model.index(0, 3))
    labels = [a.text() for a in menu.actions()]
    assert "Retry the German translation" in labels and "Retry all failed translations" in labels
    next(a for a in menu.actions() if a.text() == "Retry all failed translations").trigger()
    assert session.retries[-1] == (-1, None)
    session.translation(0, done("de", "Hallo."))
    qtbot.waitUntil(lambda: cell(w, 0, 3) == "Hallo.", timeout=5000)
    stop_recording(qtbot, parts)


def test_a_gap_shows_as_its_own_row_with_the_times_of_the_recording(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w = parts.window
    session = start_recording(qtbot, parts)
    session.final(make_turn(0, "Before the drop."))
    session.state(SessionState.RECONNECTING, "reconnecting (2)")
    qtbot.waitUntil(lambda: w.status.state_text == "Reconnecting (2)", timeout=5000)
    session.gap(Gap(723_000, 739_000, "connection lost"))
    session.final(make_turn(1, "After it.", start_ms=740_000))
    qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=5000)
    assert cell(w, 1, 1) == "no transcript 12:03–12:19, audio kept"
    assert w.view.columnSpan(1, 1) == w.model.columnCount() - 1
    assert w.model.turn_count() == 2
    stop_recording(qtbot, parts)


def test_the_view_follows_new_rows_unless_the_user_scrolled_up(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w = parts.window
    w.resize(900, 500)
    w.show()
    qtbot.waitExposed(w)
    session = start_recording(qtbot, parts)
    for i in range(30):
        session.final(make_turn(i, f"Sentence number {i} is long enough to wrap when the column is narrow."))
    bar = w.view.verticalScrollBar()
    qtbot.waitUntil(lambda: w.model.turn_count() == 30 and bar.maximum() > 0 and bar.value() == bar.maximum(),
                    timeout=5000)
    bar.setValue(0)  # the user scrolls up to read
    assert not w.view.following
    session.final(make_turn(30, "A new turn."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 31, timeout=5000)
    assert bar.value() == 0, "reading position kept"
    bar.setValue(bar.maximum())  # back to the bottom: follow again
    session.final(make_turn(31, "And another."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 32, timeout=5000)
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=5000)
    stop_recording(qtbot, parts)


def test_copy_a_row_or_the_whole_transcript(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w = parts.window
    w.show()
    session = start_recording(qtbot, parts)
    session.final(make_turn(0, "Good morning."))
    session.final(make_turn(1, "Thank you."))
    session.translation(0, done("es", "Buenos días."))
    session.translation(1, done("es", "Gracias."))
    qtbot.waitUntil(lambda: cell(w, 1, 2) == "Gracias.", timeout=5000)
    w.view.selectRow(1)
    w.view.copy_selected()
    copied = QGuiApplication.clipboard().text()
    assert "Thank you." in copied and "[es] Gracias." in copied and "Good morning." not in copied
    w.view.copy_all()
    copied = QGuiApplication.clipboard().text()
    assert copied.index("Good morning.") < copied.index("Thank you.") and "[de] [not translated]" in copied
    menu = w.view.build_menu(w.model.index(0, 1))
    whole = next(a.menu() for a in menu.actions() if a.menu() is not None)
    next(a for a in whole.actions() if a.text() == "Spanish only").trigger()
    assert QGuiApplication.clipboard().text().splitlines() == ["[00:00:00] Buenos días.", "[00:00:04] Gracias."]
    assert "Copied 2 rows" in w.status.message_label.text()
    stop_recording(qtbot, parts)


def test_font_size_changes_the_transcript_text(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(font_size=13))
    w = parts.window
    assert w.view.font().pointSize() == 13
    w.apply_settings(w.settings.with_changes(font_size=20))
    assert w.view.font().pointSize() == 20
    assert parts.settings_store.load().font_size == 20


def test_a_fatal_error_is_shown_once_even_though_the_summary_repeats_it(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    w.show()
    session = start_recording(qtbot, parts)
    error = AuthError("The API key was rejected (1008). Open Settings to enter a new key.")
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        session.error(error)
        session.error(error)  # reported twice by a careless layer: still one dialog
    assert w.error_dialogs.shown_count == 1
    box = w.error_dialogs.dialog
    assert box is not None and box.isVisible() and "rejected (1008)" in box.text()
    assert str(session.folder) in box.text(), "the dialog says where the recording was saved"
    assert any(b.text() == "Open Settings" for b in box.buttons())
    assert w.status.state == SessionState.FAILED.value
    box.close()


def test_a_transient_error_goes_to_the_status_bar_not_a_dialog(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    session = start_recording(qtbot, parts)
    transient = StreamingError("The connection dropped. Reconnecting (attempt 1); recording continues.")
    transient.fatal = False
    session.error(transient)
    qtbot.waitUntil(lambda: "Reconnecting (attempt 1)" in w.status.message_label.text(), timeout=5000)
    assert w.error_dialogs.shown_count == 0
    stop_recording(qtbot, parts)


def test_translations_waiting_for_the_rate_limit_are_shown_in_the_status_bar_until_they_go(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w = parts.window
    session = start_recording(qtbot, parts)
    session.rate_limit(12, 19.2)
    qtbot.waitUntil(lambda: w.status.rate_limit_text != "", timeout=5000)
    assert w.status.rate_limit_text == "12 translations waiting for the rate limit; resuming in 20 s"
    assert w.status.state_text == "Live", "the session's state is shown beside it, unchanged"
    session.rate_limit(0)
    qtbot.waitUntil(lambda: w.status.rate_limit_text == "", timeout=5000)
    session.rate_limit(3, 4.0)
    qtbot.waitUntil(lambda: w.status.rate_limit_text != "", timeout=5000)
    stop_recording(qtbot, parts)
    assert w.status.rate_limit_text == "", "nothing waits once the session is over"


def test_closing_while_recording_stops_first_then_closes_without_blocking(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=TWO)
    w = parts.window
    w.show()
    session = start_recording(qtbot, parts)
    session.final(make_turn(0, "Last words."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    assert not w.close(), "the first close is refused while the session is saved"
    assert w.isVisible() and parts.controller.running
    assert "window closes" in w.status.message_label.text()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert session.ended.is_set() and not parts.controller.running
    assert parts.settings_store.load().targets == ("es", "de")


def test_the_window_remembers_its_size(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    parts.window.resize(790, 500)  # the offscreen screen is 800 x 600
    parts.window.show()
    qtbot.waitExposed(parts.window)
    size = parts.window.size()
    assert size.height() == 500
    parts.window.close()
    again = build_window(qtbot, tmp_path)
    assert again.window.size() == size


def test_targets_added_while_recording_add_a_column_and_reach_the_session(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es",)))
    w = parts.window
    session = start_recording(qtbot, parts)
    session.final(make_turn(0, "Before."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    w.controls.targets.set_selected(("es", "fr"))
    w.controls.targets.picker.selection_changed.emit(("es", "fr"))
    assert session.targets == [("es", "fr")]
    assert w.model.headerData(3, Qt.Orientation.Horizontal) == "French"
    assert cell(w, 0, 3) == "—", "an earlier turn was not asked for in French"
    session.final(make_turn(1, "After."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 2, timeout=5000)
    assert cell(w, 1, 3) == TRANSLATING
    stop_recording(qtbot, parts)


def test_a_recovered_session_is_offered_and_shown_on_request(qtbot, tmp_path) -> None:
    from app.pipeline.recovery import RecoveredSession

    folder = tmp_path / "2026-11-23_14-05-09"
    folder.mkdir()
    (folder / "audio.wav").write_bytes(b"RIFF")
    entries = [make_turn(0, "Recovered words.")]
    entries[0].translations["es"] = done("es", "Palabras recuperadas.")
    parts = build_window(qtbot, tmp_path, recovery_loader=lambda session: (entries, ("es",)))
    w = parts.window
    w.show()
    w.offer_recovered([RecoveredSession(7, folder, folder / "audio.wav", 192.0, 1,
                                        restored="the recording (03:12) and 1 turn")])
    assert w.recovery_banner.isVisible()
    assert "03:12" in w.recovery_banner.label.text() and folder.name in w.recovery_banner.label.text()
    next(b for b in w.recovery_banner.buttons if b.text() == "Show transcript").click()
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    assert cell(w, 0, 2) == "Palabras recuperadas."
    assert w.audio_path == folder / "audio.wav"
    assert not w.recovery_banner.isVisible()


def test_the_empty_transcript_invites_to_record(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    assert "Press Record" in parts.window.view.empty_hint
    assert parts.window.model.rowCount() == 0
    assert not QModelIndex().isValid()


def test_the_window_refuses_what_the_command_line_refuses_in_the_same_words(qtbot, tmp_path, capsys) -> None:
    from app.cli import main

    settings = Settings(source="fr", speech_model="universal-streaming-english")
    parts = build_window(qtbot, tmp_path, settings=settings)
    parts.window.show()
    qtbot.mouseClick(parts.window.controls.record_button, Qt.MouseButton.LeftButton)
    assert not parts.controller.running and not parts.factory.sessions, "nothing was started"
    box = parts.window.error_dialogs.dialog
    assert box is not None and parts.window.error_dialogs.shown_count == 1
    code = main(["--headless", "--from", "fr", "--speech-model", "universal-streaming-english", "--out", str(tmp_path)])
    said = capsys.readouterr().err.removeprefix("error: ").strip()
    assert code == 2 and "only hears English, but the spoken language is French" in said
    assert said in box.text() + " " + box.informativeText()


def test_the_spoken_language_comes_first_and_picks_a_model_that_hears_it(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    controls = parts.window.controls
    pick = controls.source
    assert pick.findData("ja") > 0 and pick.findData("ko") > 0, "every language some model hears is offered"
    for code, model in (("fr", "universal-streaming-multilingual"), ("ja", "universal-3-5-pro"),
                        ("ko", "whisper-rt"), ("en", "whisper-rt")):  # a model that still hears it is kept
        pick.setCurrentIndex(pick.findData(code))
        assert controls.model.currentData() == model, code
    assert parts.window.settings.speech_model == "whisper-rt" and parts.window.settings.source == "en"
