"""The transcript model: final turns, their translations per language, and gaps.

Pure Python. A ``Transcript`` is shared by the streaming thread (adds turns and gaps) and the
translation threads (set translations), so every mutation and snapshot holds one lock; readers get
copies, never live objects. All times are milliseconds from the start of the session's WAV, so a
turn's times point into ``audio.wav`` even after reconnects (each connection's word times are
shifted by the audio position at which that connection started).
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from enum import Enum

# Which audio a turn was heard in: the microphone (you) or the system's audio (the other side of a
# call, in a two-way session). Every session so far is microphone-only; the archive stores the side
# of every turn, so two-way sessions need no new archive fields.
MICROPHONE, SYSTEM_AUDIO = "microphone", "system"
SIDES = (MICROPHONE, SYSTEM_AUDIO)


# The model of a translation cell copied from its turn, which was already in that language: no
# request was made (app.translate.queue); the window shows such a cell as the original, greyed.
SAME_LANGUAGE = "original"


class TranslationStatus(str, Enum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass
class Word:
    text: str
    start_ms: int
    end_ms: int
    confidence: float = 0.0
    is_final: bool = True


@dataclass
class Translation:
    language: str  # ISO 639-1 code of the target language
    text: str = ""
    status: TranslationStatus = TranslationStatus.PENDING
    model: str = ""
    latency_ms: int | None = None  # turn final -> translation available
    error: str = ""
    attempts: int = 0


@dataclass
class Turn:
    """One finished turn. ``key`` is unique in the session: ``turn_order`` restarts per connection."""

    index: int  # 0, 1, 2 ... in the session, across reconnects
    segment: int  # which connection (0 for the first, +1 per reconnect)
    turn_order: int  # the service's turn_order within that connection
    text: str
    start_ms: int
    end_ms: int
    finalized_at: float  # wall clock (time.time()) when the final arrived
    formatted: bool = False
    language_code: str | None = None  # the language the service detected, when it says
    speaker: str | None = None
    words: list[Word] = field(default_factory=list)
    translations: dict[str, Translation] = field(default_factory=dict)
    side: str = MICROPHONE  # one of SIDES
    # Two-way: the index of the other side's turn this one repeats (the microphone heard the
    # speakers); an echo is not translated.
    echo_of: int | None = None

    @property
    def key(self) -> str:
        return f"{self.segment}:{self.turn_order}"


@dataclass
class Gap:
    """A stretch of the WAV with no transcript (the connection was down); the audio is kept."""

    start_ms: int
    end_ms: int
    reason: str = ""


class Transcript:
    """Thread-safe, ordered collection of turns and gaps for one session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turns: list[Turn] = []
        self._by_index: dict[int, Turn] = {}
        self._gaps: list[Gap] = []

    def add_turn(self, turn: Turn) -> None:
        with self._lock:
            if turn.index in self._by_index:
                raise ValueError(f"turn {turn.index} is already in the transcript")
            self._turns.append(turn)
            self._by_index[turn.index] = turn

    def set_translation(self, index: int, translation: Translation) -> Turn:
        """Store ``translation`` on turn ``index``; returns a copy of the updated turn."""
        with self._lock:
            turn = self._by_index[index]
            turn.translations[translation.language] = copy.copy(translation)
            return copy.deepcopy(turn)

    def set_speaker(self, index: int, speaker: str) -> Turn:
        """Turn ``index`` was said by ``speaker`` (a revision); returns a copy of the updated turn."""
        with self._lock:
            turn = self._by_index[index]
            turn.speaker = speaker
            return copy.deepcopy(turn)

    def find(self, segment: int, turn_order: int, side: str = MICROPHONE) -> Turn | None:
        """A copy of the turn with this connection key (of ``side``'s connections), if there is one."""
        with self._lock:
            found = next((t for t in self._turns if t.segment == segment and t.turn_order == turn_order
                          and t.side == side), None)
            return copy.deepcopy(found) if found is not None else None

    def add_gap(self, gap: Gap) -> None:
        with self._lock:
            self._gaps.append(gap)

    def turn(self, index: int) -> Turn:
        with self._lock:
            return copy.deepcopy(self._by_index[index])

    def turns(self) -> list[Turn]:
        with self._lock:
            return copy.deepcopy(sorted(self._turns, key=lambda t: t.index))

    def gaps(self) -> list[Gap]:
        with self._lock:
            return copy.deepcopy(sorted(self._gaps, key=lambda g: g.start_ms))

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)

    def entries(self) -> list[Turn | Gap]:
        """Turns and gaps interleaved by time, for exports and the view."""
        turns, gaps = self.turns(), self.gaps()
        merged: list[Turn | Gap] = [*turns, *gaps]
        merged.sort(key=lambda e: (e.start_ms, 0 if isinstance(e, Gap) else 1))
        return merged
