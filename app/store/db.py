"""SessionStore: the SQLite session archive: the crash journal and the session history.

Every final turn, translation and gap is committed the moment it happens, so after kill -9 or a
power cut the next launch finds the session still marked 'recording' (``unfinished_sessions``) and
rebuilds its transcript (``load_transcript``). The same file is the searchable history (``search``;
the queries live in ``app.store.search``), with each session's short ID, title and note, its
translation sets (``app.core.kept``; the SQL in ``app.store.sets``), and a bulk path for building
a large archive at once (``bulk_add``: the benchmark).

Threads: the websocket thread calls ``add_turn``/``add_gap``, translation workers call
``set_translation``, the GUI (or CLI main) thread opens, reads, searches and closes. Design:
  * Two connections, each behind its own lock: one for all writes, one for all reads. WAL lets a
    reader see the last commit while a writer is mid-transaction, so the GUI never waits for a
    writer's fsync; one writer connection serialises our writes without SQLITE_BUSY retries among
    our own threads. (A connection per thread would need tracking and closing connections of
    threads that come and go; two fixed connections give the same concurrency here.)
  * ``isolation_level=None``: every transaction is explicit. Each write call is one
    ``BEGIN IMMEDIATE ... COMMIT``.
  * Durability: WAL with ``synchronous=FULL``, so the WAL is fsynced at every commit and a call
    that returned survives power loss, not only a process crash (NORMAL would survive kill -9 but
    could lose the last commits on power loss). The cost is one fsync per turn or translation, a
    few per second at most, and it falls on the websocket/translation threads, never on audio
    capture or the GUI.
  * Another program holding the file locked: a live session's writes wait at most
    ``WRITE_BUSY_TIMEOUT_MS`` (the journal catches up later); the history's own writes (rename,
    delete, import, a translation set) wait ``ARCHIVE_BUSY_TIMEOUT_MS``, then fail with an
    ``ArchiveBusyError`` that names the program (``app.store.opening``).

A corrupt file found while opening (not a database, malformed schema) is renamed to
``<name>.corrupt-YYYYmmdd-HHMMSS`` (with its -wal/-shm, so it can still be salvaged), a new empty
archive is created, and the store opens normally with ``moved_aside``/``notice`` set: recording
must not be blocked by a damaged archive, the damaged file is kept, and the caller shows ``notice``
once. The new archive remembers that the history is to be rebuilt from the session folders
(``REBUILD_FACT``, done by ``app.pipeline.archive``). Every other failure to open (unwritable
folder, newer schema, the rename failing) raises ``OutputError``; a failed read or write later
raises ``OutputError`` too.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from app.core.errors import OutputError
from app.core.kept import SetState, TranslationSet
from app.core.transcript import Gap, Translation, Turn
from app.store import migrations, sets
from app.store.locks import SessionLock
from app.store.opening import BUSY_TIMEOUT_MS, connect, io_error, is_corruption, move_aside, open_error
from app.store.reads import ArchiveReads
from app.store.rows import INSERT_TURN, SESSION_COLUMNS, session_from_row, turn_values
from app.store.rows import BulkSession as BulkSession
from app.store.rows import NewSession as NewSession
from app.store.rows import SessionOverview as SessionOverview
from app.store.rows import SessionRecord as SessionRecord
from app.store.rows import SessionStatus as SessionStatus
from app.store.search import register_functions
from app.store.whole import give_short_id, insert_finished, turn_id_of, write_whole

log = logging.getLogger(__name__)

# Writes wait less: a session's journal write runs on its websocket thread, and a file locked by
# another program must not hold the turns up for long (the session catches the journal up later).
WRITE_BUSY_TIMEOUT_MS = 500
ARCHIVE_BUSY_TIMEOUT_MS = 3000  # the history's writes: "a few seconds", then the holder is named
REBUILD_FACT = "rebuild_from_folders"  # set when a damaged archive was replaced by a new one


class SessionStore(ArchiveReads):
    """The session archive in one SQLite file. Safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.moved_aside: Path | None = None  # where a corrupt archive was moved, if it was
        self.notice = ""  # one message for the user when something was repaired on open
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._closed = False
        self._locks_dir = self.path.parent / "locks"
        self._held: dict[str, SessionLock] = {}  # uid -> the lock of a session this process owns
        self._held_guard = threading.Lock()
        self.set_aside: list[str] = []  # journal rows that could not be read (said once, then marked)
        self._damaged: sqlite3.DatabaseError | None = None  # corruption noticed after opening
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"The session archive folder {self.path.parent} cannot be created "
                f"({exc.strerror or exc}). Check that you can write to it.",
                detail=repr(exc),
            ) from exc
        try:
            self._writer, self._fts, self._trigram = self._open_and_migrate()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise open_error(self.path, exc) from exc
            log.error("session archive %s is corrupt: %s", self.path, exc)
            self.moved_aside = move_aside(self.path, exc)
            self.notice = (
                f"The session archive {self.path.name} was damaged. It was kept as "
                f"{self.moved_aside.name} and a new, empty archive was started; the session "
                "folders (audio and exports) are untouched."
            )
            try:
                self._writer, self._fts, self._trigram = self._open_and_migrate()
            except sqlite3.Error as retry_exc:
                raise open_error(self.path, retry_exc) from retry_exc
            self._remember_rebuild(self._writer)
        try:
            self._reader = self._open_reader()
        except sqlite3.Error as exc:
            self._writer.close()
            raise open_error(self.path, exc) from exc
        if not self._fts:
            log.warning("SQLite FTS5 is unavailable; search falls back to a substring scan")

    def _open_and_migrate(self) -> tuple[sqlite3.Connection, bool, bool]:
        conn = connect(self.path)
        try:
            migrations.migrate(conn)
            fts = migrations.sync_search_index(conn)
            conn.execute(f"PRAGMA busy_timeout = {WRITE_BUSY_TIMEOUT_MS}")  # migrations may wait longer
            return conn, fts, fts and migrations.trigram_index_present(conn)
        except BaseException:
            conn.close()
            raise

    def _open_reader(self) -> sqlite3.Connection:
        reader = connect(self.path)
        reader.execute("PRAGMA query_only = ON")  # this connection must never write
        register_functions(reader)
        return reader

    def _remember_rebuild(self, conn: sqlite3.Connection) -> None:
        """A new archive replaced a damaged one: the history is to be rebuilt from the folders."""
        assert self.moved_aside is not None
        conn.execute("INSERT OR REPLACE INTO archive_facts (key, value) VALUES (?, ?)",
                     (REBUILD_FACT, str(self.moved_aside)))

    # -- writes: websocket and translation threads -------------------------------------------

    def create_session(
        self,
        *,
        folder: Path | str,
        audio_path: Path | str,
        source_language: str | None,
        speech_model: str,
        target_languages: Sequence[str],
        llm_model: str,
        started_at: float | None = None,
        title: str = "",
        uid: str | None = None,
        user_note: str = "",
    ) -> SessionRecord:
        """A new session, 'recording', owned by this process: its lock is taken before the row
        exists, so no other instance can ever see the row unowned."""
        uid = uid or str(uuid.uuid4())
        lock = self._own(uid)
        values = (
            uid, time.time() if started_at is None else started_at,
            SessionStatus.RECORDING.value, str(folder), str(audio_path), source_language,
            speech_model, json.dumps(list(target_languages)), llm_model, title, user_note,
        )
        try:
            with self._writing("updated") as conn:
                cursor = conn.execute(
                    "INSERT INTO sessions (uid, started_at, status, folder, audio_path, source_language,"
                    " speech_model, target_languages, llm_model, title, user_note) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    values,
                )
                session_id = int(cursor.lastrowid or 0)
                give_short_id(conn, session_id, uid)
                row = conn.execute(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        except BaseException:
            self._disown(uid, lock)
            raise
        return session_from_row(row)

    def _own(self, uid: str) -> SessionLock:
        with self._held_guard:
            lock = self._held.get(uid) or SessionLock(self._locks_dir, uid)
            try:
                owned = lock.acquire()
            except OSError as exc:
                raise OutputError(f"The session lock in {self._locks_dir} cannot be created ({exc.strerror or exc}). "
                                  "Check that the data folder is writable.", detail=repr(exc)) from exc
            if not owned:
                raise OutputError(f"Session {uid} is being recorded by another Live Translate.")
            self._held[uid] = lock
            return lock

    def _disown(self, uid: str, lock: SessionLock | None = None, *, remove: bool = False) -> None:
        with self._held_guard:
            lock = self._held.pop(uid, lock)
        if lock is not None:
            lock.release(remove=remove)

    def release(self, uid: str) -> None:
        """This process no longer owns session ``uid`` (it finished, or was recovered)."""
        self._disown(uid, remove=True)

    def add_turn(self, session_id: int, turn: Turn) -> None:
        """Journal a final turn (and any translations it already carries); durable on return.

        Raises KeyError for an unknown session, ValueError if the turn index is already stored.
        """
        with self._writing("updated") as conn:
            try:
                cursor = conn.execute(INSERT_TURN, turn_values(session_id, turn))
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc):
                    raise ValueError(f"turn {turn.index} of session {session_id} is already stored") from exc
                raise KeyError(f"no session {session_id}") from exc
            turn_id = int(cursor.lastrowid or 0)
            for translation in turn.translations.values():
                sets.put_cell(conn, turn_id, sets.own_set_id(conn, session_id, translation.language,
                                                             translation.model), translation)

    def set_translation(self, session_id: int, turn_index: int, translation: Translation,
                        *, set_id: int | None = None) -> None:
        """Insert or replace the turn's cell for ``translation.language`` in the session's own set
        of that language, or in set ``set_id``; durable on return."""
        with self._writing("updated", patient=set_id is not None) as conn:
            turn_id = turn_id_of(conn, session_id, turn_index)
            if set_id is None:
                set_id = sets.own_set_id(conn, session_id, translation.language, translation.model)
            sets.put_cell(conn, turn_id, set_id, translation)

    def set_speaker(self, session_id: int, turn_index: int, speaker: str) -> None:
        """A speaker revision: the turn was said by ``speaker``; KeyError if there is no such turn."""
        with self._writing("updated") as conn:
            changed = conn.execute("UPDATE turns SET speaker = ? WHERE session_id = ? AND idx = ?",
                                   (speaker, session_id, turn_index)).rowcount
        if not changed:
            raise KeyError(f"no turn {turn_index} in session {session_id}")

    def add_gap(self, session_id: int, gap: Gap) -> None:
        with self._writing("updated") as conn:
            try:
                conn.execute(
                    "INSERT INTO gaps (session_id, start_ms, end_ms, reason) VALUES (?,?,?,?)",
                    (session_id, gap.start_ms, gap.end_ms, gap.reason),
                )
            except sqlite3.IntegrityError as exc:
                raise KeyError(f"no session {session_id}") from exc

    def finish_session(
        self,
        session_id: int,
        *,
        status: SessionStatus | str = SessionStatus.FINISHED,
        ended_at: float | None = None,
        duration_ms: int | None = None,
    ) -> None:
        """Close the session's journal entry; ``duration_ms=None`` keeps any stored duration."""
        final = SessionStatus(status)
        if final is SessionStatus.RECORDING:
            raise ValueError("a session cannot be finished with status 'recording'")
        self._update_session(
            "UPDATE sessions SET status = ?, ended_at = ?, duration_ms = COALESCE(?, duration_ms)"
            " WHERE id = ?",
            (final.value, time.time() if ended_at is None else ended_at, duration_ms, session_id),
        )
        self._release_by_id(session_id)

    def mark_recovered(self, session_id: int, duration_ms: int, note: str = "") -> None:
        """Mark a crashed session restored; its end is estimated from the recovered audio length.
        ``note`` says what could not be restored (kept with the session, shown in the archive)."""
        self._update_session(
            "UPDATE sessions SET status = ?, duration_ms = ?, ended_at = started_at + ? / 1000.0,"
            " note = CASE WHEN ? = '' THEN note ELSE ? END WHERE id = ?",
            (SessionStatus.RECOVERED.value, duration_ms, duration_ms, note, note, session_id),
        )
        self._release_by_id(session_id)

    def _release_by_id(self, session_id: int) -> None:
        with self._reading() as conn:
            row = conn.execute("SELECT uid FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is not None:
            self.release(row[0])

    def sync_session(self, fields: NewSession, turns: Sequence[Turn], gaps: Sequence[Gap], *,
                     extra_sets: Sequence[tuple[TranslationSet, dict[int, Translation]]] = (),
                     imported: bool = False) -> int:
        """Bring the journal up to date with a whole session at once: the row (made if it is
        missing, found by uid), every turn and translation (inserted or updated), and the gaps.
        For a session whose journal could not be written for a while, or was replaced, and for an
        import (``imported``: its title and note come from the file too, with the translation sets
        made after it, ``extra_sets``). Idempotent; returns the session's id."""
        with self._reading() as conn:
            row = conn.execute("SELECT id FROM sessions WHERE uid = ?", (fields.uid,)).fetchone()
        if row is None:
            session_id = self.create_session(
                folder=fields.folder, audio_path=fields.audio_path, source_language=fields.source_language,
                speech_model=fields.speech_model, target_languages=fields.target_languages,
                llm_model=fields.llm_model, started_at=fields.started_at, title=fields.title, uid=fields.uid,
                user_note=fields.user_note).id
        else:
            session_id = int(row[0])
        with self._writing("updated", patient=imported) as conn:
            write_whole(conn, session_id, fields, turns, gaps, extra_sets=extra_sets, imported=imported)
        return session_id

    def bulk_add(self, sessions: Iterable[BulkSession], *, per_transaction: int = 20) -> list[int]:
        """Many finished sessions at once, through the same tables and triggers (the search index
        included) as every other write, ``per_transaction`` sessions per commit. For building a
        large archive (the benchmark); returns the new ids."""
        ids: list[int] = []
        batch: list[BulkSession] = []
        for session in sessions:
            batch.append(session)
            if len(batch) >= per_transaction:
                ids += self._bulk_batch(batch)
                batch = []
        if batch:
            ids += self._bulk_batch(batch)
        return ids

    def _bulk_batch(self, batch: Sequence[BulkSession]) -> list[int]:
        with self._writing("updated", patient=True) as conn:
            return [insert_finished(conn, item) for item in batch]

    def set_target_languages(self, session_id: int, codes: Sequence[str]) -> None:
        """A language was added during the session: it is one of the session's languages now."""
        self._update_session("UPDATE sessions SET target_languages = ? WHERE id = ?",
                             (json.dumps(list(codes)), session_id))

    def set_title(self, session_id: int, title: str) -> None:
        """The session's title (shown instead of its folder's name); KeyError if unknown."""
        self._update_session("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id), patient=True)

    def set_user_note(self, session_id: int, note: str) -> None:
        """The user's own note on the session; KeyError if unknown."""
        self._update_session("UPDATE sessions SET user_note = ? WHERE id = ?", (note, session_id), patient=True)

    def set_meta(self, session_id: int, **values: Any) -> None:
        """Facts a feature keeps per session (``SessionRecord.meta``, JSON), merged into what is
        there; a value of None removes its key. KeyError if the session is unknown."""
        with self._writing("updated", patient=True) as conn:
            row = conn.execute("SELECT meta FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise KeyError(f"no session {session_id}")
            meta = {**json.loads(row[0] or "{}"), **values}
            conn.execute("UPDATE sessions SET meta = ? WHERE id = ?",
                         (json.dumps({k: v for k, v in meta.items() if v is not None}, ensure_ascii=False),
                          session_id))

    def move_session(self, session_id: int, folder: Path | str, audio_path: Path | str) -> None:
        """The session's files are now somewhere else (rescued from a deleted folder)."""
        self._update_session("UPDATE sessions SET folder = ?, audio_path = ? WHERE id = ?",
                             (str(folder), str(audio_path), session_id))

    def delete_session(self, session_id: int) -> bool:
        """Delete the session's rows (turns, translations, sets, gaps cascade); its folder is not touched."""
        with self._writing("updated", patient=True) as conn:
            deleted = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
        return deleted > 0

    def replace_gaps(self, session_id: int, turns: Sequence[Turn], gaps: Sequence[Gap]) -> None:
        """Turns that fill gaps of the session (new indices, their own translations) and the gaps
        left, in one transaction; KeyError if the session is gone."""
        with self._writing("updated", patient=True) as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise KeyError(f"no session {session_id}")
            for turn in turns:
                turn_id = int(conn.execute(INSERT_TURN, turn_values(session_id, turn)).lastrowid or 0)
                for tr in turn.translations.values():
                    sets.put_cell(conn, turn_id, sets.own_set_id(conn, session_id, tr.language, tr.model), tr)
            conn.execute("DELETE FROM gaps WHERE session_id = ?", (session_id,))
            conn.executemany("INSERT INTO gaps (session_id, start_ms, end_ms, reason) VALUES (?,?,?,?)",
                             [(session_id, g.start_ms, g.end_ms, g.reason) for g in gaps])

    def new_translation_set(self, session_id: int, language: str, *, model: str, instructions: str = ""
                            ) -> TranslationSet:
        """A set to translate the session into again (state 'running'); KeyError if unknown."""
        with self._writing("updated", patient=True) as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise KeyError(f"no session {session_id}")
            return sets.new_set(conn, session_id, language, model, instructions)

    def finish_translation_set(self, set_id: int, state: SetState) -> None:
        with self._writing("updated", patient=True) as conn:
            conn.execute("UPDATE translation_sets SET state = ? WHERE id = ?", (state.value, set_id))

    def set_fact(self, key: str, value: str | None) -> None:
        """An archive-wide fact (``REBUILD_FACT``); None removes it."""
        with self._writing("updated", patient=True) as conn:
            if value is None:
                conn.execute("DELETE FROM archive_facts WHERE key = ?", (key,))
            else:
                conn.execute("INSERT OR REPLACE INTO archive_facts (key, value) VALUES (?, ?)", (key, value))

    def _update_session(self, sql: str, params: tuple[Any, ...], *, patient: bool = False) -> None:
        with self._writing("updated", patient=patient) as conn:
            if conn.execute(sql, params).rowcount == 0:
                raise KeyError(f"no session {params[-1]}")

    # -- reads (``ArchiveReads``, app/store/reads.py), and recovery's: GUI / CLI thread ---------------

    def unfinished_sessions(self) -> list[SessionRecord]:
        """Sessions still 'recording' whose process is gone (a crash, kill -9, a power cut): the
        ones whose lock this call could take, and now holds until they are finished or recovered.
        A session another live instance is recording is never among them. A row that cannot be
        read is set aside (marked failed, named in ``set_aside``), never a traceback at each start."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE status = ? ORDER BY started_at, id",
                (SessionStatus.RECORDING.value,),
            ).fetchall()
        found: list[SessionRecord] = []
        for row in rows:
            try:
                record = session_from_row(row)
            except (TypeError, ValueError, KeyError) as exc:
                self._set_aside(row, exc)
                continue
            with self._held_guard:
                mine = record.uid in self._held
            if mine:
                continue  # this process is recording it right now
            try:
                self._own(record.uid)
            except OutputError:
                continue  # another live process holds it: not unfinished
            found.append(record)
        return found

    def _set_aside(self, row: Sequence[Any], exc: Exception) -> None:
        row_id = row[0]
        message = f"A journal entry (session {row_id}) could not be read ({exc}) and was set aside."
        log.error("%s Row: %r", message, row)
        self.set_aside.append(message)
        with contextlib.suppress(sqlite3.Error, OutputError, KeyError):
            self._update_session("UPDATE sessions SET status = 'failed', note = ? WHERE id = ?",
                                 (f"set aside: unreadable journal entry ({exc})", row_id))

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close both connections; idempotent. Call after every writer thread has stopped. Locks
        of sessions still 'recording' are let go: the next start may recover them."""
        with self._held_guard:
            held, self._held = list(self._held.values()), {}
        for lock in held:
            lock.release()
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._writer.execute("PRAGMA optimize")  # keeps the archive's query plans good
            except sqlite3.Error as exc:
                log.warning("PRAGMA optimize failed on close: %s", exc)
            finally:
                self._reader.close()
                self._writer.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _writing(self, action: str, *, patient: bool = False) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            if self._damaged is not None:
                self._replace_damaged_locked()
            conn = self._live(self._writer)
            waited = ARCHIVE_BUSY_TIMEOUT_MS if patient else WRITE_BUSY_TIMEOUT_MS
            if patient:
                conn.execute(f"PRAGMA busy_timeout = {ARCHIVE_BUSY_TIMEOUT_MS}")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise  # our bugs, not the disk's: keep the real error
            except sqlite3.Error as exc:
                if isinstance(exc, sqlite3.DatabaseError) and is_corruption(exc):
                    self._damaged = exc  # moved aside before the next write
                raise io_error(self.path, action, exc, waited) from exc
            finally:
                if patient and not self._closed:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute(f"PRAGMA busy_timeout = {WRITE_BUSY_TIMEOUT_MS}")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._read_lock:
            conn = self._live(self._reader)
            try:
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise
            except sqlite3.Error as exc:
                if isinstance(exc, sqlite3.DatabaseError) and is_corruption(exc):
                    self._damaged = exc
                raise io_error(self.path, "read", exc, BUSY_TIMEOUT_MS) from exc

    def _replace_damaged_locked(self) -> None:
        """The file turned out damaged after it was opened: move it aside like a file that fails to
        open and start a new one, so recording works again. Caller holds the write lock; the read
        lock is taken second, the order every path uses."""
        cause, self._damaged = self._damaged, None
        assert cause is not None
        log.error("session archive %s found damaged while in use: %s", self.path, cause)
        with self._read_lock:
            for conn in (self._reader, self._writer):
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self.moved_aside = move_aside(self.path, cause)
            self._writer, self._fts, self._trigram = self._open_and_migrate()
            self._remember_rebuild(self._writer)
            self._reader = self._open_reader()
        self.notice = (f"The session archive {self.path.name} was found damaged. It was kept as "
                       f"{self.moved_aside.name} and a new archive was started; the session folders are untouched.")

    def _live(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("the session store is closed")
        return conn
