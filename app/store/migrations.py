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

Migration 3 is the data model of the session history and of what comes after it, so that later
work needs no migration of its own: every turn's ``side`` (the microphone, or the system's audio of
a two-way session) next to its ``speaker`` and detected ``language_code`` (both since v1); each
session's short ID (``app.core.kept.short_id`` of its uid), the user's ``user_note`` and a ``meta``
JSON object for facts a later feature needs per session (a second recording's path, say);
*translation sets* (``translation_sets``: one per language and model a session was translated
with; ``translations.set_id`` says which set a cell belongs to, the session's own translations
being set 1 of each language); an ``archive_facts`` key-value table (a rebuild pending after a
damaged archive was set aside); and a second search index with FTS5's ``trigram`` tokenizer
(``turns_tri``/``translations_tri``) over the texts written in scripts without spaces (Chinese,
Japanese, Thai...), which unicode61 cannot split. These are ordinary FTS5 tables holding their own
copy of those texts only, kept by triggers whose ``GLOB`` picks the rows that have such characters.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

from app.core.errors import NewerArchiveError
from app.core.kept import MAX_SHORT_ID_LENGTH, SHORT_ID_LENGTH, short_id
from app.store.search import NO_SPACE_GLOB

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

_UNICODE_TABLES = (
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


_UNICODE_TRIGGERS = {**_sync_triggers("turns"), **_sync_triggers("translations")}

# Since v3: the trigram index of the texts in unspaced scripts. Ordinary FTS5 tables (they keep
# their own copy of those texts), so a row is removed by rowid whatever it held.
_TRIGRAM_TABLES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS turns_tri USING fts5 (text, tokenize='trigram')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS translations_tri USING fts5 (text, tokenize='trigram')",
)


def _trigram_triggers(table: str) -> dict[str, str]:
    tri = f"{table}_tri"
    unspaced = f"new.text GLOB '{NO_SPACE_GLOB}'"
    insert_new = f"INSERT INTO {tri} (rowid, text) SELECT new.id, new.text WHERE {unspaced};"
    delete_old = f"DELETE FROM {tri} WHERE rowid = old.id;"
    return {
        f"{tri}_ai": f"CREATE TRIGGER {tri}_ai AFTER INSERT ON {table} BEGIN {insert_new} END",
        f"{tri}_ad": f"CREATE TRIGGER {tri}_ad AFTER DELETE ON {table} BEGIN {delete_old} END",
        f"{tri}_au": f"CREATE TRIGGER {tri}_au AFTER UPDATE OF text ON {table} BEGIN {delete_old} {insert_new} END",
    }


_TRIGRAM_TRIGGERS = {**_trigram_triggers("turns"), **_trigram_triggers("translations")}
_SEARCH_TRIGGERS = {**_UNICODE_TRIGGERS, **_TRIGRAM_TRIGGERS}


def fts5_available(conn: sqlite3.Connection) -> bool:
    """True if this SQLite has the FTS5 module (probed in the temp schema; the file is untouched)."""
    return _probe(conn, "fts5 (x)")


def trigram_available(conn: sqlite3.Connection) -> bool:
    """True if this SQLite's FTS5 has the trigram tokenizer (SQLite 3.34 and later)."""
    return _probe(conn, "fts5 (x, tokenize='trigram')")


def _probe(conn: sqlite3.Connection, module: str) -> bool:
    try:
        conn.execute(f"CREATE VIRTUAL TABLE temp.live_translate_probe USING {module}")
    except sqlite3.OperationalError:
        return False
    conn.execute("DROP TABLE temp.live_translate_probe")
    return True


def _wanted_triggers(conn: sqlite3.Connection) -> dict[str, str]:
    """The search triggers this SQLite can keep (none without FTS5) and the schema has tables for."""
    if not fts5_available(conn) or schema_version(conn) < 2:
        return {}
    if schema_version(conn) < 3 or not trigram_available(conn):
        return dict(_UNICODE_TRIGGERS)
    return dict(_SEARCH_TRIGGERS)


def search_index_present(conn: sqlite3.Connection) -> bool:
    """True if every search trigger exists, i.e. the FTS tables are being kept current."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return set(_UNICODE_TRIGGERS) <= names


def _build_search_index(conn: sqlite3.Connection) -> None:
    """Create (or re-attach) the unicode61 FTS tables and triggers and re-index all existing text."""
    _run(conn, _UNICODE_TABLES)
    for name, sql in _UNICODE_TRIGGERS.items():
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(sql)
    # 'rebuild' re-reads the content tables: back-fills an upgraded file, and repairs an index that
    # went stale while the file was written without FTS5.
    conn.execute("INSERT INTO turns_fts (turns_fts) VALUES ('rebuild')")
    conn.execute("INSERT INTO translations_fts (translations_fts) VALUES ('rebuild')")


def _build_trigram_index(conn: sqlite3.Connection) -> None:
    """Create (or re-attach) the trigram tables and triggers and fill them from the texts."""
    _run(conn, _TRIGRAM_TABLES)
    for name, sql in _TRIGRAM_TRIGGERS.items():
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(sql)
    for table in ("turns", "translations"):
        conn.execute(f"DELETE FROM {table}_tri")
        conn.execute(f"INSERT INTO {table}_tri (rowid, text) SELECT id, text FROM {table} WHERE text GLOB ?",
                     (NO_SPACE_GLOB,))


def _v1_core_tables(conn: sqlite3.Connection) -> None:
    _run(conn, _V1_CORE_TABLES)


def _v2_search_index(conn: sqlite3.Connection) -> None:
    if fts5_available(conn):
        _build_search_index(conn)
    else:
        log.warning("SQLite has no FTS5; the session archive will search by substring scan")


_V3_HISTORY = (
    "ALTER TABLE sessions ADD COLUMN short_id TEXT",
    "ALTER TABLE sessions ADD COLUMN user_note TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE sessions ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE turns ADD COLUMN side TEXT NOT NULL DEFAULT 'microphone' CHECK (side IN ('microphone', 'system'))",
    """
    CREATE TABLE translation_sets (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        language     TEXT    NOT NULL,
        ordinal      INTEGER NOT NULL CHECK (ordinal >= 1),  -- 1: the session's own translations
        model        TEXT    NOT NULL DEFAULT '',
        instructions TEXT    NOT NULL DEFAULT '',
        created_at   REAL    NOT NULL,
        state        TEXT    NOT NULL DEFAULT 'done' CHECK (state IN ('running', 'done', 'cancelled')),
        UNIQUE (session_id, language, ordinal)
    )
    """,
    # Every cell that exists today is its session's own translation: set 1 of its language.
    """
    INSERT INTO translation_sets (session_id, language, ordinal, model, created_at)
    SELECT t.session_id, tr.language, 1, MAX(tr.model), MIN(tr.updated_at)
    FROM translations tr JOIN turns t ON t.id = tr.turn_id GROUP BY t.session_id, tr.language
    """,
    # A cell belongs to a set now: one per turn and set (a rebuilt table; SQLite cannot change a
    # UNIQUE constraint in place). The ids are kept, so the search index still points at the rows.
    """
    CREATE TABLE translations_v3 (
        id         INTEGER PRIMARY KEY,
        turn_id    INTEGER NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
        set_id     INTEGER NOT NULL REFERENCES translation_sets (id) ON DELETE CASCADE,
        language   TEXT    NOT NULL,  -- the set's, repeated: the search reads it without a join
        text       TEXT    NOT NULL DEFAULT '',
        status     TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
        model      TEXT    NOT NULL DEFAULT '',
        latency_ms INTEGER,
        error      TEXT    NOT NULL DEFAULT '',
        attempts   INTEGER NOT NULL DEFAULT 0,
        updated_at REAL    NOT NULL,
        UNIQUE (turn_id, set_id)
    )
    """,
    """
    INSERT INTO translations_v3 (id, turn_id, set_id, language, text, status, model, latency_ms, error, attempts,
                                 updated_at)
    SELECT tr.id, tr.turn_id, s.id, tr.language, tr.text, tr.status, tr.model, tr.latency_ms, tr.error, tr.attempts,
           tr.updated_at
    FROM translations tr JOIN turns t ON t.id = tr.turn_id
    JOIN translation_sets s ON s.session_id = t.session_id AND s.language = tr.language AND s.ordinal = 1
    """,
    "DROP TABLE translations",  # its search triggers go with it; made again below
    "ALTER TABLE translations_v3 RENAME TO translations",
    "CREATE INDEX translations_set ON translations (set_id)",
    "CREATE TABLE archive_facts (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def _v3_history(conn: sqlite3.Connection) -> None:
    _run(conn, _V3_HISTORY)
    taken: set[str] = set()
    for row_id, uid in conn.execute("SELECT id, uid FROM sessions ORDER BY id").fetchall():
        conn.execute("UPDATE sessions SET short_id = ? WHERE id = ?", (free_short_id(str(uid), taken), row_id))
    conn.execute("CREATE UNIQUE INDEX sessions_short_id ON sessions (short_id)")
    if fts5_available(conn):
        _build_search_index(conn)  # the translations table is new: its unicode61 triggers again
        if trigram_available(conn):
            _build_trigram_index(conn)
        else:
            log.warning("SQLite's FTS5 has no trigram tokenizer; Chinese and Japanese are searched by scanning")


def free_short_id(uid: str, taken: set[str]) -> str:
    """``short_id(uid)``, longer by a character each time it is already ``taken`` (then taken too)."""
    for length in range(SHORT_ID_LENGTH, MAX_SHORT_ID_LENGTH + 1):
        candidate = short_id(uid, length)
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError(f"no free short id for {uid}")  # 13 characters of a hash all taken: not this universe


MIGRATIONS: tuple[Migration, ...] = (_v1_core_tables, _v2_search_index, _v3_history)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def newer_schema_error(version: int) -> NewerArchiveError:
    return NewerArchiveError(
        f"This archive was written by a newer Live Translate (schema {version}); update the app. The archive "
        "is left as it is.",
        detail=f"this build knows schema versions up to {SCHEMA_VERSION}",
    )


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the file up to ``len(migrations)``; returns the final version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so the explicit transactions
    here are the only ones. Raises ``NewerArchiveError`` if the file is newer than ``migrations``.
    """
    target = len(migrations)
    # Reading the version needs no write lock: a file already up to date opens even while another
    # program holds it locked for writing (the history can still be read).
    version = schema_version(conn)
    if version > target:
        raise newer_schema_error(version)
    if version == target:
        return version
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
    wanted = _wanted_triggers(conn)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    present = names & set(_SEARCH_TRIGGERS)
    if present == set(wanted):
        return available
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not available:
            log.warning("SQLite has no FTS5; dropping search triggers so recording keeps working")
        for name in present - set(wanted):
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        if set(_UNICODE_TRIGGERS) & set(wanted) - present:
            log.info("FTS5 is available again; rebuilding the session archive's search index")
            _build_search_index(conn)
        if set(_TRIGRAM_TRIGGERS) & set(wanted) - present:
            _build_trigram_index(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return available


def trigram_index_present(conn: sqlite3.Connection) -> bool:
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return set(_TRIGRAM_TRIGGERS) <= names
