"""Live Translate: live speech transcription (AssemblyAI Universal Streaming v3) and translation
(AssemblyAI LLM Gateway), in a window or in the terminal.

The version is written once, in pyproject.toml; it is read here from the installed package's
metadata (the frozen build carries that metadata too). Any thread.
"""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "live-translate"
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _read_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    # Not installed (a checkout put on sys.path by hand): the checkout's own pyproject.toml says it.
    try:
        match = re.search(r'^version\s*=\s*"([^"]+)"', _PYPROJECT.read_text(encoding="utf-8"), re.M)
    except OSError:
        match = None
    return match.group(1) if match else "0+unknown"


__version__ = _read_version()
