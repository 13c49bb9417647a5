"""The fake streaming service behaves like the real one per model and per option [protocol §9]:
the u3 family's partials in pauses, per-turn languages, speaker labels and their revision,
whisper-rt's non-speech finals, a late formatted copy, a slow Begin, Begin.configuration,
Warning messages and a transient 1008.

Driven with the ``websockets`` sync client, like tests/test_fake_streaming_server.py, so the app's
client cannot hide a bug in the fake. Audio goes as fast as the test likes (the rate check is off):
the fake's detector runs on audio time.
"""
from __future__ import annotations

import time
from typing import Any

import pytest
from fakes.streaming_server import INCORRECT_PADDING, FakeStreamingServer, Fault, silence, tone
from test_fake_streaming_server import FAST, KEY, client, finals, read_until_closed, recv_json, send_frames
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.timeout(30)


def query(model: str, **extra: str) -> str:
    params = {"sample_rate": "16000", "encoding": "pcm_s16le", "speech_model": model, **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


def session(srv: FakeStreamingServer, q: str, pcm: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Begin, then every message until the close that follows Terminate."""
    with client(srv, q) as ws:
        begin = recv_json(ws)
        send_frames(ws, pcm)
        ws.send('{"type":"Terminate"}')
        return begin, read_until_closed(ws)


def turns(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in msgs if m.get("type") == "Turn"]


@pytest.mark.parametrize("model", ["u3-rt-pro", "universal-3-5-pro"])
def test_the_u3_family_speaks_only_in_pauses_then_sends_one_formatted_final(model: str) -> None:
    # "My name is" (3 words at 250 ms each), a 300 ms pause, "Sonny.", a pause that ends the sentence.
    pcm = silence(200) + tone(700) + silence(300) + tone(400) + silence(900)
    with FakeStreamingServer(KEY, ["My name is Sonny."], max_lead_s=FAST) as srv:
        _, msgs = session(srv, query(model, format_turns="true"), pcm)
    assert msgs[0]["type"] == "SpeechStarted" and msgs[0]["timestamp"] == 200
    partial, final = turns(msgs)  # no partial while speaking; one per pause; one final, no copy
    assert not partial["end_of_turn"] and not partial["turn_is_formatted"] and partial["utterance"] == ""
    assert partial["transcript"] == "My name is—" and not any(w["word_is_final"] for w in partial["words"])
    assert final["end_of_turn"] and final["turn_is_formatted"] and final["end_of_turn_confidence"] == 1.0
    assert final["transcript"] == final["utterance"] == "My name is Sonny."


def test_a_universal_model_sends_a_partial_per_word_for_comparison() -> None:
    pcm = silence(200) + tone(700) + silence(300) + tone(400) + silence(900)
    with FakeStreamingServer(KEY, ["My name is Sonny."], max_lead_s=FAST) as srv:
        _, msgs = session(srv, query("universal-streaming-english"), pcm)
    assert [m["type"] for m in msgs].count("SpeechStarted") == 0
    assert len([t for t in turns(msgs) if not t["end_of_turn"]]) == 4


def test_each_turn_reports_its_own_language_when_detection_is_asked_and_the_model_detects() -> None:
    pcm = silence(200) + tone(600) + silence(800) + tone(600) + silence(800)

    def run(q: str) -> list[dict[str, Any]]:
        with FakeStreamingServer(KEY, ["Hola a todos.", "Bonjour."], script_languages=["es", "fr"],
                                 max_lead_s=FAST) as srv:
            return session(srv, q, pcm)[1]

    detected = run(query("universal-streaming-multilingual", language_detection="true"))
    plain = run(query("universal-streaming-multilingual"))
    english = run(query("universal-streaming-english", language_detection="true"))
    assert [(f["language_code"], f["language_confidence"] > 0) for f in finals(detected)] == [("es", True), ("fr", True)]
    assert not any("language_code" in t for t in turns(detected) if not t["end_of_turn"]), "only on finals"
    assert not any("language_code" in t for t in turns(plain) + turns(english))


def test_speaker_labels_come_when_asked_and_a_revision_may_relabel_a_turn_before_termination() -> None:
    pcm = silence(200) + tone(1200) + silence(800) + tone(1200) + silence(800) + tone(400) + silence(800)
    with FakeStreamingServer(KEY, ["First speaker here.", "Second one now.", "Short."], script_speakers="ABA",
                             speaker_revisions={0: "B"}, max_lead_s=FAST) as srv:
        _, msgs = session(srv, query("universal-streaming-english", speaker_labels="true", format_turns="false"), pcm)
        _, unlabelled = session(srv, query("universal-streaming-english"), pcm)
    assert [f["speaker_label"] for f in finals(msgs)] == ["A", "B", "UNKNOWN"], "under 1 s: UNKNOWN"
    assert all(w["speaker"] == f["speaker_label"] for f in finals(msgs) for w in f["words"])
    revision, termination = msgs[-2:]
    assert revision["type"] == "SpeakerRevision" and termination["type"] == "Termination"
    assert [(r["turn_order"], r["speaker_label"]) for r in revision["revisions"]] == [(0, "B")]
    assert not any("speaker_label" in t for t in turns(unlabelled))
    assert "SpeakerRevision" not in [m["type"] for m in unlabelled]


def test_whisper_rt_sends_music_and_silence_as_non_speech_finals() -> None:
    pcm = silence(200) + tone(600) + silence(800) + tone(600) + silence(800) + silence(600)
    script = ["[Music]", "Hello there."]
    with FakeStreamingServer(KEY, script, whisper_silence_ms=500, max_lead_s=FAST) as srv:
        _, msgs = session(srv, query("whisper-rt", language_detection="true"), pcm)
    with FakeStreamingServer(KEY, script, whisper_silence_ms=500, max_lead_s=FAST) as srv:
        _, other = session(srv, query("universal-streaming-english"), pcm)
    music, speech, quiet = finals(msgs)
    assert (music["transcript"], music["utterance"]) == (" music", "[Music]")
    assert speech["transcript"] == "hello there" and speech["language_code"] == "en"
    assert (quiet["transcript"], quiet["utterance"]) == (" silence  silence", "[ Silence] [ Silence]")
    assert [w["text"] for w in quiet["words"]][:2] == ["", "silence"]
    assert [f["transcript"] for f in finals(other)] == ["hello there"], "other models say nothing for music"


def test_a_late_formatted_copy_arrives_after_the_next_turns_first_partial() -> None:
    pcm = silence(200) + tone(500) + silence(800) + tone(500) + silence(800)
    with FakeStreamingServer(KEY, ["Hi, Sonny.", "How are you?"], late_formatted_copy=True, max_lead_s=FAST) as srv:
        _, msgs = session(srv, query("universal-streaming-english", format_turns="true"), pcm)
    sequence = [(t["turn_order"], t["end_of_turn"], t["turn_is_formatted"]) for t in turns(msgs)]
    first_of_turn_1 = sequence.index((1, False, False))
    assert sequence[first_of_turn_1 - 1] == (0, True, False)
    assert sequence[first_of_turn_1 + 1] == (0, True, True), "the copy of turn 0 comes after turn 1 started"
    assert sequence[-1] == (1, True, True) and msgs[-1]["type"] == "Termination", "the last copy before the end"


def test_begin_can_take_a_while_and_audio_sent_meanwhile_is_heard() -> None:
    with FakeStreamingServer(KEY, ["Early words."], begin_delay_s=0.5, max_lead_s=FAST) as srv:
        with client(srv, query("universal-streaming-english")) as ws:
            sent_at = time.monotonic()
            send_frames(ws, silence(100) + tone(500) + silence(800))  # before Begin, as SDKs do
            begin = recv_json(ws)
            waited = time.monotonic() - sent_at
            ws.send('{"type":"Terminate"}')
            msgs = read_until_closed(ws)
        rec = srv.connections[0]
    assert begin["type"] == "Begin" and waited >= 0.4
    assert rec.frame_times[0] - sent_at < 0.3, "frames are recorded when they arrive, not after Begin"
    assert [f["transcript"] for f in finals(msgs)][:1] == ["early words"]


def test_begin_configuration_echoes_the_model_and_mode_or_what_the_server_applied() -> None:
    with FakeStreamingServer(KEY) as srv:
        u35, _ = session(srv, query("universal-3-5-pro", mode="max_accuracy"), b"")
        english, _ = session(srv, query("universal-streaming-english"), b"")
    assert u35["configuration"] == {"model": "universal-3-5-pro", "mode": "max_accuracy", "api_version": "2025-05-12"}
    assert english["configuration"] == {"model": "universal-streaming-english", "api_version": "2025-05-12"}
    with FakeStreamingServer(KEY, applied_model="u3-rt-pro", applied_mode="balanced") as srv:
        swapped, _ = session(srv, query("universal-3-5-pro", mode="max_accuracy"), b"")
    assert swapped["configuration"]["model"] == "u3-rt-pro" and swapped["configuration"]["mode"] == "balanced"
    with FakeStreamingServer(KEY, begin_configuration=False) as srv:
        old, _ = session(srv, query("u3-rt-pro"), b"")
    assert "configuration" not in old


def test_warnings_follow_begin() -> None:
    with FakeStreamingServer(KEY, warnings=[(2001, "keyterms_prompt is not supported for this model")]) as srv:
        _, msgs = session(srv, query("whisper-rt"), b"")
    assert msgs[0] == {"warning_code": 2001, "warning": "keyterms_prompt is not supported for this model",
                       "type": "Warning"}


def test_a_transient_1008_closes_one_connection_and_the_next_one_works() -> None:
    with FakeStreamingServer(KEY, faults=[Fault(reject=1008, reject_reason=INCORRECT_PADDING)]) as srv:
        with client(srv, query("universal-streaming-english")) as ws, pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert (ws.close_code, ws.close_reason) == (1008, INCORRECT_PADDING)
        begin, _ = session(srv, query("universal-streaming-english"), b"")
    assert begin["type"] == "Begin"
