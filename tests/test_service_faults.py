"""What the real streaming service does that the first fakes did not [protocol §9], each met by a
real session against the local fakes: a network path that dies without a close, a transient 1008,
whisper-rt's non-speech finals, and the u3 family's partials-in-pauses."""
from __future__ import annotations

from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.relay import TcpRelay
from fakes.streaming_server import INCORRECT_PADDING, FakeStreamingServer, Fault
from session_rig import KEY, make_session, pcm_frames, run_to_end
from support.speech import make_speech_wav

from app.core.errors import AuthError
from app.pipeline.events import SessionState
from app.store.db import SessionStore

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

SENTENCES = ["Good morning everyone.", "Let us begin with the first item.",
             "The numbers look good this quarter.", "Thank you, that is all."]


PADDING = Fault(reject=1008, reject_reason=INCORRECT_PADDING)


@pytest.fixture(scope="module")
def two_sentences(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "two.wav", SENTENCES[:2], pause_s=0.8)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "four.wav", SENTENCES, pause_s=1.0)


@pytest.mark.timeout(90)
def test_a_network_path_that_dies_mid_sentence_is_noticed_reconnected_and_marked(speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, TcpRelay(stt.port) as relay, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=relay.ws_url(), llm_url=llm.base_url, input_wav=speech)
        # Shorter than the defaults (2 s / 8 s) to keep the test short; bench/ measures the defaults.
        session.speech.config.liveness_timeout_s, session.speech.config.ping_interval_s = 1.5, 0.3

        def die_mid_sentence() -> None:
            # The second sentence is being heard (its first partial came back): the path dies.
            stt.wait_for_sent(lambda m: m.get("type") == "Turn" and m["turn_order"] == 1, index=0, timeout=30)
            relay.stall()

        summary = run_to_end(session, rec, timeout=60, during=die_mid_sentence)
        first = stt.connections[0]
        assert first.end == "open", "the server never saw a close: only the liveness check can notice"
    assert summary.error is None and summary.reconnects == 1
    assert any(state is SessionState.RECONNECTING for state, _ in rec.states)
    assert any("stopped answering" in e.message and not e.fatal for e in rec.errors)
    # Every byte of audio is in the WAV, and the stretch that was lost has a gap row.
    assert pcm_frames(summary.audio_path) == pcm_frames(speech)
    [gap] = session.transcript.gaps()
    stall_heard_ms = int(first.audio_seconds * 1000)
    assert gap.start_ms <= stall_heard_ms < gap.end_ms
    # Speech after the reconnect is transcribed on the new connection.
    later = [t.text for t in session.transcript.turns() if t.segment == 1]
    assert SENTENCES[-1] in later
    assert (summary.folder / "transcript.txt").read_text().count("[no transcript, audio kept]") == 1


# --- a transient 1008 [protocol §9.2] ----------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("faults", "reconnects"), [
    pytest.param([PADDING], 0, id="at-start"),
    pytest.param([Fault(drop_after_s=1.5), PADDING], 1, id="on-a-reconnect"),
])
def test_one_transient_1008_is_retried_and_the_session_goes_on(
    two_sentences: Path, tmp_path: Path, faults: list[Fault], reconnects: int
) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:2], faults=faults) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=two_sentences)
        summary = run_to_end(session, rec)
        codes = [c.close_code for c in stt.connections]
    assert codes[len(faults) - 1] == 1008 and len(codes) == len(faults) + 1
    assert summary.error is None and summary.reconnects == reconnects
    assert not [e for e in rec.errors if e.fatal]
    assert summary.turns >= 1
    assert pcm_frames(summary.audio_path) == pcm_frames(two_sentences)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("auth_mode", "connections", "words"), [
    pytest.param("close", 2, "rejected (1008", id="1008-twice"),
    pytest.param("http401", 1, "rejected (HTTP 401)", id="http-401"),
])
def test_a_rejected_key_is_said_once_after_at_most_one_retry_and_leaves_no_empty_session(
    two_sentences: Path, tmp_path: Path, auth_mode: str, connections: int, words: str
) -> None:
    with FakeStreamingServer(api_key="the-right-key", script=SENTENCES[:2], auth_mode=auth_mode) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=two_sentences)
        summary = run_to_end(session, rec)
        assert len(stt.connections) == connections
    assert isinstance(summary.error, AuthError) and words in summary.error.message
    assert rec.errors == [summary.error], "one message, no warnings before it"
    # Refused at once: under a second of audio and no turn, so nothing is kept (no folder of empty files).
    assert summary.discarded and summary.audio_seconds < 1 and summary.turns == 0
    assert not summary.folder.exists()


# --- per-model behaviour ---------------------------------------------------------------------------

SONG = ["la la la la la la.", "Good morning everyone.", "Thank you, that is all."]


@pytest.fixture(scope="module")
def song_then_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "song.wav", SONG, pause_s=1.0)


@pytest.mark.timeout(60)
def test_whisper_rt_silence_and_music_are_never_shown_stored_exported_or_translated(
    song_then_speech: Path, tmp_path: Path
) -> None:
    script = ["[Music]", *SONG[1:]]  # what whisper-rt "hears": music, then two sentences
    with FakeStreamingServer(api_key=KEY, script=script, whisper_silence_ms=600) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        store = SessionStore(tmp_path / "sessions.db")
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=song_then_speech,
                                    store=store, speech_model="whisper-rt", format_turns=False)
        summary = run_to_end(session, rec)
        sent = [m["utterance"] for m in stt.connections[0].turns(final_only=True)]
        asked = llm.chat_requests
    assert "[Music]" in sent and "[ Silence] [ Silence]" in sent, "the fault was there"
    spoken = ["good morning everyone", "thank you that is all"]
    assert [t.text for t in rec.turns] == spoken and summary.turns == 2
    assert all("silence" not in i.lower() and "music" not in i.lower() for i in rec.interims)
    assert len(asked) == 2, "only speech is translated"
    for export in summary.exports:
        text = export.read_text(encoding="utf-8").lower()
        assert "silence" not in text and "music" not in text, export.name
    assert [t.text for t in store.load_transcript(session.session_id).turns()] == spoken
    store.close()


@pytest.mark.timeout(60)
def test_universal_3_5_pro_gives_one_formatted_final_per_turn_and_words_in_its_pauses(
    two_sentences: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # This server also applies another mode than the one asked, and warns about something.
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:2], applied_mode="balanced",
                             warnings=[(2001, "Speaker labels are not available in this region")]) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=two_sentences,
                                    speech_model="universal-3-5-pro", spoken="en", mode="max_accuracy")
        summary = run_to_end(session, rec)
        [connection] = stt.connections
    assert "format_turns" not in connection.query and "end_of_turn_confidence_threshold" not in connection.query
    assert connection.params["mode"] == "max_accuracy" and connection.params["language_codes"] == ["en"]
    assert any(m["type"] == "SpeechStarted" for m in connection.sent), "the u3 family's extra message is tolerated"
    assert [t.text for t in rec.turns] == SENTENCES[:2] and all(t.formatted for t in rec.turns)
    assert summary.translations_done == 2 and summary.error is None
    logged = [r.getMessage() for r in caplog.records]
    assert any("asked for mode max_accuracy, the service applied balanced" in m for m in logged)
    assert any("warning 2001: Speaker labels are not available in this region" in m for m in logged)


@pytest.mark.timeout(60)
def test_a_formatted_copy_that_arrives_after_the_next_turn_started_is_never_a_second_turn(
    two_sentences: Path, tmp_path: Path
) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:2], late_formatted_copy=True) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=two_sentences)
        summary = run_to_end(session, rec)
        copies = [m for m in stt.connections[0].turns(final_only=True) if m["turn_is_formatted"]]
    assert len(copies) == 2
    assert summary.turns == 2 and summary.translations_done == 2
    assert len({t.turn_order for t in rec.turns}) == 2
