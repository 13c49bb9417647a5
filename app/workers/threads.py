"""The QThreads that run a session's blocking loops, and the input-device monitor.

Each ``run()`` executes on its own thread and calls Qt-free code from ``app/pipeline`` (the same
loops the headless CLI runs on plain threads). One catch-all per ``run()`` turns anything
unexpected into an ``AppError`` signal, so a bug is reported, never swallowed. The thread objects
live on the GUI thread, so their signals reach GUI slots as queued calls.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.devices import InputDevice
from app.core.errors import AppError, catch_all

log = logging.getLogger("app.workers")

DEVICE_POLL_S = 5.0  # PyAudio start-up costs ~0.1-0.5 s of CPU; the window also asks on activation


class RunnableSession(Protocol):
    """What the threads need from ``app.pipeline.session.LiveSession`` (fakes in tests too)."""

    def prepare(self) -> Path: ...

    def run_capture(self) -> None: ...

    def run_streaming(self) -> None: ...


_ALIVE: set[OwnedThread] = set()  # GUI thread only


class OwnedThread(QThread):
    """A QThread that keeps itself alive while it runs: destroying a running QThread aborts the
    process, and whoever started it (a controller, a dialog) may be gone before it ends."""

    def start_owned(self) -> None:
        _ALIVE.add(self)
        self.finished.connect(self._release)
        self.start()

    @Slot()
    def _release(self) -> None:
        _ALIVE.discard(self)
        self.deleteLater()


def wait_for_owned_threads(timeout_ms: int) -> bool:
    """At application exit (and in tests): a bounded wait for every owned thread to end."""
    return all(thread.wait(timeout_ms) for thread in list(_ALIVE))


class AudioStreamerThread(OwnedThread):
    """Opens the session (folder, WAV, device) and then runs the capture loop until it stops."""

    prepared = Signal(str)  # session folder
    prepare_failed = Signal(object)  # AppError: nothing was recorded
    failed = Signal(object)  # AppError: the capture loop raised (it normally reports by itself)

    def __init__(self, session: RunnableSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("audio-streamer")
        self._session = session

    def run(self) -> None:
        with catch_all(log, "The recording could not start", self.prepare_failed.emit) as preparing:
            folder = self._session.prepare()
        if preparing.failed:
            return
        self.prepared.emit(str(folder))
        with catch_all(log, "Recording stopped", self.failed.emit):
            self._session.run_capture()


class WebsocketWorkerThread(OwnedThread):
    """Streams to the service, receives turns, and finalises the session (WAV, exports, store)."""

    failed = Signal(object)  # AppError: the streaming loop raised, so session_ended may never come

    def __init__(self, session: RunnableSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("websocket-worker")
        self._session = session

    def run(self) -> None:
        with catch_all(log, "The session stopped", self.failed.emit):
            self._session.run_streaming()


def _list_input_devices() -> list[InputDevice]:
    from app.audio.portaudio import PORTAUDIO  # imported here: PyAudio loads slowly

    return PORTAUDIO.devices()


class DeviceMonitor(QThread):
    """Lists input devices off the GUI thread (PyAudio start-up takes a while) and reports changes.

    Re-enumerates every ``interval_s`` while not paused; the window pauses it while recording, so
    a session's own audio stream is never disturbed by a second PortAudio instance. ``refresh()``
    asks for a new listing at once. Stop with ``stop()`` and a bounded ``wait()``.
    """

    devices_changed = Signal(list)  # list[InputDevice]
    failed = Signal(object)  # AppError: listing failed (reported once until it works again)

    def __init__(self, lister: Callable[[], Sequence[InputDevice]] = _list_input_devices, *,
                 interval_s: float = DEVICE_POLL_S, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("device-monitor")
        self._lister = lister
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._paused = threading.Event()
        self._reported = False  # a listing failure was reported and listing has not worked since

    def pause(self, paused: bool) -> None:
        """Any thread. While paused the devices are not listed (a session is recording)."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()
            self._wake.set()

    @Slot()
    def refresh(self) -> None:
        """Any thread: list the devices now (unless paused)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _report_once(self, error: AppError) -> None:
        if not self._reported:  # once, until listing works again
            self._reported = True
            self.failed.emit(error)

    def run(self) -> None:
        last: list[InputDevice] | None = None
        while not self._stopping.is_set():
            self._wake.clear()  # before listing, so a refresh() asked for meanwhile is not lost
            if not self._paused.is_set():
                with catch_all(log, "The list of microphones could not be read",
                               self._report_once) as listing:
                    devices = list(self._lister())
                    if devices != last:
                        last = devices
                        self.devices_changed.emit(devices)
                self._reported = self._reported and listing.failed  # said again once it worked meanwhile
            self._wake.wait(self._interval_s)
