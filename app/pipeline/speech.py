"""The speech seam: what a live session needs from a speech-to-text backend, and nothing more.

Qt-free protocols and one descriptor; the session (``app.pipeline.session`` and its streaming lanes
in ``app.pipeline.lane``) is written against these, and a backend implements them in its own
package (AssemblyAI's: ``app.stt.assemblyai``, chosen in ``app.pipeline.factory``). Everything
that stays the same for any streaming backend — reconnecting with backoff, the backlog sent when
a connection opens, gaps, the WAV, the transcript — is the session's; what differs (the wire
protocol, how turns are assembled, when a rejection is worth one retry) is the backend's.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.core.errors import AppError
from app.core.turn_events import AssemblerEvent


class ConnectionEnd(Protocol):
    """How a connection ended: ``terminated`` means every turn was delivered; otherwise
    ``to_error()`` says what went wrong (None for an end the app asked for)."""

    @property
    def terminated(self) -> bool: ...

    def to_error(self) -> AppError | None: ...


class SpeechConnection(Protocol):
    """One connection to the service. ``connect`` and ``run`` on the session's streaming thread;
    ``send_audio`` on the capture thread (never blocks); ``stop`` and ``abort`` from any thread."""

    def connect(self, on_open: Callable[[], None] | None = None) -> object:
        """Open it; ``on_open`` runs as soon as audio may be sent (the session hands over its
        backlog there). Raises AuthError / StreamingError (``retryable`` honestly set)."""

    def run(self) -> ConnectionEnd:
        """Read until it ends; messages go to the callback the connection was made with."""

    def send_audio(self, pcm: bytes) -> None: ...

    def stop(self, timeout: float = 5.0) -> None:
        """Graceful: deliver the turn in flight, then end (at most ``timeout`` s)."""

    def abort(self) -> None:
        """Now, without waiting."""


class TurnRules(Protocol):
    """A backend's turn assembly: messages in, ``InterimChanged`` / ``TurnFinalized`` out. Used by
    one lane under its lock (the streaming thread's messages, the capture thread's ticks)."""

    def start_segment(self, segment: int, offset_ms: int) -> list[AssemblerEvent]:
        """A new connection; its audio starts at ``offset_ms`` of the session's recording."""

    def receive(self, message: object) -> list[AssemblerEvent]: ...

    def tick(self) -> list[AssemblerEvent]:
        """Now and then (every audio block): releases anything held for too long."""

    def flush(self) -> list[AssemblerEvent]:
        """The connection ended: release whatever is held."""


class SpeechService(Protocol):
    """A configured speech backend for one session (built by the factory from the plan)."""

    @property
    def name(self) -> str:
        """For messages: "the streaming service"."""

    @property
    def send_ahead_s(self) -> float:
        """How much audio captured while no connection was up a new one accepts at once."""

    @property
    def terminate_timeout_s(self) -> float: ...

    def connection(self, on_message: Callable[[object], None]) -> SpeechConnection: ...

    def turn_rules(self) -> TurnRules: ...
