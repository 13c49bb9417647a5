"""What a recording is before it is transcribed: its length and format, or why it cannot be used.

Qt-free; reads a WAV header only (quick, but file I/O: the window calls it from a
``BackgroundTask`` before it starts transcribing a file dropped on it or chosen in File ▸
Transcribe a recording…). The errors are the ``--input`` ones, in the same words.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.audio.wav_source import WavFileSource

__all__ = ["RecordingInfo", "probe_recording", "recording_ms"]


@dataclass(frozen=True)
class RecordingInfo:
    path: Path
    duration_s: float
    format: str  # "44100 Hz, 2 channels, 16-bit PCM"


def probe_recording(path: Path) -> RecordingInfo:
    """Raises ``InputFileError`` (missing, a folder, not PCM WAV ...) with the reason."""
    source = WavFileSource(path, realtime=False)
    source.open()
    try:
        assert source.info is not None
        return RecordingInfo(Path(path), source.duration_s, source.info.describe())
    finally:
        source.close()


def recording_ms(path: Path) -> int:
    return round(probe_recording(path).duration_s * 1000)
