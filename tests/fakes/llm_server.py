"""A local imitation of AssemblyAI's LLM Gateway (protocol §5) as a real HTTP server.

The server runs ``http.server.ThreadingHTTPServer`` on 127.0.0.1 in a background thread, one
handler thread per request; the test thread reads what it recorded through thread-safe helpers.

    with FakeLlmGateway(api_key="test-key") as llm:
        translator = ChatTranslator("test-key", base_url=llm.base_url)   # http://127.0.0.1:PORT/v1

``POST /v1/chat/completions``, checked in this order:
1. ``Authorization`` must be the raw key -> else 401. Whether the real gateway also accepts
   ``Bearer <key>`` is UNCONFIRMED (protocol §5.1/§8), so it is an option, off by default.
2. ``responder(request_json, n)`` if given: return ``(status, headers, body)`` to answer with that
   (``body`` a dict/list is sent as JSON, str/bytes as is), or None to carry on.
3. Invalid JSON, no ``model``, or neither ``messages`` nor ``prompt`` -> 400.
4. ``model`` not in ``models`` -> 404.
5. Faults: a request whose user text contains ``fail_text`` always fails, and the first
   ``fail_first`` of the other requests that get this far fail, both with ``fail_status`` and
   ``fail_headers`` (a 429 also gets X-RateLimit-* with Remaining 0); ``malformed=True`` answers
   200 with a truncated JSON body.
6. Success: exactly the §5.3 shape with X-RateLimit-* headers.
Every answer is delayed by ``delay_s`` (seconds, or a function ``(request_json, n) -> seconds``);
leaving the ``with`` block cuts delays short. Error bodies are ``{"error": {"code", "message",
"metadata"}}`` with ``code`` equal to the HTTP status (protocol §5.4).

Translation convention (deterministic and checkable): the reply is ``"[<target>] <text>"`` where
``<text>`` is the last user message and ``<target>`` is what follows ``into `` up to the next
``.`` in the first system message (app/translate/prompt.py starts it with "Translate the user's
message into German."); ``?`` when no target can be found. ``n`` counts chat-completions requests
from 1, including rejected ones.
"""
from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODELS = frozenset({"gemini-2.5-flash-lite", "gemini-2.5-flash", "claude-haiku-4-5-20251001", "gpt-5-nano"})
CHAT_PATH = "/v1/chat/completions"
RATE_LIMIT_WINDOW_S = 60.0

Body = dict[str, Any] | list[Any] | str | bytes
Reply = tuple[int, dict[str, str], Body]
Responder = Callable[[Any, int], Reply | None]
_TARGET = re.compile(r"\binto ([^.\n]+)\.")


@dataclass(frozen=True)
class RecordedRequest:
    n: int  # 1-based count of chat-completions requests (0 for other paths)
    method: str
    path: str
    headers: dict[str, str]
    json: Any  # None when the body was not JSON
    body: bytes
    arrived_at: float  # time.monotonic()

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    @property
    def user_text(self) -> str:
        return _user_text(self.json)

    @property
    def target(self) -> str:
        return _target(self.json)


class FakeLlmGateway:
    def __init__(
        self,
        api_key: str = "test-key",
        *,
        models: Iterable[str] = DEFAULT_MODELS,
        accept_bearer: bool = False,
        fail_first: int = 0,
        fail_status: int = 500,
        fail_headers: dict[str, str] | None = None,
        fail_text: str | None = None,
        malformed: bool = False,
        delay_s: float | Callable[[Any, int], float] = 0.0,
        responder: Responder | None = None,
        rate_limit: int = 30,
    ) -> None:
        self.api_key = api_key
        self.models = set(models)
        self.accept_bearer = accept_bearer
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.fail_headers = dict(fail_headers or {})
        self.fail_text = fail_text
        self.malformed = malformed
        self.delay_s = delay_s
        self.responder = responder
        self.rate_limit = rate_limit
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._chat_count = 0
        self._faults_counted = 0
        self._errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._window_start = time.monotonic()
        self._window_count = 0

    # --- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FakeLlmGateway:
        server = _Server(("127.0.0.1", 0), _make_handler(self))
        server.gateway = self
        # Handler threads are joined on close so a test leaves no thread behind; a delayed reply
        # ends early because delays wait on self._stopping.
        server.daemon_threads = False
        server.block_on_close = True
        self._server = server
        # A short poll interval: shutdown() waits for serve_forever to notice, up to one interval.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm-gateway", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._stopping.set()
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if exc_type is None and self._errors:
            raise self._errors[0]

    @property
    def port(self) -> int:
        assert self._server is not None, "use FakeLlmGateway as a context manager"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- what the tests read ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._cond:
            return [r for r in self._requests if r.n > 0]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` chat-completions requests have arrived; AssertionError on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._chat_count >= count, timeout=timeout):
                raise AssertionError(f"expected {count} LLM requests within {timeout} s, got {self._chat_count}")
            return [r for r in self._requests if r.n > 0]

    # --- request handling (handler threads) ---------------------------------------------------

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes, payload: Any) -> RecordedRequest:
        with self._cond:
            n = 0
            if handler.path.split("?", 1)[0] == CHAT_PATH and handler.command == "POST":
                self._chat_count += 1
                n = self._chat_count
            record = RecordedRequest(
                n=n, method=handler.command, path=handler.path, headers=dict(handler.headers.items()),
                json=payload, body=body, arrived_at=time.monotonic(),
            )
            self._requests.append(record)
            self._cond.notify_all()
            return record

    def _answer(self, record: RecordedRequest) -> Reply:
        if record.path.split("?", 1)[0] != CHAT_PATH:
            # Plain text, like most web servers: only the gateway's own errors carry the JSON shape.
            return 404, {"Content-Type": "text/plain"}, "404 page not found"
        if record.method != "POST":
            return _error(405, "Method not allowed")
        auth = record.header("Authorization") or ""
        if auth != self.api_key and not (self.accept_bearer and auth == f"Bearer {self.api_key}"):
            return _error(401, "Invalid API key" if auth else "Missing Authorization header")
        payload = record.json
        if self.responder is not None:
            scripted = self.responder(payload, record.n)
            if scripted is not None:
                return scripted
        if record.body and payload is None:
            return _error(400, "Invalid request: the body is not valid JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("model"), str) or not payload["model"]:
            return _error(400, "Invalid request: missing required field 'model'")
        if not payload.get("messages") and not payload.get("prompt"):
            return _error(400, "Invalid request: one of 'messages' or 'prompt' is required")
        model = payload["model"]
        if model not in self.models:
            return _error(404, f"Model '{model}' not found")
        if self._should_fail(record):
            headers = self._rate_headers(model, exhausted=self.fail_status == 429)
            headers.update(self.fail_headers)
            status, _, body = _error(self.fail_status, "Rate limit exceeded" if self.fail_status == 429 else "Injected failure")
            return status, headers, body
        if self.malformed:
            return 200, {"Content-Type": "application/json"}, b'{"request_id": "broken", "choices": [{"mess'
        return 200, self._rate_headers(model), self._success_body(payload)

    def _should_fail(self, record: RecordedRequest) -> bool:
        if self.fail_text is not None and self.fail_text in record.user_text:
            return True
        with self._cond:
            self._faults_counted += 1
            return self._faults_counted <= self.fail_first

    def _rate_headers(self, model: str, *, exhausted: bool = False) -> dict[str, str]:
        with self._cond:
            now = time.monotonic()
            if now - self._window_start >= RATE_LIMIT_WINDOW_S:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            remaining = 0 if exhausted else max(0, self.rate_limit - self._window_count)
            reset = max(1, round(RATE_LIMIT_WINDOW_S - (now - self._window_start)))
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Model": model,
            "X-RateLimit-Service": "llm-gateway",
        }

    def _success_body(self, payload: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter_ns()
        text = _user_text(payload)
        reply = f"[{_target(payload)}] {text}"
        input_tokens = sum(len(_content(m.get("content")).split()) for m in payload.get("messages") or [] if isinstance(m, dict))
        input_tokens += len(str(payload.get("prompt") or "").split())
        output_tokens = len(reply.split())
        echo = {k: v for k, v in payload.items() if k not in ("messages", "prompt")}
        return {
            "request_id": str(uuid.uuid4()),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
            "request": echo,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens},
            "http_status_code": 200,
            "response_time": time.perf_counter_ns() - started,
            "llm_status_code": 200,
        }

    def _delay_for(self, record: RecordedRequest) -> float:
        delay = self.delay_s
        return float(delay(record.json, record.n)) if callable(delay) else float(delay)


class _Server(ThreadingHTTPServer):
    gateway: FakeLlmGateway

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The stdlib prints a traceback to stderr here; record it instead (raised on exit), except
        # for clients that hung up, which tests do on purpose.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, (ConnectionError, TimeoutError)):
            with self.gateway._cond:
                self.gateway._errors.append(exc)


def _make_handler(gateway: FakeLlmGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no handler thread idles on a keep-alive socket.
        protocol_version = "HTTP/1.0"
        timeout = 10  # a client that connects and never sends cannot hold shutdown forever

        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def _handle(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    payload = json.loads(body) if body else None
                except ValueError:
                    payload = None
                record = gateway._record(self, body, payload)
                status, headers, reply = gateway._answer(record)
                delay = gateway._delay_for(record) if record.n else 0.0
                if delay > 0:
                    gateway._stopping.wait(delay)
                self._send(status, headers, reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout is shorter than our delay): expected
            except BaseException as exc:  # surfaced by FakeLlmGateway.__exit__
                with gateway._cond:
                    gateway._errors.append(exc)
                with contextlib.suppress(OSError):
                    self._send(500, {}, {"error": {"code": 500, "message": f"fake crashed: {exc!r}", "metadata": {}}})

        def _send(self, status: int, headers: dict[str, str], body: Body) -> None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                headers = {"Content-Type": "application/json", **headers}
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = body
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the recorded requests are the log

    return Handler


def _error(status: int, message: str) -> Reply:
    return status, {}, {"error": {"code": status, "message": message, "metadata": {}}}


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _user_text(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    messages = payload.get("messages")
    if isinstance(messages, list):
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return _content(users[-1].get("content"))
    return str(payload.get("prompt") or "")


def _target(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("messages"), list):
        for message in payload["messages"]:
            if isinstance(message, dict) and message.get("role") == "system":
                match = _TARGET.search(_content(message.get("content")))
                return match.group(1).strip() if match else "?"
    return "?"
