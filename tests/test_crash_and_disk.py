"""Crash safety and a full disk: kill -9 mid-session loses at most the last second of audio and no
final turn; a disk that fills up ends the session cleanly with a valid WAV of everything written."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
import wave
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY, cli_env, make_session, pcm_frames, run_to_end
from support.speech import make_speech_wav

from app.pipeline.recovery import recover_unfinished
from app.store.db import SessionStore

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

SENTENCES = ["First we open the meeting.", "Then we read the minutes.", "After that we vote on the plan.",
             "Finally we close the meeting.", "See you next week."]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "crash.wav", SENTENCES, pause_s=1.0)


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_kill_9_mid_session_is_recovered_with_all_final_turns_and_at_most_a_second_of_audio_missing(
    speech: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = cli_env(home, KEY)
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        with subprocess.Popen(
            [sys.executable, "-m", "app", "--headless", "--input", str(speech), "--jsonl", "--to", "fr",
             "--streaming-url", stt.url, "--llm-url", llm.base_url, "--out", str(tmp_path / "sessions")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, stdin=subprocess.DEVNULL,
        ) as proc:
            assert proc.stdout is not None
            seen: list[dict] = []
            translated = 0
            for line in proc.stdout:  # read events until two turns are translated, then pull the plug
                event = json.loads(line)
                seen.append(event)
                translated += event["event"] == "translation"
                if translated == 2:
                    break
            # Mid-sentence, between two header rewrites: the worst moment.
            stt.wait_for_audio(stt.connections[0].audio_seconds + 0.7, timeout=10)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            heard_by_server = stt.connections[0].audio_seconds
    assert proc.returncode == -signal.SIGKILL
    folder = Path(next(e["folder"] for e in seen if e["event"] == "session_started"))
    turns_before_kill = [e["text"] for e in seen if e["event"] == "turn"]
    assert len(turns_before_kill) >= 2

    # The next start finds the unfinished session and repairs it.
    with SessionStore(home / "data" / "live-translate" / "sessions.db") as store:
        [recovered] = recover_unfinished(store)
        transcript = store.load_transcript(recovered.session_id)
        assert store.get_session(recovered.session_id).status.value == "recovered"
        assert recover_unfinished(store) == []  # only once
    assert recovered.folder == folder
    with wave.open(str(folder / "audio.wav")) as w:  # playable
        got = w.readframes(w.getnframes())
    assert pcm_frames(speech).startswith(got)
    # The client never sends audio it has not written to the WAV first, so the server's count is a
    # floor for what was captured; the header lags by at most one second.
    assert len(got) / 32000 >= heard_by_server - 1.0, (len(got) / 32000, heard_by_server)
    texts = [t.text for t in transcript.turns()]
    assert texts[:len(turns_before_kill)] == turns_before_kill
    assert all(t.translations["fr"].text == f"[French] {t.text}" for t in transcript.turns()[:2])
    exported = json.loads((folder / "transcript.json").read_text())
    assert exported["session"]["recovered"] is True and len(exported["turns"]) >= 2


@pytest.fixture
def tiny_disk(tmp_path: Path):
    mount_point = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({result.stderr.strip()}); "
                    "test_wav_writer covers ENOSPC with an injected file")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.timeout(90)
def test_a_full_disk_stops_the_session_cleanly_with_a_valid_wav_of_everything_written(
    speech: Path, tmp_path: Path, tiny_disk: Path
) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tiny_disk, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        session.config.min_free_bytes = 0
        summary = run_to_end(session, rec)
    assert summary.error is not None and "disk is full" in summary.error.message
    assert next(e for e in rec.errors if e.fatal) is summary.error
    with wave.open(str(summary.audio_path)) as w:
        got = w.readframes(w.getnframes())
    assert len(got) > 32000 and pcm_frames(speech).startswith(got)
    assert os.path.getsize(summary.audio_path) == 44 + len(got)
