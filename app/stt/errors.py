"""How a streaming connection ended, and the AppError a person sees for each way it can fail.

``CloseInfo`` is what ``StreamingClient.run()`` returns; its ``to_error()`` turns a close code and
the last Error frame into ``AuthError``/``StreamingError`` (or None for a normal end). The
functions below do the same for failures before the session starts: the handshake
(``connect_error``), a connection that ends before ``Begin``, and a cancelled connect. Every
message says what to do next, and none contains the API key.

Pure: no I/O and no state. Threads: called by ``StreamingClient`` on the websocket worker thread
(inside ``connect()`` and ``run()``); ``CloseInfo.to_error()`` is then called by whoever received
the ``CloseInfo``, in practice the same thread (``app.pipeline.session``'s streaming loop).
"""
from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

import websocket

from app.core.errors import AppError, AuthError, StreamingError
from app.stt.protocol import (
    AUTH_CLOSE,
    NORMAL_CLOSE,
    RETRYABLE_CLOSE_CODES,
    TOO_MANY_SESSIONS,
    ServerError,
    describe_close,
)

NO_STATUS_CLOSE = 1005  # a close frame without a code


@dataclass(frozen=True)
class CloseInfo:
    """How a session ended, as returned by ``StreamingClient.run()``."""

    code: int | None  # close code from the service; None when the connection dropped without one
    reason: str
    error: ServerError | None  # the last Error frame, which carries the full text [protocol §3.3]
    terminated: bool  # Termination was received: every turn was delivered
    requested: bool = False  # the app ended it (stop() or abort())
    silent_for_s: float | None = None  # set when the liveness check gave up on a silent connection

    @property
    def effective_code(self) -> int | None:
        """The close code, or the Error frame's code when the close frame never arrived."""
        if self.code is not None:
            return self.code
        return self.error.code if self.error is not None else None

    def to_error(self) -> AppError | None:
        """The error to report, or None for a normal end.

        Normal: Termination received (whatever followed), or an end the app asked for that the
        service did not turn into an error. ``AuthError`` for 1008 unless its text says "too many"
        (older servers used 1008 for the session rate limit [protocol §4.1]); ``StreamingError``
        otherwise, retryable for network drops, a bare 1000 without Termination and
        ``RETRYABLE_CLOSE_CODES``.
        """
        if self.terminated:
            return None
        code = self.effective_code
        # The Error frame is preferred over the close reason, which is capped at 123 bytes.
        text = self.error.message if self.error is not None else self.reason
        if self.requested and code in (None, NORMAL_CLOSE, NO_STATUS_CLOSE):
            return None
        if code is None and self.silent_for_s is not None:
            return StreamingError(
                f"The streaming service stopped answering (nothing received for {self.silent_for_s:.0f} s); "
                "the network connection was probably lost.", retryable=True, detail="liveness check")
        message = describe_close(code, text)
        if code == AUTH_CLOSE and "too many" not in text.lower():
            return AuthError(message, detail=f"close {code}: {text}", close_code=code)
        if code in (AUTH_CLOSE, TOO_MANY_SESSIONS):
            return StreamingError(message, close_code=code, retryable=False, detail=text)
        # A drop (None) is what 1006 means on the wire, and a 1000 without Termination means the
        # service went away mid-session: a new session can carry on in both cases.
        retryable = code is None or code in RETRYABLE_CLOSE_CODES or code in (NORMAL_CLOSE, NO_STATUS_CLOSE)
        return StreamingError(message, close_code=code, retryable=retryable, detail=text)


def cancelled_error() -> StreamingError:
    """stop() or abort() came while connecting: not a failure to report, but connect() must end."""
    return StreamingError("Connecting to the streaming service was cancelled.", retryable=False)


def no_begin_error(begin_timeout: float) -> StreamingError:
    return StreamingError(
        "The streaming service accepted the connection but never started a session "
        f"(no Begin within {begin_timeout:g} s).", retryable=True)


def dropped_before_begin_error(last_error: ServerError | None) -> AppError:
    """The connection broke (no close frame) after the handshake, before ``Begin``."""
    return CloseInfo(None, "", last_error, False).to_error() or StreamingError(describe_close(None))


def closed_before_begin_error(code: int, reason: str, last_error: ServerError | None) -> AppError:
    """The service sent a close frame after the handshake, before ``Begin``."""
    return CloseInfo(code, reason, last_error, False).to_error() or StreamingError(
        "The streaming service closed the connection before starting a session.", close_code=code)


def connect_error(exc: BaseException, where: str, timeout: float) -> AppError:
    """A message a person can act on for each way the handshake fails."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, websocket.WebSocketBadStatusException):
        status = exc.status_code
        if status in (401, 403):
            return AuthError(f"The API key was rejected (HTTP {status}). Open Settings to enter a valid "
                             "AssemblyAI key, or check the account's balance.", detail=detail, http_status=status)
        if status == 429:
            return StreamingError("The streaming service is rate-limiting new sessions (HTTP 429). "
                                  "Wait a minute and record again.", retryable=True, detail=detail)
        if status == 414:
            # Every setting travels in the query string; only the key terms can make it this long.
            return StreamingError("The streaming service refused the connection because its address is too long "
                                  "(HTTP 414): there are too many or too long key terms. Use fewer, shorter key "
                                  "terms in Settings or with --keyterm.", retryable=False, detail=detail)
        if status == 431:
            # The only large header the app sends is Authorization, the API key.
            return StreamingError("The streaming service refused the connection because a request header is too "
                                  "large (HTTP 431): the API key is far too long. Paste the key again in Settings "
                                  "or ASSEMBLYAI_API_KEY; it is a short code from the AssemblyAI dashboard.",
                                  retryable=False, detail=detail)
        return StreamingError(f"The streaming service at {where} refused the connection (HTTP {status}). "
                              "Check the streaming URL in Settings, or try again later.",
                              retryable=status >= 500 or status == 408, detail=detail)
    if isinstance(exc, (websocket.WebSocketAddressException, socket.gaierror)):
        return StreamingError(f"The streaming service host {where.rsplit(':', 1)[0]} could not be found. "
                              "Check the internet connection and the streaming URL in Settings.",
                              retryable=True, detail=detail)
    if isinstance(exc, ConnectionRefusedError):
        return StreamingError(f"The streaming service at {where} refused the connection. Check the internet "
                              "connection and the streaming URL in Settings.", retryable=True, detail=detail)
    if isinstance(exc, (TimeoutError, websocket.WebSocketTimeoutException)):
        return StreamingError(f"The streaming service at {where} did not answer within {timeout:g} s. "
                              "Check the internet connection; a firewall or proxy may be blocking websockets.",
                              retryable=True, detail=detail)
    if isinstance(exc, ssl.SSLError):
        return StreamingError(f"A secure connection to {where} could not be set up ({exc.reason}). Check the "
                              "computer's clock and any proxy that inspects HTTPS.", retryable=True, detail=detail)
    if isinstance(exc, OSError):
        return StreamingError(f"Could not connect to the streaming service at {where} "
                              f"({exc.strerror or exc}). Check the internet connection.",
                              retryable=True, detail=detail)
    if isinstance(exc, websocket.WebSocketException):
        return StreamingError(f"The websocket handshake with {where} failed ({exc}). Check the streaming URL "
                              "in Settings.", retryable=True, detail=detail)
    return StreamingError(f"Could not connect to the streaming service at {where} ({detail}).",
                          retryable=True, detail=detail)
