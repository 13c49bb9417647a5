"""Crash recovery: finish the sessions whose process died while recording them.

Qt-free; runs at start-up on the main thread (headless) or a worker thread (window), before a new
session starts. ``SessionStore.unfinished_sessions`` gives only sessions nobody is recording any
more (their lock was free), so a session another instance is recording right now is never touched.
For each: repair the WAV header (the writer rewrites it every second, so at most the last second
is missing); merge, per turn, what the journal holds with what the session folder's
``transcript.json`` holds (either can be the more complete one), so nothing is replaced by a less
complete copy and nothing is deleted; bring the journal up to date with what only the folder had;
write the exports from the merged transcript; and say exactly what was restored and what is gone.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from app.audio.wav_writer import repair_wav_header
from app.core.errors import AppError
from app.core.exports import write_session_exports
from app.core.timefmt import time_label
from app.core.transcript import Transcript
from app.core.transcript_file import TranscriptFile, merge_transcripts, read_transcript_json
from app.core.units import bytes_to_ms
from app.pipeline.ending import discard_folder, held_nothing
from app.pipeline.folders import SYSTEM_AUDIO_NAME
from app.store.db import NewSession, SessionRecord, SessionStore

log = logging.getLogger("app.pipeline")


@dataclass(frozen=True)
class RecoveredSession:
    session_id: int
    folder: Path
    audio_path: Path
    audio_seconds: float
    turns: int
    problem: str = ""  # what could not be recovered, if anything
    restored: str = ""  # what was, in words ("the recording (0:42) and 12 turns, 2 from the transcript file")


def recover_unfinished(store: SessionStore) -> list[RecoveredSession]:
    """The sessions recovered; one that held nothing (``app.pipeline.ending.held_nothing``) is
    removed instead, folder and archive entry, and never offered."""
    recovered = (_recover(store, record) for record in store.unfinished_sessions())
    return [rec for rec in recovered if rec is not None]


def describe(rec: RecoveredSession) -> str:
    """One sentence for the user: what was restored, where, and what is gone."""
    if not rec.folder.is_dir():
        kept = f"{rec.turns} turn{'s' if rec.turns != 1 else ''} are" if rec.turns else "nothing is"
        return (f"An unfinished session's folder {rec.folder} is gone; {kept} kept in the session archive "
                "(transcript only).")
    problem = f" Note: {rec.problem}." if rec.problem else ""
    return f"Recovered an unfinished session in {rec.folder}: {rec.restored}.{problem}"


def _recover(store: SessionStore, record: SessionRecord) -> RecoveredSession | None:
    folder, audio = Path(record.folder), Path(record.audio_path)
    problems: list[str] = []
    duration_ms = 0
    if not folder.is_dir():
        problems.append(f"its folder {folder} is gone")
    elif not audio.is_file():
        problems.append(f"its recording {audio.name} is gone")
    else:
        try:
            duration_ms = bytes_to_ms(repair_wav_header(audio))
        except (AppError, OSError) as exc:
            problems.append(f"the recording could not be repaired ({exc})")
    other = folder / SYSTEM_AUDIO_NAME  # a two-way session's other side: repaired the same way
    if other.is_file():
        try:
            repair_wav_header(other)
        except (AppError, OSError) as exc:
            problems.append(f"the system-audio recording could not be repaired ({exc})")
    journal = store.load_transcript(record.id)
    from_file = _read_folder_transcript(folder / "transcript.json", problems)
    turns, gaps, report = merge_transcripts(journal.turns(), journal.gaps(), from_file)
    if held_nothing(report.turns, duration_ms / 1000):
        if folder.is_dir():
            discard_folder(folder)
        store.delete_session(record.id)
        store.release(record.uid)
        log.info("an unfinished session in %s held nothing (%d ms, no turns); removed", folder, duration_ms)
        return None
    languages = list(dict.fromkeys([*record.target_languages, *(from_file.languages if from_file else ())]))
    if report.from_file_only or report.cells_from_file:
        # What only the folder had goes back into the journal: the archive is complete again.
        try:
            store.sync_session(_fields(record, languages), turns, gaps)
        except (AppError, OSError) as exc:
            problems.append(f"the archive could not take in what the folder had ({exc})")
    if folder.is_dir():
        merged = Transcript()
        for turn in turns:
            merged.add_turn(turn)
        for gap in gaps:
            merged.add_gap(gap)
        try:
            metadata = {"title": record.title or folder.name, "started": folder.name, "recovered": True,
                        "speech_model": record.speech_model, "llm_model": record.llm_model,
                        **({"names": record.meta["names"]} if record.meta.get("names") else {})}  # renamed speakers
            write_session_exports(folder, merged.entries(), languages, metadata)
        except OSError as exc:
            problems.append(f"the transcript files could not be written ({exc})")
    restored = _restored(duration_ms, report.turns, report.from_file_only, folder.is_dir() and audio.is_file())
    problem = "; ".join(problems)
    store.mark_recovered(record.id, duration_ms, note=f"Recovered: {restored}." + (f" {problem}." if problem else ""))
    log.info("recovered session %s in %s: %s%s", record.id, folder, restored, f" ({problem})" if problem else "")
    return RecoveredSession(record.id, folder, audio, duration_ms / 1000, report.turns, problem, restored)


def _read_folder_transcript(path: Path, problems: list[str]) -> TranscriptFile | None:
    try:
        return read_transcript_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name} in the folder could not be read ({exc}); it was left as it is")
        return None


def _restored(duration_ms: int, turns: int, from_file: int, has_audio: bool) -> str:
    parts = [f"the recording ({time_label(duration_ms)})"] if has_audio else []
    if turns:
        extra = f", {from_file} of them from the transcript file" if from_file else ""
        parts.append(f"{turns} turn{'s' if turns != 1 else ''}{extra}")
    return " and ".join(parts) if parts else "nothing"


def _fields(record: SessionRecord, languages: list[str]) -> NewSession:
    return NewSession(uid=record.uid, folder=Path(record.folder), audio_path=Path(record.audio_path),
                      source_language=record.source_language, speech_model=record.speech_model,
                      target_languages=tuple(languages), llm_model=record.llm_model,
                      started_at=record.started_at or time.time(), title=record.title)
