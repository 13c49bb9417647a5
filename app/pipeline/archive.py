"""The sessions kept: list, search, load, rename, note, delete, export, bundle, import and rebuild,
for the window and the terminal alike.

Qt-free; blocking (SQLite, file copies): the window calls it from a ``BackgroundTask``, the
terminal from its main thread. ``Archive`` is the one way the layers above reach the session store
(``app.store.db.SessionStore``) for kept sessions; a live session writes its own journal through
``app.pipeline.journal``. Every failure a person can meet comes back as an ``ArchiveError`` (an
``UnknownSession`` for an ID that does not exist, or a session deleted in another window
meanwhile) or an ``OutputError`` whose message says what to do.

The session folder stays the truth that survives the archive: whatever the archive changes
(a title, a note, a translation set, gaps filled) is written back to the folder's
``transcript.json`` and exports, so a damaged archive set aside is rebuilt from the folders
(``rebuild``) with nothing missing, short IDs included.
"""
from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from app.core.errors import ConfigError, InputFileError, OutputError
from app.core.exports import Content, ExportOptions, render, to_json, write_session_exports
from app.core.transcript import Gap, Turn
from app.core.transcript_file import TranscriptFile, read_transcript_json
from app.core.who import Names, names_of
from app.pipeline.bundles import TRANSCRIPT_JSON, unpack_bundle, write_bundle
from app.pipeline.export_files import ExportJob, run_export
from app.pipeline.folders import AUDIO_NAME, SYSTEM_AUDIO_NAME
from app.pipeline.kept_sessions import NOT_REACHED_TEXT as NOT_REACHED_TEXT
from app.pipeline.kept_sessions import ArchivedSession as ArchivedSession
from app.pipeline.kept_sessions import ArchiveError as ArchiveError
from app.pipeline.kept_sessions import DeletionPlan as DeletionPlan
from app.pipeline.kept_sessions import FoundTurn as FoundTurn
from app.pipeline.kept_sessions import Imported as Imported
from app.pipeline.kept_sessions import ListedSession as ListedSession
from app.pipeline.kept_sessions import RebuildReport as RebuildReport
from app.pipeline.kept_sessions import UnknownSession as UnknownSession
from app.store.db import REBUILD_FACT, NewSession, SessionOverview, SessionRecord, SessionStatus, SessionStore
from app.store.search import SearchHit

log = logging.getLogger("app.pipeline")

__all__ = ["TRANSCRIPT_JSON", "Archive", "ArchiveError", "ArchivedSession", "DeletionPlan", "FoundTurn", "Imported",
           "ListedSession", "RebuildReport", "SearchHit", "SessionOverview", "SessionRecord", "SessionStatus",
           "UnknownSession"]


class Archive:
    def __init__(self, store: SessionStore) -> None:
        self.store = store

    # --- finding --------------------------------------------------------------------------------

    def resolve(self, ref: str) -> int:
        """The session whose short ID (or uid) is ``ref``."""
        found = self.store.find_session(ref)
        if found is None:
            raise UnknownSession(f"There is no session {ref.strip()} in the archive (it may have been deleted). "
                                 "List the sessions to see their IDs.")
        return found

    def sessions(self, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """Newest first."""
        return self.store.list_sessions(limit, offset)

    def overview(self, limit: int = 50, offset: int = 0) -> list[ListedSession]:
        """The history list, newest first, each row saying whether its recording is still there."""
        return [ListedSession(row, row.record.audio_path.is_file()) for row in self.store.overview(limit, offset)]

    def count(self) -> int:
        return self.store.count_sessions()

    def search(self, text: str, limit: int = 50, *, mark: tuple[str, str] = ("[", "]")) -> list[SearchHit]:
        """Turns whose original or any translation holds every word of ``text``, newest first."""
        return self.store.search(text, limit, mark=mark)

    def find(self, text: str, limit: int = 50, *, mark: tuple[str, str] = ("[", "]")) -> list[FoundTurn]:
        """``search`` with each hit's session."""
        hits = self.store.search(text, limit, mark=mark)
        records = {sid: self.store.get_session(sid) for sid in {h.session_id for h in hits}}
        return [FoundTurn(h, record) for h in hits if (record := records[h.session_id]) is not None]

    def record(self, session_id: int) -> SessionRecord:
        record = self.store.get_session(session_id)
        if record is None:
            raise _unknown(session_id)
        return record

    def session_in(self, folder: Path) -> int | None:
        """The session recorded into ``folder`` (a session that just ended), if the archive has it."""
        return self.store.find_by_folder(folder.resolve())

    def exists(self, session_id: int) -> bool:
        return self.store.get_session(session_id) is not None

    def load(self, session_id: int) -> ArchivedSession:
        record = self.record(session_id)
        try:
            transcript = self.store.load_transcript(session_id)
        except KeyError:
            raise _unknown(session_id) from None  # deleted meanwhile (another window, a script)
        sets = self.store.translation_sets(session_id)
        extra = {s.label: cells for s, cells in self.store.load_translation_sets(session_id)}
        order = {code: n for n, code in enumerate(record.target_languages)}
        own = sorted((s for s in sets if s.own), key=lambda s: (order.get(s.language, len(order)), s.created_at))
        later = [s for s in sets if not s.own]
        return ArchivedSession(record, transcript, (*own, *later), extra)

    # --- changing -------------------------------------------------------------------------------

    def rename(self, session_id: int, title: str) -> None:
        self.check_editable(session_id)
        try:
            self.store.set_title(session_id, title.strip())
        except KeyError:
            raise _unknown(session_id) from None
        self.write_folder(session_id)

    def set_note(self, session_id: int, note: str) -> None:
        self.check_editable(session_id)
        try:
            self.store.set_user_note(session_id, note.strip())
        except KeyError:
            raise _unknown(session_id) from None
        self.write_folder(session_id)

    def set_names(self, session_id: int, names: Names) -> None:
        """The session's speakers and sides are called ``names`` (its meta, its folder's files)."""
        self.check_editable(session_id)
        try:
            self.store.set_meta(session_id, names=names.to_json() if names else None)
        except KeyError:
            raise _unknown(session_id) from None
        self.write_folder(session_id)

    def check_editable(self, session_id: int) -> SessionRecord:
        record = self.record(session_id)
        if record.status is SessionStatus.RECORDING:
            raise ArchiveError(f"Session {record.short_id} is being recorded; stop it first.")
        return record

    def write_folder(self, session_id: int) -> list[Path]:
        """The folder's ``transcript.json`` and exports from what the archive has (every set, the
        title, the note), so the folder alone can rebuild it. Nothing when the folder is gone."""
        session = self.load(session_id)
        folder = session.record.folder
        if not folder.is_dir():
            return []
        try:
            return write_session_exports(folder, session.entries_with(), session.columns, session.metadata())
        except OSError as exc:
            raise OutputError(f"The archive has the change, but the files in {folder} could not be brought up to "
                              f"date ({exc.strerror or exc}).") from None

    def deletion_plan(self, session_id: int) -> DeletionPlan:
        record = self.record(session_id)
        folder = record.folder
        files: list[Path] = []
        kept: list[str] = []
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                ours = path == record.audio_path or path.name in (AUDIO_NAME, SYSTEM_AUDIO_NAME) or (
                    path.name.startswith("transcript.") and path.is_file())
                (files.append(path) if ours and path.is_file() else kept.append(path.name))
        audio = record.audio_path if record.audio_path in files else None
        return DeletionPlan(session_id, record.title or folder.name, folder, audio, tuple(files),
                            folder.is_dir() and not kept, tuple(kept))

    def delete(self, session_id: int, *, files: bool = False) -> list[Path]:
        """Forget the session; with ``files`` its recording and transcript files go too (and the
        folder, when nothing else is in it). Returns what was removed from the disk. Refused
        while the session is being recorded."""
        record = self.record(session_id)
        if record.status is SessionStatus.RECORDING:
            raise ArchiveError(f"Session {record.short_id} is being recorded; stop it before deleting it.")
        removed: list[Path] = []
        if files:
            plan = self.deletion_plan(session_id)
            try:
                for path in plan.files:
                    path.unlink()
                    removed.append(path)
                if plan.folder_goes:
                    plan.folder.rmdir()
                    removed = [plan.folder]
            except OSError as exc:
                raise OutputError(f"Could not delete {exc.filename or record.folder} ({exc.strerror or exc}); the "
                                  "session is still in the archive.") from None
        if not self.store.delete_session(session_id):
            raise _unknown(session_id)
        return removed

    # --- exporting ------------------------------------------------------------------------------

    def render(self, session_id: int, fmt: str, *, content: Content = Content.BILINGUAL,
               languages: Sequence[str] | None = None, timestamps: bool = True) -> str:
        """The session as text in ``fmt`` (``txt``, ``srt``, ``vtt``, ``json``, ``md``)."""
        session = self.load(session_id)
        entries, options = self._export_parts(session, content, languages, timestamps)
        try:
            return render(fmt, entries, options)
        except ValueError as exc:
            raise ArchiveError(str(exc)) from None

    def export(self, session_id: int, path: Path, *, fmt: str | None = None, content: Content = Content.BILINGUAL,
               languages: Sequence[str] | None = None, timestamps: bool = True,
               audio_to: Path | None = None) -> list[Path]:
        """Write the session as ``fmt`` (by default the file name's extension) to ``path``; with
        ``audio_to``, copy its WAV there too. ``languages`` are columns (``es``, ``es.2``).
        Returns what was written."""
        session = self.load(session_id)
        fmt = fmt or path.suffix.lstrip(".").lower()
        entries, options = self._export_parts(session, content, languages, timestamps)
        try:
            return run_export(ExportJob(entries, fmt, options, path,
                                        audio_source=session.record.audio_path if audio_to else None,
                                        audio_target=audio_to))
        except ValueError as exc:  # an unknown format
            raise ArchiveError(str(exc)) from None

    def _export_parts(self, session: ArchivedSession, content: Content, languages: Sequence[str] | None,
                      timestamps: bool) -> tuple[list[Turn | Gap], ExportOptions]:
        chosen = tuple(languages) if languages is not None else session.columns
        unknown = [code for code in chosen if code not in session.columns]
        if unknown:
            raise ArchiveError(f"Session {session.record.short_id} has no {', '.join(unknown)} translation; it has: "
                               f"{', '.join(session.columns) or 'none'}.")
        if content is Content.TRANSLATION and not chosen:
            raise ArchiveError(f"Session {session.record.short_id} has no translation to export.")
        if content is Content.TRANSLATION:
            chosen = chosen[:1]
        return session.entries_with(chosen), ExportOptions(content, chosen, timestamps, session.metadata(chosen))

    def bundle(self, session_id: int, path: Path) -> tuple[Path, bool]:
        """One zip with the session's recording and its whole ``transcript.json``; the bool says
        whether the recording was there to go in."""
        session = self.load(session_id)
        entries = session.entries_with()
        doc = to_json(entries, ExportOptions(Content.BILINGUAL, session.columns, True, session.metadata()))
        audio = session.record.audio_path if session.audio_there else None
        written = write_bundle(path, session.record.folder.name, doc, audio)
        return written, audio is not None

    # --- importing ------------------------------------------------------------------------------

    def import_path(self, path: Path, *, into: Path | None = None) -> list[Imported]:
        """A bundle (unpacked into ``into``), a session folder (copied into ``into`` when it is
        elsewhere, e.g. on a stick from another machine), or a folder of session folders (each
        one)."""
        path = path.expanduser()
        if path.is_file():
            if into is None:
                raise ArchiveError("Importing a bundle needs a sessions folder to unpack it into.")
            return [self.import_folder(unpack_bundle(path, into))]
        if not path.exists():
            raise InputFileError(f"{path} does not exist. Give a bundle (.zip) or a session folder.")
        if not path.is_dir():
            raise InputFileError(f"{path} is neither a bundle nor a folder.")
        if _is_session_folder(path):
            return [self.import_folder(self._copied_in(path, into))]
        children = sorted(p for p in path.iterdir() if p.is_dir() and _is_session_folder(p))
        if not children:
            raise ArchiveError(f"{path} holds no {TRANSCRIPT_JSON} and no session folders, so it is not a Live "
                               "Translate session folder.")
        return [self.import_folder(self._copied_in(child, into)) for child in children]

    def _copied_in(self, folder: Path, into: Path | None) -> Path:
        folder = folder.resolve()
        if into is None or folder.is_relative_to(into.resolve()):
            return folder
        target = into / folder.name
        n = 1
        while target.exists():
            if (folder / TRANSCRIPT_JSON).is_file() and _file_uid(target) == _file_uid(folder):
                break  # the same session copied before: its files are brought up to date
            n += 1
            target = into / f"{folder.name}_{n}"
        try:
            target.mkdir(parents=True, exist_ok=True)
            for item in folder.iterdir():
                if item.is_file() and (item.name in (AUDIO_NAME, SYSTEM_AUDIO_NAME)
                                       or item.name.startswith("transcript.")):
                    shutil.copyfile(item, target / item.name)
        except OSError as exc:
            raise OutputError(f"Could not copy {folder} into {into} ({exc.strerror or exc}). Check the free "
                              "space.") from None
        return target

    def import_folder(self, folder: Path) -> Imported:
        """A session folder made here or on another machine (its ``transcript.json`` and, if there,
        its WAV; or a recording without a transcript, to transcribe later) lands in the archive
        like one recorded here, where it is. Importing the same folder twice brings it up to date
        instead of making a second session."""
        folder = folder.expanduser().resolve()
        if not folder.is_dir():
            raise ArchiveError(f"{folder} is not a folder. Import a session folder (it holds {TRANSCRIPT_JSON}).")
        file, note = _read_folder(folder)
        meta = file.metadata
        uid = str(meta.get("uid") or uuid.uuid5(uuid.NAMESPACE_URL, folder.as_uri()))
        known = self.store.find_session(uid)
        started = _started_at(folder, meta)
        title = str(meta.get("title") or "")
        fields = NewSession(uid=uid, folder=folder, audio_path=folder / str(meta.get("audio") or AUDIO_NAME),
                            source_language=_text_or_none(meta.get("source_code")),
                            speech_model=str(meta.get("speech_model") or ""), target_languages=file.languages,
                            llm_model=str(meta.get("llm_model") or ""), started_at=started,
                            title="" if title == folder.name else title, user_note=str(meta.get("note") or ""))
        if known is not None and self.record(known).status is SessionStatus.RECORDING:
            raise ArchiveError(f"{folder} is a session being recorded right now; import it when it has ended.")
        extra = [(s, file.extra.get(s.label, {})) for s in file.extra_sets]
        session_id = self.store.sync_session(fields, file.turns, file.gaps, extra_sets=extra, imported=True)
        ends = [t.end_ms for t in file.turns] + [g.end_ms for g in file.gaps]
        duration = _int(meta.get("duration_ms")) or max(ends, default=0)
        self.store.finish_session(session_id, ended_at=started + duration / 1000, duration_ms=duration or None)
        names = names_of(meta)
        if names:
            self.store.set_meta(session_id, names=names.to_json())
        record = self.record(session_id)
        return Imported(session_id, record.short_id, record.title or folder.name, folder, len(file.turns),
                        known is None, note)

    def rebuild_pending(self) -> bool:
        """True after a damaged archive was set aside: the history is to be rebuilt from the folders."""
        return self.store.fact(REBUILD_FACT) is not None

    def rebuild(self, sessions_dir: Path) -> RebuildReport:
        """Every session folder in ``sessions_dir`` that the archive does not know yet, imported
        where it is (with its short ID, title, note and translation sets)."""
        known = self.store.known_folders()
        imported: list[Imported] = []
        failed: list[tuple[Path, str]] = []
        if sessions_dir.is_dir():
            for folder in sorted(p for p in sessions_dir.iterdir() if p.is_dir() and _is_session_folder(p)):
                if str(folder.resolve()) in known:
                    continue
                try:
                    imported.append(self.import_folder(folder))
                except (ConfigError, InputFileError) as exc:
                    failed.append((folder, exc.message))
        self.store.set_fact(REBUILD_FACT, None)
        report = RebuildReport(imported, failed)
        log.info("%s", report.describe())
        return report


def _unknown(session_id: int) -> UnknownSession:
    return UnknownSession(f"That session is no longer in the archive (it was deleted, maybe in another window; "
                          f"row {session_id}). List the sessions to see what is there.")


def _is_session_folder(folder: Path) -> bool:
    return (folder / TRANSCRIPT_JSON).is_file() or (folder / AUDIO_NAME).is_file()


def _read_folder(folder: Path) -> tuple[TranscriptFile, str]:
    path = folder / TRANSCRIPT_JSON
    try:
        return read_transcript_json(path.read_text(encoding="utf-8")), ""
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ArchiveError(f"{path} could not be read as a Live Translate transcript ({exc}).") from None
    audio = folder / AUDIO_NAME
    if not audio.is_file():
        raise ArchiveError(f"{folder} holds no {TRANSCRIPT_JSON}, so it is not a Live Translate session folder.")
    # A recording without a transcript (the app stopped before writing one, and the archive was
    # lost): kept as a session whose whole recording is a gap, to transcribe from the history.
    from app.pipeline.recordings import recording_ms

    length = recording_ms(audio)
    gap = Gap(0, length, "not transcribed: no transcript was found with the recording")
    return TranscriptFile([], [gap], (), {"audio": AUDIO_NAME, "duration_ms": length}), \
        "the folder had a recording but no transcript; transcribe it from the history"


def _file_uid(folder: Path) -> str:
    try:
        return str(read_transcript_json((folder / TRANSCRIPT_JSON).read_text(encoding="utf-8")).metadata.get("uid"))
    except (OSError, ValueError):
        return ""


def _text_or_none(value: object) -> str | None:
    return str(value) if value else None


def _int(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _started_at(folder: Path, meta: dict[str, object]) -> float:
    """When the session began: the file says, or its folder's name (``2026-12-01_14-03-22``), else
    the file's age."""
    started = meta.get("started_at")
    if isinstance(started, (int, float)) and not isinstance(started, bool) and started > 0:
        return float(started)
    for text in (str(meta.get("started") or ""), folder.name):
        try:
            return datetime.strptime(text[:19], "%Y-%m-%d_%H-%M-%S").timestamp()
        except ValueError:
            continue
    for name in (TRANSCRIPT_JSON, AUDIO_NAME):
        try:
            return (folder / name).stat().st_mtime
        except OSError:
            continue
    return 0.0
