"""The sessions kept: list, search, load, rename, delete, import and export, for the window and the
terminal alike.

Qt-free; blocking (SQLite, file copies): the window calls it from a ``BackgroundTask``, the
terminal from its main thread. ``Archive`` is the one way the layers above reach the session store
(``app.store.db.SessionStore``) for kept sessions; a live session writes its own journal through
``app.pipeline.journal``. Every failure a person can meet comes back as an ``ArchiveError`` whose
message says what to do: an ID that does not exist, a folder that is not a session, a session
deleted in another window meanwhile.
"""
from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import ConfigError, OutputError
from app.core.exports import Content, ExportOptions
from app.core.transcript import Gap, Transcript, Turn
from app.core.transcript_file import read_transcript_json
from app.pipeline.export_files import ExportJob, run_export
from app.pipeline.folders import AUDIO_NAME
from app.store.db import NewSession, SessionRecord, SessionStatus, SessionStore
from app.store.search import SearchHit

log = logging.getLogger("app.pipeline")

__all__ = ["TRANSCRIPT_JSON", "Archive", "ArchiveError", "ArchivedSession", "SearchHit", "SessionRecord"]

TRANSCRIPT_JSON = "transcript.json"  # what every session folder holds besides its WAV (app.core.exports)


class ArchiveError(ConfigError):
    """Something asked of the archive that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class ArchivedSession:
    record: SessionRecord
    transcript: Transcript

    @property
    def entries(self) -> list[Turn | Gap]:
        return self.transcript.entries()

    @property
    def languages(self) -> tuple[str, ...]:
        """The session's target languages, then any other language a turn was translated into."""
        found = [code for turn in self.transcript.turns() for code in turn.translations]
        return tuple(dict.fromkeys((*self.record.target_languages, *found)))

    @property
    def audio_there(self) -> bool:
        """False when the WAV was moved or deleted: the transcript still works."""
        return self.record.audio_path.is_file()

    @property
    def title(self) -> str:
        return self.record.title or self.record.folder.name


class Archive:
    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def sessions(self, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """Newest first."""
        return self.store.list_sessions(limit, offset)

    def search(self, text: str, limit: int = 50, *, mark: tuple[str, str] = ("[", "]")) -> list[SearchHit]:
        """Turns whose original or any translation holds every word of ``text``."""
        return self.store.search(text, limit, mark=mark)

    def record(self, session_id: int) -> SessionRecord:
        record = self.store.get_session(session_id)
        if record is None:
            raise _unknown(session_id)
        return record

    def load(self, session_id: int) -> ArchivedSession:
        record = self.record(session_id)
        try:
            transcript = self.store.load_transcript(session_id)
        except KeyError:
            raise _unknown(session_id) from None  # deleted meanwhile (another window, a script)
        return ArchivedSession(record, transcript)

    def rename(self, session_id: int, title: str) -> None:
        try:
            self.store.set_title(session_id, title.strip())
        except KeyError:
            raise _unknown(session_id) from None

    def delete(self, session_id: int, *, files: bool = False) -> list[Path]:
        """Forget the session; with ``files`` its folder (WAV, transcripts) goes too. Returns what
        was removed from the disk. Refused while the session is being recorded."""
        record = self.record(session_id)
        if record.status is SessionStatus.RECORDING:
            raise ArchiveError(f"Session {session_id} is being recorded; stop it before deleting it.")
        removed: list[Path] = []
        if files and record.folder.is_dir():
            try:
                shutil.rmtree(record.folder)
            except OSError as exc:
                raise OutputError(f"Could not delete {record.folder} ({exc.strerror or exc}); the session is "
                                  "still in the archive.") from None
            removed.append(record.folder)
        if not self.store.delete_session(session_id):
            raise _unknown(session_id)
        return removed

    def import_folder(self, folder: Path) -> int:
        """A session folder made here or on another machine (its ``transcript.json`` and, if there,
        its WAV) lands in the archive like one recorded here; returns its id. Importing the same
        folder twice brings it up to date instead of making a second session."""
        folder = folder.expanduser().resolve()
        path = folder / TRANSCRIPT_JSON
        if not folder.is_dir():
            raise ArchiveError(f"{folder} is not a folder. Import a session folder (it holds {TRANSCRIPT_JSON}).")
        try:
            file = read_transcript_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArchiveError(f"{folder} holds no {TRANSCRIPT_JSON}, so it is not a Live Translate session "
                               "folder.") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ArchiveError(f"{path} could not be read as a Live Translate transcript ({exc}).") from None
        meta = file.metadata
        uid = str(meta.get("uid") or uuid.uuid5(uuid.NAMESPACE_URL, folder.as_uri()))
        started = _started_at(folder, meta)
        fields = NewSession(uid=uid, folder=folder, audio_path=folder / str(meta.get("audio") or AUDIO_NAME),
                            source_language=_text_or_none(meta.get("source_code")),
                            speech_model=str(meta.get("speech_model") or ""), target_languages=file.languages,
                            llm_model=str(meta.get("llm_model") or ""), started_at=started,
                            title=str(meta.get("title") or "") if meta.get("title") != folder.name else "")
        session_id = self.store.sync_session(fields, file.turns, file.gaps)
        duration = max((t.end_ms for t in file.turns), default=0)
        self.store.finish_session(session_id, ended_at=started + duration / 1000, duration_ms=duration or None)
        return session_id

    def export(self, session_id: int, path: Path, *, fmt: str | None = None, content: Content = Content.BILINGUAL,
               languages: Sequence[str] | None = None, timestamps: bool = True,
               audio_to: Path | None = None) -> list[Path]:
        """Write the session as ``fmt`` (by default the file name's extension) to ``path``; with
        ``audio_to``, copy its WAV there too. Returns what was written."""
        session = self.load(session_id)
        fmt = fmt or path.suffix.lstrip(".").lower()
        chosen = tuple(languages) if languages is not None else session.languages
        unknown = [code for code in chosen if code not in session.languages]
        if unknown:
            raise ArchiveError(f"Session {session_id} has no {', '.join(unknown)} translation; it has: "
                               f"{', '.join(session.languages) or 'none'}.")
        metadata: dict[str, object] = {"title": session.title, "started": session.record.folder.name,
                                       "source_code": session.record.source_language or "",
                                       "speech_model": session.record.speech_model,
                                       "llm_model": session.record.llm_model, "targets": list(chosen),
                                       "audio": session.record.audio_path.name, "uid": session.record.uid}
        options = ExportOptions(content, chosen, timestamps, metadata)
        try:
            return run_export(ExportJob(session.entries, fmt, options, path,
                                        audio_source=session.record.audio_path if audio_to else None,
                                        audio_target=audio_to))
        except ValueError as exc:  # an unknown format
            raise ArchiveError(str(exc)) from None


def _unknown(session_id: int) -> ArchiveError:
    return ArchiveError(f"There is no session {session_id} in the archive (it may have been deleted). "
                        "List the sessions to see their IDs.")


def _text_or_none(value: object) -> str | None:
    return str(value) if value else None


def _started_at(folder: Path, meta: dict[str, object]) -> float:
    """When the session began: its folder's name says (``2026-12-01_14-03-22``), else the file's age."""
    from datetime import datetime

    for text in (str(meta.get("started") or ""), folder.name):
        try:
            return datetime.strptime(text[:19], "%Y-%m-%d_%H-%M-%S").timestamp()
        except ValueError:
            continue
    try:
        return (folder / TRANSCRIPT_JSON).stat().st_mtime
    except OSError:
        return 0.0
