"""The archive's reads: sessions, the history list, a transcript, its translation sets, search.

``SessionStore`` (``app.store.db``) is made of these and its writes; each read runs on the store's
read connection, under its read lock (``_reading``), so it sees the last commit and never waits
for a writer. Threads: the GUI (or CLI main) thread. Stdlib only.
"""
from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from app.core.kept import TranslationSet
from app.core.transcript import Transcript, Translation
from app.store import sets
from app.store.rows import SESSION_COLUMNS, SessionOverview, SessionRecord, session_from_row, transcript_from_rows
from app.store.search import SearchHit, find_hits, search_terms


class ArchiveReads:
    """The read half of ``SessionStore``."""

    _fts: bool  # SQLite has FTS5 (set when the store opens)
    _trigram: bool  # and its trigram tokenizer

    def _reading(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # SessionStore's read connection, under its lock

    def get_session(self, session_id: int) -> SessionRecord | None:
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return None if row is None else session_from_row(row)

    def find_session(self, ref: str) -> int | None:
        """The id of the session whose short ID (any case) or uid is ``ref``."""
        with self._reading() as conn:
            row = conn.execute("SELECT id FROM sessions WHERE short_id = ? OR uid = ?",
                               (ref.strip().lower(), ref.strip())).fetchone()
        return None if row is None else int(row[0])

    def find_by_folder(self, folder: Path) -> int | None:
        """The newest session kept in ``folder``."""
        with self._reading() as conn:
            row = conn.execute("SELECT id FROM sessions WHERE folder = ? ORDER BY started_at DESC LIMIT 1",
                               (str(folder),)).fetchone()
        return None if row is None else int(row[0])

    def list_sessions(self, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """Newest first."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY started_at DESC, id DESC"
                " LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [session_from_row(row) for row in rows]

    def overview(self, limit: int = 50, offset: int = 0) -> list[SessionOverview]:
        """The history list, newest first: each session with its turn and gap counts, first words
        and translation sets. Index lookups only, so a page costs the same in a large archive."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {SESSION_COLUMNS},"
                " (SELECT COUNT(*) FROM turns WHERE session_id = s.id),"
                " (SELECT COUNT(*) FROM gaps WHERE session_id = s.id),"
                " (SELECT text FROM turns WHERE session_id = s.id ORDER BY idx LIMIT 1)"
                " FROM sessions s ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?", (limit, offset)).fetchall()
            by_session = sets.sets_of(conn, [row[0] for row in rows])
        n = len(SESSION_COLUMNS.split(","))
        return [SessionOverview(session_from_row(row[:n]), row[n], row[n + 1], row[n + 2] or "",
                                tuple(by_session[row[0]])) for row in rows]

    def count_sessions(self) -> int:
        with self._reading() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def known_folders(self) -> set[str]:
        with self._reading() as conn:
            return {row[0] for row in conn.execute("SELECT folder FROM sessions")}

    def fact(self, key: str) -> str | None:
        with self._reading() as conn:
            row = conn.execute("SELECT value FROM archive_facts WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def load_transcript(self, session_id: int) -> Transcript:
        """Rebuild the session's Transcript (turns, words, the session's own translations, gaps);
        KeyError if unknown. Sets made later come from ``load_translation_sets``."""
        with self._reading() as conn:  # one read transaction: a consistent snapshot
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise KeyError(f"no session {session_id}")
            turn_rows = conn.execute(
                "SELECT id, idx, segment, turn_order, text, start_ms, end_ms, finalized_at,"
                " formatted, language_code, speaker, words, side FROM turns WHERE session_id = ?"
                " ORDER BY idx",
                (session_id,),
            ).fetchall()
            translation_rows = conn.execute(
                "SELECT tr.turn_id, tr.language, tr.text, tr.status, tr.model, tr.latency_ms,"
                " tr.error, tr.attempts FROM translations tr JOIN turns t ON t.id = tr.turn_id"
                " JOIN translation_sets s ON s.id = tr.set_id WHERE t.session_id = ? AND s.ordinal = 1"
                " ORDER BY tr.id",
                (session_id,),
            ).fetchall()
            gap_rows = conn.execute(
                "SELECT start_ms, end_ms, reason FROM gaps WHERE session_id = ? ORDER BY start_ms, id",
                (session_id,),
            ).fetchall()
        return transcript_from_rows(turn_rows, translation_rows, gap_rows)

    def translation_sets(self, session_id: int) -> list[TranslationSet]:
        """Every set of the session: its own (by language), then those made later, oldest first."""
        with self._reading() as conn:
            return sets.sets_of(conn, [session_id])[session_id]

    def load_translation_sets(self, session_id: int) -> list[tuple[TranslationSet, dict[int, Translation]]]:
        """The sets made after the session's own (ordinal 2 and up, or a language added later),
        with their cells by turn index."""
        with self._reading() as conn:
            found = sets.sets_of(conn, [session_id])[session_id]
            return [(s, sets.cells_of_set(conn, s.id)) for s in found
                    if s.id is not None and not s.own]

    def search(
        self, text: str, limit: int = 50, *, mark: tuple[str, str] = ("[", "]")
    ) -> list[SearchHit]:
        """Turns whose original or translated text (every translation set) contains every word of
        ``text``, newest first.

        Words match as prefixes, ignoring case and accents ("manana" finds "Mañana"). Words in
        scripts written without spaces (Chinese, Japanese, Thai...) match anywhere in the text
        (the trigram index; a substring test for words under three characters).
        """
        terms = search_terms(text)
        if not terms or limit <= 0:
            return []
        with self._reading() as conn:
            return find_hits(conn, terms, limit, mark, fts=self._fts, trigram=self._trigram)
