"""A two-way conversation: what each side needs, decided once, before anything starts.

Pure (Qt-free, no I/O). Two-way records the microphone (you, speaking ``Settings.source``) and the
system audio (them: the other side of a call, speaking ``Settings.other_language``) at once, each
over its own streaming connection with its own spoken language and so its own speech model. Every
turn is translated into every language of the session, the two sides' languages first, then the
extra targets (``--to``); a turn's own language is its text, copied, never requested (the
translation queue does that when it is told what the turn is in). So what you say appears in the
other side's language, and what they say in yours.

Two connections stream at once, so a two-way session costs twice the streaming time of a plain
one (``COST_TEXT``). Each side's audio goes to its own WAV on the same timeline (``audio.wav``
the microphone, ``audio-system.wav`` the system audio): a side whose device fails or vanishes
ends its own file, and the other side's recording is never touched.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.core.devices import SYSTEM_AUDIO
from app.core.errors import ConfigError
from app.core.languages import Language, resolve_language
from app.core.settings import Settings
from app.core.transcript import MICROPHONE
from app.core.transcript import SYSTEM_AUDIO as SYSTEM_SIDE
from app.core.validate import SessionPlan, resolve_targets, validate
from app.core.who import SIDE_NAMES  # the default names (the window lets people rename them)

__all__ = ["COST_TEXT", "SIDE_NAMES", "Side", "TwoWayPlan", "plan_two_way"]

COST_TEXT = ("Two-way streams two sessions at once (your microphone and the system audio), so the streaming "
             "time costs twice as much as a one-sided session.")


@dataclass(frozen=True)
class Side:
    side: str  # ``app.core.transcript.MICROPHONE`` or ``SYSTEM_AUDIO``
    plan: SessionPlan  # its own spoken language, speech model and targets
    language: Language  # what this side speaks
    device: str | None  # the input it records: a microphone's name, or a system-audio source's

    @property
    def name(self) -> str:
        return SIDE_NAMES[self.side]


@dataclass(frozen=True)
class TwoWayPlan:
    you: Side
    them: Side
    targets: tuple[Language, ...]  # the session's columns: your language, theirs, then the extras

    @property
    def sides(self) -> tuple[Side, Side]:
        return self.you, self.them


def plan_two_way(settings: Settings) -> TwoWayPlan:
    """Both sides' plans, or a ``ConfigError`` that says what to change."""
    if not settings.source or not settings.other_language:
        raise ConfigError("A two-way conversation needs both languages: the one you speak (--from, or Spoken "
                          "language) and the one the other side speaks (--other-language, or They speak).")
    mine, theirs = resolve_language(settings.source), resolve_language(settings.other_language)
    if mine.code.split("-")[0] == theirs.code.split("-")[0]:
        raise ConfigError(f"You and the other side both speak {mine.name}, so there is nothing to translate "
                          "between you. Two-way translates between two languages: choose the other side's "
                          "language, or record one side alone (the microphone, or --system-audio) with --to.")
    extras = tuple(t for t in resolve_targets(settings.targets) if t not in (mine, theirs))
    you = validate(settings.with_changes(source=mine.code, targets=tuple(t.code for t in (theirs, *extras))),
                   explicit_model=False)
    them = validate(settings.with_changes(source=theirs.code, targets=tuple(t.code for t in (mine, *extras)),
                                          device=settings.system_device or SYSTEM_AUDIO), explicit_model=False)
    return TwoWayPlan(you=Side(MICROPHONE, you, mine, settings.device),
                      them=Side(SYSTEM_SIDE, them, theirs, settings.system_device or SYSTEM_AUDIO),
                      targets=(mine, theirs, *extras))


def both_sides(names: Mapping[str, str], you: tuple[str, str], them: tuple[str, str]) -> tuple[str, str]:
    """The exports' header for a two-way session: each side's (language, speech model) named, as
    ("English (You), German (Them)", "universal-streaming-english (You), universal-streaming-multilingual (Them)");
    one model named once when both sides use it."""
    mine, theirs = (names.get(side) or SIDE_NAMES[side] for side in (MICROPHONE, SYSTEM_SIDE))
    languages = f"{you[0]} ({mine}), {them[0]} ({theirs})"
    models = you[1] if not them[1] or them[1] == you[1] else f"{you[1]} ({mine}), {them[1]} ({theirs})"
    return languages, models
