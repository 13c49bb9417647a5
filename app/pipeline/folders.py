"""Session folders: where each recording goes, checked before anything is recorded.

Pure Python with file-system I/O; runs on whichever thread prepares a session (never the GUI
thread during recording). A session folder holds ``audio.wav`` and the transcript exports.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from app.core.errors import OutputError

AUDIO_NAME = "audio.wav"
SYSTEM_AUDIO_NAME = "audio-system.wav"  # two-way: the system audio (the other side), same timeline as audio.wav
MIN_FREE_BYTES = 50 * 1024 * 1024  # refuse to start below this: ~25 min of 16 kHz audio + margin


def check_writable(sessions_dir: Path, *, min_free: int = MIN_FREE_BYTES) -> None:
    """Fail before recording starts if the folder cannot be created/written or the disk is full."""
    try:
        sessions_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Cannot create the sessions folder {sessions_dir} ({exc.strerror or exc}). "
            "Choose another folder with --out or in Settings."
        ) from None
    if not sessions_dir.is_dir():
        raise OutputError(f"{sessions_dir} is not a folder. Choose another sessions folder with --out or in Settings.")
    probe = sessions_dir / f".write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"Cannot write to the sessions folder {sessions_dir} ({exc.strerror or exc}). "
            "Choose another folder with --out or in Settings."
        ) from None
    free = shutil.disk_usage(sessions_dir).free
    if free < min_free:
        raise OutputError(
            f"Only {free // (1024 * 1024)} MB are free on the disk holding {sessions_dir}; "
            f"at least {min_free // (1024 * 1024)} MB are needed to record. Free some space or choose another folder."
        )


def new_session_folder(sessions_dir: Path, started_at: float | None = None) -> Path:
    """``<sessions_dir>/2026-11-23_14-05-09`` (``_2``, ``_3`` ... if that exists)."""
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(started_at or time.time()))
    for n in range(1, 1000):
        folder = sessions_dir / (stamp if n == 1 else f"{stamp}_{n}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"Cannot create the session folder {folder} ({exc.strerror or exc}).") from None
    raise OutputError(f"Too many sessions started at {stamp} in {sessions_dir}.")
