"""What a speech backend's turn rules tell the session: the live text changed, or a turn is final.

Pure data; any thread. A backend (``app.stt.turns`` for AssemblyAI) turns its wire messages into
these; the session (``app.pipeline``) needs nothing else from it.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.core.transcript import Turn


@dataclass(frozen=True)
class InterimChanged:
    """The live text of the turn in progress; ``text == ""`` clears it."""

    segment: int
    turn_order: int
    text: str
    final_part: str  # words the service will not change
    tail: str  # the non-final last word(s), may still change


@dataclass(frozen=True)
class TurnFinalized:
    turn: Turn


@dataclass(frozen=True)
class SpeakerRevised:
    """A turn already final was said by someone else: (segment, turn_order) of its connection."""

    segment: int
    turn_order: int
    speaker: str


AssemblerEvent = InterimChanged | TurnFinalized | SpeakerRevised
