"""A WAV file played as if it were a microphone: converted to 16 kHz mono s16le and paced at real time.

Runs on the audio capture thread. The streaming service rejects audio sent faster than real time, so
``read`` waits until block k is due (start + k * block) against a monotonic deadline; sleeping one block
per read would drift by the conversion and network time. ``realtime=False`` turns pacing off for tests.

The RIFF parser is our own rather than the ``wave`` module because ``wave`` (before Python 3.12)
rejects WAVE_FORMAT_EXTENSIBLE files, which many recorders write for 24-bit or multichannel audio,
and because every way a file can be unusable needs its own message saying how to fix it.
"""
from __future__ import annotations

import os
import stat
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.audio.format import MAX_CHANNELS, SUPPORTED_SAMPLE_WIDTHS, Converter
from app.audio.source import DEFAULT_BLOCK_MS
from app.core.errors import InputFileError

_PCM = 0x0001
_EXTENSIBLE = 0xFFFE
_FORMAT_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0003: "floating-point",
    0x0006: "A-law",
    0x0007: "µ-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0050: "MPEG",
    0x0055: "MP3",
    0x00FF: "AAC",
    0x0161: "Windows Media Audio",
    0x1610: "AAC",
    0xF1AC: "FLAC",
}
_MIN_RATE, _MAX_RATE = 1000, 768000


@dataclass(frozen=True)
class WavInfo:
    """What ``open`` learned from the header; ``data_bytes`` is trimmed to whole frames in the file."""

    sample_rate: int
    channels: int
    sample_width: int
    data_offset: int
    data_bytes: int

    @property
    def frames(self) -> int:
        return self.data_bytes // (self.channels * self.sample_width)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def describe(self) -> str:
        channels = "mono" if self.channels == 1 else f"{self.channels} channels"
        return f"{self.sample_rate} Hz, {channels}, {self.sample_width * 8}-bit PCM"


def _convert_hint(path: Path) -> str:
    return (
        f'Convert it to 16-bit PCM WAV first, for example: sox "{path}" -b 16 -e signed-integer converted.wav'
        f' (or: ffmpeg -i "{path}" -c:a pcm_s16le converted.wav).'
    )


def _sniff_non_wav(head: bytes) -> str:
    """Name what a file that is not a RIFF/WAVE file most likely is."""
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "an AAC (ADTS) file"  # checked first: its sync word also looks like an MPEG frame
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "an MP3 file"
    if head.startswith(b"fLaC"):
        return "a FLAC file"
    if head.startswith(b"OggS"):
        return "an Ogg (Vorbis or Opus) file"
    if head[4:8] == b"ftyp":
        return "an MP4/M4A file"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "a WebM/Matroska file"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "an AIFF file"
    if head.startswith(b"RIFX"):
        return "a big-endian WAV (RIFX) file"
    if head.startswith(b"RF64"):
        return "an RF64 (very large WAV) file"
    if head.startswith(b"RIFF"):
        return f"a RIFF file of type {head[8:12]!r}"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return "not a WAV file"
        text = head[: exc.start].decode("utf-8")  # a character cut in two by the sniffing window
    if all(char.isprintable() or char.isspace() for char in text):
        return "a text file"
    return "not a WAV file"


def _chunk_follows(handle: BinaryIO, offset: int) -> bool:
    """True if a RIFF chunk header (four printable ASCII characters) starts at ``offset`` (or at the
    padded offset): then the data chunk's size is honest and what follows is not audio."""
    for start in (offset, offset + (offset & 1)):
        handle.seek(start)
        chunk_id = handle.read(4)
        if len(chunk_id) == 4 and all(32 <= b < 127 for b in chunk_id):
            handle.seek(offset)
            return True
    handle.seek(offset)
    return False


def read_wav_info(path: Path, handle: BinaryIO, file_size: int) -> WavInfo:
    """Parse and validate the header; raises InputFileError naming the file and the fix."""
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        kind = _sniff_non_wav(head + handle.read(500))
        if kind == "a text file":
            raise InputFileError(f'"{path}" is a text file, not a recording. Choose a WAV recording.')
        if kind == "not a WAV file":
            raise InputFileError(
                f'"{path}" is not a WAV file (it has no RIFF/WAVE header). {_convert_hint(path)}'
            )
        raise InputFileError(
            f'"{path}" is {kind}, not a WAV file, even though it is named so. {_convert_hint(path)}'
        )
    fmt: bytes | None = None
    while True:
        chunk_header = handle.read(8)
        if len(chunk_header) < 8:
            missing = "format ('fmt ') chunk" if fmt is None else "audio ('data') chunk"
            raise InputFileError(f'"{path}" is damaged or incomplete: it has no {missing}. Record it again.')
        chunk_id, chunk_size = struct.unpack("<4sI", chunk_header)
        if chunk_id == b"fmt ":
            fmt = handle.read(chunk_size)
            handle.seek(chunk_size & 1, 1)  # chunks are padded to an even size
        elif chunk_id == b"data":
            if fmt is None:
                raise InputFileError(
                    f'"{path}" is damaged: its audio comes before its format chunk. Record it again.'
                )
            data_offset = handle.tell()
            # A recorder that was killed leaves a size larger than the file (or 0xFFFFFFFF when it
            # streamed), one that streamed may leave 0, and one killed mid-way a size smaller
            # than the audio that is there: read the audio that is there.
            data_bytes = min(chunk_size, file_size - data_offset)
            if data_bytes < file_size - data_offset and not _chunk_follows(handle, data_offset + data_bytes):
                data_bytes = file_size - data_offset
            break
        else:
            handle.seek(chunk_size + (chunk_size & 1), 1)
    assert fmt is not None  # the loop only leaves through the data chunk, which checks it
    if len(fmt) < 16:
        raise InputFileError(f'"{path}" is damaged: its format chunk is too short. Record it again.')
    format_code, channels, sample_rate, byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if format_code == _EXTENSIBLE and len(fmt) >= 26:
        format_code = struct.unpack_from("<H", fmt, 24)[0]  # the first field of the SubFormat GUID
    if format_code != _PCM:
        name = _FORMAT_NAMES.get(format_code, f"compressed (format code 0x{format_code:04X})")
        if format_code == 0x0003:
            name = f"{bits}-bit floating-point"
        raise InputFileError(
            f'"{path}" holds {name} audio; only integer PCM WAV (8, 16, 24 or 32-bit) can be read. '
            + _convert_hint(path)
        )
    if channels == 0 or sample_rate == 0 or block_align == 0 or block_align % channels:
        raise InputFileError(f'"{path}" is damaged: its format chunk is inconsistent. Record it again.')
    if byte_rate != sample_rate * block_align:
        raise InputFileError(
            f'"{path}" has a header that contradicts itself: {sample_rate} Hz with {block_align} bytes per '
            f"frame is {sample_rate * block_align} bytes a second, but it says {byte_rate}. "
            + _convert_hint(path))
    if channels > MAX_CHANNELS:
        raise InputFileError(
            f'"{path}" has {channels} channels; at most {MAX_CHANNELS} can be read. '
            f'Mix it down first, for example: sox "{path}" -c 1 converted.wav'
        )
    sample_width = block_align // channels
    if sample_width not in SUPPORTED_SAMPLE_WIDTHS or bits > sample_width * 8:
        raise InputFileError(
            f'"{path}" uses {bits}-bit samples; only 8, 16, 24 or 32-bit PCM can be read. '
            + _convert_hint(path)
        )
    # A header that contradicts itself would be read as noise: refuse it and say which part is wrong.
    if (bits + 7) // 8 != sample_width:
        raise InputFileError(
            f'"{path}" has a header that contradicts itself: {channels} channel(s) of {bits}-bit samples '
            f"need {channels * ((bits + 7) // 8)} bytes per frame, but it says {block_align}. "
            + _convert_hint(path))
    if not _MIN_RATE <= sample_rate <= _MAX_RATE:
        raise InputFileError(
            f'"{path}" has an unusable sample rate of {sample_rate} Hz. '
            f'Resample it first, for example: sox "{path}" -r 16000 converted.wav'
        )
    data_bytes -= data_bytes % block_align
    if data_bytes <= 0:
        raise InputFileError(f'"{path}" contains no audio (its length is zero). Choose another recording.')
    return WavInfo(sample_rate, channels, sample_width, data_offset, data_bytes)


def _check_regular_file(path: Path) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputFileError(f'The file "{path}" does not exist. Check the path and the file name.') from None
    except OSError as exc:
        raise InputFileError(f'"{path}" cannot be opened ({exc.strerror}).', detail=repr(exc)) from exc
    if stat.S_ISDIR(mode):
        raise InputFileError(f'"{path}" is a folder, not a WAV file. Give the path of a .wav file.')
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise InputFileError(
            f'"{path}" is {kind}, not a recording saved in a file. --input reads WAV files only: save the '
            "audio to a .wav file first and give its path (for the live microphone, leave out --input).")


class WavFileSource:
    """Plays a PCM WAV file as 16 kHz mono s16le blocks, paced at real time unless told otherwise.
    ``start_ms``/``end_ms`` play only that stretch of it (a gap of a session, transcribed later)."""

    overflows: int = 0  # a file cannot overflow

    def __init__(
        self,
        path: str | Path,
        *,
        block_ms: int = DEFAULT_BLOCK_MS,
        realtime: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        start_ms: int = 0,
        end_ms: int | None = None,
    ) -> None:
        if block_ms <= 0:
            raise ValueError(f"block_ms must be positive, not {block_ms}")
        if start_ms < 0 or (end_ms is not None and end_ms < start_ms):
            raise ValueError(f"not a stretch of a recording: {start_ms}-{end_ms} ms")
        self._start_ms = start_ms
        self._end_ms = end_ms
        self.path = Path(path)
        self.description = f"File: {self.path.name}"
        self.overflows = 0
        self.info: WavInfo | None = None
        self._block_ms = block_ms
        self._realtime = realtime
        self._clock = clock
        self._sleep = sleep
        self._handle: BinaryIO | None = None
        self._converter: Converter | None = None
        self._remaining = 0
        self._block_frames = 0
        self._blocks_returned = 0
        self._start: float | None = None

    @property
    def duration_s(self) -> float:
        """Length of the recording (0 before ``open``)."""
        return self.info.duration_s if self.info else 0.0

    def open(self) -> None:
        self.close()
        path = self.path
        _check_regular_file(path)  # opening a FIFO would block until a writer comes, maybe forever
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by close(); kept open while streaming
        except FileNotFoundError:
            message = f'The file "{path}" does not exist. Check the path and the file name.'
            raise InputFileError(message) from None
        except IsADirectoryError:
            message = f'"{path}" is a folder, not a WAV file. Give the path of a .wav file.'
            raise InputFileError(message) from None
        except PermissionError:
            message = f'"{path}" cannot be read: permission denied. Check the file\'s permissions.'
            raise InputFileError(message) from None
        except OSError as exc:
            raise InputFileError(f'"{path}" cannot be opened ({exc.strerror}).', detail=repr(exc)) from exc
        try:
            file_size = path.stat().st_size
            if file_size == 0:
                raise InputFileError(f'"{path}" is empty (0 bytes). Choose another recording.')
            info = read_wav_info(path, handle, file_size)
            handle.seek(info.data_offset)
        except OSError as exc:
            handle.close()
            raise InputFileError(f'"{path}" cannot be read ({exc.strerror}).', detail=repr(exc)) from exc
        except BaseException:
            handle.close()
            raise
        self.info = info
        self._handle = handle
        self._converter = Converter(
            sample_rate=info.sample_rate, channels=info.channels, sample_width=info.sample_width
        )
        frame_bytes = info.channels * info.sample_width
        skip = min(info.frames, info.sample_rate * self._start_ms // 1000) * frame_bytes
        last = info.frames if self._end_ms is None else min(info.frames, info.sample_rate * self._end_ms // 1000)
        handle.seek(info.data_offset + skip)
        self._remaining = max(0, last * frame_bytes - skip)
        self._block_frames = max(1, round(info.sample_rate * self._block_ms / 1000))
        self._blocks_returned = 0
        self._start = None

    def read(self) -> bytes | None:
        if self._handle is None or self._converter is None or self.info is None:
            raise RuntimeError("WavFileSource.read() called before open() or after close()")
        frame_bytes = self.info.channels * self.info.sample_width
        while self._remaining > 0:
            try:
                raw = self._handle.read(min(self._block_frames * frame_bytes, self._remaining))
            except OSError as exc:
                raise InputFileError(
                    f'Reading "{self.path}" failed ({exc.strerror}). Check the drive it is on.',
                    detail=repr(exc),
                ) from exc
            if not raw:  # the file shrank while we read it
                break
            self._remaining -= len(raw)
            block = self._converter.convert(raw)
            if block:
                self._wait_until_due()
                self._blocks_returned += 1
                return block
        return None

    def _wait_until_due(self) -> None:
        if not self._realtime:
            return
        if self._start is None:
            self._start = self._clock()
        assert self.info is not None
        due = self._start + self._blocks_returned * self._block_frames / self.info.sample_rate
        # Loop: a sleep may end a little early, and block k must never leave before its time.
        while (remaining := due - self._clock()) > 0:
            self._sleep(remaining)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
