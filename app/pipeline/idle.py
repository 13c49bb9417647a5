"""Saying that a session is idle: nothing said (on any side) for minutes.

Pure; called from the capture thread with positions in milliseconds of the recording. The
streaming service bills a session for as long as it is open, idle or not, and the app sets no
``inactivity_timeout``, so the service never ends a quiet session itself before its 3 h limit
[protocol §2 inactivity_timeout, §4.2]: a person who walked away should hear about it, once per
quiet stretch.
"""
from __future__ import annotations

IDLE_NOTICE_MS = 120_000


class IdleWatch:
    def __init__(self, *, two_way: bool, after_ms: int = IDLE_NOTICE_MS) -> None:
        self._two_way = two_way
        self._after_ms = after_ms
        self._heard_ms = 0  # where the last turn ended
        self._said = False

    def heard(self, end_ms: int) -> None:
        """A turn ended here (any side)."""
        self._heard_ms = max(self._heard_ms, end_ms)

    def check(self, position_ms: int) -> str | None:
        """The notice to give now, if any: once per quiet stretch."""
        quiet_ms = position_ms - self._heard_ms
        if quiet_ms < self._after_ms:
            self._said = False
            return None
        if self._said:
            return None
        self._said = True
        quiet = f"{quiet_ms // 60_000} minutes" if quiet_ms >= 60_000 else f"{quiet_ms // 1000} s"
        sides, billed = ("either side", "both connections") if self._two_way else ("the recording", "the connection")
        return (f"The session is idle: nothing said on {sides} for {quiet}. The streaming service bills {billed} "
                "while it is open, even in silence; press Stop (Ctrl+C) to end it.")
