"""AssemblyAI's turn rules: exactly one final per turn, and live interim text, from v3 messages.

The session's speech seam (``app.pipeline.speech.TurnRules``) for this backend: the generic turn
and transcript model stay in ``app.core``; what is particular to AssemblyAI (the two-message
formatting hold, ``turn_order`` per connection, whisper-rt's non-speech tags) lives here. Pure
Python, no threads of its own; the websocket thread feeds it, and whoever owns it calls
``tick()`` now and then (the websocket read loop wakes at least every 100 ms). Not thread-safe:
one owner.

Why this exists [protocol §3.4, §6.1-2]: with ``format_turns=true`` the universal-streaming models
may send two ``end_of_turn`` messages for the same ``turn_order`` (unformatted, then a formatted
copy), or only one (inline formatting). Translating every ``end_of_turn`` translates turns twice,
which is what the original tutorial did. The rule that survives both behaviours: hold an
unformatted final briefly and take the formatted copy when it comes; fall back to the held one
when a new ``turn_order`` starts, on ``Termination``/disconnect, or after ``hold_timeout_s``.
Interim text is built from ``words`` (finalized words plus the non-final tail), because the first
partials of a turn carry ``transcript: ""``.

Non-speech is not a turn [protocol §9.5]: whisper-rt sends silence and music as finals whose
``utterance`` holds only bracketed tags (``"[ Silence] [ Silence]"``, ``"[Music]"``) while
``transcript`` holds their bare words (``" silence  silence"``). Such a final is dropped here, so it
is never shown, stored, exported or translated; tags are also kept out of the interim text and out
of a real turn's text. The utterance may ride on an earlier message of the turn than its final
(§3.4), so the last one seen for the turn in progress is remembered.

``turn_order`` restarts at 0 on every connection, so turns are keyed by (segment, turn_order),
and word times (ms from the start of that connection's audio) are shifted by ``offset_ms``, the
session-audio position where the connection's audio began, so they point into the session WAV.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from app.core.transcript import Turn, Word
from app.core.turn_events import AssemblerEvent, InterimChanged, SpeakerRevised, TurnFinalized
from app.stt.protocol import Begin, ServerError, ServerWarning, SpeakerRevision, Termination
from app.stt.protocol import TurnMessage as WireTurn

log = logging.getLogger("app.stt")

DEFAULT_HOLD_TIMEOUT_S = 1.5
_TAG = re.compile(r"\[[^\]]*\]")  # a non-speech tag: "[Music]", "[ Silence]", "[Música]"
_SPACES = re.compile(r"\s+")


def without_tags(text: str) -> str:
    """``text`` without bracketed non-speech tags, spaces tidied."""
    return _SPACES.sub(" ", _TAG.sub(" ", text)).strip()


def is_non_speech(transcript: str, utterance: str) -> bool:
    """True for a whisper-rt final that is silence or music, not speech [protocol §9.5]: its
    utterance (or, lacking one, its transcript) is bracketed tags and nothing else."""
    shown = utterance if utterance.strip() else transcript
    return _TAG.search(shown) is not None and not without_tags(shown).strip(" .,;:!?-—")


# Structural types: app.stt.protocol.TurnMessage satisfies them, and so do the tests' stand-ins.
class WordLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def confidence(self) -> float: ...
    @property
    def word_is_final(self) -> bool: ...


class TurnMessage(Protocol):
    @property
    def turn_order(self) -> int: ...
    @property
    def end_of_turn(self) -> bool: ...
    @property
    def turn_is_formatted(self) -> bool: ...
    @property
    def transcript(self) -> str: ...
    @property
    def utterance(self) -> str: ...
    @property
    def words(self) -> Sequence[WordLike]: ...
    @property
    def language_code(self) -> str | None: ...
    @property
    def speaker_label(self) -> str | None: ...


class TurnAssembler:
    def __init__(
        self,
        *,
        format_turns: bool,
        hold_timeout_s: float = DEFAULT_HOLD_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.format_turns = format_turns
        self.hold_timeout_s = hold_timeout_s
        self._clock = clock
        self._wall = wall_clock
        self._segment = 0
        self._offset_ms = 0
        self._next_index = 0
        self._finalized: set[tuple[int, int]] = set()
        self._held: TurnMessage | None = None
        self._held_since = 0.0
        self._last_end_ms = 0
        self._utterance: tuple[tuple[int, int], str] | None = None  # the turn in progress's last utterance
        self._revised: dict[tuple[int, int], str] = {}  # labels revised before their turn was final
        self.duplicates_ignored = 0
        self.non_speech_ignored = 0

    @property
    def next_index(self) -> int:
        return self._next_index

    def start_segment(self, segment: int, offset_ms: int) -> list[AssemblerEvent]:
        """A new connection begins; its audio starts at ``offset_ms`` of the session WAV."""
        events = self.flush()
        self._segment = segment
        self._offset_ms = offset_ms
        return events

    def receive(self, message: object) -> list[AssemblerEvent]:
        """Any message of the connection (``app.pipeline.speech.TurnRules``): turns are assembled,
        ``Termination`` releases what is held, errors and warnings are logged."""
        if isinstance(message, WireTurn):
            return self.on_message(message)
        if isinstance(message, SpeakerRevision):
            return self.revise(message.revisions)
        if isinstance(message, Termination):
            return self.flush()
        if isinstance(message, ServerError):
            log.warning("streaming service error %s: %s", message.code, message.message)
        elif isinstance(message, ServerWarning):
            log.warning("streaming service warning %s: %s", message.code, message.message)
        elif isinstance(message, Begin):
            log.info("session began: %s", message.id)
        return []

    def on_message(self, msg: TurnMessage) -> list[AssemblerEvent]:
        events: list[AssemblerEvent] = []
        key = (self._segment, msg.turn_order)
        if self._held is not None and self._held.turn_order != msg.turn_order:
            # A new turn started before the formatted copy arrived: the held one is all we get.
            events += self._finalize(self._held)
        if key in self._finalized:
            # The late formatted copy of a turn already finalized (or a repeat): never twice.
            self.duplicates_ignored += 1
            return events
        if msg.utterance.strip():
            self._utterance = (key, msg.utterance)
        if not msg.end_of_turn:
            events.append(self._interim(msg))
            return events
        if self.format_turns and not msg.turn_is_formatted:
            self._held = msg
            self._held_since = self._clock()
            events.append(self._interim(msg))
            return events
        events += self._finalize(msg)
        return events

    def revise(self, revisions: Sequence[tuple[int, str]]) -> list[AssemblerEvent]:
        """Speakers re-labelled by the service: a turn already final is said so (the session
        relabels it); one not final yet takes the new label when it is."""
        events: list[AssemblerEvent] = []
        for order, label in revisions:
            key = (self._segment, order)
            if key in self._finalized:
                events.append(SpeakerRevised(self._segment, order, label))
            else:
                self._revised[key] = label
        return events

    def tick(self) -> list[AssemblerEvent]:
        """Call periodically: releases a held final whose formatted copy did not come in time."""
        if self._held is not None and self._clock() - self._held_since >= self.hold_timeout_s:
            return self._finalize(self._held)
        return []

    def flush(self) -> list[AssemblerEvent]:
        """On ``Termination``, a disconnect or a new segment: release whatever is held."""
        if self._held is not None:
            return self._finalize(self._held)
        return []

    def _interim(self, msg: TurnMessage) -> InterimChanged:
        if msg.words:
            final_part = without_tags(" ".join(w.text for w in msg.words if w.word_is_final))
            tail = without_tags(" ".join(w.text for w in msg.words if not w.word_is_final))
        else:
            final_part, tail = without_tags(msg.transcript), ""
        text = " ".join(p for p in (final_part, tail) if p)
        return InterimChanged(self._segment, msg.turn_order, text, final_part, tail)

    def _finalize(self, msg: TurnMessage) -> list[AssemblerEvent]:
        self._held = None
        key = (self._segment, msg.turn_order)
        self._finalized.add(key)
        remembered = self._utterance[1] if self._utterance is not None and self._utterance[0] == key else ""
        self._utterance = None
        clear = InterimChanged(self._segment, msg.turn_order, "", "", "")
        if is_non_speech(msg.transcript, msg.utterance or remembered):
            self.non_speech_ignored += 1
            return [clear]  # silence or music: not a turn
        text = without_tags(msg.transcript) or without_tags(" ".join(w.text for w in msg.words))
        if not text:
            return [clear]  # a turn of noise: nothing to show or translate
        words = [
            Word(w.text, w.start + self._offset_ms, w.end + self._offset_ms, w.confidence, w.word_is_final)
            for w in msg.words if without_tags(w.text)
        ]
        if words:
            start_ms, end_ms = words[0].start_ms, max(w.end_ms for w in words)
        else:
            start_ms = end_ms = max(self._last_end_ms, self._offset_ms)
        self._last_end_ms = max(self._last_end_ms, end_ms)
        turn = Turn(
            index=self._next_index,
            segment=self._segment,
            turn_order=msg.turn_order,
            text=text,
            start_ms=start_ms,
            end_ms=end_ms,
            finalized_at=self._wall(),
            formatted=msg.turn_is_formatted,
            language_code=msg.language_code,
            speaker=self._revised.pop(key, msg.speaker_label),
            words=words,
        )
        self._next_index += 1
        return [clear, TurnFinalized(turn)]
