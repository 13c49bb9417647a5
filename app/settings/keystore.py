"""API keys: one per service (``app.core.backends.SECRETS``), each from its environment variable
or the OS keyring, never from a settings file.

Qt-free; any thread (keyring calls can be slow on some back ends: the window calls them off the
GUI thread or once at start-up). Where no keyring back end exists (CI, minimal desktops), a key is
kept in memory for this run only, and ``KeyStatus.persistent`` says so, so the user can be told.
Every key this store hands out or keeps is added to the log redactor first, so no log line, crash
report or status message can show it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import keyring
from keyring.errors import KeyringError

from app.core.backends import ASSEMBLYAI, secret
from app.logsetup import redactor

log = logging.getLogger("app.settings")

__all__ = ["ACCOUNT", "ENV_VAR", "SERVICE", "KeyStatus", "KeyStore"]

SERVICE = "live-translate"  # the keyring's service name; each secret is an account under it
ACCOUNT = "assemblyai-api-key"  # AssemblyAI's account (kept from the first version: saved keys still load)
ENV_VAR = ASSEMBLYAI.env_var


def _account(service: str) -> str:
    return ACCOUNT if service == ASSEMBLYAI.service else f"{secret(service).service}-api-key"


@dataclass(frozen=True)
class KeyStatus:
    key: str | None
    source: str  # "environment", "keyring", "memory" or "none"
    persistent: bool  # False: kept for this run only (no keyring available)
    service: str = ASSEMBLYAI.service

    @property
    def env_var(self) -> str:
        return secret(self.service).env_var


class KeyStore:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self, service: str = ASSEMBLYAI.service) -> KeyStatus:
        status = self._load(service)
        if status.key:
            redactor.add(status.key)
        return status

    def keys(self, services: tuple[str, ...]) -> dict[str, str]:
        """The keys of ``services`` that are set (for a session's ``SessionRequest.secrets``)."""
        found = {}
        for service in dict.fromkeys(services):
            key = self.load(service).key
            if key:
                found[service] = key
        return found

    def _load(self, service: str) -> KeyStatus:
        env = self._environ.get(secret(service).env_var, "").strip()
        if env:
            return KeyStatus(env, "environment", True, service)
        with self._lock:
            memory = self._memory.get(service)
        if memory:
            return KeyStatus(memory, "memory", False, service)
        try:
            stored = keyring.get_password(SERVICE, _account(service))
        except (KeyringError, RuntimeError) as exc:  # no back end: keyring raises NoKeyringError
            log.info("no keyring available: %s", type(exc).__name__)
            return KeyStatus(None, "none", False, service)
        if stored:
            return KeyStatus(stored, "keyring", True, service)
        return KeyStatus(None, "none", self.keyring_available(), service)

    def save(self, key: str, service: str = ASSEMBLYAI.service) -> KeyStatus:
        """Store ``key``; returns where it went (``memory`` if no keyring exists)."""
        key = key.strip()
        if not key:
            self.clear(service)
            return KeyStatus(None, "none", self.keyring_available(), service)
        redactor.add(key)
        try:
            keyring.set_password(SERVICE, _account(service), key)
            with self._lock:
                self._memory.pop(service, None)
            return KeyStatus(key, "keyring", True, service)
        except (KeyringError, RuntimeError) as exc:
            log.info("keyring unavailable, keeping the key for this run: %s", type(exc).__name__)
            with self._lock:
                self._memory[service] = key
            return KeyStatus(key, "memory", False, service)

    def clear(self, service: str = ASSEMBLYAI.service) -> None:
        with self._lock:
            self._memory.pop(service, None)
        with contextlib.suppress(KeyringError, RuntimeError):
            keyring.delete_password(SERVICE, _account(service))

    @staticmethod
    def keyring_available() -> bool:
        try:
            backend = keyring.get_keyring()
        except (KeyringError, RuntimeError):
            return False
        priority = getattr(backend, "priority", 0)
        return bool(priority and priority > 0)
