"""Opening the archive file, and the errors a person reads when that, or a read or write, fails.

Stdlib only; any thread (the store calls these under its own locks). A damaged file is moved aside
with its -wal/-shm (``move_aside``). A file another program keeps locked for longer than the
store's busy timeout is an ``ArchiveBusyError`` that names that program when it can: on Linux the
kernel's lock table (``/proc/locks``) says which process holds a write lock on the file or its
``-shm`` (where SQLite's WAL write lock lives), and ``/proc/<pid>`` what that process is; failing
that, the processes that have the file open are named.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path

from app.core.errors import ArchiveBusyError, OutputError

log = logging.getLogger("app.store")

BUSY_TIMEOUT_MS = 5000  # reads: only another process (a second app instance) can hold the write lock
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # journal_mode reads the header: this is where a non-database file is first noticed.
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":  # e.g. a filesystem without shared memory; still durable, less concurrent
            log.warning("session archive %s runs in %s journal mode, not WAL", path, mode)
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    message = str(exc)
    return "file is not a database" in message or "malformed" in message


def is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "database is locked" in str(exc) or "database is busy" in str(exc)


def move_aside(path: Path, cause: sqlite3.Error) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    try:
        # The -wal must move too: SQLite would replay a stale WAL into the new, empty file.
        for suffix in ("-wal", "-shm", ""):
            companion = Path(f"{path}{suffix}")
            if companion.exists():
                companion.rename(Path(f"{aside}{suffix}"))
    except OSError as exc:
        raise OutputError(
            f"The session archive {path} is damaged and could not be moved aside "
            f"({exc.strerror or exc}). Move or delete it, then start Live Translate again.",
            detail=f"{cause!r}; {exc!r}",
        ) from exc
    log.error("moved corrupt session archive to %s", aside)
    return aside


def busy_error(path: Path, exc: sqlite3.Error, waited_ms: int) -> ArchiveBusyError:
    holders = lock_holders(path)
    who = ", ".join(f"{name} (process {pid})" for pid, name in holders) if holders else \
        "another program (it could not be identified)"
    return ArchiveBusyError(
        f"The session archive {path} is locked by {who}, and stayed locked for {waited_ms / 1000:g} s. "
        "Close that program, or wait until it has finished, then try again.",
        detail=repr(exc),
    )


def open_error(path: Path, exc: sqlite3.Error) -> OutputError:
    if is_busy(exc):
        return busy_error(path, exc, BUSY_TIMEOUT_MS)
    return OutputError(
        f"The session archive {path} cannot be opened ({exc}). "
        "Check that the folder exists and you can write to it.",
        detail=repr(exc),
    )


def io_error(path: Path, action: str, exc: sqlite3.Error, waited_ms: int) -> OutputError:
    if is_busy(exc):
        return busy_error(path, exc, waited_ms)
    return OutputError(
        f"The session archive {path} could not be {action} ({exc}). "
        "Check free disk space and that the folder is still writable.",
        detail=repr(exc),
    )


def lock_holders(path: Path) -> list[tuple[int, str]]:
    """(pid, program) of the other processes that hold a write lock on the archive (or, when the
    lock table cannot tell, that have it open); empty where /proc does not exist."""
    files = [Path(f"{path}{suffix}") for suffix in ("", "-shm", "-wal")]
    inodes = set()
    for file in files:
        with contextlib.suppress(OSError):
            info = file.stat()
            inodes.add((os.major(info.st_dev), os.minor(info.st_dev), info.st_ino))
    pids = _write_lockers(inodes) or _openers({str(f.resolve()) for f in files if f.exists()})
    me = os.getpid()
    return [(pid, _program(pid)) for pid in sorted(pids) if pid != me]


def _write_lockers(inodes: set[tuple[int, int, int]]) -> set[int]:
    try:
        lines = Path("/proc/locks").read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return set()
    found = set()
    for line in lines:
        # "1: POSIX  ADVISORY  WRITE 4242 08:01:123456 120 120" (OFD locks show pid -1)
        parts = line.split()
        if len(parts) < 6 or parts[1] not in ("POSIX", "OFDLCK", "FLOCK") or parts[3] != "WRITE":
            continue
        try:
            major, minor, inode = parts[5].split(":")
            key = (int(major, 16), int(minor, 16), int(inode))
            pid = int(parts[4])
        except ValueError:
            continue
        if key in inodes and pid > 0:
            found.add(pid)
    return found


def _openers(paths: set[str]) -> set[int]:
    found = set()
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                for fd in (entry / "fd").iterdir():
                    with contextlib.suppress(OSError):
                        if os.readlink(fd) in paths:
                            found.add(int(entry.name))
                            break
    return found


def _program(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        name = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "a program"
    # "python3 -m app" says more than "python3": show the program and what it runs, briefly.
    words = [w.decode("utf-8", "replace") for w in argv if w][:4]
    shown = " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words)) if words else name
    shown = " ".join(shown.split())  # one line, whatever the command line held
    return shown if len(shown) <= 60 else shown[:59] + "…"
