"""The caption page of a terminal session: ``--share-captions``, ``--share-captions-lan``, ``--captions-port``.

Part of the terminal's composition root (``app/cli.py`` calls it); main thread, except the
caption server, which serves on a plain thread of its own. The session's events reach the page
through a ``FanOutListener``: the terminal's printer first, then a ``CaptionFeed`` into the event
log the server reads. aiohttp is imported only when captions are shared.
"""
from __future__ import annotations

import argparse
import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.core.event_log import EventLog
from app.pipeline.caption_feed import CaptionFeed
from app.pipeline.events import SessionListener
from app.pipeline.fanout import FanOutListener

if TYPE_CHECKING:
    from app.web.server import CaptionServer

log = logging.getLogger("app.cli")

STOP_WAIT_S = 3.0
ENDED_TEXT = "The session is over and sharing has stopped."


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def add_caption_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--share-captions", action="store_true",
                        help="headless: serve the live caption page on this computer only (127.0.0.1), e.g. for "
                             "an OBS browser source; its address, with a secret token, is printed once")
    parser.add_argument("--share-captions-lan", action="store_true",
                        help="headless: serve the live caption page on this network, for phones in the room "
                             "(plain HTTP: anyone who can watch the network can read the captions)")
    parser.add_argument("--captions-port", type=_port, metavar="N",
                        help="the caption page's port (default 8765, or any free one if that is taken)")


class TerminalCaptions:
    """A running share: its event log, its server, and what the terminal says about it."""

    def __init__(self, server: CaptionServer, event_log: EventLog) -> None:
        self.server = server
        self.event_log = event_log

    def listener(self, printer: SessionListener, targets: Sequence[str], source: str | None) -> SessionListener:
        """The session's listener: the terminal's printer, and the feed into the page's log (``targets``: every
        language a turn is translated into; ``source``: the spoken language, None when it varies by turn)."""
        return FanOutListener(printer, CaptionFeed(self.event_log, targets, source))

    @property
    def on_network(self) -> bool:
        from app.web.addresses import Scope

        return self.server.scope is Scope.NETWORK

    def announcement(self) -> str:
        if self.on_network:
            return (f"Captions on this network: {self.server.url} (plain HTTP: anyone who can watch this network "
                    f"can read them; the address's token keeps everyone else out). OBS on this computer: "
                    f"{self.server.obs_url}")
        return f"Captions on this computer: {self.server.url} (OBS browser source: {self.server.obs_url})"

    def qr_code(self) -> str:
        """The page's address as a QR code in text (half-block characters) for a terminal."""
        import segno

        text = io.StringIO()
        segno.make(self.server.url, error="m", micro=False).terminal(out=text, compact=True)
        return text.getvalue().rstrip("\n")

    def stop(self) -> None:
        """Every page is told the session is over and stops; a bounded wait for the server."""
        self.server.stop(ENDED_TEXT)
        self.server.wait(STOP_WAIT_S)


def start_caption_server(share: bool, share_on_network: bool, port: int | None) -> TerminalCaptions | None:
    """Bind and start the caption page's server when asked (``None`` when not); a port that
    cannot be had is a ``ConfigError`` before anything is recorded."""
    if not (share or share_on_network):
        return None
    from app.logsetup import redactor
    from app.web.addresses import DEFAULT_PORT, Scope
    from app.web.server import CaptionServer  # aiohttp: imported only when captions are shared

    event_log = EventLog()
    scope = Scope.NETWORK if share_on_network else Scope.THIS_COMPUTER
    server = CaptionServer(event_log, scope, port or DEFAULT_PORT, any_port_if_busy=port is None)
    server.bind()
    redactor.add(server.token)  # the address is a secret: the log file shows it as [redacted]
    log.info("captions page shared at %s", server.url)
    server.start_thread()
    return TerminalCaptions(server, event_log)
