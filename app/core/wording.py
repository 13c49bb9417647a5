"""Words for counts in what the app says: "1 turn", "2 turns". Pure; any thread."""
from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, made plural (``noun + "s"``, or ``plural``) unless ``n`` is 1."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
