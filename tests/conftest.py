"""Test-wide set-up: no display, private user folders, no real API key, artifacts folder.

Every test runs with its own HOME/XDG folders so nothing touches the developer's real settings,
keyring, sessions or logs; ``ASSEMBLYAI_API_KEY`` from the developer's shell never reaches a test.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.pulse import virtual_mic  # noqa: F401 - the virtual microphone fixture, shared by the suite

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("ASSEMBLYAI_API_KEY", None)

ARTIFACTS = Path(__file__).parent / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Microphone and end-to-end tests run at real time by nature, and browser tests start a whole
    browser: they belong to the slow tier."""
    for item in items:
        if item.get_closest_marker("microphone") or item.get_closest_marker("e2e") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.realtime)


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"),
                     ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ASSEMBLYAI_API_KEY", raising=False)
    return home


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def collect_garbage_between_tests() -> Iterator[None]:
    """Collect each test's garbage at its end, after Qt has run its deferred deletions, instead of
    letting a later test's event loop collect it at a random moment (a Qt wrapper freed mid-way
    through someone else's test made one CI run crash inside the garbage collector)."""
    yield
    import gc
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtCore import QCoreApplication, QEvent

        if QCoreApplication.instance() is not None:
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            QCoreApplication.processEvents()
    gc.collect()
