"""A local imitation of AssemblyAI's LLM Gateway (protocol §5 and §9.9-14) as a real HTTP server.

The server runs ``http.server.ThreadingHTTPServer`` on 127.0.0.1 in a background thread, one
handler thread per connection; the test thread reads what it recorded through thread-safe helpers.

    with FakeLlmGateway(api_key="test-key") as llm:
        translator = ChatTranslator("test-key", base_url=llm.base_url)   # http://127.0.0.1:PORT/v1

What it imitates, checked in this order for ``POST /v1/chat/completions``:
1. ``Authorization`` must be the raw key -> else 401. Whether the real gateway also accepts
   ``Bearer <key>`` is UNCONFIRMED (§5.1/§8), so it is an option, off by default.
2. The free tier (``free_tier=True``): "LLM Gateway is not available to accounts on the free tier"
   (§5.1, §9.13), but what the refusal looks like is undocumented. CHOSEN: 403 (the documented
   "insufficient permissions" status, §5.4) with the docs' sentence as the message and
   ``metadata.tier = "free"``. The streaming fake accepts the same key, as the real service would.
3. ``responder(request_json, n)`` if given: return ``(status, headers, body)`` to answer with that
   (``body`` a dict/list is sent as JSON, str/bytes as is), or None to carry on.
4. Invalid JSON, no ``model``, or neither ``messages`` nor ``prompt`` -> 400.
5. Models (§5.5, §9.10, §9.12): ``region="us"`` serves every model of §5.5 plus the Qwen and Kimi
   ones; ``region="eu"`` only the Claude and Gemini ones (``models=`` overrides the set). A model
   the gateway knows but does not serve here -> 400 with ``metadata.errors: ["model '<id>' is not
   supported"]``; a misspelt or retired one (``claude-3-haiku-20240307``) -> 404 "Model '<id>' not
   found". The exact 400 message text is CHOSEN ("Invalid request"); §9.12 gives only the errors.
6. Rate limit (§5.4, §9.9): ``rate_limit`` requests per ``rate_window_s`` (60 s like the real one;
   tests make it seconds) per model, counted from the window's first request; every reply carries
   ``X-RateLimit-Limit/-Remaining/-Reset/-Model/-Service``; the request over the limit gets 429 with
   Remaining 0 and no ``Retry-After`` (none is documented). ``Reset`` is whole seconds rounded up,
   as a header of seconds would be; windows under 10 s (tests) report hundredths instead.
7. Model quirks, CHOSEN from OpenAI's behaviour since the gateway's handling is undocumented (§9.11):
   a GPT-5 model given a ``temperature`` other than 1 -> 400 "Unsupported value: 'temperature' …";
   a ``gpt-oss`` model given ``response_format`` -> 400 (§5.2 says it is not for gpt-oss). GPT-5
   models spend ``reasoning_tokens`` from ``max_tokens`` (default 1000, §5.2) before answering.
8. Faults: a request whose user text contains ``fail_text`` always fails, and the first
   ``fail_first`` of the other requests that get this far fail, both with ``fail_status`` and
   ``fail_headers`` (a 429 also gets X-RateLimit-* with Remaining 0); ``malformed=True`` answers
   200 with a truncated JSON body; the first ``empty_first`` successful replies have empty content.
9. Success: exactly the §5.3 shape. A reply that does not fit in ``max_tokens`` is cut there with
   ``finish_reason: "length"``; one whose reasoning used the whole budget has empty content.
Every answer is delayed by ``delay_s`` (seconds, or a function ``(request_json, n) -> seconds``);
leaving the ``with`` block cuts delays short. Error bodies are ``{"error": {"code", "message",
"metadata"}}`` with ``code`` equal to the HTTP status (§5.4); so is the 404 for a path that is not
the endpoint (CHOSEN: the real gateway's reply to an unknown path is undocumented; a JSON API
answering JSON is the harder case for a client, which must not blame the model for it).

Connections are HTTP/1.1 keep-alive, like the real service behind its load balancer: one client
connection carries many requests, and one idle for ``keepalive_s`` is closed by the server. Each
``RecordedRequest.connection`` numbers the connection it came on.

Translation convention (deterministic and checkable): the reply is ``"[<target>] <text>"`` where
``<text>`` is the last user message and ``<target>`` is what follows ``into `` up to the next
``.`` in the first system message (app/translate/prompt.py starts it with "Translate the user's
message into German."); ``?`` when no target can be found. A several-language request (the targets
as ``- <code>: <name>`` lines after "into each of these languages:", or the properties of a
``response_format`` JSON schema) gets a JSON object ``{"<code>": "[<name>] <text>", …}``: bare with
a schema (as a strict schema forces), inside a ```json code fence without one (as models often do),
without the codes in ``omit_languages``, and as plain prose when ``unstructured=True`` and no schema
was sent. Token counts are ``ceil(characters / 4)`` per message (OpenAI's rule of thumb).

Not imitated: streaming (SSE), tools, ``prompt``/``transcript_id`` templating, fallbacks, the
account-wide 20,000 requests per 5 minutes, latency that grows with the reply (``delay_s`` can do
that), and real translation.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"
RATE_LIMIT_WINDOW_S = 60.0
DEFAULT_MAX_TOKENS = 1000
# Model ids per protocol §5.5 (2026-03 list and the mid-2026 additions), by vendor.
ANTHROPIC = ("claude-opus-4-7", "claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-5-20251101",
             "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-20250514",
             "claude-sonnet-4-20250514")
GOOGLE = ("gemini-3.5-flash", "gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-2.5-pro", "gemini-2.5-flash",
          "gemini-2.5-flash-lite")
OPENAI = ("gpt-5.5", "gpt-5.2", "gpt-5.1", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-oss-120b",
          "gpt-oss-20b")
QWEN_KIMI = ("kimi-k2.5", "qwen3-next-80b-a3b", "qwen3.5-4b-32k-fast")
RETIRED = frozenset({"claude-3-haiku-20240307"})
REGION_MODELS: dict[str, frozenset[str]] = {
    "us": frozenset(ANTHROPIC + GOOGLE + OPENAI + QWEN_KIMI),
    "eu": frozenset(ANTHROPIC + GOOGLE),  # OpenAI, Qwen and Kimi are US-only [§9.10]
}
KNOWN_MODELS = REGION_MODELS["us"]
DEFAULT_MODELS = REGION_MODELS["us"]
FREE_TIER_MESSAGE = "LLM Gateway is not available to accounts on the free tier. Upgrade your account to use it."

Body = dict[str, Any] | list[Any] | str | bytes
Reply = tuple[int, dict[str, str], Body]
Responder = Callable[[Any, int], Reply | None]
_TARGET = re.compile(r"\binto ([^.\n]+)\.")
_BATCH_HEAD = "into each of these languages:"
_BATCH_LINE = re.compile(r"^- ([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?): (.+)$")


@dataclass(frozen=True)
class RecordedRequest:
    n: int  # 1-based count of chat-completions requests (0 for other paths)
    method: str
    path: str
    headers: dict[str, str]
    json: Any  # None when the body was not JSON
    body: bytes
    arrived_at: float  # time.monotonic()
    connection: int = 0  # which client connection carried it (1, 2, … in order of arrival)

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    @property
    def user_text(self) -> str:
        return _user_text(self.json)

    @property
    def target(self) -> str:
        return _target(self.json)

    @property
    def targets(self) -> dict[str, str]:
        """A several-language request's ``{code: name}``; empty for a one-language request."""
        return _batch_targets(self.json)


@dataclass(frozen=True)
class RecordedAnswer:
    n: int  # the request's n
    status: int
    input_tokens: int = 0
    output_tokens: int = 0
    finish_reason: str = ""
    sent_at: float = 0.0  # time.monotonic() when the answer was decided (before any delay)


class FakeLlmGateway:
    def __init__(
        self,
        api_key: str = "test-key",
        *,
        region: str = "us",
        models: Iterable[str] | None = None,
        accept_bearer: bool = False,
        free_tier: bool = False,
        fail_first: int = 0,
        fail_status: int = 500,
        fail_headers: dict[str, str] | None = None,
        fail_text: str | None = None,
        malformed: bool = False,
        empty_first: int = 0,
        omit_languages: Iterable[str] = (),
        unstructured: bool = False,
        reasoning_tokens: int = 1200,
        delay_s: float | Callable[[Any, int], float] = 0.0,
        responder: Responder | None = None,
        rate_limit: int = 30,
        rate_window_s: float = RATE_LIMIT_WINDOW_S,
        keepalive_s: float = 5.0,
    ) -> None:
        if region not in REGION_MODELS:
            raise ValueError(f"region must be one of {sorted(REGION_MODELS)}")
        self.api_key = api_key
        self.region = region
        self.models = set(models) if models is not None else set(REGION_MODELS[region])
        self.accept_bearer = accept_bearer
        self.free_tier = free_tier
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.fail_headers = dict(fail_headers or {})
        self.fail_text = fail_text
        self.malformed = malformed
        self.empty_first = empty_first
        self.omit_languages = set(omit_languages)
        self.unstructured = unstructured
        self.reasoning_tokens = reasoning_tokens
        self.delay_s = delay_s
        self.responder = responder
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.keepalive_s = keepalive_s
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._answers: list[RecordedAnswer] = []
        self._chat_count = 0
        self._faults_counted = 0
        self._empties_sent = 0
        self._errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._windows: dict[str, tuple[float, int]] = {}  # model -> (window start, requests counted)
        self._connections: dict[int, socket.socket] = {}
        self._connection_ids = itertools.count(1)

    # --- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FakeLlmGateway:
        server = _Server(("127.0.0.1", 0), _make_handler(self))
        server.gateway = self
        # Handler threads are joined on close so a test leaves no thread behind; a delayed reply
        # ends early because delays wait on self._stopping, and idle keep-alive connections are
        # shut down on exit so their handlers stop waiting for a next request.
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
        with self._cond:
            connections = list(self._connections.values())
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
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

    @property
    def endpoint(self) -> str:
        """The full URL as the docs and the tutorial write it (``…/v1/chat/completions``)."""
        return f"http://127.0.0.1:{self.port}{CHAT_PATH}"

    # --- what the tests read ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._cond:
            return [r for r in self._requests if r.n > 0]

    @property
    def answers(self) -> list[RecordedAnswer]:
        """What each chat-completions request was answered, in the order the answers were decided."""
        with self._cond:
            return list(self._answers)

    def statuses(self) -> list[int]:
        return [a.status for a in self.answers]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` chat-completions requests have arrived; AssertionError on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._chat_count >= count, timeout=timeout):
                raise AssertionError(f"expected {count} LLM requests within {timeout} s, got {self._chat_count}")
            return [r for r in self._requests if r.n > 0]

    # --- request handling (handler threads) ---------------------------------------------------

    def _connected(self, conn: socket.socket) -> int:
        with self._cond:
            number = next(self._connection_ids)
            self._connections[number] = conn
            return number

    def _disconnected(self, number: int) -> None:
        with self._cond:
            self._connections.pop(number, None)

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes, payload: Any, connection: int) -> RecordedRequest:
        with self._cond:
            n = 0
            if handler.path.split("?", 1)[0] == CHAT_PATH and handler.command == "POST":
                self._chat_count += 1
                n = self._chat_count
            record = RecordedRequest(
                n=n, method=handler.command, path=handler.path, headers=dict(handler.headers.items()),
                json=payload, body=body, arrived_at=time.monotonic(), connection=connection,
            )
            self._requests.append(record)
            self._cond.notify_all()
            return record

    def _answer(self, record: RecordedRequest) -> Reply:
        reply = self._decide(record)
        if record.n:
            status, _, body = reply
            usage = body.get("usage") if isinstance(body, dict) else None
            choices = body.get("choices") if isinstance(body, dict) else None
            finish = choices[0].get("finish_reason", "") if isinstance(choices, list) and choices else ""
            answer = RecordedAnswer(
                record.n, status,
                input_tokens=usage.get("input_tokens", 0) if isinstance(usage, dict) else 0,
                output_tokens=usage.get("output_tokens", 0) if isinstance(usage, dict) else 0,
                finish_reason=finish if isinstance(finish, str) else "", sent_at=time.monotonic(),
            )
            with self._cond:
                self._answers.append(answer)
                self._cond.notify_all()
        return reply

    def _decide(self, record: RecordedRequest) -> Reply:
        if record.path.split("?", 1)[0] != CHAT_PATH:
            return _error(404, "Not Found")
        if record.method != "POST":
            return _error(405, "Method not allowed")
        auth = record.header("Authorization") or ""
        if auth != self.api_key and not (self.accept_bearer and auth == f"Bearer {self.api_key}"):
            return _error(401, "Invalid API key" if auth else "Missing Authorization header")
        if self.free_tier:
            return _error(403, FREE_TIER_MESSAGE, tier="free")
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
            if model in KNOWN_MODELS:
                return _error(400, "Invalid request", errors=[f"model '{model}' is not supported"])
            return _error(404, f"Model '{model}' not found")
        headers, over = self._count(model)
        if over:
            status, _, body = _error(429, "Rate limit exceeded")
            return status, headers, body
        quirk = _model_quirk(model, payload)
        if quirk is not None:
            status, _, body = _error(400, quirk)
            return status, headers, body
        if self._should_fail(record):
            headers = {**headers, **({"X-RateLimit-Remaining": "0"} if self.fail_status == 429 else {})}
            headers.update(self.fail_headers)
            status, _, body = _error(self.fail_status, "Rate limit exceeded" if self.fail_status == 429 else "Injected failure")
            return status, headers, body
        if self.malformed:
            return 200, {"Content-Type": "application/json", **headers}, b'{"request_id": "broken", "choices": [{"mess'
        return 200, headers, self._success_body(payload)

    def _should_fail(self, record: RecordedRequest) -> bool:
        if self.fail_text is not None and self.fail_text in record.user_text:
            return True
        with self._cond:
            self._faults_counted += 1
            return self._faults_counted <= self.fail_first

    def _count(self, model: str) -> tuple[dict[str, str], bool]:
        """Count one request in ``model``'s window: its X-RateLimit-* headers and whether it is over."""
        with self._cond:
            now = time.monotonic()
            start, used = self._windows.get(model, (now, 0))
            if now - start >= self.rate_window_s:
                start, used = now, 0
            used += 1
            self._windows[model] = (start, used)
            left = max(0.0, self.rate_window_s - (now - start))
        reset = f"{math.ceil(left - 1e-9):d}" if self.rate_window_s >= 10 else f"{left:.2f}"
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - used)),
            "X-RateLimit-Reset": reset,
            "X-RateLimit-Model": model,
            "X-RateLimit-Service": "llm-gateway",
        }, used > self.rate_limit

    def _success_body(self, payload: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter_ns()
        model = payload["model"]
        budget = payload.get("max_tokens") if isinstance(payload.get("max_tokens"), int) else DEFAULT_MAX_TOKENS
        reasoning = min(self.reasoning_tokens, budget) if model.startswith("gpt-5") else 0
        reply = self._reply_text(payload)
        with self._cond:
            empty = self._empties_sent < self.empty_first
            self._empties_sent += empty
        if empty:
            reply = ""
        room = budget - reasoning
        finish = "stop"
        if _tokens(reply) > room:
            reply, finish = reply[: max(0, room) * 4], "length"
        input_tokens = sum(_tokens(_content(m.get("content"))) for m in payload.get("messages") or [] if isinstance(m, dict))
        input_tokens += _tokens(str(payload.get("prompt") or ""))
        output_tokens = reasoning + _tokens(reply)
        echo = {k: v for k, v in payload.items() if k not in ("messages", "prompt")}
        usage: dict[str, Any] = {"input_tokens": input_tokens, "output_tokens": output_tokens,
                                 "total_tokens": input_tokens + output_tokens}
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        return {
            "request_id": str(uuid.uuid4()),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": finish}],
            "request": echo,
            "usage": usage,
            "http_status_code": 200,
            "response_time": time.perf_counter_ns() - started,
            "llm_status_code": 200,
        }

    def _reply_text(self, payload: dict[str, Any]) -> str:
        text = _user_text(payload)
        targets = _batch_targets(payload)
        if not targets:
            return f"[{_target(payload)}] {text}"
        schema = isinstance(payload.get("response_format"), dict)
        if self.unstructured and not schema:
            return "Here are the translations: " + "; ".join(f"{name}: [{name}] {text}" for name in targets.values())
        reply = json.dumps({code: f"[{name}] {text}" for code, name in targets.items()
                            if code not in self.omit_languages}, ensure_ascii=False)
        return reply if schema else f"```json\n{reply}\n```"

    def _delay_for(self, record: RecordedRequest) -> float:
        delay = self.delay_s
        return float(delay(record.json, record.n)) if callable(delay) else float(delay)


class _Server(ThreadingHTTPServer):
    gateway: FakeLlmGateway

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The stdlib prints a traceback to stderr here; record it instead (raised on exit), except
        # for clients that hung up, which tests do on purpose.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            with self.gateway._cond:
                self.gateway._errors.append(exc)


def _make_handler(gateway: FakeLlmGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1: connections are kept alive between requests, as with the real gateway.
        protocol_version = "HTTP/1.1"
        timeout = gateway.keepalive_s  # an idle keep-alive connection is closed after this long
        connection_number = 0

        def setup(self) -> None:
            super().setup()
            self.connection_number = gateway._connected(self.connection)

        def finish(self) -> None:
            gateway._disconnected(self.connection_number)
            with contextlib.suppress(OSError):
                super().finish()

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
                record = gateway._record(self, body, payload, self.connection_number)
                status, headers, reply = gateway._answer(record)
                delay = gateway._delay_for(record) if record.n else 0.0
                if delay > 0:
                    gateway._stopping.wait(delay)
                self._send(status, headers, reply)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (its timeout is shorter than our delay)
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
            if gateway._stopping.is_set():
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the recorded requests are the log

    return Handler


def _error(status: int, message: str, *, errors: list[str] | None = None, **metadata: Any) -> Reply:
    meta: dict[str, Any] = dict(metadata)
    if errors is not None:
        meta["errors"] = errors
    return status, {}, {"error": {"code": status, "message": message, "metadata": meta}}


def _model_quirk(model: str, payload: dict[str, Any]) -> str | None:
    temperature = payload.get("temperature")
    if model.startswith("gpt-5") and temperature is not None and temperature != 1:
        return (f"Unsupported value: 'temperature' does not support {temperature} with this model. "
                "Only the default (1) value is supported.")
    if model.startswith("gpt-oss") and "response_format" in payload:
        return f"response_format is not supported for {model}"
    return None


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _system_text(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("messages"), list):
        for message in payload["messages"]:
            if isinstance(message, dict) and message.get("role") == "system":
                return _content(message.get("content"))
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
    match = _TARGET.search(_system_text(payload))
    return match.group(1).strip() if match else "?"


def _batch_targets(payload: Any) -> dict[str, str]:
    """``{code: name}`` of a several-language request, from its prompt (and its schema)."""
    lines = _system_text(payload).splitlines()
    named: dict[str, str] = {}
    if lines and _BATCH_HEAD in lines[0]:
        for line in lines[1:]:
            match = _BATCH_LINE.match(line.strip())
            if not match:
                break
            named[match.group(1)] = match.group(2).strip()
    schema = payload.get("response_format") if isinstance(payload, dict) else None
    properties = _dig(schema, "json_schema", "schema", "properties")
    if isinstance(properties, dict) and properties:
        return {code: named.get(code, code) for code in properties}
    return named


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value
