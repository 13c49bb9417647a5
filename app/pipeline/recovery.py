"""Crash recovery: finish sessions that were still recording when the app died.

Qt-free; runs at start-up on the main thread (headless) or a worker thread (window), before a new
session starts. For each session the store still marks as recording: repair the WAV header (the
writer rewrites it every second, so at most the last second is missing), rebuild the transcript
from the store (every final turn, translation and gap was committed as it happened), write the
exports, and mark the session recovered.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.audio.wav_writer import repair_wav_header
from app.core.errors import AppError
from app.core.exports import write_session_exports
from app.core.units import bytes_to_ms
from app.store.db import SessionStore

log = logging.getLogger("app.pipeline")


@dataclass(frozen=True)
class RecoveredSession:
    session_id: int
    folder: Path
    audio_path: Path
    audio_seconds: float
    turns: int
    problem: str = ""  # what could not be recovered, if anything


def recover_unfinished(store: SessionStore) -> list[RecoveredSession]:
    recovered: list[RecoveredSession] = []
    for record in store.unfinished_sessions():
        folder, audio = Path(record.folder), Path(record.audio_path)
        problem = ""
        data_bytes = 0
        try:
            data_bytes = repair_wav_header(audio)
        except (AppError, OSError) as exc:
            problem = f"the audio file could not be repaired ({exc})"
        transcript = store.load_transcript(record.id)
        try:
            metadata = {"title": record.title or folder.name, "started": folder.name, "recovered": True,
                        "speech_model": record.speech_model, "llm_model": record.llm_model}
            write_session_exports(folder, transcript.entries(), list(record.target_languages), metadata)
        except OSError as exc:
            problem = problem or f"the transcript files could not be written ({exc})"
        duration_ms = bytes_to_ms(data_bytes)
        store.mark_recovered(record.id, duration_ms)
        log.info("recovered session %s in %s (%d turns)", record.id, folder, len(transcript))
        recovered.append(RecoveredSession(record.id, folder, audio, duration_ms / 1000, len(transcript), problem))
    return recovered
