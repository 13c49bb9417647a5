"""What the window promises, the session does, during and after it: failed translations retried
after Stop, a language added mid-session kept everywhere and earlier turns translated into it, the
Delay that tells the real time, and listeners that never hold the transcript's own turns."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY, make_session, run_to_end
from support.speech import make_speech_wav

from app.core.languages import resolve_language
from app.core.transcript import TranslationStatus, Turn
from app.pipeline.recovery import recover_unfinished
from app.store.db import SessionStore

pytestmark = [pytest.mark.realtime, pytest.mark.timeout(90)]

SENTENCES = ["Good morning everyone.", "Let us talk about the budget.", "Thank you for listening."]
DONE, FAILED = TranslationStatus.DONE, TranslationStatus.FAILED


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES, pause_s=1.0, lead_s=0.3)


def test_a_cell_not_translated_during_the_session_is_retried_after_it_ended_and_saved_everywhere(
        speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, \
            FakeLlmGateway(api_key=KEY, fail_text="budget", fail_status=400) as llm:
        store = SessionStore(tmp_path / "journal.db")
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech, store=store)
        summary = run_to_end(session, rec)
        assert summary.translations_failed == 1
        retried_at = time.time()
        llm.fail_text = None  # the service answers again
        assert session.retry_failed_translations() == 1
        assert session.translations.late.wait(30)
        journal = store.load_transcript(session.session_id or 0)
        store.close()
    retried = session.transcript.turn(1).translations["es"]
    assert retried.status is DONE and retried.text == f"[Spanish] {SENTENCES[1]}"
    waited_s = retried_at - rec.turns[1].finalized_at  # from the turn's end to the retry
    assert retried.latency_ms is not None and retried.latency_ms / 1000 >= waited_s - 0.1, \
        "the Delay is the real time from the turn to the translation finally shown"
    assert journal.turn(1).translations["es"].status is DONE
    doc = json.loads((summary.folder / "transcript.json").read_text())
    assert doc["turns"][1]["translations"]["es"]["status"] == "done"
    assert "[not translated]" not in (summary.folder / "transcript.srt").read_text()
    assert [t.status for i, t in rec.translations if i == 1][-1] is DONE, "the view got the retried text"
    assert any("Translated 1 cell again" in e.message for e in rec.errors)


def test_a_language_added_mid_session_is_in_every_export_the_journal_and_recovery(
        speech: Path, tmp_path: Path) -> None:
    german = resolve_language("de")
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        store = SessionStore(tmp_path / "journal.db")
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech, store=store)
        session.prepare()
        session.start_threads()
        while not rec.turns and not rec.ended.is_set():
            rec.ended.wait(0.05)
        session.set_targets((resolve_language("es"), german))  # ticked in the picker after the first turn
        assert rec.ended.wait(60)
        summary = rec.summary
        assert summary is not None
        record = store.get_session(session.session_id or 0)
        assert record is not None and record.target_languages == ("es", "de")
        assert session.translate_earlier_turns(german) >= 1, "the first turn came before German was added"
        assert session.translations.late.wait(30)
        store.close()
    doc = json.loads((summary.folder / "transcript.json").read_text())
    assert doc["languages"] == ["es", "de"]
    assert all(t["translations"]["de"]["status"] == "done" for t in doc["turns"])
    assert (summary.folder / "transcript.de.srt").is_file()
    assert "[German]" in (summary.folder / "transcript.md").read_text()


def test_recovery_of_a_session_with_a_language_added_mid_session_exports_that_language(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "journal.db")
    folder = tmp_path / "sessions" / "s1"
    folder.mkdir(parents=True)
    (folder / "audio.wav").write_bytes(b"")
    rec = store.create_session(folder=folder, audio_path=folder / "audio.wav", source_language=None,
                               speech_model="universal-streaming-english", target_languages=["es"], llm_model="m")
    store.set_target_languages(rec.id, ["es", "de"])
    store.add_turn(rec.id, Turn(0, 0, 0, "Hello.", 0, 900, 1.0))
    store.release(rec.uid)  # the process that recorded it died
    recovered = recover_unfinished(store)
    store.close()
    assert [r.session_id for r in recovered] == [rec.id]
    assert (folder / "transcript.de.srt").is_file()


def test_listeners_get_copies_and_never_the_transcripts_own_turns(speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        run_to_end(session, rec)
    rec.turns[0].text = "changed by a listener"
    rec.turns[0].translations.clear()  # what the terminal's listener does to fill in its own copy
    kept = session.transcript.turn(0)
    assert kept.text == SENTENCES[0] and kept.translations["es"].status is DONE
