"""Help ▸ How to use, Keyboard shortcuts, Where files are kept: one small dialog with three tabs.

GUI thread; widgets only. The shortcuts are read from the window's own actions when the dialog
opens, so the list never disagrees with what the keys do; the few keys that belong to a widget (the
language picker, Ctrl+wheel) are added by the window. Where files are kept: each place with its
path (selectable), a Copy button, and Open, which the window answers (``open_requested``), so a
missing file manager is said in one place. About (version, licences) comes with the packaging.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

__all__ = ["HOW_TO", "WIDGET_KEYS", "HelpDialog", "HelpMenu", "Place", "shortcut_rows"]

HOW_TO = """
<h3>Live Translate in five steps</h3>
<ol>
<li><b>The API key.</b> Settings (<i>Ctrl+,</i>) → API key → <i>Test key</i> → Save. It is kept in the
system keyring; where there is none, tick <i>Keep the key in a file only you can read</i> (or set
ASSEMBLYAI_API_KEY). In a terminal: <code>live-translate key set</code>.</li>
<li><b>Choose</b> the Microphone, the Spoken language (it picks a speech model that hears it) and the
languages under <i>Translate to</i> (each adds a column).</li>
<li><b>Record</b> (<i>Ctrl+R</i>) and speak. The words appear as they are heard, muted until the turn
is finished; its translations fill in beside it. The level bar under Record shows the microphone is
heard.</li>
<li><b>Stop</b> (<i>Ctrl+R</i> again): the last turn is still translated, then the session (recording
and transcript) is saved; the status bar links to its folder.</li>
<li><b>Export</b> (<i>Ctrl+E</i>): TXT, SRT, VTT, JSON or Markdown, original, one translation or both,
and the recording as WAV.</li>
</ol>
<p>A cell that reads <i>not translated — retry</i>: click it. Right-click a row to copy it. Who
speaks (Settings → Speakers, on the models that label them) shows in a <i>Who</i> column: right-click
or double-click a name to rename it for the session. Without a
window: <code>live-translate --headless --to es</code> (<code>--help</code> lists the options).</p>
"""


# Keys that belong to a widget rather than to an action of the window.
WIDGET_KEYS = (
    ("Choose target languages", ("Type to search, ↑/↓ to move, Enter or Space to tick, Tab between search and "
                                "list, Esc to close")),
    ("Text size", "Ctrl+wheel over the transcript"),
    ("Menus", "Alt+the underlined letter (Alt+F, Alt+S, Alt+V, Alt+H)"),
)


@dataclass(frozen=True)
class Place:
    label: str  # "Sessions", "Log file"
    path: Path
    note: str = ""  # what is there


def shortcut_rows(actions: Sequence[QAction], extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(what, keys) for every action with a shortcut, in the order given, then ``extra``."""
    rows = []
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if _typed(k)]
        if keys:
            rows.append((action.text().replace("&", "").rstrip("…"), ", ".join(dict.fromkeys(keys))))
    return [*rows, *extra]


def _typed(keys: QKeySequence) -> bool:
    """A combination people type (Ctrl+R, F1), not a dedicated key some keyboards have ("Zoom In")."""
    text = keys.toString(QKeySequence.SequenceFormat.PortableText)
    return bool(text) and ("+" in text[1:] or re.fullmatch(r"F\d+", text) is not None)


class HelpDialog(QDialog):
    open_requested = Signal(object)  # Path: a folder to show in the file manager

    TABS = ("How to use", "Keyboard", "Files")

    def __init__(self, shortcuts: Sequence[tuple[str, str]], places: Sequence[Place],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Live Translate Help")
        self.tabs = QTabWidget(self)
        how = QTextBrowser()
        how.setHtml(HOW_TO)
        how.setOpenExternalLinks(False)
        self.how_to = how
        self.tabs.addTab(how, self.TABS[0])

        table = QTableWidget(len(shortcuts), 2)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        for row, (what, keys) in enumerate(shortcuts):
            table.setItem(row, 0, QTableWidgetItem(what))
            table.setItem(row, 1, QTableWidgetItem(keys))
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        table.setWordWrap(True)
        table.resizeRowsToContents()
        self.shortcuts = table
        self.tabs.addTab(table, self.TABS[1])

        files = QWidget()
        grid = QGridLayout(files)
        self.place_labels: dict[str, QLabel] = {}
        for row, place in enumerate(places):
            name = QLabel(f"<b>{html.escape(place.label)}</b>")
            path = QLabel(html.escape(str(place.path)) + (f"<br><small>{html.escape(place.note)}</small>"
                                                          if place.note else ""))
            path.setWordWrap(True)
            path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.place_labels[place.label] = path
            copy = QPushButton("Copy")
            copy.setToolTip(f"Put {place.path} on the clipboard")
            copy.clicked.connect(lambda _checked=False, p=place.path: self._copy(p))
            show = QPushButton("Open")
            folder = place.path if place.path.is_dir() or not place.path.suffix else place.path.parent
            show.setToolTip(f"Show {folder} in the file manager")
            show.clicked.connect(lambda _checked=False, p=folder: self.open_requested.emit(p))
            grid.addWidget(name, row, 0)
            grid.addWidget(path, row, 1)
            grid.addWidget(copy, row, 2)
            grid.addWidget(show, row, 3)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(len(places), 1)
        self.tabs.addTab(files, self.TABS[2])

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.resize(640, 520)

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(self.TABS.index(name))
        self.show()
        self.raise_()
        self.activateWindow()

    @Slot()
    def _copy(self, path: Path) -> None:
        QGuiApplication.clipboard().setText(str(path))


class HelpMenu(QObject):
    """The Help menu's actions (F1 for the how-to) and the one help dialog they open."""

    open_requested = Signal(object)  # Path: a folder to show in the file manager

    def __init__(self, window: QWidget, menu: QMenu, *, shortcuts: Callable[[], Sequence[tuple[str, str]]],
                 places: Callable[[], Sequence[Place]]) -> None:
        super().__init__(window)
        self._window = window
        self._shortcuts = shortcuts
        self._places = places
        self.dialog: HelpDialog | None = None
        self.actions: list[QAction] = []
        for text, tab, keys in (("How to use Live Translate", "How to use", QKeySequence.StandardKey.HelpContents),
                                ("Keyboard shortcuts", "Keyboard", None), ("Where files are kept", "Files", None)):
            action = QAction(text, window)
            if keys is not None:
                action.setShortcut(QKeySequence(keys))
            action.triggered.connect(partial(self.open, tab))
            window.addAction(action)  # the shortcut works wherever the focus is in the window
            menu.addAction(action)
            self.actions.append(action)

    def open(self, tab: str) -> HelpDialog:
        if self.dialog is None:
            self.dialog = HelpDialog(self._shortcuts(), self._places(), parent=self._window)
            self.dialog.open_requested.connect(self.open_requested)
        self.dialog.show_tab(tab)
        return self.dialog
