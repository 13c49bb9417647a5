"""System audio as a source: what the computer plays (an output's monitor), listed under its own
heading, found by name or as "System audio" (the default output), recorded through the one PortAudio
owner, and a whole session captured from it with no microphone involved."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from PySide6.QtCore import Qt
from session_rig import cli_env
from support.pulse import MICROPHONE_DESCRIPTION, SYSTEM_AUDIO_LABEL, VirtualMicrophone
from support.speech import make_speech_wav
from test_devices import PACTL_INFO, PACTL_SOURCES, PORTAUDIO_DEVICES, loudness, tone_wav
from ui_support import build_window, qt_hygiene  # noqa: F401 - autouse fixture

from app.audio.device_list import merge
from app.audio.microphone import MicrophoneSource
from app.audio.portaudio import PORTAUDIO, find_device, list_input_devices
from app.audio.sound_server import ServerListing, parse_default_sink, parse_default_source, parse_sources
from app.core.devices import SYSTEM_AUDIO, DeviceKind
from app.core.errors import DeviceError
from app.core.settings import Settings
from app.ui.controls import SYSTEM_AUDIO_HEADING

KEY = "system-audio-key-0123456789"
BUILT_IN_OUT = "Built-in Audio Analog Stereo — what you hear"


def listing(default_sink: str | None = "alsa_output.pci-0000_00_1f.3.analog-stereo") -> ServerListing:
    return ServerListing(tuple(parse_sources(PACTL_SOURCES)), parse_default_source(PACTL_INFO), default_sink)


def test_an_outputs_monitor_is_listed_as_what_you_hear_and_system_audio_is_the_default_outputs() -> None:
    assert parse_default_sink("Default Sink: alsa_output.usb\nDefault Source: x\n") == "alsa_output.usb"
    devices = merge(PORTAUDIO_DEVICES, listing())
    monitor = next(d for d in devices if d.kind is DeviceKind.MONITOR)
    assert monitor.name == BUILT_IN_OUT and monitor.is_default
    assert "Monitor of Built-in Audio Analog Stereo" in monitor.aliases, "the server's own description finds it"
    assert find_device(SYSTEM_AUDIO, devices) == monitor
    assert find_device("system audio", devices) == monitor, "typed in any case"
    assert find_device("Monitor of Built-in Audio Analog Stereo", devices) == monitor
    assert find_device(None, devices).kind is DeviceKind.SYSTEM, "the default input is never a monitor"
    other = merge(PORTAUDIO_DEVICES, listing(default_sink="alsa_output.hdmi"))
    assert find_device(SYSTEM_AUDIO, other).name == BUILT_IN_OUT, "no monitor of the default: the first one"


def test_without_a_sound_server_system_audio_says_what_it_needs_and_how_to_check(monkeypatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    devices = merge(PORTAUDIO_DEVICES, None)
    with pytest.raises(DeviceError) as caught:
        find_device(SYSTEM_AUDIO, devices)
    assert "PulseAudio or PipeWire" in caught.value.message and "pactl info" in caught.value.message
    assert caught.value.exit_code == 4


class _Loopbacks:
    """What PortAudio lists on Windows with PyAudioWPatch, and on macOS with BlackHole."""

    def __init__(self, infos: list[dict]) -> None:
        self.infos = infos

    def get_default_input_device_info(self) -> dict:
        return self.infos[0]

    def get_device_count(self) -> int:
        return len(self.infos)

    def get_device_info_by_index(self, index: int) -> dict:
        return self.infos[index]


def test_a_wasapi_loopback_or_a_blackhole_input_is_system_audio() -> None:
    infos = [{"index": 0, "name": "Microphone (Realtek)", "maxInputChannels": 2, "defaultSampleRate": 48000},
             {"index": 1, "name": "Speakers (Realtek) [Loopback]", "maxInputChannels": 2, "defaultSampleRate": 48000,
              "isLoopbackDevice": True},
             {"index": 2, "name": "BlackHole 2ch", "maxInputChannels": 2, "defaultSampleRate": 48000}]
    devices = list_input_devices(_Loopbacks(infos))
    assert [d.kind for d in devices] == [DeviceKind.MICROPHONE, DeviceKind.MONITOR, DeviceKind.MONITOR]
    assert find_device(SYSTEM_AUDIO, devices).index == 1
    assert find_device(None, devices).index == 0


def test_the_picker_offers_system_audio_under_its_own_heading_and_remembers_it_by_name(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings())
    controls = parts.window.controls
    controls.set_devices(merge(PORTAUDIO_DEVICES, listing()))
    labels = [controls.device.itemText(i) for i in range(controls.device.count())]
    assert labels == ["System default", "Built-in Audio Analog Stereo", "USB headset", "", SYSTEM_AUDIO_HEADING,
                      "System audio (what the computer plays)", BUILT_IN_OUT]
    heading = controls.device.findText(SYSTEM_AUDIO_HEADING)
    flags = controls.device.model().flags(controls.device.model().index(heading, 0))
    assert not flags & Qt.ItemFlag.ItemIsEnabled, "a heading is not a choice"
    assert controls.device_names() == ["Built-in Audio Analog Stereo", "USB headset"]
    assert controls.system_audio_names() == [BUILT_IN_OUT]
    controls.device.setCurrentIndex(controls.device.findData(BUILT_IN_OUT))
    assert parts.window.settings.device == BUILT_IN_OUT
    assert parts.settings_store.load().device == BUILT_IN_OUT, "remembered by name, like a microphone"
    again = build_window(qtbot, tmp_path, settings=parts.settings_store.load())
    again.window.controls.set_devices(merge(PORTAUDIO_DEVICES, listing()))
    assert again.window.controls.device.currentText() == BUILT_IN_OUT


@pytest.mark.microphone
@pytest.mark.timeout(60)
def test_system_audio_hears_the_speakers_and_the_microphone_does_not(virtual_mic, tmp_path) -> None:
    devices = PORTAUDIO.devices()
    assert find_device(SYSTEM_AUDIO, devices).name == SYSTEM_AUDIO_LABEL
    assert [d.name for d in devices if d.kind is DeviceKind.MICROPHONE] == [MICROPHONE_DESCRIPTION]
    player = virtual_mic.start_playing(tone_wav(tmp_path / "tone.wav"), into="virtual_speaker")
    try:
        system = MicrophoneSource(SYSTEM_AUDIO)
        heard = loudness(system)
        microphone = loudness(MicrophoneSource(MICROPHONE_DESCRIPTION))
    finally:
        player.wait(timeout=30)
    assert system.description == f"System audio: {SYSTEM_AUDIO_LABEL}"
    assert heard > 1000 and microphone < 50, (heard, microphone)
    assert PORTAUDIO.open_streams == 0


def run_cli(mic: VirtualMicrophone | None, home: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = mic.client_env() if mic is not None else dict(os.environ)
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=cli_env(home, KEY, {**base, **(env or {})}))


@pytest.mark.microphone
@pytest.mark.timeout(60)
def test_list_devices_prints_microphones_and_system_audio_under_their_headings(virtual_mic, tmp_path) -> None:
    done = run_cli(virtual_mic, tmp_path / "home", "--list-devices")
    assert done.returncode == 0, done.stderr
    mics, _, system = done.stdout.partition("System audio")
    assert mics.startswith("Microphones") and MICROPHONE_DESCRIPTION in mics and SYSTEM_AUDIO_LABEL not in mics
    assert f"System audio (now {SYSTEM_AUDIO_LABEL})" in system and f"  {SYSTEM_AUDIO_LABEL}\n" in system


@pytest.mark.timeout(60)
def test_system_audio_without_a_sound_server_says_it_needs_pulseaudio_or_pipewire(tmp_path) -> None:
    nowhere = {"PULSE_SERVER": f"unix:{tmp_path / 'no-server'}", "PULSE_CLIENTCONFIG": str(tmp_path / "none.conf")}
    (tmp_path / "none.conf").write_text("autospawn = no\n")
    listed = run_cli(None, tmp_path / "home", "--list-devices", env=nowhere)
    assert "System audio" in listed.stdout and "pactl info" in listed.stdout, listed.stdout
    done = run_cli(None, tmp_path / "home", "--headless", "--system-audio", "--streaming-url", "ws://127.0.0.1:9/v3/ws",
                   env=nowhere)
    assert done.returncode == 4, done.stderr
    assert "PulseAudio or PipeWire" in done.stderr and "pactl info" in done.stderr
    both = run_cli(None, tmp_path / "home", "--headless", "--system-audio", "--device", "x", env=nowhere)
    assert both.returncode == 2 and "leave out --device" in both.stderr


def start_on_system_audio(mic: VirtualMicrophone, tmp_path: Path, stt_url: str, llm_url: str,
                          *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--headless", "--system-audio", "--jsonl", *extra,
         "--streaming-url", stt_url, "--llm-url", llm_url, "--out", str(tmp_path / "sessions")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        env=cli_env(tmp_path / "home", KEY, mic.client_env()))


def events_until(proc: subprocess.Popen[str], done) -> list[dict]:
    assert proc.stdout is not None
    events: list[dict] = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if done(events[-1]):
            break
    return events


SENTENCES = ["The video starts now.", "Welcome to the show."]


@pytest.mark.realtime
@pytest.mark.microphone
@pytest.mark.e2e
@pytest.mark.timeout(120, method="thread")
def test_a_session_captures_what_the_computer_plays_with_no_microphone_involved(virtual_mic, tmp_path) -> None:
    speech = make_speech_wav(tmp_path / "video.wav", SENTENCES, pause_s=1.2)
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm, \
            start_on_system_audio(virtual_mic, tmp_path, stt.url, llm.base_url, "--to", "fr") as proc:
        events = events_until(proc, lambda e: e.get("state") == "live")
        virtual_mic.play(make_speech_wav(tmp_path / "me.wav", ["Nobody hears me."]))  # the microphone: not heard
        virtual_mic.play_system(speech)  # the browser plays a video
        events += events_until(proc, lambda e: e["event"] == "turn" and e["text"] == SENTENCES[-1])
        proc.send_signal(2)
        rest, err = proc.communicate(timeout=30)
        events += [json.loads(line) for line in rest.splitlines() if line.strip()]
    assert proc.returncode == 0, err
    started = next(e for e in events if e["event"] == "session_started")
    assert started["input"] == "system_audio"
    assert SYSTEM_AUDIO_LABEL in started["source"]
    assert [e["text"] for e in events if e["event"] == "turn"] == SENTENCES, "the speakers' words, not the mic's"
    ended = events[-1]
    saved = json.loads((Path(ended["folder"]) / "transcript.json").read_text())
    assert [t["text"] for t in saved["turns"]] == SENTENCES


@pytest.mark.realtime
@pytest.mark.microphone
@pytest.mark.e2e
@pytest.mark.timeout(120, method="thread")
def test_an_output_that_disappears_ends_the_session_with_a_message_about_system_audio(virtual_mic, tmp_path) -> None:
    speech = make_speech_wav(tmp_path / "video.wav", SENTENCES, pause_s=1.2)
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm, \
            start_on_system_audio(virtual_mic, tmp_path, stt.url, llm.base_url) as proc:
        events_until(proc, lambda e: e.get("state") == "live")
        virtual_mic.play_system(speech)
        events = events_until(proc, lambda e: e["event"] == "turn")
        virtual_mic.unplug_speakers()
        rest, err = proc.communicate(timeout=60)
        events += [json.loads(line) for line in rest.splitlines() if line.strip()]
    assert proc.returncode == 4, err
    errors = [e["message"] for e in events if e["event"] == "error"]
    assert len(errors) == 1 and "system-audio source" in errors[0] and SYSTEM_AUDIO_LABEL in errors[0], errors
    assert events[-1]["event"] == "session_ended" and events[-1]["turns"] >= 1
