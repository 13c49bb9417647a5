"""CaptionSharing: the window's switch for the live caption page, and the feed that fills its log.

GUI thread, except ``CaptionServerThread.run`` (the server's asyncio loop, on its own QThread).
The page's server (``app.web.CaptionServer``) reads the app's one ``EventLog``; every session the
controller starts is fed into that log next to the window's bridge (``feeding_captions`` wraps the
session factory with a ``FanOutListener``), whether sharing is on or not, so turning sharing on
mid-session still gives viewers the session so far. While sharing is on the server, and so the
address, stays the same from one session to the next; turning it off ends every viewer's stream
with a message. The viewer count is read once a second by a timer (a signal per viewer would come
from the server's thread), and only a change is emitted.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.core.errors import AppError
from app.core.event_log import EventLog
from app.logsetup import redactor
from app.pipeline.caption_feed import CaptionFeed
from app.pipeline.events import SessionListener
from app.pipeline.factory import SessionRequest
from app.pipeline.fanout import FanOutListener
from app.pipeline.two_way import plan_two_way
from app.web.addresses import DEFAULT_PORT, Scope
from app.web.server import CaptionServer, SharingInfo, sharing_info
from app.workers.controller import ControlledSession, SessionFactory
from app.workers.threads import OwnedThread

__all__ = ["CaptionServerThread", "CaptionSharing", "Scope", "SharingInfo", "feeding_captions"]

log = logging.getLogger("app.workers")

VIEWER_POLL_MS = 1000


def feeding_captions(factory: SessionFactory, event_log: EventLog) -> SessionFactory:
    """``factory``, with every session it builds also written into ``event_log``."""

    def build(request: SessionRequest, listener: SessionListener) -> ControlledSession:
        settings = request.settings
        languages, source = settings.targets, settings.source
        if settings.two_way:  # both sides' languages and the extras; each turn is in its side's language
            languages, source = tuple(t.code for t in plan_two_way(settings).targets), None
        feed = CaptionFeed(event_log, languages, source)
        return factory(request, FanOutListener(listener, feed))

    return build


class CaptionServerThread(OwnedThread):
    """Runs ``CaptionServer.serve()`` until the server is stopped."""

    failed = Signal(object)  # AppError: the server stopped because of an unexpected error

    def __init__(self, server: CaptionServer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caption-server")
        self._server = server

    def run(self) -> None:
        try:
            self._server.serve()
        except Exception as exc:  # one catch-all per worker
            log.exception("the caption server failed")
            self.failed.emit(AppError(f"Sharing the captions stopped because of an unexpected error: {exc}"))


class CaptionSharing(QObject):
    sharing_changed = Signal(object)  # SharingInfo while sharing, None once it stopped
    viewers_changed = Signal(int)  # how many pages follow the captions now
    failed = Signal(object)  # AppError: sharing could not start, or stopped unexpectedly

    def __init__(self, event_log: EventLog, *, port: int = DEFAULT_PORT, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.event_log = event_log
        self.port = port
        self._server: CaptionServer | None = None
        self._thread: CaptionServerThread | None = None
        self._viewers = 0
        self._timer = QTimer(self)
        self._timer.setInterval(VIEWER_POLL_MS)
        self._timer.timeout.connect(self._poll_viewers)

    @property
    def info(self) -> SharingInfo | None:
        return sharing_info(self._server) if self._server is not None else None

    @property
    def viewers(self) -> int:
        return self._viewers

    @property
    def server(self) -> CaptionServer | None:
        return self._server

    def start(self, scope: Scope) -> bool:
        """Share on ``scope`` (a share on the other scope is stopped first: a new address). False,
        with ``failed``, if it cannot start; never blocks for more than binding a socket."""
        if self._server is not None and self._server.scope is scope:
            return True
        self.stop()
        # The usual port first, so the address is the one people used last time; if another
        # program has it, any free port (the window shows whatever address it is).
        server = CaptionServer(self.event_log, scope, self.port, any_port_if_busy=True)
        try:
            server.bind()
        except AppError as exc:
            self.failed.emit(exc)
            return False
        except OSError as exc:
            self.failed.emit(AppError(f"The captions cannot be shared: {exc.strerror or exc}."))
            return False
        redactor.add(server.token)  # the address is a secret: never in the log file
        thread = CaptionServerThread(server)
        thread.failed.connect(self._on_failed)
        self._server, self._thread = server, thread
        thread.start_owned()
        self._timer.start()
        self.sharing_changed.emit(sharing_info(server))
        return True

    def stop(self) -> None:
        """Stop sharing (never blocks): every viewer is told, and its page stops reconnecting."""
        server, self._server, self._thread = self._server, None, None
        if server is None:
            return
        server.stop()
        self._timer.stop()
        self._set_viewers(0)
        self.sharing_changed.emit(None)

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """At application exit: stop, and wait (bounded) for the server's thread."""
        thread = self._thread
        self.stop()
        return thread is None or thread.wait(timeout_ms)

    @Slot(object)
    def _on_failed(self, error: AppError) -> None:
        self.stop()
        self.failed.emit(error)

    @Slot()
    def _poll_viewers(self) -> None:
        if self._server is not None:
            self._set_viewers(self._server.viewer_count)

    def _set_viewers(self, count: int) -> None:
        if count != self._viewers:
            self._viewers = count
            self.viewers_changed.emit(count)
