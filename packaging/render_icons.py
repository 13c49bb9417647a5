"""Render the app's icon, ``resources/live-translate.svg``, into the PNG sizes desktops look for.

Run by ``packaging/build`` and ``packaging/install-desktop`` with the checkout's ``.venv`` (Qt's
own SVG renderer, QtSvg, comes with PySide6-Essentials; no system tool is needed). Writes the
freedesktop hicolor layout, ``<out>/hicolor/<N>x<N>/apps/live-translate.png``, plus the SVG itself
as ``hicolor/scalable/apps/live-translate.svg``. Runs on the main thread of its own process; no
display is needed (the offscreen platform is used unless one is set).

    .venv/bin/python packaging/render_icons.py [OUT]     (default: resources/icons)
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.resources import ICON_NAME, ICON_SVG, RESOURCES  # noqa: E402 - the checkout's app, after sys.path

# The sizes of the hicolor theme that menus, docks, task switchers and software centres ask for.
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, out: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Render ``svg`` at each size into ``out``'s hicolor tree; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not an SVG that Qt can render; fix it and build again.")
    written: list[Path] = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"Could not write {path}: is the folder writable?")
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else RESOURCES / "icons"
    files = render(ICON_SVG, out)
    print(f"rendered {len(files) - 1} PNG sizes and the SVG into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
