"""The fake streaming server's "recognition": PCM in, ``Turn`` (and ``SpeechStarted``) payloads
out, shaped the way each speech model shapes them. There is no speech recognition at all.

An energy detector (RMS per ``vad_window_ms`` window) finds the speech segments; segment *i* gets
script line *i* (its text, language and speaker). A line is consumed server-wide only when its
turn is finalized, so after a lost connection the next one carries on with the unfinished line.

Per model family (chosen by the ``speech_model`` query value):

- universal-streaming english / multilingual [protocol §3.4, §3.5]: a partial each time one more
  word is revealed (one per ``word_ms`` of speech); ``transcript`` holds the final words only, the
  last word is non-final; the end of turn after ``end_silence_ms`` of silence; with
  ``format_turns`` either the two-message behaviour (an unformatted final, then a formatted copy
  of the same ``turn_order`` with ``utterance: ""``), optionally *late* (the copy held back until
  the next turn's first partial, or until Terminate), or the inline one.
- the u3 family (u3-rt-pro, universal-3-5-pro, ...) [protocol §1.5; SPEC u3-pro-message-sequence]:
  ``SpeechStarted`` when a turn's speech starts; no partials while the speaker talks; at most one
  partial per pause of ``min_turn_silence`` (100 ms by default; all words non-final, ``transcript``
  ending in an em dash, not formatted); a sentence whose words are all out and end in . ? ! ends
  at that first pause instead (the real model ends turns on terminal punctuation), any other
  turn after ``end_silence_ms``; exactly one final, formatted, ``utterance`` equal to
  ``transcript``, confidence 1; ``format_turns`` changes nothing.
- whisper-rt [protocol §9.5; SPEC whisper-multilingual-streaming]: partials like the universal
  models; a script line made only of bracketed tags (``"[Music]"``) becomes a non-speech final
  (``transcript: " music"``, ``utterance: "[Music]"``), and every ``whisper_silence_ms`` of silence
  outside a turn gives a ``" silence  silence"`` / ``"[ Silence] [ Silence]"`` final.
  Other models say nothing for a tag-only line (UNCONFIRMED what they really do with music).

``language_code``/``language_confidence`` (the line's language) ride on messages with a
non-empty ``utterance`` or ``end_of_turn`` when ``language_detection=true`` and the model detects
(multilingual, whisper-rt, u3 family) [protocol §3.2, §9.4]. ``speaker_label`` (and ``speaker`` on
each word) come with ``speaker_labels=true`` on english, multilingual and the u3 family;
``UNKNOWN`` for a turn under 1 s of speech [protocol §1.4, §9.6].

Not imitated: recognition errors, sub-word revisions of the last word ("Zac" -> "Zack"),
confidence-based turn ends (silence ends a universal-streaming turn here), the u3
``continuous_partials`` cadence, ``prompt``/``keyterms`` having any effect, code switching inside
a turn, and whisper-rt's real partials for music (here the tag itself is the partial word:
UNCONFIRMED).

Threads: one ``Recognizer`` per connection, used by that connection's handler thread only.
"""
from __future__ import annotations

import array
import math
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakes.streaming_server import FakeStreamingServer

U3_FAMILY = frozenset({"u3-rt-pro", "u3-rt-pro-beta-1", "u3-pro", "universal-3-5-pro", "universal-3-6-pro"})
DETECTING = frozenset({"universal-streaming-multilingual", "whisper-rt", *U3_FAMILY})  # honour language_detection
DIARIZING = frozenset({"universal-streaming-english", "universal-streaming-multilingual", *U3_FAMILY})
DEFAULT_MODEL = "universal-streaming-english"
U3_PAUSE_MS = 100  # u3 min_turn_silence default [protocol §9.4]: a pause this long gets its partial
_TAG = re.compile(r"\[([^\]]*)\]")
_PUNCT = re.compile(r"[^\w'-]+")


@dataclass(frozen=True)
class ScriptLine:
    text: str
    language: str = "en"
    speaker: str = "A"

    @property
    def tags(self) -> list[str] | None:
        """The tag words of a non-speech line (``"[Music]"`` -> ``["music"]``), or None for speech."""
        if _TAG.sub("", self.text).strip():
            return None
        return [t.strip().lower() for t in _TAG.findall(self.text)]


def _ulaw_to_linear(u: int) -> int:
    u = ~u & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return -(magnitude - 0x84) if u & 0x80 else magnitude - 0x84


_ULAW = [_ulaw_to_linear(i) for i in range(256)]


def plain(token: str) -> str:
    return _PUNCT.sub("", token).lower()


def word_pairs(sentence: str) -> list[tuple[str, str]]:
    """(formatted, plain) per word. A token that is only punctuation ("-") sticks to its neighbour."""
    pairs: list[list[str]] = []
    for token in sentence.split():
        if plain(token):
            pairs.append([token, plain(token)])
        elif pairs:
            pairs[-1][0] += " " + token
    return [(f, p) for f, p in pairs]


@dataclass
class _Segment:
    turn_order: int
    line_index: int
    line: ScriptLine | None  # None: the script ran out, use word1 word2 ...
    pairs: list[tuple[str, str]] | None
    start_ms: float
    speech_ms: float = 0.0
    silence_ms: float = 0.0
    last_speech_end_ms: float = 0.0
    paused_partial_sent: bool = False  # u3: at most one partial per pause
    words: list[tuple[str, str, int, int]] = field(default_factory=list)  # formatted, plain, start, end

    @property
    def tags(self) -> list[str] | None:
        return self.line.tags if self.line is not None else None


class Recognizer:
    """Per-connection turn generator; see the module docstring."""

    def __init__(self, server: FakeStreamingServer, params: dict[str, Any]) -> None:
        self.server = server
        self.model = str(params.get("speech_model", DEFAULT_MODEL))
        self.family = "u3" if self.model in U3_FAMILY else "whisper" if self.model == "whisper-rt" else "universal"
        self.rate = int(params.get("sample_rate", 16000))
        self.mulaw = params.get("encoding") == "pcm_mulaw"
        self.format_turns = bool(params.get("format_turns", False)) and self.family != "u3"
        self.language_detection = bool(params.get("language_detection", False)) and self.model in DETECTING
        self.speaker_labels = bool(params.get("speaker_labels", False)) and self.model in DIARIZING
        min_silence = params.get("min_turn_silence")
        self.pause_ms = min_silence if isinstance(min_silence, int) else U3_PAUSE_MS
        width = 1 if self.mulaw else 2
        self.window_bytes = max(1, self.rate * server.vad_window_ms // 1000) * width
        self.pending = bytearray()
        self.pos_ms = 0.0
        self.turn_order = 0
        self.segment: _Segment | None = None
        self.quiet_ms = 0.0  # silence outside any turn (whisper-rt's silence finals)
        self.held_copy: dict[str, Any] | None = None  # a late formatted copy waiting for the next turn
        self.finals: dict[int, _Segment] = {}  # for SpeakerRevision

    # --- audio in -----------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self.pending += data
        out: list[dict[str, Any]] = []
        while len(self.pending) >= self.window_bytes:
            window = bytes(self.pending[:self.window_bytes])
            del self.pending[:self.window_bytes]
            out += self._window(window)
        return out

    def flush(self) -> list[dict[str, Any]]:
        """Terminate: the partial window counts too, then the open turn ends, then a held copy."""
        out = self._window(bytes(self.pending)) if self.pending else []
        self.pending.clear()
        out += self.end_turn()
        return out + self._release_copy()

    def speaker_revision(self) -> dict[str, Any] | None:
        """The SpeakerRevision the server's ``speaker_revisions`` asks for, before Termination."""
        wanted = self.server.speaker_revisions
        if not self.speaker_labels or not wanted:
            return None
        revisions = [{"turn_order": order, "speaker_label": label,
                      "words": [{**w, "speaker": label} for w in self._words(seg, final=True, formatted=True)]}
                     for order, label in sorted(wanted.items()) if (seg := self.finals.get(order)) is not None]
        return {"revisions": revisions, "type": "SpeakerRevision"} if revisions else None

    def _rms(self, window: bytes) -> float:
        if self.mulaw:
            samples = [_ULAW[b] for b in window]
        else:
            pcm = array.array("h")
            pcm.frombytes(window[: len(window) // 2 * 2])
            if sys.byteorder == "big":
                pcm.byteswap()
            samples = list(pcm)
        return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0

    def _window(self, window: bytes) -> list[dict[str, Any]]:
        width = 1 if self.mulaw else 2
        ms = len(window) / width / self.rate * 1000
        start, self.pos_ms = self.pos_ms, self.pos_ms + ms
        speech = self._rms(window) >= self.server.vad_threshold
        seg = self.segment
        out: list[dict[str, Any]] = []
        if seg is None:
            if not speech:
                return self._quiet(ms)
            self.quiet_ms = 0.0
            index, line = self.server._peek_line(self.model)
            pairs = None
            if line is not None:
                tags = line.tags
                # A non-speech line's partial words are its tags (UNCONFIRMED: see the docstring).
                pairs = [(f"[{t.capitalize()}]",) * 2 for t in tags] if tags is not None else word_pairs(line.text)
            seg = self.segment = _Segment(self.turn_order, index, line, pairs, start_ms=start)
            if self.family == "u3":
                out.append({"timestamp": int(start), "confidence": 0.98, "type": "SpeechStarted"})
        if speech:
            seg.speech_ms += ms
            seg.silence_ms = 0.0
            seg.paused_partial_sent = False
            seg.last_speech_end_ms = self.pos_ms
            return out + self._reveal(seg)
        seg.silence_ms += ms
        if seg.silence_ms >= self.server.end_silence_ms:
            return out + self.end_turn()
        if self.family == "u3" and seg.silence_ms >= self.pause_ms and not seg.paused_partial_sent and seg.words \
                and seg.tags is None:
            if seg.pairs is not None and len(seg.words) == len(seg.pairs) and seg.pairs[-1][0][-1:] in ".?!":
                return out + self.end_turn()  # punctuation-based: a finished sentence ends at the first pause
            seg.paused_partial_sent = True
            return out + self._released([self._u3_partial(seg)])
        return out

    def _quiet(self, ms: float) -> list[dict[str, Any]]:
        self.quiet_ms += ms
        every = self.server.whisper_silence_ms
        if self.family != "whisper" or every is None or self.quiet_ms < every:
            return []
        self.quiet_ms = 0.0
        # A non-speech final for the silence itself [protocol §9.5]; no script line is used.
        seg = _Segment(self.turn_order, -1, ScriptLine("[ Silence] [ Silence]"), None,
                       start_ms=self.pos_ms - every, last_speech_end_ms=self.pos_ms)
        self.turn_order += 1
        return [self._non_speech_final(seg)]

    # --- turns ---------------------------------------------------------------------------------

    def _pair(self, seg: _Segment, k: int) -> tuple[str, str]:
        if seg.pairs is None:
            return (f"word{k + 1}", f"word{k + 1}")
        return seg.pairs[k]

    def _reveal(self, seg: _Segment) -> list[dict[str, Any]]:
        """One more word per ``word_ms`` of speech; a partial each time the word count grows
        (the u3 family reveals silently: its partials come in pauses)."""
        word_ms = self.server.word_ms
        target = 1 + int(seg.speech_ms // word_ms)
        if seg.pairs is not None:
            target = min(target, len(seg.pairs))
        if target <= len(seg.words):
            return []
        while len(seg.words) < target:
            k = len(seg.words)
            begin = int(seg.start_ms + k * word_ms)
            seg.words.append((*self._pair(seg, k), begin, begin + int(word_ms * 0.8)))
        if self.family == "u3" or (seg.tags is not None and self.family != "whisper"):
            return []
        return self._released([self._turn(seg, end_of_turn=False, formatted=self._inline())])

    def _released(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A late formatted copy of the previous turn goes out after this turn's first message."""
        return messages + self._release_copy()

    def _release_copy(self) -> list[dict[str, Any]]:
        copy, self.held_copy = self.held_copy, None
        return [copy] if copy is not None else []

    def _inline(self) -> bool:
        return self.format_turns and self.server.formatting == "inline"

    def end_turn(self) -> list[dict[str, Any]]:
        """End of turn (silence, ForceEndpoint or Terminate): all words final, then formatting."""
        seg = self.segment
        if seg is None:
            return []
        self.segment = None
        remaining = (len(seg.pairs) if seg.pairs is not None else len(seg.words)) - len(seg.words)
        if remaining > 0:
            # Words the pace had not revealed yet share the rest of the speech evenly.
            begin = seg.words[-1][3] if seg.words else int(seg.start_ms)
            span = max(seg.last_speech_end_ms - begin, 50.0 * remaining) / remaining
            for j in range(remaining):
                k = len(seg.words)
                start = int(begin + j * span)
                seg.words.append((*self._pair(seg, k), start, int(start + span * 0.9)))
        self.server._line_done(seg.line_index, self.model)
        if seg.tags is not None and self.family != "whisper":
            return []  # only whisper-rt turns music into a final
        self.turn_order += 1
        if seg.tags is not None:
            return [self._non_speech_final(seg)]
        self.finals[seg.turn_order] = seg
        if self.family == "u3":
            return [self._turn(seg, end_of_turn=True, formatted=True)]
        out = [self._turn(seg, end_of_turn=True, formatted=self._inline())]
        if self.format_turns and self.server.formatting == "two_message":
            # Same turn_order again, formatted, utterance "" [protocol §3.4 two-message behaviour].
            copy = self._turn(seg, end_of_turn=True, formatted=True)
            if self.server.late_formatted_copy:
                self.held_copy = copy
            else:
                out.append(copy)
        return out

    # --- payloads ------------------------------------------------------------------------------

    def _words(self, seg: _Segment, *, final: bool, formatted: bool) -> list[dict[str, Any]]:
        words: list[dict[str, Any]] = []
        for k, (fmt, plain_text, start, end) in enumerate(seg.words):
            text = fmt if formatted else plain_text
            if seg.pairs is None and formatted:
                text = (text.capitalize() if k == 0 else text) + ("." if k == len(seg.words) - 1 else "")
            word_final = final or k < len(seg.words) - 1
            words.append({"start": start, "end": end, "text": text, "confidence": 0.93, "word_is_final": word_final})
        return words

    def _turn(self, seg: _Segment, *, end_of_turn: bool, formatted: bool) -> dict[str, Any]:
        words = self._words(seg, final=end_of_turn, formatted=formatted)
        transcript = " ".join(w["text"] for w in words if w["word_is_final"])
        msg: dict[str, Any] = {
            "turn_order": seg.turn_order,
            "turn_is_formatted": formatted,
            "end_of_turn": end_of_turn,
            "transcript": transcript,
            "end_of_turn_confidence": (1.0 if self.family == "u3" else 0.92) if end_of_turn else 0.05,
            "words": words,
            # The utterance rides on the first end-of-turn message only ("" on the formatted copy).
            "utterance": transcript if end_of_turn and (formatted == (self._inline() or self.family == "u3")) else "",
        }
        return self._labelled(seg, msg)

    def _u3_partial(self, seg: _Segment) -> dict[str, Any]:
        """The one partial of a pause: every word non-final, the text ending in an em dash."""
        words = [{**w, "word_is_final": False} for w in self._words(seg, final=False, formatted=True)]
        words[-1]["text"] += "—"
        msg = {"turn_order": seg.turn_order, "turn_is_formatted": False, "end_of_turn": False,
               "transcript": " ".join(w["text"] for w in words), "end_of_turn_confidence": 0, "words": words,
               "utterance": ""}
        return self._labelled(seg, msg)

    def _non_speech_final(self, seg: _Segment) -> dict[str, Any]:
        """whisper-rt's final for silence or music, shaped like the docs' example [protocol §9.5]."""
        tags = seg.tags or []
        start, end = int(seg.start_ms), int(max(seg.last_speech_end_ms, seg.start_ms + 40))
        words = []
        for k, tag in enumerate(tags):
            at = start + (end - start) * k // max(1, len(tags))
            words += [{"start": at, "end": at + 38, "text": "", "confidence": 0.0, "word_is_final": True},
                      {"start": at + 38, "end": at + 300, "text": tag, "confidence": 0.0, "word_is_final": True}]
        msg = {"turn_order": seg.turn_order, "turn_is_formatted": False, "end_of_turn": True,
               "transcript": " ".join(f" {tag}" for tag in tags), "end_of_turn_confidence": 1.0, "words": words,
               "utterance": seg.line.text if seg.line is not None else ""}
        return self._labelled(seg, msg)

    def _labelled(self, seg: _Segment, msg: dict[str, Any]) -> dict[str, Any]:
        line = seg.line or ScriptLine("")
        if self.language_detection and (msg["utterance"] or msg["end_of_turn"]):
            msg["language_code"], msg["language_confidence"] = line.language, 0.91
        if self.speaker_labels:
            label = line.speaker if seg.speech_ms >= 1000 or seg.tags is not None else "UNKNOWN"
            msg["speaker_label"] = label
            for word in msg["words"]:
                word["speaker"] = label
        msg["type"] = "Turn"  # last, like the docs' real payloads: clients must not rely on key order
        return msg
