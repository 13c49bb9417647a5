"""The scripts under packaging/ as modules, and the version pyproject.toml gives (test support).

The packaging scripts are not part of the ``app`` package (they build it), so tests load them from
their files. Main test thread.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent.parent


def load_packaging_script(name: str) -> ModuleType:
    """``packaging/<name>.py``, imported (its ``main()`` is not run)."""
    spec = importlib.util.spec_from_file_location(f"packaging_{name}", ROOT / "packaging" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pyproject_version() -> str:
    """The one place the version is written: ``version`` in pyproject.toml's [project] table."""
    match = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert match, "pyproject.toml has no version line"
    return match.group(1)
