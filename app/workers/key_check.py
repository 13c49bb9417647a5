"""Checking an API key against BOTH services, for the Settings dialog's "Test key" button.

Blocking network I/O: run it in a ``BackgroundTask``, never on the GUI thread (the two checks run
side by side, the LLM one on a short-lived thread of its own). The streaming check opens a session
and closes it at once (``abort``: no audio is sent, so almost nothing is billed); the LLM Gateway
check asks the chosen model for one tiny translation. A key can pass the first and fail the
second: the LLM Gateway is not open to free-tier accounts [protocol §9.13]. So both are tried,
and the answer says which one failed, in a sentence short enough for the dialog. A 1008 close of
the streaming check is tried once more after a short wait before the key is called rejected:
valid keys sometimes get a transient ``1008 Unauthorized connection: Incorrect padding``
[protocol §9.2].
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

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
from app.core.languages import resolve_language
from app.core.validate import llm_base_url, streaming_base_url
from app.stt.protocol import StreamingParams, build_url
from app.translate.base import TranslationResult
from app.translate.prompt import TranslationRequest

log = logging.getLogger(__name__)

KEY_ACCEPTED = "The key works for streaming and for translation (LLM Gateway)."
CHECK_TIMEOUT_S = 10.0
AUTH_RETRY_DELAY_S = 0.5  # before the one retry of a 1008 close
_PROBE = TranslationRequest("Hello.", resolve_language("es"))


class _Connection(Protocol):
    """The part of ``app.stt.client.StreamingClient`` a key check needs (tests hand in fakes)."""

    def connect(self) -> object: ...

    def abort(self) -> None: ...


class _Translator(Protocol):
    def translate(self, request: TranslationRequest) -> TranslationResult: ...

    def close(self) -> None: ...


def check_key(key: str, streaming_url: str | None, region: str, llm_url: str | None = None,
              llm_model: str = DEFAULT_LLM_MODEL, *, client_factory: Callable[..., _Connection] | None = None,
              translator_factory: Callable[..., _Translator] | None = None,
              speech: SpeechBackend = ASSEMBLYAI_STREAMING,
              translation: TranslationBackend = ASSEMBLYAI_GATEWAY) -> str:
    """Return ``KEY_ACCEPTED`` or raise an ``AppError`` saying which service failed and why
    (``AuthError`` when a service rejected the key itself). Today both backends are AssemblyAI's
    and share its key; a backend with a key of its own gets a check of its own in
    ``SPEECH_CHECKS`` / ``TRANSLATION_CHECKS``."""
    key = key.strip()
    if not key:
        raise ConfigError(f"Enter an API key first. You find it {secret(speech.secret).where}.")
    stream_check = SPEECH_CHECKS[speech.id]
    llm_check = TRANSLATION_CHECKS[translation.id]
    stream_url = build_url(StreamingParams(), streaming_base_url(streaming_url, region))
    llm = llm_base_url(llm_url or (region_named(region).llm_url if translation.regional_urls
                                   else translation.default_url))
    outcome: dict[str, AppError | None] = {}
    worker = threading.Thread(
        target=lambda: outcome.update(llm=llm_check(key, llm, llm_model, translator_factory, translation)),
        name="key-check-llm", daemon=True)
    worker.start()
    stream_error = stream_check(key, stream_url, client_factory)
    worker.join(CHECK_TIMEOUT_S * 2)
    title = translation.name[:1].upper() + translation.name[1:]
    llm_error = outcome.get("llm") if "llm" in outcome else TranslationError(
        f"{title} did not answer in time.", retryable=True)
    if stream_error is None and llm_error is None:
        return KEY_ACCEPTED
    raise _verdict(stream_error, llm_error)


def _check_streaming(key: str, url: str, client_factory: Callable[..., _Connection] | None) -> AppError | None:
    if client_factory is None:
        from app.stt.client import StreamingClient  # the websocket stack, loaded only when used

        client_factory = StreamingClient
    try:
        try:
            _connect_once(client_factory, url, key)
        except AuthError as exc:
            if exc.close_code is None:
                raise  # HTTP 401 at the handshake: the key, no doubt
            time.sleep(AUTH_RETRY_DELAY_S)  # a background task; nothing waits on this thread
            _connect_once(client_factory, url, key)
    except AppError as exc:
        return exc
    return None


def _connect_once(client_factory: Callable[..., _Connection], url: str, key: str) -> None:
    client = client_factory(url, key, on_message=_ignore, begin_timeout=CHECK_TIMEOUT_S)
    try:
        client.connect()
    finally:
        client.abort()


def _check_llm(key: str, base_url: str, model: str, translator_factory: Callable[..., _Translator] | None,
               backend: TranslationBackend) -> AppError | None:
    if translator_factory is None:
        from app.translate.gateway import ChatTranslator  # requests, loaded only when used

        translator_factory = ChatTranslator
    try:
        translator = translator_factory(key, base_url=base_url, model=model or backend.default_model,
                                        timeout=(5.0, CHECK_TIMEOUT_S), backend=backend)
        try:
            translator.translate(_PROBE)
        finally:
            translator.close()
    except AppError as exc:
        return exc
    except Exception as exc:  # a bug must not read as "did not answer in time"
        log.exception("the LLM key check failed")
        name = backend.name.removeprefix("the ")
        return AppError(f"The {name} check failed unexpectedly ({type(exc).__name__}); see the log.")
    return None


# One check per backend id (``app.core.backends``): (key, URL, factory) -> the error, or None.
SPEECH_CHECKS: dict[str, Callable[[str, str, Callable[..., _Connection] | None], AppError | None]] = {
    ASSEMBLYAI_STREAMING.id: _check_streaming,
}
TRANSLATION_CHECKS: dict[str, Callable[[str, str, str, Callable[..., _Translator] | None, TranslationBackend],
                                       AppError | None]] = {
    ASSEMBLYAI_GATEWAY.id: _check_llm,  # any OpenAI-compatible chat-completions endpoint
}


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


def _ignore(message: object) -> None:
    pass
