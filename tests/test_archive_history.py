"""The history's archive (app.pipeline.archive, bundles, retranslate) on real SQLite files, real
session folders and real zips, with the imitation LLM Gateway for translating again."""
from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from test_archive import session_folder

from app.core.errors import ConfigError, InputFileError
from app.core.exports import Content
from app.core.kept import SetState, short_id
from app.core.settings import Settings
from app.core.transcript import TranslationStatus
from app.pipeline.archive import Archive, ArchiveError, UnknownSession
from app.pipeline.retranslate import CANCELLED_TEXT, Retranslation, TranslateAgain, translators_from
from app.store.db import SessionStore

KEY = "history-test-key"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "machine-a"


@pytest.fixture
def archive(home: Path) -> Iterator[Archive]:
    with SessionStore(home / "sessions.db") as store:
        yield Archive(store)


def imported(archive: Archive, root: Path, name: str = "2026-11-30_09-15-00", uid: str = "uid-board") -> int:
    return archive.import_folder(session_folder(root, name, uid=uid)).session_id


def folder_doc(folder: Path) -> dict:
    return json.loads((folder / "transcript.json").read_text(encoding="utf-8"))


def test_a_title_and_a_note_go_into_the_folder_so_a_rebuilt_history_keeps_them_and_the_short_id(
        archive: Archive, home: Path) -> None:
    sessions = home / "sessions"
    sid = imported(archive, sessions)
    record = archive.record(sid)
    assert record.short_id == short_id("uid-board")
    archive.rename(sid, "Budget review")
    archive.set_note(sid, "Send the figures to Ana.")
    doc = folder_doc(record.folder)
    assert doc["session"]["title"] == "Budget review" and doc["session"]["note"] == "Send the figures to Ana."
    assert doc["session"]["id"] == record.short_id
    archive.store.close()
    (home / "sessions.db").write_bytes(b"damaged beyond repair" * 64)  # the archive is lost
    with SessionStore(home / "sessions.db") as fresh:
        again = Archive(fresh)
        assert fresh.moved_aside is not None and again.rebuild_pending() and again.count() == 0
        report = again.rebuild(sessions)
        assert [i.short_id for i in report.imported] == [record.short_id] and not again.rebuild_pending()
        [back] = again.sessions()
        assert (back.title, back.user_note, back.short_id) == ("Budget review", "Send the figures to Ana.",
                                                              record.short_id)
        assert again.resolve(record.short_id) == back.id and again.rebuild(sessions).imported == []


def test_a_bundle_carries_the_session_whole_to_another_machine(archive: Archive, home: Path, tmp_path: Path) -> None:
    sid = imported(archive, home / "sessions")
    archive.rename(sid, "Board meeting, final")
    made = archive.store.new_translation_set(sid, "es", model="gpt-4.1", instructions="Formal.")
    archive.store.set_translation(sid, 0, archive.load(sid).transcript.turn(0).translations["es"].__class__(
        "es", "Buenos días a todos ustedes.", TranslationStatus.DONE, "gpt-4.1"), set_id=made.id)
    bundle, with_audio = archive.bundle(sid, tmp_path / "share" / "board.zip")
    assert with_audio and bundle.is_file()
    with zipfile.ZipFile(bundle) as z:
        assert sorted(z.namelist()) == ["2026-11-30_09-15-00/audio.wav", "2026-11-30_09-15-00/transcript.json"]
    other_home = tmp_path / "machine-b"
    with SessionStore(other_home / "sessions.db") as store_b:
        b = Archive(store_b)
        [landed] = b.import_path(bundle, into=other_home / "sessions")
        assert landed.new and landed.short_id == archive.record(sid).short_id
        assert landed.folder == (other_home / "sessions" / "2026-11-30_09-15-00").resolve()
        assert (landed.folder / "audio.wav").read_bytes() == archive.record(sid).audio_path.read_bytes()
        session = b.load(landed.session_id)
        assert session.title == "Board meeting, final" and session.columns == ("es", "de", "es.2")
        assert session.extra["es.2"][0].text == "Buenos días a todos ustedes."
        assert session.set_for("es.2").instructions == "Formal."  # type: ignore[union-attr]
        [again] = b.import_path(bundle, into=other_home / "sessions")
        assert not again.new and again.session_id == landed.session_id and b.count() == 1


def test_bundles_that_are_not_ours_are_refused_and_write_nothing(archive: Archive, tmp_path: Path) -> None:
    into = tmp_path / "into"
    sneaky = tmp_path / "sneaky.zip"
    with zipfile.ZipFile(sneaky, "w") as z:
        z.writestr("s/transcript.json", "{}")
        z.writestr("../../escaped.txt", "gotcha")
    with pytest.raises(InputFileError, match="not where a bundle keeps its files"):
        archive.import_path(sneaky, into=into)
    assert (not (tmp_path / "escaped.txt").exists() and not into.exists()) or not any(into.iterdir())
    text = tmp_path / "notes.zip"
    text.write_text("just text", encoding="utf-8")
    with pytest.raises(InputFileError, match="cannot be read as a zip file"):
        archive.import_path(text, into=into)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("s/readme.txt", "hello")
    with pytest.raises(InputFileError, match=r"should hold one session folder with transcript\.json"):
        archive.import_path(empty, into=into)
    with pytest.raises(InputFileError, match="does not exist"):
        archive.import_path(tmp_path / "nowhere.zip", into=into)


def test_a_folder_from_elsewhere_is_copied_in_and_a_folder_of_sessions_imports_each(
        archive: Archive, home: Path, tmp_path: Path) -> None:
    stick = tmp_path / "usb-stick"
    one = session_folder(stick, "2026-11-30_09-15-00", uid="u-one")
    session_folder(stick, "2026-12-01_10-00-00", uid="u-two")
    (stick / "holiday-photos").mkdir()
    [first] = archive.import_path(one, into=home / "sessions")
    assert first.folder == (home / "sessions" / one.name).resolve() and (first.folder / "audio.wav").is_file()
    found = archive.import_path(stick, into=home / "sessions")
    assert sorted(i.short_id for i in found) == sorted([short_id("u-one"), short_id("u-two")])
    assert archive.count() == 2 and [i.new for i in found] == [False, True]


def test_a_recording_without_a_transcript_becomes_a_session_to_transcribe(archive: Archive, tmp_path: Path) -> None:
    from support.speech import make_tone_wav

    folder = tmp_path / "2026-12-02_08-00-00"
    make_tone_wav(folder / "audio.wav", duration_s=2.0)
    [found] = archive.import_path(folder)
    assert "no transcript" in found.note and found.turns == 0
    [gap] = archive.load(found.session_id).transcript.gaps()
    assert (gap.start_ms, gap.end_ms) == (0, 2000) and "not transcribed" in gap.reason


def test_deleting_names_and_removes_only_the_sessions_files(archive: Archive, home: Path) -> None:
    sid = imported(archive, home / "sessions")
    folder = archive.record(sid).folder
    (folder / "my-notes.txt").write_text("mine", encoding="utf-8")
    plan = archive.deletion_plan(sid)
    assert plan.audio == folder / "audio.wav" and not plan.folder_goes and plan.kept == ("my-notes.txt",)
    text = plan.describe()
    assert "the recording audio.wav (" in text and "transcript files" in text and "1 other file in it stay" in text
    removed = archive.delete(sid, files=True)
    assert set(removed) == set(plan.files) and sorted(p.name for p in folder.iterdir()) == ["my-notes.txt"]
    with pytest.raises(UnknownSession):
        archive.load(sid)


def test_exports_can_take_any_translation_set_and_a_missing_wav_is_said(archive: Archive, home: Path,
                                                                        tmp_path: Path) -> None:
    sid = imported(archive, home / "sessions")
    made = archive.store.new_translation_set(sid, "es", model="gpt-4.1")
    session = archive.load(sid)
    turn = session.transcript.turn(1)
    archive.store.set_translation(sid, 1, type(turn.translations["es"])("es", "Comencemos por el presupuesto.",
                                                                       TranslationStatus.DONE), set_id=made.id)
    srt = archive.render(sid, "srt", content=Content.TRANSLATION, languages=["es.2"])
    assert "Comencemos por el presupuesto." in srt and "[not translated]" in srt  # turn 0 is not in es.2
    md = archive.render(sid, "md", languages=["es", "es.2"])
    assert "| Spanish | Spanish 2 |" in md
    with pytest.raises(ArchiveError, match=r"has no fr translation; it has: es, de, es\.2"):
        archive.render(sid, "txt", languages=["fr"])
    archive.record(sid).audio_path.unlink()
    [row] = archive.overview()
    assert not row.audio_there and row.overview.turns == 2 and row.overview.first_words == "Good morning everyone."
    _, with_audio = archive.bundle(sid, tmp_path / "b.zip")
    assert not with_audio


def test_search_hits_come_with_their_session_and_column(archive: Archive, home: Path) -> None:
    sid = imported(archive, home / "sessions")
    archive.rename(sid, "Budget")
    [found] = archive.find("presupuesto")
    assert found.record.title == "Budget" and found.column_name == "Spanish" and found.hit.start_ms == 3000
    [original] = archive.find("budget")
    assert original.column_name == "Original"


def translate(archive: Archive, sid: int, llm: FakeLlmGateway, **kwargs: object) -> Retranslation:
    settings = Settings(llm_url=llm.base_url)
    return Retranslation(archive, sid, translators_from(settings, {"assemblyai": KEY}),
                         default_model=settings.llm_model, **kwargs)  # type: ignore[arg-type]


def test_translating_again_adds_a_set_with_its_model_and_instructions_and_keeps_the_first(
        archive: Archive, home: Path) -> None:
    sid = imported(archive, home / "sessions")
    seen = []
    with FakeLlmGateway(api_key=KEY) as llm:
        result = translate(archive, sid, llm, progress=seen.append).translate(
            TranslateAgain("Spanish", llm_model="gpt-4.1", instructions="Use a formal register."))
        prompts = [r.json["messages"][0]["content"] for r in llm.chat_requests]
        models = {r.json["model"] for r in llm.chat_requests}
    assert (result.columns, result.asked, result.translated, result.failed) == (("es.2",), 2, 2, 0)
    assert models == {"gpt-4.1"} and all("Use a formal register." in p for p in prompts)
    assert seen[-1].done == seen[-1].total == 2 and "Spanish with gpt-4.1" in seen[-1].text
    session = archive.load(sid)
    assert session.transcript.turn(1).translations["es"].text == "Empecemos con el presupuesto."  # kept
    assert session.extra["es.2"][1].text == "[Spanish] Let us begin with the budget."
    assert session.set_for("es.2").state is SetState.DONE  # type: ignore[union-attr]
    assert session.column_names()["es.2"] == "Spanish 2 (gpt-4.1)"
    doc = folder_doc(session.record.folder)
    assert doc["turns"][1]["translations"]["es.2"]["text"] == "[Spanish] Let us begin with the budget."
    assert [s["label"] for s in doc["session"]["translation_sets"]] == ["es", "de", "es.2"]


def test_a_cancelled_translation_keeps_what_it_did_and_retry_finishes_it(archive: Archive, home: Path) -> None:
    sid = imported(archive, home / "sessions")
    cancel = threading.Event()

    def second_is_slow(payload: dict, n: int) -> float:  # the first request answers at once, the next takes 30 s
        return 30.0 if n >= 2 else 0.0

    with FakeLlmGateway(api_key=KEY, delay_s=second_is_slow) as llm:
        def cancel_while_the_second_is_on_the_wire() -> None:  # whichever turn went first: one done, one asked
            llm.wait_for_requests(2, timeout=20.0)
            cancel.set()

        canceller = threading.Thread(target=cancel_while_the_second_is_on_the_wire, daemon=True)
        canceller.start()
        result = translate(archive, sid, llm, cancel=cancel).translate(TranslateAgain("fr"))
        canceller.join()
    assert result.cancelled and result.translated == 1 and result.failed == 1
    session = archive.load(sid)
    assert session.set_for("fr").state is SetState.CANCELLED  # type: ignore[union-attr]
    cells = {i: t.translations.get("fr") for i, t in enumerate(session.transcript.turns())}
    done = [i for i, c in cells.items() if c is not None and c.status is TranslationStatus.DONE]
    cancelled = [i for i, c in cells.items() if c is not None and c.error == CANCELLED_TEXT]
    assert len(done) == 1 and len(cancelled) == 1 and set(done + cancelled) == {0, 1}
    assert session.failed_cells() == [(cancelled[0], "fr")]
    with FakeLlmGateway(api_key=KEY) as llm:
        again = translate(archive, sid, llm).retry()
    assert (again.asked, again.translated, again.columns) == (1, 1, ("fr",))
    assert archive.load(sid).failed_cells() == []


def test_failed_cells_are_retried_in_their_own_set(archive: Archive, home: Path) -> None:
    sid = imported(archive, home / "sessions")
    with FakeLlmGateway(api_key=KEY, fail_text="budget", fail_status=400) as llm:
        first = translate(archive, sid, llm).translate(TranslateAgain("es", llm_model="claude-haiku-4-5-20251001"))
    assert (first.translated, first.failed) == (1, 1)
    # Turn 1 has no German: it was not asked for then ("—"), which is not a failure to retry.
    assert archive.load(sid).failed_cells() == [(1, "es.2")]
    with FakeLlmGateway(api_key=KEY) as llm:
        retried = translate(archive, sid, llm).retry(columns=["es.2"])
        assert {r.json["model"] for r in llm.chat_requests} == {"claude-haiku-4-5-20251001"}
    assert retried.translated == 1 and archive.load(sid).failed_cells() == []


def test_a_model_the_region_does_not_serve_is_refused_before_anything_is_written(
        archive: Archive, home: Path) -> None:
    sid = imported(archive, home / "sessions")
    job = Retranslation(archive, sid, translators_from(Settings(region="eu"), {"assemblyai": KEY}),
                        default_model="gpt-4.1")
    with pytest.raises(ConfigError, match="EU"):
        job.translate(TranslateAgain("fr", llm_model="gpt-4.1"))
    with pytest.raises(ConfigError, match="Klingon"):
        job.translate(TranslateAgain("Klingon"))
    assert [s.label for s in archive.store.translation_sets(sid)] == ["es", "de"]


def test_a_session_deleted_meanwhile_stops_the_translation_with_a_message(archive: Archive, home: Path) -> None:
    sid = imported(archive, home / "sessions")
    with FakeLlmGateway(api_key=KEY) as llm:
        job = translate(archive, sid, llm)
        archive.delete(sid)
        with pytest.raises(UnknownSession, match="no longer in the archive"):
            job.translate(TranslateAgain("fr"))


def test_a_turns_side_travels_through_the_folder_and_a_bundle(archive: Archive, home: Path, tmp_path: Path) -> None:
    from app.core.exports import write_session_exports
    from app.core.transcript import SYSTEM_AUDIO, Translation, Turn

    folder = tmp_path / "two-way" / "2026-12-05_16-00-00"
    folder.mkdir(parents=True)
    (folder / "audio.wav").write_bytes(b"RIFF....WAVEfmt ")
    you = Turn(index=0, segment=0, turn_order=0, text="Can you hear me?", start_ms=0, end_ms=900, finalized_at=1.0)
    them = Turn(index=1, segment=0, turn_order=1, text="Sí, te oigo.", start_ms=1000, end_ms=1800, finalized_at=2.0,
                language_code="es", speaker="B", side=SYSTEM_AUDIO)
    them.translations["en"] = Translation("en", "Yes, I hear you.", TranslationStatus.DONE)
    write_session_exports(folder, [you, them], ["en"], {"uid": "uid-two-way"})
    sid = archive.import_folder(folder).session_id
    bundle, _ = archive.bundle(sid, tmp_path / "two-way.zip")
    with SessionStore(tmp_path / "machine-c" / "sessions.db") as store_c:
        [landed] = Archive(store_c).import_path(bundle, into=tmp_path / "machine-c" / "sessions")
        turns = Archive(store_c).load(landed.session_id).transcript.turns()
    assert [(t.side, t.speaker, t.language_code) for t in turns] == [("microphone", None, None), ("system", "B", "es")]


def test_a_two_way_sessions_second_recording_travels_in_its_bundle_and_goes_with_its_files(
        archive: Archive, home: Path, tmp_path: Path) -> None:
    from app.core.exports import write_session_exports
    from app.core.transcript import Turn

    folder = tmp_path / "two-way" / "2026-12-05_17-00-00"
    folder.mkdir(parents=True)
    (folder / "audio.wav").write_bytes(b"RIFF..mic..WAVEfmt ")
    (folder / "audio-system.wav").write_bytes(b"RIFF..them..WAVEfmt ")
    turn = Turn(index=0, segment=0, turn_order=0, text="Hello.", start_ms=0, end_ms=900, finalized_at=1.0)
    write_session_exports(folder, [turn], ["de"], {"uid": "uid-two-way-2"})
    sid = archive.import_folder(folder).session_id
    bundle, _ = archive.bundle(sid, tmp_path / "call.zip")
    with zipfile.ZipFile(bundle) as z:
        assert "2026-12-05_17-00-00/audio-system.wav" in z.namelist()
    with SessionStore(tmp_path / "machine-d" / "sessions.db") as store_d:
        [landed] = Archive(store_d).import_path(bundle, into=tmp_path / "machine-d" / "sessions")
    assert (landed.folder / "audio-system.wav").read_bytes() == b"RIFF..them..WAVEfmt "
    plan = archive.deletion_plan(sid)
    assert folder / "audio-system.wav" in plan.files and plan.folder_goes
