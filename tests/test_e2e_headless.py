"""End to end: ``live-translate --headless --input speech.wav --jsonl`` against the local
imitations of the streaming service and the LLM Gateway, run as a user would (a subprocess)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import cli_env
from support.speech import make_speech_wav

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

KEY = "e2e-secret-key-123"
SENTENCES = ["Hello and welcome to the meeting.", "Today we talk about the budget.", "Thank you all for coming."]


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES)


def run_cli(args: list[str], home: Path, *, key: str | None = KEY, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = cli_env(home, key)
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.mark.e2e
@pytest.mark.timeout(120)
@pytest.mark.parametrize("formatting", ["two_message", "inline"])
def test_headless_session_from_a_wav_is_transcribed_translated_and_saved(
    speech_wav: Path, tmp_path: Path, formatting: str
) -> None:
    out_dir = tmp_path / "sessions"
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, formatting=formatting) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        result = run_cli(["--headless", "--input", str(speech_wav), "--jsonl", "--to", "es", "--to", "German",
                          "--streaming-url", stt.url, "--llm-url", llm.base_url, "--out", str(out_dir)], tmp_path)
        connections = stt.connections
    assert result.returncode == 0, result.stderr
    evs = events(result.stdout)
    kinds = [e["event"] for e in evs]
    assert next(k for k in kinds if k != "state") == "session_started" and kinds[-1] == "session_ended"
    assert "interim" in kinds
    turns = [e for e in evs if e["event"] == "turn"]
    assert [t["text"] for t in turns] == SENTENCES  # one final per turn, the formatted text
    translations = [e for e in evs if e["event"] == "translation"]
    for lang, name in (("es", "Spanish"), ("de", "German")):
        mine = [t for t in translations if t["language"] == lang]
        assert [t["turn"] for t in mine] == [0, 1, 2], "one translation per turn, in turn order"
        assert [t["text"] for t in mine] == [f"[{name}] {s}" for s in SENTENCES]
    ended = evs[-1]
    folder = Path(ended["folder"])
    assert folder.parent == out_dir and ended["turns"] == 3 and ended["translations_failed"] == 0

    # The WAV holds exactly the audio of the input.
    with wave.open(str(speech_wav)) as src, wave.open(str(folder / "audio.wav")) as got:
        assert (got.getframerate(), got.getnchannels(), got.getsampwidth()) == (16000, 1, 2)
        assert got.readframes(got.getnframes()) == src.readframes(src.getnframes())

    # Every export is there and parses.
    doc = json.loads((folder / "transcript.json").read_text())
    assert [t["text"] for t in doc["turns"]] == SENTENCES
    assert all(set(t["translations"]) == {"es", "de"} for t in doc["turns"])
    srt = (folder / "transcript.srt").read_text()
    assert len(re.findall(r"^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$", srt, re.M)) == 3
    assert (folder / "transcript.vtt").read_text().startswith("WEBVTT")
    assert "| Time | Original | Spanish | German |" in (folder / "transcript.md").read_text()
    assert (folder / "transcript.es.srt").exists() and (folder / "transcript.de.srt").exists()

    # The key went in a header, never in the URL; the session was terminated gracefully.
    [conn] = connections
    assert conn.headers.get("Authorization") == KEY
    assert KEY not in conn.path
    assert conn.query["speech_model"] == "universal-streaming-english"
    # Nothing the session wrote contains the key.
    for path in [*folder.rglob("*"), *tmp_path.rglob("*.db*"), *tmp_path.rglob("*.log")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_headless_without_a_key_says_how_to_set_one(speech_wav: Path, tmp_path: Path) -> None:
    result = run_cli(["--headless", "--input", str(speech_wav)], tmp_path, key=None)
    assert result.returncode == 2
    assert "No AssemblyAI API key" in result.stderr and "ASSEMBLYAI_API_KEY" in result.stderr


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_headless_with_a_rejected_key_exits_6_and_keeps_no_empty_session(speech_wav: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key="the-right-key", script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        result = run_cli(["--headless", "--input", str(speech_wav), "--jsonl", "--streaming-url", stt.url,
                          "--llm-url", llm.base_url, "--out", str(tmp_path / "s")], tmp_path)
    assert result.returncode == 6, result.stderr
    evs = events(result.stdout)
    errors = [e for e in evs if e["event"] == "error"]
    assert len(errors) == 1 and "API key was rejected" in errors[0]["message"]
    ended = evs[-1]
    assert ended["event"] == "session_ended" and "API key was rejected" in ended["error"]
    # Refused at once: nothing was recorded, so no folder of empty files is left behind.
    assert ended["discarded"] and ended["audio_seconds"] < 1 and ended["turns"] == 0
    assert not Path(ended["folder"]).exists() and list((tmp_path / "s").iterdir()) == []
