"""A local imitation of AssemblyAI Universal Streaming v3, as a real websocket server.

Follows ../shared/assemblyai-protocol.md §7 and §9 (quirks included): auth by raw key in
``Authorization`` or ``?token=``; ``Begin`` (after ``begin_delay_s``, with ``configuration``);
every binary frame checked for 50-1000 ms and for faster-than-real-time sending (3007); ``Turn``
messages shaped per speech model (``tests/fakes/recognizer.py``); ``Terminate`` -> flush, an
optional ``SpeakerRevision``, ``Termination``, close 1000; bad text frames -> 3006; ``Warning``
messages; plus fault injection for the reliability tests. What is imitated and what is not, with
the protocol section for each: ``tests/fakes/README.md``.

There is no speech recognition. The test passes ``script``, the sentences spoken in the audio it
will send (with ``script_languages`` and ``script_speakers`` per sentence), and an energy
detector finds the speech segments: segment i gets sentence i. Sentences are consumed
server-wide when their turn is finalized, so after a dropped connection the next connection
carries on with the unfinished sentence. A sentence of bracketed tags only (``"[Music]"``) is
non-speech: whisper-rt turns it into a non-speech final, other models say nothing.

A network path that dies without a close is not a server fault: see ``tests/fakes/relay.py``.

Threads: ``websockets.sync.server`` runs the accept loop in one background thread started here and
one handler thread per connection. Records are mutated under one ``threading.Condition``; the
``wait_*`` helpers block the test thread on it. Any unexpected exception in server code is stored
and re-raised by ``__exit__`` (and by the wait helpers), so a broken fake fails the test loudly.

Usage::

    with FakeStreamingServer(api_key="test-key", script=["Hello there."]) as srv:
        client = connect_to(srv.url)     # ws://127.0.0.1:PORT/v3/ws
        ...
        srv.wait_for_end(0)
        assert srv.connections[0].terminated
"""
from __future__ import annotations

import array
import contextlib
import json
import math
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import TracebackType
from typing import Any, Literal, NoReturn
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from fakes.recognizer import DEFAULT_MODEL, U3_FAMILY, Recognizer, ScriptLine, word_pairs

# Close reasons as documented [protocol §4.1]. The real service caps reasons at 123 bytes and
# then says "See Error message for details"; _close() imitates that.
AUTH_REASON = "Unauthorized Connection: Missing Authorization header"
DEFAULT_REASONS = {
    1008: AUTH_REASON,
    3005: "Session Cancelled: An error occurred",
    3008: "Session Expired: Maximum session duration exceeded",
    3009: "Unauthorized Connection: Too many concurrent sessions",
}
# The sporadic close valid keys get; the next connection works (NODESDK issue #97) [protocol §9.2].
# Use it as ``Fault(reject=1008, reject_reason=INCORRECT_PADDING)`` on the connection that should get it.
INCORRECT_PADDING = "Unauthorized connection: Incorrect padding"
MAX_REASON_BYTES = 123
LONG_REASON = "See Error message for details"
CONTROL_TYPES = ("Terminate", "ForceEndpoint", "UpdateConfiguration", "KeepAlive")


@dataclass(frozen=True)
class Fault:
    """What goes wrong on one connection. ``None``/``False`` fields mean "behave"."""

    # < 1000: HTTP status that rejects the upgrade (e.g. 503). >= 1000: close code sent right
    # after the upgrade (3009 too many sessions, 1008 auth), with an Error frame for 3xxx codes.
    reject: int | None = None
    reject_reason: str | None = None
    no_begin: bool = False
    drop_after_s: float | None = None  # audio seconds; then TCP closed without a close frame
    error_at_s: tuple[float, int, str] | None = None  # (audio seconds, close code, Error text)
    expire_after_s: float | None = None  # wall seconds after Begin; then 3008 (Begin.expires_at matches)
    ignore_terminate: bool = False  # never answer Terminate (tests the client's bounded stop)


@dataclass
class ConnectionRecord:
    """Everything one connection did. Read it after a ``wait_*`` helper returned."""

    index: int
    path: str  # request target including the query: tests check the key is not in it
    query: dict[str, str]  # raw query values (last one wins), unknown params included
    params: dict[str, Any]  # known params, typed (bools parsed case-insensitively)
    headers: Headers  # case-insensitive: headers["authorization"]
    authorized: bool
    fault: Fault
    http_status: int | None = None  # set when the upgrade was rejected over HTTP
    session_id: str | None = None
    opened_at: float | None = None  # time.monotonic() when the session handler started
    frame_sizes: list[int] = field(default_factory=list)
    frame_times: list[float] = field(default_factory=list)  # time.monotonic() at arrival
    texts: list[str] = field(default_factory=list)  # client text frames, raw
    sent: list[dict[str, Any]] = field(default_factory=list)  # server messages, in order
    # "open", "rejected_http", "closed_by_server", "closed_by_client", "dropped", "server_shutdown"
    end: str = "open"
    close_code: int | None = None  # the code that ended it (ours, or the client's)
    close_reason: str = ""
    terminated: bool = False  # Termination was sent
    finished: bool = False  # the handler is done
    _audio: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def audio(self) -> bytes:
        return bytes(self._audio)

    @property
    def audio_seconds(self) -> float:
        rate = int(self.params.get("sample_rate", 16000))
        width = 1 if self.params.get("encoding") == "pcm_mulaw" else 2
        return len(self._audio) / (width * rate)

    @property
    def text_types(self) -> list[str]:
        """``type`` of each client text frame that was a JSON object ("?" otherwise)."""
        out = []
        for t in self.texts:
            try:
                data = json.loads(t)
            except ValueError:
                data = None
            out.append(str(data.get("type", "?")) if isinstance(data, dict) else "?")
        return out

    def turns(self, *, final_only: bool = False) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("type") == "Turn" and (m["end_of_turn"] or not final_only)]


def _checked_fault(fault: Fault | Mapping[str, Any]) -> Fault | Mapping[str, Any]:
    if not isinstance(fault, Fault):
        unknown = set(fault) - {f.name for f in fields(Fault)}
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
    return fault


class _Closed(Exception):
    """Internal: the session is over; unwind the handler."""


# --- the server --------------------------------------------------------------------------------

_BOOL_PARAMS = ("format_turns", "language_detection", "speaker_labels")
_INT_PARAMS = ("sample_rate", "min_turn_silence", "max_turn_silence", "inactivity_timeout", "max_speakers")
_FLOAT_PARAMS = ("end_of_turn_confidence_threshold", "vad_threshold")
_STR_PARAMS = ("encoding", "speech_model", "language", "mode")


def parse_params(query: Mapping[str, str]) -> dict[str, Any]:
    """Typed view of the known query parameters; unknown ones are ignored like the service does."""
    params: dict[str, Any] = {}
    for key, raw in query.items():
        try:
            if key in _BOOL_PARAMS:
                params[key] = raw.strip().lower() == "true"  # PYSDK sends True/False [§1.4]
            elif key in _INT_PARAMS:
                params[key] = int(raw)
            elif key in _FLOAT_PARAMS:
                params[key] = float(raw)
            elif key in _STR_PARAMS:
                params[key] = raw
            elif key in ("keyterms_prompt", "language_codes"):
                params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw  # kept raw so a test can see what arrived
    return params


class FakeStreamingServer:
    """See the module docstring. All options are keyword-only except ``api_key`` and ``script``."""

    def __init__(
        self,
        api_key: str = "test-key",
        script: Sequence[str] = (),
        *,
        tokens: Sequence[str] = (),
        auth_mode: Literal["close", "http401"] = "close",
        auth_error_frame: bool = False,
        formatting: Literal["two_message", "inline"] = "two_message",
        end_silence_ms: int = 700,
        word_ms: int = 250,
        vad_threshold: float = 500.0,
        vad_window_ms: int = 20,
        max_lead_s: float = 2.0,
        no_begin: bool = False,
        drop_after_s: float | None = None,
        error_at_s: tuple[float, int, str] | None = None,
        expire_after_s: float | None = None,
        ignore_terminate: bool = False,
        reject_first: tuple[int, int] | tuple[int, int, str] | None = None,
        faults: Sequence[Fault | Mapping[str, Any] | None] = (),
        after_begin: Sequence[str] = (),
        script_languages: Sequence[str] = (),
        script_speakers: Sequence[str] = (),
        late_formatted_copy: bool = False,
        begin_delay_s: float = 0.0,
        whisper_silence_ms: int | None = 2000,
        speaker_revisions: Mapping[int, str] | None = None,
        warnings: Sequence[tuple[int, str]] = (),
        begin_configuration: bool = True,
        applied_model: str | None = None,
        applied_mode: str | None = None,
        handshake_delay_s: float = 0.0,
        model_scripts: Mapping[str, Sequence[str]] | None = None,
        port: int = 0,
    ) -> None:
        if any(not word_pairs(s.replace("[", " ").replace("]", " ")) for s in script):
            raise ValueError("every script sentence needs at least one word (or a [tag])")
        if formatting not in ("two_message", "inline"):
            raise ValueError(f"formatting must be 'two_message' or 'inline', not {formatting!r}")
        self.api_key = api_key
        self.credentials = frozenset({api_key, *tokens})
        self.script = list(script)
        # Per sentence: the language reported with language_detection, the speaker with speaker_labels.
        self.lines = [ScriptLine(text, script_languages[i] if i < len(script_languages) else "en",
                                 script_speakers[i] if i < len(script_speakers) else "A")
                      for i, text in enumerate(script)]
        # A script of its own for the connections of a speech model (a two-way session's two sides
        # use two models: the microphone's English one, the other side's multilingual one), with
        # its own place: each side hears its own sentences.
        self.model_lines = {model: [ScriptLine(text) for text in lines] for model, lines in (model_scripts or {}).items()}
        self._model_next = dict.fromkeys(self.model_lines, 0)
        self.late_formatted_copy = late_formatted_copy  # hold each formatted copy until the next turn speaks
        self.begin_delay_s = begin_delay_s  # the real service took ~1 s [protocol §9.8]; audio is read meanwhile
        self.whisper_silence_ms = whisper_silence_ms  # whisper-rt: a "[ Silence]" final per this much silence
        self.speaker_revisions = dict(speaker_revisions or {})  # turn_order -> new label, sent before Termination
        self.warnings = list(warnings)  # (warning_code, warning) sent right after Begin
        self.begin_configuration = begin_configuration  # False: an older server without Begin.configuration
        self.applied_model = applied_model  # Begin.configuration.model when the service applies another model
        self.applied_mode = applied_mode
        self.auth_mode = auth_mode
        self.auth_error_frame = auth_error_frame
        self.formatting = formatting
        self.end_silence_ms = end_silence_ms
        self.word_ms = word_ms
        self.vad_threshold = vad_threshold
        self.vad_window_ms = vad_window_ms
        self.max_lead_s = max_lead_s
        self.after_begin = list(after_begin)  # raw text frames sent right after Begin (tolerance tests)
        self.handshake_delay_s = handshake_delay_s  # a slow network: the upgrade answer is late
        self.requested_port = port
        self._base_fault = Fault(no_begin=no_begin, drop_after_s=drop_after_s, error_at_s=error_at_s,
                                 expire_after_s=expire_after_s, ignore_terminate=ignore_terminate)
        self._reject_first = reject_first
        self._faults: dict[int, Fault | Mapping[str, Any]] = {
            k: _checked_fault(f) for k, f in enumerate(faults) if f is not None
        }
        self._cond = threading.Condition()
        self.connections: list[ConnectionRecord] = []
        self.errors: list[BaseException] = []
        self._by_conn: dict[ServerConnection, ConnectionRecord] = {}
        self._next_sentence = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ---

    def __enter__(self) -> FakeStreamingServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
        if exc_type is None:
            self.raise_errors()

    def start(self) -> None:
        # No compression and no server pings: keep frames plain and the test timeline quiet.
        # max_queue=None: when the fake closes a session with frames still unread (3007 after a
        # burst), flow control would stall reading and so the closing handshake, for close_timeout.
        self._server = serve(self._handle, "127.0.0.1", self.requested_port, process_request=self._process_request,
                             compression=None, ping_interval=None, close_timeout=2, max_size=None,
                             max_queue=None)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-stt-accept", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop accepting, close open sessions (1001), wait for every handler thread."""
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)

    def raise_errors(self) -> None:
        with self._cond:
            if self.errors:
                raise self.errors[0]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v3/ws"

    def set_fault(self, index: int, fault: Fault | Mapping[str, Any] | None = None, **changes: Any) -> None:
        """Override the fault of connection ``index`` (0-based, counting every attempt) before it comes."""
        with self._cond:
            self._faults[index] = _checked_fault(fault if fault is not None else changes)

    def fault_for(self, index: int) -> Fault:
        with self._cond:
            fault = self._base_fault
            if self._reject_first is not None and index < self._reject_first[0]:
                reason = self._reject_first[2] if len(self._reject_first) == 3 else None
                fault = replace(fault, reject=self._reject_first[1], reject_reason=reason)
            override = self._faults.get(index)
            if isinstance(override, Fault):
                return override
            if override:
                fault = replace(fault, **dict(override))
            return fault

    # --- wait helpers (test thread) ---

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        """Block until ``predicate()`` (evaluated under the records lock) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.errors:
                    raise self.errors[0]
                if predicate():
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"fake streaming server: no {what} within {timeout} s")
                self._cond.wait(left)

    def wait_for_connections(self, n: int, timeout: float = 5.0) -> list[ConnectionRecord]:
        self.wait_until(lambda: len(self.connections) >= n, timeout, f"{n} connection(s)")
        return list(self.connections)

    def wait_for_end(self, index: int = 0, timeout: float = 5.0) -> ConnectionRecord:
        """Until connection ``index`` has ended and its handler finished."""
        self.wait_until(lambda: len(self.connections) > index and self.connections[index].finished,
                        timeout, f"end of connection {index}")
        return self.connections[index]

    def wait_for_audio(self, seconds: float, index: int = 0, timeout: float = 5.0) -> ConnectionRecord:
        self.wait_until(lambda: len(self.connections) > index and self.connections[index].audio_seconds >= seconds,
                        timeout, f"{seconds} s of audio on connection {index}")
        return self.connections[index]

    def wait_for_sent(self, predicate: Callable[[dict[str, Any]], bool], index: int = 0,
                      timeout: float = 5.0) -> dict[str, Any]:
        """Until the server has sent connection ``index`` a message matching ``predicate``."""
        found: list[dict[str, Any]] = []

        def check() -> bool:
            if len(self.connections) <= index:
                return False
            found[:] = [m for m in self.connections[index].sent if predicate(m)][:1]
            return bool(found)

        self.wait_until(check, timeout, f"matching server message on connection {index}")
        return found[0]

    def wait_for_text(self, msg_type: str, index: int = 0, timeout: float = 5.0) -> None:
        """Until the client sent a text frame of ``msg_type`` (e.g. "Terminate") on connection ``index``."""
        self.wait_until(lambda: len(self.connections) > index and msg_type in self.connections[index].text_types,
                        timeout, f"{msg_type} from the client on connection {index}")

    # --- script ---

    def _peek_line(self, model: str | None = None) -> tuple[int, ScriptLine | None]:
        with self._cond:
            if model in self.model_lines:
                i, lines = self._model_next[model], self.model_lines[model]
                return i, lines[i] if i < len(lines) else None
            i = self._next_sentence
            return i, self.lines[i] if i < len(self.lines) else None

    def _line_done(self, index: int, model: str | None = None) -> None:
        if index < 0:
            return  # a turn that used no script line (whisper-rt's silence)
        with self._cond:
            if model in self._model_next:
                self._model_next[model] = max(self._model_next[model], index + 1)
                return
            self._next_sentence = max(self._next_sentence, index + 1)

    # --- handshake (server threads) ---

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if self.handshake_delay_s:
            time.sleep(self.handshake_delay_s)
        try:
            return self._check_request(conn, request)
        except BaseException as exc:
            self._store_error(exc)
            return conn.respond(500, "fake server failure\n")

    def _check_request(self, conn: ServerConnection, request: Request) -> Response | None:
        target = urlsplit(request.path)
        query = dict(parse_qsl(target.query, keep_blank_values=True))
        header_key = request.headers.get("Authorization")
        authorized = header_key in self.credentials or query.get("token") in self.credentials
        with self._cond:  # one block, so concurrent handshakes get distinct indexes
            index = len(self.connections)
            fault = self.fault_for(index)
            rec = ConnectionRecord(index=index, path=request.path, query=query, params=parse_params(query),
                                   headers=Headers(request.headers.raw_items()), authorized=authorized,
                                   fault=fault)
            status: int | None = None
            if target.path != "/v3/ws":
                status, body = 404, "Not Found\n"
            elif fault.reject is not None and fault.reject < 1000:
                status, body = fault.reject, (fault.reject_reason or "Service Unavailable") + "\n"
            elif not authorized and self.auth_mode == "http401":
                status, body = 401, AUTH_REASON + "\n"
            self.connections.append(rec)
            if status is not None:
                rec.http_status, rec.end, rec.finished = status, "rejected_http", True
            else:
                self._by_conn[conn] = rec
            self._cond.notify_all()
        return conn.respond(status, body) if status is not None else None

    # --- session (one handler thread per connection) ---

    def _handle(self, conn: ServerConnection) -> None:
        with self._cond:
            rec = self._by_conn.pop(conn)
        try:
            self._session(conn, rec)
        except _Closed:
            pass
        except ConnectionClosed:
            end = "server_shutdown" if self._server_closing() else "closed_by_client"
            self._ended(rec, end, conn.close_code, conn.close_reason or "")
        except BaseException as exc:
            self._store_error(exc)
            conn.close_socket()
        finally:
            with self._cond:
                if rec.end == "open":
                    rec.end = "server_shutdown" if self._server_closing() else "closed_by_client"
                rec.finished = True
                self._cond.notify_all()

    def _server_closing(self) -> bool:
        return self._server is not None and self._server.socket_closed.is_set()

    def _session(self, conn: ServerConnection, rec: ConnectionRecord) -> None:
        fault = rec.fault
        with self._cond:
            rec.opened_at = time.monotonic()
            self._cond.notify_all()
        if fault.reject is not None:
            code = fault.reject
            self._error(conn, rec, code, fault.reject_reason or DEFAULT_REASONS.get(code, "Rejected"),
                        frame=code != 1008 or self.auth_error_frame)
        if not rec.authorized:
            self._error(conn, rec, 1008, AUTH_REASON, frame=self.auth_error_frame)
        # Frames that arrive while Begin is being prepared are read and kept with their arrival
        # times, then handled in order once Begin is out: the service takes audio as soon as the
        # socket is open [protocol §3.1, §9.8].
        early: list[tuple[str | bytes, float]] = []
        deadline = time.monotonic() + self.begin_delay_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                early.append((conn.recv(timeout=left), time.monotonic()))
            except TimeoutError:
                break
        expires: float | None = None
        if not fault.no_begin:
            self._send(conn, rec, self._begin(rec))
            for code, warning in self.warnings:
                self._send(conn, rec, {"warning_code": code, "warning": warning, "type": "Warning"})
            for text in self.after_begin:
                conn.send(text)
            if fault.expire_after_s is not None:
                expires = time.monotonic() + fault.expire_after_s
        recognizer = Recognizer(self, rec.params)
        first_frame_at: float | None = None

        def handle(data: str | bytes, at: float) -> None:
            nonlocal first_frame_at
            if isinstance(data, bytes):
                first_frame_at = at if first_frame_at is None else first_frame_at
                self._on_audio(conn, rec, recognizer, data, at - first_frame_at, at)
            else:
                self._on_text(conn, rec, recognizer, data)

        for data, at in early:
            handle(data, at)
        while True:
            try:
                data = conn.recv(timeout=None if expires is None else max(0.0, expires - time.monotonic()))
            except TimeoutError:
                self._error(conn, rec, 3008, DEFAULT_REASONS[3008])
            handle(data, time.monotonic())

    def _begin(self, rec: ConnectionRecord) -> dict[str, Any]:
        assert rec.session_id is None
        rec.session_id = str(uuid.uuid4())
        ttl = rec.fault.expire_after_s if rec.fault.expire_after_s is not None else 10800
        begin: dict[str, Any] = {"id": rec.session_id, "expires_at": int(time.time() + ttl)}
        if self.begin_configuration:
            # What the server applied [protocol §3.1, §9.7]; mode only for the u3 family.
            model = self.applied_model or str(rec.params.get("speech_model", DEFAULT_MODEL))
            config: dict[str, Any] = {"model": model}
            if model in U3_FAMILY:
                config["mode"] = self.applied_mode or rec.params.get("mode", "balanced")
            config["api_version"] = "2025-05-12"
            begin["configuration"] = config
        begin["type"] = "Begin"  # last, as in the docs' payloads
        return begin

    def _on_audio(self, conn: ServerConnection, rec: ConnectionRecord, recognizer: Recognizer,
                  data: bytes, wall_s: float, arrived: float) -> None:
        with self._cond:
            rec.frame_sizes.append(len(data))
            rec.frame_times.append(arrived)
            rec._audio += data
            audio_s = rec.audio_seconds
            self._cond.notify_all()
        width = 1 if recognizer.mulaw else 2
        ms = len(data) / (width * recognizer.rate) * 1000
        if not 50 <= ms <= 1000:
            self._error(conn, rec, 3007, f"Input duration violation: {ms:g} ms. Expected between 50 and 1000 ms")
        if audio_s - wall_s > self.max_lead_s:
            self._error(conn, rec, 3007,
                        f"Audio Transmission Rate Exceeded: Received {audio_s:.1f} sec. audio in {wall_s:.6f} sec")
        if rec.session_id is None:
            return  # no Begin, no session: audio is received but nothing is transcribed
        for msg in recognizer.feed(data):
            self._send(conn, rec, msg)
        fault = rec.fault
        if fault.error_at_s is not None and audio_s >= fault.error_at_s[0]:
            self._error(conn, rec, fault.error_at_s[1], fault.error_at_s[2])
        if fault.drop_after_s is not None and audio_s >= fault.drop_after_s:
            self._drop(conn, rec)

    def _on_text(self, conn: ServerConnection, rec: ConnectionRecord, recognizer: Recognizer, text: str) -> None:
        with self._cond:
            rec.texts.append(text)
            self._cond.notify_all()
        try:
            data = json.loads(text)
        except ValueError:
            self._error(conn, rec, 3006, f"Invalid JSON: {text}")
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            self._error(conn, rec, 3006, f"Invalid Message: {text}")
        kind = data["type"]
        if kind not in CONTROL_TYPES:
            self._error(conn, rec, 3006, f"Invalid Message Type: {kind}")
        if kind == "ForceEndpoint":
            for msg in recognizer.end_turn():
                self._send(conn, rec, msg)
        elif kind == "Terminate" and not rec.fault.ignore_terminate:
            for msg in recognizer.flush():
                self._send(conn, rec, msg)
            revision = recognizer.speaker_revision()  # may re-label turns just before the end [protocol §9.6]
            if revision is not None:
                self._send(conn, rec, revision)
            audio_s = rec.audio_seconds
            session_s = time.monotonic() - (rec.opened_at or time.monotonic())
            # Integers, as in the spec [protocol §3.3].
            self._send(conn, rec, {"type": "Termination", "audio_duration_seconds": round(audio_s),
                                   "session_duration_seconds": round(session_s)})
            with self._cond:
                rec.terminated = True
                self._cond.notify_all()
            self._close(conn, rec, 1000, "")
        # UpdateConfiguration and KeepAlive: no reply [protocol §2.2].

    # --- sending and ending (handler thread) ---

    def _send(self, conn: ServerConnection, rec: ConnectionRecord, msg: dict[str, Any]) -> None:
        conn.send(json.dumps(msg))
        with self._cond:
            rec.sent.append(msg)
            self._cond.notify_all()

    def _error(self, conn: ServerConnection, rec: ConnectionRecord, code: int, text: str, *,
               frame: bool = True) -> NoReturn:
        """Error frame (close code == error_code), then the close."""
        if frame:
            self._send(conn, rec, {"type": "Error", "error_code": code, "error": text})
        self._close(conn, rec, code, text)

    def _close(self, conn: ServerConnection, rec: ConnectionRecord, code: int, reason: str) -> NoReturn:
        if len(reason.encode()) > MAX_REASON_BYTES:
            reason = LONG_REASON
        self._ended(rec, "closed_by_server", code, reason)
        conn.close(code, reason)
        raise _Closed

    def _drop(self, conn: ServerConnection, rec: ConnectionRecord) -> NoReturn:
        """Vanish without a close frame, like a dead network path."""
        self._ended(rec, "dropped", None, "")
        with contextlib.suppress(OSError):
            conn.socket.shutdown(socket.SHUT_RDWR)
        conn.close_socket()
        raise _Closed

    def _ended(self, rec: ConnectionRecord, end: str, code: int | None, reason: str) -> None:
        with self._cond:
            if rec.end == "open":
                rec.end, rec.close_code, rec.close_reason = end, code, reason
            self._cond.notify_all()

    def _store_error(self, exc: BaseException) -> None:
        with self._cond:
            self.errors.append(exc)
            self._cond.notify_all()


# --- test audio ----------------------------------------------------------------------------------
# Synthetic "speech" for the energy detector above: tone bursts separated by silence.


def tone(ms: int, rate: int = 16000, freq: float = 220.0, amplitude: int = 8000) -> bytes:
    """A sine burst, s16le mono: loud enough to count as speech (RMS ~5600 vs threshold 500)."""
    n = rate * ms // 1000
    pcm = array.array("h", (int(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm.tobytes()


def silence(ms: int, rate: int = 16000) -> bytes:
    return bytes(rate * ms // 1000 * 2)


def utterances(*speech_ms: int, gap_ms: int = 800, lead_ms: int = 200, rate: int = 16000) -> bytes:
    """``lead_ms`` silence, then each burst followed by ``gap_ms`` of silence."""
    out = bytearray(silence(lead_ms, rate))
    for ms in speech_ms:
        out += tone(ms, rate) + silence(gap_ms, rate)
    return bytes(out)


def feed_paced(send: Callable[[bytes], None], pcm: bytes, *, rate: int = 16000, chunk_ms: int = 100,
               stop: threading.Event | None = None) -> None:
    """Play ``pcm`` into ``send`` like a microphone: ``chunk_ms`` of audio every ``chunk_ms``.

    Pacing, not waiting: the schedule is absolute, so delays do not add up.
    """
    step = rate * chunk_ms // 1000 * 2
    start = time.monotonic()
    for k, pos in enumerate(range(0, len(pcm), step)):
        delay = start + k * chunk_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if stop is not None and stop.is_set():
            return
        send(pcm[pos:pos + step])
