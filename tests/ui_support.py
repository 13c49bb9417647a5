"""Helpers for the window and worker tests: a scripted fake session, an in-memory keyring, builders.

The fake session runs like the real one: ``prepare``/``run_capture`` on the AudioStreamerThread and
``run_streaming`` on the WebsocketWorkerThread, calling the listener from those (non-Qt) threads.
The test thread scripts it by pushing actions that the websocket thread executes in order, so the
cross-thread path through ``SessionBridge`` is exercised, not bypassed.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from PySide6.QtCore import QSettings, QThread

from app.core.errors import AppError
from app.core.settings import Settings
from app.core.transcript import Gap, Translation, TranslationStatus, Turn, Word
from app.pipeline.events import SessionListener, SessionState, SessionSummary
from app.pipeline.factory import SessionRequest
from app.settings.keystore import KeyStore
from app.settings.qt_store import QtSettingsStore
from app.workers.controller import SessionController

ARTIFACTS = Path(__file__).parent / "artifacts"
Action = Callable[[SessionListener], None]


class MemoryKeyring(KeyringBackend):
    """A keyring back end that keeps passwords in a dict (never touches the real keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@contextmanager
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def qt_hygiene() -> Iterator[None]:
    """Import into every Qt test module: after each test, every worker thread the test started has
    ended (bounded wait), so no thread outlives its test."""
    yield
    from app.workers.threads import _ALIVE, wait_for_owned_threads

    assert wait_for_owned_threads(10_000), "a worker thread outlived its test"
    assert all(t.isFinished() for t in list(_ALIVE))


def make_turn(index: int, text: str, *, start_ms: int | None = None, end_ms: int | None = None) -> Turn:
    start = index * 4000 if start_ms is None else start_ms
    end = start + 2500 if end_ms is None else end_ms
    words = [Word(w, start, end) for w in text.split()]
    return Turn(index=index, segment=0, turn_order=index, text=text, start_ms=start, end_ms=end,
                finalized_at=time.time(), formatted=True, words=words)


def done(language: str, text: str, latency_ms: int = 800) -> Translation:
    return Translation(language, text, TranslationStatus.DONE, model="gemini-2.5-flash-lite", latency_ms=latency_ms)


def failed(language: str, error: str = "The LLM Gateway answered 503 three times.") -> Translation:
    return Translation(language, "", TranslationStatus.FAILED, error=error, attempts=3)


def _thread_name() -> str:
    thread = QThread.currentThread()
    return thread.objectName() if thread is not None else threading.current_thread().name


@dataclass
class FakeSession:
    """Implements what ``SessionController`` needs of ``LiveSession``; scripted by the test."""

    request: SessionRequest
    listener: SessionListener
    folder: Path
    prepare_error: AppError | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    retries: list[tuple[int, str | None]] = field(default_factory=list)
    targets: list[tuple[str, ...]] = field(default_factory=list)
    summary: SessionSummary | None = None
    threads: dict[str, str] = field(default_factory=dict)  # method -> QThread objectName that ran it
    end_error: AppError | None = None
    stop_deadlines: list[float | None] = field(default_factory=list)
    earlier: list[str] = field(default_factory=list)
    quit_calls: int = 0
    names: list[object] = field(default_factory=list)  # every set_names(), in order (worker thread)
    audio_seconds: float = 12.0
    discarded: bool = False  # what the real session decides for no turn and under a second of audio
    _actions: queue.Queue[Action] = field(default_factory=queue.Queue)
    _stop: threading.Event = field(default_factory=threading.Event)
    _turns: int = 0

    # --- the session side (worker threads) ----------------------------------------------------

    def prepare(self) -> Path:
        self.threads["prepare"] = _thread_name()
        self.listener.state_changed(SessionState.STARTING, "")
        if self.prepare_error is not None:
            raise self.prepare_error
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder

    def run_capture(self) -> None:
        self.threads["capture"] = _thread_name()
        level = -40.0
        while not self._stop.wait(0.02):
            level = -12.0 if level < -20 else -35.0
            self.listener.level_changed(level)

    def run_streaming(self) -> None:
        self.threads["streaming"] = _thread_name()
        self.listener.state_changed(SessionState.CONNECTING, "")
        self.listener.state_changed(SessionState.LIVE, "")
        while True:
            try:
                action = self._actions.get(timeout=0.02)
            except queue.Empty:
                if self._stop.is_set():
                    break
                continue
            action(self.listener)
        self.listener.state_changed(SessionState.FINISHING, "")
        (self.folder / "audio.wav").write_bytes(b"RIFF....WAVE")
        if self.discarded:
            (self.folder / "audio.wav").unlink()
            self.folder.rmdir()
        self.summary = SessionSummary(folder=self.folder, audio_path=self.folder / "audio.wav",
                                      audio_seconds=self.audio_seconds, turns=self._turns, translations_done=0,
                                      translations_failed=0, error=self.end_error, discarded=self.discarded)
        self.listener.state_changed(SessionState.FAILED if self.end_error else SessionState.ENDED, "")
        self.listener.session_ended(self.summary)
        self.ended.set()

    def stop(self, deadline_s: float | None = None) -> None:
        self.stop_deadlines.append(deadline_s)
        self._stop.set()

    def quit_now(self) -> None:
        self.quit_calls += 1
        self._stop.set()

    def retry_translation(self, index: int, language: str | None = None) -> None:
        self.retries.append((index, language))

    def retry_failed_translations(self) -> int:
        self.retries.append((-1, None))
        return 1

    def translate_earlier_turns(self, language: object) -> int:
        self.earlier.append(getattr(language, "code", str(language)))
        return 1

    def set_names(self, names: object) -> None:
        self.names.append(names)

    def set_targets(self, targets: tuple[object, ...]) -> None:
        self.targets.append(tuple(getattr(t, "code", str(t)) for t in targets))

    # --- the script (test thread) -------------------------------------------------------------

    def push(self, action: Action) -> None:
        self._actions.put(action)

    def interim(self, text: str) -> None:
        self.push(lambda listener: listener.interim_changed(text))

    def final(self, turn: Turn) -> None:
        def act(listener: SessionListener) -> None:
            self._turns += 1
            listener.interim_changed("")
            listener.turn_finalized(turn)

        self.push(act)

    def translation(self, index: int, translation: Translation) -> None:
        self.push(lambda listener: listener.translation_updated(index, translation))

    def gap(self, gap: Gap) -> None:
        self.push(lambda listener: listener.gap_added(gap))

    def state(self, state: SessionState, detail: str = "") -> None:
        self.push(lambda listener: listener.state_changed(state, detail))

    def rate_limit(self, waiting: int, resume_in_s: float = 0.0) -> None:
        self.push(lambda listener: listener.rate_limit_changed(waiting, resume_in_s))

    def error(self, error: AppError, *, fatal_stop: bool = True) -> None:
        def act(listener: SessionListener) -> None:
            listener.error_occurred(error)
            if error.fatal and fatal_stop:
                self.end_error = error
                self._stop.set()

        self.push(act)


class FakeSessionFactory:
    def __init__(self, folder_root: Path, *, prepare_error: AppError | None = None) -> None:
        self.root = folder_root
        self.prepare_error = prepare_error
        self.sessions: list[FakeSession] = []

    def __call__(self, request: SessionRequest, listener: SessionListener) -> FakeSession:
        folder = self.root / f"session-{len(self.sessions) + 1}"
        session = FakeSession(request, listener, folder, prepare_error=self.prepare_error)
        self.sessions.append(session)
        return session

    @property
    def last(self) -> FakeSession:
        return self.sessions[-1]


def ini_settings(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


@dataclass
class WindowParts:
    window: object
    controller: SessionController
    factory: FakeSessionFactory
    key_store: KeyStore
    settings_store: QtSettingsStore
    ini: Path


def build_window(qtbot: object, tmp_path: Path, *, key: str | None = "test-key",
                 settings: Settings | None = None, factory: object | None = None,
                 session_only: dict[str, object] | None = None, **window_kwargs: object) -> WindowParts:
    """A MainWindow on a fake session factory, with settings in an INI file under ``tmp_path``."""
    from app.ui.main_window import MainWindow

    ini = tmp_path / "settings.ini"
    settings_store = QtSettingsStore(ini_settings(ini))
    fake_factory = factory if factory is not None else FakeSessionFactory(tmp_path / "sessions")
    controller = SessionController(fake_factory)  # type: ignore[arg-type]
    environ = {"ASSEMBLYAI_API_KEY": key} if key else {}
    key_store = KeyStore(environ=environ)
    window = MainWindow(controller, settings=settings or settings_store.load(), key_store=key_store,
                        key_status=key_store.load(), settings_store=settings_store,
                        default_sessions_dir=tmp_path / "sessions", session_only=session_only,
                        **window_kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    return WindowParts(window, controller, fake_factory, key_store, settings_store, ini)  # type: ignore[arg-type]


def save_screenshot(widget: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    assert widget.grab().save(str(path)), f"could not save {path}"  # type: ignore[attr-defined]
    return path
