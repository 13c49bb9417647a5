"""End to end through the real microphone path: ``live-translate --headless --device pulse`` reads,
through pyaudio and ALSA's pulse plugin, speech played into a PulseAudio virtual microphone; Ctrl+C
then stops gracefully, after the last turn and its translation."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import cli_env
from support.pulse import VirtualMicrophone
from support.speech import make_speech_wav

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

KEY = "mic-e2e-key-0123456789"
SENTENCES = ["Can you hear me now?", "Yes, the microphone works."]


def start_on_microphone(mic: VirtualMicrophone, tmp_path: Path, stt_url: str, llm_url: str,
                        *extra: str) -> subprocess.Popen[str]:
    """``live-translate --headless --jsonl`` on the virtual microphone, as a fresh user."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--headless", "--device", mic.device_name, "--jsonl", *extra,
         "--streaming-url", stt_url, "--llm-url", llm_url, "--out", str(tmp_path / "sessions")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        env=cli_env(tmp_path / "home", KEY, mic.client_env()))


def read_until_live(proc: subprocess.Popen[str]) -> list[dict]:
    """The JSON events up to the session going live (the microphone is open and streaming)."""
    assert proc.stdout is not None
    events: list[dict] = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1].get("state") == "live":
            break
    return events


@pytest.mark.microphone
@pytest.mark.e2e
@pytest.mark.timeout(120, method="thread")
def test_speech_into_the_virtual_microphone_is_transcribed_translated_and_saved_and_ctrl_c_stops_cleanly(
    virtual_mic: VirtualMicrophone, tmp_path: Path
) -> None:
    speech = make_speech_wav(tmp_path / "speech.wav", SENTENCES, pause_s=1.2)
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm, \
            start_on_microphone(virtual_mic, tmp_path, stt.url, llm.base_url, "--to", "it") as proc:
        events = read_until_live(proc)
        virtual_mic.play(speech)  # returns when the speech has been played into the microphone
        # Ctrl+C at once: the last sentence has just been spoken and is not final yet. Stop must
        # still deliver it (Terminate flushes it) and translate it before the session closes.
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
        events += [json.loads(line) for line in rest.splitlines() if line.strip()]
        assert proc.returncode == 0, err
    turns = [e["text"] for e in events if e["event"] == "turn"]
    assert turns == SENTENCES
    assert [e["text"] for e in events if e["event"] == "translation"] == [f"[Italian] {s}" for s in SENTENCES]
    ended = events[-1]
    assert ended["event"] == "session_ended" and ended["error"] is None
    with wave.open(str(Path(ended["folder"]) / "audio.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
    with wave.open(str(speech)) as w:
        spoken = w.getnframes() / w.getframerate()
    assert seconds >= spoken - 0.5  # all of the speech was captured into the WAV
    assert json.loads((Path(ended["folder"]) / "transcript.json").read_text())["turns"][1]["text"] == SENTENCES[1]


@pytest.mark.microphone
@pytest.mark.e2e
@pytest.mark.timeout(120, method="thread")
def test_a_microphone_unplugged_mid_session_ends_it_with_a_clear_message_and_keeps_the_audio(
    virtual_mic: VirtualMicrophone, tmp_path: Path
) -> None:
    speech = make_speech_wav(tmp_path / "speech.wav", SENTENCES, pause_s=1.2)
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm, \
            start_on_microphone(virtual_mic, tmp_path, stt.url, llm.base_url) as proc:
        events = read_until_live(proc)
        virtual_mic.play(speech)
        for line in proc.stdout:  # the first sentence is final: the microphone worked until now
            events.append(json.loads(line))
            if events[-1]["event"] == "turn":
                break
        heard = stt.connections[0].audio_seconds
        virtual_mic.unplug()
        rest, err = proc.communicate(timeout=60)
        events += [json.loads(line) for line in rest.splitlines() if line.strip()]
    assert proc.returncode == 4, err  # a microphone problem
    errors = [e for e in events if e["event"] == "error"]
    assert len(errors) == 1 and "microphone" in errors[0]["message"].lower(), errors
    ended = events[-1]
    assert ended["event"] == "session_ended" and ended["turns"] >= 1
    with wave.open(str(Path(ended["folder"]) / "audio.wav")) as w:
        kept = w.getnframes() / w.getframerate()
    assert kept >= heard  # everything captured before the unplug is in the WAV
