"""Client for AssemblyAI's LLM Gateway (any OpenAI-compatible chat-completions endpoint).

``ChatTranslator.translate`` makes ONE blocking HTTP request for one language and either returns a
``TranslationResult`` or raises a ``TranslationError`` whose message a person can act on and whose
``retryable``/``retry_after`` tell the caller whether and when to try again. ``translate_all``
makes ONE request for several languages (a JSON reply with one field per language) and returns
what the reply holds; the caller translates what it misses one language at a time. Retrying and
pacing are the translation queue's job, not this module's: it only tells the ``RateLimitPacer``
what each reply's ``X-RateLimit-*`` headers say. Runs on the translation queue's worker threads;
one instance is shared by all of them (see ``ChatTranslator.__init__``).

Wire format: protocol §5. The AssemblyAI gateway takes the raw key in ``Authorization`` (no
``Bearer``); ``auth_scheme="bearer"`` exists for other OpenAI-compatible backends. The API key is
only ever placed in that header: never in the URL, an error message or a log line. What each model
accepts (temperature, reasoning budget, JSON schema) comes from ``app.core.catalog.llm_model``.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from app.core.backends import ASSEMBLYAI_GATEWAY, TranslationBackend, secret
from app.core.catalog import (
    DEFAULT_LLM_MODEL,
    DEFAULT_LLM_URL,
    MAX_TOKENS_CAP,
    llm_region_of_url,
    max_tokens_for,
)
from app.core.catalog import llm_model as model_record
from app.core.errors import AppError, ConfigError, TranslationError
from app.core.languages import resolve_language
from app.core.validate import llm_base_url
from app.translate.base import BatchResult, TranslationResult
from app.translate.pacing import RateLimitPacer
from app.translate.prompt import (
    BatchRequest,
    TranslationRequest,
    build_batch_messages,
    build_messages,
    translations_schema,
)
from app.translate.replies import ErrorBody, RateLimit, content_text, error_body, parse_translations, rate_limit
from app.translate.replies import retry_after as _retry_after

log = logging.getLogger(__name__)

DEFAULT_MODEL = DEFAULT_LLM_MODEL
USER_AGENT = "live-translate/0.1"
_UNSUPPORTED_MODEL = re.compile(r"model\b.*\bnot supported|unsupported model", re.IGNORECASE)
_FREE_TIER = re.compile(r"free[ -]tier|\btier\b", re.IGNORECASE)

AuthScheme = Literal["raw", "bearer"]

class ChatTranslator:
    """Translates with ``POST {base_url}/chat/completions``."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_LLM_URL,
        model: str = DEFAULT_MODEL,
        timeout: tuple[float, float] = (5.0, 30.0),
        auth_scheme: AuthScheme | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
        session: requests.Session | None = None,
        pacer: RateLimitPacer | None = None,
        backend: TranslationBackend = ASSEMBLYAI_GATEWAY,
    ) -> None:
        # Every message names the service in use and its key: "The LLM Gateway", "AssemblyAI API key".
        self.backend = backend
        self._secret = secret(backend.secret)
        self._title = backend.name[:1].upper() + backend.name[1:]
        key = (api_key or "").strip()
        if not key:
            raise ConfigError(f"No {self._secret.label} for {backend.name}. Set {self._secret.env_var} or enter it "
                              "in Settings.")
        if not key.isascii() or not key.isprintable() or any(ch.isspace() for ch in key):
            # requests would otherwise fail with an error that quotes the header value (the key).
            raise ConfigError("The API key contains spaces or unusual characters. Paste it again in Settings.")
        auth_scheme = auth_scheme or ("bearer" if backend.auth_scheme == "bearer" else "raw")
        if auth_scheme not in ("raw", "bearer"):
            raise ConfigError(f"Unknown LLM auth scheme {auth_scheme!r}; use 'raw' (AssemblyAI) or 'bearer'.")
        if not model or not model.strip():
            raise ConfigError("No LLM model given. Choose one in Settings or with --llm-model.")
        if max_tokens is not None and max_tokens < 1:
            raise ConfigError(f"max_tokens must be at least 1, not {max_tokens}.")
        if not 0.0 <= temperature <= 2.0:
            raise ConfigError(f"The LLM temperature must be between 0 and 2, not {temperature}.")
        self._key = key
        self.base_url = llm_base_url(base_url)
        self.url = self.base_url + "/chat/completions"
        self.host = urlsplit(self.base_url).netloc
        self.model = model.strip()
        self.info = model_record(self.model)
        self.timeout = timeout
        self.auth_scheme: AuthScheme = auth_scheme
        # One language's budget: given, or what the model needs (GPT-5 also reasons out of it).
        self.max_tokens = max_tokens if max_tokens is not None else self.info.max_tokens(1)
        self.temperature = temperature
        self.pacer = pacer
        self._lock = threading.Lock()
        self._growth = 1  # doubled whenever a reply ran out of tokens, for every later request
        self._schema = self.info.json_schema  # cleared if the server refuses response_format
        # One Session shared by the queue's workers: urllib3's connection pool is thread-safe, and
        # nothing on the Session is mutated after this point (headers travel with each request),
        # so concurrent use is safe and keeps TLS (keep-alive) connections warm between turns.
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

    # --- requests -----------------------------------------------------------------------------

    def budget(self, languages: int = 1) -> int:
        """``max_tokens`` for a reply in ``languages`` languages (grows after a reply ran out)."""
        with self._lock:
            growth = self._growth
        return min(MAX_TOKENS_CAP, max_tokens_for(languages, base=self.max_tokens) * growth)

    def _body(self, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": max_tokens}
        if self.info.temperature:
            # GPT-5 models refuse any temperature but the default [protocol §9.11]: send none.
            body["temperature"] = self.temperature
        return body

    def translate(self, request: TranslationRequest) -> TranslationResult:
        budget = self.budget(1)
        data = self._post(self._body(build_messages(request), budget))
        text, finish = self._reply(data)
        if finish == "length":
            raise self._ran_out(budget, bool(text))
        if not text:
            raise self._malformed("it has no translation text", data)
        input_tokens, output_tokens = _usage(data)
        return TranslationResult(text=text, model=self._served_model(data), input_tokens=input_tokens,
                                 output_tokens=output_tokens)

    def translate_all(self, request: BatchRequest) -> BatchResult:
        """One request for every language of ``request.targets``; see ``BatchResult``."""
        codes = [lang.code for lang in request.targets]
        budget = self.budget(len(codes))
        body = self._body(build_batch_messages(request), budget)
        with self._lock:
            schema = self._schema
        if schema:
            body["response_format"] = translations_schema(request)
        try:
            data = self._post(body)
        except TranslationError as exc:
            if schema and exc.status == 400 and "response_format" in f"{exc.message} {exc.detail}":
                with self._lock:
                    self._schema = False  # this server does not do JSON schemas: the prompt asks for JSON
                raise TranslationError(
                    f"{self._title} refused a JSON schema for '{self.model}'; asking for JSON in the prompt instead.",
                    status=400, retryable=True, detail=exc.detail,
                ) from None
            raise
        text, finish = self._reply(data)
        if finish == "length":
            self._grow()
        texts = parse_translations(text, codes)
        if len(texts) < len(codes):
            missing = [c for c in codes if c not in texts]
            log.info("The several-language reply lacks %s (finish_reason %s); those go one at a time",
                     ", ".join(missing), finish or "none")
        input_tokens, output_tokens = _usage(data)
        return BatchResult(texts=texts, model=self._served_model(data), input_tokens=input_tokens,
                           output_tokens=output_tokens)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send ``body``; the reply's JSON object, or ``TranslationError``."""
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
                f"{self._title} at {self.host} did not answer within {self.timeout[1]:g} s (timeout).",
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
            log.debug("%s %s answered %d in %.0f ms", self._title, self.host, response.status_code, elapsed_ms)
            self._observe(response)
            if response.status_code != 200:
                raise self._status_error(response)
            try:
                data = response.json()
            except ValueError:
                raise self._malformed("the body is not JSON", None, response.text) from None
            if not isinstance(data, dict):
                raise self._malformed("the body is not a JSON object", None, response.text)
            return data

    def _observe(self, response: requests.Response) -> None:
        if self.pacer is None:
            return
        limit = rate_limit(response.headers)
        if limit is None and response.status_code == 429:
            wait = _retry_after(response.headers)
            limit = RateLimit(None, 0, wait) if wait is not None else None
        self.pacer.observe(limit)

    def _grow(self) -> bool:
        """Double the token budget after a reply ran out; False when it is already at the cap."""
        with self._lock:
            if self.max_tokens * self._growth >= MAX_TOKENS_CAP:
                return False
            self._growth *= 2
            return True

    def _served_model(self, data: dict[str, Any]) -> str:
        return str(_dict(data.get("request")).get("model") or data.get("model") or self.model)

    # --- errors -------------------------------------------------------------------------------

    def _ran_out(self, budget: int, had_text: bool) -> TranslationError:
        what = "the translation was cut short" if had_text else "it sent no translation"
        spent = f"The model '{self.model}' used its whole token budget (max_tokens {budget}) and {what}"
        if self.info.reasoning:
            spent += " (its reasoning counts against that budget)"
        if self._grow():
            return TranslationError(f"{spent}; trying again with a larger budget.", retryable=True)
        return TranslationError(f"{spent}. Choose a model that needs fewer tokens in Settings or with --llm-model.",
                                retryable=False)

    def _unreachable(self, why: str, exc: Exception) -> TranslationError:
        return TranslationError(
            f"Could not reach {self.backend.name} at {self.host} ({why}).",
            retryable=True,
            detail=self._scrub(f"{type(exc).__name__}: {exc}"),
        )

    def _scrub(self, text: str) -> str:
        # Belt and braces: nothing we build contains the key, but a server or proxy might echo it.
        return text.replace(self._key, "<api key>") if len(self._key) >= 8 else text

    def _status_error(self, response: requests.Response) -> TranslationError:
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = None
        body = error_body(data, response.text, response.headers.get("Content-Type", ""))
        server_message = self._scrub(body.message).rstrip(".")  # each message below ends its own sentence
        said = f": {server_message}" if server_message else ""
        detail = self._scrub(response.text[:500])
        if status == 401:
            return TranslationError(
                f"{self._title} rejected the API key (401){said}. Check the {self._secret.label} in Settings.",
                status=status, retryable=False, detail=detail,
            )
        if status == 403 or (status == 400 and _FREE_TIER.search(body.message)):
            # Not open to free-tier accounts [protocol §5.1, §9.13]; what the refusal looks like is
            # undocumented, so a 403 (or a 400 about the "tier") is read as that.
            advice = ("Transcription still works; upgrade the account to translate." if _FREE_TIER.search(body.message)
                      else self.backend.account_advice)
            return TranslationError(
                f"{self._title} refused this account ({status}){said}. {advice}",
                status=status, retryable=False, detail=detail,
            )
        if status == 400 and _unsupported_model(body):
            why = "; ".join(body.details) or server_message
            where = " in the EU region" if llm_region_of_url(self.base_url) == "eu" else ""
            return TranslationError(
                f"{self._title} does not support the model '{self.model}'{where} (400): {why}. "
                "Choose another model in Settings or with --llm-model.",
                status=status, retryable=False, detail=detail,
            )
        if status == 404:
            return self._not_found(body, said, detail)
        if status == 429:
            wait = _retry_after(response.headers)
            when = f"; it asks to wait {wait:.0f} s" if wait is not None else ""
            return TranslationError(
                f"{self._title} is rate limiting requests for '{self.model}' (429){when}.",
                status=status, retryable=True, retry_after=wait, detail=detail,
            )
        if status == 400:
            return TranslationError(
                f"{self._title} refused the request (400){said}. Check the model and LLM settings.",
                status=status, retryable=False, detail=detail,
            )
        if status == 408 or status >= 500:
            return TranslationError(
                f"{self._title} had a server problem ({status}){said}.",
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
            f"{self._title} answered with an unexpected status ({status}){said}.",
            status=status, retryable=False, detail=detail,
        )

    def _not_found(self, body: ErrorBody, said: str, detail: str) -> TranslationError:
        """A 404 is a misspelt or retired model, or a URL with nothing behind it [protocol §9.12]:
        it is the model only when the gateway's own error says so."""
        text = " ".join((body.message, *body.details)).lower()
        if body.gateway_shape and (self.model.lower() in text or "model" in text):
            return TranslationError(
                f"{self._title} does not know the model '{self.model}' (404). "
                "Choose another model in Settings or with --llm-model.",
                status=404, retryable=False, detail=detail,
            )
        return TranslationError(
            f"There is no chat-completions endpoint at {self.url} (404){said}. Check the LLM URL in Settings or "
            "--llm-url: the base up to /v1, or the whole …/v1/chat/completions.",
            status=404, retryable=False, detail=detail,
        )

    def _reply(self, data: Mapping[str, Any]) -> tuple[str, str]:
        """The reply's text (stripped; "" when there is none) and its ``finish_reason``."""
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._malformed("it has no choices", data)
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        finish = choices[0].get("finish_reason")
        return content_text(content).strip(), finish if isinstance(finish, str) else ""

    def _malformed(self, why: str, data: Any, text: str | None = None) -> TranslationError:
        raw = text if text is not None else repr(data)
        return TranslationError(
            f"{self._title} sent a malformed reply ({why}).",
            status=200, retryable=True, detail=self._scrub(raw[:500]),
        )


def _unsupported_model(body: ErrorBody) -> bool:
    return any(_UNSUPPORTED_MODEL.search(text) for text in (*body.details, body.message))


def _usage(data: Mapping[str, Any]) -> tuple[int, int]:
    usage = _dict(data.get("usage"))
    return (_int(usage.get("input_tokens", usage.get("prompt_tokens"))),
            _int(usage.get("output_tokens", usage.get("completion_tokens"))))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


_PROBE = TranslationRequest("Hello.", resolve_language("es"))


def check_key(key: str, base_url: str, model: str, *, backend: TranslationBackend = ASSEMBLYAI_GATEWAY,
              translator_factory: Callable[..., ChatTranslator] | None = None,
              timeout_s: float = 10.0) -> AppError | None:
    """Ask ``model`` for one tiny translation with ``key``; None if it answered, else what went
    wrong (a 401 is the key; a 403 the account: the LLM Gateway is not open to free-tier accounts)."""
    factory = translator_factory or ChatTranslator
    try:
        translator = factory(key, base_url=base_url, model=model, timeout=(5.0, timeout_s), backend=backend)
        try:
            translator.translate(_PROBE)
        finally:
            translator.close()
    except AppError as exc:
        return exc
    except Exception as exc:  # a bug must not read as "did not answer in time"
        log.exception("the %s key check failed", backend.name)
        return AppError(f"The {backend.name.removeprefix('the ')} check failed unexpectedly ({type(exc).__name__}); "
                        "see the log.")
    return None
