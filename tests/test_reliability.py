"""Fault injection: nothing recorded is lost when the socket drops, the session expires, the key is
rejected, Begin never comes, or the LLM fails. Real sessions, real sockets to the local fakes."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer, Fault
from session_rig import KEY, make_session, pcm_frames, run_to_end, speech_segments
from support.speech import make_speech_wav

from app.core.backoff import Backoff
from app.core.errors import AuthError, StreamingError
from app.core.transcript import TranslationStatus
from app.pipeline.events import SessionState

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

SENTENCES = [
    "Good morning everyone.", "Let us begin with the first item.", "The numbers look good this quarter.",
    "Sales went up in every region.", "Costs stayed where they were.", "We hired three new people.",
    "Next week we visit the new office.", "Any questions so far?", "Thank you, that is all.",
]


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "long.wav", SENTENCES, pause_s=1.0)


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "short.wav", SENTENCES[:3], pause_s=1.0)


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.timeout(150)
def test_five_drops_keep_every_byte_of_audio_and_every_turn_is_transcribed_or_inside_a_gap(
    long_speech: Path, tmp_path: Path
) -> None:
    faults = [Fault(drop_after_s=2.5 + k * 0.6) for k in range(5)]
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, faults=faults) as stt, FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=long_speech)
        summary = run_to_end(session, rec, timeout=120)
        ends = [c.end for c in stt.connections]
        last_terminated = stt.connections[-1].terminated
    assert ends[:5] == ["dropped"] * 5 and len(ends) == 6 and last_terminated
    assert summary.error is None and summary.reconnects == 5
    assert any(state is SessionState.RECONNECTING for state, _ in rec.states)

    # The WAV is byte-for-byte the audio fed in.
    assert pcm_frames(summary.audio_path) == pcm_frames(long_speech)

    turns = session.transcript.turns()
    gaps = session.transcript.gaps()
    assert len(gaps) == 5, gaps
    assert all(g.end_ms > g.start_ms for g in gaps)
    # No duplicate turns: each sentence at most once, and no two turns overlap in time.
    texts = [t.text for t in turns]
    assert len(texts) == len(set(texts))
    assert all(text in SENTENCES for text in texts)
    spans = sorted((t.start_ms, t.end_ms) for t in turns)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    # Every spoken stretch of the WAV is under a turn or a gap marker.
    covered = spans + [(g.start_ms, g.end_ms) for g in gaps]
    for segment in speech_segments(pcm_frames(long_speech)):
        assert any(overlaps(segment, c) for c in covered), f"speech at {segment} ms is in neither a turn nor a gap"
    # Every turn got its translation, in order.
    done = [i for i, tr in rec.translations if tr.status is TranslationStatus.DONE]
    assert done == sorted(done) and set(done) == {t.index for t in turns}
    # The gap markers are in the exports too.
    assert (summary.folder / "transcript.txt").read_text().count("[no transcript, audio kept]") == 5


@pytest.mark.timeout(90)
def test_llm_failing_its_first_three_calls_still_translates_every_turn_in_order(
    short_speech: Path, tmp_path: Path
) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:3]) as stt, \
            FakeLlmGateway(api_key=KEY, fail_first=3, fail_status=500) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=short_speech)
        summary = run_to_end(session, rec)
    assert summary.translations_done == 3 and summary.translations_failed == 0
    done = [(i, tr.text) for i, tr in rec.translations if tr.status is TranslationStatus.DONE]
    assert done == [(i, f"[Spanish] {s}") for i, s in enumerate(SENTENCES[:3])]


@pytest.mark.timeout(90)
def test_session_expiry_3008_reconnects_and_marks_the_gap(short_speech: Path, tmp_path: Path) -> None:
    faults = [Fault(error_at_s=(3.0, 3008, "Session Expired: Maximum session duration exceeded"))]
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:3], faults=faults) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=short_speech)
        summary = run_to_end(session, rec)
        assert [c.close_code for c in stt.connections][:1] == [3008]
    assert summary.error is None and summary.reconnects == 1
    assert any("3-hour limit" in e.message for e in rec.errors)
    assert pcm_frames(summary.audio_path) == pcm_frames(short_speech)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("code", "reason", "kind", "text"), [
    (1008, "Unauthorized Connection: Invalid API key", AuthError, "API key was rejected"),
    (3009, "Unauthorized Connection: Too many concurrent sessions", StreamingError, "too many sessions"),
])
def test_auth_failures_mid_session_are_not_retried_and_everything_is_saved(
    short_speech: Path, tmp_path: Path, code: int, reason: str, kind: type, text: str
) -> None:
    faults = [Fault(error_at_s=(2.0, code, reason))]
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:3], faults=faults) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=short_speech)
        summary = run_to_end(session, rec)
        assert len(stt.connections) == 1  # not retried
    assert isinstance(summary.error, kind) and text in summary.error.message
    assert [e for e in rec.errors if e.fatal] == [summary.error]  # said once
    # Capture stopped with the session; what was captured is a valid WAV and a prefix of the input.
    got = pcm_frames(summary.audio_path)
    assert len(got) >= 2 * 32000 and pcm_frames(short_speech).startswith(got)
    assert (summary.folder / "transcript.json").exists()


@pytest.mark.timeout(60)
def test_a_session_that_never_gets_begin_keeps_recording_says_why_and_keeps_it_all_as_a_gap(
        short_speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:3], no_begin=True) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=short_speech)
        session.speech.config.begin_timeout_s = 0.5
        summary = run_to_end(session, rec)
        assert len(stt.connections) >= 3  # tried again and again while recording
    assert summary.error is None and not summary.transcribed
    [said] = [e for e in rec.errors if "never started a session" in e.message]
    assert not said.fatal and isinstance(said, StreamingError)
    assert pcm_frames(short_speech) == pcm_frames(summary.audio_path)
    assert [(g.start_ms, g.end_ms) for g in summary.gaps] == [(0, len(pcm_frames(short_speech)) // 32)]


@pytest.mark.timeout(60)
def test_rejected_first_connections_are_retried_with_backoff(short_speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:3], reject_first=(2, 503)) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=short_speech)
        summary = run_to_end(session, rec)
        assert [c.http_status for c in stt.connections][:2] == [503, 503]
    assert summary.error is None and summary.turns >= 2


@pytest.mark.timeout(90)
def test_a_failed_translation_is_retried_automatically_once_the_llm_answers_again(
    short_speech: Path, tmp_path: Path
) -> None:
    # Every attempt for the first turn fails (4 attempts); later turns succeed, which means the
    # service is back: the failed cell is then retried without the user doing anything.
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:3]) as stt, \
            FakeLlmGateway(api_key=KEY, fail_first=4, fail_status=503) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=short_speech)
        session.translations.queue.backoff = Backoff(first_delay_s=0.01)
        summary = run_to_end(session, rec)
    statuses = [(i, tr.status) for i, tr in rec.translations if i == 0]
    assert (0, TranslationStatus.FAILED) in statuses, statuses
    assert statuses[-1] == (0, TranslationStatus.DONE)
    assert summary.translations_done == 3 and summary.translations_failed == 0
