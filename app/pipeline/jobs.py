"""What a long archive job (translating a session again, filling its gaps) says while it runs, and
how it is asked to stop.

Pure Python; the job runs on a worker thread (the window's ``JobThread``, or the terminal's main
thread), calls ``Progress`` from there, and checks its ``threading.Event`` to stop; what it did
so far is kept.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["JobProgress", "Progress", "seconds_left_text"]


@dataclass(frozen=True)
class JobProgress:
    done: float  # cells translated, or seconds of audio transcribed
    total: float
    text: str  # what the window's progress label and the terminal say
    seconds_left: float | None = None  # known for audio, which streams at real time

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 1.0


Progress = Callable[[JobProgress], None]


def seconds_left_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d} left" if minutes else f"{secs} s left"
