"""The caption page's static files (``resources/captions/``), read once into memory.

Qt-free; read on the thread that starts sharing. Serving from memory means no request can ever
name a file: there is no path from a URL to the disk, so nothing but these three files is served.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.errors import ConfigError

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "captions"
FILES = {  # the name under /c/<token>/ -> (file, content type)
    "": ("index.html", "text/html"),
    "captions.js": ("captions.js", "text/javascript"),
    "captions.css": ("captions.css", "text/css"),
}


@dataclass(frozen=True)
class PageFile:
    body: bytes
    content_type: str


def load_page(folder: Path = RESOURCES) -> dict[str, PageFile]:
    files = {}
    for name, (file, content_type) in FILES.items():
        try:
            files[name] = PageFile((folder / file).read_bytes(), content_type)
        except OSError as exc:
            raise ConfigError(f"The caption page cannot be shared: its file {file} is missing from {folder} "
                              f"({exc.strerror}). Reinstall Live Translate (bash packaging/install.sh).") from exc
    return files
