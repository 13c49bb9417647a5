"""The API key: from ``ASSEMBLYAI_API_KEY`` or the OS keyring, never from a settings file.

Qt-free; any thread (keyring calls can be slow on some back ends: the window calls them off the
GUI thread or once at start-up). Where no keyring back end exists (CI, minimal desktops), the key
is kept in memory for this run only, and ``KeyStatus.persistent`` says so, so the user can be told.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass

import keyring
from keyring.errors import KeyringError

log = logging.getLogger("app.settings")

SERVICE = "live-translate"
ACCOUNT = "assemblyai-api-key"
ENV_VAR = "ASSEMBLYAI_API_KEY"


@dataclass(frozen=True)
class KeyStatus:
    key: str | None
    source: str  # "environment", "keyring", "memory" or "none"
    persistent: bool  # False: kept for this run only (no keyring available)


class KeyStore:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._memory: str | None = None
        self._lock = threading.Lock()

    def load(self) -> KeyStatus:
        env = self._environ.get(ENV_VAR, "").strip()
        if env:
            return KeyStatus(env, "environment", True)
        with self._lock:
            if self._memory:
                return KeyStatus(self._memory, "memory", False)
        try:
            stored = keyring.get_password(SERVICE, ACCOUNT)
        except (KeyringError, RuntimeError) as exc:  # no back end: keyring raises NoKeyringError
            log.info("no keyring available: %s", type(exc).__name__)
            return KeyStatus(None, "none", False)
        if stored:
            return KeyStatus(stored, "keyring", True)
        return KeyStatus(None, "none", self.keyring_available())

    def save(self, key: str) -> KeyStatus:
        """Store ``key``; returns where it went (``memory`` if no keyring exists)."""
        key = key.strip()
        if not key:
            self.clear()
            return KeyStatus(None, "none", self.keyring_available())
        try:
            keyring.set_password(SERVICE, ACCOUNT, key)
            with self._lock:
                self._memory = None
            return KeyStatus(key, "keyring", True)
        except (KeyringError, RuntimeError) as exc:
            log.info("keyring unavailable, keeping the key for this run: %s", type(exc).__name__)
            with self._lock:
                self._memory = key
            return KeyStatus(key, "memory", False)

    def clear(self) -> None:
        with self._lock:
            self._memory = None
        with contextlib.suppress(KeyringError, RuntimeError):
            keyring.delete_password(SERVICE, ACCOUNT)

    @staticmethod
    def keyring_available() -> bool:
        try:
            backend = keyring.get_keyring()
        except (KeyringError, RuntimeError):
            return False
        priority = getattr(backend, "priority", 0)
        return bool(priority and priority > 0)
