"""Schema of the session archive and the migrations that build it.

Runs on whichever thread opens the ``SessionStore`` (the GUI thread at start-up, or the CLI's main
thread), before any other thread gets the store. Pure stdlib ``sqlite3``.

The schema version is ``PRAGMA user_version``: version N means the first N entries of
``MIGRATIONS`` have been applied. Each migration runs in its own ``BEGIN IMMEDIATE`` transaction
together with the ``user_version`` bump, so a crash or an error mid-migration leaves the file at the
previous version, never half-migrated. Migrations are append-only: never edit a released one, add a
new one. Statements are executed one by one with ``execute`` because ``executescript`` would
commit the open transaction first.

Full-text search (migration 2) uses two *external-content* FTS5 tables, one over ``turns.text`` and
one over ``translations.text``. External content means the index stores only tokens and reads the
text back from the real tables (``snippet()`` still works, which a contentless table cannot do, and
no text is stored twice); triggers keep the index in step with every insert, update and delete,
including deletes done by ``ON DELETE CASCADE``. Two tables rather than one because FTS5 external
content must map one-to-one onto rowids of a single table. Tokenizer: ``unicode61`` with
``remove_diacritics 2`` so "manana" finds "mañana". It splits words on spaces and punctuation only,
so a run of Chinese/Japanese/Thai characters is one token; ``db.py`` answers queries in those
scripts with a substring scan instead.

If this Python's SQLite lacks FTS5, migration 2 still bumps the version but creates no index;
``sync_search_index`` (run on every open) creates and back-fills the index once FTS5 is available,
and drops the triggers if a file indexed elsewhere is opened without FTS5 (else every write would
fail with "no such module: fts5"; recording beats searching).
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

from app.core.errors import OutputError

log = logging.getLogger(__name__)

Migration = Callable[[sqlite3.Connection], None]


def _run(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    for statement in statements:
        conn.execute(statement)


_V1_CORE_TABLES = (
    """
    CREATE TABLE sessions (
        id               INTEGER PRIMARY KEY,
        uid              TEXT    NOT NULL UNIQUE,
        started_at       REAL    NOT NULL,
        ended_at         REAL,
        status           TEXT    NOT NULL DEFAULT 'recording'
                         CHECK (status IN ('recording', 'finished', 'recovered', 'failed')),
        folder           TEXT    NOT NULL,
        audio_path       TEXT    NOT NULL,
        source_language  TEXT,
        speech_model     TEXT    NOT NULL DEFAULT '',
        target_languages TEXT    NOT NULL DEFAULT '[]',
        llm_model        TEXT    NOT NULL DEFAULT '',
        title            TEXT    NOT NULL DEFAULT '',
        duration_ms      INTEGER,
        note             TEXT    NOT NULL DEFAULT ''
    )
    """,
    # Start-up asks for status = 'recording'; the archive lists newest first.
    "CREATE INDEX sessions_status ON sessions (status)",
    "CREATE INDEX sessions_started_at ON sessions (started_at)",
    """
    CREATE TABLE turns (
        id            INTEGER PRIMARY KEY,
        session_id    INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        idx           INTEGER NOT NULL,
        segment       INTEGER NOT NULL,
        turn_order    INTEGER NOT NULL,
        text          TEXT    NOT NULL,
        start_ms      INTEGER NOT NULL,
        end_ms        INTEGER NOT NULL,
        finalized_at  REAL    NOT NULL,
        formatted     INTEGER NOT NULL DEFAULT 0,
        language_code TEXT,
        speaker       TEXT,
        words         TEXT    NOT NULL DEFAULT '[]',
        UNIQUE (session_id, idx)
    )
    """,
    """
    CREATE TABLE translations (
        id         INTEGER PRIMARY KEY,
        turn_id    INTEGER NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
        language   TEXT    NOT NULL,
        text       TEXT    NOT NULL DEFAULT '',
        status     TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
        model      TEXT    NOT NULL DEFAULT '',
        latency_ms INTEGER,
        error      TEXT    NOT NULL DEFAULT '',
        attempts   INTEGER NOT NULL DEFAULT 0,
        updated_at REAL    NOT NULL,
        UNIQUE (turn_id, language)
    )
    """,
    """
    CREATE TABLE gaps (
        id         INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        start_ms   INTEGER NOT NULL,
        end_ms     INTEGER NOT NULL,
        reason     TEXT    NOT NULL DEFAULT ''
    )
    """,
    # Without it a cascade delete of a session scans every gap.
    "CREATE INDEX gaps_session ON gaps (session_id)",
)

_SEARCH_TABLES = (
    """CREATE VIRTUAL TABLE IF NOT EXISTS turns_fts USING fts5 (
        text, content='turns', content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS translations_fts USING fts5 (
        text, content='translations', content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
)


def _sync_triggers(table: str) -> dict[str, str]:
    # External content: a delete must hand FTS5 the *old* text so it can remove those tokens.
    fts = f"{table}_fts"
    delete_old = f"INSERT INTO {fts} ({fts}, rowid, text) VALUES ('delete', old.id, old.text);"
    insert_new = f"INSERT INTO {fts} (rowid, text) VALUES (new.id, new.text);"
    return {
        f"{fts}_ai": f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert_new} END",
        f"{fts}_ad": f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete_old} END",
        # The translation upsert's DO UPDATE fires this; "OF text" skips status-only updates.
        f"{fts}_au": f"CREATE TRIGGER {fts}_au AFTER UPDATE OF text ON {table} "
        f"BEGIN {delete_old} {insert_new} END",
    }


_SEARCH_TRIGGERS = {**_sync_triggers("turns"), **_sync_triggers("translations")}


def fts5_available(conn: sqlite3.Connection) -> bool:
    """True if this SQLite has the FTS5 module (probed in the temp schema; the file is untouched)."""
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.live_translate_fts5_probe USING fts5 (x)")
    except sqlite3.OperationalError:
        return False
    conn.execute("DROP TABLE temp.live_translate_fts5_probe")
    return True


def search_index_present(conn: sqlite3.Connection) -> bool:
    """True if every search trigger exists, i.e. the FTS tables are being kept current."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return set(_SEARCH_TRIGGERS) <= names


def _build_search_index(conn: sqlite3.Connection) -> None:
    """Create (or re-attach) the FTS tables and triggers and re-index all existing text."""
    _run(conn, _SEARCH_TABLES)
    for name, sql in _SEARCH_TRIGGERS.items():
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(sql)
    # 'rebuild' re-reads the content tables: back-fills an upgraded file, and repairs an index that
    # went stale while the file was written without FTS5.
    conn.execute("INSERT INTO turns_fts (turns_fts) VALUES ('rebuild')")
    conn.execute("INSERT INTO translations_fts (translations_fts) VALUES ('rebuild')")


def _v1_core_tables(conn: sqlite3.Connection) -> None:
    _run(conn, _V1_CORE_TABLES)


def _v2_search_index(conn: sqlite3.Connection) -> None:
    if fts5_available(conn):
        _build_search_index(conn)
    else:
        log.warning("SQLite has no FTS5; the session archive will search by substring scan")


MIGRATIONS: tuple[Migration, ...] = (_v1_core_tables, _v2_search_index)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def newer_schema_error(version: int) -> OutputError:
    return OutputError(
        f"This archive was written by a newer Live Translate (schema {version}); update the app.",
        detail=f"this build knows schema versions up to {SCHEMA_VERSION}",
    )


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the file up to ``len(migrations)``; returns the final version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so the explicit transactions
    here are the only ones. Raises ``OutputError`` if the file is newer than ``migrations``.
    """
    target = len(migrations)
    while True:
        # IMMEDIATE takes the write lock before reading the version, so two app instances
        # starting at once cannot both apply the same migration.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)
            if version > target:
                raise newer_schema_error(version)
            if version == target:
                conn.execute("COMMIT")
                return version
            migrations[version](conn)
            # PRAGMA user_version is part of the transaction: rolled back with it on failure.
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
            log.info("session archive migrated to schema %d", version + 1)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def sync_search_index(conn: sqlite3.Connection) -> bool:
    """Match the search index to this SQLite's abilities; returns True if FTS search is usable."""
    available = fts5_available(conn)
    if available == search_index_present(conn):
        return available
    conn.execute("BEGIN IMMEDIATE")
    try:
        if available:
            log.info("FTS5 is available again; rebuilding the session archive's search index")
            _build_search_index(conn)
        else:
            log.warning("SQLite has no FTS5; dropping search triggers so recording keeps working")
            for name in _SEARCH_TRIGGERS:
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return available
