"""FrameBuffer: any chunk sizes in, frames the service accepts (50-1000 ms) out [protocol §2.1]."""
from __future__ import annotations

import random

import pytest

from app.stt.framing import FrameBuffer, frame_bytes


def ms_of(frame: bytes, rate: int = 16000) -> float:
    return len(frame) / (2 * rate) * 1000


def test_small_capture_blocks_are_collected_into_100_ms_frames() -> None:
    fb = FrameBuffer(16000, 100)
    frames: list[bytes] = []
    for _ in range(25):  # 25 x 20 ms callbacks = 500 ms
        frames += fb.push(b"\x01\x00" * 320)
    assert [len(f) for f in frames] == [3200] * 5
    assert fb.pending_bytes == 0
    assert fb.flush() is None


def test_a_large_chunk_is_split_and_the_rest_waits() -> None:
    fb = FrameBuffer(16000, 100)
    frames = fb.push(bytes(3200 * 3 + 100))
    assert [len(f) for f in frames] == [3200, 3200, 3200]
    assert fb.pending_bytes == 100


def test_bytes_come_out_in_order_and_none_are_lost() -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(50_001))
    fb = FrameBuffer(16000, 50)
    out = bytearray()
    pos = 0
    while pos < len(data):
        n = rng.randrange(1, 5000)
        for frame in fb.push(data[pos:pos + n]):
            assert len(frame) == 1600
            out += frame
        pos += n
    tail = fb.flush()
    assert tail is not None
    out += tail
    assert bytes(out[:len(data)]) == data
    assert set(out[len(data):]) <= {0}


def test_flush_pads_a_short_tail_with_silence_to_50_ms() -> None:
    fb = FrameBuffer(16000, 100)
    fb.push(b"\x07\x00" * 10)  # under 1 ms
    tail = fb.flush()
    assert tail is not None and len(tail) == 1600 and ms_of(tail) == 50
    assert tail.startswith(b"\x07\x00" * 10) and tail[20:] == bytes(1580)
    assert fb.flush() is None


def test_flush_keeps_a_tail_that_is_already_long_enough() -> None:
    fb = FrameBuffer(16000, 100)
    fb.push(bytes(2400))  # 75 ms
    tail = fb.flush()
    assert tail is not None and len(tail) == 2400


def test_flush_completes_a_dangling_half_sample() -> None:
    fb = FrameBuffer(16000, 100)
    fb.push(bytes(2401))
    tail = fb.flush()
    assert tail is not None and len(tail) == 2402


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 8001])
@pytest.mark.parametrize("frame_ms", [50, 100, 1000])
def test_frames_stay_within_50_to_1000_ms_at_any_rate(rate: int, frame_ms: int) -> None:
    fb = FrameBuffer(rate, frame_ms)
    frames = fb.push(bytes(frame_bytes(rate, frame_ms) * 2 + 3))
    tail = fb.flush()
    assert tail is not None
    for frame in [*frames, tail]:
        assert len(frame) % 2 == 0
        assert 50 <= ms_of(frame, rate) <= 1000 + 1000 / rate  # at most one sample over


@pytest.mark.parametrize("frame_ms", [0, 20, 49, 1001])
def test_frame_lengths_the_service_rejects_are_refused(frame_ms: int) -> None:
    with pytest.raises(ValueError, match="frame_ms must be within 50-1000 ms"):
        FrameBuffer(16000, frame_ms)


def test_nonpositive_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="sample_rate must be positive"):
        FrameBuffer(0, 100)
