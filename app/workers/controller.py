"""SessionController: starts, stops and talks to one live session at a time, for the window.

Lives on the GUI thread; none of its methods block. ``start()`` builds the session through an
injected factory (``app.pipeline.factory.build_session`` by default; tests hand in fakes), creates a
``SessionBridge`` for it, starts the ``AudioStreamerThread`` (prepare + capture) and, when the
session folder is ``prepared``, the ``WebsocketWorkerThread`` (streaming + finalising). ``stop()``
only asks the session to stop; ``running_changed(False)`` follows once the last turn is translated
and everything is saved (``session_ended``). The bridge's signals are forwarded, so the window
connects once to the controller, and a new bridge per session means a late event of an old session
can never land in the new one's view.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal, Slot

from app.core.errors import AppError, catch_all
from app.core.languages import Language
from app.core.settings import Settings
from app.core.who import Names
from app.pipeline.events import SESSION_EVENTS, SessionListener, SessionState, SessionSummary
from app.pipeline.factory import SessionRequest
from app.store.db import SessionStore
from app.workers.bridge import SessionBridge
from app.workers.session_signals import SessionSignals
from app.workers.threads import AudioStreamerThread, RunnableSession, WebsocketWorkerThread

log = logging.getLogger("app.workers")


class ControlledSession(RunnableSession, Protocol):
    """The part of ``LiveSession`` the controller uses."""

    ended: threading.Event

    def stop(self, deadline_s: float | None = None) -> None: ...

    def quit_now(self) -> None: ...

    def retry_translation(self, index: int, language: str | None = None) -> None: ...

    def retry_failed_translations(self) -> int: ...

    def set_targets(self, targets: tuple[Language, ...]) -> None: ...

    def translate_earlier_turns(self, language: Language) -> int: ...

    def set_names(self, names: Names) -> None: ...


SessionFactory = Callable[[SessionRequest, SessionListener], ControlledSession]


def pipeline_session_factory(store: SessionStore | None) -> SessionFactory:
    """The real thing: ``build_session`` with the app's session store (or none)."""

    def build(request: SessionRequest, listener: SessionListener) -> ControlledSession:
        from app.pipeline.factory import build_session  # imports the audio/network stack

        return build_session(request, listener, store=store)

    return build


class SessionController(SessionSignals):
    """Its ``SessionSignals`` are the current session's, forwarded from its bridge (GUI thread, in
    session order); the three below are its own."""

    running_changed = Signal(bool)  # True from start() until the session has ended (or failed to start)
    session_started = Signal(str)  # the session folder: the WAV is being written
    start_failed = Signal(object)  # AppError: nothing was recorded

    _FORWARDED = tuple(event.signal for event in SESSION_EVENTS)

    def __init__(self, session_factory: SessionFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = session_factory
        self._session: ControlledSession | None = None
        self._bridge: SessionBridge | None = None
        self._audio: AudioStreamerThread | None = None
        self._websocket: WebsocketWorkerThread | None = None
        self._running = False
        self.folder: Path | None = None

    @property
    def running(self) -> bool:
        return self._running

    @property
    def session(self) -> ControlledSession | None:
        return self._session

    # --- commands (GUI thread) ----------------------------------------------------------------

    def start(self, settings: Settings, secrets: Mapping[str, str], sessions_dir: Path,
              input_file: Path | None = None) -> bool:
        """Start a session; False (and ``start_failed``) if it cannot be built. Never blocks.
        ``secrets``: the API key of each service the settings use (``KeyStore.keys``)."""
        if self._running:
            return False
        bridge = SessionBridge()
        request = SessionRequest(settings=settings, secrets=secrets, sessions_dir=sessions_dir, input_file=input_file)
        with catch_all(log, "The session could not be set up", self.start_failed.emit) as building:
            session = self._factory(request, bridge.listener)
        if building.failed:
            return False
        self._retire_bridge()
        self._bridge, self._session, self.folder = bridge, session, None
        for name in self._FORWARDED:
            getattr(bridge, name).connect(getattr(self, name))
        bridge.session_ended.connect(self._on_session_ended)
        audio = AudioStreamerThread(session)
        audio.prepared.connect(self._on_prepared)
        audio.prepare_failed.connect(self._on_prepare_failed)
        audio.failed.connect(self._on_worker_failed)
        self._audio = audio
        self._set_running(True)
        bridge.start()
        self._track(audio)
        return True

    def stop(self, deadline_s: float | None = None) -> None:
        """Graceful, non-blocking: the last turn is still received, translated and saved (within
        ``deadline_s`` seconds when given, e.g. after SIGTERM)."""
        if self._session is not None and self._running:
            self._session.stop(deadline_s)

    def quit_now(self) -> None:
        """Non-blocking: end within about a second; open translations are marked, all is saved."""
        if self._session is not None and self._running:
            self._session.quit_now()

    @Slot(int, str)
    def retry(self, index: int, language: str | None = None) -> None:
        if self._session is not None:
            self._session.retry_translation(index, language)

    def retry_failed(self) -> int:
        return self._session.retry_failed_translations() if self._session is not None else 0

    def set_targets(self, targets: tuple[Language, ...]) -> None:
        """Translate later turns of the running session into these languages too."""
        if self._session is not None and self._running:
            self._session.set_targets(targets)

    def translate_earlier_turns(self, languages: tuple[Language, ...]) -> int:
        """Translate the turns of the current (or just ended) session that lack these languages."""
        if self._session is None:
            return 0
        return sum(self._session.translate_earlier_turns(language) for language in languages)

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """At application exit only: stop and wait (bounded) for the threads. True if they ended."""
        if self._session is not None:
            self._session.stop()
        ok = True
        for thread in (self._audio, self._websocket):
            if thread is not None and thread.isRunning():
                ok = thread.wait(timeout_ms) and ok
        return ok

    # --- events (GUI thread) ------------------------------------------------------------------

    @Slot(str)
    def _on_prepared(self, folder: str) -> None:
        self.folder = Path(folder)
        assert self._session is not None
        websocket = WebsocketWorkerThread(self._session)
        websocket.failed.connect(self._on_worker_failed)
        self._websocket = websocket
        self._track(websocket)  # even if stop() came already: it finalises the WAV and the exports
        self.session_started.emit(folder)

    @Slot(object)
    def _on_prepare_failed(self, error: AppError) -> None:
        self._retire_bridge()
        self.start_failed.emit(error)
        self._set_running(False)

    @Slot(object)
    def _on_worker_failed(self, error: AppError) -> None:
        """A thread's catch-all fired: report it, and if the session cannot end by itself, end here."""
        self.error_occurred.emit(error)
        if self._session is not None:
            self._session.stop()
        if self.sender() is self._websocket and self._running:
            # run_streaming() is what finalises the session; it died, so no session_ended will come.
            self._retire_bridge()
            self.state_changed.emit(SessionState.FAILED.value, "")
            self._set_running(False)

    @Slot(object)
    def _on_session_ended(self, summary: SessionSummary) -> None:
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            self.running_changed.emit(running)

    def _retire_bridge(self) -> None:
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.drain()  # deliver what the old session said before it goes quiet
            bridge.stop()
            for name in self._FORWARDED:
                getattr(bridge, name).disconnect(getattr(self, name))
            bridge.session_ended.disconnect(self._on_session_ended)

    def _track(self, thread: AudioStreamerThread | WebsocketWorkerThread) -> None:
        thread.finished.connect(self._on_thread_finished)
        thread.start_owned()  # alive until it has finished, even if this controller goes first

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self.sender()
        if thread is self._audio:
            self._audio = None
        if thread is self._websocket:
            self._websocket = None
