"""Full-text search over the session archive: the query building, the trigram and substring paths,
the hits.

Three ways to find turns whose original or translated text contains every word of a query:
  * FTS5 with the unicode61 tokenizer (``turns_fts``/``translations_fts``, kept by ``migrations``),
    each word a quoted prefix term, for scripts written with spaces between words;
  * FTS5 with the trigram tokenizer (``turns_tri``/``translations_tri``, since schema 3) for a
    query with a word in a script written without spaces (Chinese, Japanese, Thai...), which
    unicode61 treats as one long word: words of three characters or more are trigram matches,
    shorter ones (most Chinese and Japanese words have two characters) a substring test over the
    same, smaller, table (the rows that hold such characters);
  * a substring scan through ``lt_fold`` (a casefold registered on the read connection by
    ``register_functions``), when SQLite was built without FTS5 (or its trigram tokenizer).
Every word is quoted, so FTS5's syntax in the search box (``AND``, ``NEAR(``, ``"``, ``*``,
``col:``) is searched for literally, never a syntax error. Hits come newest first: each index is
read backwards in rowid order and stops at the limit, so the first page of a search for a word in
every other turn costs no more than one for a rare word.

Threads: the GUI (or CLI main) thread, through ``SessionStore.search``, which holds the store's
read lock and passes in its read connection. Stdlib only; nothing here writes or keeps state.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.kept import set_label

_SNIPPET_TOKENS = 16  # FTS5 snippet length in words
_SNIPPET_CHARS = 40  # substring snippet: characters kept each side of the hit
TRIGRAM_MIN = 3  # the trigram tokenizer matches substrings of at least three characters

# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, CJK ideographs.
NO_SPACE_RANGES = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF),
)
# The same as a GLOB that holds for a text with at least one such character (the trigram triggers).
NO_SPACE_GLOB = "*[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in NO_SPACE_RANGES) + "]*"


@dataclass(frozen=True)
class SearchHit:
    session_id: int
    turn_index: int
    language: str | None  # None: the original text; else the translation's language
    snippet: str  # the matching text around the hit, matches wrapped in the ``mark`` strings
    ordinal: int = 1  # which translation set of ``language`` (1: the session's own, app.core.kept)
    start_ms: int = field(default=0, compare=False)  # where the turn starts in the session's recording

    @property
    def column(self) -> str | None:
        """The translation set's label (``es``, ``es.2``); None for the original."""
        return None if self.language is None else set_label(self.language, self.ordinal)


def register_functions(conn: sqlite3.Connection) -> None:
    """Give ``conn`` the SQL functions the substring scan calls (``lt_fold``)."""
    conn.create_function("lt_fold", 1, _fold, deterministic=True)


def search_terms(text: str) -> list[str]:
    """The words of a query worth searching for: punctuation-only words are dropped."""
    return [term for term in text.split() if any(ch.isalnum() for ch in term)]


def find_hits(
    conn: sqlite3.Connection, terms: list[str], limit: int, mark: tuple[str, str], *, fts: bool, trigram: bool
) -> list[SearchHit]:
    """The newest ``limit`` hits: unicode61 FTS for spaced scripts, trigrams for unspaced ones."""
    if not any(_written_without_spaces(term) for term in terms):
        hits = _fts_search(conn, terms, limit, mark) if fts else _substring_search(conn, terms, limit, mark)
    elif fts and trigram:
        hits = _trigram_search(conn, terms, limit, mark)
    else:
        hits = _substring_search(conn, terms, limit, mark)
    return hits


def _written_without_spaces(term: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in term for lo, hi in NO_SPACE_RANGES)


def _fold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def _quoted(terms: Sequence[str], prefix: bool) -> str:
    return " ".join('"' + term.replace('"', '""') + '"' + ("*" if prefix else "") for term in terms)


# The two halves of every search, one per text table: (turn id, session, index, start, language,
# ordinal, text or snippet), newest first. CROSS JOIN keeps the index outermost, read backwards.
_TURN_COLUMNS = "t.id, t.session_id, t.idx, t.start_ms, NULL, 1"
_TRANSLATION_COLUMNS = "t.id, t.session_id, t.idx, t.start_ms, tr.language, s.ordinal"
_TRANSLATION_JOIN = (" CROSS JOIN translations tr ON tr.id = {alias}.rowid CROSS JOIN turns t ON t.id = tr.turn_id"
                     " CROSS JOIN translation_sets s ON s.id = tr.set_id")


def _fts_search(conn: sqlite3.Connection, terms: list[str], limit: int, mark: tuple[str, str]) -> list[SearchHit]:
    # Each user word becomes a quoted prefix term, so FTS5 operators and stray quotes in the
    # search box are taken literally instead of raising a syntax error.
    query = _quoted(terms, prefix=True)
    turns = conn.execute(
        f"SELECT {_TURN_COLUMNS}, snippet(turns_fts, 0, ?, ?, '…', {_SNIPPET_TOKENS})"
        " FROM turns_fts CROSS JOIN turns t ON t.id = turns_fts.rowid WHERE turns_fts MATCH ?"
        " ORDER BY turns_fts.rowid DESC LIMIT ?", (*mark, query, limit)).fetchall()
    translations = conn.execute(
        f"SELECT {_TRANSLATION_COLUMNS}, snippet(translations_fts, 0, ?, ?, '…', {_SNIPPET_TOKENS})"
        f" FROM translations_fts{_TRANSLATION_JOIN.format(alias='translations_fts')}"
        " WHERE translations_fts MATCH ? ORDER BY translations_fts.rowid DESC LIMIT ?",
        (*mark, query, limit)).fetchall()
    return _merged([*turns, *translations], limit)


def _trigram_search(conn: sqlite3.Connection, terms: list[str], limit: int, mark: tuple[str, str]
                    ) -> list[SearchHit]:
    long = [term for term in terms if len(term) >= TRIGRAM_MIN]
    short = [term for term in terms if len(term) < TRIGRAM_MIN]
    rows: list[Any] = []
    for table, columns, join in (("turns", _TURN_COLUMNS, " CROSS JOIN turns t ON t.id = x.rowid"),
                                 ("translations", _TRANSLATION_COLUMNS, _TRANSLATION_JOIN.format(alias="x"))):
        where, params = _trigram_where(f"{table}_tri", long, short)
        rows += conn.execute(
            f"SELECT {columns}, x.text FROM (SELECT rowid, text FROM {table}_tri WHERE {where}"
            f" ORDER BY rowid DESC LIMIT ?) x{join}", (*params, limit)).fetchall()
    needles = [term.casefold() for term in terms]
    return _merged([(*row[:-1], _excerpt(row[-1], needles, mark)) for row in rows], limit)


def _trigram_where(table: str, long: list[str], short: list[str]) -> tuple[str, list[str]]:
    where: list[str] = []
    params: list[str] = []
    if long:
        where.append(f"{table} MATCH ?")
        params.append(_quoted(long, prefix=False))
    for term in short:
        # Chinese and Japanese have no case: a plain instr() in C; a short Latin word is folded.
        where.append("instr(text, ?) > 0" if term.casefold() == term.upper() == term else "instr(lt_fold(text), ?) > 0")
        params.append(term.casefold())
    return " AND ".join(where), params


def _substring_search(conn: sqlite3.Connection, terms: list[str], limit: int, mark: tuple[str, str]
                      ) -> list[SearchHit]:
    # A full scan with a Python casefold per row: the fallback when FTS5 is missing.
    needles = [term.casefold() for term in terms]
    where = " AND ".join(["instr(lt_fold({col}), ?) > 0"] * len(needles))
    turns = conn.execute(
        f"SELECT {_TURN_COLUMNS}, t.text FROM turns t WHERE {where.format(col='t.text')} ORDER BY t.id DESC LIMIT ?",
        (*needles, limit)).fetchall()
    translations = conn.execute(
        f"SELECT {_TRANSLATION_COLUMNS}, tr.text FROM translations tr JOIN turns t ON t.id = tr.turn_id"
        f" JOIN translation_sets s ON s.id = tr.set_id WHERE {where.format(col='tr.text')}"
        " ORDER BY tr.id DESC LIMIT ?", (*needles, limit)).fetchall()
    return _merged([(*row[:-1], _excerpt(row[-1], needles, mark)) for row in [*turns, *translations]], limit)


def _merged(rows: list[Any], limit: int) -> list[SearchHit]:
    """Newest turn first; in a turn the original, then its translations by language and set."""
    rows.sort(key=lambda r: (-r[0], r[4] is not None, r[4] or "", r[5]))
    return [SearchHit(r[1], r[2], r[4], r[6], r[5], r[3]) for r in rows[:limit]]


def _excerpt(text: str, needles: list[str], mark: tuple[str, str]) -> str:
    """The text around the first hit, every word of the query marked in it."""
    folded = text.casefold()
    if len(folded) != len(text):  # casefold changed lengths (ß -> ss): no offsets to mark by
        return text[: 2 * _SNIPPET_CHARS] + ("…" if len(text) > 2 * _SNIPPET_CHARS else "")
    first = min((i for i in (folded.find(n) for n in needles) if i >= 0), default=-1)
    if first < 0:
        return text[: 2 * _SNIPPET_CHARS] + ("…" if len(text) > 2 * _SNIPPET_CHARS else "")
    left = max(0, first - _SNIPPET_CHARS)
    right = min(len(text), first + max(len(n) for n in needles) + _SNIPPET_CHARS)
    spans: list[tuple[int, int]] = []
    for needle in needles:
        start = folded.find(needle, left)
        while start >= 0 and start + len(needle) <= right:
            spans.append((start, start + len(needle)))
            start = folded.find(needle, start + len(needle))
    out, at = [], left
    for start, end in sorted(spans):
        if start < at:
            continue  # overlaps a word already marked
        out += [text[at:start], mark[0], text[start:end], mark[1]]
        at = end
    out.append(text[at:right])
    return ("…" if left > 0 else "") + "".join(out) + ("…" if right < len(text) else "")
