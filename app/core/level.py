"""Level-meter math for s16le audio: RMS in dBFS and its position on a meter.

Pure functions, cheap enough to run on the audio capture thread once per block; the UI only reads
the resulting float (and repaints from its own timer). In core because both the audio layer and the
window use it.
"""
from __future__ import annotations

import math
import operator
import sys
from array import array

FULL_SCALE = 32768.0
DEFAULT_FLOOR_DBFS = -60.0


def rms_dbfs(pcm: bytes) -> float:
    """RMS level of s16le samples in dB relative to full scale: -inf for silence, at most 0.0.

    Full scale is a square wave at the int16 limit, so a full-scale sine reads about -3 dBFS.
    A trailing odd byte is ignored.
    """
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return -math.inf
    if sys.byteorder == "big":
        samples.byteswap()
    power = sum(map(operator.mul, samples, samples)) / len(samples)
    if power == 0:
        return -math.inf
    return min(0.0, 10.0 * math.log10(power / (FULL_SCALE * FULL_SCALE)))


def meter_fraction(dbfs: float, floor: float = DEFAULT_FLOOR_DBFS) -> float:
    """Map dBFS linearly onto 0..1 for a meter: ``floor`` and below (and -inf, NaN) -> 0, 0 dBFS -> 1."""
    if floor >= 0:
        raise ValueError(f"the meter floor must be below 0 dBFS, not {floor}")
    if math.isnan(dbfs) or dbfs <= floor:
        return 0.0
    if dbfs >= 0.0:
        return 1.0
    return (dbfs - floor) / -floor
