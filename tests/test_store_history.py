"""The archive's history model (schema 3) on real SQLite files: the upgrade from schema 2, short IDs,
translation sets, sides, the trigram search of Chinese and Japanese, newest-first hits, a file held
locked by another process, the history list, and the bulk path."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from app.core.errors import ArchiveBusyError
from app.core.kept import SetState, short_id
from app.core.transcript import SYSTEM_AUDIO, Gap, Translation, TranslationStatus, Turn
from app.store import migrations
from app.store.db import REBUILD_FACT, BulkSession, NewSession, SessionStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sessions.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SessionStore]:
    with SessionStore(db_path) as opened:
        yield opened


def turn(index: int, text: str, **translations: str) -> Turn:
    t = Turn(index=index, segment=0, turn_order=index, text=text, start_ms=index * 3000, end_ms=index * 3000 + 2000,
             finalized_at=1_765_000_000.0 + index)
    for code, translated in translations.items():
        t.translations[code] = Translation(code, translated, TranslationStatus.DONE, model="gemini-2.5-flash-lite")
    return t


def session(store: SessionStore, uid: str | None = None, started_at: float | None = None) -> int:
    record = store.create_session(folder="/s/a", audio_path="/s/a/audio.wav", source_language="en",
                                  speech_model="universal-streaming-english", target_languages=["es"],
                                  llm_model="gemini-2.5-flash-lite", uid=uid, started_at=started_at)
    return record.id


def test_a_schema_2_archive_is_upgraded_without_losing_a_cell_and_stays_searchable(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        assert migrations.migrate(conn, migrations.MIGRATIONS[:2]) == 2
        conn.execute("INSERT INTO sessions (uid, started_at, folder, audio_path, llm_model) VALUES"
                     " ('uid-one', 1.0, '/f', '/f/audio.wav', 'gpt-4.1')")
        for idx, text in enumerate(["Good morning", "会議を始めましょう"]):
            conn.execute("INSERT INTO turns (session_id, idx, segment, turn_order, text, start_ms, end_ms,"
                         " finalized_at) VALUES (1, ?, 0, ?, ?, 0, 900, 2.0)", (idx, idx, text))
        conn.execute("INSERT INTO translations (turn_id, language, text, status, model, updated_at) VALUES"
                     " (1, 'es', 'Buenos días', 'done', 'gpt-4.1', 3.0), (1, 'de', 'Guten Morgen', 'failed', '', 3.0),"
                     " (2, 'es', 'Empecemos la reunión', 'done', 'gpt-4.1', 3.0)")
    with SessionStore(db_path) as store:
        record = store.get_session(1)
        assert record is not None and record.short_id == short_id("uid-one") and record.user_note == ""
        loaded = store.load_transcript(1)
        assert [t.side for t in loaded.turns()] == ["microphone", "microphone"]
        assert loaded.turn(0).translations["es"].text == "Buenos días"
        assert loaded.turn(0).translations["de"].status is TranslationStatus.FAILED
        sets = store.translation_sets(1)
        assert sorted((s.label, s.model, s.state) for s in sets) == [("de", "", SetState.DONE),
                                                                   ("es", "gpt-4.1", SetState.DONE)]
        assert [h.turn_index for h in store.search("buenos")] == [0]
        assert [h.turn_index for h in store.search("会議")] == [1]  # the old text is in the trigram index
        store.set_translation(1, 1, Translation("de", "Fangen wir an", TranslationStatus.DONE))
        assert [(h.turn_index, h.language) for h in store.search("fangen")] == [(1, "de")]  # triggers work again


def test_short_ids_come_from_the_uid_so_another_archive_gives_the_same_one(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "a" / "sessions.db") as first, SessionStore(tmp_path / "b" / "sessions.db") as second:
        a = first.get_session(session(first, uid="the-same-uid"))
        b = second.get_session(session(second, uid="the-same-uid"))
        assert a is not None and b is not None and a.short_id == b.short_id == short_id("the-same-uid")
        assert len(a.short_id) == 7 and a.short_id.isalnum() and a.short_id == a.short_id.lower()
        assert first.find_session(a.short_id.upper()) == a.id and first.find_session("the-same-uid") == a.id
        assert first.find_session("zzzzzzz") is None


def test_two_uids_with_the_same_short_id_get_different_ones(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.store import whole

    monkeypatch.setattr(whole, "short_id", lambda uid, length=7: "abcdefghjkmnp"[:length])
    monkeypatch.setattr(migrations, "short_id", lambda uid, length=7: "abcdefghjkmnp"[:length])
    one, two = session(store, uid="u1"), session(store, uid="u2")
    ids = [store.get_session(i).short_id for i in (one, two)]  # type: ignore[union-attr]
    assert ids == ["abcdefg", "abcdefgh"]


def test_a_translation_set_made_later_keeps_the_sessions_own_and_is_searchable_as_its_column(
        store: SessionStore) -> None:
    sid = session(store)
    store.add_turn(sid, turn(0, "Let us begin with the budget.", es="Empecemos con el presupuesto."))
    store.add_turn(sid, turn(1, "Questions?", es="¿Preguntas?"))
    made = store.new_translation_set(sid, "es", model="gpt-4.1", instructions="Use a formal register.")
    assert (made.label, made.state, made.model) == ("es.2", SetState.RUNNING, "gpt-4.1")
    store.set_translation(sid, 0, Translation("es", "Comencemos por el presupuesto.", TranslationStatus.DONE,
                                              model="gpt-4.1"), set_id=made.id)
    store.finish_translation_set(made.id, SetState.DONE)  # type: ignore[arg-type]
    french = store.new_translation_set(sid, "fr", model="gpt-4.1")
    assert french.label == "fr"  # the first set of a language the session had not been translated into
    assert store.load_transcript(sid).turn(0).translations["es"].text == "Empecemos con el presupuesto."
    [(es2, cells)] = store.load_translation_sets(sid)  # the later sets; a language's first is the turns' own
    assert es2.label == "es.2" and es2.state is SetState.DONE and es2.instructions == "Use a formal register."
    assert cells[0].text == "Comencemos por el presupuesto." and 1 not in cells
    assert [s.label for s in store.translation_sets(sid)] == ["es", "fr", "es.2"]
    hits = store.search("presupuesto")
    assert [(h.turn_index, h.column) for h in hits] == [(0, "es"), (0, "es.2")]
    assert store.delete_session(sid) and store.search("presupuesto") == []


def test_a_turns_side_speaker_and_language_and_a_sessions_meta_are_kept(store: SessionStore) -> None:
    sid = session(store)
    them = turn(0, "Hola, ¿me oyes?")
    them.side, them.speaker, them.language_code = SYSTEM_AUDIO, "B", "es"
    store.add_turn(sid, them)
    loaded = store.load_transcript(sid).turn(0)
    assert (loaded.side, loaded.speaker, loaded.language_code) == ("system", "B", "es")
    store.set_meta(sid, system_audio="/s/a/system.wav", devices=["Mic", "Speakers"])
    store.set_meta(sid, devices=None)
    assert store.get_session(sid).meta == {"system_audio": "/s/a/system.wav"}  # type: ignore[union-attr]


def test_chinese_and_japanese_are_found_by_two_character_words_three_and_more_and_mixed_with_latin(
        store: SessionStore) -> None:
    sid = session(store)
    store.add_turn(sid, turn(0, "明日の会議は東京で行います", en="Tomorrow's meeting is in Tokyo"))
    store.add_turn(sid, turn(1, "预算会议在北京举行", en="The budget meeting is in Beijing"))
    store.add_turn(sid, turn(2, "AI会議の資料", en="Materials for the AI meeting"))
    assert [h.turn_index for h in store.search("会議")] == [2, 0]  # two characters: newest first
    assert store.search("東京で行") [0].snippet == "明日の会議は[東京で行]います"
    assert [h.turn_index for h in store.search("北京")] == [1]
    assert [h.turn_index for h in store.search("ai 会議")] == [2]  # a Latin word with a Japanese one
    assert store.search("会議 北京") == []
    store.set_translation(sid, 1, Translation("ja", "予算会議は北京で", TranslationStatus.DONE))
    assert [(h.turn_index, h.language) for h in store.search("北京")] == [(1, None), (1, "ja")]
    assert store.delete_session(sid) and store.search("会議") == []


def test_search_syntax_is_searched_for_literally_never_an_error(store: SessionStore) -> None:
    sid = session(store)
    store.add_turn(sid, turn(0, 'She said "NEAR(the door)" AND left: col:x'))
    store.add_turn(sid, turn(1, "Nothing special here"))
    for query in ['"NEAR(', "AND", 'col:x', '"', "*", "^", "NEAR(the", 'left:', "OR NOT"]:
        hits = store.search(query)  # never sqlite3.OperationalError: fts5: syntax error
        assert all(h.turn_index == 0 for h in hits), query
    assert [h.turn_index for h in store.search('"NEAR(the')] == [0]
    assert [h.turn_index for h in store.search("AND left")] == [0]


def test_hits_come_newest_first_and_the_limit_takes_the_newest(store: SessionStore) -> None:
    older, newer = session(store, started_at=1.0), session(store, started_at=2.0)
    for sid in (older, newer):
        for i in range(3):
            store.add_turn(sid, turn(i, f"budget line {i}", es=f"presupuesto línea {i}"))
    hits = store.search("budget", limit=4)
    assert [(h.session_id, h.turn_index) for h in hits] == [(newer, 2), (newer, 1), (newer, 0), (older, 2)]
    assert hits[0].start_ms == 6000


def test_the_history_list_shows_counts_first_words_and_sets(store: SessionStore) -> None:
    sid = session(store)
    store.add_turn(sid, turn(1, "And then the second."))
    store.add_turn(sid, turn(0, "First words first.", es="Primeras palabras."))
    store.add_gap(sid, Gap(100, 2000, "connection lost"))
    store.new_translation_set(sid, "es", model="gpt-4.1")
    empty = session(store, started_at=0.5)
    [row, nothing] = store.overview()
    assert row.record.id == sid and (row.turns, row.gaps, row.first_words) == (2, 1, "First words first.")
    assert [s.label for s in row.sets] == ["es", "es.2"]
    assert nothing.record.id == empty and (nothing.turns, nothing.first_words, nothing.sets) == (0, "", ())
    assert store.count_sessions() == 2


def test_a_write_waits_a_few_seconds_for_another_program_then_names_it(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        sid = session(store)
        with subprocess.Popen(
                [sys.executable, "-c", ("import sqlite3, sys\n"
                                        f"c = sqlite3.connect({str(db_path)!r}, isolation_level=None)\n"
                                        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); "
                                        "sys.stdin.read()")],  # held until the test lets go
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
            try:
                assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
                started = time.monotonic()
                with pytest.raises(ArchiveBusyError) as caught:
                    store.set_title(sid, "Renamed")
                waited = time.monotonic() - started
                assert store.get_session(sid).title == ""  # type: ignore[union-attr]  # reads still work (WAL)
            finally:
                holder.kill()
    assert waited >= 2.5, "a write waits for the other program a few seconds before it gives up"
    message = caught.value.message
    assert f"(process {holder.pid})" in message and "python" in message and "stayed locked for 3 s" in message
    assert caught.value.exit_code == 11


def test_a_damaged_archive_set_aside_leaves_a_note_to_rebuild_the_history(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not a database" * 100)
    with SessionStore(db_path) as store:
        assert store.moved_aside is not None and store.fact(REBUILD_FACT) == str(store.moved_aside)
        store.set_fact(REBUILD_FACT, None)
        assert store.fact(REBUILD_FACT) is None


def test_the_bulk_path_writes_sessions_turns_sets_and_the_search_index(store: SessionStore) -> None:
    items = [BulkSession(NewSession(uid=f"bulk-{n}", folder=Path(f"/b/{n}"), audio_path=Path(f"/b/{n}/audio.wav"),
                                    source_language="en", speech_model="m", target_languages=("es",), llm_model="l",
                                    started_at=float(n)),
                         [turn(i, f"turn {i} of session s{n}x", es=f"turno {i}") for i in range(5)],
                         [Gap(0, 10, "x")]) for n in range(7)]
    ids = store.bulk_add(items, per_transaction=3)
    assert len(ids) == 7 and store.count_sessions() == 7
    assert len(store.load_transcript(ids[3]).turns()) == 5 and store.translation_sets(ids[3])[0].label == "es"
    assert {h.session_id for h in store.search("s4x")} == {ids[4]}
    assert store.get_session(ids[6]).short_id == short_id("bulk-6")  # type: ignore[union-attr]
    assert store.overview(limit=1)[0].record.id == ids[6]
