"""One recording, one owner, and recovery that tells the truth: two real processes on one data
folder, kill -9, a relative --out recovered from elsewhere, a journal locked mid-session, a folder
whose transcript is more complete than the journal, folders that are gone, unreadable rows, and a
journal found damaged after it was opened."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY, cli_env, make_session
from support.speech import make_speech_wav, make_tone_wav
from ui_support import make_turn

from app.core.errors import OutputError
from app.core.exports import write_session_exports
from app.core.transcript import Translation, TranslationStatus
from app.pipeline.recovery import describe, recover_unfinished
from app.store.db import SessionStatus, SessionStore

SENTENCES = ["First we open the meeting.", "Then we read the minutes.", "After that we vote on the plan.",
             "Finally we close the meeting."]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "meeting.wav", SENTENCES, pause_s=1.0)


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "short.wav", SENTENCES[:1], pause_s=0.5)


def cli(args: list[str], home: Path, stt: FakeStreamingServer, llm: FakeLlmGateway, *, cwd: Path | None = None,
        stdout: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--headless", "--streaming-url", stt.url, "--llm-url", llm.base_url, *args],
        stdout=stdout, stderr=subprocess.PIPE, text=True, env=cli_env(home, KEY), stdin=subprocess.DEVNULL, cwd=cwd)


def until_turn(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line)["event"] == "turn":
            return
    raise AssertionError("no turn")


def journal(home: Path) -> SessionStore:
    return SessionStore(home / "data" / "live-translate" / "sessions.db")


@pytest.mark.realtime
@pytest.mark.e2e
@pytest.mark.timeout(150)
def test_a_second_instance_never_takes_a_live_recording_for_a_crashed_one_but_recovers_it_after_kill_9(
        speech: Path, short: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = ["--out", str(tmp_path / "sessions")]
    with FakeStreamingServer(api_key=KEY, script=SENTENCES * 3) as stt, FakeLlmGateway(api_key=KEY) as llm:
        first = cli(["--input", str(speech), "--jsonl", *out], home, stt, llm)
        until_turn(first)  # A is recording: its row says "recording"
        second = cli(["--input", str(short), *out], home, stt, llm, stdout=subprocess.DEVNULL)
        _, second_err = second.communicate(timeout=60)
        _, first_err = first.communicate(timeout=60)
        assert second.returncode == 0 and first.returncode == 0, second_err + first_err
        assert "Recovered" not in second_err, "the live recording was left alone"
        with journal(home) as store:
            statuses = sorted(s.status.value for s in store.list_sessions())
        assert statuses == ["finished", "finished"], "two instances recorded at once, each its own session"

        killed = cli(["--input", str(speech), "--jsonl", *out], home, stt, llm)
        until_turn(killed)
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=10)
        after = cli(["--input", str(short), *out], home, stt, llm, stdout=subprocess.DEVNULL)
        _, after_err = after.communicate(timeout=60)
    assert after.returncode == 0, after_err
    assert after_err.count("Recovered an unfinished session") == 1 and "1 turn" in after_err
    with journal(home) as store:
        statuses = sorted(s.status.value for s in store.list_sessions())
    assert statuses == ["finished", "finished", "finished", "recovered"]


@pytest.mark.realtime
@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_relative_out_is_recovered_from_another_directory(speech: Path, short: Path, tmp_path: Path) -> None:
    home, here, elsewhere = tmp_path / "home", tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    with FakeStreamingServer(api_key=KEY, script=SENTENCES * 2) as stt, FakeLlmGateway(api_key=KEY) as llm:
        killed = cli(["--input", str(speech), "--jsonl", "--out", "relative-sessions"], home, stt, llm, cwd=here)
        until_turn(killed)
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=10)
        later = cli(["--input", str(short), "--out", "other"], home, stt, llm, cwd=elsewhere,
                    stdout=subprocess.DEVNULL)
        _, err = later.communicate(timeout=60)
    [folder] = (here / "relative-sessions").iterdir()
    assert f"Recovered an unfinished session in {folder}" in err, err
    assert (folder / "transcript.json").is_file() and json.loads((folder / "transcript.json").read_text())["turns"]


@pytest.mark.realtime
@pytest.mark.timeout(90)
def test_a_journal_locked_mid_session_is_said_once_and_caught_up_when_it_can_be_written(
        speech: Path, tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        store = SessionStore(db)
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech, store=store)
        session.prepare()
        session.start_threads()
        while not rec.turns and not rec.ended.is_set():
            rec.ended.wait(0.05)
        other = sqlite3.connect(db, isolation_level=None, timeout=1, check_same_thread=False)  # another program
        other.execute("BEGIN EXCLUSIVE")
        unlocked = threading.Event()

        def unlock_later() -> None:
            while not any("cannot be written" in e.message for e in list(rec.errors)):
                if rec.ended.wait(0.05):
                    break
            other.execute("ROLLBACK")
            other.close()
            unlocked.set()

        threading.Thread(target=unlock_later, daemon=True).start()
        assert rec.ended.wait(80)
        assert unlocked.wait(5)
        kept = store.load_transcript(session.session_id or 0)
        record = store.get_session(session.session_id or 0)
        store.close()
    summary = rec.summary
    assert summary is not None and summary.error is None, "the session went on"
    said = [e.message for e in rec.errors if "session archive" in e.message]
    assert len([m for m in said if "cannot be written" in m]) == 1 and not any(e.fatal for e in rec.errors)
    assert "brought up to date as soon as it can be written again" in said[0]
    assert [t.text for t in kept.turns()] == [t.text for t in rec.turns] == SENTENCES
    assert record is not None and record.status is SessionStatus.FINISHED
    assert json.loads((summary.folder / "transcript.json").read_text())["turns"][-1]["text"] == SENTENCES[-1]


def crashed_session(tmp_path: Path, store: SessionStore, journal_turns: int, file_turns: int) -> tuple[int, Path]:
    folder = tmp_path / "sessions" / "2026-11-30_10-00-00"
    folder.mkdir(parents=True)
    make_tone_wav(folder / "audio.wav")
    record = store.create_session(folder=folder, audio_path=folder / "audio.wav", source_language=None,
                                  speech_model="universal-streaming-english", target_languages=["es"],
                                  llm_model="m")
    turns = [make_turn(i, f"Sentence {i}.") for i in range(max(journal_turns, file_turns))]
    for turn in turns:
        turn.translations["es"] = Translation("es", f"Frase {turn.index}.", TranslationStatus.DONE)
    for turn in turns[:journal_turns]:
        store.add_turn(record.id, turn)
    write_session_exports(folder, turns[:file_turns], ["es"], {"title": "t"})
    store.release(record.uid)  # the process that recorded it died
    return record.id, folder


def test_recovery_merges_a_journal_that_fell_behind_with_the_more_complete_folder(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "journal.db") as store:
        session_id, folder = crashed_session(tmp_path, store, journal_turns=2, file_turns=5)
        [rec] = recover_unfinished(store)
        kept = store.load_transcript(session_id)
    doc = json.loads((folder / "transcript.json").read_text())
    assert [t["text"] for t in doc["turns"]] == [f"Sentence {i}." for i in range(5)], "never a less complete copy"
    assert [t.text for t in kept.turns()] == [f"Sentence {i}." for i in range(5)], "the journal took in the rest"
    assert rec.restored.endswith("5 turns, 3 of them from the transcript file") and rec.problem == ""


def test_recovery_keeps_what_only_the_journal_had_too(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "journal.db") as store:
        _, folder = crashed_session(tmp_path, store, journal_turns=4, file_turns=1)
        [rec] = recover_unfinished(store)
    assert len(json.loads((folder / "transcript.json").read_text())["turns"]) == 4 and rec.turns == 4


def test_a_session_whose_folder_is_gone_is_reported_as_such_once_with_what_is_still_there(tmp_path: Path) -> None:
    import shutil

    with SessionStore(tmp_path / "journal.db") as store:
        session_id, folder = crashed_session(tmp_path, store, journal_turns=3, file_turns=0)
        shutil.rmtree(folder)
        [rec] = recover_unfinished(store)
        again = recover_unfinished(store)
        record = store.get_session(session_id)
    text = describe(rec)
    assert "folder" in text and "is gone" in text and "3 turns are kept in the session archive" in text
    assert "Recovered" not in text and again == [], "said once"
    assert record is not None and "is gone" in record.note


def test_an_unreadable_journal_row_is_set_aside_with_a_message_never_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    with SessionStore(db) as store:
        crashed_session(tmp_path, store, journal_turns=1, file_turns=1)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE sessions SET target_languages = '{not json'")
    with SessionStore(db) as store:
        assert recover_unfinished(store) == []
        [said] = store.set_aside
    assert "could not be read" in said and "set aside" in said
    with SessionStore(db) as store:
        assert recover_unfinished(store) == [] and store.set_aside == [], "set aside once, not at every start"


def test_a_journal_found_damaged_after_opening_is_moved_aside_and_recording_works_again(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    store = SessionStore(db)
    first = store.create_session(folder=tmp_path, audio_path=tmp_path / "a.wav", source_language=None,
                                 speech_model="m", target_languages=["es"], llm_model="m")
    for i in range(100):
        store.add_turn(first.id, make_turn(i, "words " * 40))
    with sqlite3.connect(db) as checkpoint:
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size
    with db.open("r+b") as damaged:  # another program scribbles over pages while the app runs
        damaged.seek(4096 * 3)
        damaged.write(b"\xde\xad\xbe\xef" * ((size - 4096 * 3) // 4))
    with pytest.raises(OutputError, match="malformed"):
        store.load_transcript(first.id)
    fresh = store.create_session(folder=tmp_path, audio_path=tmp_path / "b.wav", source_language=None,
                                 speech_model="m", target_languages=["es"], llm_model="m")
    store.add_turn(fresh.id, make_turn(0, "recording works again"))
    assert [t.text for t in store.load_transcript(fresh.id).turns()] == ["recording works again"]
    assert store.moved_aside is not None and store.moved_aside.exists() and "found damaged" in store.notice
    store.close()


def test_the_same_process_never_recovers_its_own_live_session(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "journal.db")
    live = store.create_session(folder=tmp_path, audio_path=tmp_path / "a.wav", source_language=None,
                                speech_model="m", target_languages=["es"], llm_model="m")
    assert recover_unfinished(store) == []
    with SessionStore(tmp_path / "journal.db") as second_window:  # the window's recovery at start-up
        assert recover_unfinished(second_window) == []
    store.finish_session(live.id)
    store.close()
