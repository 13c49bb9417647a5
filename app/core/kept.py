"""What a kept session carries besides its turns: its short ID and its translation sets.

Pure Python; any thread. A *translation set* is one column of translations of a session: the
language, the model and the instructions it was made with, and when. A session's own translations
(made while it was recorded) are the first set of each language; translating the session again
(another language, or the same one with another model or instructions) adds a set, and the ones
before are kept. The first set of a language added later is that language's first set too. A set
is named by its *label*: the language code for the first set of a language (``es``), the code and
its number for later ones (``es.2``, ``es.3``); labels are what exports, the terminal and the
window's columns use.

A session's *short ID* (``k3f9xq2``) is derived from its uid, which is random (uuid4) and written
into the session folder's ``transcript.json``: so the ID is short, random and stable. It stays the
same when the archive is rebuilt from the folders (a damaged archive set aside) and when a bundle
is imported on another machine.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from app.core.languages import language_name

SHORT_ID_LENGTH = 7  # 32**7 = 3.4e10: two of a thousand sessions share one with a chance of 1 in 70,000
MAX_SHORT_ID_LENGTH = 13  # should two collide anyway, the later one gets a longer ID
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base 32: no i, l, o, u to misread
_LABEL = re.compile(r"^(?P<language>[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)(?:\.(?P<ordinal>[0-9]+))?$")


def short_id(uid: str, length: int = SHORT_ID_LENGTH) -> str:
    """The short ID of the session whose uid is ``uid`` (the same uid gives the same ID anywhere)."""
    number = int.from_bytes(hashlib.sha256(uid.encode("utf-8")).digest()[:9], "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def looks_like_short_id(text: str) -> bool:
    return SHORT_ID_LENGTH <= len(text) <= MAX_SHORT_ID_LENGTH and all(c in _ALPHABET for c in text.lower())


class SetState(str, Enum):
    RUNNING = "running"  # being translated (or the app stopped while it was: its missing cells can be retried)
    DONE = "done"
    CANCELLED = "cancelled"  # stopped by the user; what was translated is kept


@dataclass(frozen=True)
class TranslationSet:
    language: str  # ISO code of the target language
    ordinal: int = 1  # 1: the first set of the language (the session's own); 2, 3 ...: translated again later
    model: str = ""  # the LLM model it was made with
    instructions: str = ""  # extra instructions given to the model, if any
    created_at: float = 0.0  # unix time
    state: SetState = SetState.DONE
    id: int | None = None  # the archive's row id (None outside the archive)

    @property
    def label(self) -> str:
        return set_label(self.language, self.ordinal)

    @property
    def own(self) -> bool:
        """True for the first set of its language (the one the session made while it was recorded)."""
        return self.ordinal == 1

    def column_name(self) -> str:
        """The header of its column: "Spanish" for the session's own, "Spanish 2 (gpt-4.1)" after."""
        name = language_name(self.language)
        if self.own:
            return name
        return f"{name} {self.ordinal}" + (f" ({self.model})" if self.model else "")

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "language": self.language, "ordinal": self.ordinal, "model": self.model,
                "instructions": self.instructions, "created_at": self.created_at, "state": self.state.value}

    @classmethod
    def from_json(cls, raw: object) -> TranslationSet | None:
        """A set as ``to_json`` wrote it; None for anything that is not one (a file from elsewhere)."""
        if not isinstance(raw, dict):
            return None
        language, ordinal = raw.get("language"), raw.get("ordinal")
        if not isinstance(language, str) or not isinstance(ordinal, int) or isinstance(ordinal, bool) or ordinal < 1:
            return None
        try:
            state = SetState(raw.get("state") or SetState.DONE.value)
        except ValueError:
            state = SetState.DONE
        created = raw.get("created_at")
        return cls(language, ordinal, str(raw.get("model") or ""), str(raw.get("instructions") or ""),
                   float(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else 0.0,
                   state)


def set_label(language: str, ordinal: int) -> str:
    return language if ordinal == 1 else f"{language}.{ordinal}"


def label_name(label: str) -> str:
    """A label for people without the set at hand: "Spanish", "Spanish 2"."""
    parsed = parse_label(label)
    if parsed is None:
        return language_name(label)
    language, ordinal = parsed
    return language_name(language) + ("" if ordinal == 1 else f" {ordinal}")


def parse_label(label: str) -> tuple[str, int] | None:
    """``"es"`` -> ``("es", 1)``, ``"es.2"`` -> ``("es", 2)``; None if it is not a label."""
    match = _LABEL.match(label.strip())
    if match is None:
        return None
    ordinal = int(match["ordinal"]) if match["ordinal"] else 1
    return (match["language"], ordinal) if ordinal >= 1 else None
