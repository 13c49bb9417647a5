"""The house style, checked: ruff with the committed rule set, mypy strict over all of app/, and the
layering of STYLE.md as import contracts (pyproject.toml, [tool.ruff], [tool.mypy], [tool.importlinter]).

Each tool runs as a subprocess from the repository root, exactly as a developer would run it; a
finding fails the test with the tool's own report.
"""
from __future__ import annotations

import ast
import importlib
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


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every ``app.…`` import in ``path``, also inside functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name.startswith("app.")]


def test_each_package_declares_its_public_modules_and_the_others_import_only_those() -> None:
    packages = sorted(p.parent.name for p in (ROOT / "app").glob("*/__init__.py"))
    public = {name: set(importlib.import_module(f"app.{name}").__all__) for name in packages}
    for name, modules in public.items():
        missing = [m for m in modules if not (ROOT / "app" / name / f"{m}.py").is_file()]
        assert not missing, f"app/{name}/__init__.py names modules that do not exist: {missing}"
    reaching_in = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        own = path.relative_to(ROOT / "app").parts[0] if path.parent != ROOT / "app" else ""
        for line, dotted in _imports(path):
            parts = dotted.split(".")
            if len(parts) >= 3 and parts[1] in public and parts[1] != own and parts[2] not in public[parts[1]]:
                reaching_in.append(f"{path.relative_to(ROOT)}:{line} imports {dotted}")
    assert not reaching_in, "internal modules imported from another package:\n" + "\n".join(sorted(set(reaching_in)))


def test_every_listener_method_is_one_session_event_with_one_signal() -> None:
    from app.pipeline.events import SESSION_EVENTS, SessionListener
    from app.workers.bridge import SessionEvents

    methods = sorted(n for n, v in vars(SessionListener).items() if callable(v) and not n.startswith("_"))
    assert sorted(e.method for e in SESSION_EVENTS) == methods
    assert len({e.signal for e in SESSION_EVENTS}) == len(SESSION_EVENTS)
    assert all(callable(getattr(SessionEvents, m, None)) for m in methods)
