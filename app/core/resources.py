"""Where the app's resource files are (its icon; later the caption page's static files).

The ``resources/`` folder sits beside the ``app`` package both in a checkout and in the frozen
build, where PyInstaller places the package's modules and the copied ``resources/`` tree in the
same folder (``sys._MEIPASS``). A wheel installed by pip carries no resources: callers treat a
missing file as optional. Pure Python; any thread.
"""
from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent.parent / "resources"
ICON_NAME = "live-translate"  # the icon theme name, as the .desktop file and the hicolor files use it
ICON_SVG = RESOURCES / f"{ICON_NAME}.svg"
