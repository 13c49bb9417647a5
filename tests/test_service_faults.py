"""What the real streaming service does that the first fakes did not [protocol §9], each met by a
real session against the local fakes: a network path that dies without a close, a transient 1008,
whisper-rt's non-speech finals, and the u3 family's partials-in-pauses."""
from __future__ import annotations

from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.relay import TcpRelay
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY, make_session, pcm_frames, run_to_end
from support.speech import make_speech_wav

from app.pipeline.events import SessionState

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

SENTENCES = ["Good morning everyone.", "Let us begin with the first item.",
             "The numbers look good this quarter.", "Thank you, that is all."]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "four.wav", SENTENCES, pause_s=1.0)


@pytest.mark.timeout(90)
def test_a_network_path_that_dies_mid_sentence_is_noticed_reconnected_and_marked(speech: Path, tmp_path: Path) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, TcpRelay(stt.port) as relay, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=relay.ws_url(), llm_url=llm.base_url, input_wav=speech)
        # Shorter than the defaults (2 s / 8 s) to keep the test short; bench/ measures the defaults.
        session.config.liveness_timeout_s, session.config.ping_interval_s = 1.5, 0.3

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
