"""Nothing lost, however a session ends or begins: signals, pipes, the end-of-session translations,
the first words, and no network at Record. Real subprocesses and real sessions against the fakes."""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from typing import IO, Any

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY, cli_env, make_session, pcm_frames, run_to_end, speech_segments
from support.speech import make_speech_wav

from app.core.transcript import TranslationStatus
from app.pipeline.events import SessionState
from app.store.db import SessionStore

pytestmark = pytest.mark.realtime

SENTENCES = ["Good morning everyone.", "Let us begin with the budget.", "Sales went up this year.",
             "Thank you for listening."]
EIGHT = ("es", "de", "fr", "it", "pt", "nl", "ja", "pl")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES, pause_s=1.0, lead_s=0.3)


def start_cli(tmp: Path, speech: Path, stt: FakeStreamingServer, llm: FakeLlmGateway, *extra: str,
              jsonl: bool = True, stdout: int | IO[Any] = subprocess.PIPE,
              stderr: int | IO[Any] = subprocess.PIPE) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "app", "--headless", "--input", str(speech), *(["--jsonl"] if jsonl else []),
            "--streaming-url", stt.url, "--llm-url", llm.base_url, "--out", str(tmp / "sessions"), *extra]
    return subprocess.Popen(args, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, text=True,
                            env=cli_env(tmp / "home", KEY))


def read_events_until(proc: subprocess.Popen[str], stop_when: Any) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    seen: list[dict[str, Any]] = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if stop_when(seen):
            return seen
    raise AssertionError(f"the session ended before the expected moment: {seen[-3:]}")


def mid_second_turn(seen: list[dict[str, Any]]) -> bool:
    turns = sum(e["event"] == "turn" for e in seen)
    return turns == 1 and seen[-1]["event"] == "interim" and len(seen[-1]["text"].split()) >= 2


def only_session(tmp: Path) -> Path:
    [folder] = (tmp / "sessions").iterdir()
    return folder


def journal_rows(tmp: Path) -> tuple[list[str], list[tuple[str, str]]]:
    db = tmp / "home" / "data" / "live-translate" / "sessions.db"
    with sqlite3.connect(db) as conn:
        statuses = [r[0] for r in conn.execute("SELECT status FROM sessions")]
        cells = list(conn.execute("SELECT language, status FROM translations"))
    return statuses, cells


# --- 1. every way a session ends ---------------------------------------------------------------

@pytest.mark.timeout(90)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_mid_turn_still_delivers_that_turn_and_its_translations_then_saves_and_exits_0(
        speech: Path, tmp_path: Path, sig: signal.Signals) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        proc = start_cli(tmp_path, speech, stt, llm, "--to", "es", "--to", "de")
        seen = read_events_until(proc, mid_second_turn)
        proc.send_signal(sig)
        rest, err = proc.communicate(timeout=60)
    seen += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == 0, err
    turns = [e for e in seen if e["event"] == "turn"]
    assert [t["text"] for t in turns] == SENTENCES[:2], "the turn in flight was still received"
    settled = {(e["turn"], e["language"]): e["status"] for e in seen if e["event"] == "translation"}
    assert settled == {(t["turn"], lang): "done" for t in turns for lang in ("es", "de")}
    assert seen[-1]["event"] == "session_ended" and seen[-1]["translations_failed"] == 0
    folder = only_session(tmp_path)
    doc = json.loads((folder / "transcript.json").read_text())
    assert [t["text"] for t in doc["turns"]] == SENTENCES[:2]
    statuses, cells = journal_rows(tmp_path)
    assert statuses == ["finished"] and sorted(s for _, s in cells) == ["done"] * 4
    with wave.open(str(folder / "audio.wav")) as w:
        assert w.getnframes() > 0


@pytest.mark.timeout(90)
def test_a_second_signal_quits_at_once_with_open_cells_marked_and_everything_written(
        speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, \
            FakeLlmGateway(api_key=KEY, delay_s=60.0) as llm:  # an LLM that never answers in time
        proc = start_cli(tmp_path, speech, stt, llm, "--to", "es", "--to", "de")
        seen = read_events_until(proc, mid_second_turn)
        proc.send_signal(signal.SIGTERM)
        seen += read_events_until(proc, lambda s: s[-1].get("state") == "finishing" and s[-1]["detail"])
        proc.send_signal(signal.SIGTERM)
        sent_second = time.monotonic()
        rest, err = proc.communicate(timeout=10)
        quit_s = time.monotonic() - sent_second
    seen += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == 130, err
    assert quit_s < 5, f"quitting took {quit_s:.1f} s"  # about a second; the bound only catches a hang
    assert "finishing 4 translations…" in [e.get("detail") for e in seen]
    ended = seen[-1]
    assert ended["event"] == "session_ended" and ended["quit"] and ended["turns"] == 2
    assert ended["translations_done"] == 0 and ended["translations_failed"] == 4
    failed = [e for e in seen if e["event"] == "translation"]
    assert len(failed) == 4 and all(e["status"] == "failed" and "Not translated" in e["error"] for e in failed)
    folder = only_session(tmp_path)
    assert sum((folder / f"transcript.{lang}.srt").read_text().count("[not translated]") for lang in ("es", "de")) == 4
    statuses, cells = journal_rows(tmp_path)
    assert statuses == ["finished"] and sorted(s for _, s in cells) == ["failed"] * 4


@pytest.mark.timeout(90)
def test_after_a_signal_the_ending_is_bounded_by_the_stop_timeout(speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, \
            FakeLlmGateway(api_key=KEY, delay_s=60.0) as llm:
        proc = start_cli(tmp_path, speech, stt, llm, "--to", "es", "--stop-timeout", "2")
        seen = read_events_until(proc, mid_second_turn)
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=30)
    seen += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == 0, err
    ended = seen[-1]
    assert ended["turns"] == 2 and ended["translations_failed"] == 2 and not ended["quit"]


# --- 2. output that cannot be written ----------------------------------------------------------

@pytest.mark.timeout(90)
def test_a_reader_that_closes_the_pipe_ends_the_session_gracefully(speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        proc = start_cli(tmp_path, speech, stt, llm)
        assert proc.stdout is not None
        head: list[str] = []
        while not head or json.loads(head[-1])["event"] != "turn":  # like `| grep -m1 '"turn"'`
            head.append(proc.stdout.readline())
        proc.stdout.close()
        proc.wait(timeout=60)
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.stderr.close()
    assert all(json.loads(line) for line in head)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    folder = only_session(tmp_path)
    assert (folder / "transcript.json").exists() and (folder / "transcript.srt").exists()
    with wave.open(str(folder / "audio.wav")) as w:
        assert w.getnframes() * 2 == len(pcm_frames(folder / "audio.wav"))
    assert journal_rows(tmp_path)[0] == ["finished"]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_stream_that_cannot_be_written_is_turned_off_and_the_session_goes_on(
        speech: Path, tmp_path: Path, stream: str) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm, \
            open("/dev/full", "w") as full:
        kwargs: dict[str, Any] = {stream: full}
        proc = start_cli(tmp_path, speech, stt, llm, jsonl=False, **kwargs)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    if stream == "stdout":
        assert "Session saved in" in err and "4 turns" in err and "Traceback" not in err
    else:
        assert SENTENCES[-1] in out
    doc = json.loads((only_session(tmp_path) / "transcript.json").read_text())
    assert [t["text"] for t in doc["turns"]] == SENTENCES
    assert journal_rows(tmp_path)[0] == ["finished"]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])  # strict UTF-8 streams, and Python's UTF-8 mode
def test_a_file_name_that_is_not_utf8_is_escaped_never_a_traceback(speech: Path, tmp_path: Path, locale: str) -> None:
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9-talk.wav"))
    odd.write_bytes(speech.read_bytes())
    env = {**cli_env(tmp_path / "home", KEY), "LC_ALL": locale}
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:1]) as stt, FakeLlmGateway(api_key=KEY) as llm:
        for jsonl in ([], ["--jsonl"]):
            result = subprocess.run(
                [sys.executable, "-m", "app", "--headless", "--input", str(odd), *jsonl, "--streaming-url", stt.url,
                 "--llm-url", llm.base_url, "--out", str(tmp_path / "sessions")],
                capture_output=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
            assert result.returncode == 0, result.stderr
            assert b"Traceback" not in result.stderr and b"caf" in result.stderr + result.stdout
            if jsonl:
                lines = [json.loads(line.decode("utf-8")) for line in result.stdout.splitlines()]
                started = next(e for e in lines if e["event"] == "session_started")
                assert started["input"].endswith("caf\udce9-talk.wav")


# --- 3. the translations still open when the session ends --------------------------------------

@pytest.mark.timeout(120)
def test_translations_still_open_at_the_end_are_all_finished_and_the_session_says_so(
        speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, \
            FakeLlmGateway(api_key=KEY, delay_s=1.0) as llm:
        store = SessionStore(tmp_path / "journal.db")
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech,
                                    targets=EIGHT, store=store)
        summary = run_to_end(session, rec)
        journal = store.load_transcript(session.session_id or 0)
        store.close()
    counts = [int(d.split()[1]) for s, d in rec.states if s is SessionState.FINISHING and d]
    assert counts and counts == sorted(counts, reverse=True), "a count-down of the open translations"
    assert all(tr.status is TranslationStatus.DONE for t in summary_turns(session) for tr in t.translations.values())
    assert summary.translations_done == summary.turns * len(EIGHT) and summary.translations_failed == 0
    assert all(len(t.translations) == len(EIGHT) and all(tr.status is TranslationStatus.DONE
                                                         for tr in t.translations.values()) for t in journal.turns())
    assert "[not translated]" not in (summary.folder / "transcript.txt").read_text()


def summary_turns(session: Any) -> list[Any]:
    return list(session.transcript.turns())


@pytest.mark.timeout(120)
def test_quit_now_while_finishing_marks_every_open_cell_the_same_everywhere(speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, \
            FakeLlmGateway(api_key=KEY, delay_s=lambda payload, n: 0.2 if n <= 8 else 30.0) as llm:
        store = SessionStore(tmp_path / "journal.db")
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech,
                                    targets=EIGHT, store=store)
        session.prepare()
        session.start_threads()

        def quit_when_finishing() -> None:
            while not rec.ended.is_set():
                with rec.lock:
                    finishing = any(s is SessionState.FINISHING and d for s, d in rec.states)
                if finishing:
                    session.quit_now()
                    return
                rec.ended.wait(0.05)

        threading.Thread(target=quit_when_finishing, daemon=True).start()
        assert rec.ended.wait(90)
        journal = store.load_transcript(session.session_id or 0)
        store.close()
    summary = rec.summary
    assert summary is not None and summary.quit
    cells = [(t.index, tr.language, tr.status) for t in session.transcript.turns() for tr in t.translations.values()]
    stored = [(t.index, tr.language, tr.status) for t in journal.turns() for tr in t.translations.values()]
    assert sorted(cells) == sorted(stored) and len(cells) == summary.turns * len(EIGHT)
    assert TranslationStatus.PENDING not in {c[2] for c in cells}
    failed = sum(c[2] is TranslationStatus.FAILED for c in cells)
    assert failed == summary.translations_failed > 0 and summary.translations_done == len(cells) - failed
    exported = json.loads((summary.folder / "transcript.json").read_text())
    assert sum(tr["status"] == "failed" for t in exported["turns"] for tr in t["translations"].values()) == failed


# --- 4. the first words ------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_audio_flows_as_soon_as_the_socket_opens_so_no_first_word_waits_for_begin(
        speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, begin_delay_s=1.5) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        summary = run_to_end(session, rec)
        heard = stt.connections[0].audio
    recorded = pcm_frames(summary.audio_path)
    assert recorded.startswith(heard[: len(recorded)]) and len(heard) >= len(recorded), \
        "the service heard the recording from its first byte"
    assert summary.gaps == [] and [t.text for t in rec.turns] == SENTENCES


@pytest.mark.timeout(60)
def test_a_slow_connection_sends_its_backlog_within_the_tolerance_and_the_rest_is_a_gap(
        speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, handshake_delay_s=3.0) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        summary = run_to_end(session, rec)
        connection = stt.connections[0]
    assert connection.end == "closed_by_client" or connection.terminated, "no 3007: within the tolerance"
    assert len(summary.gaps) == 1 and summary.gaps[0].start_ms == 0
    gap = summary.gaps[0]
    recorded = pcm_frames(summary.audio_path)
    sent_from = gap.end_ms * 32
    assert recorded[sent_from:].startswith(connection.audio[: len(recorded) - sent_from])
    assert 0 < gap.end_ms <= 2000, "the newest 1.5 s captured while connecting was sent, not dropped"
    covered = [(t.start_ms, t.end_ms) for t in rec.turns] + [(gap.start_ms, gap.end_ms)]
    for start, end in speech_segments(recorded):
        assert any(a < end and start < b for a, b in covered), f"speech at {start} ms is neither transcribed nor a gap"


@pytest.mark.timeout(60)
def test_a_first_connection_that_never_begins_leaves_its_speech_inside_a_gap(speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[1:], faults=[{"no_begin": True}]) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        session.speech.config.begin_timeout_s = 2.0
        summary = run_to_end(session, rec)
        first_heard = len(stt.connections[0].audio)
    assert summary.error is None and summary.transcribed
    assert summary.gaps and summary.gaps[0].start_ms == 0 and summary.gaps[0].end_ms >= first_heard // 32
    covered = [(t.start_ms, t.end_ms) for t in rec.turns] + [(g.start_ms, g.end_ms) for g in summary.gaps]
    for start, end in speech_segments(pcm_frames(summary.audio_path)):
        assert any(a < end and start < b for a, b in covered), f"speech at {start} ms is neither transcribed nor a gap"


# --- 5. recording never depends on the network -------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(60)
def test_a_service_down_at_record_is_waited_for_while_recording_and_the_missed_part_is_a_gap(
        speech: Path, tmp_path: Path) -> None:
    port = free_port()
    with FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=f"ws://127.0.0.1:{port}/v3/ws", llm_url=llm.base_url,
                                    input_wav=speech)
        session.prepare()
        session.start_threads()
        deadline = time.monotonic() + 10
        # Offline for 3 s of audio: more than the 1.5 s a new connection gets sent at once.
        while not (any(s is SessionState.OFFLINE for s, _ in list(rec.states)) and rec.levels >= 30):
            assert time.monotonic() < deadline, "the session never said it is offline"
            rec.ended.wait(0.05)
        with FakeStreamingServer(api_key=KEY, script=SENTENCES[2:], port=port):
            assert rec.ended.wait(60)
    summary = rec.summary
    assert summary is not None and summary.error is None and summary.transcribed
    assert summary.gaps and summary.gaps[0].start_ms == 0 and summary.gaps[0].reason == "not connected yet"
    assert [t.text for t in rec.turns] and all(not e.fatal for e in rec.errors)
    assert sum("Recording anyway" in e.message for e in rec.errors) == 1, "said once, not at every retry"
    assert pcm_frames(speech).startswith(pcm_frames(summary.audio_path)[:32000])


@pytest.mark.timeout(60)
def test_a_session_that_could_not_transcribe_anything_says_so_with_its_own_exit_code(
        speech: Path, tmp_path: Path) -> None:
    port = free_port()
    args = [sys.executable, "-m", "app", "--headless", "--input", str(speech), "--to", "es",
            "--streaming-url", f"ws://127.0.0.1:{port}/v3/ws", "--llm-url", "http://127.0.0.1:9/v1",
            "--out", str(tmp_path / "sessions")]
    result = subprocess.run(args, capture_output=True, text=True, timeout=50, env=cli_env(tmp_path / "home", KEY))
    assert result.returncode == 9, result.stderr
    assert "Nothing was transcribed: the streaming service could not be reached" in result.stderr
    assert result.stderr.count("Recording anyway") == 1
    folder = only_session(tmp_path)
    assert pcm_frames(folder / "audio.wav") == pcm_frames(speech), "the whole recording is kept"
    doc = json.loads((folder / "transcript.json").read_text())
    assert doc["turns"] == [] and len(doc["gaps"]) == 1 and doc["gaps"][0]["start_ms"] == 0


@pytest.mark.timeout(30)
@pytest.mark.parametrize("url", ["ws://127.0.0.1:99999/v3/ws", "ws://127.0.0.1:port/v3/ws", "http://example.com"])
def test_a_url_that_cannot_be_right_is_refused_before_anything_is_recorded(url: str, tmp_path: Path,
                                                                           speech: Path) -> None:
    args = [sys.executable, "-m", "app", "--headless", "--input", str(speech), "--streaming-url", url,
            "--out", str(tmp_path / "sessions")]
    result = subprocess.run(args, capture_output=True, text=True, timeout=25, env=cli_env(tmp_path / "home", KEY))
    assert result.returncode == 2 and "streaming URL" in result.stderr
    assert not (tmp_path / "sessions").exists()
