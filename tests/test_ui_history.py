"""The history window driven offscreen on real sessions: each recorded by the real pipeline
(``LiveSession``, websocket and HTTP clients, SQLite journal) against the local imitations of
AssemblyAI, once per module, then copied for each test. Search, opening at a turn, the keyboard,
rename, note, export, delete with its confirmation, translating again with progress and Cancel,
retrying a cell, transcribing the gaps of a session recorded offline, a session deleted in another
window, and the main window's way in: a WAV dropped on it, transcribed with the time left shown,
then offered in the history."""
from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox
from session_rig import make_session, run_to_end
from support.speech import make_speech_wav
from ui_support import build_window, qt_hygiene, save_screenshot  # noqa: F401 - autouse fixture

from app.core.settings import Settings
from app.core.transcript import Turn
from app.pipeline.archive import Archive
from app.store.db import SessionStore
from app.ui.history_window import HistoryWindow
from app.ui.session_pane import Services
from app.ui.transcript_model import NOT_TRANSLATED, CellState
from app.ui.transcript_model import Role as CellRole
from app.workers.controller import pipeline_session_factory
from app.workers.threads import wait_for_owned_threads

pytestmark = [pytest.mark.realtime, pytest.mark.timeout(120)]

KEY = "history-window-key-0123"
MEETING = ["Good morning and welcome to the planning meeting.", "The budget for the spring is ready."]
TOKYO = ["明日の会議は東京で行います"]
OFFLINE = ["Notes recorded on the train."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real sessions: a meeting (es, de), one in Japanese (en), one recorded while the
    streaming service could not be reached (a single gap). Made at the same time."""
    root = tmp_path_factory.mktemp("recorded")
    speech = tmp_path_factory.mktemp("speech")
    plans = [("meeting", MEETING, ("es", "de"), True), ("tokyo", TOKYO, ("en",), True),
             ("offline", OFFLINE, ("es",), False)]
    with SessionStore(root / "data" / "sessions.db") as store, \
            FakeStreamingServer(api_key=KEY, script=MEETING) as meeting, \
            FakeStreamingServer(api_key=KEY, script=TOKYO) as tokyo, FakeLlmGateway(api_key=KEY) as llm:
        urls = {"meeting": meeting.url, "tokyo": tokyo.url, "offline": f"ws://127.0.0.1:{free_port()}/v3/ws"}
        errors: list[BaseException] = []

        def record(name: str, sentences: list[str], targets: tuple[str, ...], delay: float) -> None:
            try:
                threading.Event().wait(delay)  # distinct start times: the list's order is known
                wav = make_speech_wav(speech / f"{name}.wav", ["Hello there."] if name == "tokyo" else sentences,
                                      pause_s=1.0, lead_s=0.3)
                session, rec = make_session(root, stt_url=urls[name], llm_url=llm.base_url, input_wav=wav,
                                            targets=targets, store=store, key=KEY)
                summary = run_to_end(session, rec, timeout=60)
                assert summary.error is None and summary.transcribed == (name != "offline"), summary
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                errors.append(exc)

        threads = [threading.Thread(target=record, args=(name, s, t, 1.1 * n))
                   for n, (name, s, t, _) in enumerate(plans)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        assert not errors, errors
    return root


@dataclass
class History:
    window: HistoryWindow
    archive: Archive
    root: Path


@pytest.fixture
def history(recorded: Path, tmp_path: Path, qtbot) -> Iterator[History]:  # type: ignore[no-untyped-def]
    """A private copy of the recorded sessions (their paths rewritten) in a history window."""
    root = tmp_path / "user"
    shutil.copytree(recorded, root)
    with closing(sqlite3.connect(root / "data" / "sessions.db")) as conn, conn:
        conn.execute("UPDATE sessions SET folder = replace(folder, ?, ?), audio_path = replace(audio_path, ?, ?)",
                     (str(recorded), str(root), str(recorded), str(root)))
    with SessionStore(root / "data" / "sessions.db") as store:
        archive = Archive(store)
        settings = {"now": Settings()}
        window = HistoryWindow(archive, Services(lambda: settings["now"], lambda: {"assemblyai": KEY},
                                                 lambda: root / "sessions"))
        window.settings_box = settings  # type: ignore[attr-defined]  # tests point it at the fakes
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # keyboard focus, as a person has it
        qtbot.waitUntil(lambda: window.sessions_model.rowCount() == 3, timeout=5000)
        yield History(window, archive, root)
        if window.pane is not None and window.pane.job is not None:
            window.pane.cancel_job()
        window.close()
        assert wait_for_owned_threads(20000), "a background task outlived its test"  # before the store closes


def titles(window: HistoryWindow) -> list[str]:
    return [window.sessions_model.listed(r).title for r in range(window.sessions_model.rowCount())]


def cell_texts(window: HistoryWindow, column: int) -> list[str]:
    model = window.pane.model  # type: ignore[union-attr]
    return [str(model.index(r, column).data()) for r in range(model.rowCount()) if not model.is_gap_row(r)]


def open_row(qtbot, window: HistoryWindow, row: int) -> None:  # type: ignore[no-untyped-def]
    wanted = window.sessions_model.listed(row).record.id
    with qtbot.waitSignal(window.session_opened, timeout=5000, check_params_cb=lambda sid: sid == wanted):
        window.sessions_view.setCurrentIndex(window.sessions_model.index(row))


def test_the_list_shows_real_sessions_newest_first_and_a_search_opens_the_session_at_the_turn(
        history: History, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    rows = [w.sessions_model.listed(r) for r in range(3)]
    assert [r.overview.first_words for r in rows] == ["", TOKYO[0], MEETING[0]]
    assert rows[0].overview.gaps == 1 and rows[0].overview.turns == 0  # the offline one, newest
    html = w.sessions_model.index(0).data()
    assert "gap not transcribed" in html and "<i>no turns</i>" in html
    assert "“Good morning and welcome to the planning meeting.”" in w.sessions_model.index(2).data()
    with qtbot.waitSignal(w.searched, timeout=5000):
        qtbot.keyClicks(w.search, "spring")
    hits = [w.hits_model.hit(r) for r in range(w.hits_model.rowCount())]
    assert [(h.hit.turn_index, h.hit.column) for h in hits] == [(1, None), (1, "de"), (1, "es")]
    assert "<b class='hit'>spring</b>" in w.hits_model.index(0).data()
    assert w.count_label.text() == "3 hits for “spring”, newest first"
    with qtbot.waitSignal(w.session_opened, timeout=5000):
        qtbot.keyClick(w.search, Qt.Key.Key_Down)  # from the search box to the first hit, which opens
    assert w.hits_view.hasFocus() and w.hits_view.currentIndex().row() == 0
    pane = w.pane
    assert pane is not None and pane.session is not None and pane.session.record.id == rows[2].record.id
    selected = pane.view.selected_rows()
    assert [pane.model.index(r, 1).data() for r in selected] == [MEETING[1]]  # at the turn of the hit
    assert cell_texts(w, 2) == [f"[Spanish] {s}" for s in MEETING] and pane.model.headerData(3, Qt.Orientation.Horizontal) == "German"
    qtbot.waitUntil(lambda: pane.view.laid_out, timeout=2000)
    save_screenshot(w, "history-search.png")
    with qtbot.waitSignal(w.searched, timeout=5000):
        w.search.setText("会議")  # two characters of Japanese: found inside a longer word
    # The imitation's "translation" keeps the text, so the English column has the word too.
    tokyo, english = [w.hits_model.hit(r) for r in range(w.hits_model.rowCount())]
    assert tokyo.record.id == english.record.id == rows[1].record.id and english.hit.column == "en"
    assert tokyo.hit.snippet == "明日の\x02会議\x03は東京で行います" and tokyo.hit.column is None
    w.search.setFocus()
    qtbot.keyClick(w.search, Qt.Key.Key_Escape)  # Esc clears the search: the list again
    assert w.lists.currentWidget() is w.sessions_view and w.search.text() == ""


def test_the_keyboard_moves_through_the_sessions_and_into_the_transcript(history: History, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    open_row(qtbot, w, 0)
    w.sessions_view.setFocus()
    with qtbot.waitSignal(w.session_opened, timeout=5000):
        qtbot.keyClick(w.sessions_view, Qt.Key.Key_Down)
    assert w.pane is not None and w.pane.session is not None and w.pane.session.transcript.turns()[0].text == TOKYO[0]
    qtbot.keyClick(w.sessions_view, Qt.Key.Key_Return)
    assert w.pane.view.hasFocus()
    qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert w.search.hasFocus()


def test_rename_and_note_show_everywhere_and_reach_the_session_folder(
        history: History, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    open_row(qtbot, w, 2)
    pane = w.pane
    assert pane is not None and pane.session is not None
    folder = pane.session.record.folder
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Spring planning", True))
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("Ask Ana for the figures.", True))
    with qtbot.waitSignal(w.listed, timeout=5000):
        qtbot.keyClick(w, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: pane.session is not None and pane.session.title == "Spring planning", timeout=5000)
    pane.actions_by_name["note"].trigger()
    qtbot.waitUntil(lambda: pane.session is not None and pane.session.record.user_note == "Ask Ana for the figures.",
                    timeout=5000)
    assert "Spring planning" in titles(w) and "Spring planning" in pane.heading.text()
    assert "Note: Ask Ana for the figures." in pane.heading.text()
    doc = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert doc["session"]["title"] == "Spring planning" and doc["session"]["note"] == "Ask Ana for the figures."
    assert "# Spring planning" in (folder / "transcript.md").read_text(encoding="utf-8")


def test_export_uses_the_export_dialog_with_every_option(history: History, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    open_row(qtbot, w, 2)
    assert w.pane is not None
    dialog = w.pane.export()
    assert dialog is not None
    dialog.format.setCurrentIndex(dialog.format.findData("srt"))
    dialog.translation.setChecked(True)
    dialog.translation_language.setCurrentIndex(dialog.translation_language.findData("de"))
    dialog.path.setText(str(tmp_path / "out" / "meeting.de.srt"))
    dialog.copy_audio.setChecked(True)
    dialog.audio_target.setText(str(tmp_path / "out" / "meeting.wav"))
    with qtbot.waitSignal(dialog.exported, timeout=5000):
        dialog.start_export()
    srt = (tmp_path / "out" / "meeting.de.srt").read_text(encoding="utf-8")
    assert f"[German] {MEETING[1]}" in srt and "[Spanish]" not in srt
    assert (tmp_path / "out" / "meeting.wav").read_bytes() == w.pane.session.record.audio_path.read_bytes()  # type: ignore[union-attr]


def test_delete_asks_first_naming_what_goes_and_then_it_is_gone(history: History, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    open_row(qtbot, w, 1)
    pane = w.pane
    assert pane is not None and pane.session is not None
    folder = pane.session.record.folder
    w.sessions_view.setFocus()
    qtbot.keyClick(w.sessions_view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: pane.confirmation is not None, timeout=5000)
    box = pane.confirmation
    assert box is not None and box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    text = box.informativeText()
    assert "the recording audio.wav (" in text and str(folder) in text and "the folder goes too" in text
    save_screenshot(box, "history-delete-confirmation.png")
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert folder.is_dir() and history.archive.count() == 3
    w.activateWindow()  # back from the closed box
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    w.sessions_view.setFocus()
    qtbot.keyClick(w.sessions_view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: pane.confirmation is not None, timeout=5000)
    with qtbot.waitSignal(w.listed, timeout=5000):
        next(b for b in pane.confirmation.buttons() if b.objectName() == "delete").click()  # type: ignore[union-attr]
    assert not folder.exists() and history.archive.count() == 2 and TOKYO[0] not in str(titles(w))
    assert pane.session is None


def test_translating_again_runs_in_the_background_and_lands_as_another_column(
        history: History, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    open_row(qtbot, w, 2)
    pane = w.pane
    assert pane is not None
    with FakeLlmGateway(api_key=KEY) as llm:
        w.settings_box["now"] = Settings(llm_url=llm.base_url)  # type: ignore[attr-defined]
        dialog = pane.translate_again()
        assert dialog is not None
        dialog.language.setCurrentIndex(dialog.language.findData("es"))
        dialog.model.setCurrentText("gpt-4.1")
        dialog.instructions.setText("Use a formal register.")
        with qtbot.waitSignal(w.listed, timeout=20000):
            next(b for b in dialog.buttons.buttons() if b.text() == "Translate").click()
        qtbot.waitUntil(lambda: pane.job is None and pane.session is not None and "es.2" in pane.session.columns,
                        timeout=20000)
        assert all("Use a formal register." in r.json["messages"][0]["content"] for r in llm.chat_requests)
    header = pane.model.headerData(pane.model.language_column("es.2"), Qt.Orientation.Horizontal)
    assert header == "Spanish 2 (gpt-4.1)"
    assert cell_texts(w, pane.model.language_column("es")) == [f"[Spanish] {s}" for s in MEETING]  # kept
    assert cell_texts(w, pane.model.language_column("es.2")) == [f"[Spanish] {s}" for s in MEETING]
    assert "Translated 2 of 2 cells into es.2" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: pane.view.laid_out, timeout=2000)
    save_screenshot(w, "history-translated-again.png")


def test_a_translation_can_be_cancelled_and_its_missing_cells_retried_from_the_view(
        history: History, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    open_row(qtbot, w, 2)
    pane = w.pane
    assert pane is not None

    def slow_second(payload: dict, n: int) -> float:
        return 30.0 if "budget" in payload["messages"][-1]["content"] else 0.0

    with FakeLlmGateway(api_key=KEY, delay_s=slow_second) as llm:
        w.settings_box["now"] = Settings(llm_url=llm.base_url)  # type: ignore[attr-defined]
        from app.pipeline.retranslate import TranslateAgain

        pane.start_translation(TranslateAgain("fr"))
        assert pane.progress_box.isVisibleTo(pane) and not pane.actions_by_name["rename"].isEnabled()
        qtbot.waitUntil(lambda: "1 of 2" in pane.progress_label.text(), timeout=10000)
        qtbot.mouseClick(pane.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: pane.job is None and pane.session is not None and "fr" in pane.session.columns,
                        timeout=10000)
    column = pane.model.language_column("fr")
    assert cell_texts(w, column) == [f"[French] {MEETING[0]}", NOT_TRANSLATED]
    assert "Cancelled; what was translated is kept." in w.statusBar().currentMessage()
    with FakeLlmGateway(api_key=KEY) as llm:
        w.settings_box["now"] = Settings(llm_url=llm.base_url)  # type: ignore[attr-defined]
        row = pane.model.row_of(1)
        assert row is not None
        index = pane.model.index(row, column)
        assert index.data(CellRole.CELL_STATE) == CellState.FAILED
        rect = pane.view.visualRect(index)
        qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # click to retry
        qtbot.waitUntil(lambda: pane.job is None and cell_texts(w, column)[1] == f"[French] {MEETING[1]}",
                        timeout=15000)


def test_the_gaps_of_a_session_recorded_offline_are_transcribed_from_the_window(
        history: History, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    open_row(qtbot, w, 0)
    pane = w.pane
    assert pane is not None and pane.session is not None and len(pane.session.transcript.gaps()) == 1
    assert "not transcribed: Transcribe gaps (Ctrl+G)" in pane.warning.label.text()
    assert pane.actions_by_name["transcribe"].text() == "Transcribe gaps (1)"
    with FakeStreamingServer(api_key=KEY, script=OFFLINE) as stt, FakeLlmGateway(api_key=KEY) as llm:
        w.settings_box["now"] = Settings(streaming_url=stt.url, llm_url=llm.base_url)  # type: ignore[attr-defined]
        qtbot.keyClick(w, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: "left" in pane.progress_label.text(), timeout=10000)
        save_screenshot(w, "history-transcribing-gaps.png")
        qtbot.waitUntil(lambda: pane.job is None, timeout=60000)
    said = w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: pane.session is not None and pane.session.transcript.turns() != [], timeout=5000)
    assert pane.session is not None and pane.session.transcript.gaps() == [], said
    assert [t.text for t in pane.session.transcript.turns()] == OFFLINE
    assert cell_texts(w, 2) == [f"[Spanish] {OFFLINE[0]}"] and not pane.warning.isVisibleTo(pane)
    assert "Transcribed 1 turn in 1 gap." in w.statusBar().currentMessage()


def test_a_session_deleted_in_another_window_is_said_and_stays_readable(history: History, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = history.window
    open_row(qtbot, w, 2)
    pane = w.pane
    assert pane is not None and pane.session is not None
    with SessionStore(history.root / "data" / "sessions.db") as elsewhere:  # another window, another process
        elsewhere.delete_session(pane.session.record.id)
    pane.apply_title("Too late")
    qtbot.waitUntil(lambda: "no longer in the archive" in w.statusBar().currentMessage(), timeout=5000)
    assert "This session was deleted" in pane.warning.label.text() and pane.warning.isVisibleTo(pane)
    assert not pane.actions_by_name["rename"].isEnabled() and pane.actions_by_name["export"].isEnabled()
    assert cell_texts(w, 1) == MEETING  # still on screen
    qtbot.waitUntil(lambda: w.sessions_model.rowCount() == 2, timeout=5000)


def test_without_an_archive_the_history_says_why(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = HistoryWindow(None, Services(Settings, dict, Path.home), unavailable="This archive was written by a "
                                                                                  "newer Live Translate (schema 9).")
    qtbot.addWidget(window)
    label = window.splitter.widget(1)
    assert "The history is not available: This archive was written by a newer" in label.text()  # type: ignore[attr-defined]
    assert not window.search.isEnabled() and not window.import_bundle_action.isEnabled()


def drop(window: object, path: Path) -> bool:
    """Drag ``path`` over the window and drop it, as a file manager does; True if it was taken."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)  # type: ignore[arg-type]
    if not enter.isAccepted():
        return False  # refused on entering: no drop follows
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)  # type: ignore[arg-type]
    return event.isAccepted()


def test_a_wav_dropped_on_the_window_is_transcribed_with_the_time_left_and_offered_in_the_history(
        qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wav = make_speech_wav(tmp_path / "interview.wav", MEETING[:1], pause_s=0.5, lead_s=0.5)
    (tmp_path / "notes.txt").write_text("not audio", encoding="utf-8")
    with SessionStore(tmp_path / "data" / "sessions.db") as store, \
            FakeStreamingServer(api_key=KEY, script=MEETING[:1]) as stt, FakeLlmGateway(api_key=KEY) as llm:
        settings = Settings(targets=("es",), streaming_url=stt.url, llm_url=llm.base_url,
                            sessions_dir=tmp_path / "sessions")
        parts = build_window(qtbot, tmp_path, key=KEY, settings=settings, factory=pipeline_session_factory(store),
                             archive=Archive(store))
        w = parts.window
        w.show()
        assert not drop(w, tmp_path / "notes.txt")  # not a recording: the window does not take it
        flow = w.history_flow
        with qtbot.waitSignal(parts.controller.session_started, timeout=10000):
            assert drop(w, wav)
        qtbot.waitUntil(lambda: "left" in flow.progress.format() and flow.progress.value() > 0, timeout=5000)
        assert flow.progress.format().startswith("interview.wav: 00:0") and flow.progress.isVisibleTo(w)
        save_screenshot(w, "window-transcribing-a-recording.png")
        with qtbot.waitSignal(parts.controller.session_ended, timeout=30000):
            pass
        assert flow.banner.isVisibleTo(w) and "Saved" in flow.banner.label.text()
        assert not flow.progress.isVisibleTo(w)
        assert [str(w.model.index(r, 1).data()) for r in range(w.model.rowCount())] == MEETING[:1]
        flow.banner.buttons[0].click()  # Show in History
        history = flow.history
        assert history is not None
        qtbot.waitUntil(lambda: history.pane is not None and history.pane.session is not None, timeout=5000)
        shown = history.pane.session  # type: ignore[union-attr]
        assert shown is not None and [t.text for t in shown.transcript.turns()] == MEETING[:1]
        assert isinstance(shown.transcript.turns()[0], Turn) and shown.record.folder.parent == (tmp_path / "sessions").resolve()
        qtbot.waitUntil(lambda: history.pane is not None and history.pane.view.laid_out, timeout=2000)
        save_screenshot(history, "history-after-a-session.png")
        qtbot.keyClick(w, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)  # View ▸ History again: the same one
        assert flow.history is history and history.isVisible()
        history.close()
        w.close()


def test_a_file_that_is_not_a_recording_is_refused_with_the_reason(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "song.wav"
    fake.write_bytes(b"ID3 this is an mp3 really" * 20)
    parts = build_window(qtbot, tmp_path, key=KEY)
    w = parts.window
    w.history_flow.transcribe(fake)
    qtbot.waitUntil(lambda: "cannot be transcribed" in w.statusBar().currentMessage(), timeout=5000)
    assert "not a WAV" in w.statusBar().currentMessage() or "RIFF" in w.statusBar().currentMessage()
    assert not parts.controller.running
