"""Checking an API key against BOTH services, for the Settings dialog's "Test key" button.

Blocking network I/O: run it in a ``BackgroundTask``, never on the GUI thread (the two checks run
side by side, the LLM one on a short-lived thread of its own). Each backend brings its check
(AssemblyAI's streaming one in ``app.stt.assemblyai.check_key``: a session opened and closed at
once, no audio sent, so almost nothing is billed; the chat-completions one in
``app.translate.gateway.check_key``: one tiny translation by the chosen model). A key can pass the
first and fail the second: the LLM Gateway is not open to free-tier accounts [protocol §9.13]. So
both are tried, and the answer says which one failed, in a sentence short enough for the dialog.
The streaming check tries a 1008 close once more before it calls the key rejected [protocol §9.2].
"""
from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from typing import Any

from app.core.backends import (
    ASSEMBLYAI_GATEWAY,
    ASSEMBLYAI_STREAMING,
    SpeechBackend,
    TranslationBackend,
    secret,
)
from app.core.catalog import DEFAULT_LLM_MODEL
from app.core.catalog import region as region_named
from app.core.errors import AppError, AuthError, ConfigError, TranslationError
from app.core.validate import llm_base_url, streaming_base_url

log = logging.getLogger(__name__)

KEY_ACCEPTED = "The key works for streaming and for translation (LLM Gateway)."
CHECK_TIMEOUT_S = 10.0


def _assemblyai_streaming(key: str, base_url: str, factory: Callable[..., Any] | None) -> AppError | None:
    from app.stt.assemblyai import check_key as check  # the websocket stack, loaded only when used

    return check(key, base_url, client_factory=factory, timeout_s=CHECK_TIMEOUT_S)


def _chat_completions(key: str, base_url: str, model: str, factory: Callable[..., Any] | None,
                      backend: TranslationBackend) -> AppError | None:
    from app.translate.gateway import check_key as check  # requests, loaded only when used

    return check(key, base_url, model or backend.default_model, backend=backend, translator_factory=factory,
                 timeout_s=CHECK_TIMEOUT_S)


# Each backend's own check (``app.core.backends`` ids): it says what is wrong, or returns None.
SPEECH_CHECKS: dict[str, Callable[[str, str, Callable[..., Any] | None], AppError | None]] = {
    ASSEMBLYAI_STREAMING.id: _assemblyai_streaming,
}
TRANSLATION_CHECKS: dict[str, Callable[[str, str, str, Callable[..., Any] | None, TranslationBackend],
                                       AppError | None]] = {
    ASSEMBLYAI_GATEWAY.id: _chat_completions,  # any OpenAI-compatible chat-completions endpoint
}


def check_key(key: str, streaming_url: str | None, region: str, llm_url: str | None = None,
              llm_model: str = DEFAULT_LLM_MODEL, *, client_factory: Callable[..., Any] | None = None,
              translator_factory: Callable[..., Any] | None = None,
              speech: SpeechBackend = ASSEMBLYAI_STREAMING,
              translation: TranslationBackend = ASSEMBLYAI_GATEWAY) -> str:
    """Return ``KEY_ACCEPTED`` or raise an ``AppError`` saying which service failed and why
    (``AuthError`` when a service rejected the key itself). Today both backends are AssemblyAI's
    and share its key; each backend brings its own check (``SPEECH_CHECKS``, ``TRANSLATION_CHECKS``)."""
    key = key.strip()
    if not key:
        raise ConfigError(f"Enter an API key first. You find it {secret(speech.secret).where}.")
    stream_check = SPEECH_CHECKS[speech.id]
    llm_check = TRANSLATION_CHECKS[translation.id]
    stream_base = streaming_base_url(streaming_url, region)
    llm = llm_base_url(llm_url or (region_named(region).llm_url if translation.regional_urls
                                   else translation.default_url))
    outcome: dict[str, AppError | None] = {}
    worker = threading.Thread(
        target=lambda: outcome.update(llm=llm_check(key, llm, llm_model, translator_factory, translation)),
        name="key-check-llm", daemon=True)
    worker.start()
    stream_error = stream_check(key, stream_base, client_factory)
    worker.join(CHECK_TIMEOUT_S * 2)
    title = translation.name[:1].upper() + translation.name[1:]
    llm_error = outcome.get("llm") if "llm" in outcome else TranslationError(
        f"{title} did not answer in time.", retryable=True)
    if stream_error is None and llm_error is None:
        return KEY_ACCEPTED
    raise _verdict(stream_error, llm_error)


def _verdict(stream: AppError | None, llm: AppError | None) -> AppError:
    """One short sentence naming the service that failed (or both)."""
    if stream is not None and llm is not None:
        if isinstance(stream, AuthError) and _llm_rejected_key(llm):
            return _with_message(stream, "Both services rejected the key. Copy it again from your AssemblyAI "
                                         "dashboard.")
        return _with_message(stream, f"Neither service works. Streaming: {stream.message} "
                                     f"Translation: {_llm_reason(llm)}")
    if stream is not None:
        return _with_message(stream, f"Translation works, but streaming does not: {stream.message}")
    assert llm is not None
    error = AuthError(llm.message, detail=llm.detail) if _llm_rejected_key(llm) else llm
    return _with_message(error, f"Streaming works, but translation does not: {_llm_reason(llm)}")


def _llm_rejected_key(error: AppError) -> bool:
    return isinstance(error, TranslationError) and error.status == 401


def _llm_reason(error: AppError) -> str:
    if isinstance(error, TranslationError) and error.status == 401:
        return "the LLM Gateway rejected the key (401)."
    if isinstance(error, TranslationError) and error.status == 403:
        return ("the LLM Gateway is not open to this account (403). Free-tier accounts cannot use it: "
                "upgrade the account to translate.")
    return error.message


def _with_message(error: AppError, message: str) -> AppError:
    out = copy.copy(error)
    out.message = message
    out.args = (message,)
    return out
