"""The archive's rows as the app's records: sessions, the turns of a transcript, and back.

Pure conversions between SQLite rows and ``app.core`` types, for ``app.store.db`` (which re-exports
the records: import them from there). Stdlib only; any thread.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from app.core.kept import TranslationSet
from app.core.transcript import Gap, Transcript, Translation, TranslationStatus, Turn, Word


class SessionStatus(str, Enum):
    RECORDING = "recording"
    FINISHED = "finished"
    RECOVERED = "recovered"  # found unfinished after a crash and restored
    FAILED = "failed"


@dataclass(frozen=True)
class SessionRecord:
    id: int  # this archive's row id (not stable across archives: ``short_id`` is)
    uid: str
    started_at: float  # unix time
    ended_at: float | None
    status: SessionStatus
    folder: Path
    audio_path: Path
    source_language: str | None
    speech_model: str
    target_languages: tuple[str, ...]
    llm_model: str
    title: str
    duration_ms: int | None
    note: str  # what the app had to say (recovery); the user's own note is ``user_note``
    short_id: str = ""
    user_note: str = ""
    meta: dict[str, Any] = field(default_factory=dict)  # facts later features keep per session


@dataclass(frozen=True)
class SessionOverview:
    """One row of the history list: the record and what the list shows of its transcript."""

    record: SessionRecord
    turns: int
    gaps: int
    first_words: str
    sets: tuple[TranslationSet, ...]


@dataclass(frozen=True)
class NewSession:
    """What the journal needs to know to create (or re-create) a session's row."""

    uid: str
    folder: Path
    audio_path: Path
    source_language: str | None
    speech_model: str
    target_languages: tuple[str, ...]
    llm_model: str
    started_at: float
    title: str = ""
    user_note: str = ""


@dataclass(frozen=True)
class BulkSession:
    """A whole finished session for ``bulk_add``: the row, its turns (with their own translations) and gaps."""

    fields: NewSession
    turns: Sequence[Turn]
    gaps: Sequence[Gap] = ()
    duration_ms: int | None = None


SESSION_COLUMNS = (
    "id, uid, started_at, ended_at, status, folder, audio_path, source_language, speech_model, "
    "target_languages, llm_model, title, duration_ms, note, short_id, user_note, meta"
)
INSERT_TURN = (
    "INSERT INTO turns (session_id, idx, segment, turn_order, text, start_ms, end_ms, finalized_at, formatted,"
    " language_code, speaker, words, side) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def transcript_from_rows(turn_rows: Sequence[Sequence[Any]], translation_rows: Sequence[Sequence[Any]],
                         gap_rows: Sequence[Sequence[Any]]) -> Transcript:
    """A Transcript from ``TURN_COLUMNS`` rows, the session's own translations and its gaps."""
    turns: dict[int, Turn] = {}
    for (turn_id, idx, segment, turn_order, text, start_ms, end_ms, finalized_at, formatted,
         language_code, speaker, words, side) in turn_rows:
        turns[turn_id] = Turn(
            index=idx, segment=segment, turn_order=turn_order, text=text, start_ms=start_ms,
            end_ms=end_ms, finalized_at=finalized_at, formatted=bool(formatted),
            language_code=language_code, speaker=speaker,
            words=[Word(**word) for word in json.loads(words)], side=side,
        )
    for turn_id, language, text, status, model, latency_ms, error, attempts in translation_rows:
        turns[turn_id].translations[language] = Translation(
            language=language, text=text, status=TranslationStatus(status), model=model,
            latency_ms=latency_ms, error=error, attempts=attempts,
        )
    transcript = Transcript()
    for turn in turns.values():
        transcript.add_turn(turn)
    for start_ms, end_ms, reason in gap_rows:
        transcript.add_gap(Gap(start_ms=start_ms, end_ms=end_ms, reason=reason))
    return transcript


def session_from_row(row: Sequence[Any]) -> SessionRecord:
    (id_, uid, started_at, ended_at, status, folder, audio_path, source_language, speech_model,
     target_languages, llm_model, title, duration_ms, note, short_id, user_note, meta) = row
    return SessionRecord(
        id=id_, uid=uid, started_at=started_at, ended_at=ended_at, status=SessionStatus(status),
        folder=Path(folder), audio_path=Path(audio_path), source_language=source_language,
        speech_model=speech_model, target_languages=tuple(json.loads(target_languages)),
        llm_model=llm_model, title=title, duration_ms=duration_ms, note=note, short_id=short_id or "",
        user_note=user_note, meta=json.loads(meta or "{}"),
    )


def turn_values(session_id: int, turn: Turn) -> tuple[Any, ...]:
    words = json.dumps([asdict(word) for word in turn.words], ensure_ascii=False)
    return (session_id, turn.index, turn.segment, turn.turn_order, turn.text, turn.start_ms, turn.end_ms,
            turn.finalized_at, int(turn.formatted), turn.language_code, turn.speaker, words, turn.side)
