"""Whole sessions written at once: a journal brought up to date (``SessionStore.sync_session``:
after the journal fell behind, after a rebuild, for an import) and finished sessions in bulk
(``SessionStore.bulk_add``, the benchmark). Each function runs inside the caller's write
transaction, through the same tables and triggers as every other write. Stdlib only.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from app.core.kept import MAX_SHORT_ID_LENGTH, SHORT_ID_LENGTH, TranslationSet, short_id
from app.core.transcript import Gap, Translation, Turn
from app.store import migrations, sets
from app.store.rows import INSERT_TURN, BulkSession, NewSession, SessionStatus, turn_values


def give_short_id(conn: sqlite3.Connection, session_id: int, uid: str) -> None:
    """The session's short ID: the shortest form of its uid no other session has."""
    candidates = [short_id(uid, n) for n in range(SHORT_ID_LENGTH, MAX_SHORT_ID_LENGTH + 1)]
    taken = {row[0] for row in conn.execute(
        f"SELECT short_id FROM sessions WHERE short_id IN ({','.join('?' * len(candidates))})", candidates)}
    conn.execute("UPDATE sessions SET short_id = ? WHERE id = ?",
                 (migrations.free_short_id(uid, taken), session_id))


def turn_id_of(conn: sqlite3.Connection, session_id: int, turn_index: int) -> int:
    row = conn.execute("SELECT id FROM turns WHERE session_id = ? AND idx = ?", (session_id, turn_index)).fetchone()
    if row is None:
        raise KeyError(f"no turn {turn_index} in session {session_id}")
    return int(row[0])


def write_whole(conn: sqlite3.Connection, session_id: int, fields: NewSession, turns: Sequence[Turn],
                gaps: Sequence[Gap], *, extra_sets: Sequence[tuple[TranslationSet, dict[int, Translation]]] = (),
                imported: bool = False) -> None:
    """``sync_session``'s write: the row's folder and languages (its title and note too when
    ``imported``), every turn and translation inserted or updated, the sets made later, the gaps
    replaced."""
    conn.execute("UPDATE sessions SET folder = ?, audio_path = ?, target_languages = ? WHERE id = ?",
                 (str(fields.folder), str(fields.audio_path), json.dumps(list(fields.target_languages)),
                  session_id))
    if imported:
        conn.execute("UPDATE sessions SET title = ?, user_note = ? WHERE id = ?",
                     (fields.title, fields.user_note, session_id))
    turn_ids: dict[int, int] = {}
    for turn in turns:
        conn.execute(
            INSERT_TURN + " ON CONFLICT (session_id, idx) DO UPDATE SET text = excluded.text,"
            " start_ms = excluded.start_ms, end_ms = excluded.end_ms, language_code = excluded.language_code,"
            " speaker = excluded.speaker, side = excluded.side", turn_values(session_id, turn))
        turn_id = turn_id_of(conn, session_id, turn.index)
        turn_ids[turn.index] = turn_id
        for translation in turn.translations.values():
            sets.put_cell(conn, turn_id, sets.own_set_id(conn, session_id, translation.language,
                                                         translation.model), translation)
    for wanted, cells in extra_sets:
        set_id = sets.upsert_set(conn, session_id, wanted)
        for index, translation in cells.items():
            if index in turn_ids:
                sets.put_cell(conn, turn_ids[index], set_id, translation)
    conn.execute("DELETE FROM gaps WHERE session_id = ?", (session_id,))
    for gap in gaps:
        conn.execute("INSERT INTO gaps (session_id, start_ms, end_ms, reason) VALUES (?,?,?,?)",
                     (session_id, gap.start_ms, gap.end_ms, gap.reason))


def insert_finished(conn: sqlite3.Connection, item: BulkSession) -> int:
    """One finished session with its turns, translations and gaps; returns its id."""
    f = item.fields
    duration = item.duration_ms if item.duration_ms is not None else max(
        (t.end_ms for t in item.turns), default=0)
    cursor = conn.execute(
        "INSERT INTO sessions (uid, started_at, ended_at, status, folder, audio_path, source_language,"
        " speech_model, target_languages, llm_model, title, user_note, duration_ms)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (f.uid, f.started_at, f.started_at + duration / 1000, SessionStatus.FINISHED.value, str(f.folder),
         str(f.audio_path), f.source_language, f.speech_model, json.dumps(list(f.target_languages)),
         f.llm_model, f.title, f.user_note, duration))
    session_id = int(cursor.lastrowid or 0)
    give_short_id(conn, session_id, f.uid)
    conn.executemany(INSERT_TURN, [turn_values(session_id, t) for t in item.turns])
    turn_ids = dict(conn.execute("SELECT idx, id FROM turns WHERE session_id = ?", (session_id,)))
    set_ids: dict[str, int] = {}
    cells = []
    for turn in item.turns:
        for tr in turn.translations.values():
            if tr.language not in set_ids:
                set_ids[tr.language] = sets.own_set_id(conn, session_id, tr.language, tr.model)
            cells.append(sets.cell_values(turn_ids[turn.index], set_ids[tr.language], tr))
    sets.put_cells(conn, cells)
    conn.executemany("INSERT INTO gaps (session_id, start_ms, end_ms, reason) VALUES (?,?,?,?)",
                     [(session_id, g.start_ms, g.end_ms, g.reason) for g in item.gaps])
    return session_id
