"""No empty sessions: a session that held nothing (no turn, under a second of audio) leaves no folder,
no archive entry and no recovery offer; one that held something, even silence, is kept; and an offer
of a recovered session goes once acted on or when the next recording starts."""
from __future__ import annotations

import wave
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from PySide6.QtCore import Qt
from session_rig import KEY, make_session, run_to_end
from ui_support import build_window, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.errors import AuthError
from app.core.transcript import Turn
from app.pipeline.recovery import RecoveredSession, recover_unfinished
from app.store.db import SessionStore

pytestmark = pytest.mark.timeout(60)


def silent_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(bytes(int(seconds * 16000) * 2))
    return path


def crashed_session(store: SessionStore, folder: Path, audio_s: float, turns: int = 0) -> int:
    folder.mkdir(parents=True)
    silent_wav(folder / "audio.wav", audio_s)
    rec = store.create_session(folder=folder, audio_path=folder / "audio.wav", source_language=None,
                               speech_model="universal-streaming-english", target_languages=["es"], llm_model="m")
    for i in range(turns):
        store.add_turn(rec.id, Turn(i, 0, i, f"Turn {i}.", i * 1000, i * 1000 + 800, 1.0))
    store.release(rec.uid)  # the process that recorded it died
    return rec.id


@pytest.mark.realtime
def test_a_session_stopped_at_once_leaves_no_folder_no_archive_entry_and_no_lock(tmp_path) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    with FakeStreamingServer(api_key=KEY, script=["Hello."]) as stt, FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url,
                                    input_wav=silent_wav(tmp_path / "long.wav", 10.0), store=store)
        summary = run_to_end(session, rec, during=session.stop)  # Record, then Stop at once
    assert summary.discarded and summary.turns == 0 and summary.audio_seconds < 1
    assert not summary.folder.exists() and list((tmp_path / "sessions").iterdir()) == []
    assert store.list_sessions() == [] and recover_unfinished(store) == []
    assert list((tmp_path / "locks").glob("*")) == [], "its lock went with it"
    assert rec.errors == []
    store.close()


@pytest.mark.realtime
def test_a_session_with_no_turn_but_more_than_a_second_of_audio_is_kept(tmp_path) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    with FakeStreamingServer(api_key=KEY, script=[]) as stt, FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url,
                                    input_wav=silent_wav(tmp_path / "quiet.wav", 1.5), store=store)
        summary = run_to_end(session, rec)
    assert not summary.discarded and summary.turns == 0 and summary.audio_seconds >= 1.4
    assert (summary.folder / "audio.wav").is_file() and (summary.folder / "transcript.json").is_file()
    assert [s.folder for s in store.list_sessions()] == [summary.folder]
    store.close()


def test_recovery_removes_a_crashed_session_that_held_nothing_and_offers_the_others(tmp_path) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    empty = crashed_session(store, tmp_path / "sessions" / "empty", 0.4)
    quiet = crashed_session(store, tmp_path / "sessions" / "quiet", 2.0)
    spoken = crashed_session(store, tmp_path / "sessions" / "spoken", 0.5, turns=1)
    found = recover_unfinished(store)
    assert [r.session_id for r in found] == [quiet, spoken], "nothing to offer for the empty one"
    assert not (tmp_path / "sessions" / "empty").exists() and store.get_session(empty) is None
    assert (tmp_path / "sessions" / "quiet" / "audio.wav").is_file()
    assert recover_unfinished(store) == [], "each is dealt with once"
    store.close()


def test_a_file_someone_put_in_an_empty_sessions_folder_is_never_removed(tmp_path) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    folder = tmp_path / "sessions" / "empty"
    crashed_session(store, folder, 0.2)
    (folder / "notes.odt").write_text("mine")
    assert recover_unfinished(store) == []
    assert [p.name for p in folder.iterdir()] == ["notes.odt"]
    store.close()


def test_a_fatal_error_of_a_session_that_held_nothing_says_so_instead_of_saved(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    w.show()
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    session = parts.factory.last
    session.discarded, session.audio_seconds = True, 0.3
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        session.error(AuthError("The API key was rejected (1008)."))
    box = w.error_dialogs.dialog
    assert box is not None and w.error_dialogs.shown_count == 1
    assert "The API key was rejected (1008)." in box.text()
    assert "Nothing was recorded, so no session was kept." in box.text() and "saved in" not in box.text()
    assert "no session was kept" in w.status.message_label.text()
    assert w.session_folder is None and w.audio_path is None and not session.folder.exists()
    box.close()


def test_a_fatal_error_after_a_turn_names_the_folder_at_once(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    session = parts.factory.last
    session.final(make_turn(0, "Hello."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    session.error(AuthError("The account ran out of credit (1008)."), fatal_stop=False)
    qtbot.waitUntil(lambda: w.error_dialogs.dialog is not None, timeout=5000)
    assert parts.controller.running, "said while the session still ends"
    assert f"saved in:\n{session.folder}" in w.error_dialogs.dialog.text()  # type: ignore[union-attr]
    w.error_dialogs.dialog.close()  # type: ignore[union-attr]
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()


def test_the_recovery_offer_goes_when_acted_on_or_when_the_next_recording_starts(qtbot, tmp_path) -> None:
    folder = tmp_path / "2026-11-23_14-05-09"
    folder.mkdir()
    recovered = RecoveredSession(7, folder, folder / "audio.wav", 42.0, 3, restored="the recording (00:42) and 3 turns")
    parts = build_window(qtbot, tmp_path, recovery_loader=lambda s: ([make_turn(0, "Hi.")], ("es",)))
    w = parts.window
    w.show()
    w.offer_recovered([recovered])
    assert w.recovery_banner.isVisible()
    open_button = next(b for b in w.recovery_banner.buttons if b.text() == "Open folder")
    qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)
    assert not w.recovery_banner.isVisible(), "acted on: the offer is gone"
    assert str(folder) in w.status.message_label.text(), "no file manager offscreen: the path is said instead"
    w.offer_recovered([recovered])
    assert w.recovery_banner.isVisible()
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    assert not w.recovery_banner.isVisible(), "a new recording: the old offer is no longer the news"
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()


def test_the_terminal_says_nothing_was_kept_instead_of_a_folder(tmp_path) -> None:
    from app.cli import summary_line
    from app.pipeline.events import SessionSummary

    gone = tmp_path / "2026-12-01_10-00-00"
    summary = SessionSummary(folder=gone, audio_path=gone / "audio.wav", audio_seconds=0.25, turns=0,
                             translations_done=0, translations_failed=0, discarded=True, transcribed=False)
    line = summary_line(summary)
    assert line == "Nothing was recorded (0.2 s of audio, no turns), so no session was kept."
    assert str(gone) not in line and "saved" not in line
