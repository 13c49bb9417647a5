"""AssemblyAI Universal Streaming v3, as pure functions: connection URL, headers, message parsing.

No I/O and no threads; safe to call from any thread. Follows ../shared/assemblyai-protocol.md:
all configuration travels in the query string, the raw API key goes in the ``Authorization``
header (never in the URL), and the reader is tolerant: unknown message types and unknown fields
are ignored, never fatal, because the protocol keeps growing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from app.core.catalog import DEFAULT_SPEECH_MODEL, TURN_PRESETS, region
from app.core.errors import ConfigError
from app.core.units import SAMPLE_RATE
from app.core.validate import check_keyterms, check_max_speakers, check_mode, check_turn_preset

DEFAULT_URL = region("default").streaming_url
ENCODINGS = ("pcm_s16le", "pcm_mulaw")

MIN_CHUNK_MS = 50
MAX_CHUNK_MS = 1000
# How far ahead of real time audio may be sent (a backlog after connecting): the docs give no
# figure, a third party guessed minutes [protocol §2.1, §8]; our imitation allows 2 s, and 1.5 s
# keeps a margin below it. The client paces to it and the session keeps no more backlog than it.
SEND_AHEAD_TOLERANCE_S = 1.5


@dataclass(frozen=True)
class StreamingParams:
    """Every query parameter the client sends. ``None`` (or empty) means "not sent: leave it to the
    service". Which model honours which parameter is decided before this, by the session factory
    from ``app.core.catalog``; this class only serialises and range-checks."""

    sample_rate: int = SAMPLE_RATE
    encoding: str = "pcm_s16le"
    speech_model: str = DEFAULT_SPEECH_MODEL
    format_turns: bool | None = True
    turn_preset: str | None = None  # aggressive / balanced / conservative
    end_of_turn_confidence_threshold: float | None = None
    min_turn_silence: int | None = None
    max_turn_silence: int | None = None
    keyterms_prompt: tuple[str, ...] = ()
    language_detection: bool = False
    language_codes: tuple[str, ...] = ()  # expected languages (u3 family), a JSON list on the wire
    mode: str | None = None  # min_latency / balanced / max_accuracy (universal-3-5-pro)
    inactivity_timeout: int | None = None
    speaker_labels: bool = False
    max_speakers: int | None = None  # only with speaker_labels

    def query(self) -> dict[str, str]:
        """The query string as an ordered dict of already-serialised values."""
        if self.sample_rate <= 0:
            raise ConfigError(f"The sample rate must be positive, not {self.sample_rate}.")
        if self.encoding not in ENCODINGS:
            raise ConfigError(f"Unknown audio encoding {self.encoding!r}; use one of {', '.join(ENCODINGS)}.")
        if not self.speech_model:
            raise ConfigError("A speech model is required (for example universal-streaming-english).")
        q: dict[str, str] = {
            "sample_rate": str(self.sample_rate),
            "encoding": self.encoding,
            # Always sent: the spec marks it required and misspelled/missing params are silently
            # ignored by the service [protocol §6.11].
            "speech_model": self.speech_model,
        }
        if self.format_turns is not None:
            q["format_turns"] = _bool(self.format_turns)
        threshold = self.end_of_turn_confidence_threshold
        min_silence, max_silence = self.min_turn_silence, self.max_turn_silence
        check_turn_preset(self.turn_preset)
        if self.turn_preset is not None:
            p_threshold, p_min, p_max = TURN_PRESETS[self.turn_preset]
            # Explicit values override the preset's.
            threshold = p_threshold if threshold is None else threshold
            min_silence = p_min if min_silence is None else min_silence
            max_silence = p_max if max_silence is None else max_silence
        if threshold is not None:
            if not 0.0 <= threshold <= 1.0:
                raise ConfigError(f"end_of_turn_confidence_threshold must be between 0 and 1, not {threshold}.")
            q["end_of_turn_confidence_threshold"] = repr(float(threshold))
        if min_silence is not None:
            if min_silence < 0:
                raise ConfigError(f"min_turn_silence must be 0 ms or more, not {min_silence}.")
            q["min_turn_silence"] = str(int(min_silence))
        if max_silence is not None:
            if max_silence < 0 or (min_silence is not None and max_silence < min_silence):
                raise ConfigError(f"max_turn_silence ({max_silence} ms) must be at least min_turn_silence.")
            q["max_turn_silence"] = str(int(max_silence))
        terms = check_keyterms(self.keyterms_prompt)
        if terms:
            q["keyterms_prompt"] = json.dumps(list(terms), ensure_ascii=False)
        if self.language_detection:
            q["language_detection"] = "true"
        if self.language_codes:
            # A JSON list, as the SDKs send lists [protocol §1.4]; the service takes at most 10.
            if len(self.language_codes) > 10:
                raise ConfigError(f"At most 10 language codes can be sent, not {len(self.language_codes)}.")
            q["language_codes"] = json.dumps(list(self.language_codes))
        check_mode(self.mode)
        if self.mode is not None:
            q["mode"] = self.mode
        if self.speaker_labels:
            q["speaker_labels"] = "true"
            check_max_speakers(self.max_speakers)
            if self.max_speakers is not None:
                q["max_speakers"] = str(int(self.max_speakers))
        if self.inactivity_timeout is not None:
            if not 5 <= self.inactivity_timeout <= 3600:
                raise ConfigError(f"inactivity_timeout must be 5-3600 seconds, not {self.inactivity_timeout}.")
            q["inactivity_timeout"] = str(int(self.inactivity_timeout))
        return q


def _bool(value: bool) -> str:
    return "true" if value else "false"


def build_url(params: StreamingParams, base_url: str = DEFAULT_URL) -> str:
    """Full connection URL. The key is never part of it (it goes in a header)."""
    return f"{base_url}?{urlencode(params.query())}"


def auth_headers(api_key: str) -> dict[str, str]:
    """The raw key, no ``Bearer`` scheme [protocol §1.2]."""
    if not api_key or not api_key.strip():
        raise ConfigError("No AssemblyAI API key. Set ASSEMBLYAI_API_KEY or enter it in Settings.")
    return {"Authorization": api_key.strip()}


# --- server messages -------------------------------------------------------------------------


@dataclass(frozen=True)
class WireWord:
    text: str
    start: int
    end: int
    confidence: float
    word_is_final: bool


@dataclass(frozen=True)
class Begin:
    id: str
    expires_at: int | str | None
    # Begin.configuration on newer servers: what the service applied [protocol §3.1, §9.7].
    model: str | None = None
    mode: str | None = None
    api_version: str | None = None


@dataclass(frozen=True)
class TurnMessage:
    turn_order: int
    end_of_turn: bool
    turn_is_formatted: bool
    transcript: str
    utterance: str = ""
    end_of_turn_confidence: float = 0.0
    words: tuple[WireWord, ...] = ()
    language_code: str | None = None
    speaker_label: str | None = None


@dataclass(frozen=True)
class SpeakerRevision:
    """Diarization changed its mind: earlier turns (of this connection) get other speakers, even
    just before ``Termination`` [protocol §9.6]. The shape is not in the reference; it is read as
    the public clients read it: ``{"type":"SpeakerRevision","revisions":[{"turn_order":3,
    "speaker_label":"B","words":[...]}]}``, a revision without a usable turn order or label
    skipped."""

    revisions: tuple[tuple[int, str], ...]  # (turn_order, speaker_label)


@dataclass(frozen=True)
class Termination:
    audio_duration_seconds: float = 0.0
    session_duration_seconds: float = 0.0


@dataclass(frozen=True)
class ServerError:
    """``{"type":"Error",...}`` or the older bare ``{"error": "..."}``."""

    message: str
    code: int | None = None


@dataclass(frozen=True)
class ServerWarning:
    """``{"type":"Warning","warning_code":int,"warning":str}``: the session goes on; worth a log line."""

    message: str
    code: int | None = None


@dataclass(frozen=True)
class Ignored:
    """A message this client does not use (unknown type, SpeechStarted, Heartbeat, ...)."""

    type: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


ServerMessage = Begin | TurnMessage | SpeakerRevision | Termination | ServerError | ServerWarning | Ignored


class MalformedMessage(ValueError):
    """A text frame that is not a JSON object, or a known type whose required fields are unusable."""


def parse_message(text: str | bytes) -> ServerMessage:
    """Parse one server text frame. Unknown types and fields are ignored; garbage raises
    ``MalformedMessage`` so the caller can log it and go on."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedMessage(f"not a JSON object: {type(data).__name__}")
    kind = data.get("type")
    if kind is None and "error" in data:
        return ServerError(message=str(data.get("error")), code=_int_or_none(data.get("error_code")))
    if kind == "Begin":
        cfg = data.get("configuration")
        cfg = cfg if isinstance(cfg, dict) else {}
        expires = data.get("expires_at")
        return Begin(id=str(data.get("id", "")), expires_at=expires if isinstance(expires, (int, str)) else None,
                     model=_str_or_none(cfg.get("model")), mode=_str_or_none(cfg.get("mode")),
                     api_version=_str_or_none(cfg.get("api_version")))
    if kind == "Turn":
        return _parse_turn(data)
    if kind == "Termination":
        return Termination(
            audio_duration_seconds=_float(data.get("audio_duration_seconds")),
            session_duration_seconds=_float(data.get("session_duration_seconds")),
        )
    if kind == "Error":
        return ServerError(message=str(data.get("error", "")), code=_int_or_none(data.get("error_code")))
    if kind == "SpeakerRevision":
        return _parse_revision(data)
    if kind == "Warning":
        return ServerWarning(message=str(data.get("warning", "")), code=_int_or_none(data.get("warning_code")))
    return Ignored(type=str(kind), raw=data)


def configuration_differences(query: dict[str, str], begin: Begin) -> list[str]:
    """Where ``Begin.configuration`` says the service applied something other than what the query
    asked for: a misspelt or unsupported parameter is ignored, not refused, so this is the only way
    to notice [protocol §1.4, §6.10, §9.7]. Nothing to compare on servers without it."""
    differences = []
    asked_model = query.get("speech_model")
    if begin.model is not None and asked_model is not None and begin.model != asked_model:
        differences.append(f"asked for speech model {asked_model}, the service applied {begin.model}")
    asked_mode = query.get("mode")
    if begin.mode is not None and asked_mode is not None and begin.mode != asked_mode:
        differences.append(f"asked for mode {asked_mode}, the service applied {begin.mode}")
    return differences


def _parse_turn(data: dict[str, Any]) -> TurnMessage:
    order = data.get("turn_order")
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise MalformedMessage(f"Turn without a usable turn_order: {order!r}")
    words_raw = data.get("words")
    words: list[WireWord] = []
    if isinstance(words_raw, list):
        for w in words_raw:
            if not isinstance(w, dict) or not isinstance(w.get("text"), str):
                continue  # tolerate a broken word rather than lose the turn
            words.append(
                WireWord(
                    text=w["text"],
                    start=_int(w.get("start")),
                    end=_int(w.get("end")),
                    confidence=_float(w.get("confidence")),
                    word_is_final=bool(w.get("word_is_final", True)),
                )
            )
    lang = data.get("language_code")
    speaker = data.get("speaker_label")
    return TurnMessage(
        turn_order=order,
        end_of_turn=bool(data.get("end_of_turn", False)),
        turn_is_formatted=bool(data.get("turn_is_formatted", False)),
        transcript=_str(data.get("transcript")),
        utterance=_str(data.get("utterance")),
        end_of_turn_confidence=_float(data.get("end_of_turn_confidence")),
        words=tuple(words),
        language_code=lang if isinstance(lang, str) else None,
        speaker_label=speaker if isinstance(speaker, str) else None,
    )


def _parse_revision(data: dict[str, Any]) -> SpeakerRevision:
    raw = data.get("revisions")
    items = raw if isinstance(raw, list) else [data]  # tolerate a single revision at the top level
    revisions = []
    for item in items:
        if not isinstance(item, dict):
            continue
        order, label = item.get("turn_order"), item.get("speaker_label")
        if isinstance(order, int) and not isinstance(order, bool) and order >= 0 and isinstance(label, str) and label:
            revisions.append((order, label))
    return SpeakerRevision(tuple(revisions))


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _int(v: Any) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def _int_or_none(v: Any) -> int | None:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _float(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


# --- client messages -------------------------------------------------------------------------

TERMINATE = json.dumps({"type": "Terminate"})
FORCE_ENDPOINT = json.dumps({"type": "ForceEndpoint"})
KEEP_ALIVE = json.dumps({"type": "KeepAlive"})


def update_configuration(**fields: Any) -> str:
    return json.dumps({"type": "UpdateConfiguration", **fields})


# --- close codes -----------------------------------------------------------------------------

NORMAL_CLOSE = 1000
AUTH_CLOSE = 1008
SERVER_ERROR = 3005
INVALID_MESSAGE = 3006
INPUT_DURATION = 3007
SESSION_EXPIRED = 3008
TOO_MANY_SESSIONS = 3009

# Codes a reconnect can help with. 1008 (auth) and 3009 (too many sessions) are not retried
# blindly; 3006/3007 are client bugs that a reconnect would only repeat [protocol §4.1].
RETRYABLE_CLOSE_CODES = frozenset({SERVER_ERROR, SESSION_EXPIRED, 1001, 1006, 1011, 1012, 1013})


def describe_close(code: int | None, reason: str = "") -> str:
    """A sentence for the user about why the service closed the session."""
    reason = reason.strip()
    low = reason.lower()
    if code == AUTH_CLOSE and "too many" in low:
        code = TOO_MANY_SESSIONS  # older servers used 1008 for this [protocol §4.1 DISAGREE]
    if code == AUTH_CLOSE:
        return ("The API key was rejected (1008" + (f": {reason}" if reason else "") +
                "). Open Settings to enter a valid AssemblyAI key, or check the account's balance.")
    if code == TOO_MANY_SESSIONS:
        return ("AssemblyAI refused a new session: too many sessions were started in the last minute (3009). "
                "Wait a minute and record again.")
    if code == SESSION_EXPIRED:
        return "The streaming session reached its 3-hour limit (3008)."
    if code == INPUT_DURATION:
        return f"The service rejected the audio timing (3007: {reason or 'input duration violation'})."
    if code == INVALID_MESSAGE:
        return f"The service rejected a message from this app (3006: {reason or 'invalid message'})."
    if code == SERVER_ERROR:
        return f"The streaming service cancelled the session (3005{': ' + reason if reason else ''})."
    if code is None:
        return "The connection to the streaming service was lost."
    return f"The streaming service closed the connection ({code}{': ' + reason if reason else ''})."
