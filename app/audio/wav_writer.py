"""Crash-safe streaming WAV writer for the session recording, and the repair used after a crash.

Runs on the audio capture thread: every block the microphone delivers is written here before it is
queued for the network, so a slow network never costs recorded audio.

Crash safety: the file is opened unbuffered, so each ``write`` reaches the operating system at once
and survives the process being killed. The RIFF and data sizes in the header are rewritten whenever
``header_interval_s`` of wall time has passed or that much audio has arrived since the last rewrite
(a burst after a stall), so after a SIGKILL the file is a playable WAV missing at most the last
interval; ``repair_wav_header`` recovers even that on the next launch by taking the sizes from the
file length. A header rewrite costs nothing on disk, but ``fsync`` (for power loss) is expensive, so
it happens at most once per interval of wall time. Plain file I/O instead of the ``wave`` module,
whose buffering and header handling happen on its own schedule.
"""
from __future__ import annotations

import errno
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Protocol

from app.core.errors import OutputError
from app.core.units import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH

HEADER_BYTES = 44
_MAX_DATA_BYTES = 0xFFFFFFFF - (HEADER_BYTES - 8) - 1  # RIFF sizes are 32-bit; keep room for a pad byte
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class WritableFile(Protocol):
    """The part of a raw binary file the writer uses (an injectable ``opener`` returns one)."""

    def write(self, data: bytes | memoryview, /) -> int | None: ...
    def seek(self, offset: int, whence: int = ..., /) -> int: ...
    def truncate(self, size: int | None = ..., /) -> int: ...
    def flush(self) -> None: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...


def _open_unbuffered(path: Path) -> WritableFile:
    # Readable too: if the session folder is deleted under the open file, save_copy() can still
    # read the recording back from it.
    return open(path, "w+b", buffering=0)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _clock_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class WavWriter:
    """Appends PCM blocks to a WAV file whose header stays valid to within ``header_interval_s``."""

    def __init__(
        self,
        path: str | Path,
        *,
        sample_rate: int = SAMPLE_RATE,
        channels: int = CHANNELS,
        sample_width: int = SAMPLE_WIDTH,
        header_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        opener: Callable[[Path], WritableFile] = _open_unbuffered,
    ) -> None:
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.channels = channels
        self.sample_width = sample_width
        self._block_align = channels * sample_width
        self._interval_s = header_interval_s
        self._clock = clock
        self._data_bytes = 0
        self._failure: OutputError | None = None
        self._file: WritableFile | None = None
        try:
            self._file = opener(self.path)
            self._write_all(self._header(0), is_audio=False)  # sizes 0 until the first update
        except OSError as exc:
            if self._file is not None:
                self._file.close()
                self._file = None
            full = " The disk is full." if exc.errno in _DISK_FULL else ""
            raise OutputError(
                f'The recording cannot be saved: "{self.path}" cannot be created ({_reason(exc)}).{full} '
                "Check that the sessions folder exists and is writable, or choose another one in Settings.",
                detail=repr(exc),
            ) from exc
        self._header_data_bytes = 0  # what the header on disk says
        self._last_sync = clock()

    @property
    def bytes_written(self) -> int:
        """Audio bytes safely in the file (whole frames only)."""
        return self._data_bytes - self._data_bytes % self._block_align

    @property
    def frames_written(self) -> int:
        return self._data_bytes // self._block_align

    @property
    def duration_s(self) -> float:
        return self.frames_written / self.sample_rate

    def _header(self, data_bytes: int, pad: int = 0) -> bytes:
        byte_rate = self.sample_rate * self._block_align
        return struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF", HEADER_BYTES - 8 + data_bytes + pad, b"WAVE",
            b"fmt ", 16, 1, self.channels, self.sample_rate, byte_rate, self._block_align,
            self.sample_width * 8, b"data", data_bytes,
        )

    def _write_all(self, data: bytes | memoryview, *, is_audio: bool = True) -> None:
        """Write everything, counting each partial write so a failure knows what reached the file."""
        assert self._file is not None
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            if not written:  # a regular file either writes something or raises; never spin
                raise OSError(errno.EIO, "the file accepted no data")
            if is_audio:
                self._data_bytes += written
            view = view[written:]

    def _rewrite_header(self, pad: int = 0) -> None:
        assert self._file is not None
        self._file.seek(0)
        self._write_all(self._header(self.bytes_written, pad), is_audio=False)
        self._file.seek(0, os.SEEK_END)
        self._header_data_bytes = self.bytes_written

    def _sync(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())

    def write(self, pcm: bytes) -> None:
        """Append whole frames. Raises OutputError (the disk is full, an I/O error) and keeps raising it."""
        if self._failure is not None:
            raise OutputError(self._failure.message, detail=self._failure.detail)
        if self._file is None:
            raise ValueError(f"write() to a closed WavWriter ({self.path})")
        if len(pcm) % self._block_align:
            raise ValueError(f"{len(pcm)} bytes is not a whole number of {self._block_align}-byte frames")
        if self._data_bytes + len(pcm) > _MAX_DATA_BYTES:
            self._failure = OutputError(
                f"The recording reached the 4 GB limit of a WAV file and stopped. Everything up to "
                f"{_clock_text(self.duration_s)} is saved in {self.path}. Start a new session to go on."
            )
            self._make_header_valid()
            raise self._failure
        try:
            self._write_all(pcm)
            now = self._clock()
            sync_due = now - self._last_sync >= self._interval_s
            byte_rate = self.sample_rate * self._block_align
            unannounced_s = (self.bytes_written - self._header_data_bytes) / byte_rate
            if sync_due or unannounced_s >= self._interval_s:
                self._rewrite_header()
            if sync_due:
                self._sync()
                self._last_sync = now
        except OSError as exc:
            self._fail(exc)

    def _make_header_valid(self) -> None:
        """Best effort after a failure: drop a partial frame and make the header match the file."""
        assert self._file is not None
        try:
            self._file.truncate(HEADER_BYTES + self.bytes_written)
            self._rewrite_header()
            self._sync()
        except (OSError, ValueError):
            pass  # overwriting the header needs no new space, but if even that fails, the repair on the
            # next launch (repair_wav_header) recovers the audio from the file length

    def _fail(self, exc: OSError) -> None:
        self._make_header_valid()
        saved = f"Everything up to {_clock_text(self.duration_s)} is saved in {self.path}."
        if exc.errno in _DISK_FULL:
            message = f"The disk is full: recording stopped. {saved}"
        else:
            message = f"Writing the recording failed ({_reason(exc)}): recording stopped. {saved}"
        self._failure = OutputError(message, detail=repr(exc))
        raise self._failure from exc

    def save_copy(self, target: Path) -> None:
        """Copy the recording so far, header up to date, to ``target``, read back through the open
        file: it still holds every byte even when its folder was deleted. Raises OSError."""
        if self._file is None:
            raise ValueError(f"save_copy() of a closed WavWriter ({self.path})")
        self._rewrite_header()
        fd = self._file.fileno()
        with open(target, "wb") as out:
            offset = 0
            while chunk := os.pread(fd, 1 << 20, offset):
                out.write(chunk)
                offset += len(chunk)
            out.flush()
            os.fsync(out.fileno())

    def close(self) -> None:
        """Finalise the header and close the file; safe to call again. A failure already reported by
        ``write`` is not raised a second time."""
        file, reported = self._file, self._failure is not None
        if file is None:
            return
        try:
            pad = 0
            if self.bytes_written % 2 and not reported:
                self._write_all(b"\0", is_audio=False)  # RIFF chunks have even sizes (odd: 8-bit mono)
                pad = 1
            self._rewrite_header(pad)
            self._sync()
        except OSError as exc:
            if not reported:
                self._failure = OutputError(
                    f"Saving the recording failed ({_reason(exc)}). Everything up to "
                    f"{_clock_text(self.duration_s)} is in {self.path}; it is repaired the next time "
                    "Live Translate starts.",
                    detail=repr(exc),
                )
                raise self._failure from exc
        finally:
            self._file = None
            file.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def repair_wav_header(path: str | Path) -> int:
    """Fix the RIFF and data sizes of a WAV whose writer was killed; return the audio byte count.

    The sizes come from the file length; a trailing partial frame is cut off.
    """
    path = Path(path)
    try:
        file = open(path, "r+b")  # noqa: SIM115 - the with-block follows the error handling
    except OSError as exc:
        raise OutputError(
            f'The interrupted recording "{path}" cannot be repaired ({_reason(exc)}).', detail=repr(exc)
        ) from exc
    with file:
        size = os.fstat(file.fileno()).st_size
        head = file.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise OutputError(f'The interrupted recording "{path}" cannot be repaired: it is not a WAV file.')
        block_align = 0
        while True:
            chunk_header = file.read(8)
            if len(chunk_header) < 8:
                raise OutputError(
                    f'The interrupted recording "{path}" cannot be repaired: its header is incomplete.'
                )
            chunk_id, chunk_size = struct.unpack("<4sI", chunk_header)
            if chunk_id == b"data":
                break
            chunk = file.read(chunk_size + (chunk_size & 1))
            if chunk_id == b"fmt " and len(chunk) >= 16:
                block_align = struct.unpack_from("<H", chunk, 12)[0]
        if block_align == 0:
            raise OutputError(f'The interrupted recording "{path}" cannot be repaired: it has no format chunk.')
        data_offset = file.tell()
        data_bytes = min(size - data_offset, _MAX_DATA_BYTES)
        data_bytes -= data_bytes % block_align
        pad = data_bytes & 1
        file.truncate(data_offset + data_bytes)
        if pad:
            file.seek(0, os.SEEK_END)
            file.write(b"\0")
        file.seek(4)
        file.write(struct.pack("<I", data_offset - 8 + data_bytes + pad))
        file.seek(data_offset - 4)
        file.write(struct.pack("<I", data_bytes))
        file.flush()
        os.fsync(file.fileno())
    return data_bytes
