"""The one audio format the app records, streams and stores, and conversions between bytes and time.

Pure constants and arithmetic; any thread. Every source converts to this format, the WAV is written
in it, and the streaming connection sends it: 16 kHz, mono, signed 16-bit little-endian PCM.
"""
from __future__ import annotations

SAMPLE_RATE = 16000
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes per sample
BYTES_PER_SECOND = SAMPLE_RATE * CHANNELS * SAMPLE_WIDTH
BYTES_PER_MS = BYTES_PER_SECOND // 1000  # 32


def bytes_to_ms(size: int) -> int:
    """Milliseconds of session audio in ``size`` bytes (whole milliseconds, rounded down)."""
    return size // BYTES_PER_MS


def ms_to_bytes(ms: int) -> int:
    return ms * BYTES_PER_MS
