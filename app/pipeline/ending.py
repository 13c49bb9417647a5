"""The end of a session, in the parts that do not depend on how it was recorded: saving the
recording when its folder was deleted, the summary, and what the status says while finishing.

Qt-free; called on the session's streaming thread after capture and connections are done
(``LiveSession._finish`` runs them in order: lanes, translations, folder, WAV, exports, journal).
"""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from app.audio.wav_writer import WavWriter
from app.core.errors import AppError, OutputError
from app.core.transcript import SAME_LANGUAGE, Transcript, TranslationStatus
from app.pipeline.events import SessionSummary
from app.pipeline.folders import AUDIO_NAME, SYSTEM_AUDIO_NAME

log = logging.getLogger("app.pipeline")

__all__ = ["EMPTY_AUDIO_S", "discard_folder", "finishing_text", "held_nothing", "notice", "rescue_deleted_folder",
           "summarize"]

RESCUE_DIR = "live-translate-rescued"  # under the temporary folder, when the session folder cannot be made again
# A session with no turn and less audio than this held nothing (a key refused at once, a Record
# pressed twice): it leaves no folder, no archive entry and no recovery offer behind.
EMPTY_AUDIO_S = 1.0
SESSION_FILES = (AUDIO_NAME, SYSTEM_AUDIO_NAME, "transcript.*")  # what a session writes into its folder


def held_nothing(turns: int, audio_s: float) -> bool:
    return turns == 0 and audio_s < EMPTY_AUDIO_S


def discard_folder(folder: Path) -> bool:
    """Remove a session folder that held nothing: only the files a session writes, and the folder
    if nothing else is in it (a file someone put there is never touched). True when it is gone."""
    for pattern in SESSION_FILES:
        for path in folder.glob(pattern):
            try:
                path.unlink()
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)
    try:
        folder.rmdir()
    except OSError as exc:
        log.info("kept %s: %s", folder, exc)
        return False
    return True


def notice(message: str) -> AppError:
    """A non-fatal message for the status bar (the listener's ``error_occurred``)."""
    out = OutputError(message)
    out.fatal = False
    return out


def rescue_deleted_folder(wav: WavWriter, gone: Path, tell: Callable[[AppError], None]) -> Path | None:
    """The session folder was deleted while recording. The WAV is still open, so every byte is
    still readable: make the folder again (or, failing that, one in the temporary folder), save
    the recording there, say what happened, and return where it is (None: nowhere)."""
    for folder in (gone, Path(tempfile.gettempdir()) / RESCUE_DIR / gone.name):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            wav.save_copy(folder / AUDIO_NAME)
        except OSError as exc:
            log.error("could not save the recording in %s: %s", folder, exc)
            continue
        where = "it was made again" if folder == gone else f"it could not be made again, so it is in {folder}"
        tell(notice(f"The session folder {gone} was deleted during the session; {where} and everything recorded "
                    "was saved in it."))
        return folder
    return None


def finishing_text(open_cells: int) -> str:
    return f"finishing {open_cells} translation{'s' if open_cells != 1 else ''}…" if open_cells else ""


def summarize(transcript: Transcript, *, folder: Path, wav: WavWriter, exports: list[Path], error: AppError | None,
              reconnects: int, overflows: int, dropped_audio_ms: int, transcribed: bool,
              quit: bool, discarded: bool = False) -> SessionSummary:
    turns = transcript.turns()
    # A cell copied from a turn already in its language is no translation (no request was made).
    cells = [tr.status for t in turns for tr in t.translations.values() if tr.model != SAME_LANGUAGE]
    return SessionSummary(
        folder=folder,
        audio_path=folder / AUDIO_NAME,
        audio_seconds=wav.duration_s,
        turns=len(turns),
        translations_done=sum(status is TranslationStatus.DONE for status in cells),
        translations_failed=sum(status is TranslationStatus.FAILED for status in cells),
        gaps=transcript.gaps(),
        exports=exports,
        error=error,
        reconnects=reconnects,
        overflows=overflows,
        dropped_audio_ms=dropped_audio_ms,
        transcribed=transcribed,
        quit=quit,
        discarded=discarded,
    )
