"""The audio-source contract shared by the microphone and the WAV-file source.

A source is opened, read and closed on the audio capture thread (a ``QThread`` in the window, a plain
thread in the command line). ``read`` blocks for about one block, so the capture loop needs no timer
of its own, and always returns 16 kHz mono s16le (see ``app.audio.format``).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

DEFAULT_BLOCK_MS = 100


@runtime_checkable
class AudioSource(Protocol):
    """Where the session's audio comes from.

    ``description`` names it for people ("Microphone: Built-in Audio", "File: talk.wav").
    ``overflows`` counts input overflows seen so far; they are reported, never fatal.
    """

    description: str
    overflows: int

    def open(self) -> None:
        """Acquire the device or file; raises ``DeviceError`` or ``InputFileError`` saying what to do."""

    def read(self) -> bytes | None:
        """Block for about one block and return it as 16 kHz mono s16le; None at the end of a file.

        Raises ``DeviceError`` if the microphone disappeared mid-session.
        """

    def close(self) -> None:
        """Release the device or file; safe to call more than once, and after a failed ``open``."""
