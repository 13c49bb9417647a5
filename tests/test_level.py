"""Level-meter math: RMS in dBFS and the meter position."""
from __future__ import annotations

import math
import struct

import pytest
from support.speech import pcm_sine

from app.core.level import meter_fraction, rms_dbfs


def test_silence_and_no_audio_are_minus_infinity() -> None:
    assert rms_dbfs(b"") == -math.inf
    assert rms_dbfs(bytes(3200)) == -math.inf


def test_a_full_scale_square_wave_is_zero_dbfs() -> None:
    assert rms_dbfs(struct.pack("<4h", -32768, -32768, -32768, -32768)) == 0.0
    assert rms_dbfs(struct.pack("<4h", 32767, -32768, 32767, -32768)) == pytest.approx(0.0, abs=0.001)


def test_a_half_scale_sine_is_about_minus_nine_dbfs() -> None:
    # RMS of a sine is peak / sqrt(2): 20 * log10(0.5 / sqrt(2)) = -9.03 dB.
    assert rms_dbfs(pcm_sine(1000, 0.1, amplitude=0.5)) == pytest.approx(-9.03, abs=0.05)


def test_one_lsb_of_noise_is_near_the_bottom_of_16_bit_range() -> None:
    assert rms_dbfs(struct.pack("<2h", 1, -1)) == pytest.approx(-90.3, abs=0.1)


def test_a_trailing_odd_byte_is_ignored() -> None:
    assert rms_dbfs(struct.pack("<2h", 1000, -1000) + b"\x7f") == rms_dbfs(struct.pack("<2h", 1000, -1000))


@pytest.mark.parametrize(
    ("dbfs", "fraction"),
    [
        (-math.inf, 0.0), (math.nan, 0.0), (-90.0, 0.0), (-60.0, 0.0),
        (-45.0, 0.25), (-30.0, 0.5), (0.0, 1.0), (3.0, 1.0),
    ],
)
def test_the_meter_maps_the_floor_to_empty_and_full_scale_to_full(dbfs: float, fraction: float) -> None:
    assert meter_fraction(dbfs) == pytest.approx(fraction)


def test_the_meter_floor_can_be_raised() -> None:
    assert meter_fraction(-20.0, floor=-40.0) == pytest.approx(0.5)


def test_a_floor_at_or_above_full_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="must be below 0 dBFS"):
        meter_fraction(-10.0, floor=0.0)
