"""Reading what the LLM Gateway sends back: error bodies, rate-limit headers, reply text, and the
JSON object of a several-language reply.

Pure functions over headers, parsed JSON and text; no I/O, any thread (the translation queue's
workers call them through ``ChatTranslator``). Tolerant readers: a field that is missing or of the
wrong type is treated as absent, never as a crash [protocol §5.3, §5.4].
"""
from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorBody:
    """What an error reply says. ``gateway_shape``: the body was the gateway's JSON error object
    (``{"error": {"code", "message", "metadata"}}``) or another JSON API's (``{"error": "text"}``),
    not an HTML page or a proxy's text; ``details`` are ``error.metadata.errors`` [protocol §9.12]."""

    message: str
    gateway_shape: bool
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class RateLimit:
    """The ``X-RateLimit-*`` headers of one reply [protocol §5.4]: requests left in the current
    window of ``limit`` and seconds until it resets. Absent headers mean no limit."""

    limit: int | None
    remaining: int
    reset_s: float


def error_body(data: Any, text: str, content_type: str) -> ErrorBody:
    """``data`` is the parsed JSON body (None when it was not JSON), ``text`` the raw body."""
    if isinstance(data, dict) and "error" in data:
        error = data["error"]
        if isinstance(error, dict):
            message = error.get("message")
            metadata = error.get("metadata")
            errors = metadata.get("errors") if isinstance(metadata, dict) else None
            details = tuple(_short(e) for e in errors if isinstance(e, str)) if isinstance(errors, list) else ()
            return ErrorBody(_short(message) if isinstance(message, str) else "", True, details)
        if isinstance(error, str):
            return ErrorBody(_short(error), True)
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return ErrorBody(_short(data["message"]), True)
    if "html" in content_type.lower():
        return ErrorBody("", False)
    return ErrorBody(_short(text), False)


def content_text(content: Any) -> str:
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


def retry_after(headers: Mapping[str, str], now: float | None = None, *, rate_limited: bool = True) -> float | None:
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
        return _reset_seconds(reset, now)
    return None


def rate_limit(headers: Mapping[str, str], now: float | None = None) -> RateLimit | None:
    """The reply's rate-limit window, or None when it carries no (usable) ``X-RateLimit-*``."""
    remaining = _count(headers.get("X-RateLimit-Remaining"))
    reset = headers.get("X-RateLimit-Reset")
    reset_s = _reset_seconds(reset, now) if reset else None
    if remaining is None or reset_s is None:
        return None
    return RateLimit(_count(headers.get("X-RateLimit-Limit")), remaining, reset_s)


_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)


def parse_translations(text: str, codes: Sequence[str]) -> dict[str, str]:
    """The translations found in a several-language reply: ``{code: text}`` for each of ``codes``
    that the reply's JSON object holds as a non-empty string. Empty when the reply is not a JSON
    object. A model without a JSON schema may wrap the object in a code fence or a sentence: the
    outermost ``{…}`` is used. Keys are matched case-insensitively (``pt-br`` for ``pt-BR``)."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    data = _json_object(body)
    if data is None:
        start, end = body.find("{"), body.rfind("}")
        data = _json_object(body[start:end + 1]) if 0 <= start < end else None
    if data is None:
        return {}
    by_key = {str(k).lower(): v for k, v in data.items()}
    found: dict[str, str] = {}
    for code in codes:
        value = data.get(code, by_key.get(code.lower()))
        if isinstance(value, str) and value.strip():
            found[code] = value.strip()
    return found


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reset_seconds(value: str, now: float | None) -> float | None:
    seconds = _seconds(value)
    if seconds is not None and seconds > 1e9:
        # Some servers send an epoch timestamp instead of a duration; accept both.
        seconds = max(0.0, seconds - (time.time() if now is None else now))
    return seconds


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    seconds = _seconds(value)
    return None if seconds is None else int(seconds)
