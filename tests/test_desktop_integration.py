"""What makes the app an installable desktop program, checked from the checkout in seconds: the
version in one place, Help ▸ About with the licences, ``--smoke-test``, the icons rendered from the
one SVG, the menu entry and metainfo agreeing with the app, and packaging/install-desktop.

The frozen build and the .deb themselves are checked by tests/test_packaging.py (bash packaging/smoke).
"""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from session_rig import cli_env
from support.packaging_scripts import load_packaging_script, pyproject_version
from ui_support import build_window, qt_hygiene  # noqa: F401 - autouse fixture

import app
from app.core import credits
from app.core.resources import ICON_NAME, ICON_SVG
from app.main import keep_the_bundle_to_ourselves
from app.ui.about_dialog import AboutDialog, credits_html

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = (ROOT / "pyproject.toml").read_text()
VERSION = pyproject_version()
LINUX = ROOT / "packaging" / "linux"


def runtime_dependencies() -> list[str]:
    block = PYPROJECT.split("dependencies = [", 1)[1].split("]", 1)[0]
    return re.findall(r'^\s*"([A-Za-z0-9._-]+)', block, re.M)


# --- the version ------------------------------------------------------------------------------


def test_the_version_is_the_one_written_in_pyproject() -> None:
    assert app.__version__ == VERSION


def test_version_option_prints_the_name_and_version(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "app", "--version"], capture_output=True, text=True,
                            env=cli_env(tmp_path, None), timeout=30)
    assert result.returncode == 0 and result.stdout == f"live-translate {VERSION}\n"


def test_without_package_metadata_the_version_comes_from_the_checkouts_pyproject(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert app._read_version() == VERSION
    monkeypatch.setattr(app, "_PYPROJECT", tmp_path / "missing.toml")
    assert app._read_version() == "0+unknown"


# --- Help ▸ About -----------------------------------------------------------------------------


def test_about_names_the_version_qt_under_the_lgpl_portaudio_and_every_dependency(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    parts = build_window(qtbot, tmp_path)
    [help_menu] = [a.menu() for a in parts.window.menuBar().actions() if a.text() == "&Help"]
    next(a for a in help_menu.actions() if a.text() == "About Live Translate").trigger()
    dialog = parts.window.about_dialog
    assert isinstance(dialog, AboutDialog) and dialog.isVisible()
    assert f"Live Translate {VERSION}" in dialog.heading.text()
    text = dialog.credits.toPlainText()
    assert re.search(r"Qt 6 6\.\d+\.\d+\s+LGPL-3\.0-only", text), text
    assert re.search(r"PortAudio\s+MIT", text), text
    html_text = credits_html()
    for dependency in runtime_dependencies():
        # Each direct dependency has its own row, with its installed version.
        row = next((c for c in credits.COMPONENTS if c.distribution.lower() == dependency.lower()), None)
        assert row is not None, f"{dependency} (pyproject.toml) has no row in app/core/credits.py"
        assert f"{row.name}</a> {metadata.version(dependency)}" in html_text


def test_the_python_package_list_follows_the_requirements_and_leaves_out_extras() -> None:
    names = {p.name.lower().replace("_", "-") for p in credits.python_packages()}
    assert {"urllib3", "certifi", "secretstorage"} <= names  # under requests and keyring
    assert not names & {"pytest", "mypy", "ruff", "pyinstaller", "live-translate"}  # extras, and the app itself
    licences = {p.name: p.licence for p in credits.python_packages()}
    assert licences["requests"] == "Apache-2.0" and "LGPL-3.0-only" in licences["shiboken6"]


# --- --smoke-test -----------------------------------------------------------------------------


def test_smoke_test_opens_the_window_draws_a_frame_and_exits_0(tmp_path: Path) -> None:
    env = cli_env(tmp_path, None)
    env["QT_QPA_PLATFORM"] = "offscreen"
    result = subprocess.run([sys.executable, "-m", "app", "--smoke-test"], capture_output=True, text=True,
                            env=env, timeout=60, stdin=subprocess.DEVNULL)
    log = "".join(p.read_text() for p in tmp_path.rglob("live-translate.log"))
    assert result.returncode == 0, result.stderr + log
    assert "smoke test: drew the window" in log and "Traceback" not in log + result.stderr


def test_smoke_test_is_refused_with_headless(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "app", "--headless", "--smoke-test"], capture_output=True,
                            text=True, env=cli_env(tmp_path, "some-key-12345"), timeout=30)
    assert result.returncode == 2 and "--smoke-test checks the window" in result.stderr


# --- the icons, the menu entry, the metainfo --------------------------------------------------


def test_the_icons_are_rendered_from_the_one_svg_in_every_size(qapp: object, tmp_path: Path) -> None:
    # qapp: the QApplication of every other Qt test in this process (render() would otherwise make a
    # QGuiApplication, and the next widget test could not have its QApplication).
    render_icons = load_packaging_script("render_icons")
    written = render_icons.render(ICON_SVG, tmp_path)
    for size in render_icons.SIZES:
        image = QImage(str(tmp_path / f"hicolor/{size}x{size}/apps/{ICON_NAME}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # drawn, not an empty canvas
        assert image.pixelColor(0, 0).alpha() == 0  # the rounded corner stays transparent
    assert (tmp_path / f"hicolor/scalable/apps/{ICON_NAME}.svg").read_bytes() == ICON_SVG.read_bytes()
    assert len(written) == len(render_icons.SIZES) + 1


def test_the_menu_entry_and_metainfo_name_the_program_icon_and_desktop_id_the_app_uses() -> None:
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.read(LINUX / "live-translate.desktop")
    entry = desktop["Desktop Entry"]
    assert entry["Exec"] == "live-translate" and entry["Icon"] == ICON_NAME
    # The window announces this desktop file name (Wayland's app id), so docks match it to the entry.
    assert 'setDesktopFileName("live-translate")' in (ROOT / "app" / "gui.py").read_text()
    make_deb = load_packaging_script("make_deb")
    metainfo = (LINUX / f"{make_deb.METAINFO_ID}.metainfo.xml").read_text()
    assert f"<id>{make_deb.METAINFO_ID}</id>" in metainfo
    assert '<launchable type="desktop-id">live-translate.desktop</launchable>' in metainfo
    assert f'<release version="{VERSION}"' in make_deb.metainfo_with_release("2026-12-01")


def test_install_desktop_adds_the_entry_for_this_checkout_and_removes_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**cli_env(tmp_path, None), "XDG_DATA_HOME": str(data)}
    added = subprocess.run(["bash", str(ROOT / "packaging" / "install-desktop")], capture_output=True, text=True,
                           env=env, timeout=60, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    entry = (data / "applications" / "live-translate.desktop").read_text()
    program = ROOT / ".venv" / "bin" / "live-translate"
    assert f'Exec="{program}"' in entry and f"TryExec={program}" in entry
    assert (data / "icons/hicolor/48x48/apps/live-translate.png").is_file()
    assert (data / "icons/hicolor/scalable/apps/live-translate.svg").is_file()
    removed = subprocess.run(["bash", str(ROOT / "packaging" / "install-desktop"), "--remove"], capture_output=True,
                             text=True, env=env, timeout=60)
    assert removed.returncode == 0, removed.stderr
    assert not list(data.rglob("live-translate*"))


# --- the frozen build's environment -----------------------------------------------------------


def test_programs_started_by_the_frozen_app_get_the_users_library_path_back() -> None:
    env = {"LD_LIBRARY_PATH": "/opt/live-translate/_internal", "LD_LIBRARY_PATH_ORIG": "/home/me/lib",
           "QT_PLUGIN_PATH": "/opt/live-translate/_internal/PySide6/Qt/plugins", "HOME": "/home/me"}
    keep_the_bundle_to_ourselves(env)
    assert env == {"LD_LIBRARY_PATH": "/home/me/lib", "HOME": "/home/me"}
    env = {"LD_LIBRARY_PATH": "/opt/live-translate/_internal", "QML2_IMPORT_PATH": "/opt/x"}
    keep_the_bundle_to_ourselves(env)
    assert env == {}
