"""Who said a turn: its side (You / Them, in a two-way session) and its speaker (A, B, …), under
the names the user gave them for the session.

Pure Python. ``Names`` is what a session keeps (the archive's session ``meta`` JSON under
``names``, the session folder's ``transcript.json`` under ``session.names``): only the names that
were changed; everything else shows its default ("You", "Them", the service's label). ``Shown``
says what a session's "Who" shows at all: sides only when some turn came from the system's audio,
speakers only when some turn has a label, so a one-microphone session without speakers shows
nothing extra anywhere (window, History, exports).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from app.core.transcript import MICROPHONE, SIDES, SYSTEM_AUDIO, Turn

SIDE_NAMES = {MICROPHONE: "You", SYSTEM_AUDIO: "Them"}
MAX_NAME = 40  # a name longer than this is cut (it is a column, not a biography)
SEPARATOR = " · "


class Kind(str, Enum):
    SIDE = "side"
    SPEAKER = "speaker"


@dataclass(frozen=True)
class Names:
    """The session's own names: side (``microphone``/``system``) -> name, speaker label -> name."""

    sides: Mapping[str, str] = field(default_factory=dict)
    speakers: Mapping[str, str] = field(default_factory=dict)

    def side(self, side: str) -> str:
        return self.sides.get(side) or SIDE_NAMES.get(side, side)

    def speaker(self, label: str) -> str:
        return self.speakers.get(label) or label

    def name(self, kind: Kind, key: str) -> str:
        return self.side(key) if kind is Kind.SIDE else self.speaker(key)

    def renamed(self, kind: Kind, key: str, name: str) -> Names:
        """These names with ``key`` called ``name`` (blank, or the default: back to the default)."""
        name = " ".join(name.split())[:MAX_NAME]
        default = SIDE_NAMES.get(key, key) if kind is Kind.SIDE else key
        table = dict(self.sides if kind is Kind.SIDE else self.speakers)
        if not name or name == default:
            table.pop(key, None)
        else:
            table[key] = name
        return Names(table, self.speakers) if kind is Kind.SIDE else Names(self.sides, table)

    def __bool__(self) -> bool:
        return bool(self.sides or self.speakers)

    def to_json(self) -> dict[str, dict[str, str]]:
        return {"sides": dict(self.sides), "speakers": dict(self.speakers)}

    @classmethod
    def from_json(cls, value: object) -> Names:
        """Tolerant: whatever is not a mapping of text to text is left out."""
        if not isinstance(value, Mapping):
            return cls()

        def table(key: str, allowed: Iterable[str] | None = None) -> dict[str, str]:
            raw = value.get(key)
            if not isinstance(raw, Mapping):
                return {}
            return {str(k): " ".join(str(v).split())[:MAX_NAME] for k, v in raw.items()
                    if isinstance(v, str) and v.strip() and (allowed is None or k in allowed)}

        return cls(table("sides", SIDES), table("speakers"))


@dataclass(frozen=True)
class Shown:
    """What a session's "Who" shows: the side, the speaker, both, or nothing (no column at all)."""

    sides: bool = False
    speakers: bool = False

    def __bool__(self) -> bool:
        return self.sides or self.speakers

    @classmethod
    def of(cls, turns: Iterable[Turn]) -> Shown:
        sides = speakers = False
        for turn in turns:
            sides = sides or turn.side == SYSTEM_AUDIO
            speakers = speakers or bool(turn.speaker)
        return cls(sides, speakers)

    def merged(self, other: Shown) -> Shown:
        return Shown(self.sides or other.sides, self.speakers or other.speakers)


NO_NAMES = Names()  # every default (a shared value: Names are never changed in place)
NOTHING = Shown()


def who(turn: Turn, names: Names, shown: Shown) -> str:
    """The turn's "Who": "Them · B", "You", "Alice", or "" (nothing shown, or nothing known)."""
    parts = []
    if shown.sides:
        parts.append(names.side(turn.side))
    if shown.speakers and turn.speaker:
        parts.append(names.speaker(turn.speaker))
    return SEPARATOR.join(parts)


def parts_of(turn: Turn, shown: Shown) -> list[tuple[Kind, str]]:
    """What can be renamed in the turn's "Who": its side, its speaker, in that order."""
    out: list[tuple[Kind, str]] = []
    if shown.sides:
        out.append((Kind.SIDE, turn.side))
    if shown.speakers and turn.speaker:
        out.append((Kind.SPEAKER, turn.speaker))
    return out


def names_of(metadata: Mapping[str, object]) -> Names:
    """The names a session's metadata (an export's, the archive's meta) carries."""
    return Names.from_json(metadata.get("names"))
