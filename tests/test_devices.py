"""Device names people recognise: the sound server's sources (PulseAudio/PipeWire) as the device list,
one "System default", old saved names found again, and a chosen source really being the one recorded."""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from ui_support import build_window, ini_settings, qt_hygiene  # noqa: F401 - autouse fixture

from app.audio.device_list import merge
from app.audio.microphone import MicrophoneSource
from app.audio.portaudio import PORTAUDIO, find_device
from app.audio.sound_server import ServerListing, list_sources, parse_default_source, parse_sources
from app.core.devices import DeviceKind, InputDevice
from app.core.settings import Settings
from app.core.units import SAMPLE_RATE
from app.settings.qt_store import SETTINGS_VERSION, QtSettingsStore, SettingsKey

# What `LC_ALL=C pactl list sources` prints on a laptop with a USB headset (trimmed to what is read).
PACTL_SOURCES = """Source #57
\tState: SUSPENDED
\tName: alsa_output.pci-0000_00_1f.3.analog-stereo.monitor
\tDescription: Monitor of Built-in Audio Analog Stereo
\tDriver: module-alsa-card.c
\tMonitor of Sink: alsa_output.pci-0000_00_1f.3.analog-stereo
\tProperties:
\t\tdevice.description = "Monitor of Built-in Audio Analog Stereo"
\t\tdevice.class = "monitor"
\t\talsa.card = "0"
\tFormats:
\t\tpcm
Source #58
\tState: RUNNING
\tName: alsa_input.pci-0000_00_1f.3.analog-stereo
\tDescription: Built-in Audio Analog Stereo
\tDriver: module-alsa-card.c
\tMonitor of Sink: n/a
\tProperties:
\t\talsa.card = "0"
\t\talsa.device = "0"
\t\talsa.card_name = "HDA Intel PCH"
\t\talsa.name = "ALC3246 Analog"
\t\tdevice.description = "Built-in Audio Analog Stereo"
\t\tdevice.class = "sound"
\tFormats:
\t\tpcm
Source #61
\tState: SUSPENDED
\tName: alsa_input.usb-Logitech_USB_Headset-00.mono-fallback
\tDescription: USB headset
\tMonitor of Sink: n/a
\tProperties:
\t\talsa.card = "1"
\t\talsa.device = "0"
\t\talsa.card_name = "Logitech USB Headset"
\t\talsa.name = "USB Audio"
\t\tdevice.description = "USB headset"
\t\tdevice.product.name = "Logitech \\"G\\" Headset"
"""
PACTL_INFO = "Server String: /run/user/1000/pulse/native\nDefault Sink: x\nDefault Source: alsa_input.pci-0000_00_1f.3.analog-stereo\n"

# What PortAudio lists on the same laptop: the hardware by ALSA names, and the server's virtual devices.
PORTAUDIO_DEVICES = [
    InputDevice(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", 44100, 2, False),
    InputDevice(4, "Logitech USB Headset: USB Audio (hw:1,0)", 48000, 1, False),
    InputDevice(7, "sysdefault", 48000, 128, False),
    InputDevice(8, "pulse", 44100, 32, False),
    InputDevice(9, "default", 44100, 32, True),
]


def listing() -> ServerListing:
    return ServerListing(tuple(parse_sources(PACTL_SOURCES)), parse_default_source(PACTL_INFO))


def test_the_sound_servers_sources_are_read_with_their_descriptions_and_portaudio_names() -> None:
    sources = parse_sources(PACTL_SOURCES)
    assert [s.description for s in sources] == ["Monitor of Built-in Audio Analog Stereo",
                                                "Built-in Audio Analog Stereo", 'USB headset']
    assert sources[0].monitor_of == "alsa_output.pci-0000_00_1f.3.analog-stereo" and sources[1].monitor_of is None
    assert sources[1].portaudio_names == ("HDA Intel PCH: ALC3246 Analog (hw:0,0)",)
    assert sources[2].portaudio_names == ("Logitech USB Headset: USB Audio (hw:1,0)",)
    assert sources[2].properties["device.product.name"] == 'Logitech "G" Headset'
    assert listing().default_source == "alsa_input.pci-0000_00_1f.3.analog-stereo"
    assert list_sources(run=lambda args: None) is None, "no server: the caller falls back to PortAudio's names"


def test_one_list_microphones_by_description_the_system_default_once_and_monitors_kept_apart() -> None:
    devices = merge(PORTAUDIO_DEVICES, listing())
    microphones = [d.name for d in devices if d.kind is DeviceKind.MICROPHONE]
    assert microphones == ["Built-in Audio Analog Stereo", 'USB headset'], "no hw:0,0, no pulse, no default"
    assert [d.name for d in devices if d.kind is DeviceKind.SYSTEM] == ["sysdefault", "pulse", "default"]
    assert [d.name for d in devices if d.kind is DeviceKind.MONITOR] == ["Built-in Audio Analog Stereo — what you hear"]
    built_in = next(d for d in devices if d.name == "Built-in Audio Analog Stereo")
    assert built_in.index == 8 and built_in.server_name == "alsa_input.pci-0000_00_1f.3.analog-stereo"
    assert built_in.is_default and "HDA Intel PCH: ALC3246 Analog (hw:0,0)" in built_in.aliases
    twins = merge(PORTAUDIO_DEVICES, ServerListing(tuple(parse_sources(PACTL_SOURCES * 2)), None))
    names = [d.name for d in twins if d.kind is DeviceKind.MICROPHONE]
    assert len(names) == len(set(names)) == 4, "two identical headsets stay two choices"
    assert merge(PORTAUDIO_DEVICES, None)[-2:] == PORTAUDIO_DEVICES[:2], "no server: PortAudio's own names"


def test_a_device_is_found_by_its_name_an_old_saved_name_or_as_the_system_default() -> None:
    devices = merge(PORTAUDIO_DEVICES, listing())
    assert find_device("USB headset", devices).server_name == "alsa_input.usb-Logitech_USB_Headset-00.mono-fallback"
    old = find_device("HDA Intel PCH: ALC3246 Analog (hw:0,0)", devices)  # what version 1 saved
    assert old.name == "Built-in Audio Analog Stereo" and old.server_name is not None
    assert find_device(None, devices).name == "default", "PortAudio's default follows the sound settings"
    assert find_device("System default", devices).name == "default"
    assert find_device("pulse", devices).name == "pulse" and find_device("pulse", devices).server_name is None
    assert find_device("usb", devices).kind is DeviceKind.MICROPHONE
    assert find_device(8, devices).server_name is None, "a number is PortAudio's device of that number"


def test_the_picker_shows_system_default_once_and_migrates_a_saved_portaudio_name(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(device="HDA Intel PCH: ALC3246 Analog (hw:0,0)"))
    controls = parts.window.controls
    controls.set_devices(merge(PORTAUDIO_DEVICES, listing()))
    labels = [controls.device.itemText(i) for i in range(controls.device.count())]
    assert labels == ["System default", "Built-in Audio Analog Stereo", 'USB headset', "",
                      "System audio — what the computer plays", "System audio (what the computer plays)",
                      "Built-in Audio Analog Stereo — what you hear"], "system audio under its own heading"
    assert controls.device.currentText() == "Built-in Audio Analog Stereo"
    assert parts.window.settings.device == "Built-in Audio Analog Stereo", "saved by the new name"
    assert parts.settings_store.load().device == "Built-in Audio Analog Stereo"
    tip = str(controls.device.itemData(0, Qt.ItemDataRole.ToolTipRole))
    assert "now: Built-in Audio Analog Stereo" in tip


@pytest.mark.parametrize(("saved", "loaded"), [("pulse", None), ("default", None), ("sysdefault", None),
                                               ("USB Headset: Audio (hw:1,0)", "USB Headset: Audio (hw:1,0)")])
def test_saved_names_of_version_1_that_meant_the_system_default_become_it(tmp_path, saved, loaded) -> None:
    ini = tmp_path / "window.ini"
    q = ini_settings(ini)
    q.setValue(SettingsKey.VERSION.value, 1)
    q.setValue(SettingsKey.DEVICE.value, saved)
    q.sync()
    store = QtSettingsStore(ini_settings(ini))
    assert store.load().device == loaded and store.version() == SETTINGS_VERSION


def tone_wav(path: Path, seconds: float = 4.0) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(b"".join(struct.pack("<h", round(9000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE)))
                                 for n in range(int(seconds * SAMPLE_RATE))))
    return path


def loudness(source: MicrophoneSource, blocks: int = 8) -> float:
    source.open()
    try:
        data = b"".join(source.read() or b"" for _ in range(blocks))
    finally:
        source.close()
    samples = struct.unpack(f"<{len(data) // 2}h", data)
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


@pytest.mark.microphone
@pytest.mark.timeout(60)
def test_the_source_chosen_by_its_description_is_the_one_recorded(virtual_mic, tmp_path) -> None:
    virtual_mic.pactl("load-module", "module-null-sink", "sink_name=other_speaker")
    virtual_mic.pactl("load-module", "module-remap-source", "master=other_speaker.monitor", "source_name=other_mic",
                      "source_properties=\"device.description='Other Microphone'\"")
    names = [d.name for d in PORTAUDIO.devices() if d.kind is DeviceKind.MICROPHONE]
    assert names == ["Virtual Microphone", "Other Microphone"]
    player = virtual_mic.start_playing(tone_wav(tmp_path / "tone.wav"))  # into the virtual speaker only
    try:
        heard = loudness(MicrophoneSource(virtual_mic.description))
        silent = loudness(MicrophoneSource("Other Microphone"))
    finally:
        player.wait(timeout=30)
    assert heard > 1000 and silent < 50, (heard, silent)
