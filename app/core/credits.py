"""What Live Translate is built from, and under which licences.

The one list of the software the app runs on: Help ▸ About shows it (``app/ui/about_dialog.py``)
and the Debian package's copyright file is written from it (``packaging/make_deb.py``). The parts
people know by name (Qt, PortAudio, the direct dependencies) are listed by hand with what each does;
every Python package under them is found in the installed packages' metadata (the frozen build
carries the metadata of what it bundles), so the list cannot fall behind a dependency upgrade.
Pure Python; any thread.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

from app import DISTRIBUTION

APP_LICENCE = "MIT"


@dataclass(frozen=True)
class Component:
    name: str
    licence: str  # an SPDX licence expression
    role: str  # what it does for the app
    url: str  # where its source and licence text are
    distribution: str = ""  # the Python package whose metadata holds the version ("" = not one)

    def version(self) -> str:
        """The installed version, or "" where it cannot be known here (a system library)."""
        return installed_version(self.distribution) if self.distribution else ""


@dataclass(frozen=True)
class PythonPackage:
    name: str
    version: str
    licence: str  # as the package's metadata states it


_QT_SOURCE = "https://code.qt.io/cgit/pyside/pyside-setup.git/"

# The Qt libraries are linked dynamically (separate .so files, in the frozen build too), as the
# LGPL asks: a user can put their own build of them in place.
COMPONENTS: tuple[Component, ...] = (
    Component("Qt 6", "LGPL-3.0-only", "the window, its widgets and drawing",
              "https://www.qt.io/licensing/open-source-lgpl-obligations"),
    Component("PySide6 (Qt for Python)", "LGPL-3.0-only", "Qt from Python", _QT_SOURCE, "PySide6-Essentials"),
    Component("shiboken6", "LGPL-3.0-only", "the binding runtime of PySide6", _QT_SOURCE, "shiboken6"),
    Component("ICU", "Unicode-3.0", "text handling inside Qt (ships with Qt's libraries)",
              "https://github.com/unicode-org/icu"),
    Component("PortAudio", "MIT", "microphone input (the system's library)", "https://www.portaudio.com/"),
    Component("PyAudio", "MIT", "PortAudio from Python", "https://people.csail.mit.edu/hubert/pyaudio/", "PyAudio"),
    Component("websocket-client", "Apache-2.0", "the streaming connection to AssemblyAI",
              "https://github.com/websocket-client/websocket-client", "websocket-client"),
    Component("Requests", "Apache-2.0", "requests to AssemblyAI's LLM Gateway", "https://github.com/psf/requests",
              "requests"),
    Component("keyring", "MIT", "keeping the API key in the system's keyring", "https://github.com/jaraco/keyring",
              "keyring"),
    Component("platformdirs", "MIT", "where settings, sessions and logs go", "https://github.com/tox-dev/platformdirs",
              "platformdirs"),
    Component("Python", "PSF-2.0", "the interpreter and its standard library", "https://www.python.org/"),
)


def installed_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""


def _requirement_name(requirement: str) -> str | None:
    """The distribution a requirement names, or None for one that only an extra asks for."""
    spec, _, marker = requirement.partition(";")
    if "extra" in marker:
        return None  # test, doc and optional extras are not part of the app
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return match.group(1) if match else None


def _field(meta: metadata.PackageMetadata, name: str) -> str:
    return str(meta[name] or "").strip() if name in meta else ""


def _licence_of(meta: metadata.PackageMetadata) -> str:
    expression = _field(meta, "License-Expression")
    if expression:
        return expression
    free_text = _field(meta, "License")
    if free_text and "\n" not in free_text and len(free_text) <= 60:
        return free_text  # a name, not a whole licence text pasted into the field
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License ::"):
            return str(classifier).rsplit("::", 1)[-1].strip()
    return "see the package"


def python_packages(root: str = DISTRIBUTION) -> list[PythonPackage]:
    """Every installed Python package the app depends on, directly or not, sorted by name.

    Environment markers other than extras are not evaluated (that needs the ``packaging``
    library): a requirement of another platform counts only if that package is installed."""
    seen: dict[str, PythonPackage] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = PythonPackage(dist.metadata["Name"], dist.version, _licence_of(dist.metadata))
        pending.extend(n for r in dist.requires or [] if (n := _requirement_name(r)))
    own = re.sub(r"[-_.]+", "-", root).lower()
    return sorted((p for k, p in seen.items() if k != own), key=lambda p: p.name.lower())
