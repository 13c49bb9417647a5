"""Checking an API key against the streaming service, for the Settings dialog's "Test key" button.

Blocking network I/O: run it in a ``BackgroundTask``, never on the GUI thread. It opens a streaming
session with the key and closes it at once (``abort``: no audio is sent, so almost nothing is
billed). A rejected key raises ``AuthError`` (close 1008 / HTTP 401); an unreachable service raises
``StreamingError``; both carry a message a person can act on. A 1008 close is tried once more
after a short wait before the key is called rejected: valid keys sometimes get a transient
``1008 Unauthorized connection: Incorrect padding`` [protocol §9.2].
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from app.core.errors import AuthError, ConfigError
from app.core.validate import streaming_base_url
from app.stt.protocol import StreamingParams, build_url

KEY_ACCEPTED = "The key works: the streaming service accepted it."
CHECK_TIMEOUT_S = 10.0
AUTH_RETRY_DELAY_S = 0.5  # before the one retry of a 1008 close


class _Connection(Protocol):
    """The part of ``app.stt.client.StreamingClient`` a key check needs (tests hand in fakes)."""

    def connect(self) -> object: ...

    def abort(self) -> None: ...


def check_key(key: str, streaming_url: str | None, region: str,
              client_factory: Callable[..., _Connection] | None = None) -> str:
    """Return ``KEY_ACCEPTED`` or raise an ``AppError`` saying what is wrong."""
    if not key.strip():
        raise ConfigError("Enter an API key first. You find it in your AssemblyAI dashboard.")
    if client_factory is None:
        from app.stt.client import StreamingClient  # the websocket stack, loaded only when used

        client_factory = StreamingClient
    url = build_url(StreamingParams(), streaming_base_url(streaming_url, region))
    try:
        _connect_once(client_factory, url, key.strip())
    except AuthError as exc:
        if exc.close_code is None:
            raise  # HTTP 401 at the handshake: the key, no doubt
        time.sleep(AUTH_RETRY_DELAY_S)  # a background task; nothing waits on this thread
        _connect_once(client_factory, url, key.strip())
    return KEY_ACCEPTED


def _connect_once(client_factory: Callable[..., _Connection], url: str, key: str) -> None:
    client = client_factory(url, key, on_message=_ignore, begin_timeout=CHECK_TIMEOUT_S)
    try:
        client.connect()
    finally:
        client.abort()


def _ignore(message: object) -> None:
    pass
