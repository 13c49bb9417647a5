"""The fake AssemblyAI streaming server enforces the protocol's rules, so client tests can trust it.

Driven with the ``websockets`` sync client (not the app's client), so a bug in one cannot hide a
bug in the other. Audio is sent as fast as the test likes where timing is not the subject: the
fake's rate check is widened with ``max_lead_s`` and its detector runs on audio time, not wall time.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fakes.streaming_server import FakeStreamingServer, silence, tone, utterances
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.timeout(30)
KEY = "test-key"
QUERY = "sample_rate=16000&encoding=pcm_s16le&speech_model=universal-streaming-english"
MULTI = QUERY.replace("universal-streaming-english", "universal-streaming-multilingual")
FAST = 1e9  # max_lead_s that switches the rate check off


@contextmanager
def client(srv: FakeStreamingServer, query: str = QUERY, key: str | None = KEY) -> Iterator[ClientConnection]:
    headers = {"Authorization": key} if key is not None else {}
    with connect(f"{srv.url}?{query}", additional_headers=headers, open_timeout=5, close_timeout=2) as ws:
        yield ws


def recv_json(ws: ClientConnection) -> dict[str, Any]:
    msg = ws.recv(timeout=5)
    assert isinstance(msg, str)
    data = json.loads(msg)
    assert isinstance(data, dict)
    return data


def read_until_closed(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every message until the server closes; the close code is then on ws.close_code."""
    out: list[dict[str, Any]] = []
    try:
        while True:
            msg = ws.recv(timeout=5)
            assert isinstance(msg, str)
            out.append(json.loads(msg))
    except ConnectionClosed:
        return out


def send_frames(ws: ClientConnection, pcm: bytes, frame_bytes: int = 3200) -> None:
    """Send back to back; stops quietly if the server has closed (the test reads why)."""
    try:
        for pos in range(0, len(pcm), frame_bytes):
            ws.send(pcm[pos:pos + frame_bytes])
    except ConnectionClosed:
        pass


def finals(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in msgs if m.get("type") == "Turn" and m["end_of_turn"]]


# --- session start -------------------------------------------------------------------------------


def test_begin_carries_a_session_id_an_int_expiry_and_the_model() -> None:
    with FakeStreamingServer(KEY) as srv, client(srv) as ws:
        begin = recv_json(ws)
    assert begin["type"] == "Begin" and len(begin["id"]) == 36
    assert isinstance(begin["expires_at"], int) and abs(begin["expires_at"] - (time.time() + 10800)) < 60
    assert begin["configuration"]["model"] == "universal-streaming-english"


def test_query_is_recorded_typed_and_unknown_params_are_ignored() -> None:
    query = ("sample_rate=8000&encoding=pcm_s16le&speech_model=x&format_turns=True&language_detection=FALSE"
             "&end_of_turn_confidence_threshold=0.7&min_turn_silence=160&max_turn_silence=400"
             "&keyterms_prompt=%5B%22Sonny%22%2C%22Z%C3%BCrich%22%5D&inactivity_timeout=30&speechModel=typo")
    with FakeStreamingServer(KEY) as srv, client(srv, query) as ws:
        assert recv_json(ws)["type"] == "Begin"
        rec = srv.wait_for_connections(1)[0]
    assert rec.params == {
        "sample_rate": 8000, "encoding": "pcm_s16le", "speech_model": "x", "format_turns": True,
        "language_detection": False, "end_of_turn_confidence_threshold": 0.7, "min_turn_silence": 160,
        "max_turn_silence": 400, "keyterms_prompt": ["Sonny", "Zürich"], "inactivity_timeout": 30,
    }
    assert rec.query["speechModel"] == "typo"


def test_the_key_is_read_from_the_header_and_recorded_with_it() -> None:
    with FakeStreamingServer(KEY) as srv, client(srv) as ws:
        recv_json(ws)
        rec = srv.wait_for_connections(1)[0]
    assert rec.authorized and rec.headers["authorization"] == KEY and KEY not in rec.path


def test_a_temporary_token_in_the_query_is_accepted() -> None:
    with FakeStreamingServer(KEY, tokens=["tmp-token"]) as srv, \
            client(srv, QUERY + "&token=tmp-token", key=None) as ws:
        assert recv_json(ws)["type"] == "Begin"


@pytest.mark.parametrize("key", [None, "wrong", f"Bearer {KEY}"])
def test_a_bad_key_is_closed_with_1008_and_no_begin(key: str | None) -> None:
    with FakeStreamingServer(KEY) as srv, client(srv, key=key) as ws:
        msgs = read_until_closed(ws)
        assert msgs == []
        assert ws.close_code == 1008
        assert ws.close_reason == "Unauthorized Connection: Missing Authorization header"
        assert srv.wait_for_end(0).end == "closed_by_server"


def test_a_bad_key_can_get_an_error_frame_before_the_close() -> None:
    with FakeStreamingServer(KEY, auth_error_frame=True) as srv, client(srv, key="wrong") as ws:
        msgs = read_until_closed(ws)
        assert [m["type"] for m in msgs] == ["Error"] and msgs[0]["error_code"] == 1008
        assert ws.close_code == 1008


def test_http401_mode_rejects_the_upgrade() -> None:
    with FakeStreamingServer(KEY, auth_mode="http401") as srv:
        with pytest.raises(InvalidStatus) as info, client(srv, key="wrong"):
            pass
        assert info.value.response.status_code == 401
        assert srv.wait_for_end(0).http_status == 401
        with client(srv) as ws:  # the right key still works in this mode
            assert recv_json(ws)["type"] == "Begin"


def test_unknown_path_is_404() -> None:
    with FakeStreamingServer(KEY) as srv:
        with pytest.raises(InvalidStatus) as info:
            connect(srv.url.replace("/v3/ws", "/v2/realtime/ws"), additional_headers={"Authorization": KEY})
        assert info.value.response.status_code == 404


# --- audio rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "ms"), [(640, "20"), (32002, "1000.06")])
def test_a_frame_outside_50_to_1000_ms_is_closed_with_3007(size: int, ms: str) -> None:
    with FakeStreamingServer(KEY) as srv, client(srv) as ws:
        recv_json(ws)
        ws.send(bytes(size))
        msgs = read_until_closed(ws)
        text = f"Input duration violation: {ms} ms. Expected between 50 and 1000 ms"
        assert msgs == [{"type": "Error", "error_code": 3007, "error": text}]
        assert (ws.close_code, ws.close_reason) == (3007, text)


def test_frames_at_exactly_50_and_1000_ms_are_accepted() -> None:
    with FakeStreamingServer(KEY) as srv, client(srv) as ws:
        recv_json(ws)
        ws.send(bytes(1600))
        ws.send(bytes(32000))
        rec = srv.wait_for_audio(1.05)
        assert rec.frame_sizes == [1600, 32000] and rec.end == "open"


def test_sending_faster_than_real_time_is_closed_with_3007() -> None:
    with FakeStreamingServer(KEY, max_lead_s=1.0) as srv, client(srv) as ws:
        recv_json(ws)
        send_frames(ws, silence(3000))
        msgs = read_until_closed(ws)
        assert ws.close_code == 3007
        match = re.fullmatch(r"Audio Transmission Rate Exceeded: Received (\d+\.\d) sec\. audio in (\d+\.\d{6}) sec",
                             msgs[-1]["error"])
        assert match, msgs[-1]
        assert float(match[1]) - float(match[2]) > 1.0


def test_bad_text_frames_are_closed_with_3006_and_the_documented_text() -> None:
    cases = [("{not json", "Invalid JSON: {not json"), ("[]", "Invalid Message: []"),
             ('{"type":"Pause"}', "Invalid Message Type: Pause")]
    with FakeStreamingServer(KEY) as srv:
        for text, error in cases:
            with client(srv) as ws:
                recv_json(ws)
                ws.send(text)
                assert read_until_closed(ws) == [{"type": "Error", "error_code": 3006, "error": error}]
                assert ws.close_code == 3006


def test_a_long_error_text_is_replaced_in_the_close_reason_only() -> None:
    long_text = "{" + "x" * 200
    with FakeStreamingServer(KEY) as srv, client(srv) as ws:
        recv_json(ws)
        ws.send(long_text)
        msgs = read_until_closed(ws)
        assert msgs[0]["error"] == f"Invalid JSON: {long_text}"
        assert ws.close_reason == "See Error message for details"


def test_keepalive_and_update_configuration_get_no_reply() -> None:
    with FakeStreamingServer(KEY) as srv, client(srv) as ws:
        recv_json(ws)
        ws.send('{"type":"KeepAlive"}')
        ws.send('{"type":"UpdateConfiguration","max_turn_silence":900}')
        ws.send('{"type":"Terminate"}')
        assert [m["type"] for m in read_until_closed(ws)] == ["Termination"]
        assert srv.wait_for_end(0).text_types == ["KeepAlive", "UpdateConfiguration", "Terminate"]


# --- turns ---------------------------------------------------------------------------------------


def test_terminate_flushes_the_open_turn_then_termination_and_1000() -> None:
    with FakeStreamingServer(KEY, ["Hello there, world."], max_lead_s=FAST) as srv, \
            client(srv, QUERY + "&format_turns=false") as ws:
        recv_json(ws)
        send_frames(ws, silence(200) + tone(1000))  # still speaking
        ws.send('{"type":"Terminate"}')
        msgs = read_until_closed(ws)
        assert ws.close_code == 1000
    assert [m["transcript"] for m in finals(msgs)] == ["hello there world"]
    termination = msgs[-1]
    assert termination["type"] == "Termination" and termination["audio_duration_seconds"] == 1
    assert isinstance(termination["session_duration_seconds"], int)  # ints, as in the spec
    rec = srv.connections[0]
    assert rec.terminated and rec.end == "closed_by_server" and rec.close_code == 1000


def test_partials_grow_word_by_word_with_only_final_words_in_transcript() -> None:
    with FakeStreamingServer(KEY, ["Hi, my name is Sonny."], max_lead_s=FAST) as srv, \
            client(srv, QUERY + "&format_turns=false") as ws:
        recv_json(ws)
        send_frames(ws, utterances(1500))
        ws.send('{"type":"Terminate"}')
        msgs = read_until_closed(ws)
    turns = [m for m in msgs if m["type"] == "Turn"]
    partials = [m for m in turns if not m["end_of_turn"]]
    assert [m["transcript"] for m in partials] == ["", "hi", "hi my", "hi my name", "hi my name is"]
    for m in partials:
        assert [w["word_is_final"] for w in m["words"]] == [True] * (len(m["words"]) - 1) + [False]
        assert m["utterance"] == "" and m["turn_order"] == 0 and not m["turn_is_formatted"]
    (final,) = finals(msgs)
    assert final["transcript"] == final["utterance"] == "hi my name is sonny"
    assert all(w["word_is_final"] for w in final["words"])
    starts = [w["start"] for w in final["words"]]
    assert starts == sorted(starts) and 180 <= starts[0] <= 220  # ms from the start of the audio


def test_two_message_mode_sends_a_formatted_copy_of_each_final() -> None:
    with FakeStreamingServer(KEY, ["Hi, my name is Sonny.", "How are you?"], max_lead_s=FAST,
                             end_silence_ms=500) as srv, client(srv, QUERY + "&format_turns=true") as ws:
        recv_json(ws)
        send_frames(ws, utterances(800, 600, gap_ms=700))
        ws.send('{"type":"Terminate"}')
        msgs = read_until_closed(ws)
    summary = [(m["turn_order"], m["turn_is_formatted"], m["transcript"], m["utterance"]) for m in finals(msgs)]
    assert summary == [
        (0, False, "hi my name is sonny", "hi my name is sonny"),
        (0, True, "Hi, my name is Sonny.", ""),
        (1, False, "how are you", "how are you"),
        (1, True, "How are you?", ""),
    ]


def test_inline_mode_sends_one_formatted_final_per_turn() -> None:
    with FakeStreamingServer(KEY, ["Hi, my name is Sonny."], formatting="inline", max_lead_s=FAST) as srv, \
            client(srv, QUERY + "&format_turns=true") as ws:
        recv_json(ws)
        send_frames(ws, utterances(1200))
        ws.send('{"type":"Terminate"}')
        msgs = read_until_closed(ws)
    (final,) = finals(msgs)
    assert final["turn_is_formatted"] and final["transcript"] == final["utterance"] == "Hi, my name is Sonny."
    assert all(m["turn_is_formatted"] for m in msgs if m["type"] == "Turn")


def test_without_format_turns_there_is_one_unformatted_final() -> None:
    with FakeStreamingServer(KEY, ["Hi, Sonny."], max_lead_s=FAST) as srv, \
            client(srv, MULTI + "&format_turns=False&language_detection=true") as ws:
        recv_json(ws)
        send_frames(ws, utterances(600))
        ws.send('{"type":"Terminate"}')
        (final,) = finals(read_until_closed(ws))
    assert not final["turn_is_formatted"] and final["transcript"] == "hi sonny"
    assert final["language_code"] == "en"


def test_a_turn_ends_only_after_end_silence_ms() -> None:
    with FakeStreamingServer(KEY, ["One two."], max_lead_s=FAST, end_silence_ms=700) as srv, \
            client(srv, QUERY + "&format_turns=false") as ws:
        recv_json(ws)
        send_frames(ws, tone(500) + silence(600))
        assert srv.wait_for_audio(1.1).turns(final_only=True) == []
        send_frames(ws, silence(200))
        final = srv.wait_for_sent(lambda m: m.get("end_of_turn") is True)
    assert final["transcript"] == "one two"


def test_force_endpoint_ends_the_turn_at_once() -> None:
    with FakeStreamingServer(KEY, ["One two three."], max_lead_s=FAST) as srv, \
            client(srv, QUERY + "&format_turns=false") as ws:
        recv_json(ws)
        send_frames(ws, tone(400))
        ws.send('{"type":"ForceEndpoint"}')
        final = srv.wait_for_sent(lambda m: m.get("end_of_turn") is True)
    assert final["transcript"] == "one two three" and final["turn_order"] == 0


def test_placeholder_words_when_the_script_runs_out() -> None:
    with FakeStreamingServer(KEY, ["Only one."], max_lead_s=FAST) as srv, \
            client(srv, QUERY + "&format_turns=true") as ws:
        recv_json(ws)
        send_frames(ws, utterances(300, 700))
        ws.send('{"type":"Terminate"}')
        texts = [m["transcript"] for m in finals(read_until_closed(ws))]
    assert texts == ["only one", "Only one.", "word1 word2 word3", "Word1 word2 word3."]


# --- faults --------------------------------------------------------------------------------------


def test_drop_after_s_closes_tcp_without_a_close_frame() -> None:
    with FakeStreamingServer(KEY, drop_after_s=0.5, max_lead_s=FAST) as srv, client(srv) as ws:
        recv_json(ws)
        send_frames(ws, silence(500))
        read_until_closed(ws)
        assert ws.close_code == 1006  # websockets' name for "no close frame received"
        assert srv.wait_for_end(0).end == "dropped"


def test_error_at_s_sends_the_error_then_closes_with_its_code() -> None:
    with FakeStreamingServer(KEY, error_at_s=(0.3, 3005, "Session Cancelled: An error occurred"),
                             max_lead_s=FAST) as srv, client(srv) as ws:
        recv_json(ws)
        send_frames(ws, silence(300))
        assert read_until_closed(ws) == [{"type": "Error", "error_code": 3005,
                                          "error": "Session Cancelled: An error occurred"}]
        assert ws.close_code == 3005


def test_expire_after_s_closes_with_3008_and_begin_says_when() -> None:
    with FakeStreamingServer(KEY, expire_after_s=0.3) as srv, client(srv) as ws:
        begin = recv_json(ws)
        assert begin["expires_at"] <= time.time() + 2
        msgs = read_until_closed(ws)
        assert msgs[-1]["error_code"] == 3008 and ws.close_code == 3008


def test_no_begin_keeps_the_socket_open_and_silent() -> None:
    with FakeStreamingServer(KEY, no_begin=True) as srv, client(srv) as ws:
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)


def test_reject_first_refuses_n_connections_then_behaves() -> None:
    with FakeStreamingServer(KEY, reject_first=(2, 3009)) as srv:
        for _ in range(2):
            with client(srv) as ws:
                msgs = read_until_closed(ws)
                assert msgs[0]["error"] == "Unauthorized Connection: Too many concurrent sessions"
                assert ws.close_code == 3009
        with client(srv) as ws:
            assert recv_json(ws)["type"] == "Begin"


def test_reject_first_with_an_http_status_rejects_the_upgrade() -> None:
    with FakeStreamingServer(KEY, reject_first=(1, 503)) as srv:
        with pytest.raises(InvalidStatus) as info, client(srv):
            pass
        assert info.value.response.status_code == 503
        with client(srv) as ws:
            assert recv_json(ws)["type"] == "Begin"
        assert [c.http_status for c in srv.connections] == [503, None]


def test_faults_per_connection_drop_several_times_then_behave() -> None:
    with FakeStreamingServer(KEY, faults=[{"drop_after_s": 0.1}] * 2, max_lead_s=FAST) as srv:
        srv.set_fault(3, no_begin=True)
        for _ in range(2):
            with client(srv) as ws:
                recv_json(ws)
                send_frames(ws, silence(100))
                read_until_closed(ws)
        with client(srv) as ws:
            recv_json(ws)
            send_frames(ws, silence(300))
            ws.send('{"type":"Terminate"}')
            assert read_until_closed(ws)[-1]["type"] == "Termination"
        with client(srv) as ws:
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.2)
        srv.wait_for_end(3)
    assert [c.end for c in srv.connections] == ["dropped", "dropped", "closed_by_server", "closed_by_client"]
    assert srv.connections[3].session_id is None  # no Begin was sent


def test_the_script_carries_on_after_a_dropped_connection() -> None:
    with FakeStreamingServer(KEY, ["First one.", "Second one."], faults=[{"drop_after_s": 1.6}],
                             max_lead_s=FAST) as srv:
        with client(srv, QUERY + "&format_turns=false") as ws:
            recv_json(ws)
            send_frames(ws, utterances(400, 800, gap_ms=800))  # drops during the second burst
            first = finals(read_until_closed(ws))
        with client(srv, QUERY + "&format_turns=false") as ws:
            recv_json(ws)
            send_frames(ws, utterances(400))
            ws.send('{"type":"Terminate"}')
            second = finals(read_until_closed(ws))
    assert [m["transcript"] for m in first] == ["first one"]
    assert [(m["turn_order"], m["transcript"]) for m in second] == [(0, "second one")]


def test_unknown_fault_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="drop_afer_s"):
        FakeStreamingServer(KEY, faults=[{"drop_afer_s": 1}])


def test_a_server_side_exception_is_raised_at_exit() -> None:
    srv = FakeStreamingServer(KEY)

    def broken(*_: object) -> None:
        raise RuntimeError("bug in the fake")

    srv._on_text = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="bug in the fake"):
        with srv, client(srv) as ws:
            recv_json(ws)
            ws.send('{"type":"KeepAlive"}')
            srv.wait_for_end(0)


def test_records_frame_sizes_times_and_audio() -> None:
    with FakeStreamingServer(KEY) as srv, client(srv) as ws:
        recv_json(ws)
        ws.send(tone(100))
        ws.send(silence(50))
        rec = srv.wait_for_audio(0.15)
    assert rec.frame_sizes == [3200, 1600]
    assert rec.frame_times == sorted(rec.frame_times)
    assert rec.audio == tone(100) + silence(50)
