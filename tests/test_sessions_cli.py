"""``live-translate sessions …`` run as a user would: a subprocess with private folders, real
SQLite, real session folders and zips, and the imitation LLM Gateway for ``translate``."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from session_rig import cli_env
from test_archive import session_folder

from app.core.kept import short_id

KEY = "cli-history-key-0123"
UID = "uid-board-meeting"
ID = short_id(UID)


def run(home: Path, *args: str, key: str | None = KEY, stdin: str | None = None, timeout: float = 60
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", "sessions", *args], capture_output=True, text=True,
                          env=cli_env(home, key), timeout=timeout, input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def data(result: subprocess.CompletedProcess[str]) -> object:
    return json.loads(result.stdout)


def sessions_dir(home: Path) -> Path:
    return home / "data" / "live-translate" / "sessions"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user with one session imported from a folder made on another machine."""
    home = tmp_path / "home"
    made = session_folder(tmp_path / "elsewhere", uid=UID)
    result = run(home, "import", str(made))
    assert result.returncode == 0, result.stderr
    assert f"Imported {ID} “Board meeting” (2 turns)" in result.stdout
    return home


def test_list_show_and_search_for_people_and_scripts(home: Path) -> None:
    listed = run(home, "list")
    assert listed.returncode == 0 and ID in listed.stdout and "Board meeting" in listed.stdout
    assert "“Good morning everyone.”" in listed.stdout and "1 gap" in listed.stdout
    [row] = data(run(home, "list", "--json"))  # type: ignore[misc]
    assert row["id"] == ID and row["turns"] == 2 and row["translations"] == ["es", "de"] and row["audio_there"]
    shown = run(home, "show", ID)
    assert "Board meeting  [" + ID + "]" in shown.stdout and "[es] Empecemos con el presupuesto." in shown.stdout
    doc = data(run(home, "show", "last", "--json"))
    assert doc["session"]["id"] == ID and doc["turns"][1]["translations"]["es"]["text"] == "Empecemos con el presupuesto."  # type: ignore[index]
    hits = data(run(home, "search", "presupuesto", "--json"))
    assert hits == [{"id": ID, "title": "Board meeting", "turn": 1, "start_ms": 3000, "column": "es",
                     "snippet": "Empecemos con el [presupuesto]."}]
    text = run(home, "search", 'NEAR("budget')  # FTS5 syntax: searched for literally
    assert text.returncode == 0 and "Nothing found" in text.stdout


def test_an_unknown_id_says_so_with_its_own_exit_code_and_json(home: Path) -> None:
    result = run(home, "show", "zzzzzzz")
    assert result.returncode == 10 and "There is no session zzzzzzz in the archive" in result.stderr
    doc = data(run(home, "rename", "zzzzzzz", "x", "--json"))
    assert doc["error"]["exit_code"] == 10 and "zzzzzzz" in doc["error"]["message"]  # type: ignore[index]


def test_export_to_stdout_or_a_file_with_every_option(home: Path, tmp_path: Path) -> None:
    srt = run(home, "export", ID, "--format", "srt", "--content", "translation", "--to", "es")
    assert srt.returncode == 0 and "Empecemos con el presupuesto." in srt.stdout and "Let us begin" not in srt.stdout
    out = tmp_path / "out" / "board.md"
    written = run(home, "export", ID, "-o", str(out), "--to", "de", "--no-times", "--audio",
                  str(tmp_path / "out" / "board.wav"), "--json")
    assert written.returncode == 0, written.stderr
    assert data(written) == {"written": [str(out), str(tmp_path / "out" / "board.wav")]}
    md = out.read_text(encoding="utf-8")
    assert "| Original | German |" in md and "Time" not in md.splitlines()[-3]
    bad = run(home, "export", ID, "--to", "fr")
    assert bad.returncode == 2 and "has no fr translation; it has: es, de" in bad.stderr


def test_rename_note_and_a_bundle_imported_on_another_machine(home: Path, tmp_path: Path) -> None:
    assert run(home, "rename", ID, "Budget", "review").returncode == 0
    assert run(home, "note", ID, "Numbers", "to", "Ana").returncode == 0
    bundle = tmp_path / "share" / "budget.zip"
    made = run(home, "bundle", ID, "-o", str(bundle))
    assert made.returncode == 0 and f"Wrote {bundle}." in made.stdout
    with zipfile.ZipFile(bundle) as z:
        names = sorted(z.namelist())
    assert names == ["2026-11-30_09-15-00/audio.wav", "2026-11-30_09-15-00/transcript.json"]
    other = tmp_path / "other-machine"
    landed = run(other, "import", str(bundle), "--json")
    assert landed.returncode == 0, landed.stderr
    [row] = data(landed)  # type: ignore[misc]
    assert row["id"] == ID and row["title"] == "Budget review" and row["new"]
    [listed] = data(run(other, "list", "--json"))  # type: ignore[misc]
    assert listed["note"] == "Numbers to Ana" and listed["title"] == "Budget review"


def test_delete_needs_a_yes_away_from_a_terminal_and_says_what_goes(home: Path) -> None:
    folder = sessions_dir(home) / "2026-11-30_09-15-00"
    refused = run(home, "delete", ID)
    assert refused.returncode == 2 and "the recording audio.wav" in refused.stderr and "--yes" in refused.stderr
    assert folder.is_dir()
    gone = run(home, "delete", ID, "--yes", "--json")
    assert gone.returncode == 0 and data(gone)["removed"] == [str(folder)]  # type: ignore[index]
    assert not folder.exists() and data(run(home, "list", "--json")) == []


def test_translate_again_and_retry_from_the_terminal(home: Path) -> None:
    with FakeLlmGateway(api_key=KEY) as llm:
        made = run(home, "translate", ID, "--to", "French", "--llm-model", "gpt-4.1", "--instructions", "Be brief.",
                   "--llm-url", llm.base_url, "--json")
        assert made.returncode == 0, made.stderr
        assert data(made) == {"columns": ["fr"], "asked": 2, "translated": 2, "failed": 0, "cancelled": False}
        again = run(home, "translate", ID, "--to", "fr", "--llm-url", llm.base_url)
        assert again.returncode == 0 and "into fr.2" in again.stdout
    shown = data(run(home, "show", ID, "--json"))
    sets = {s["label"]: s for s in shown["session"]["translation_sets"]}  # type: ignore[index]
    assert sets["fr"]["model"] == "gpt-4.1" and sets["fr"]["instructions"] == "Be brief."
    assert "fr.2" in sets and shown["turns"][0]["translations"]["fr.2"]["text"] == "[French] Good morning everyone."  # type: ignore[index]
    srt = run(home, "export", ID, "--format", "srt", "--content", "translation", "--to", "fr.2")
    assert "[French] Let us begin with the budget." in srt.stdout
    with FakeLlmGateway(api_key=KEY, fail_text="budget", fail_status=400) as llm:
        partly = run(home, "translate", ID, "--to", "it", "--llm-url", llm.base_url)
    assert partly.returncode == 8 and "1 not translated" in partly.stdout
    with FakeLlmGateway(api_key=KEY) as llm:
        fixed = run(home, "translate", ID, "--retry", "--llm-url", llm.base_url, "--json")
    assert fixed.returncode == 0 and data(fixed)["translated"] == 1  # type: ignore[index]


def test_translate_refuses_what_a_session_would_refuse(home: Path) -> None:
    no_key = run(home, "translate", ID, "--to", "fr", key=None)
    assert no_key.returncode == 2 and "ASSEMBLYAI_API_KEY" in no_key.stderr
    eu = run(home, "translate", ID, "--to", "fr", "--region", "eu", "--llm-model", "gpt-4.1")
    assert eu.returncode == 2 and "EU" in eu.stderr
    nowhere = run(home, "translate", ID, "--to", "Klingon")
    assert nowhere.returncode == 2 and "Klingon" in nowhere.stderr


def test_a_locked_archive_names_the_program_holding_it(home: Path) -> None:
    db = home / "data" / "live-translate" / "sessions.db"
    # The holder keeps its transaction open until the test lets go (its standard input closes, or it is killed).
    with subprocess.Popen([sys.executable, "-c", ("import sqlite3, sys\n"
                                                  f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
                                                  "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); "
                                                  "sys.stdin.read()")],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            assert run(home, "list").returncode == 0  # reading goes on
            result = run(home, "rename", ID, "New title")
        finally:
            holder.kill()
    assert result.returncode == 11 and f"(process {holder.pid})" in result.stderr and "locked by" in result.stderr


def test_an_archive_from_a_newer_version_is_refused_and_kept(home: Path) -> None:
    db = home / "data" / "live-translate" / "sessions.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 42")
    before = db.read_bytes()
    result = run(home, "list")
    assert result.returncode == 12 and "newer Live Translate (schema 42)" in result.stderr
    assert db.read_bytes() == before


def test_a_damaged_archive_is_set_aside_and_the_history_rebuilt_with_the_same_ids(home: Path) -> None:
    db = home / "data" / "live-translate" / "sessions.db"
    assert run(home, "rename", ID, "Kept title").returncode == 0
    for companion in db.parent.glob("sessions.db-*"):
        companion.unlink()
    db.write_bytes(b"\x00garbage" * 512)
    result = run(home, "list", "--json")
    assert result.returncode == 0, result.stderr
    assert "was damaged" in result.stderr and "rebuilt from the session folders: 1 session." in result.stderr
    [row] = data(result)  # type: ignore[misc]
    assert row["id"] == ID and row["title"] == "Kept title"
    assert list(db.parent.glob("sessions.db.corrupt-*"))


def test_import_says_what_cannot_be_imported(home: Path, tmp_path: Path) -> None:
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "readme.txt").write_text("hi", encoding="utf-8")
    result = run(home, "import", str(stray))
    assert result.returncode == 2 and "not a Live Translate session folder" in result.stderr
    missing = run(home, "import", str(tmp_path / "nope.zip"))
    assert missing.returncode == 3 and "does not exist" in missing.stderr
    help_text = run(home, "--help")
    assert help_text.returncode == 0 and "12  the archive was written by a newer Live Translate" in help_text.stdout
