"""Stop signals (SIGINT, SIGTERM, SIGHUP) for the window: delivered as a Qt signal on the GUI thread.

Python runs its signal handlers only when the interpreter gets control, and Qt's event loop is C++,
so a handler alone would wait for the next Python slot. ``signal.set_wakeup_fd`` makes the C-level
handler write the signal number into a socket pair; a ``QSocketNotifier`` on the other end wakes the
event loop at once and ``received`` is emitted there (GUI thread). Create it on the GUI thread,
``uninstall()`` it before the application ends.
"""
from __future__ import annotations

import contextlib
import signal
import socket
from types import FrameType

from PySide6.QtCore import QObject, QSocketNotifier, Signal, Slot

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals(QObject):
    received = Signal(int)  # the signal number (signal.SIGTERM ...)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = {sig: signal.signal(sig, _note) for sig in STOP_SIGNALS}

    @Slot()
    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            for number in self._reader.recv(64):
                if number in STOP_SIGNALS:
                    self.received.emit(number)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()


def _note(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing to do here, the wakeup byte carries the signal."""
