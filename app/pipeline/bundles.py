"""Session bundles: one session as a zip of its recording and its ``transcript.json``, to share it
with another machine, and unpacking one safely into the sessions folder.

Qt-free, blocking file I/O (the window runs it in a ``BackgroundTask``). A bundle holds one folder,
named as the session's folder was, with ``audio.wav`` (stored, a WAV does not compress) and
``transcript.json`` (everything the archive has: turns, every translation set, title, note, uid).
Unpacking takes only those two files, never a path that leaves the folder (``..``, absolute
names, links), checks the space they need first, and reads no more than the sizes they declare,
so a crafted zip cannot write elsewhere or fill the disk.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from app.core.errors import InputFileError, OutputError
from app.pipeline.folders import AUDIO_NAME, SYSTEM_AUDIO_NAME

TRANSCRIPT_JSON = "transcript.json"  # what every session folder holds besides its WAV (app.core.exports)
_COPY_CHUNK = 1 << 20
_SPARE_BYTES = 50 * 1024 * 1024  # unpacking leaves at least this much free (as recording does)


def write_bundle(path: Path, folder_name: str, transcript_json: str, audio: Path | None) -> Path:
    """Write the bundle atomically (a ``.part`` file renamed at the end)."""
    path = path.expanduser()
    partial = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w") as bundle:
            bundle.writestr(zipfile.ZipInfo(f"{folder_name}/{TRANSCRIPT_JSON}", _now()), transcript_json,
                            compress_type=zipfile.ZIP_DEFLATED)
            if audio is not None:
                bundle.write(audio, f"{folder_name}/{AUDIO_NAME}", compress_type=zipfile.ZIP_STORED)
                other = audio.with_name(SYSTEM_AUDIO_NAME)  # a two-way session's other side
                if other.is_file():
                    bundle.write(other, f"{folder_name}/{SYSTEM_AUDIO_NAME}", compress_type=zipfile.ZIP_STORED)
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise OutputError(f"Could not write the bundle {path} ({exc.strerror or exc}). Check the free space and "
                          "choose another folder.") from None
    return path


def _now() -> tuple[int, int, int, int, int, int]:
    import time

    return time.localtime()[:6]


def unpack_bundle(bundle: Path, into: Path) -> Path:
    """Unpack ``bundle`` into a new folder in ``into`` (named as in the bundle, ``_2`` if taken by
    another session); returns that folder. Raises ``InputFileError`` for a file that is not a bundle."""
    try:
        archive = zipfile.ZipFile(bundle)
    except FileNotFoundError:
        raise InputFileError(f"{bundle} does not exist. Check the path.") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFileError(f"{bundle} is not a Live Translate bundle: it cannot be read as a zip file ({exc}).") \
            from None
    with archive:
        name, members = _members(bundle, archive)
        needed = sum(m.file_size for m in members.values())
        into.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(into).free
        if needed + _SPARE_BYTES > free:
            raise OutputError(f"Unpacking {bundle.name} needs {needed // 2**20 + 1} MB and only {free // 2**20} MB "
                              f"are free in {into}. Free some space, or import it into another sessions folder.")
        work = Path(tempfile.mkdtemp(prefix=".import-", dir=into))
        try:
            for file_name, member in members.items():
                _extract(archive, member, work / file_name)
            target = _free_folder(into, name, work / TRANSCRIPT_JSON)
            if target.exists():  # the same session unpacked before: bring its files up to date
                for file_name in members:
                    os.replace(work / file_name, target / file_name)
            else:
                os.replace(work, target)
        except zipfile.BadZipFile as exc:
            raise InputFileError(f"{bundle} is damaged ({exc}); ask for it again.") from None
        except OSError as exc:
            raise OutputError(f"Could not unpack {bundle.name} into {into} ({exc.strerror or exc}).") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _members(bundle: Path, archive: zipfile.ZipFile) -> tuple[str, dict[str, zipfile.ZipInfo]]:
    """The bundle's folder name and its two files; refuses anything that could land elsewhere."""
    folders: set[str] = set()
    found: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if info.is_dir():
            continue
        unsafe = info.filename.startswith(("/", "\\")) or ".." in parts or ":" in info.filename or len(parts) != 2
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if unsafe or is_link:
            raise InputFileError(f"{bundle} holds {info.filename!r}, which is not where a bundle keeps its files; "
                                 "it is not a Live Translate bundle and nothing was unpacked.")
        folders.add(parts[0])
        if parts[1] in (TRANSCRIPT_JSON, AUDIO_NAME, SYSTEM_AUDIO_NAME):
            found[parts[1]] = info
    if len(folders) != 1 or TRANSCRIPT_JSON not in found:
        raise InputFileError(f"{bundle} is not a Live Translate bundle: it should hold one session folder with "
                             f"{TRANSCRIPT_JSON} (and {AUDIO_NAME}).")
    return folders.pop(), found


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    left = member.file_size
    with archive.open(member) as source, open(target, "wb") as sink:
        while chunk := source.read(min(_COPY_CHUNK, left + 1)):
            left -= len(chunk)
            if left < 0:
                raise zipfile.BadZipFile(f"{member.filename} is larger than it says")
            sink.write(chunk)


def _free_folder(into: Path, name: str, transcript: Path) -> Path:
    """``into/name`` if free or the same session's; else ``name_2``, ``name_3`` ..."""
    uid = _uid(transcript)
    safe = "".join(c for c in name if c not in '/\\:*?"<>|\0').strip(". ") or "imported-session"
    for n in range(1, 1000):
        folder = into / (safe if n == 1 else f"{safe}_{n}")
        if not folder.exists():
            return folder
        if uid and _uid(folder / TRANSCRIPT_JSON) == uid:
            return folder
    raise OutputError(f"Too many folders named {safe} in {into}.")


def _uid(transcript: Path) -> str:
    try:
        doc = json.loads(transcript.read_text(encoding="utf-8"))
        return str(doc["session"]["uid"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
