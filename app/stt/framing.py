"""Re-cut captured PCM into websocket frames the streaming service accepts.

Pure Python, no I/O; used by the stt client's sender thread (one FrameBuffer per connection, never
shared between threads).

Why it exists [protocol §2.1, §6.3]: every binary message must hold 50-1000 ms of audio, or the
service answers ``Error 3007 "Input duration violation"`` and closes the session. Sound cards deliver
whatever block size they like (20 ms, 32 ms, 4096 samples...), so chunks are collected here and sent
as frames of exactly ``frame_ms``. The tail left when a session ends is padded with silence up to
50 ms, because the docs do not exempt the last chunk before ``Terminate`` from the lower limit.

Only 16-bit little-endian mono PCM (``pcm_s16le``), the encoding this app sends.
"""
from __future__ import annotations

import math

from app.core.units import SAMPLE_RATE
from app.core.units import SAMPLE_WIDTH as BYTES_PER_SAMPLE  # pcm_s16le mono
from app.stt.protocol import MAX_CHUNK_MS, MIN_CHUNK_MS


def frame_bytes(sample_rate: int, ms: int) -> int:
    """Bytes in ``ms`` of s16le audio, rounded UP to a whole sample so a frame is never shorter
    than asked (at odd rates such as 22050 Hz, 50 ms is 1102.5 samples)."""
    return math.ceil(sample_rate * ms / 1000) * BYTES_PER_SAMPLE


class FrameBuffer:
    """Collects PCM chunks of any size and hands out frames of exactly ``frame_ms``."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, frame_ms: int = 100) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, not {sample_rate}")
        if not MIN_CHUNK_MS <= frame_ms <= MAX_CHUNK_MS:
            raise ValueError(f"frame_ms must be within {MIN_CHUNK_MS}-{MAX_CHUNK_MS} ms, not {frame_ms}")
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.frame_size = frame_bytes(sample_rate, frame_ms)
        self.min_size = frame_bytes(sample_rate, MIN_CHUNK_MS)
        self._pending = bytearray()

    @property
    def pending_bytes(self) -> int:
        """Bytes waiting for a full frame."""
        return len(self._pending)

    def push(self, pcm: bytes) -> list[bytes]:
        """Add a chunk; return every complete frame now available (possibly none)."""
        self._pending += pcm
        count = len(self._pending) // self.frame_size
        if count == 0:
            return []
        cut = count * self.frame_size
        block = bytes(self._pending[:cut])
        del self._pending[:cut]
        return [block[i:i + self.frame_size] for i in range(0, cut, self.frame_size)]

    def flush(self) -> bytes | None:
        """The leftover as one last frame, padded with silence to at least 50 ms; None if empty.

        A dangling half sample (odd byte count) is completed with a zero byte rather than dropped,
        so the frame stays sample-aligned.
        """
        if not self._pending:
            return None
        tail = bytes(self._pending)
        self._pending.clear()
        size = max(len(tail), self.min_size)
        size += size % BYTES_PER_SAMPLE
        return tail + b"\x00" * (size - len(tail))
