"""Typed errors with messages a person can act on.

Pure Python; raised and caught on any thread. Every error that reaches a user goes through one of
these classes, so the window, the command line and the logs all say the same thing. ``fatal`` means
the session cannot go on (it is stopped and saved); a non-fatal error is shown in the status line.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class AppError(Exception):
    """Base class: ``message`` is what the user reads; ``exit_code`` is what the CLI returns."""

    exit_code = 1
    fatal = True

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # for the log file only; never the API key

    def __str__(self) -> str:
        return self.message


class ConfigError(AppError):
    """A setting or command-line value is missing or invalid (no key, unknown language, bad URL)."""

    exit_code = 2


class InputFileError(AppError):
    """The recording given with --input cannot be read."""

    exit_code = 3


class DeviceError(AppError):
    """No microphone, an unknown device, or a device that vanished mid-session."""

    exit_code = 4


class OutputError(AppError):
    """The sessions folder cannot be written, or the disk filled up."""

    exit_code = 5


class ArchiveBusyError(OutputError):
    """The session archive is held locked by another program for longer than a few seconds; the
    message names it when it can be found."""

    exit_code = 11


class NewerArchiveError(OutputError):
    """The session archive was written by a newer version of the app: it is refused and left as it is."""

    exit_code = 12


class AuthError(AppError):
    """The service rejected the API key (close 1008 or HTTP 401/403). Never retried blindly.

    ``close_code`` is 1008 when the rejection was a websocket close after the upgrade, and
    ``http_status`` the status when the upgrade itself was refused. The difference matters: the
    service sometimes closes valid keys with a transient 1008 ("Incorrect padding"), which one
    retry fixes, while an HTTP 401 is always the key [protocol §9.2].
    """

    exit_code = 6

    def __init__(self, message: str, *, detail: str = "", close_code: int | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(message, detail=detail)
        self.close_code = close_code
        self.http_status = http_status


class StreamingError(AppError):
    """The streaming service could not be reached or ended the session with an error.

    ``close_code`` is the websocket close code (3005-3009, 1008) or None for a network failure;
    ``retryable`` says whether a reconnect can help.
    """

    exit_code = 7

    def __init__(
        self, message: str, *, close_code: int | None = None, retryable: bool = True, detail: str = ""
    ) -> None:
        super().__init__(message, detail=detail)
        self.close_code = close_code
        self.retryable = retryable


class TranslationError(AppError):
    """One translation request failed. Not fatal: the turn keeps its original text.

    ``retryable`` is True for 429, 5xx, timeouts and malformed bodies; ``retry_after`` (seconds) is
    the server's hint from ``Retry-After`` or ``X-RateLimit-Reset``.
    """

    exit_code = 8
    fatal = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message, detail=detail)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def unexpected(log: logging.Logger, what: str, exc: BaseException) -> AppError:
    """The one catch-all of every worker thread: log the traceback and return an ``AppError`` that
    says what stopped (``what``: "Recording stopped", "The session stopped"), so a bug is reported
    in words a person can pass on, never swallowed and never a thread that silently vanishes.
    An ``AppError`` is returned as it is (it already says what to do)."""
    if isinstance(exc, AppError):
        return exc
    log.error("%s: unexpected %s", what, type(exc).__name__, exc_info=exc)
    return AppError(f"{what} because of an unexpected error ({type(exc).__name__}: {exc}). "
                    "Details are in the log file.")


class Outcome:
    """What ``catch_all`` saw: ``failed`` once the guarded block raised."""

    failed = False


@contextmanager
def catch_all(log: logging.Logger, what: str, on_error: Callable[[AppError], object]) -> Iterator[Outcome]:
    """The one catch-all of every worker thread (session threads, QThreads, background tasks):
    whatever the block raises goes to ``on_error`` as an ``AppError`` (see ``unexpected``) and the
    thread carries on after the block; ``outcome.failed`` says whether it did."""
    outcome = Outcome()
    try:
        yield outcome
    except Exception as exc:  # noqa: BLE001 - this is the catch-all; unexpected() logs the traceback
        outcome.failed = True
        on_error(unexpected(log, what, exc))
