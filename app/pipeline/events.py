"""What a live session tells the outside world: states, a summary, and the listener interface.

Pure Python. ``SessionListener`` methods are called from the session's threads (capture thread,
websocket thread, translation pool threads): implementations must be thread-safe and quick. The
headless CLI prints under a lock; the window's bridge (``app/workers``) queues the calls and emits
Qt signals on the GUI thread.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from app.core.errors import AppError
from app.core.transcript import Gap, Translation, Turn

# After a signal the ending may take this long: a service manager sends SIGKILL some seconds after
# SIGTERM (systemd: 90 s by default, many others less), and the person who closed a terminal waits.
SIGNAL_FINISH_S = 20.0


class SessionState(str, Enum):
    STARTING = "starting"  # folder, WAV and device being opened
    CONNECTING = "connecting"
    OFFLINE = "offline"  # recording, but the service cannot be reached yet: not transcribing
    LIVE = "live"
    RECONNECTING = "reconnecting"
    FINISHING = "finishing"  # capture stopped; the last turn and translations ("finishing 4 translations…")
    ENDED = "ended"
    FAILED = "failed"  # ended because of a fatal error (everything recorded is still saved)


@dataclass
class SessionSummary:
    folder: Path
    audio_path: Path
    audio_seconds: float
    turns: int
    translations_done: int
    translations_failed: int
    gaps: list[Gap] = field(default_factory=list)
    exports: list[Path] = field(default_factory=list)
    error: AppError | None = None  # the fatal error that ended the session, if any
    reconnects: int = 0
    overflows: int = 0
    dropped_audio_ms: int = 0  # audio the network never received (it is in the WAV)
    transcribed: bool = True  # False: the service was never reached, nothing could be transcribed
    quit: bool = False  # ended by quit_now(): open translations were marked, not waited for
    discarded: bool = False  # it held nothing (no turn, under a second of audio): no folder, no archive entry


def nothing_kept_text(summary: SessionSummary) -> str:
    """What the window and the terminal say about a session that held nothing."""
    return (f"Nothing was recorded ({summary.audio_seconds:.1f} s of audio, no turns), so no session was kept.")


def rate_limit_text(waiting: int, resume_in_s: float) -> str:
    """What the window's status bar and the terminal say while the rate limit holds translations back."""
    count = f"{waiting} translation{'s' if waiting != 1 else ''}" if waiting > 0 else "translations"
    when = f"; resuming in {math.ceil(resume_in_s)} s" if resume_in_s >= 0.5 else ""
    return f"{count} waiting for the rate limit{when}"


@dataclass(frozen=True)
class SessionEvent:
    """One thing a session tells its listener, and the Qt signal the window hears it as."""

    method: str  # the ``SessionListener`` method
    signal: str  # the signal of ``app.workers.session_signals.SessionSignals`` (bridge and controller)
    after_end: bool = False  # still delivered after ``session_ended`` (translations retried after Stop)


# The one list: the bridge queues these and emits them, the controller forwards them, a test checks
# that every ``SessionListener`` method is here once. A new kind of event is one line here, one
# method below and one signal in ``SessionSignals``.
SESSION_EVENTS: tuple[SessionEvent, ...] = (
    SessionEvent("state_changed", "state_changed"),
    SessionEvent("interim_changed", "interim_text_changed"),
    SessionEvent("turn_finalized", "turn_finalized"),
    SessionEvent("turn_revised", "turn_revised"),
    SessionEvent("translation_updated", "translation_updated", after_end=True),
    SessionEvent("gap_added", "gap_added"),
    SessionEvent("level_changed", "level_changed"),
    SessionEvent("error_occurred", "error_occurred", after_end=True),
    SessionEvent("rate_limit_changed", "rate_limit_changed"),
    SessionEvent("session_ended", "session_ended"),
)


class SessionListener(Protocol):
    def state_changed(self, state: SessionState, detail: str) -> None: ...

    def interim_changed(self, text: str) -> None: ...

    def turn_finalized(self, turn: Turn) -> None: ...

    def turn_revised(self, turn: Turn) -> None:
        """A final turn changed after the fact (today: its speaker, from a diarization revision)."""
        ...

    def translation_updated(self, index: int, translation: Translation) -> None: ...

    def gap_added(self, gap: Gap) -> None: ...

    def level_changed(self, dbfs: float) -> None: ...

    def error_occurred(self, error: AppError) -> None: ...

    def rate_limit_changed(self, waiting: int, resume_in_s: float) -> None:
        """``waiting`` > 0: that many translations are held back to stay within the LLM Gateway's
        rate limit, the next request goes in about ``resume_in_s`` seconds; 0: no longer."""
        ...

    def session_ended(self, summary: SessionSummary) -> None: ...

