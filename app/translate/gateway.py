"""Client for AssemblyAI's LLM Gateway (any OpenAI-compatible chat-completions endpoint).

``ChatTranslator.translate`` makes ONE blocking HTTP request and either returns a
``TranslationResult`` or raises a ``TranslationError`` whose message a person can act on and whose
``retryable``/``retry_after`` tell the caller whether and when to try again. Retrying is the
translation queue's job, not this module's. Runs on the translation queue's worker threads; one
instance is shared by all of them (see ``ChatTranslator.__init__``).

Wire format: protocol §5. The AssemblyAI gateway takes the raw key in ``Authorization`` (no
``Bearer``); ``auth_scheme="bearer"`` exists for other OpenAI-compatible backends. The API key is
only ever placed in that header: never in the URL, an error message or a log line.
"""
from __future__ import annotations

import email.utils
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import requests

from app.core.catalog import DEFAULT_LLM_MODEL, DEFAULT_LLM_URL
from app.core.errors import ConfigError, TranslationError
from app.core.validate import llm_base_url
from app.translate.prompt import TranslationRequest, build_messages

log = logging.getLogger(__name__)

DEFAULT_MODEL = DEFAULT_LLM_MODEL
USER_AGENT = "live-translate/0.1"

AuthScheme = Literal["raw", "bearer"]


@dataclass(frozen=True)
class TranslationResult:
    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0


class Translator(Protocol):
    """Anything that turns one ``TranslationRequest`` into text (the queue needs nothing more).

    Implementations must be safe to call from several threads at once and must raise
    ``TranslationError`` (with ``retryable`` set honestly) for every failure."""

    def translate(self, request: TranslationRequest) -> TranslationResult: ...


class ChatTranslator:
    """Translates with ``POST {base_url}/chat/completions``."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_LLM_URL,
        model: str = DEFAULT_MODEL,
        timeout: tuple[float, float] = (5.0, 30.0),
        auth_scheme: AuthScheme = "raw",
        max_tokens: int = 1000,
        temperature: float = 0.0,
        session: requests.Session | None = None,
    ) -> None:
        key = (api_key or "").strip()
        if not key:
            raise ConfigError(
                "No AssemblyAI API key for the LLM Gateway. Set ASSEMBLYAI_API_KEY or enter it in Settings."
            )
        if not key.isascii() or not key.isprintable() or any(ch.isspace() for ch in key):
            # requests would otherwise fail with an error that quotes the header value (the key).
            raise ConfigError("The API key contains spaces or unusual characters. Paste it again in Settings.")
        if auth_scheme not in ("raw", "bearer"):
            raise ConfigError(f"Unknown LLM auth scheme {auth_scheme!r}; use 'raw' (AssemblyAI) or 'bearer'.")
        if not model or not model.strip():
            raise ConfigError("No LLM model given. Choose one in Settings or with --llm-model.")
        if max_tokens < 1:
            raise ConfigError(f"max_tokens must be at least 1, not {max_tokens}.")
        if not 0.0 <= temperature <= 2.0:
            raise ConfigError(f"The LLM temperature must be between 0 and 2, not {temperature}.")
        self._key = key
        self.base_url = llm_base_url(base_url)
        self.url = self.base_url + "/chat/completions"
        self.host = urlsplit(self.base_url).netloc
        self.model = model.strip()
        self.timeout = timeout
        self.auth_scheme: AuthScheme = auth_scheme
        self.max_tokens = max_tokens
        self.temperature = temperature
        # One Session shared by the queue's workers: urllib3's connection pool is thread-safe, and
        # nothing on the Session is mutated after this point (headers travel with each request),
        # so concurrent use is safe and keeps TLS connections warm between turns.
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:  # the default repr is fine too, but make sure the key never shows
        return f"ChatTranslator(url={self.url!r}, model={self.model!r}, auth_scheme={self.auth_scheme!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> ChatTranslator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        auth = self._key if self.auth_scheme == "raw" else f"Bearer {self._key}"
        return {
            "Authorization": auth,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    def translate(self, request: TranslationRequest) -> TranslationResult:
        body = {
            "model": self.model,
            "messages": build_messages(request),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        started = time.monotonic()
        try:
            # No redirects: requests would turn a redirected POST into a GET, and a redirect means
            # the URL is wrong anyway.
            response = self._session.post(
                self.url, json=body, headers=self._headers(), timeout=self.timeout, allow_redirects=False
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise self._unreachable("the connection timed out", exc) from None
        except requests.exceptions.Timeout as exc:
            raise TranslationError(
                f"The LLM Gateway at {self.host} did not answer within {self.timeout[1]:g} s (timeout).",
                retryable=True,
                detail=type(exc).__name__,
            ) from None
        except requests.exceptions.SSLError as exc:
            raise self._unreachable("the secure connection failed; check the system clock and any proxy", exc) from None
        except requests.exceptions.ConnectionError as exc:
            raise self._unreachable("check the internet connection and the LLM URL", exc) from None
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(type(exc).__name__, exc) from None
        with response:
            elapsed_ms = (time.monotonic() - started) * 1000
            log.debug("LLM Gateway %s answered %d in %.0f ms", self.host, response.status_code, elapsed_ms)
            if response.status_code != 200:
                raise self._status_error(response)
            return self._parse_success(response)

    # --- errors -------------------------------------------------------------------------------

    def _unreachable(self, why: str, exc: Exception) -> TranslationError:
        return TranslationError(
            f"Could not reach the LLM Gateway at {self.host} ({why}).",
            retryable=True,
            detail=self._scrub(f"{type(exc).__name__}: {exc}"),
        )

    def _scrub(self, text: str) -> str:
        # Belt and braces: nothing we build contains the key, but a server or proxy might echo it.
        return text.replace(self._key, "<api key>") if len(self._key) >= 8 else text

    def _status_error(self, response: requests.Response) -> TranslationError:
        status = response.status_code
        server_message, is_gateway_error = _error_message(response)
        server_message = self._scrub(server_message)
        said = f": {server_message}" if server_message else ""
        detail = self._scrub(response.text[:500])
        if status in (401, 403):
            return TranslationError(
                f"The LLM Gateway rejected the API key ({status}){said}. Check the AssemblyAI API key in "
                "Settings; the LLM Gateway also needs an account with LLM Gateway access.",
                status=status, retryable=False, detail=detail,
            )
        if status == 404:
            if is_gateway_error:
                return TranslationError(
                    f"The LLM Gateway does not know the model '{self.model}' (404). "
                    "Choose another model in Settings or with --llm-model.",
                    status=status, retryable=False, detail=detail,
                )
            # A 404 without the gateway's error body comes from something else at that address.
            return TranslationError(
                f"There is no chat-completions endpoint at {self.url} (404). Check the LLM URL in Settings.",
                status=status, retryable=False, detail=detail,
            )
        if status == 429:
            retry_after = _retry_after(response.headers)
            when = f"; it asks to wait {retry_after:.0f} s" if retry_after is not None else ""
            return TranslationError(
                f"The LLM Gateway is rate limiting requests for '{self.model}' (429){when}.",
                status=status, retryable=True, retry_after=retry_after, detail=detail,
            )
        if status == 400:
            return TranslationError(
                f"The LLM Gateway refused the request (400){said}. Check the model and LLM settings.",
                status=status, retryable=False, detail=detail,
            )
        if status == 408 or status >= 500:
            return TranslationError(
                f"The LLM Gateway had a server problem ({status}){said}.",
                # Only Retry-After: the X-RateLimit-* headers ride on every reply and say nothing
                # about when a server error will clear.
                status=status, retryable=True, retry_after=_retry_after(response.headers, rate_limited=False),
                detail=detail,
            )
        if 300 <= status < 400:
            return TranslationError(
                f"The LLM URL {self.url} redirects elsewhere ({status}). Check the LLM URL in Settings.",
                status=status, retryable=False, detail=detail,
            )
        return TranslationError(
            f"The LLM Gateway answered with an unexpected status ({status}){said}.",
            status=status, retryable=False, detail=detail,
        )

    # --- success ------------------------------------------------------------------------------

    def _parse_success(self, response: requests.Response) -> TranslationResult:
        try:
            data = response.json()
        except ValueError:
            raise self._malformed("the body is not JSON", response) from None
        if not isinstance(data, dict):
            raise self._malformed("the body is not a JSON object", response)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._malformed("it has no choices", response)
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        text = _content_text(content).strip()
        if not text:
            raise self._malformed("it has no translation text", response)
        if choices[0].get("finish_reason") == "length":
            log.warning("The LLM reply hit max_tokens=%d; the translation may be cut short", self.max_tokens)
        usage = _dict(data.get("usage"))
        model = _dict(data.get("request")).get("model") or data.get("model") or self.model
        return TranslationResult(
            text=text,
            model=str(model),
            input_tokens=_int(usage.get("input_tokens", usage.get("prompt_tokens"))),
            output_tokens=_int(usage.get("output_tokens", usage.get("completion_tokens"))),
        )

    def _malformed(self, why: str, response: requests.Response) -> TranslationError:
        return TranslationError(
            f"The LLM Gateway sent a malformed reply ({why}).",
            status=response.status_code, retryable=True, detail=self._scrub(response.text[:500]),
        )


def _content_text(content: Any) -> str:
    """``message.content`` is a string, or (OpenAI style) a list of parts like ``{"type":"text","text":...}``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return ""


def _error_message(response: requests.Response) -> tuple[str, bool]:
    """The server's explanation and whether the body had the gateway's error shape.

    The gateway sends ``{"error": {"code", "message", "metadata"}}`` [protocol §5.4]; other
    OpenAI-compatible servers send ``{"error": "text"}``; proxies send HTML or plain text."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and "error" in data:
        error = data["error"]
        if isinstance(error, dict):
            message = error.get("message")
            return (_short(message) if isinstance(message, str) else ""), True
        if isinstance(error, str):
            return _short(error), True
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return _short(data["message"]), True
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type.lower():
        return "", False
    return _short(response.text), False


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(headers: Any, now: float | None = None, *, rate_limited: bool = True) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else, for a 429, ``X-RateLimit-Reset``
    (seconds until the window resets [protocol §5.4]); None when neither is usable."""
    value = headers.get("Retry-After")
    if value:
        seconds = _seconds(value)
        if seconds is None:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
        if seconds is not None:
            return seconds
    reset = headers.get("X-RateLimit-Reset") if rate_limited else None
    if reset:
        seconds = _seconds(reset)
        if seconds is not None and seconds > 1e9:
            # Some servers send an epoch timestamp instead of a duration; accept both.
            seconds = max(0.0, seconds - (time.time() if now is None else now))
        return seconds
    return None


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
