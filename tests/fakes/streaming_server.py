"""A local imitation of AssemblyAI Universal Streaming v3, as a real websocket server.

Follows ../shared/assemblyai-protocol.md §7 (quirks included): auth by raw key in ``Authorization``
or ``?token=``; ``Begin``; every binary frame checked for 50-1000 ms and for faster-than-real-time
sending (3007); partial ``Turn`` messages whose ``transcript`` holds only final words; the
two-message (or inline) formatting of finished turns; ``Terminate`` -> flush, ``Termination``,
close 1000; bad text frames -> 3006; plus fault injection for the reliability tests.

There is no speech recognition. The test passes ``script``, the sentences spoken in the audio it
will send, and an energy detector (RMS per 20 ms window) finds the speech segments: segment i gets
sentence i. Sentences are consumed server-wide when their turn is finalized, so after a dropped
connection the next connection carries on with the unfinished sentence.

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
import re
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


# --- recognition without ASR -----------------------------------------------------------------

def _ulaw_to_linear(u: int) -> int:
    u = ~u & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return -(magnitude - 0x84) if u & 0x80 else magnitude - 0x84


_ULAW = [_ulaw_to_linear(i) for i in range(256)]
_PUNCT = re.compile(r"[^\w'-]+")


def _plain(token: str) -> str:
    return _PUNCT.sub("", token).lower()


def _word_pairs(sentence: str) -> list[tuple[str, str]]:
    """(formatted, plain) per word. A token that is only punctuation ("-") sticks to its neighbour."""
    pairs: list[list[str]] = []
    for token in sentence.split():
        if _plain(token):
            pairs.append([token, _plain(token)])
        elif pairs:
            pairs[-1][0] += " " + token
    return [(f, p) for f, p in pairs]


@dataclass
class _Segment:
    turn_order: int
    sentence_index: int
    pairs: list[tuple[str, str]] | None  # None: the script ran out, use word1 word2 ...
    start_ms: float
    speech_ms: float = 0.0
    silence_ms: float = 0.0
    last_speech_end_ms: float = 0.0
    words: list[tuple[str, str, int, int]] = field(default_factory=list)  # formatted, plain, start, end


class _Recognizer:
    """Per-connection turn generator: PCM in, ``Turn`` payloads out. Handler thread only."""

    def __init__(self, server: FakeStreamingServer, params: dict[str, Any]) -> None:
        self.server = server
        self.rate = int(params.get("sample_rate", 16000))
        self.mulaw = params.get("encoding") == "pcm_mulaw"
        self.format_turns = bool(params.get("format_turns", False))
        self.language_detection = bool(params.get("language_detection", False))
        width = 1 if self.mulaw else 2
        self.window_bytes = max(1, self.rate * server.vad_window_ms // 1000) * width
        self.pending = bytearray()
        self.pos_ms = 0.0
        self.turn_order = 0
        self.segment: _Segment | None = None

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self.pending += data
        out: list[dict[str, Any]] = []
        while len(self.pending) >= self.window_bytes:
            window = bytes(self.pending[:self.window_bytes])
            del self.pending[:self.window_bytes]
            out += self._window(window)
        return out

    def flush(self) -> list[dict[str, Any]]:
        """Terminate: the partial window counts too, then the open turn ends."""
        out = self._window(bytes(self.pending)) if self.pending else []
        self.pending.clear()
        return out + self.end_turn()

    def _rms(self, window: bytes) -> float:
        if self.mulaw:
            samples = [_ULAW[b] for b in window]
        else:
            pcm = array.array("h")
            pcm.frombytes(window[: len(window) // 2 * 2])
            if sys.byteorder == "big":
                pcm.byteswap()
            samples = list(pcm)
        return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0

    def _window(self, window: bytes) -> list[dict[str, Any]]:
        width = 1 if self.mulaw else 2
        ms = len(window) / width / self.rate * 1000
        start, self.pos_ms = self.pos_ms, self.pos_ms + ms
        speech = self._rms(window) >= self.server.vad_threshold
        seg = self.segment
        if seg is None:
            if not speech:
                return []
            index, sentence = self.server._peek_sentence()
            seg = self.segment = _Segment(self.turn_order, index, _word_pairs(sentence) if sentence else None,
                                          start_ms=start)
        if speech:
            seg.speech_ms += ms
            seg.silence_ms = 0.0
            seg.last_speech_end_ms = self.pos_ms
            return self._reveal(seg)
        seg.silence_ms += ms
        if seg.silence_ms >= self.server.end_silence_ms:
            return self.end_turn()
        return []

    def _pair(self, seg: _Segment, k: int) -> tuple[str, str]:
        if seg.pairs is None:
            return (f"word{k + 1}", f"word{k + 1}")
        return seg.pairs[k]

    def _reveal(self, seg: _Segment) -> list[dict[str, Any]]:
        """One more word per ``word_ms`` of speech; a partial each time the word count grows."""
        word_ms = self.server.word_ms
        target = 1 + int(seg.speech_ms // word_ms)
        if seg.pairs is not None:
            target = min(target, len(seg.pairs))
        if target <= len(seg.words):
            return []
        while len(seg.words) < target:
            k = len(seg.words)
            begin = int(seg.start_ms + k * word_ms)
            seg.words.append((*self._pair(seg, k), begin, begin + int(word_ms * 0.8)))
        return [self._turn(seg, end_of_turn=False, formatted=self._inline())]

    def _inline(self) -> bool:
        return self.format_turns and self.server.formatting == "inline"

    def end_turn(self) -> list[dict[str, Any]]:
        """End of turn (silence, ForceEndpoint or Terminate): all words final, then formatting."""
        seg = self.segment
        if seg is None:
            return []
        self.segment = None
        remaining = (len(seg.pairs) if seg.pairs is not None else len(seg.words)) - len(seg.words)
        if remaining > 0:
            # Words the pace had not revealed yet share the rest of the speech evenly.
            begin = seg.words[-1][3] if seg.words else int(seg.start_ms)
            span = max(seg.last_speech_end_ms - begin, 50.0 * remaining) / remaining
            for j in range(remaining):
                k = len(seg.words)
                start = int(begin + j * span)
                seg.words.append((*self._pair(seg, k), start, int(start + span * 0.9)))
        out = [self._turn(seg, end_of_turn=True, formatted=self._inline())]
        if self.format_turns and self.server.formatting == "two_message":
            # Same turn_order again, formatted, utterance "" [protocol §3.4 two-message behaviour].
            out.append(self._turn(seg, end_of_turn=True, formatted=True))
        self.server._sentence_done(seg.sentence_index)
        self.turn_order += 1
        return out

    def _turn(self, seg: _Segment, *, end_of_turn: bool, formatted: bool) -> dict[str, Any]:
        words: list[dict[str, Any]] = []
        for k, (fmt, plain, start, end) in enumerate(seg.words):
            text = fmt if formatted else plain
            if seg.pairs is None and formatted:
                text = (text.capitalize() if k == 0 else text) + ("." if k == len(seg.words) - 1 else "")
            final = end_of_turn or k < len(seg.words) - 1
            words.append({"start": start, "end": end, "text": text, "confidence": 0.93, "word_is_final": final})
        transcript = " ".join(w["text"] for w in words if w["word_is_final"])
        msg: dict[str, Any] = {
            "turn_order": seg.turn_order,
            "turn_is_formatted": formatted,
            "end_of_turn": end_of_turn,
            "transcript": transcript,
            "end_of_turn_confidence": 0.92 if end_of_turn else 0.05,
            "words": words,
            # The utterance rides on the first end-of-turn message only ("" on the formatted copy).
            "utterance": transcript if end_of_turn and (formatted == self._inline()) else "",
        }
        if self.language_detection and end_of_turn:
            msg["language_code"], msg["language_confidence"] = "en", 0.99
        msg["type"] = "Turn"  # last, like the docs' real payloads: clients must not rely on key order
        return msg


# --- the server --------------------------------------------------------------------------------

_BOOL_PARAMS = ("format_turns", "language_detection", "speaker_labels")
_INT_PARAMS = ("sample_rate", "min_turn_silence", "max_turn_silence", "inactivity_timeout", "max_speakers")
_FLOAT_PARAMS = ("end_of_turn_confidence_threshold", "vad_threshold")
_STR_PARAMS = ("encoding", "speech_model", "language")


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
            elif key == "keyterms_prompt":
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
    ) -> None:
        if any(not _word_pairs(s) for s in script):
            raise ValueError("every script sentence needs at least one word")
        if formatting not in ("two_message", "inline"):
            raise ValueError(f"formatting must be 'two_message' or 'inline', not {formatting!r}")
        self.api_key = api_key
        self.credentials = frozenset({api_key, *tokens})
        self.script = list(script)
        self.auth_mode = auth_mode
        self.auth_error_frame = auth_error_frame
        self.formatting = formatting
        self.end_silence_ms = end_silence_ms
        self.word_ms = word_ms
        self.vad_threshold = vad_threshold
        self.vad_window_ms = vad_window_ms
        self.max_lead_s = max_lead_s
        self.after_begin = list(after_begin)  # raw text frames sent right after Begin (tolerance tests)
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
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._process_request,
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

    def _peek_sentence(self) -> tuple[int, str | None]:
        with self._cond:
            i = self._next_sentence
            return i, self.script[i] if i < len(self.script) else None

    def _sentence_done(self, index: int) -> None:
        with self._cond:
            self._next_sentence = max(self._next_sentence, index + 1)

    # --- handshake (server threads) ---

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
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
        expires: float | None = None
        if not fault.no_begin:
            rec.session_id = str(uuid.uuid4())
            ttl = fault.expire_after_s if fault.expire_after_s is not None else 10800
            begin: dict[str, Any] = {"type": "Begin", "id": rec.session_id, "expires_at": int(time.time() + ttl),
                                     "configuration": {"model": rec.params.get("speech_model", "universal-streaming-english")}}
            self._send(conn, rec, begin)
            for text in self.after_begin:
                conn.send(text)
            if fault.expire_after_s is not None:
                expires = time.monotonic() + fault.expire_after_s
        recognizer = _Recognizer(self, rec.params)
        first_frame_at: float | None = None
        while True:
            try:
                data = conn.recv(timeout=None if expires is None else max(0.0, expires - time.monotonic()))
            except TimeoutError:
                self._error(conn, rec, 3008, DEFAULT_REASONS[3008])
            if isinstance(data, bytes):
                now = time.monotonic()
                first_frame_at = now if first_frame_at is None else first_frame_at
                self._on_audio(conn, rec, recognizer, data, now - first_frame_at)
            else:
                self._on_text(conn, rec, recognizer, data)

    def _on_audio(self, conn: ServerConnection, rec: ConnectionRecord, recognizer: _Recognizer,
                  data: bytes, wall_s: float) -> None:
        with self._cond:
            rec.frame_sizes.append(len(data))
            rec.frame_times.append(time.monotonic())
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
        for msg in recognizer.feed(data):
            self._send(conn, rec, msg)
        fault = rec.fault
        if fault.error_at_s is not None and audio_s >= fault.error_at_s[0]:
            self._error(conn, rec, fault.error_at_s[1], fault.error_at_s[2])
        if fault.drop_after_s is not None and audio_s >= fault.drop_after_s:
            self._drop(conn, rec)

    def _on_text(self, conn: ServerConnection, rec: ConnectionRecord, recognizer: _Recognizer, text: str) -> None:
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
