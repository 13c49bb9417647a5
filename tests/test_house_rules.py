"""The house style, checked: ruff with the committed rule set, mypy strict over all of app/, and the
layering of STYLE.md as import contracts (pyproject.toml, [tool.ruff], [tool.mypy], [tool.importlinter]).

Each tool runs as a subprocess from the repository root, exactly as a developer would run it; a
finding fails the test with the tool's own report.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing_in_app_tests_or_bench() -> None:
    result = run_tool("ruff", "check", "--no-cache", "app", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_over_the_whole_app() -> None:
    result = run_tool("mypy")  # files, strictness and overrides come from pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_are_kept_as_import_contracts() -> None:
    result = run_tool("lint-imports", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
