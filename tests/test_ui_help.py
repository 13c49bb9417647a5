"""Help: F1 opens a short how-to; the shortcuts listed are the window's own (so they never drift);
and where sessions, the archive, the log, the settings and the key file are, with Copy and Open."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QLabel, QPushButton
from ui_support import build_window, qt_hygiene  # noqa: F401 - autouse fixture

from app.ui.help import Place

pytestmark = pytest.mark.timeout(60)


def help_window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    files = [Place("Session archive", tmp_path / "data" / "sessions.db", "Every session's transcript."),
             Place("Log file", tmp_path / "state" / "log" / "live-translate.log", "Attach it to a report.")]
    parts = build_window(qtbot, tmp_path, files=files)
    w = parts.window
    w.show()
    qtbot.waitExposed(w)
    w.view.setFocus()
    qtbot.waitUntil(w.view.hasFocus, timeout=2000)
    return parts


def test_the_help_menu_and_f1_open_the_how_to(qtbot, tmp_path) -> None:
    w = help_window(qtbot, tmp_path).window
    titles = [a.text() for a in w.menuBar().actions()]
    assert titles[-1] == "&Help", "the last menu, as in every desktop app"
    help_menu = w.menuBar().actions()[-1].menu()
    assert [a.text() for a in help_menu.actions()] == ["How to use Live Translate", "Keyboard shortcuts",
                                                       "Where files are kept", "", "About Live Translate"]
    qtbot.keyClick(w.view, Qt.Key.Key_F1)
    dialog = w.help.dialog
    assert dialog is not None and dialog.isVisible() and dialog.tabs.currentIndex() == 0
    text = dialog.how_to.toPlainText()
    assert "Record (Ctrl+R)" in text and "live-translate key set" in text and "Export (Ctrl+E)" in text
    dialog.close()


def test_the_shortcuts_listed_are_the_ones_the_window_answers_to(qtbot, tmp_path) -> None:
    w = help_window(qtbot, tmp_path).window
    dialog = w.help.open("Keyboard")
    table = dialog.shortcuts
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    native = QKeySequence.SequenceFormat.NativeText
    assert rows["Record / Stop"] == QKeySequence("Ctrl+R").toString(native)
    assert QKeySequence("Ctrl+=").toString(native) in rows["Larger text"]
    assert rows["Normal text size"] == QKeySequence("Ctrl+0").toString(native)
    assert rows["Copy the whole transcript"] == QKeySequence("Ctrl+Shift+C").toString(native)
    assert rows["Quit"] == QKeySequence("Ctrl+Q").toString(native)
    assert rows["How to use Live Translate"] == "F1" and "Enter or Space to tick" in rows["Choose target languages"]
    for action in w.actions():  # every shortcut of the window is in the list
        for keys in action.shortcuts():
            text = keys.toString(native)
            if "+" in text[1:] or text.startswith("F"):
                assert text in rows[action.text().replace("&", "").rstrip("…")], action.text()
    dialog.close()


def test_where_files_are_kept_names_each_place_copies_it_and_says_where_when_none_opens(qtbot, tmp_path) -> None:
    parts = help_window(qtbot, tmp_path)
    w = parts.window
    dialog = w.help.open("Files")
    assert dialog.tabs.currentIndex() == 2
    shown = {name: label.text() for name, label in dialog.place_labels.items()}
    assert list(shown) == ["Sessions", "Session archive", "Log file", "Settings", "API key file"]
    assert str(tmp_path / "sessions") in shown["Sessions"]
    assert str(parts.ini) in shown["Settings"] and "never the API key" in shown["Settings"]
    assert str(parts.key_store.key_file()) in shown["API key file"]
    files_tab = dialog.tabs.widget(2)
    buttons = files_tab.findChildren(QPushButton)
    copy = next(b for b in buttons if b.text() == "Copy" and "live-translate.log" in b.toolTip())
    qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == str(tmp_path / "state" / "log" / "live-translate.log")
    (tmp_path / "state" / "log").mkdir(parents=True)
    open_log = next(b for b in buttons if b.text() == "Open" and str(tmp_path / "state" / "log") in b.toolTip())
    qtbot.mouseClick(open_log, Qt.MouseButton.LeftButton)
    assert "No file manager could be opened" in w.status.message_label.text()
    assert str(tmp_path / "state" / "log") in w.status.message_label.text()
    assert all(isinstance(label, QLabel) for label in dialog.place_labels.values())
    dialog.close()
