"""Microphone lookup and capture: a scripted fake PyAudio for the logic, a virtual PulseAudio microphone
for the real PortAudio path."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from support.pulse import VirtualMicrophone, virtual_microphone
from support.speech import make_speech_wav, zero_crossing_frequency

from app.audio.microphone import MicrophoneSource
from app.audio.portaudio import NO_MICROPHONE_MESSAGE, PORTAUDIO, find_device, list_input_devices
from app.audio.source import AudioSource
from app.audio.wav_source import WavFileSource
from app.core.devices import InputDevice
from app.core.errors import DeviceError
from app.core.level import rms_dbfs
from app.core.units import SAMPLE_RATE

DEVICES = [
    InputDevice(index=0, name="HDA Intel PCH: ALC3246 Analog (hw:0,0)", default_sample_rate=44100,
                max_input_channels=2, is_default=False),
    InputDevice(index=2, name="USB Headset: Audio (hw:1,0)", default_sample_rate=48000,
                max_input_channels=1, is_default=False),
    InputDevice(index=5, name="pulse", default_sample_rate=44100, max_input_channels=32, is_default=False),
    InputDevice(index=6, name="default", default_sample_rate=44100, max_input_channels=32, is_default=True),
]


# --- find_device -----------------------------------------------------------------------------------


def test_no_device_means_the_default_input() -> None:
    assert find_device(None, DEVICES).name == "default"
    assert find_device("  ", DEVICES).name == "default"


def test_without_a_default_the_first_input_is_used() -> None:
    no_default = [InputDevice(3, "Line In", 48000, 2, False), InputDevice(4, "Mic", 48000, 1, False)]
    assert find_device(None, no_default).index == 3


@pytest.mark.parametrize("spec", [2, "2", " 2 "])
def test_a_number_picks_the_device_with_that_index(spec: str | int) -> None:
    assert find_device(spec, DEVICES).name == "USB Headset: Audio (hw:1,0)"


def test_an_unknown_index_lists_the_real_devices_with_their_numbers() -> None:
    with pytest.raises(DeviceError) as refused:
        find_device(1, DEVICES)
    assert refused.value.message == (
        "There is no microphone number 1. The microphones are:\n"
        "  0: HDA Intel PCH: ALC3246 Analog (hw:0,0)\n"
        "  2: USB Headset: Audio (hw:1,0)\n"
        "  5: pulse\n"
        "  6: default (default)\n"
        "Choose one of these by number or name."
    )


def test_a_name_matches_exactly_before_a_partial_match() -> None:
    assert find_device("pulse", DEVICES).index == 5
    assert find_device("default", DEVICES).index == 6


def test_a_name_matches_case_insensitively_and_in_part() -> None:
    assert find_device("usb headset", DEVICES).index == 2
    assert find_device("ALC3246", DEVICES).index == 0


def test_among_several_partial_matches_the_default_device_wins_then_the_lowest_index() -> None:
    windows = [
        InputDevice(1, "Microphone (Realtek Audio)", 44100, 2, False),
        InputDevice(7, "Microphone (Realtek Audio)", 48000, 2, True),
        InputDevice(9, "Microphone Array (Realtek Audio)", 48000, 4, False),
    ]
    assert find_device("realtek", windows).index == 7
    assert find_device("microphone array", windows).index == 9
    assert find_device("Microphone", windows[::2]).index == 1


def test_an_unknown_name_lists_the_real_devices() -> None:
    with pytest.raises(DeviceError, match=r'(?s)no microphone called "Blue Yeti".*\n  2: USB Headset'):
        find_device("Blue Yeti", DEVICES)


def test_no_input_devices_at_all_says_to_connect_one_or_use_a_file() -> None:
    with pytest.raises(DeviceError) as refused:
        find_device(None, [])
    assert refused.value.message == NO_MICROPHONE_MESSAGE
    assert "Connect one, or use --input FILE.wav" in NO_MICROPHONE_MESSAGE


# --- a scripted PyAudio --------------------------------------------------------------------------------


def device_info(index: int, name: str, inputs: int, rate: float = 48000.0, outputs: int = 0) -> dict[str, Any]:
    return {"index": index, "name": name, "maxInputChannels": inputs, "maxOutputChannels": outputs,
            "defaultSampleRate": rate}


class FakeStream:
    """A device on the module's fake clock: it records in real time into a buffer of
    ``module.buffer_s`` seconds (what does not fit is lost), and ``read`` waits for a block by
    advancing the clock. The audio is a continuous 1 kHz sine in the format it was opened with."""

    def __init__(self, module: FakePyAudioModule, rate: int, channels: int) -> None:
        self.module, self.rate, self.channels = module, rate, channels
        self.position = 0
        self.closed = False
        self.started_at = module.now
        self.taken_s = 0.0  # read or lost
        self.reads = 0

    def read(self, frames: int, exception_on_overflow: bool = True) -> bytes:
        assert exception_on_overflow is False  # raising would throw away the block that was read
        if self.module.reads_before_failure is not None:
            if self.module.reads_before_failure == 0:
                raise OSError(-9999, "Unanticipated host error")
            self.module.reads_before_failure -= 1
        buffered = self.module.now - self.started_at - self.taken_s
        if buffered > self.module.buffer_s:
            self.taken_s += buffered - self.module.buffer_s  # an overflow: the oldest audio is gone
            buffered = self.module.buffer_s
        block_s = frames / self.rate
        if buffered < block_s:
            self.module.now += block_s - buffered  # wait for the device to finish the block
        self.taken_s += block_s
        self.reads += 1
        self.module.now += self.module.late_wake_ups.get(self.reads, 0.0)
        out = bytearray()
        for n in range(self.position, self.position + frames):
            value = round(12000 * math.sin(2 * math.pi * 1000 * n / self.rate))
            out += value.to_bytes(2, "little", signed=True) * self.channels
        self.position += frames
        return bytes(out)

    def get_input_latency(self) -> float:
        return 0.2

    def stop_stream(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class FakePyAudio:
    def __init__(self, module: FakePyAudioModule) -> None:
        self.module = module

    def get_device_count(self) -> int:
        return len(self.module.devices)

    def get_device_info_by_index(self, index: int) -> dict[str, Any]:
        return self.module.devices[index]

    def get_default_input_device_info(self) -> dict[str, Any]:
        if self.module.default is None:
            raise OSError("No Default Input Device Available", -9996)
        return self.module.devices[self.module.default]

    def is_format_supported(self, rate: int, *, input_device: int, input_channels: int, input_format: int) -> bool:
        assert input_format == FakePyAudioModule.paInt16
        self.module.format_checks.append((input_device, rate, input_channels))
        if (rate, input_channels) not in self.module.supported:
            raise ValueError("Invalid sample rate", -9997)
        return True

    def open(self, **options: Any) -> FakeStream:
        self.module.opened.append(options)
        if self.module.open_error is not None:
            raise self.module.open_error
        stream = FakeStream(self.module, options["rate"], options["channels"])
        self.module.streams.append(stream)
        return stream

    def terminate(self) -> None:
        self.module.terminated += 1


class FakePyAudioModule:
    """Stands in for the ``pyaudio`` module: records what the source asked of PortAudio."""

    paInt16 = 8

    def __init__(
        self,
        devices: list[dict[str, Any]] | None = None,
        *,
        default: int | None = 1,
        supported: set[tuple[int, int]] | None = None,
    ) -> None:
        self.devices = devices if devices is not None else [
            device_info(0, "HDMI Output", 0, outputs=8),
            device_info(1, "USB Headset", 1),
        ]
        self.default = default
        self.supported = supported if supported is not None else {(16000, 1)}
        self.opened: list[dict[str, Any]] = []
        self.streams: list[FakeStream] = []
        self.format_checks: list[tuple[int, int, int]] = []
        self.terminated = 0
        self.open_error: BaseException | None = None
        self.reads_before_failure: int | None = None
        self.now = 500.0
        self.buffer_s = 0.3
        self.late_wake_ups: dict[int, float] = {}

    def clock(self) -> float:
        return self.now

    def PyAudio(self) -> FakePyAudio:
        return FakePyAudio(self)


def test_listing_keeps_only_devices_that_can_record_and_marks_the_default() -> None:
    module = FakePyAudioModule([
        device_info(0, "HDMI Output", 0, outputs=8),
        device_info(1, "Built-in Microphone", 2, 44100.0),
        device_info(2, "USB Headset", 1, 48000.0, outputs=2),
    ], default=2)
    assert list_input_devices(module.PyAudio()) == [
        InputDevice(1, "Built-in Microphone", 44100, 2, False),
        InputDevice(2, "USB Headset", 48000, 1, True),
    ]


def test_listing_without_a_default_input_marks_none() -> None:
    module = FakePyAudioModule(default=None)
    assert [d.is_default for d in list_input_devices(module.PyAudio())] == [False]


def test_a_nonexistent_index_is_refused_before_portaudio_opens_anything() -> None:
    module = FakePyAudioModule()
    source = MicrophoneSource(7, pyaudio_module=module)
    with pytest.raises(DeviceError, match=r"no microphone number 7\. The microphones are:\n  1: USB Headset \(default\)"):
        source.open()
    assert module.opened == [] and module.format_checks == []
    assert source.portaudio.open_streams == 0  # nothing is left open


def test_opening_with_no_input_devices_says_to_connect_one_or_use_a_file() -> None:
    module = FakePyAudioModule([device_info(0, "HDMI Output", 0, outputs=8)], default=None)
    with pytest.raises(DeviceError, match=r"No microphone was found\. Connect one, or use --input FILE\.wav"):
        MicrophoneSource(pyaudio_module=module).open()
    assert module.opened == []


def test_a_device_that_offers_16_khz_mono_is_recorded_as_is() -> None:
    module = FakePyAudioModule()
    source = MicrophoneSource(pyaudio_module=module)
    source.open()
    assert isinstance(source, AudioSource)
    assert source.description == "Microphone: USB Headset"
    assert module.opened[0] | {"format": None} == {
        "format": None, "channels": 1, "rate": 16000, "input": True, "input_device_index": 1,
        "frames_per_buffer": 1600,
    }
    expected = FakeStream(FakePyAudioModule(), 16000, 1).read(1600, exception_on_overflow=False)
    assert source.read() == expected
    source.close()


def test_a_device_without_16_khz_is_recorded_natively_and_converted() -> None:
    module = FakePyAudioModule([device_info(0, "Pro Interface", 2, 48000.0)], default=0, supported={(48000, 2)})
    source = MicrophoneSource(pyaudio_module=module)
    source.open()
    assert (module.opened[0]["rate"], module.opened[0]["channels"]) == (48000, 2)
    assert (source.capture_rate, source.capture_channels) == (48000, 2)
    blocks = [source.read() for _ in range(10)]
    audio = b"".join(block for block in blocks if block is not None)
    assert [len(block or b"") for block in blocks] == [3200] * 10
    assert zero_crossing_frequency(audio, SAMPLE_RATE) == pytest.approx(1000, rel=0.01)
    source.close()


def test_a_device_with_no_usable_format_is_refused() -> None:
    module = FakePyAudioModule(supported=set())
    with pytest.raises(DeviceError, match='The microphone "USB Headset" offers no 16-bit recording format'):
        MicrophoneSource(pyaudio_module=module).open()
    assert module.opened == []


def test_a_device_that_cannot_be_opened_says_what_to_check() -> None:
    module = FakePyAudioModule()
    module.open_error = OSError(-9985, "Device unavailable")
    with pytest.raises(DeviceError, match=r'"USB Headset" could not be opened \(Device unavailable\)\. It may be in use'):
        (source := MicrophoneSource(pyaudio_module=module)).open()
    assert source.portaudio.open_streams == 0  # nothing is left open


def test_a_microphone_that_disappears_mid_session_raises_device_error() -> None:
    module = FakePyAudioModule()
    module.reads_before_failure = 3
    source = MicrophoneSource(pyaudio_module=module)
    source.open()
    for _ in range(3):
        assert source.read()
    with pytest.raises(DeviceError, match=r'The microphone "USB Headset" disappeared or stopped working'):
        source.read()
    source.close()
    source.close()
    assert module.streams[0].closed and source.portaudio.open_streams == 0


def overflows_after(module: FakePyAudioModule, stalls: dict[int, float], reads: int = 60) -> int:
    """Record ``reads`` blocks; after read k the caller is busy for ``stalls[k]`` seconds."""
    source = MicrophoneSource(pyaudio_module=module, clock=module.clock)
    source.open()
    try:
        for k in range(reads):
            assert source.read()
            module.now += stalls.get(k, 0.002)
        return source.overflows
    finally:
        source.close()


def test_a_caller_that_keeps_up_sees_no_overflows() -> None:
    assert overflows_after(FakePyAudioModule(), {}) == 0


def test_a_stall_the_buffer_absorbs_is_not_an_overflow() -> None:
    assert overflows_after(FakePyAudioModule(), {10: 0.28}) == 0


def test_a_stall_longer_than_the_buffer_counts_one_overflow_each_time() -> None:
    assert overflows_after(FakePyAudioModule(), {10: 1.0}) == 1
    assert overflows_after(FakePyAudioModule(), {10: 1.0, 30: 0.6}) == 2


def test_a_large_server_side_buffer_loses_nothing_in_a_long_stall() -> None:
    module = FakePyAudioModule()
    module.buffer_s = 5.0  # PulseAudio keeps seconds of audio for a slow client
    assert overflows_after(module, {10: 1.5}) == 0


def test_one_late_wake_up_inside_a_read_is_not_an_overflow() -> None:
    module = FakePyAudioModule()
    module.buffer_s = 1.0
    module.late_wake_ups = {12: 0.3}  # read 12 returns 0.3 s after its block was ready
    assert overflows_after(module, {}) == 0


def test_reading_a_closed_microphone_is_a_bug() -> None:
    source = MicrophoneSource(pyaudio_module=FakePyAudioModule())
    with pytest.raises(RuntimeError):
        source.read()
    source.close()


# --- the real PortAudio path, through a virtual PulseAudio microphone ---------------------------------

SPEECH = ["Good morning, everyone.", "Let us begin the meeting with a short update."]


def block_levels(blocks: list[bytes]) -> list[float]:
    return [rms_dbfs(block) for block in blocks]


def speech_span_s(levels: list[float], threshold: float) -> float:
    loud = [k for k, level in enumerate(levels) if level > threshold]
    return (loud[-1] - loud[0] + 1) / 10 if loud else 0.0


@pytest.mark.microphone
@pytest.mark.timeout(90, method="thread")  # a hang inside PortAudio/libpulse cannot be interrupted otherwise
def test_the_virtual_microphone_hears_speech_played_into_it(virtual_mic: VirtualMicrophone, tmp_path: Path) -> None:
    speech = make_speech_wav(tmp_path / "speech.wav", SPEECH)
    played = WavFileSource(speech, realtime=False)
    played.open()
    played_blocks = []
    while (block := played.read()) is not None:
        played_blocks.append(block)
    played.close()
    played_levels = block_levels(played_blocks)

    assert virtual_mic.device_name in [d.name for d in PORTAUDIO.devices()]
    source = MicrophoneSource(virtual_mic.device_name)
    source.open()
    try:
        assert source.description == "Microphone: pulse"
        silence = [source.read() or b"" for _ in range(3)]  # also waits until the stream is running
        player = virtual_mic.start_playing(speech)
        captured: list[bytes] = []
        limit = len(played_levels) + 50  # bounded: the recording plus five seconds
        tail = 10  # keep reading a second after the player is done, for the buffered end
        while len(captured) < limit and tail > 0:
            captured.append(source.read() or b"")
            if player.poll() is not None:
                tail -= 1
        assert player.wait(timeout=10) == 0
    finally:
        source.close()

    assert all(len(block) == 3200 for block in captured)
    floor = max([*block_levels(silence), -90.0])
    captured_levels = block_levels(captured)
    assert max(captured_levels) > floor + 40  # speech, well above the silence floor
    assert max(captured_levels) == pytest.approx(max(played_levels), abs=3)  # at the level it was played
    threshold = max(played_levels) - 30
    assert speech_span_s(captured_levels, threshold) == pytest.approx(speech_span_s(played_levels, threshold), abs=0.3)


@pytest.mark.microphone
@pytest.mark.timeout(60, method="thread")  # a hang inside PortAudio/libpulse cannot be interrupted otherwise
def test_a_microphone_unplugged_mid_session_reports_that_it_disappeared() -> None:
    with virtual_microphone() as mic:
        source = MicrophoneSource(mic.device_name)
        source.open()
        try:
            assert source.read()
            mic.unplug()
            with pytest.raises(DeviceError, match=r'The microphone "pulse" disappeared or stopped working'):
                for _ in range(50):  # the stream may still hold a few buffered blocks
                    source.read()
        finally:
            source.close()
    assert mic.process.poll() is not None  # the daemon is gone after the context
