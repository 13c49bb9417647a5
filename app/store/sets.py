"""Translation sets in SQL: the session's own set of each language, sets added later, their cells.

Stdlib only; called by ``SessionStore`` inside its read or write transactions (the connection is
passed in, the store holds the lock). The model is ``app.core.kept.TranslationSet``.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from app.core.kept import SetState, TranslationSet
from app.core.transcript import Translation, TranslationStatus

SET_COLUMNS = "id, language, ordinal, model, instructions, created_at, state"
_UPSERT_CELL = """
    INSERT INTO translations
        (turn_id, set_id, language, text, status, model, latency_ms, error, attempts, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (turn_id, set_id) DO UPDATE SET
        text = excluded.text, status = excluded.status, model = excluded.model,
        latency_ms = excluded.latency_ms, error = excluded.error, attempts = excluded.attempts,
        updated_at = excluded.updated_at
"""


def set_from_row(row: Any) -> TranslationSet:
    id_, language, ordinal, model, instructions, created_at, state = row
    return TranslationSet(language, ordinal, model, instructions, created_at, SetState(state), id_)


def own_set_id(conn: sqlite3.Connection, session_id: int, language: str, model: str = "") -> int:
    """The session's own (ordinal 1) set of ``language``, made the first time a cell of it comes."""
    row = conn.execute("SELECT id FROM translation_sets WHERE session_id = ? AND language = ? AND ordinal = 1",
                       (session_id, language)).fetchone()
    if row is not None:
        return int(row[0])
    cursor = conn.execute(
        "INSERT INTO translation_sets (session_id, language, ordinal, model, created_at) VALUES (?,?,1,?,?)",
        (session_id, language, model, time.time()))
    return int(cursor.lastrowid or 0)


def upsert_set(conn: sqlite3.Connection, session_id: int, wanted: TranslationSet) -> int:
    """The set with ``wanted``'s language and ordinal, made or brought up to date (an import)."""
    conn.execute(
        "INSERT INTO translation_sets (session_id, language, ordinal, model, instructions, created_at, state)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT (session_id, language, ordinal) DO UPDATE SET"
        " model = excluded.model, instructions = excluded.instructions, created_at = excluded.created_at,"
        " state = excluded.state",
        (session_id, wanted.language, wanted.ordinal, wanted.model, wanted.instructions,
         wanted.created_at or time.time(), wanted.state.value))
    row = conn.execute("SELECT id FROM translation_sets WHERE session_id = ? AND language = ? AND ordinal = ?",
                       (session_id, wanted.language, wanted.ordinal)).fetchone()
    return int(row[0])


def new_set(conn: sqlite3.Connection, session_id: int, language: str, model: str, instructions: str
            ) -> TranslationSet:
    """A set added after the session: the next ordinal of its language (1 for a language the
    session has no translations in yet, else 2, 3 ...)."""
    row = conn.execute("SELECT MAX(ordinal) FROM translation_sets WHERE session_id = ? AND language = ?",
                       (session_id, language)).fetchone()
    ordinal = (row[0] or 0) + 1
    created = time.time()
    cursor = conn.execute(
        "INSERT INTO translation_sets (session_id, language, ordinal, model, instructions, created_at, state)"
        " VALUES (?,?,?,?,?,?,?)", (session_id, language, ordinal, model, instructions, created,
                                   SetState.RUNNING.value))
    return TranslationSet(language, ordinal, model, instructions, created, SetState.RUNNING, cursor.lastrowid)


def put_cell(conn: sqlite3.Connection, turn_id: int, set_id: int, translation: Translation) -> None:
    conn.execute(_UPSERT_CELL, cell_values(turn_id, set_id, translation))


def cell_values(turn_id: int, set_id: int, translation: Translation) -> tuple[Any, ...]:
    return (turn_id, set_id, translation.language, translation.text, TranslationStatus(translation.status).value,
            translation.model, translation.latency_ms, translation.error, translation.attempts, time.time())


def put_cells(conn: sqlite3.Connection, values: Iterable[tuple[Any, ...]]) -> None:
    conn.executemany(_UPSERT_CELL, values)


def sets_of(conn: sqlite3.Connection, session_ids: Iterable[int]) -> dict[int, list[TranslationSet]]:
    ids = list(session_ids)
    found: dict[int, list[TranslationSet]] = {i: [] for i in ids}
    if not ids:
        return found
    marks = ",".join("?" * len(ids))
    for row in conn.execute(f"SELECT session_id, {SET_COLUMNS} FROM translation_sets WHERE session_id IN ({marks})"
                            " ORDER BY ordinal > 1, created_at, id", ids):
        found[row[0]].append(set_from_row(row[1:]))
    return found


def cells_of_set(conn: sqlite3.Connection, set_id: int) -> dict[int, Translation]:
    """Turn index -> cell, for one set."""
    rows = conn.execute(
        "SELECT t.idx, tr.language, tr.text, tr.status, tr.model, tr.latency_ms, tr.error, tr.attempts"
        " FROM translations tr JOIN turns t ON t.id = tr.turn_id WHERE tr.set_id = ?", (set_id,)).fetchall()
    return {idx: Translation(language, text, TranslationStatus(status), model, latency_ms, error, attempts)
            for idx, language, text, status, model, latency_ms, error, attempts in rows}
