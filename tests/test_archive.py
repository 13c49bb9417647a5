"""The archive seam (app.pipeline.archive): list, search, load, rename, delete, import, export on a
real SQLite store and real session folders."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.exports import Content, write_session_exports
from app.core.transcript import Gap, Translation, TranslationStatus, Turn
from app.pipeline.archive import Archive, ArchiveError
from app.store.db import SessionStatus, SessionStore


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with SessionStore(tmp_path / "data" / "sessions.db") as store:
        yield Archive(store)


def turn(index: int, text: str, **translations: str) -> Turn:
    t = Turn(index=index, segment=0, turn_order=index, text=text, start_ms=index * 3000, end_ms=index * 3000 + 2500,
             finalized_at=1_764_600_000.0 + index)
    for code, translated in translations.items():
        t.translations[code] = Translation(code, translated, TranslationStatus.DONE, model="gemini-2.5-flash-lite")
    return t


def session_folder(root: Path, name: str = "2026-11-30_09-15-00", *, uid: str = "") -> Path:
    """A finished session folder, as a session writes it: the WAV and every export."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "audio.wav").write_bytes(b"RIFF....WAVEfmt ")
    entries: list[Turn | Gap] = [turn(0, "Good morning everyone.", es="Buenos días a todos.", de="Guten Morgen allerseits."),
                                 Gap(2500, 3000, "connection lost"),
                                 turn(1, "Let us begin with the budget.", es="Empecemos con el presupuesto.")]
    metadata: dict[str, object] = {"title": "Board meeting", "started": name, "source": "English", "source_code": "en",
                                   "speech_model": "universal-streaming-english", "llm_model": "gemini-2.5-flash-lite",
                                   "targets": ["es", "de"], "audio": "audio.wav"}
    if uid:
        metadata["uid"] = uid
    write_session_exports(folder, entries, ["es", "de"], metadata)
    return folder


def test_an_imported_folder_lands_in_the_archive_with_its_turns_translations_gaps_and_title(
        archive: Archive, tmp_path: Path) -> None:
    folder = session_folder(tmp_path / "elsewhere")
    session_id = archive.import_folder(folder).session_id
    [record] = archive.sessions()
    assert record.id == session_id and record.status is SessionStatus.FINISHED
    assert record.title == "Board meeting" and record.source_language == "en"
    assert record.target_languages == ("es", "de") and record.duration_ms == 5500
    loaded = archive.load(session_id)
    assert [t.text for t in loaded.transcript.turns()] == ["Good morning everyone.", "Let us begin with the budget."]
    assert loaded.transcript.turns()[0].translations["de"].text == "Guten Morgen allerseits."
    assert [(g.start_ms, g.end_ms) for g in loaded.transcript.gaps()] == [(2500, 3000)]
    assert loaded.languages == ("es", "de") and loaded.audio_there
    hits = archive.search("presupuesto")
    assert [(h.session_id, h.turn_index, h.language) for h in hits] == [(session_id, 1, "es")]


def test_importing_the_same_folder_twice_keeps_one_session(archive: Archive, tmp_path: Path) -> None:
    folder = session_folder(tmp_path, uid="3f2a-stable")
    first = archive.import_folder(folder)
    again = archive.import_folder(folder)
    assert again.session_id == first.session_id and first.new and not again.new
    first = first.session_id
    assert len(archive.sessions()) == 1 and archive.record(first).uid == "3f2a-stable"


def test_rename_export_and_delete_with_the_files(archive: Archive, tmp_path: Path) -> None:
    folder = session_folder(tmp_path / "sessions")
    session_id = archive.import_folder(folder).session_id
    archive.rename(session_id, "  Budget review  ")
    assert archive.load(session_id).title == "Budget review"
    out = tmp_path / "out"
    written = archive.export(session_id, out / "budget.srt", content=Content.TRANSLATION, languages=["es"],
                             audio_to=out / "budget.wav")
    assert written == [out / "budget.srt", out / "budget.wav"]
    srt = (out / "budget.srt").read_text(encoding="utf-8")
    assert "Empecemos con el presupuesto." in srt and "Let us begin" not in srt
    doc = json.loads(archive.export(session_id, out / "all.json")[0].read_text(encoding="utf-8"))
    assert doc["session"]["title"] == "Budget review" and doc["languages"] == ["es", "de"]
    assert archive.delete(session_id, files=True) == [folder]
    assert not folder.exists() and archive.sessions() == []


def test_a_missing_wav_is_reported_and_the_transcript_still_loads(archive: Archive, tmp_path: Path) -> None:
    folder = session_folder(tmp_path)
    session_id = archive.import_folder(folder).session_id
    (folder / "audio.wav").unlink()
    loaded = archive.load(session_id)
    assert not loaded.audio_there and len(loaded.transcript.turns()) == 2
    with pytest.raises(Exception, match="missing"):
        archive.export(session_id, tmp_path / "x.txt", audio_to=tmp_path / "x.wav")


def test_bad_requests_get_messages_a_person_can_act_on(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="There is no session k3f9xq2 in the archive"):
        archive.resolve("k3f9xq2")
    with pytest.raises(ArchiveError, match="no longer in the archive"):
        archive.load(42)
    with pytest.raises(ArchiveError, match="no longer in the archive"):
        archive.rename(42, "x")
    with pytest.raises(ArchiveError, match="no longer in the archive"):
        archive.delete(42)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ArchiveError, match=r"holds no transcript\.json"):
        archive.import_folder(empty)
    with pytest.raises(ArchiveError, match="is not a folder"):
        archive.import_folder(tmp_path / "nowhere")
    (empty / "transcript.json").write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(ArchiveError, match="could not be read as a Live Translate transcript"):
        archive.import_folder(empty)
    session_id = archive.import_folder(session_folder(tmp_path / "s")).session_id
    with pytest.raises(ArchiveError, match="has no fr translation"):
        archive.export(session_id, tmp_path / "x.txt", languages=["fr"])
    with pytest.raises(ArchiveError, match="unknown export format"):
        archive.export(session_id, tmp_path / "x.docx")


def test_a_session_being_recorded_cannot_be_deleted_and_one_deleted_meanwhile_is_named(
        archive: Archive, tmp_path: Path) -> None:
    live = archive.store.create_session(folder=tmp_path / "live", audio_path=tmp_path / "live" / "audio.wav",
                                        source_language=None, speech_model="m", target_languages=["es"],
                                        llm_model="l")
    with pytest.raises(ArchiveError, match="being recorded"):
        archive.delete(live.id)
    archive.store.finish_session(live.id)
    other = archive.import_folder(session_folder(tmp_path / "o")).session_id
    archive.store.delete_session(other)  # another window deleted it
    with pytest.raises(ArchiveError, match="deleted, maybe in another window"):
        archive.load(other)
    shutil.rmtree(tmp_path / "o")
