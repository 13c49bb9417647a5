"""Filling a kept session's gaps, at real time against the local imitations: a session recorded
while the service could not be reached is transcribed later from the terminal (a subprocess), and
a gap in the middle of a session is filled in place by ``GapFilling`` with the turns around it kept."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import cli_env, pcm_frames, speech_segments
from support.speech import make_speech_wav

from app.core.exports import write_session_exports
from app.core.settings import Settings
from app.core.transcript import Gap, Translation, TranslationStatus, Turn
from app.pipeline.archive import Archive
from app.pipeline.gap_filling import GapFilling
from app.store.db import SessionStore

pytestmark = [pytest.mark.realtime, pytest.mark.timeout(120)]

KEY = "gap-filling-key-0123"
SENTENCES = ["Good morning and welcome.", "The budget is ready.", "Thank you all."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app(home: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout,
                          env=cli_env(home, KEY), stdin=subprocess.DEVNULL)


def test_a_session_recorded_offline_is_transcribed_later_from_the_terminal(tmp_path: Path) -> None:
    speech = make_speech_wav(tmp_path / "talk.wav", SENTENCES[:2], pause_s=1.0)
    home = tmp_path / "home"
    dead = f"ws://127.0.0.1:{free_port()}/v3/ws"
    recorded = app(home, "--headless", "--input", str(speech), "--to", "es", "--streaming-url", dead,
                   "--llm-url", "http://127.0.0.1:9/v1")
    assert recorded.returncode == 9, recorded.stderr
    [row] = json.loads(app(home, "sessions", "list", "--json").stdout)
    assert row["turns"] == 0 and row["gaps"] == 1 and "1 gap" in app(home, "sessions", "list").stdout
    still_offline = app(home, "sessions", "transcribe", row["id"], "--streaming-url", dead, "--connect-wait", "2")
    assert still_offline.returncode == 9 and "could not be reached, so the gaps are kept" in still_offline.stdout
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:2]) as stt, FakeLlmGateway(api_key=KEY) as llm:
        filled = app(home, "sessions", "transcribe", row["id"], "--streaming-url", stt.url, "--llm-url", llm.base_url,
                     "--json")
    assert filled.returncode == 0, filled.stderr
    result = json.loads(filled.stdout)
    assert result["turns_added"] == 2 and result["gaps_left"] == 0 and result["reached"]
    doc = json.loads(app(home, "sessions", "show", row["id"], "--json").stdout)
    assert [t["text"] for t in doc["turns"]] == SENTENCES[:2] and doc["gaps"] == []
    assert [t["translations"]["es"]["text"] for t in doc["turns"]] == [f"[Spanish] {s}" for s in SENTENCES[:2]]
    folder = Path(doc["session"]["folder"])
    on_disk = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert [t["text"] for t in on_disk["turns"]] == SENTENCES[:2] and on_disk["gaps"] == []
    assert pcm_frames(folder / "audio.wav") == pcm_frames(speech), "the recording itself is untouched"
    assert not list(Path("/tmp").glob(f"live-translate-gap-*/{folder.name}")), "the scratch folder is gone"


def test_a_gap_in_the_middle_is_filled_in_place_and_the_turns_around_it_stay(tmp_path: Path) -> None:
    folder = tmp_path / "sessions" / "2026-12-03_10-00-00"
    speech = make_speech_wav(folder / "audio.wav", SENTENCES, pause_s=2.0)
    (first, _), _, (third, third_end) = speech_segments(pcm_frames(speech))[:3]
    turns = []
    for index, (text, (start, end)) in enumerate(zip([SENTENCES[0], SENTENCES[2]],
                                                     [speech_segments(pcm_frames(speech))[0], (third, third_end)],
                                                     strict=True)):
        turn = Turn(index=index, segment=0, turn_order=index, text=text, start_ms=start, end_ms=end, finalized_at=1.0)
        turn.translations["es"] = Translation("es", f"[Spanish] {text}", TranslationStatus.DONE)
        turns.append(turn)
    gap = Gap(turns[0].end_ms + 200, turns[1].start_ms - 200, "connection lost")
    write_session_exports(folder, [turns[0], gap, turns[1]], ["es"], {"uid": "uid-gap", "speech_model":
                                                                       "universal-streaming-english"})
    progress = []
    with SessionStore(tmp_path / "data" / "sessions.db") as store:
        archive = Archive(store)
        sid = archive.import_folder(folder).session_id
        # The gap is streamed with 1.5 s of what comes before and after it, so the ends of the
        # sentences around it are heard too (and dropped again: their middles are outside the gap).
        script = ["and welcome.", SENTENCES[1], "Thank you"]
        with FakeStreamingServer(api_key=KEY, script=script) as stt, FakeLlmGateway(api_key=KEY) as llm:
            job = GapFilling(archive, sid, settings=Settings(streaming_url=stt.url, llm_url=llm.base_url),
                             secrets={"assemblyai": KEY}, progress=progress.append)
            result = job.run()
        assert (result.turns_added, result.gaps_left, result.reached) == (1, 0, True)
        loaded = archive.load(sid)
    entries = loaded.entries
    assert [e.text for e in entries if isinstance(e, Turn)] == SENTENCES  # in time order
    middle = next(e for e in entries if isinstance(e, Turn) and e.text == SENTENCES[1])
    assert gap.start_ms <= (middle.start_ms + middle.end_ms) // 2 <= gap.end_ms and middle.index == 2
    assert middle.translations["es"].text == "[Spanish] The budget is ready."
    assert progress and any("left" in p.text for p in progress) and progress[-1].fraction == 1.0
    assert first == turns[0].start_ms
