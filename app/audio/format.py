"""PCM conversion to the one format the rest of the app uses: 16 kHz mono signed 16-bit little-endian.

Pure Python (``array`` slicing and C-level ``map``), no ``audioop`` (deprecated). Runs on the audio
capture thread, called by the sources once per block. ``Converter`` keeps state between blocks (a
partial frame, the last sample and the resampling phase) so that streaming block by block gives the
same samples as converting the whole recording at once: no clicks or gaps at block edges.

Resampling is linear interpolation without a low-pass filter. That is enough for speech recognition
(speech energy sits well below 8 kHz); it is not meant for music.
"""
from __future__ import annotations

import operator
import sys
from array import array
from itertools import repeat
from math import gcd

from app.core.units import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH

SUPPORTED_SAMPLE_WIDTHS = (1, 2, 3, 4)
MAX_CHANNELS = 8
_BIG_ENDIAN_HOST = sys.byteorder == "big"


def _to_int16(data: bytes, sample_width: int) -> array[int]:
    """Little-endian PCM of any supported width to int16 samples, keeping the top 16 bits."""
    if sample_width == 2:
        samples = array("h", data)
        if _BIG_ENDIAN_HOST:
            samples.byteswap()
        return samples
    count = len(data) // sample_width
    wide = bytearray(count * 2)
    if sample_width == 1:
        # 8-bit WAV is unsigned: flipping the top bit makes it two's complement, which becomes the
        # high byte of the 16-bit sample (low byte zero).
        wide[1::2] = data.translate(_FLIP_TOP_BIT)
    else:
        # 24 and 32 bit: keep the two most significant bytes of each sample (plain truncation).
        wide[0::2] = data[sample_width - 2 :: sample_width]
        wide[1::2] = data[sample_width - 1 :: sample_width]
    samples = array("h", wide)
    if _BIG_ENDIAN_HOST:
        samples.byteswap()
    return samples


_FLIP_TOP_BIT = bytes(value ^ 0x80 for value in range(256))


def _downmix(samples: array[int], channels: int) -> array[int]:
    """Average interleaved channels into one (floor division keeps the result inside int16)."""
    if channels == 1:
        return samples
    planes = [samples[channel::channels] for channel in range(channels)]
    totals = map(operator.add, planes[0], planes[1]) if channels == 2 else map(sum, zip(*planes, strict=True))
    return array("h", map(operator.floordiv, totals, repeat(channels)))


class Converter:
    """Streams PCM of one source format into 16 kHz mono s16le, one block at a time.

    Feed consecutive blocks of any length to ``convert``; a trailing partial frame is kept for the
    next block. The output of one block may be a sample longer or shorter than its exact share,
    but the stream as a whole keeps its duration and has no discontinuities.
    """

    def __init__(self, *, sample_rate: int, channels: int, sample_width: int) -> None:
        if sample_width not in SUPPORTED_SAMPLE_WIDTHS:
            raise ValueError(f"unsupported sample width {sample_width} bytes (8, 16, 24 or 32 bit only)")
        if not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"unsupported channel count {channels} (1 to {MAX_CHANNELS})")
        if sample_rate <= 0:
            raise ValueError(f"invalid sample rate {sample_rate}")
        self.sample_rate = sample_rate
        self.channels = channels
        self.sample_width = sample_width
        self._frame_bytes = channels * sample_width
        divisor = gcd(sample_rate, SAMPLE_RATE)
        # Resampling positions are kept as exact fractions (numerator over _step_out) so a long
        # session never drifts: output sample n sits at input position n * _step_in / _step_out.
        self._step_in = sample_rate // divisor
        self._step_out = SAMPLE_RATE // divisor
        self._position = 0  # of the next output sample, relative to _history[0], in 1/_step_out units
        self._history: array[int] = array("h")  # the last input sample of the previous block
        self._pending = b""  # a partial frame carried to the next block

    @property
    def is_passthrough(self) -> bool:
        return self.sample_rate == SAMPLE_RATE and self.channels == CHANNELS and self.sample_width == SAMPLE_WIDTH

    def convert(self, data: bytes) -> bytes:
        if self._pending:
            data = self._pending + data
        usable = len(data) - len(data) % self._frame_bytes
        self._pending = data[usable:]
        if self.is_passthrough:
            return data[:usable]
        mono = _downmix(_to_int16(data[:usable], self.sample_width), self.channels)
        if self._step_in != self._step_out:
            mono = self._resample(mono)
        if _BIG_ENDIAN_HOST:
            mono.byteswap()
        return mono.tobytes()

    def _resample(self, block: array[int]) -> array[int]:
        samples = self._history + block
        last = len(samples) - 1
        if last < 1:
            self._history = samples
            return array("h")
        step_in, step_out = self._step_in, self._step_out
        position = self._position
        if position % step_out == 0 and step_in % step_out == 0:
            # Integer ratio (48 kHz, 32 kHz): every output lands on an input sample, so linear
            # interpolation reduces to slicing, which runs at C speed.
            start, stride = position // step_out, step_in // step_out
            out = samples[start:last:stride]
            position += len(out) * step_in
        else:
            out = array("h")
            append = out.append
            while True:
                index, fraction = divmod(position, step_out)
                if index >= last:
                    break
                left = samples[index]
                append(left + (samples[index + 1] - left) * fraction // step_out)
                position += step_in
        # Keep the last sample so the next block interpolates across the edge.
        self._position = position - last * step_out
        self._history = samples[last:]
        return out


def to_s16le_mono_16k(data: bytes, *, sample_rate: int, channels: int, sample_width: int) -> bytes:
    """Convert a whole recording (8-bit unsigned or 16/24/32-bit signed little-endian PCM)."""
    converter = Converter(sample_rate=sample_rate, channels=channels, sample_width=sample_width)
    return converter.convert(data)
