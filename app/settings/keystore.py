"""API keys: one per service (``app.core.backends.SECRETS``), each from its environment variable, the
OS keyring, or, where there is no keyring and the user agreed, a key file readable only by them.
Never from a settings file.

Qt-free; any thread (keyring calls can be slow on some back ends: the window calls them off the
GUI thread or once at start-up). Where no keyring back end exists (CI, minimal desktops), a key is
kept in memory for this run only unless the user chooses the key file: ``<config dir>/<service>-api-key``
(``~/.config/live-translate/assemblyai-api-key``), mode 0600, written atomically (a temporary file
created 0600 in the same folder, then renamed over it: at no moment can another user read it). The
window and the terminal read the same file. ``KeyStatus`` says where the key in use comes from.
Every key this store hands out or keeps is added to the log redactor first, so no log line, crash
report or status message can show it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import keyring
from keyring.errors import KeyringError
from platformdirs import user_config_dir

from app.core.backends import ASSEMBLYAI, secret
from app.core.errors import OutputError
from app.logsetup import redactor

log = logging.getLogger("app.settings")

__all__ = ["ACCOUNT", "ENV_VAR", "SERVICE", "KeyStatus", "KeyStore", "config_dir"]

SERVICE = "live-translate"  # the keyring's service name; each secret is an account under it
ACCOUNT = "assemblyai-api-key"  # AssemblyAI's account (kept from the first version: saved keys still load)
ENV_VAR = ASSEMBLYAI.env_var
FILE_MODE = 0o600


def _account(service: str) -> str:
    return ACCOUNT if service == ASSEMBLYAI.service else f"{secret(service).service}-api-key"


def config_dir() -> Path:
    """Where the app keeps its settings (``~/.config/live-translate``); the key file goes here too."""
    return Path(user_config_dir("live-translate", appauthor=False))


@dataclass(frozen=True)
class KeyStatus:
    key: str | None
    source: str  # "environment", "keyring", "file", "memory" or "none"
    persistent: bool  # False: kept for this run only (no keyring, no key file)
    service: str = ASSEMBLYAI.service
    path: Path | None = None  # the key file, when source == "file"

    @property
    def env_var(self) -> str:
        return secret(self.service).env_var

    @property
    def where(self) -> str:
        """Where the key in use lives, in a sentence (never the key itself)."""
        label = secret(self.service).label
        if self.source == "environment":
            return f"The {label} comes from {self.env_var} in the environment, which wins over a saved key."
        if self.source == "keyring":
            return f"The {label} is kept in the system keyring."
        if self.source == "file":
            return f"The {label} is kept in {self.path}, a file only you can read."
        if self.source == "memory":
            return f"The {label} is kept until Live Translate closes: no system keyring was found."
        return f"There is no {label} yet."


class KeyStore:
    def __init__(self, environ: Mapping[str, str] | None = None, *, folder: Path | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._folder = folder  # None: the user's config dir, looked up at each use
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    def key_file(self, service: str = ASSEMBLYAI.service) -> Path:
        return (self._folder or config_dir()) / _account(service)

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
        stored: str | None = None
        try:
            stored = keyring.get_password(SERVICE, _account(service))
        except (KeyringError, RuntimeError) as exc:  # no back end: keyring raises NoKeyringError
            log.info("no keyring available: %s", type(exc).__name__)
        if stored:
            return KeyStatus(stored, "keyring", True, service)
        from_file = self._read_file(service)
        if from_file:
            return KeyStatus(from_file, "file", True, service, self.key_file(service))
        return KeyStatus(None, "none", self.keyring_available(), service)

    def save(self, key: str, service: str = ASSEMBLYAI.service, *, to_file: bool = False) -> KeyStatus:
        """Store ``key``: in the key file when ``to_file`` (the user chose it), else in the keyring,
        else for this run only (``memory``). Returns where it went. A key file that is no longer
        chosen is removed, so the key lives in one place only."""
        key = key.strip()
        if not key:
            self.clear(service)
            return KeyStatus(None, "none", self.keyring_available(), service)
        redactor.add(key)
        if to_file:
            path = self._write_file(service, key)
            with self._lock:
                self._memory.pop(service, None)
            return KeyStatus(key, "file", True, service, path)
        self._remove_file(service)
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
        self._remove_file(service)

    @staticmethod
    def keyring_available() -> bool:
        try:
            backend = keyring.get_keyring()
        except (KeyringError, RuntimeError):
            return False
        priority = getattr(backend, "priority", 0)
        return bool(priority and priority > 0)

    # --- the key file -------------------------------------------------------------------------

    def _read_file(self, service: str) -> str | None:
        path = self.key_file(service)
        try:
            info = path.stat()
            if info.st_mode & 0o077:
                # Readable by others (copied in by hand, a umask accident): make it the user's alone.
                log.warning("the key file %s was readable by others; it is now mode 0600", path)
                path.chmod(FILE_MODE)
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("the key file %s cannot be read: %s", path, exc.strerror or exc)
            return None
        return text.strip() or None

    def _write_file(self, service: str, key: str) -> Path:
        path = self.key_file(service)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp creates the file with mode 0600 (O_EXCL), so the key is never readable by
            # anyone else, not even for a moment; the rename makes it whole or not there at all.
            fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(key + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(temporary, FILE_MODE)
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            raise OutputError(f"The API key could not be written to {path} ({exc.strerror or exc}). Check that "
                              f"{path.parent} is yours and writable.") from None
        if stat.S_IMODE(path.stat().st_mode) & 0o077:  # a file system without Unix modes (FAT, some mounts)
            self._remove_file(service)
            raise OutputError(f"{path.parent} cannot hold a file only you can read, so the API key was not kept "
                              "there. Use a system keyring, or set the key in the environment.")
        return path

    def _remove_file(self, service: str) -> None:
        path = self.key_file(service)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("the key file %s could not be removed: %s", path, exc.strerror or exc)
