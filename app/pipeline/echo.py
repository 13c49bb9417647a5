"""Echo in a two-way session: the microphone hearing the speakers.

Pure; called by the session under no lock of its own (it locks itself). Without headphones, what
the other side says comes out of the speakers and into the microphone, so the same words arrive
on both sides within a moment. A turn whose words match a turn of the other side that started
within ``WINDOW_MS`` is an echo of it: marked, and not translated a second time. Whichever of the
two arrives second is the echo (the microphone's copy usually: it is heard a little later).
"""
from __future__ import annotations

import dataclasses
import re
import threading
from collections import deque
from difflib import SequenceMatcher

from app.core.transcript import Turn

WINDOW_MS = 2000  # the two copies start within this much of each other
SIMILAR = 0.8  # word-level likeness above which two turns are the same words
MIN_WORDS = 2  # "yes" on both sides is a conversation, not an echo
_KEEP = 20  # recent turns remembered per side
_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


class EchoGuard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: dict[str, deque[Turn]] = {}
        self.heard = 0  # echoes found so far (the first one suggests headphones)

    def echo_of(self, turn: Turn) -> Turn | None:
        """The other side's turn that ``turn`` repeats, if any; remembers ``turn`` either way."""
        words = _words(turn.text)
        with self._lock:
            found = None
            if len(words) >= MIN_WORDS:
                for side, turns in self._recent.items():
                    if side == turn.side:
                        continue
                    for other in reversed(turns):
                        if other.echo_of is None and abs(other.start_ms - turn.start_ms) <= WINDOW_MS and \
                                SequenceMatcher(None, words, _words(other.text)).ratio() >= SIMILAR:
                            found = other
                            break
            kept = turn if found is None else dataclasses.replace(turn, echo_of=found.index)
            self._recent.setdefault(turn.side, deque(maxlen=_KEEP)).append(kept)
            if found is not None:
                self.heard += 1
            return found
