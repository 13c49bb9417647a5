"""SessionStore: the SQLite session archive, and today the crash journal.

Every final turn, translation and gap is committed the moment it happens, so after kill -9 or a
power cut the next launch finds the session still marked 'recording' (``unfinished_sessions``) and
rebuilds its transcript (``load_transcript``). Later the same file is the searchable archive
(``search``; the queries themselves live in ``app.store.search``).

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

A corrupt file found while opening (not a database, malformed schema) is renamed to
``<name>.corrupt-YYYYmmdd-HHMMSS`` (with its -wal/-shm, so it can still be salvaged), a new empty
archive is created, and the store opens normally with ``moved_aside``/``notice`` set: recording
must not be blocked by a damaged archive, the damaged file is kept, and the caller shows ``notice``
once. Every other failure to open (unwritable folder, newer schema, the rename failing) raises
``OutputError``; a failed read or write later raises ``OutputError`` too.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any

from app.core.errors import OutputError
from app.core.transcript import Gap, Transcript, Translation, TranslationStatus, Turn, Word
from app.store import migrations
from app.store.locks import SessionLock
from app.store.search import SearchHit, find_hits, register_functions, search_terms

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000  # reads: only another process (a second app instance) can hold the write lock
# Writes wait less: a session's journal write runs on its websocket thread, and a file locked by
# another program must not hold the turns up for long (the session catches the journal up later).
WRITE_BUSY_TIMEOUT_MS = 500
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


class SessionStatus(str, Enum):
    RECORDING = "recording"
    FINISHED = "finished"
    RECOVERED = "recovered"  # found unfinished after a crash and restored
    FAILED = "failed"


@dataclass(frozen=True)
class SessionRecord:
    id: int
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
    note: str


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


_SESSION_COLUMNS = (
    "id, uid, started_at, ended_at, status, folder, audio_path, source_language, speech_model, "
    "target_languages, llm_model, title, duration_ms, note"
)
_UPSERT_TRANSLATION = """
    INSERT INTO translations
        (turn_id, language, text, status, model, latency_ms, error, attempts, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (turn_id, language) DO UPDATE SET
        text = excluded.text, status = excluded.status, model = excluded.model,
        latency_ms = excluded.latency_ms, error = excluded.error, attempts = excluded.attempts,
        updated_at = excluded.updated_at
"""


class SessionStore:
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
            self._writer, self._fts = self._open_and_migrate()
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise _open_error(self.path, exc) from exc
            log.error("session archive %s is corrupt: %s", self.path, exc)
            self.moved_aside = _move_aside(self.path, exc)
            self.notice = (
                f"The session archive {self.path.name} was damaged. It was kept as "
                f"{self.moved_aside.name} and a new, empty archive was started; the session "
                "folders (audio and exports) are untouched."
            )
            try:
                self._writer, self._fts = self._open_and_migrate()
            except sqlite3.Error as retry_exc:
                raise _open_error(self.path, retry_exc) from retry_exc
        try:
            self._reader = _connect(self.path)
            self._reader.execute("PRAGMA query_only = ON")  # this connection must never write
            register_functions(self._reader)
        except sqlite3.Error as exc:
            self._writer.close()
            raise _open_error(self.path, exc) from exc
        if not self._fts:
            log.warning("SQLite FTS5 is unavailable; search falls back to a substring scan")

    def _open_and_migrate(self) -> tuple[sqlite3.Connection, bool]:
        conn = _connect(self.path)
        try:
            migrations.migrate(conn)
            fts = migrations.sync_search_index(conn)
            conn.execute(f"PRAGMA busy_timeout = {WRITE_BUSY_TIMEOUT_MS}")  # migrations may wait longer
            return conn, fts
        except BaseException:
            conn.close()
            raise

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
    ) -> SessionRecord:
        """A new session, 'recording', owned by this process: its lock is taken before the row
        exists, so no other instance can ever see the row unowned."""
        uid = uid or str(uuid.uuid4())
        lock = self._own(uid)
        values = (
            uid, time.time() if started_at is None else started_at,
            SessionStatus.RECORDING.value, str(folder), str(audio_path), source_language,
            speech_model, json.dumps(list(target_languages)), llm_model, title,
        )
        try:
            with self._writing("updated") as conn:
                cursor = conn.execute(
                    "INSERT INTO sessions (uid, started_at, status, folder, audio_path, source_language,"
                    " speech_model, target_languages, llm_model, title) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    values,
                )
                row = conn.execute(
                    f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (cursor.lastrowid,)
                ).fetchone()
        except BaseException:
            self._disown(uid, lock)
            raise
        return _session_from_row(row)

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
        words = json.dumps([asdict(word) for word in turn.words], ensure_ascii=False)
        with self._writing("updated") as conn:
            try:
                cursor = conn.execute(
                    "INSERT INTO turns (session_id, idx, segment, turn_order, text, start_ms, end_ms,"
                    " finalized_at, formatted, language_code, speaker, words)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (session_id, turn.index, turn.segment, turn.turn_order, turn.text,
                     turn.start_ms, turn.end_ms, turn.finalized_at, int(turn.formatted),
                     turn.language_code, turn.speaker, words),
                )
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc):
                    raise ValueError(f"turn {turn.index} of session {session_id} is already stored") from exc
                raise KeyError(f"no session {session_id}") from exc
            turn_id = cursor.lastrowid
            for translation in turn.translations.values():
                conn.execute(_UPSERT_TRANSLATION, _translation_values(turn_id, translation))

    def set_translation(self, session_id: int, turn_index: int, translation: Translation) -> None:
        """Insert or replace the turn's translation for ``translation.language``; durable on return."""
        with self._writing("updated") as conn:
            row = conn.execute(
                "SELECT id FROM turns WHERE session_id = ? AND idx = ?", (session_id, turn_index)
            ).fetchone()
            if row is None:
                raise KeyError(f"no turn {turn_index} in session {session_id}")
            conn.execute(_UPSERT_TRANSLATION, _translation_values(row[0], translation))

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

    def sync_session(self, fields: NewSession, turns: Sequence[Turn], gaps: Sequence[Gap]) -> int:
        """Bring the journal up to date with a whole session at once: the row (made if it is
        missing, found by uid), every turn and translation (inserted or updated), and the gaps.
        For a session whose journal could not be written for a while, or was replaced. Idempotent;
        returns the session's id."""
        with self._reading() as conn:
            row = conn.execute("SELECT id FROM sessions WHERE uid = ?", (fields.uid,)).fetchone()
        if row is None:
            session_id = self.create_session(
                folder=fields.folder, audio_path=fields.audio_path, source_language=fields.source_language,
                speech_model=fields.speech_model, target_languages=fields.target_languages,
                llm_model=fields.llm_model, started_at=fields.started_at, title=fields.title, uid=fields.uid).id
        else:
            session_id = int(row[0])
        with self._writing("updated") as conn:
            conn.execute("UPDATE sessions SET folder = ?, audio_path = ?, target_languages = ? WHERE id = ?",
                         (str(fields.folder), str(fields.audio_path), json.dumps(list(fields.target_languages)),
                          session_id))
            for turn in turns:
                words = json.dumps([asdict(word) for word in turn.words], ensure_ascii=False)
                conn.execute(
                    "INSERT INTO turns (session_id, idx, segment, turn_order, text, start_ms, end_ms, finalized_at,"
                    " formatted, language_code, speaker, words) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT (session_id, idx) DO UPDATE SET text = excluded.text, start_ms = excluded.start_ms,"
                    " end_ms = excluded.end_ms, language_code = excluded.language_code, speaker = excluded.speaker",
                    (session_id, turn.index, turn.segment, turn.turn_order, turn.text, turn.start_ms, turn.end_ms,
                     turn.finalized_at, int(turn.formatted), turn.language_code, turn.speaker, words))
                turn_id = conn.execute("SELECT id FROM turns WHERE session_id = ? AND idx = ?",
                                       (session_id, turn.index)).fetchone()[0]
                for translation in turn.translations.values():
                    conn.execute(_UPSERT_TRANSLATION, _translation_values(turn_id, translation))
            conn.execute("DELETE FROM gaps WHERE session_id = ?", (session_id,))
            for gap in gaps:
                conn.execute("INSERT INTO gaps (session_id, start_ms, end_ms, reason) VALUES (?,?,?,?)",
                             (session_id, gap.start_ms, gap.end_ms, gap.reason))
        return session_id

    def set_target_languages(self, session_id: int, codes: Sequence[str]) -> None:
        """A language was added during the session: it is one of the session's languages now."""
        self._update_session("UPDATE sessions SET target_languages = ? WHERE id = ?",
                             (json.dumps(list(codes)), session_id))

    def set_title(self, session_id: int, title: str) -> None:
        """The session's title (shown instead of its folder's name); KeyError if unknown."""
        self._update_session("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id))

    def move_session(self, session_id: int, folder: Path | str, audio_path: Path | str) -> None:
        """The session's files are now somewhere else (rescued from a deleted folder)."""
        self._update_session("UPDATE sessions SET folder = ?, audio_path = ? WHERE id = ?",
                             (str(folder), str(audio_path), session_id))

    def delete_session(self, session_id: int) -> bool:
        """Delete the session's rows (turns, translations, gaps cascade); its folder is not touched."""
        with self._writing("updated") as conn:
            deleted = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
        return deleted > 0

    def _update_session(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._writing("updated") as conn:
            if conn.execute(sql, params).rowcount == 0:
                raise KeyError(f"no session {params[-1]}")

    # -- reads: GUI / CLI thread ---------------------------------------------------------------

    def get_session(self, session_id: int) -> SessionRecord | None:
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return None if row is None else _session_from_row(row)

    def list_sessions(self, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """Newest first."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY started_at DESC, id DESC"
                " LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_session_from_row(row) for row in rows]

    def unfinished_sessions(self) -> list[SessionRecord]:
        """Sessions still 'recording' whose process is gone (a crash, kill -9, a power cut): the
        ones whose lock this call could take, and now holds until they are finished or recovered.
        A session another live instance is recording is never among them. A row that cannot be
        read is set aside (marked failed, named in ``set_aside``), never a traceback at each start."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE status = ? ORDER BY started_at, id",
                (SessionStatus.RECORDING.value,),
            ).fetchall()
        found: list[SessionRecord] = []
        for row in rows:
            try:
                record = _session_from_row(row)
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

    def load_transcript(self, session_id: int) -> Transcript:
        """Rebuild the session's Transcript (turns, words, translations, gaps); KeyError if unknown."""
        with self._reading() as conn:  # one read transaction: a consistent snapshot
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise KeyError(f"no session {session_id}")
            turn_rows = conn.execute(
                "SELECT id, idx, segment, turn_order, text, start_ms, end_ms, finalized_at,"
                " formatted, language_code, speaker, words FROM turns WHERE session_id = ?"
                " ORDER BY idx",
                (session_id,),
            ).fetchall()
            translation_rows = conn.execute(
                "SELECT tr.turn_id, tr.language, tr.text, tr.status, tr.model, tr.latency_ms,"
                " tr.error, tr.attempts FROM translations tr JOIN turns t ON t.id = tr.turn_id"
                " WHERE t.session_id = ? ORDER BY tr.id",
                (session_id,),
            ).fetchall()
            gap_rows = conn.execute(
                "SELECT start_ms, end_ms, reason FROM gaps WHERE session_id = ? ORDER BY start_ms, id",
                (session_id,),
            ).fetchall()
        turns: dict[int, Turn] = {}
        for (turn_id, idx, segment, turn_order, text, start_ms, end_ms, finalized_at, formatted,
             language_code, speaker, words) in turn_rows:
            turns[turn_id] = Turn(
                index=idx, segment=segment, turn_order=turn_order, text=text, start_ms=start_ms,
                end_ms=end_ms, finalized_at=finalized_at, formatted=bool(formatted),
                language_code=language_code, speaker=speaker,
                words=[Word(**word) for word in json.loads(words)],
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

    def search(
        self, text: str, limit: int = 50, *, mark: tuple[str, str] = ("[", "]")
    ) -> list[SearchHit]:
        """Turns whose original or translated text contains every word of ``text``.

        Words match as prefixes, ignoring case and accents ("manana" finds "Mañana"). Queries in
        scripts written without spaces (Chinese, Japanese, Thai...) are matched as substrings,
        because the FTS tokenizer treats a whole run of such characters as one word.
        """
        terms = search_terms(text)
        if not terms or limit <= 0:
            return []
        with self._reading() as conn:
            return find_hits(conn, terms, limit, mark, fts=self._fts)

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
    def _writing(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            if self._damaged is not None:
                self._replace_damaged_locked()
            conn = self._live(self._writer)
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
                if isinstance(exc, sqlite3.DatabaseError) and _is_corruption(exc):
                    self._damaged = exc  # moved aside before the next write
                raise _io_error(self.path, action, exc) from exc

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
                if isinstance(exc, sqlite3.DatabaseError) and _is_corruption(exc):
                    self._damaged = exc
                raise _io_error(self.path, "read", exc) from exc

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
            self.moved_aside = _move_aside(self.path, cause)
            self._writer, self._fts = self._open_and_migrate()
            self._reader = _connect(self.path)
            self._reader.execute("PRAGMA query_only = ON")
            register_functions(self._reader)
        self.notice = (f"The session archive {self.path.name} was found damaged. It was kept as "
                       f"{self.moved_aside.name} and a new archive was started; the session folders are untouched.")

    def _live(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("the session store is closed")
        return conn


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # journal_mode reads the header: this is where a non-database file is first noticed.
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":  # e.g. a filesystem without shared memory; still durable, less concurrent
            log.warning("session archive %s runs in %s journal mode, not WAL", path, mode)
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    message = str(exc)
    return "file is not a database" in message or "malformed" in message


def _move_aside(path: Path, cause: sqlite3.Error) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    try:
        # The -wal must move too: SQLite would replay a stale WAL into the new, empty file.
        for suffix in ("-wal", "-shm", ""):
            companion = Path(f"{path}{suffix}")
            if companion.exists():
                companion.rename(Path(f"{aside}{suffix}"))
    except OSError as exc:
        raise OutputError(
            f"The session archive {path} is damaged and could not be moved aside "
            f"({exc.strerror or exc}). Move or delete it, then start Live Translate again.",
            detail=f"{cause!r}; {exc!r}",
        ) from exc
    log.error("moved corrupt session archive to %s", aside)
    return aside


def _open_error(path: Path, exc: sqlite3.Error) -> OutputError:
    return OutputError(
        f"The session archive {path} cannot be opened ({exc}). "
        "Check that the folder exists and you can write to it.",
        detail=repr(exc),
    )


def _io_error(path: Path, action: str, exc: sqlite3.Error) -> OutputError:
    return OutputError(
        f"The session archive {path} could not be {action} ({exc}). "
        "Check free disk space and that the folder is still writable.",
        detail=repr(exc),
    )


def _session_from_row(row: Sequence[Any]) -> SessionRecord:
    (id_, uid, started_at, ended_at, status, folder, audio_path, source_language, speech_model,
     target_languages, llm_model, title, duration_ms, note) = row
    return SessionRecord(
        id=id_, uid=uid, started_at=started_at, ended_at=ended_at, status=SessionStatus(status),
        folder=Path(folder), audio_path=Path(audio_path), source_language=source_language,
        speech_model=speech_model, target_languages=tuple(json.loads(target_languages)),
        llm_model=llm_model, title=title, duration_ms=duration_ms, note=note,
    )


def _translation_values(turn_id: int | None, translation: Translation) -> tuple[Any, ...]:
    return (
        turn_id, translation.language, translation.text,
        TranslationStatus(translation.status).value, translation.model, translation.latency_ms,
        translation.error, translation.attempts, time.time(),
    )
