"""Reading a session's ``transcript.json`` back, and merging two copies of one transcript.

Pure; any thread. Crash recovery merges what the journal holds with what the session folder holds
(either may be the more complete one: the journal may have failed mid-session while the exports
were written from memory, or the process died before the exports were written), and importing a
session made elsewhere reads the same file. The merge is per turn and never loses anything: every
turn, translation and gap of either copy is in the result; where both have a cell, the more
finished one wins (done over failed over pending).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.core.kept import TranslationSet, parse_label
from app.core.transcript import MICROPHONE, SIDES, Gap, Translation, TranslationStatus, Turn

Entry = Turn | Gap
_RANK = {TranslationStatus.DONE: 2, TranslationStatus.FAILED: 1, TranslationStatus.PENDING: 0}


@dataclass(frozen=True)
class TranscriptFile:
    turns: list[Turn]  # with the session's own translations (``Turn.translations``, by language)
    gaps: list[Gap]
    languages: tuple[str, ...]  # the languages of the session's own translations
    metadata: dict[str, Any] = field(default_factory=dict)
    # Translation sets made after the session (``app.core.kept``), and their cells by turn index.
    extra_sets: tuple[TranslationSet, ...] = ()
    extra: dict[str, dict[int, Translation]] = field(default_factory=dict)  # label -> turn index -> cell


def read_transcript_json(text: str) -> TranscriptFile:
    """Parse what ``app.core.exports.to_json`` wrote; raises ValueError for anything else."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("format") != "live-translate-transcript":
        raise ValueError("not a Live Translate transcript.json")
    metadata = _dict(doc.get("session"))
    described = {s.label: s for s in map(TranslationSet.from_json, _list(metadata.get("translation_sets"))) if s}
    extra: dict[str, dict[int, Translation]] = {}
    turns: list[Turn] = []
    for raw in _list(doc.get("turns")):
        if not isinstance(raw, dict) or not isinstance(raw.get("index"), int) or not isinstance(raw.get("text"), str):
            raise ValueError(f"a turn without an index or a text: {str(raw)[:80]}")
        turn = Turn(index=raw["index"], segment=0, turn_order=raw["index"], text=raw["text"],
                    start_ms=_int(raw.get("start_ms")), end_ms=_int(raw.get("end_ms")),
                    finalized_at=float(raw.get("finalized_at") or 0.0), formatted=True,
                    language_code=_str_or_none(raw.get("language_code")), speaker=_str_or_none(raw.get("speaker")),
                    side=raw["side"] if raw.get("side") in SIDES else MICROPHONE)
        for label, tr in _dict(raw.get("translations")).items():
            parsed = parse_label(str(label))
            if not isinstance(tr, dict) or parsed is None:
                continue
            try:
                status = TranslationStatus(tr.get("status"))
            except ValueError:
                continue
            language, ordinal = parsed
            cell = Translation(
                language=language, text=str(tr.get("text") or ""), status=status,
                model=str(tr.get("model") or ""), latency_ms=_int_or_none(tr.get("latency_ms")),
                error=str(tr.get("error") or ""))
            if ordinal == 1:
                turn.translations[language] = cell
            else:
                extra.setdefault(str(label), {})[turn.index] = cell
        turns.append(turn)
    gaps = [Gap(_int(g.get("start_ms")), _int(g.get("end_ms")), str(g.get("reason") or ""))
            for g in _list(doc.get("gaps")) if isinstance(g, dict)]
    languages = tuple(str(code) for code in _list(doc.get("languages")) if (parse_label(str(code)) or ("", 0))[1] == 1)
    sets = []
    for label in extra:
        language, ordinal = parse_label(label) or (label, 2)
        sets.append(described.get(label) or TranslationSet(language, ordinal))
    return TranscriptFile(turns, gaps, languages, metadata, tuple(sets), extra)


@dataclass(frozen=True)
class MergeReport:
    turns: int  # in the result
    from_file_only: int  # turns the journal did not have
    cells_from_file: int  # translations the file had better than the journal (or the journal lacked)


def merge_transcripts(journal: list[Turn], journal_gaps: list[Gap], file: TranscriptFile | None
                      ) -> tuple[list[Turn], list[Gap], MergeReport]:
    """Every turn, translation and gap of both copies; per cell the more finished one."""
    merged = {t.index: t for t in journal}
    from_file = cells = 0
    for turn in file.turns if file is not None else []:
        mine = merged.get(turn.index)
        if mine is None:
            merged[turn.index] = turn
            from_file += 1
            cells += len(turn.translations)
            continue
        for language, tr in turn.translations.items():
            kept = mine.translations.get(language)
            if kept is None or _RANK[tr.status] > _RANK[kept.status]:
                mine.translations[language] = tr
                cells += 1
    gaps = {(g.start_ms, g.end_ms): g for g in journal_gaps}
    for gap in file.gaps if file is not None else []:
        gaps.setdefault((gap.start_ms, gap.end_ms), gap)
    turns = [merged[i] for i in sorted(merged)]
    return turns, sorted(gaps.values(), key=lambda g: g.start_ms), MergeReport(len(turns), from_file, cells)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
