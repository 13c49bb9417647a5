"""The crash-safe WAV writer: valid files after close, after SIGKILL, and after the disk fills up."""
from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.speech import pcm_sine

import app.audio.wav_writer as wav_writer_module
from app.audio.wav_writer import HEADER_BYTES, WavWriter, repair_wav_header
from app.core.errors import OutputError
from app.core.units import BYTES_PER_SECOND

REPO = Path(__file__).resolve().parents[1]
BLOCK = pcm_sine(440, 0.1)  # 100 ms, 3200 bytes


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def header_sizes(path: Path) -> tuple[int, int]:
    """(RIFF size, data size) as written in the header on disk."""
    head = path.read_bytes()[:HEADER_BYTES]
    return struct.unpack_from("<I", head, 4)[0], struct.unpack_from("<I", head, 40)[0]


def wav_frames(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())


def write_blocks(writer: WavWriter, clock: FakeClock, count: int, start: int = 0) -> None:
    for k in range(start, start + count):
        clock.now = (k + 1) / 10  # the capture loop writes each block as it arrives
        writer.write(BLOCK)


def test_a_closed_file_is_a_standard_wav_with_every_sample(tmp_path: Path) -> None:
    path = tmp_path / "session.wav"
    audio = pcm_sine(440, 1.25)
    with WavWriter(path) as writer:
        writer.write(audio[:3200])
        writer.write(audio[3200:])
    assert wav_frames(path) == audio
    assert (writer.bytes_written, writer.frames_written, writer.duration_s) == (40000, 20000, 1.25)
    assert path.stat().st_size == HEADER_BYTES + 40000
    assert writer.path == path


def test_the_header_is_rewritten_once_a_second_while_recording(tmp_path: Path) -> None:
    path, clock = tmp_path / "session.wav", FakeClock()
    with WavWriter(path, clock=clock) as writer:
        write_blocks(writer, clock, 9)
        assert header_sizes(path) == (36, 0)  # placeholder sizes: not yet a second
        write_blocks(writer, clock, 1, start=9)
        assert header_sizes(path) == (36 + 32000, 32000)
        write_blocks(writer, clock, 15, start=10)
        assert header_sizes(path)[1] == 64000
    assert header_sizes(path)[1] == 25 * 3200


def test_a_copy_taken_mid_recording_is_a_playable_wav_missing_at_most_one_second(tmp_path: Path) -> None:
    path, clock, copy = tmp_path / "session.wav", FakeClock(), tmp_path / "copy.wav"
    with WavWriter(path, clock=clock) as writer:
        write_blocks(writer, clock, 37)
        shutil.copyfile(path, copy)
    frames = wav_frames(copy)
    assert frames != BLOCK * 37 and (BLOCK * 37).startswith(frames)
    assert 37 * 3200 - len(frames) <= BYTES_PER_SECOND


def test_a_burst_of_audio_updates_the_header_even_if_little_time_passed(tmp_path: Path) -> None:
    # After a stall the capture thread may write seconds of buffered audio at once.
    path = tmp_path / "session.wav"
    with WavWriter(path, clock=FakeClock()) as writer:
        for _ in range(25):
            writer.write(BLOCK)  # the clock stands still
        assert header_sizes(path)[1] == 20 * 3200


def test_fsync_happens_at_most_once_per_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[float] = []
    clock = FakeClock()
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(clock.now)
        real_fsync(fd)

    monkeypatch.setattr(wav_writer_module.os, "fsync", counting_fsync)
    writer = WavWriter(tmp_path / "session.wav", clock=clock)
    write_blocks(writer, clock, 50)
    assert synced == [1.0, 2.0, 3.0, 4.0, 5.0]
    writer.close()
    assert len(synced) == 6


KILLED_WRITER = """
import sys
from app.audio.wav_writer import WavWriter

class Clock:
    now = 0.0
    def __call__(self):
        return self.now

clock = Clock()
writer = WavWriter(sys.argv[1], clock=clock)
block = bytes(range(256)) * 12 + bytes(128)
for k in range(int(sys.argv[2])):
    clock.now = (k + 1) / 10
    writer.write(block)
print(writer.bytes_written, flush=True)
sys.stdin.read()  # wait here until killed
"""


@pytest.fixture
def killed_recording(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A recording whose writer was SIGKILLed after 2.7 s of audio: (path, bytes it had written)."""
    path = tmp_path / "killed.wav"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path), "27"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        written = int(child.stdout.readline())  # returns once the writer is done and waiting
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        yield path, written
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()


def test_a_writer_killed_with_sigkill_leaves_a_playable_wav_missing_at_most_one_second(
    killed_recording: tuple[Path, int],
) -> None:
    path, written = killed_recording
    assert written == 27 * 3200
    assert path.stat().st_size == HEADER_BYTES + written  # nothing was waiting in a Python buffer
    frames = wav_frames(path)
    assert written - BYTES_PER_SECOND <= len(frames) < written


def test_repair_recovers_everything_a_killed_writer_wrote(killed_recording: tuple[Path, int]) -> None:
    path, written = killed_recording
    assert repair_wav_header(path) == written
    assert wav_frames(path) == (bytes(range(256)) * 12 + bytes(128)) * 27


def test_repair_cuts_off_a_half_written_sample(tmp_path: Path) -> None:
    path = tmp_path / "session.wav"
    WavWriter(path).close()  # a header with zero sizes, as right after the start
    with open(path, "ab") as file:
        file.write(BLOCK + b"\x01")
    assert repair_wav_header(path) == 3200
    assert wav_frames(path) == BLOCK
    assert path.stat().st_size == HEADER_BYTES + 3200


def test_repair_refuses_a_file_that_is_not_a_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all, just some words")
    with pytest.raises(OutputError, match="cannot be repaired: it is not a WAV file"):
        repair_wav_header(path)


class DiskThatFillsUp:
    """A real file on a 'disk' with room for ``capacity`` bytes: overwriting is fine, growing fails."""

    def __init__(self, path: Path, capacity: int, error: int = errno.ENOSPC) -> None:
        self.raw = open(path, "wb", buffering=0)
        self.capacity = capacity
        self.error = error

    def write(self, data: bytes | memoryview) -> int:
        room = self.capacity - self.raw.tell()
        if room >= len(data):
            return self.raw.write(data)
        if room > 0:
            return self.raw.write(data[:room])  # a short write first, as the kernel does
        raise OSError(self.error, os.strerror(self.error))

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        return self.raw.truncate(size)

    def flush(self) -> None:
        self.raw.flush()

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        self.raw.close()


def test_a_full_disk_stops_the_recording_with_a_clear_message_and_a_valid_file(tmp_path: Path) -> None:
    path, clock = tmp_path / "session.wav", FakeClock()
    # Room for 2.5 s and one odd byte: the block that hits the limit is written in part.
    writer = WavWriter(path, clock=clock, opener=lambda p: DiskThatFillsUp(p, HEADER_BYTES + 80001))
    with pytest.raises(OutputError) as failure:
        write_blocks(writer, clock, 40)
    assert failure.value.message == (
        f"The disk is full: recording stopped. Everything up to 00:00:02 is saved in {path}."
    )
    assert writer.bytes_written == 80000
    assert path.stat().st_size == HEADER_BYTES + 80000  # the half-written sample is cut off
    assert wav_frames(path) == (BLOCK * 26)[:80000]
    with pytest.raises(OutputError, match="The disk is full"):
        writer.write(BLOCK)  # keeps refusing: nothing is dropped silently
    writer.close()  # the failure was reported once; closing does not report it again
    assert wav_frames(path) == (BLOCK * 26)[:80000]


def test_an_io_error_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "session.wav"
    writer = WavWriter(path, opener=lambda p: DiskThatFillsUp(p, HEADER_BYTES + 6400, errno.EIO))
    writer.write(BLOCK)
    writer.write(BLOCK)
    expected = r"Writing the recording failed \(Input/output error\): recording stopped"
    with pytest.raises(OutputError, match=expected):
        writer.write(BLOCK)
    writer.close()
    assert wav_frames(path) == BLOCK * 2


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (needs root; skipped where mounting is not allowed)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_really_full_disk_gives_the_disk_full_message(tiny_disk: Path) -> None:
    path, clock = tiny_disk / "session.wav", FakeClock()
    writer = WavWriter(path, clock=clock)
    with pytest.raises(OutputError) as failure:
        write_blocks(writer, clock, 100)
    assert re.fullmatch(
        rf"The disk is full: recording stopped\. "
        rf"Everything up to 00:00:0\d is saved in {re.escape(str(path))}\.",
        failure.value.message,
    )
    writer.close()
    frames = wav_frames(path)
    assert len(frames) == writer.bytes_written > 0
    assert (BLOCK * 100).startswith(frames)


def test_a_folder_that_does_not_exist_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "session.wav"
    with pytest.raises(OutputError, match=r"cannot be created \(No such file or directory\)") as failure:
        WavWriter(path)
    assert str(path) in failure.value.message


def test_close_can_be_called_twice_and_writing_afterwards_is_a_bug(tmp_path: Path) -> None:
    writer = WavWriter(tmp_path / "session.wav")
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed WavWriter"):
        writer.write(BLOCK)


def test_a_partial_frame_is_refused(tmp_path: Path) -> None:
    with WavWriter(tmp_path / "session.wav") as writer, pytest.raises(ValueError, match="not a whole number"):
        writer.write(b"\x00\x01\x02")


def test_odd_sized_8_bit_audio_gets_the_riff_pad_byte(tmp_path: Path) -> None:
    path = tmp_path / "session.wav"
    with WavWriter(path, sample_width=1) as writer:
        writer.write(bytes([128, 129, 130]))
    assert header_sizes(path) == (36 + 3 + 1, 3)
    with wave.open(str(path), "rb") as wav:
        assert wav.readframes(10) == bytes([128, 129, 130])
