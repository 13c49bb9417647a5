"""Help ▸ About: the version, and the software Live Translate is built from with its licences.

GUI thread. The list comes from ``app.core.credits`` (the Debian package's copyright file is
written from the same list); versions are read from the installed packages' metadata when the
dialog opens, which is quick.
"""
from __future__ import annotations

import html
import platform

from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from app import __version__
from app.core.credits import APP_LICENCE, COMPONENTS, python_packages
from app.core.resources import ICON_NAME, ICON_SVG

TITLE = "About Live Translate"
LGPL_URL = "https://www.gnu.org/licenses/lgpl-3.0.html"


def app_icon() -> QIcon:
    """The icon theme's Live Translate icon where one is installed, else the SVG in resources/."""
    fallback = QIcon(str(ICON_SVG)) if ICON_SVG.exists() else QIcon()
    return QIcon.fromTheme(ICON_NAME, fallback)


def credits_html() -> str:
    """The licences as rich text: the named parts with their role, then every Python package."""
    runtime = {"Qt 6": qVersion(), "Python": platform.python_version()}
    rows = []
    for c in COMPONENTS:
        version = c.version() or runtime.get(c.name, "")
        rows.append(f"<tr><td><a href='{html.escape(c.url)}'>{html.escape(c.name)}</a> {html.escape(version)}</td>"
                    f"<td>{html.escape(c.licence)}</td><td>{html.escape(c.role)}</td></tr>")
    packages = ", ".join(f"{html.escape(p.name)} {html.escape(p.version)} ({html.escape(p.licence)})"
                         for p in python_packages())
    return (
        "<p>Live Translate uses these free and open-source parts:</p>"
        "<table cellspacing='0' cellpadding='3'>"
        "<tr><th align='left'>Part</th><th align='left'>Licence</th><th align='left'>What it does here</th></tr>"
        + "".join(rows) + "</table>"
        "<p>Qt, PySide6 and shiboken6 are used under the GNU Lesser General Public License v3 and are "
        "linked dynamically: their libraries are separate files that can be replaced by your own "
        f"build (<a href='{LGPL_URL}'>the licence</a>; on Debian and Ubuntu also "
        "/usr/share/common-licenses/LGPL-3).</p>"
        f"<p>Python packages included: {packages or 'none found'}.</p>"
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.resize(640, 520)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        self.heading = QLabel(
            f"<h2>Live Translate {html.escape(__version__)}</h2>"
            "<p>Live transcription and translation of speech with AssemblyAI's Universal Streaming "
            f"and LLM Gateway. Released under the {APP_LICENCE} licence.</p>")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.heading, 1)
        self.credits = QTextBrowser()
        self.credits.setOpenExternalLinks(True)
        self.credits.setHtml(credits_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.credits, 1)
        layout.addWidget(buttons)
