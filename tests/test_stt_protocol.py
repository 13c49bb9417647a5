"""Pure tests of app/stt/protocol.py: URL and headers, the tolerant message reader, close texts."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from app.core.errors import ConfigError
from app.core.validate import streaming_base_url
from app.stt import protocol
from app.stt.protocol import (
    Begin,
    Ignored,
    MalformedMessage,
    ServerError,
    StreamingParams,
    Termination,
    TurnMessage,
    WireWord,
    auth_headers,
    build_url,
    describe_close,
    parse_message,
)


def query_of(url: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(v) == 1 for v in parsed.values()), "no parameter is sent twice"
    return {k: v[0] for k, v in parsed.items()}


# --- URL -------------------------------------------------------------------------------------


def test_default_url_sends_rate_encoding_model_and_format_turns() -> None:
    url = build_url(StreamingParams())
    assert url.startswith("wss://streaming.assemblyai.com/v3/ws?")
    assert query_of(url) == {
        "sample_rate": "16000",
        "encoding": "pcm_s16le",
        "speech_model": "universal-streaming-english",
        "format_turns": "true",
    }


def test_every_parameter_is_serialised_as_the_service_expects() -> None:
    params = StreamingParams(
        sample_rate=8000,
        encoding="pcm_mulaw",
        speech_model="universal-streaming-multilingual",
        format_turns=False,
        end_of_turn_confidence_threshold=0.55,
        min_turn_silence=300,
        max_turn_silence=2000,
        keyterms_prompt=("Sonny", " AssemblyAI ", "", "Zürich"),
        language_detection=True,
        inactivity_timeout=30,
    )
    q = query_of(build_url(params))
    assert q == {
        "sample_rate": "8000",
        "encoding": "pcm_mulaw",
        "speech_model": "universal-streaming-multilingual",
        "format_turns": "false",
        "end_of_turn_confidence_threshold": "0.55",
        "min_turn_silence": "300",
        "max_turn_silence": "2000",
        "keyterms_prompt": q["keyterms_prompt"],
        "language_detection": "true",
        "inactivity_timeout": "30",
    }
    # A JSON array, blank terms dropped, whitespace trimmed, non-ASCII kept [protocol §1.4, §6.8].
    assert json.loads(q["keyterms_prompt"]) == ["Sonny", "AssemblyAI", "Zürich"]


def test_optional_parameters_are_left_out_when_unset() -> None:
    q = query_of(build_url(StreamingParams()))
    for name in ("end_of_turn_confidence_threshold", "min_turn_silence", "max_turn_silence",
                 "keyterms_prompt", "language_detection", "inactivity_timeout", "token"):
        assert name not in q


@pytest.mark.parametrize("preset", sorted(protocol.TURN_PRESETS))
def test_turn_preset_sends_its_three_values(preset: str) -> None:
    threshold, min_ms, max_ms = protocol.TURN_PRESETS[preset]
    q = query_of(build_url(StreamingParams(turn_preset=preset)))
    assert float(q["end_of_turn_confidence_threshold"]) == threshold
    assert int(q["min_turn_silence"]) == min_ms
    assert int(q["max_turn_silence"]) == max_ms


def test_presets_match_the_documented_table() -> None:
    assert protocol.TURN_PRESETS == {
        "aggressive": (0.4, 160, 400),
        "balanced": (0.4, 400, 1280),
        "conservative": (0.7, 800, 3600),
    }


def test_explicit_values_override_the_preset() -> None:
    q = query_of(build_url(StreamingParams(turn_preset="balanced", end_of_turn_confidence_threshold=0.9,
                                           max_turn_silence=3000)))
    assert q["end_of_turn_confidence_threshold"] == "0.9"
    assert q["min_turn_silence"] == "400"  # from the preset
    assert q["max_turn_silence"] == "3000"


@pytest.mark.parametrize(
    "params",
    [
        StreamingParams(sample_rate=0),
        StreamingParams(encoding="mp3"),
        StreamingParams(speech_model=""),
        StreamingParams(turn_preset="sleepy"),
        StreamingParams(end_of_turn_confidence_threshold=1.5),
        StreamingParams(min_turn_silence=-1),
        StreamingParams(min_turn_silence=500, max_turn_silence=400),
        StreamingParams(turn_preset="conservative", max_turn_silence=500),  # below the preset's min 800
        StreamingParams(keyterms_prompt=tuple(f"t{i}" for i in range(101))),
        StreamingParams(keyterms_prompt=("x" * 51,)),
        StreamingParams(inactivity_timeout=4),
        StreamingParams(inactivity_timeout=3601),
    ],
)
def test_invalid_settings_raise_config_error_with_a_sentence(params: StreamingParams) -> None:
    with pytest.raises(ConfigError) as info:
        params.query()
    assert info.value.message.endswith(".")


def test_limits_at_the_edges_are_accepted() -> None:
    q = StreamingParams(keyterms_prompt=(*tuple(f"t{i}" for i in range(99)), "y" * 50),
                        inactivity_timeout=5, end_of_turn_confidence_threshold=0.0).query()
    assert len(json.loads(q["keyterms_prompt"])) == 100
    assert q["inactivity_timeout"] == "5" and q["end_of_turn_confidence_threshold"] == "0.0"
    assert StreamingParams(inactivity_timeout=3600).query()["inactivity_timeout"] == "3600"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("default", "wss://streaming.assemblyai.com/v3/ws"),
        ("us", "wss://streaming.us.assemblyai.com/v3/ws"),
        ("EU", "wss://streaming.eu.assemblyai.com/v3/ws"),
    ],
)
def test_region_selects_the_documented_host(region: str, expected: str) -> None:
    assert streaming_base_url(None, region) == expected
    assert build_url(StreamingParams(), streaming_base_url(None, region)).startswith(expected + "?")


def test_explicit_url_wins_over_region_and_gets_the_default_path() -> None:
    assert streaming_base_url("ws://127.0.0.1:8765", "eu") == "ws://127.0.0.1:8765/v3/ws"
    assert streaming_base_url("wss://example.test/custom", "us") == "wss://example.test/custom"


@pytest.mark.parametrize("url", ["https://streaming.assemblyai.com/v3/ws", "wss://", "streaming.assemblyai.com",
                                 "wss://host/v3/ws?token=abc"])
def test_unusable_explicit_urls_raise_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        streaming_base_url(url)


def test_unknown_region_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="mars"):
        streaming_base_url(None, "mars")


def test_auth_header_is_the_raw_key_without_bearer() -> None:
    assert auth_headers("  abc123 ") == {"Authorization": "abc123"}


@pytest.mark.parametrize("key", ["", "   "])
def test_missing_key_raises_config_error(key: str) -> None:
    with pytest.raises(ConfigError, match="API key"):
        auth_headers(key)


def test_the_key_is_never_part_of_the_url() -> None:
    url = build_url(StreamingParams(keyterms_prompt=("secret-looking",)))
    assert "Authorization" not in url and "token" not in query_of(url)


# --- parser ----------------------------------------------------------------------------------


def test_begin_with_int_expiry_and_configuration() -> None:
    msg = parse_message('{"id":"de5d","expires_at":1759796682,"configuration":{"model":"u3-rt-pro"},"type":"Begin"}')
    assert msg == Begin(id="de5d", expires_at=1759796682, model="u3-rt-pro")


def test_begin_configuration_is_read_whole_and_compared_with_what_was_asked() -> None:
    msg = parse_message(json.dumps({"id": "b", "expires_at": 1, "type": "Begin", "configuration": {
        "model": "u3-rt-pro", "mode": "balanced", "api_version": "2025-05-12", "later": {"x": 1}}}))
    assert msg == Begin(id="b", expires_at=1, model="u3-rt-pro", mode="balanced", api_version="2025-05-12")
    asked = {"speech_model": "universal-3-5-pro", "mode": "max_accuracy"}
    assert protocol.configuration_differences(asked, msg) == [
        "asked for speech model universal-3-5-pro, the service applied u3-rt-pro",
        "asked for mode max_accuracy, the service applied balanced"]
    assert protocol.configuration_differences({"speech_model": "u3-rt-pro"}, msg) == [], "no mode asked: none compared"
    assert protocol.configuration_differences(asked, Begin(id="old", expires_at=1)) == [], "older servers: nothing"


def test_a_warning_is_its_own_message_not_an_error() -> None:
    assert parse_message('{"warning":"Keyterms are not supported","warning_code":1001,"type":"Warning"}') == \
        protocol.ServerWarning("Keyterms are not supported", 1001)


def test_begin_with_iso_string_expiry_from_the_launch_spec() -> None:
    msg = parse_message('{"type":"Begin","id":"x","expires_at":"2025-06-01T12:00:00Z"}')
    assert msg == Begin(id="x", expires_at="2025-06-01T12:00:00Z", model=None)


def test_turn_with_type_last_and_unknown_fields_is_parsed() -> None:
    text = json.dumps({
        "turn_order": 0, "turn_is_formatted": False, "end_of_turn": False, "transcript": "",
        "end_of_turn_confidence": 0.017, "utterance": "", "future_field": {"a": 1},
        "words": [{"start": 1920, "end": 2000, "text": "hi", "confidence": 0.87, "word_is_final": False,
                   "speaker": "A"}],
        "type": "Turn",
    })
    msg = parse_message(text)
    assert isinstance(msg, TurnMessage)
    assert msg.turn_order == 0 and not msg.end_of_turn and msg.transcript == ""
    assert msg.words == (WireWord(text="hi", start=1920, end=2000, confidence=0.87, word_is_final=False),)


def test_turn_keeps_language_and_speaker_and_skips_broken_words() -> None:
    msg = parse_message(json.dumps({
        "type": "Turn", "turn_order": 3, "end_of_turn": True, "turn_is_formatted": True,
        "transcript": "Hi.", "language_code": "en", "speaker_label": "B",
        "words": [{"text": "Hi."}, "garbage", {"start": 5}],
    }))
    assert isinstance(msg, TurnMessage)
    assert msg.language_code == "en" and msg.speaker_label == "B"
    assert [w.text for w in msg.words] == ["Hi."]


@pytest.mark.parametrize("order", [None, -1, "0", True, 1.5])
def test_turn_without_a_usable_turn_order_is_malformed(order: object) -> None:
    with pytest.raises(MalformedMessage):
        parse_message(json.dumps({"type": "Turn", "turn_order": order}))


def test_termination_accepts_int_or_float_durations() -> None:
    assert parse_message('{"type":"Termination","audio_duration_seconds":7,"session_duration_seconds":8}') == \
        Termination(7.0, 8.0)
    assert parse_message('{"type":"Termination","audio_duration_seconds":7.5}') == Termination(7.5, 0.0)


def test_error_message_keeps_code_and_text() -> None:
    msg = parse_message('{"type":"Error","error_code":3008,"error":"Session Expired: Maximum session duration exceeded"}')
    assert msg == ServerError(message="Session Expired: Maximum session duration exceeded", code=3008)


def test_bare_error_object_from_older_servers_is_a_server_error() -> None:
    assert parse_message('{"error":"Session Cancelled: An error occurred"}') == \
        ServerError(message="Session Cancelled: An error occurred", code=None)


@pytest.mark.parametrize("kind", ["Heartbeat", "SpeechStarted", "Martian"])
def test_unknown_and_unused_types_are_ignored_not_fatal(kind: str) -> None:
    msg = parse_message(json.dumps({"type": kind, "x": 1}))
    assert isinstance(msg, Ignored) and msg.type == kind


def test_bytes_frames_are_parsed_like_text() -> None:
    assert isinstance(parse_message(b'{"type":"Termination"}'), Termination)


@pytest.mark.parametrize("text", ["", "not json", "[]", "42", '"Begin"', b"\xff\xfe"])
def test_garbage_raises_malformed_message(text: str | bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_message(text)


def test_client_messages_are_the_documented_json() -> None:
    assert json.loads(protocol.TERMINATE) == {"type": "Terminate"}
    assert json.loads(protocol.FORCE_ENDPOINT) == {"type": "ForceEndpoint"}
    assert json.loads(protocol.KEEP_ALIVE) == {"type": "KeepAlive"}
    assert json.loads(protocol.update_configuration(max_turn_silence=900)) == \
        {"type": "UpdateConfiguration", "max_turn_silence": 900}


# --- close codes -----------------------------------------------------------------------------


def test_1008_says_the_key_was_rejected_and_what_to_do() -> None:
    text = describe_close(1008, "Unauthorized Connection: Missing Authorization header")
    assert "API key was rejected (1008" in text and "Settings" in text


@pytest.mark.parametrize("code", [1008, 3009])
def test_too_many_sessions_is_not_called_a_bad_key(code: int) -> None:
    text = describe_close(code, "Unauthorized connection: Too many concurrent sessions")
    assert "too many sessions" in text and "key" not in text


@pytest.mark.parametrize(
    ("code", "needle"),
    [(3005, "cancelled"), (3006, "rejected a message"), (3007, "audio timing"), (3008, "3-hour limit"),
     (None, "lost"), (4999, "4999")],
)
def test_each_close_code_has_its_own_sentence(code: int | None, needle: str) -> None:
    assert needle in describe_close(code, "")


def test_retryable_codes_exclude_auth_and_client_bugs() -> None:
    assert {3005, 3008, 1006, 1011}.issubset(protocol.RETRYABLE_CLOSE_CODES)
    assert not {1008, 3006, 3007, 3009}.intersection(protocol.RETRYABLE_CLOSE_CODES)
