"""One recording, one owner: an OS-level lock per session, held by the process that records it.

Any thread. The journal says a session is "recording" both while it records and after the process
recording it died; only the lock tells them apart, and the kernel releases it when the process
dies (kill -9, a crash, a power cut's reboot), so a second instance (window or terminal) never
mistakes a live session for an unfinished one, and two instances may record at once. One lock file
per session under ``<data dir>/locks/``, locked with ``flock`` (POSIX; on Windows ``msvcrt``).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("app.store")

if sys.platform == "win32":  # pragma: no cover - the tests run on Linux
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


class SessionLock:
    """The lock of one session (by its uid). ``acquire()`` never waits."""

    def __init__(self, folder: Path, uid: str) -> None:
        self.path = folder / f"{uid}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """True if this process now holds it; False if another live process does."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self, *, remove: bool = False) -> None:
        """Let go (``remove``: the session is over for good, its lock file goes too)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()  # while still holding it: nobody can claim it in between
        os.close(fd)
