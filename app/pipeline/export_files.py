"""Writing an export the user asked for: transcript text via ``app.core.exports`` and a WAV copy.

Qt-free functions with file I/O: the window runs them in a ``BackgroundTask`` (never on the GUI
thread: a WAV copy of a long session is hundreds of megabytes), the archive and the terminal call
them directly. Errors come back as ``OutputError`` with a message a person can act on.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import OutputError
from app.core.exports import Entry, ExportOptions, export_files, render


@dataclass(frozen=True)
class ExportJob:
    entries: Sequence[Entry]
    fmt: str  # one of app.core.exports.FORMATS
    options: ExportOptions
    transcript_path: Path
    audio_source: Path | None = None  # the session's WAV, copied to audio_target when both are set
    audio_target: Path | None = None


def planned_files(job: ExportJob) -> list[Path]:
    """Every file ``run_export(job)`` writes (bilingual subtitles with several translations are
    one file per translation), for asking before any of them is replaced."""
    paths = [path for path, _ in export_files(job.fmt, job.options, job.transcript_path)]
    if job.audio_source is not None and job.audio_target is not None:
        paths.append(job.audio_target)
    return paths


def run_export(job: ExportJob) -> list[Path]:
    """Write the transcript (atomically: a crash never leaves half a file) and copy the WAV."""
    written = [_write_text(path, render(job.fmt, job.entries, options))
               for path, options in export_files(job.fmt, job.options, job.transcript_path)]
    if job.audio_source is not None and job.audio_target is not None:
        written.append(_copy(job.audio_source, job.audio_target))
    return written


def _write_text(path: Path, text: str) -> Path:
    partial = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder itself is the problem: no partial file to remove
            partial.unlink(missing_ok=True)
        raise OutputError(f"Could not write {path} ({exc.strerror or exc}). Choose another folder.") from None
    return path


def _copy(source: Path, target: Path) -> Path:
    if not source.is_file():
        raise OutputError(f"The recording {source} is missing, so it could not be copied.")
    if target.resolve() == source.resolve():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError as exc:
        raise OutputError(f"Could not copy the recording to {target} ({exc.strerror or exc}). "
                          "Check the free space and choose another folder.") from None
    return target
