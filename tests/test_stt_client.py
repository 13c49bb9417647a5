"""StreamingClient against the real local fake of the streaming service (a websocket server)."""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakes.streaming_server import FakeStreamingServer, feed_paced, silence, tone, utterances

from app.core.errors import AuthError, ConfigError, StreamingError
from app.stt.client import CloseInfo, StreamingClient
from app.stt.protocol import (
    Ignored,
    ServerError,
    ServerMessage,
    StreamingParams,
    Termination,
    TurnMessage,
    build_url,
)

pytestmark = pytest.mark.timeout(30)
KEY = "sk-test-0123456789abcdef"


class Inbox:
    """Collects on_message calls (websocket thread) for the test thread to wait on."""

    def __init__(self) -> None:
        self.messages: list[ServerMessage] = []
        self._cond = threading.Condition()

    def __call__(self, msg: ServerMessage) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[ServerMessage], bool], timeout: float = 5.0) -> ServerMessage:
        with self._cond:
            found: list[ServerMessage] = []
            ok = self._cond.wait_for(lambda: bool(found.extend(m for m in self.messages if predicate(m)) or found),
                                     timeout)
            assert ok, f"no matching message within {timeout} s; got {self.messages}"
            return found[0]

    def finals(self) -> list[TurnMessage]:
        return [m for m in self.messages if isinstance(m, TurnMessage) and m.end_of_turn]


class Runner:
    """``client.run()`` on its own thread, as the websocket worker would."""

    def __init__(self, client: StreamingClient) -> None:
        self._result: list[CloseInfo] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(client,), name="test-ws-worker")
        self._thread.start()

    def _main(self, client: StreamingClient) -> None:
        try:
            self._result.append(client.run())
        finally:
            self._done.set()

    def result(self, timeout: float = 10.0) -> CloseInfo:
        assert self._done.wait(timeout), f"run() did not return within {timeout} s"
        self._thread.join(1)
        assert self._result, "run() raised"
        return self._result[0]


def url_for(srv: FakeStreamingServer, **params: Any) -> str:
    return build_url(StreamingParams(**params), srv.url)


def make_client(srv: FakeStreamingServer, inbox: Inbox | None = None, key: str = KEY, **kwargs: Any) -> StreamingClient:
    return StreamingClient(url_for(srv), key, on_message=inbox if inbox is not None else Inbox(), **kwargs)


def client_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name in ("stt-sender", "stt-stop-deadline", "stt-liveness")}


@pytest.fixture(autouse=True)
def no_client_threads_left() -> Iterator[None]:
    """Every test must leave no sender, watchdog or stop-timer thread behind (bounded wait, then fail)."""
    before = client_threads()
    yield
    started = client_threads() - before
    for t in started:
        t.join(3)
    assert [t.name for t in started if t.is_alive()] == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the happy path ------------------------------------------------------------------------------


@pytest.mark.realtime
def test_graceful_stop_delivers_the_last_turn_then_termination() -> None:
    inbox = Inbox()
    with FakeStreamingServer(KEY, ["Hello there.", "Still talking when stopped."], end_silence_ms=400) as srv:
        client = make_client(srv, inbox)
        begin = client.connect()
        runner = Runner(client)
        # First utterance ends on silence; the second is cut off by stop() mid-speech.
        feed_paced(client.send_audio, utterances(500, gap_ms=500) + tone(700))
        client.stop()
        info = runner.result()
        rec = srv.wait_for_end(0)
    assert begin.id == rec.session_id
    assert info == CloseInfo(code=1000, reason="", error=None, terminated=True, requested=True)
    assert info.to_error() is None
    formatted = [m.transcript for m in inbox.finals() if m.turn_is_formatted]
    assert formatted == ["Hello there.", "Still talking when stopped."]
    assert isinstance(inbox.messages[-1], Termination)
    assert rec.text_types == ["Terminate"]
    assert client.wait_closed(0)


def test_the_key_goes_in_the_authorization_header_never_in_the_url_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeStreamingServer(KEY) as srv:
        client = make_client(srv)
        client.connect()
        client.abort()
        rec = srv.wait_for_end(0)
    assert rec.headers["Authorization"] == KEY  # raw key, no "Bearer"
    assert KEY not in rec.path and "token" not in rec.query
    # The fake server's own debug log (websockets.*) shows request headers; the app's must not.
    ours = [r for r in caplog.records if r.name.startswith("app") or r.name == "websocket"]
    assert ours and all(KEY not in r.getMessage() for r in ours)


def test_frames_are_always_50_to_1000_ms_whatever_the_capture_blocks() -> None:
    pcm = utterances(600, gap_ms=300) + tone(37)  # ends on a tail shorter than 50 ms
    with FakeStreamingServer(KEY, ["One."]) as srv:
        client = make_client(srv, frame_ms=100)
        client.connect()
        runner = Runner(client)
        pos, sizes = 0, [333, 640, 1, 4096, 7]  # odd and tiny blocks, all at once
        while pos < len(pcm):
            n = sizes[pos % len(sizes)]
            client.send_audio(pcm[pos:pos + n])
            pos += n
        client.stop()
        info = runner.result()
        rec = srv.wait_for_end(0)
    assert info.terminated and info.code == 1000
    assert all(1600 <= size <= 32000 for size in rec.frame_sizes)
    assert rec.frame_sizes[:-1] == [3200] * (len(rec.frame_sizes) - 1)
    assert rec.audio[:len(pcm)] == pcm and set(rec.audio[len(pcm):]) <= {0}
    assert client.bytes_sent == len(rec.audio) and client.frames_sent == len(rec.frame_sizes)


@pytest.mark.realtime
def test_audio_given_faster_than_real_time_is_paced_so_the_service_accepts_it() -> None:
    with FakeStreamingServer(KEY, max_lead_s=1.5) as srv:
        client = make_client(srv, max_lead_s=0.5)
        client.connect()
        runner = Runner(client)
        client.send_audio(silence(2000))  # a file dumped in at once
        client.stop()
        info = runner.result()
        rec = srv.wait_for_end(0)
    assert info.terminated, rec.close_reason
    assert rec.frame_times[-1] - rec.frame_times[0] >= 1.2  # 2 s of audio, at most 0.5 s ahead


def test_unknown_and_malformed_server_frames_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    inbox = Inbox()
    junk = ["not json", "[1,2]", '{"type":"Turn","turn_order":"x"}', '{"type":"Heartbeat","realtime_factor":1}']
    with FakeStreamingServer(KEY, after_begin=junk) as srv:
        client = make_client(srv, inbox)
        client.connect()
        runner = Runner(client)
        inbox.wait_for(lambda m: isinstance(m, Ignored))
        client.stop()
        info = runner.result()
    assert info.terminated
    assert [type(m).__name__ for m in inbox.messages] == ["Ignored", "Termination"]
    assert sum("malformed" in r.getMessage() for r in caplog.records) == 3


# --- failures at connect -------------------------------------------------------------------------


@pytest.mark.parametrize("error_frame", [False, True])
def test_a_rejected_key_closed_with_1008_raises_auth_error(error_frame: bool) -> None:
    with FakeStreamingServer(KEY, auth_error_frame=error_frame) as srv:
        client = make_client(srv, key="wrong-key")
        with pytest.raises(AuthError) as info:
            client.connect()
    assert "API key was rejected (1008" in info.value.message
    assert client.wait_closed(0)


def test_http_401_at_the_handshake_raises_auth_error() -> None:
    with FakeStreamingServer(KEY, auth_mode="http401") as srv:
        with pytest.raises(AuthError, match="HTTP 401"):
            make_client(srv, key="wrong-key").connect()


def test_too_many_sessions_is_a_streaming_error_not_an_auth_error() -> None:
    with FakeStreamingServer(KEY, reject_first=(2, 3009)) as srv:
        with pytest.raises(StreamingError) as info:
            make_client(srv).connect()
        assert info.value.close_code == 3009 and not info.value.retryable
        assert "too many sessions" in info.value.message
        # The old 1008 spelling of the same limit [protocol §4.1] must not blame the key either.
        srv.set_fault(1, reject=1008, reject_reason="Unauthorized connection: Too many concurrent sessions")
        with pytest.raises(StreamingError) as info:
            make_client(srv).connect()
        assert not isinstance(info.value, AuthError)


def test_http_503_at_the_handshake_is_retryable() -> None:
    with FakeStreamingServer(KEY, reject_first=(1, 503)) as srv:
        with pytest.raises(StreamingError) as info:
            make_client(srv).connect()
    assert info.value.retryable and "HTTP 503" in info.value.message


def test_a_refused_port_raises_a_clear_streaming_error() -> None:
    port = free_port()
    client = StreamingClient(f"ws://127.0.0.1:{port}/v3/ws?sample_rate=16000", KEY, on_message=Inbox())
    with pytest.raises(StreamingError) as info:
        client.connect()
    assert info.value.message == (f"The streaming service at 127.0.0.1:{port} refused the connection. Check the "
                                  "internet connection and the streaming URL in Settings.")
    assert info.value.retryable and info.value.close_code is None


def test_an_unknown_host_raises_a_clear_streaming_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*_: object, **__: object) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no real DNS in tests
    client = StreamingClient("wss://streaming.example.invalid/v3/ws", KEY, on_message=Inbox())
    with pytest.raises(StreamingError, match=r"host streaming\.example\.invalid could not be found"):
        client.connect()


def test_a_host_that_never_answers_the_handshake_times_out() -> None:
    with socket.socket() as listener:  # accepts TCP (kernel backlog) but never speaks HTTP
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        client = StreamingClient(f"ws://127.0.0.1:{port}/v3/ws", KEY, on_message=Inbox(), open_timeout=0.3)
        with pytest.raises(StreamingError, match=r"did not answer within 0.3 s"):
            client.connect()


@pytest.mark.parametrize("url", ["http://127.0.0.1/v3/ws", "ws:///v3/ws", "ws://127.0.0.1:notaport/v3/ws", "nonsense"])
def test_a_malformed_url_raises_streaming_error_naming_the_setting(url: str) -> None:
    with pytest.raises(StreamingError, match="streaming URL") as info:
        StreamingClient(url, KEY, on_message=Inbox()).connect()
    assert not info.value.retryable


def test_an_empty_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        StreamingClient("ws://127.0.0.1:1/v3/ws", "  ", on_message=Inbox()).connect()


def test_no_begin_raises_after_begin_timeout() -> None:
    with FakeStreamingServer(KEY, no_begin=True) as srv:
        client = make_client(srv, begin_timeout=0.4)
        started = time.monotonic()
        with pytest.raises(StreamingError) as info:
            client.connect()
        assert time.monotonic() - started < 3
    assert info.value.message == ("The streaming service accepted the connection but never started a session "
                                  "(no Begin within 0.4 s).")
    assert info.value.retryable


# --- failures mid-session ------------------------------------------------------------------------


def test_a_drop_without_close_frame_returns_close_info_with_no_code() -> None:
    with FakeStreamingServer(KEY, drop_after_s=0.3) as srv:
        client = make_client(srv)
        client.connect()
        runner = Runner(client)
        client.send_audio(silence(500))
        info = runner.result()
        assert srv.wait_for_end(0).end == "dropped"
    assert info.code is None and not info.terminated and not info.requested
    error = info.to_error()
    assert isinstance(error, StreamingError) and error.retryable and error.close_code is None
    client.send_audio(silence(100))  # after the end: counted, never raised
    assert client.dropped_bytes == 3200


def test_a_server_error_is_passed_on_and_becomes_the_close_info_error() -> None:
    inbox = Inbox()
    with FakeStreamingServer(KEY, error_at_s=(0.2, 3005, "Session Cancelled: An error occurred")) as srv:
        client = make_client(srv, inbox)
        client.connect()
        runner = Runner(client)
        client.send_audio(silence(300))
        info = runner.result()
    assert info.code == 3005 and info.error == ServerError("Session Cancelled: An error occurred", 3005)
    assert inbox.messages == [info.error]
    error = info.to_error()
    assert isinstance(error, StreamingError) and error.retryable and error.close_code == 3005
    assert "Session Cancelled" in error.message


def test_session_expiry_is_retryable() -> None:
    with FakeStreamingServer(KEY, expire_after_s=0.3) as srv:
        client = make_client(srv)
        client.connect()
        info = Runner(client).result()
    error = info.to_error()
    assert info.code == 3008 and isinstance(error, StreamingError) and error.retryable


def test_stop_is_bounded_when_the_service_never_answers_terminate() -> None:
    with FakeStreamingServer(KEY, ignore_terminate=True) as srv:
        client = make_client(srv)
        client.connect()
        runner = Runner(client)
        client.send_audio(silence(200))
        started = time.monotonic()
        client.stop(timeout=0.5)
        info = runner.result()
        elapsed = time.monotonic() - started
        srv.wait_for_text("Terminate")
    assert 0.4 <= elapsed < 3
    assert info.code is None and not info.terminated and info.requested
    assert info.to_error() is None  # the app asked to end; `terminated` says the tail is unconfirmed


def test_stop_returns_at_once_and_can_be_called_from_on_message() -> None:
    holder: list[StreamingClient] = []

    def stop_on_first_partial(msg: ServerMessage) -> None:
        if isinstance(msg, TurnMessage):
            holder[0].stop()

    with FakeStreamingServer(KEY, ["A few words here."]) as srv:
        client = StreamingClient(url_for(srv), KEY, on_message=stop_on_first_partial)
        holder.append(client)
        client.connect()
        runner = Runner(client)
        client.send_audio(tone(300))
        info = runner.result()
    assert info.terminated and info.code == 1000


def test_abort_ends_run_at_once_without_terminate() -> None:
    with FakeStreamingServer(KEY) as srv:
        client = make_client(srv)
        client.connect()
        runner = Runner(client)
        client.send_audio(silence(200))
        srv.wait_for_audio(0.2)
        client.abort()
        info = runner.result(timeout=3)
        rec = srv.wait_for_end(0)
    assert info.code is None and info.requested and info.to_error() is None
    assert rec.text_types == [] and rec.end == "closed_by_client"


def test_abort_before_run_releases_everything() -> None:
    with FakeStreamingServer(KEY) as srv:
        client = make_client(srv)
        client.connect()
        client.abort()
        assert client.wait_closed(1)
        info = client.run()  # returns at once
    assert info.requested and info.code is None


def test_stop_during_connect_cancels_it() -> None:
    with FakeStreamingServer(KEY, no_begin=True) as srv:
        client = make_client(srv, begin_timeout=10)
        errors: list[BaseException] = []
        worker = threading.Thread(target=lambda: _capture(client.connect, errors))
        worker.start()
        srv.wait_for_connections(1)
        srv.wait_until(lambda: srv.connections[0].opened_at is not None)
        client.stop()
        worker.join(3)
    assert not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], StreamingError) and "cancelled" in str(errors[0])


def _capture(fn: Callable[[], object], errors: list[BaseException]) -> None:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        errors.append(exc)


def test_send_audio_never_blocks_and_counts_what_the_full_queue_drops() -> None:
    with FakeStreamingServer(KEY) as srv:
        client = make_client(srv, send_queue_frames=5)  # room for 500 ms before connect()
        started = time.monotonic()
        for _ in range(10):
            client.send_audio(silence(100))
        assert time.monotonic() - started < 0.5
        assert client.dropped_bytes == 5 * 3200
        client.connect()
        runner = Runner(client)
        client.stop()
        info = runner.result()
        rec = srv.wait_for_end(0)
    assert info.terminated and len(rec.audio) == 5 * 3200


def test_close_info_turns_codes_into_the_right_errors() -> None:
    def err(code: int | None, reason: str = "", *, terminated: bool = False, requested: bool = False,
            error: ServerError | None = None) -> Any:
        return CloseInfo(code, reason, error, terminated, requested).to_error()

    assert err(1000, terminated=True) is None
    assert err(None, terminated=True) is None  # Termination came, the close frame did not
    assert err(1000, requested=True) is None
    assert isinstance(err(1008, "Unauthorized Connection: Missing Authorization header"), AuthError)
    assert err(3006, requested=True).retryable is False  # a client bug stays an error
    assert err(3007).retryable is False
    assert err(3008).retryable is True
    assert err(1000).retryable is True  # closed without Termination while streaming
    assert err(None, error=ServerError("Session Cancelled: An error occurred", 3005)).close_code == 3005
    assert "See Error message" not in err(3006, "See Error message for details",
                                          error=ServerError("Invalid JSON: {", 3006)).message


def test_an_exception_in_on_message_propagates_from_run_and_closes_everything() -> None:
    def broken(msg: ServerMessage) -> None:
        raise RuntimeError("bug in the listener")

    with FakeStreamingServer(KEY, ["Words."]) as srv:
        client = StreamingClient(url_for(srv), KEY, on_message=broken)
        client.connect()
        client.send_audio(tone(300))
        with pytest.raises(RuntimeError, match="bug in the listener"):
            client.run()
        assert client.wait_closed(0)
        assert srv.wait_for_end(0).end == "closed_by_client"
