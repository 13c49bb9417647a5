"""Full-text search over the session archive: the query building, the substring fallback, the hits.

Two ways to find turns whose original or translated text contains every word of a query:
  * FTS5 (the ``turns_fts``/``translations_fts`` tables kept by ``migrations``), each word a
    quoted prefix term, ranked by bm25 with FTS5's own snippets;
  * a substring scan through ``lt_fold`` (a casefold registered on the read connection by
    ``register_functions``), used for scripts written without spaces between words (Chinese,
    Japanese, Thai...), which the FTS tokenizer treats as one long word, and when SQLite was
    built without FTS5.

Threads: the GUI (or CLI main) thread, through ``SessionStore.search``, which holds the store's
read lock and passes in its read connection. Stdlib only; nothing here writes or keeps state.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

_SNIPPET_TOKENS = 16  # FTS5 snippet length in words
_SNIPPET_CHARS = 40  # substring snippet: characters kept each side of the hit

# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, CJK ideographs.
_NO_SPACE_RANGES = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF),
)


@dataclass(frozen=True)
class SearchHit:
    session_id: int
    turn_index: int
    language: str | None  # None: the original text; else the translation's language
    snippet: str  # the matching text around the hit, matches wrapped in the ``mark`` strings


def register_functions(conn: sqlite3.Connection) -> None:
    """Give ``conn`` the SQL functions the substring scan calls (``lt_fold``)."""
    conn.create_function("lt_fold", 1, _fold, deterministic=True)


def search_terms(text: str) -> list[str]:
    """The words of a query worth searching for: punctuation-only words are dropped."""
    return [term for term in text.split() if any(ch.isalnum() for ch in term)]


def find_hits(
    conn: sqlite3.Connection, terms: list[str], limit: int, mark: tuple[str, str], *, fts: bool
) -> list[SearchHit]:
    """Search with FTS5 when ``fts`` is true and every term is in a spaced script; else scan."""
    if fts and not any(_written_without_spaces(term) for term in terms):
        return _fts_search(conn, terms, limit, mark)
    return _substring_search(conn, terms, limit, mark)


def _written_without_spaces(term: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in term for lo, hi in _NO_SPACE_RANGES)


def _fold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def _fts_search(
    conn: sqlite3.Connection, terms: list[str], limit: int, mark: tuple[str, str]
) -> list[SearchHit]:
    # Each user word becomes a quoted prefix term, so FTS5 operators and stray quotes in the
    # search box are taken literally instead of raising a syntax error.
    query = " ".join('"' + term.replace('"', '""') + '"*' for term in terms)
    # bm25 scores of two FTS tables are not strictly comparable; close enough to rank hits.
    rows = conn.execute(
        "SELECT t.session_id AS session_id, t.idx AS turn_index, NULL AS language,"
        f" snippet(turns_fts, 0, ?, ?, '…', {_SNIPPET_TOKENS}), bm25(turns_fts) AS rank"
        " FROM turns_fts JOIN turns t ON t.id = turns_fts.rowid WHERE turns_fts MATCH ?"
        " UNION ALL"
        " SELECT t.session_id, t.idx, tr.language,"
        f" snippet(translations_fts, 0, ?, ?, '…', {_SNIPPET_TOKENS}), bm25(translations_fts)"
        " FROM translations_fts JOIN translations tr ON tr.id = translations_fts.rowid"
        " JOIN turns t ON t.id = tr.turn_id WHERE translations_fts MATCH ?"
        " ORDER BY rank, session_id DESC, turn_index, language LIMIT ?",
        (*mark, query, *mark, query, limit),
    ).fetchall()
    return [SearchHit(row[0], row[1], row[2], row[3]) for row in rows]


def _substring_search(
    conn: sqlite3.Connection, terms: list[str], limit: int, mark: tuple[str, str]
) -> list[SearchHit]:
    # A full scan with a Python casefold per row: fine for a personal archive, and the only
    # option for unspaced scripts or when FTS5 is missing.
    needles = [term.casefold() for term in terms]
    where = " AND ".join(["instr(lt_fold({col}), ?) > 0"] * len(needles))
    rows = conn.execute(
        "SELECT t.session_id AS session_id, t.idx AS turn_index, NULL AS language, t.text"
        f" FROM turns t WHERE {where.format(col='t.text')}"
        " UNION ALL"
        " SELECT t.session_id, t.idx, tr.language, tr.text FROM translations tr"
        f" JOIN turns t ON t.id = tr.turn_id WHERE {where.format(col='tr.text')}"
        " ORDER BY session_id DESC, turn_index, language LIMIT ?",
        (*needles, *needles, limit),
    ).fetchall()
    return [SearchHit(row[0], row[1], row[2], _excerpt(row[3], needles[0], mark)) for row in rows]


def _excerpt(text: str, needle: str, mark: tuple[str, str]) -> str:
    folded = text.casefold()
    start = folded.find(needle)
    if start < 0 or len(folded) != len(text):  # casefold changed lengths (ß -> ss): no offsets
        return text[: 2 * _SNIPPET_CHARS] + ("…" if len(text) > 2 * _SNIPPET_CHARS else "")
    end = start + len(needle)
    left, right = max(0, start - _SNIPPET_CHARS), min(len(text), end + _SNIPPET_CHARS)
    return (
        ("…" if left > 0 else "") + text[left:start] + mark[0] + text[start:end] + mark[1]
        + text[end:right] + ("…" if right < len(text) else "")
    )
