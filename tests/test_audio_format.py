"""Conversion of any integer PCM to 16 kHz mono s16le, whole and block by block."""
from __future__ import annotations

import random
import struct
import subprocess
import sys
from array import array
from pathlib import Path

import pytest
from support.speech import pcm_sine, zero_crossing_frequency

from app.audio.format import Converter, to_s16le_mono_16k
from app.core.units import BYTES_PER_SECOND, CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH

REPO = Path(__file__).resolve().parents[1]


def samples_of(pcm: bytes) -> list[int]:
    return list(array("h", pcm))


def test_the_output_format_is_16_khz_mono_16_bit() -> None:
    assert (SAMPLE_RATE, CHANNELS, SAMPLE_WIDTH, BYTES_PER_SECOND) == (16000, 1, 2, 32000)


def test_16_khz_mono_16_bit_passes_through_unchanged() -> None:
    pcm = pcm_sine(440, 0.1)
    assert to_s16le_mono_16k(pcm, sample_rate=16000, channels=1, sample_width=2) == pcm


def test_8_bit_unsigned_is_centred_and_scaled_to_16_bit() -> None:
    out = to_s16le_mono_16k(bytes([0x80, 0xFF, 0x00, 0x81]), sample_rate=16000, channels=1, sample_width=1)
    assert samples_of(out) == [0, 127 * 256, -32768, 256]


def test_24_bit_keeps_the_top_16_bits_including_the_sign() -> None:
    values = [0x123456, -1, -0x800000, 0x7FFFFF]
    pcm = b"".join(v.to_bytes(3, "little", signed=True) for v in values)
    out = to_s16le_mono_16k(pcm, sample_rate=16000, channels=1, sample_width=3)
    assert samples_of(out) == [0x1234, -1, -32768, 32767]


def test_32_bit_keeps_the_top_16_bits_including_the_sign() -> None:
    pcm = struct.pack("<4i", 0x7FFFFFFF, -(2**31), 0x00010000, -65536)
    out = to_s16le_mono_16k(pcm, sample_rate=16000, channels=1, sample_width=4)
    assert samples_of(out) == [32767, -32768, 1, -1]


def test_stereo_is_downmixed_by_averaging_the_channels() -> None:
    pcm = struct.pack("<6h", 1000, 3000, 20000, -20000, 32767, 32767)
    out = to_s16le_mono_16k(pcm, sample_rate=16000, channels=2, sample_width=2)
    assert samples_of(out) == [2000, 0, 32767]


def test_many_channels_are_downmixed_by_averaging() -> None:
    pcm = struct.pack("<6h", 300, 600, 900, -32768, -32768, -32768)
    out = to_s16le_mono_16k(pcm, sample_rate=16000, channels=3, sample_width=2)
    assert samples_of(out) == [600, -32768]


def test_downsampling_a_ramp_interpolates_linearly() -> None:
    # A ramp stays a ramp under linear interpolation: output k sits at input position k * 22050/16000.
    ramp = array("h", range(4000)).tobytes()
    out = samples_of(to_s16le_mono_16k(ramp, sample_rate=22050, channels=1, sample_width=2))
    assert out == [k * 22050 // 16000 for k in range(len(out))]
    assert len(out) == pytest.approx(4000 * 16000 / 22050, abs=1)


def test_upsampling_doubles_8_khz_with_midpoints() -> None:
    pcm = struct.pack("<4h", 0, 100, 200, 300)
    out = to_s16le_mono_16k(pcm, sample_rate=8000, channels=1, sample_width=2)
    assert samples_of(out) == [0, 50, 100, 150, 200, 250]


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 32000, 44100, 48000, 96000])
def test_one_second_at_any_rate_becomes_one_second_at_16_khz(rate: int) -> None:
    pcm = pcm_sine(1000, 1.0, rate=rate)
    out = to_s16le_mono_16k(pcm, sample_rate=rate, channels=1, sample_width=2)
    assert len(out) == pytest.approx(BYTES_PER_SECOND, abs=4)


@pytest.mark.parametrize(
    ("rate", "channels", "width"), [(44100, 2, 3), (48000, 2, 4), (8000, 1, 1), (22050, 6, 2), (32000, 1, 2)]
)
def test_a_converted_sine_keeps_its_frequency(rate: int, channels: int, width: int) -> None:
    pcm = pcm_sine(1000, 1.0, rate=rate, channels=channels, sample_width=width)
    out = to_s16le_mono_16k(pcm, sample_rate=rate, channels=channels, sample_width=width)
    assert zero_crossing_frequency(out) == pytest.approx(1000, rel=0.01)


@pytest.mark.parametrize(
    ("rate", "channels", "width"), [(44100, 2, 3), (48000, 1, 2), (8000, 2, 1), (16000, 3, 4)]
)
def test_streaming_in_uneven_blocks_gives_exactly_the_whole_file_result(
    rate: int, channels: int, width: int
) -> None:
    # No clicks at block edges: blocks of any size (even cutting frames in two) must join seamlessly.
    pcm = pcm_sine(440, 0.5, rate=rate, channels=channels, sample_width=width, amplitude=0.9)
    whole = to_s16le_mono_16k(pcm, sample_rate=rate, channels=channels, sample_width=width)
    converter = Converter(sample_rate=rate, channels=channels, sample_width=width)
    pieces, offset, chooser = [], 0, random.Random(7)
    while offset < len(pcm):
        size = chooser.randint(1, 5000)
        pieces.append(converter.convert(pcm[offset : offset + size]))
        offset += size
    assert b"".join(pieces) == whole


def test_a_partial_frame_waits_for_the_next_block() -> None:
    converter = Converter(sample_rate=16000, channels=2, sample_width=2)
    frame = struct.pack("<2h", 100, 300)
    assert converter.convert(frame[:3]) == b""
    assert samples_of(converter.convert(frame[3:])) == [200]


@pytest.mark.parametrize(
    ("rate", "channels", "width"), [(16000, 1, 5), (16000, 0, 2), (16000, 9, 2), (0, 1, 2)]
)
def test_unsupported_formats_are_refused(rate: int, channels: int, width: int) -> None:
    with pytest.raises(ValueError, match=r"unsupported|invalid"):
        Converter(sample_rate=rate, channels=channels, sample_width=width)


def test_the_audio_package_does_not_need_qt() -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "import app.audio.format, app.core.level, app.audio.source, app.audio.wav_source\n"
        "import app.audio.wav_writer, app.audio.microphone\n"
        "assert 'pyaudio' not in sys.modules, 'pyaudio must be imported lazily'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)
