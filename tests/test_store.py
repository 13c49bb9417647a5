"""Tests for app.store: migrations, the crash journal, concurrency, search, and open errors."""
from __future__ import annotations

import json
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path

import pytest

from app.core.errors import OutputError
from app.core.transcript import Gap, Translation, TranslationStatus, Turn, Word
from app.store import migrations
from app.store.db import SessionStatus, SessionStore
from app.store.search import SearchHit

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection for inspecting or tampering with the file; always closed."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "archive" / "sessions.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SessionStore]:
    with SessionStore(db_path) as opened:
        yield opened


def new_session(store: SessionStore, started_at: float | None = None, title: str = "") -> int:
    return store.create_session(
        folder="/sessions/2026-05-09", audio_path="/sessions/2026-05-09/audio.wav",
        source_language="es", speech_model="universal-streaming-multilingual",
        target_languages=["de", "ja"], llm_model="gpt-4.1-mini", started_at=started_at, title=title,
    ).id


def make_turn(index: int, text: str, **changes: object) -> Turn:
    turn = Turn(
        index=index, segment=index // 3, turn_order=index % 3, text=text,
        start_ms=index * 2000, end_ms=index * 2000 + 1500, finalized_at=1_746_780_000.123456 + index,
        formatted=index % 2 == 0, language_code="es" if index % 2 else None,
        speaker="A" if index % 2 else None,
        words=[Word(w, index * 2000 + i * 100, index * 2000 + i * 100 + 90, 0.912345678 - i / 1000,
                    is_final=i % 2 == 0)
               for i, w in enumerate(text.split())],
    )
    for name, value in changes.items():
        setattr(turn, name, value)
    return turn


# -- schema and migrations -----------------------------------------------------------------------

def test_a_new_archive_is_created_with_every_migration_applied(db_path: Path) -> None:
    SessionStore(db_path).close()
    with raw(db_path) as conn:
        assert migrations.schema_version(conn) == migrations.SCHEMA_VERSION == 3
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"sessions", "turns", "translations", "gaps", "turns_fts", "translations_fts", "translation_sets",
                "archive_facts", "turns_tri", "translations_tri"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert migrations.search_index_present(conn)


def test_reopening_keeps_the_data_and_applies_nothing_twice(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        session_id = new_session(store, title="first")
        store.add_turn(session_id, make_turn(0, "hola"))
    with SessionStore(db_path) as store, SessionStore(db_path) as second:
        assert store.get_session(session_id) == second.get_session(session_id)
        assert [t.text for t in store.load_transcript(session_id).turns()] == ["hola"]
    with raw(db_path) as conn:
        assert migrations.migrate(conn) == migrations.SCHEMA_VERSION


def test_a_version_1_archive_is_upgraded_and_its_existing_text_becomes_searchable(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with raw(db_path) as conn:
        assert migrations.migrate(conn, migrations.MIGRATIONS[:1]) == 1
        conn.execute(
            "INSERT INTO sessions (uid, started_at, folder, audio_path) VALUES ('u1', 1.0, '/f', '/f/a.wav')"
        )
        conn.execute(
            "INSERT INTO turns (session_id, idx, segment, turn_order, text, start_ms, end_ms,"
            " finalized_at) VALUES (1, 0, 0, 0, 'Nos vemos mañana', 0, 900, 2.0)"
        )
        conn.execute(
            "INSERT INTO translations (turn_id, language, text, status, updated_at)"
            " VALUES (1, 'de', 'Bis morgen', 'done', 3.0)"
        )
    with SessionStore(db_path) as store:
        assert store.search("manana") == [SearchHit(1, 0, None, "Nos vemos [mañana]")]
        assert store.search("morgen") == [SearchHit(1, 0, "de", "Bis [morgen]")]
        assert store.load_transcript(1).turn(0).translations["de"].status is TranslationStatus.DONE
    with raw(db_path) as conn:
        assert migrations.schema_version(conn) == 3


def test_a_failing_migration_rolls_back_to_the_previous_version(db_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    db_path.parent.mkdir(parents=True)
    with raw(db_path) as conn:
        with pytest.raises(RuntimeError):
            migrations.migrate(conn, [*migrations.MIGRATIONS[:1], broken])
        assert migrations.schema_version(conn) == 1
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
        assert not conn.in_transaction


def test_an_archive_from_a_newer_app_is_refused_and_left_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with raw(db_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(OutputError) as caught:
        SessionStore(db_path)
    assert str(caught.value) == (
        "This archive was written by a newer Live Translate (schema 99); update the app. The archive is left as it is."
    )
    assert caught.value.exit_code == 12
    assert sorted(p.name for p in db_path.parent.iterdir() if "corrupt" in p.name) == []
    with raw(db_path) as conn:
        assert migrations.schema_version(conn) == 99


def test_a_folder_that_cannot_be_created_raises_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the sessions folder should be")
    with pytest.raises(OutputError, match="cannot be created"):
        SessionStore(blocker / "sessions" / "sessions.db")


def test_a_path_that_cannot_be_opened_as_a_file_raises_output_error(tmp_path: Path) -> None:
    (tmp_path / "sessions.db").mkdir()
    with pytest.raises(OutputError, match="cannot be opened"):
        SessionStore(tmp_path / "sessions.db")


@pytest.mark.parametrize("damage", ["garbage file", "malformed schema page"])
def test_a_corrupt_archive_is_moved_aside_and_a_new_one_started(db_path: Path, damage: str) -> None:
    if damage == "garbage file":
        db_path.parent.mkdir(parents=True)
        db_path.write_bytes(b"this is not an SQLite database, just bytes" * 100)
    else:
        with SessionStore(db_path) as store:
            new_session(store)
        data = bytearray(db_path.read_bytes())
        data[100:4096] = b"\xff" * (4096 - 100)  # page 1 after the header: the schema b-tree
        db_path.write_bytes(bytes(data))
    damaged = db_path.read_bytes()

    with SessionStore(db_path) as store:
        assert store.moved_aside is not None
        assert store.moved_aside.read_bytes() == damaged
        assert store.moved_aside.name.startswith("sessions.db.corrupt-")
        assert store.moved_aside.name in store.notice
        assert store.list_sessions() == []
        session_id = new_session(store)
        store.add_turn(session_id, make_turn(0, "fresh start"))
    with SessionStore(db_path) as reopened:
        assert reopened.moved_aside is None and reopened.notice == ""
        assert len(reopened.load_transcript(session_id)) == 1


def test_the_store_imports_without_qt() -> None:
    code = "import sys; sys.modules['PySide6'] = None; import app.store, app.store.db, app.store.migrations"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- sessions, turns, translations, gaps ---------------------------------------------------------

def test_turns_translations_and_gaps_round_trip_exactly(store: SessionStore) -> None:
    session_id = new_session(store)
    turns = [make_turn(i, text) for i, text in enumerate(
        ["Buenos días a todos", "Nos vemos mañana", "¿Hablas 日本語?", "Fin"])]
    turns[0].translations["de"] = Translation("de", "Guten Morgen allerseits", TranslationStatus.DONE,
                                              "gpt-4.1-mini", latency_ms=812, attempts=1)
    for turn in turns:
        store.add_turn(session_id, turn)
    for language, translation in {
        "de": Translation("de", "Bis morgen", TranslationStatus.DONE, "gpt-4.1-mini", 640, "", 2),
        "ja": Translation("ja", "", TranslationStatus.FAILED, "gpt-4.1-mini", None, "HTTP 503", 3),
    }.items():
        store.set_translation(session_id, 1, translation)
        turns[1].translations[language] = translation
    turns[2].translations["ja"] = Translation("ja", model="gpt-4.1-mini")
    store.set_translation(session_id, 2, turns[2].translations["ja"])
    gaps = [Gap(9000, 12000, "connection lost"), Gap(1000, 1200)]
    for gap in gaps:
        store.add_gap(session_id, gap)

    loaded = store.load_transcript(session_id)

    assert loaded.turns() == turns
    assert loaded.gaps() == sorted(gaps, key=lambda g: g.start_ms)
    assert loaded.turn(2).translations["ja"].status is TranslationStatus.PENDING


def test_a_translation_update_replaces_the_row_for_that_language(store: SessionStore, db_path: Path) -> None:
    session_id = new_session(store)
    store.add_turn(session_id, make_turn(0, "Nos vemos mañana"))
    store.set_translation(session_id, 0, Translation("de", status=TranslationStatus.PENDING, attempts=1))
    store.set_translation(session_id, 0, Translation("de", "Vorläufig", TranslationStatus.FAILED,
                                                     error="timeout", attempts=1))
    store.set_translation(session_id, 0, Translation("de", "Bis morgen", TranslationStatus.DONE,
                                                     "gpt-4.1-mini", 700, "", 2))
    assert store.load_transcript(session_id).turn(0).translations == {
        "de": Translation("de", "Bis morgen", TranslationStatus.DONE, "gpt-4.1-mini", 700, "", 2)
    }
    assert store.search("vorlaufig") == []  # the old text left the search index with the update
    assert [h.language for h in store.search("morgen")] == ["de"]
    with raw(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM translations").fetchone()[0] == 1


def test_writes_for_unknown_sessions_or_turns_and_duplicate_turns_are_rejected(store: SessionStore) -> None:
    session_id = new_session(store)
    store.add_turn(session_id, make_turn(0, "uno"))
    with pytest.raises(ValueError, match="already stored"):
        store.add_turn(session_id, make_turn(0, "uno otra vez"))
    with pytest.raises(KeyError):
        store.add_turn(session_id + 1, make_turn(0, "nadie"))
    with pytest.raises(KeyError):
        store.set_translation(session_id, 7, Translation("de"))
    with pytest.raises(KeyError):
        store.add_gap(session_id + 1, Gap(0, 1))
    with pytest.raises(KeyError):
        store.finish_session(session_id + 1)
    with pytest.raises(KeyError):
        store.load_transcript(session_id + 1)
    assert [t.text for t in store.load_transcript(session_id).turns()] == ["uno"]


def test_session_lifecycle_finish_recover_list_and_delete(store: SessionStore, db_path: Path) -> None:
    old, crashed, live = (new_session(store, started_at=t) for t in (100.0, 200.0, 300.0))
    store.add_turn(crashed, make_turn(0, "antes del apagón"))
    store.set_translation(crashed, 0, Translation("de", "vor dem Stromausfall", TranslationStatus.DONE))
    store.add_gap(crashed, Gap(0, 10))
    store.finish_session(old, ended_at=160.0, duration_ms=60_000)
    assert store.unfinished_sessions() == [], "this process owns (records) them: they are not unfinished"
    for session_id in (crashed, live):  # as if the process recording them had died
        record = store.get_session(session_id)
        assert record is not None
        store.release(record.uid)

    found = store.unfinished_sessions()  # claimed: their locks are now held by this store
    assert [s.id for s in found] == [crashed, live]
    store.mark_recovered(crashed, duration_ms=4_500)
    store.release(found[1].uid)  # not recovered here: let it go
    assert [s.id for s in store.unfinished_sessions()] == [live]

    record = store.get_session(crashed)
    assert record is not None
    assert (record.status, record.ended_at, record.duration_ms) == (SessionStatus.RECOVERED, 204.5, 4_500)
    assert record.target_languages == ("de", "ja") and record.audio_path.name == "audio.wav"
    finished = store.get_session(old)
    assert finished is not None and (finished.status, finished.ended_at) == (SessionStatus.FINISHED, 160.0)
    with pytest.raises(ValueError, match="cannot be finished with status 'recording'"):
        store.finish_session(live, status="recording")
    store.finish_session(live, status="failed")
    assert [s.id for s in store.list_sessions()] == [live, crashed, old]
    assert [s.id for s in store.list_sessions(limit=1, offset=1)] == [crashed]

    assert store.delete_session(crashed) is True
    assert store.delete_session(crashed) is False
    assert store.get_session(crashed) is None
    assert store.search("apagón") == [] and store.search("Stromausfall") == []
    with raw(db_path) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("turns", "translations", "gaps")]
        assert counts == [0, 0, 0]
        conn.execute("INSERT INTO turns_fts (turns_fts) VALUES ('integrity-check')")
        conn.execute("INSERT INTO translations_fts (translations_fts) VALUES ('integrity-check')")


def test_a_closed_store_refuses_calls_and_closing_twice_is_harmless(db_path: Path) -> None:
    store = SessionStore(db_path)
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.list_sessions()


# -- crash journal and threads -------------------------------------------------------------------

CHILD = """
import json, os, signal, sys
from pathlib import Path
from app.core.transcript import Gap, Translation, Turn, Word
from app.store.db import SessionStore

spec = json.loads(sys.argv[2])
store = SessionStore(Path(sys.argv[1]))
session_id = store.create_session(folder="/s", audio_path="/s/audio.wav", source_language=None,
    speech_model="universal-streaming-english", target_languages=["de"], llm_model="m").id
for data in spec["turns"]:
    data["words"] = [Word(**w) for w in data["words"]]
    translations = {k: Translation(**v) for k, v in data.pop("translations").items()}
    store.add_turn(session_id, Turn(**data))
    for translation in translations.values():
        store.set_translation(session_id, data["index"], translation)
for gap in spec["gaps"]:
    store.add_gap(session_id, Gap(**gap))
print(session_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no checkpoint: only committed WAL frames survive
"""


def test_turns_written_before_a_kill_9_are_found_on_the_next_launch(db_path: Path) -> None:
    turns = [make_turn(i, f"turn number {i} before the crash") for i in range(5)]
    for turn in turns[:3]:
        turn.translations["de"] = Translation("de", f"Satz {turn.index}", TranslationStatus.DONE, "m", 500)
    gaps = [Gap(3000, 4000, "reconnecting")]
    spec = json.dumps({"turns": [asdict(t) for t in turns], "gaps": [asdict(g) for g in gaps]})

    child = subprocess.run([sys.executable, "-c", CHILD, str(db_path), spec], cwd=REPO,
                           capture_output=True, text=True, timeout=60)

    assert child.returncode == -signal.SIGKILL, child.stderr
    assert Path(f"{db_path}-wal").exists()  # the turns live only in the WAL; reopening replays it
    with SessionStore(db_path) as store:
        [unfinished] = store.unfinished_sessions()
        assert unfinished.id == int(child.stdout)
        loaded = store.load_transcript(unfinished.id)
        assert loaded.turns() == turns
        assert loaded.gaps() == gaps
        store.mark_recovered(unfinished.id, duration_ms=10_000)
        assert store.unfinished_sessions() == []


def test_turns_and_translations_written_from_many_threads_all_land(store: SessionStore) -> None:
    session_id = new_session(store)
    turn_writers, turns_each, translators, languages = 4, 25, 3, ("de", "ja")
    start = threading.Barrier(turn_writers + translators + 1)
    written: queue.Queue[int | None] = queue.Queue()
    writers_done = threading.Event()
    errors: list[BaseException] = []

    def guarded(body: object) -> threading.Thread:
        def run() -> None:
            try:
                start.wait(timeout=10)
                body()  # type: ignore[operator]
            except BaseException as exc:  # handed to the test thread, which fails on it
                errors.append(exc)
        return threading.Thread(target=run)

    def write_turns(k: int) -> None:  # like the websocket thread
        for n in range(turns_each):
            index = n * turn_writers + k
            store.add_turn(session_id, make_turn(index, f"turno {index} mañana"))
            written.put(index)

    def translate() -> None:  # like a translation worker
        while (index := written.get(timeout=10)) is not None:
            for language in languages:
                store.set_translation(session_id, index, Translation(
                    language, f"{language} text {index}", TranslationStatus.DONE, "m", index))

    def read() -> None:  # like the GUI refreshing while recording
        while not writers_done.is_set():
            store.load_transcript(session_id)
            store.search("mañana", limit=5)

    writers = [guarded(lambda k=k: write_turns(k)) for k in range(turn_writers)]
    workers = [guarded(translate) for _ in range(translators)]
    reader = guarded(read)
    for thread in [*writers, *workers, reader]:
        thread.start()
    for thread in writers:
        thread.join(timeout=60)
    for _ in workers:
        written.put(None)
    for thread in workers:
        thread.join(timeout=60)
    writers_done.set()
    reader.join(timeout=60)

    assert errors == []
    assert not any(t.is_alive() for t in [*writers, *workers, reader])
    loaded = store.load_transcript(session_id)
    assert [t.index for t in loaded.turns()] == list(range(turn_writers * turns_each))
    assert all(set(t.translations) == set(languages) for t in loaded.turns())
    assert len(store.search("text", limit=1000)) == turn_writers * turns_each * len(languages)


# -- search ------------------------------------------------------------------------------------

@pytest.fixture
def searchable(store: SessionStore) -> tuple[SessionStore, int]:
    session_id = new_session(store)
    store.add_turn(session_id, make_turn(0, "Nos vemos mañana en la oficina"))
    store.set_translation(session_id, 0, Translation("de", "Wir sehen uns morgen im Büro",
                                                     TranslationStatus.DONE))
    store.set_translation(session_id, 0, Translation("ja", "明日オフィスで会いましょう",
                                                     TranslationStatus.DONE))
    store.add_turn(session_id, make_turn(1, "Hablo 日本語を話します un poco"))
    return store, session_id


def test_search_finds_words_in_originals_ignoring_case_and_accents(searchable: tuple[SessionStore, int]) -> None:
    store, session_id = searchable
    expected = [SearchHit(session_id, 0, None, "Nos vemos [mañana] en la oficina")]
    assert store.search("mañana") == expected
    assert store.search("MANANA") == expected
    assert store.search("vemos ofic") == [SearchHit(session_id, 0, None, "Nos [vemos] mañana en la [oficina]")]
    assert store.search("vemos morgen") == []  # every word must be in the same text


def test_search_finds_words_in_translations_with_their_language(searchable: tuple[SessionStore, int]) -> None:
    store, session_id = searchable
    assert store.search("buro", mark=("<b>", "</b>")) == [
        SearchHit(session_id, 0, "de", "Wir sehen uns morgen im <b>Büro</b>")
    ]


def test_search_matches_unspaced_scripts_by_substring(searchable: tuple[SessionStore, int], db_path: Path) -> None:
    store, session_id = searchable
    # unicode61 makes "日本語を話します" one token, so FTS alone misses a word inside it:
    with raw(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM turns_fts WHERE turns_fts MATCH '\"話します\"*'").fetchone()[0] == 0
    assert store.search("話します") == [SearchHit(session_id, 1, None, "Hablo 日本語を[話します] un poco")]
    assert store.search("日本語") == [SearchHit(session_id, 1, None, "Hablo [日本語]を話します un poco")]
    assert store.search("オフィス") == [SearchHit(session_id, 0, "ja", "明日[オフィス]で会いましょう")]


def test_search_treats_query_syntax_literally_and_respects_the_limit(searchable: tuple[SessionStore, int]) -> None:
    store, _ = searchable
    for query in ['"', 'oficina" OR', "NEAR(", "*", "  ", "- ^"]:
        store.search(query)  # never an FTS5 syntax error
    assert store.search("- ^") == []
    assert {(h.turn_index, h.language) for h in store.search("m")} == {(0, None), (0, "de")}
    assert len(store.search("m", limit=1)) == 1


def test_search_still_works_without_fts5_and_the_index_catches_up_later(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SessionStore(db_path) as store:
        session_id = new_session(store)
        store.add_turn(session_id, make_turn(0, "indexed before"))
    with monkeypatch.context() as patched:
        patched.setattr(migrations, "fts5_available", lambda conn: False)
        with SessionStore(db_path) as store:  # triggers dropped, so writes keep working
            store.add_turn(session_id, make_turn(1, "Escrito MAÑANA sin índice"))
            assert store.search("mañana") == [SearchHit(session_id, 1, None, "Escrito [MAÑANA] sin índice")]
        with raw(db_path) as conn:
            assert not migrations.search_index_present(conn)
    with SessionStore(db_path) as store:
        assert [h.turn_index for h in store.search("manana")] == [1]  # FTS, rebuilt on open
        assert [h.turn_index for h in store.search("indexed")] == [0]
