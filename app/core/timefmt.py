"""How session times are written: ``00:01:02.345`` in exports, ``01:02`` in the window and terminal.

Pure functions; any thread. Every time shown to a person is milliseconds from the start of the
session's WAV and goes through here, so the window, the terminal and the exports agree.
"""
from __future__ import annotations


def clock(ms: int, sep: str = ".", hours: bool = True) -> str:
    """``HH:MM:SS<sep>mmm``; ``sep=""`` drops the milliseconds; ``hours=False`` drops a zero hour."""
    ms = max(0, int(ms))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, milli = divmod(rem, 1000)
    base = f"{h:02d}:{m:02d}:{s:02d}" if hours or h else f"{m:02d}:{s:02d}"
    return f"{base}{sep}{milli:03d}" if sep else base


def time_label(ms: int) -> str:
    """A short session time for people: ``01:02``, or ``1:01:02`` past the first hour."""
    return clock(ms, sep="", hours=False)


def span_label(start_ms: int, end_ms: int) -> str:
    return f"{time_label(start_ms)}–{time_label(end_ms)}"
