"""Exports people can find: where the dialog opens, what it remembers, the question before a file is
replaced, the WAV named after the transcript, and "Include times" where it means something."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from ui_support import build_window, done, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.settings import Settings
from app.settings.qt_store import ExportChoices
from app.ui.export_dialog import ExportDialog

pytestmark = pytest.mark.timeout(60)


def window_with_a_transcript(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es", "de")))
    w = parts.window
    w.show()
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    session = parts.factory.last
    session.final(make_turn(0, "Good morning."))
    session.translation(0, done("es", "Buenos días."))
    session.translation(0, done("de", "Guten Morgen."))
    qtbot.waitUntil(lambda: w.model.index(0, 3).data() == "Guten Morgen.", timeout=5000)
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()
    return parts


def open_export(qtbot, window) -> ExportDialog:  # type: ignore[no-untyped-def]
    window.activateWindow()
    window.view.setFocus()
    qtbot.waitUntil(window.view.hasFocus, timeout=2000)
    qtbot.keyClick(window.view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.export_dialog is not None and window.export_dialog.isVisible(), timeout=3000)
    return window.export_dialog  # type: ignore[no-any-return]


def test_the_first_export_opens_in_documents_and_the_next_where_the_last_one_went(qtbot, tmp_path,
                                                                                  private_user_dirs) -> None:
    documents = private_user_dirs / "Documents"
    documents.mkdir()
    parts = window_with_a_transcript(qtbot, tmp_path)
    w = parts.window
    dialog = open_export(qtbot, w)
    first = Path(dialog.path.text())
    assert first.parent == documents and first.name == f"{parts.factory.last.folder.name}-transcript.txt"
    assert dialog.timestamps.isEnabled() and dialog.timestamps.isChecked()
    elsewhere = tmp_path / "handouts"
    dialog.format.setCurrentIndex(dialog.format.findData("md"))
    dialog.original.setChecked(True)
    dialog.timestamps.setChecked(False)
    dialog.path.setText(str(elsewhere / "sync.md"))
    with qtbot.waitSignal(dialog.exported, timeout=5000):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    again = open_export(qtbot, w)
    assert again is not dialog
    assert again.format.currentData() == "md" and again.original.isChecked()
    assert not again.timestamps.isChecked()
    assert Path(again.path.text()).parent == elsewhere, "the folder of the last export"
    assert parts.settings_store.export_choices().folder == elsewhere
    again.reject()


def test_include_times_is_disabled_where_a_format_always_has_them_and_the_choice_comes_back(qtbot, tmp_path) -> None:
    dialog = ExportDialog([make_turn(0, "Hi.")], ("es",), metadata={}, base_name="talk", audio_path=None,
                          choices=ExportChoices(fmt="txt", timestamps=False, folder=tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.timestamps.isEnabled() and not dialog.timestamps.isChecked()
    for fmt in ("srt", "vtt", "json"):
        dialog.format.setCurrentIndex(dialog.format.findData(fmt))
        assert not dialog.timestamps.isEnabled() and dialog.timestamps.isChecked(), fmt
        assert "always" in dialog.timestamps.toolTip()
        assert dialog.options().timestamps
    dialog.format.setCurrentIndex(dialog.format.findData("md"))
    assert dialog.timestamps.isEnabled() and not dialog.timestamps.isChecked(), "the user's own choice again"
    assert Path(dialog.path.text()).name == "talk.md"


def test_replacing_a_file_is_asked_first_and_cancel_keeps_it(qtbot, tmp_path) -> None:
    old = tmp_path / "talk.txt"
    old.write_text("keep me", encoding="utf-8")
    dialog = ExportDialog([make_turn(0, "Hi.")], ("es",), metadata={}, base_name="talk", audio_path=None,
                          choices=ExportChoices(folder=tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    box = dialog.overwrite_question
    assert box is not None and box.isVisible() and "talk.txt" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert old.read_text(encoding="utf-8") == "keep me" and dialog.isVisible()
    assert "Nothing was replaced" in dialog.status.text()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    box = dialog.overwrite_question
    assert box is not None
    with qtbot.waitSignal(dialog.exported, timeout=5000):
        next(b for b in box.buttons() if b.text() == "Replace").click()
    assert old.read_text(encoding="utf-8").startswith("[00:00:00] Hi.")


def test_the_wav_is_named_after_the_transcript_until_named_by_hand(qtbot, tmp_path) -> None:
    wav = tmp_path / "session" / "audio.wav"
    wav.parent.mkdir()
    wav.write_bytes(b"RIFF$\x00\x00\x00WAVEfmt " + bytes(100))
    dialog = ExportDialog([make_turn(0, "Hi.")], ("es",), metadata={}, base_name="talk", audio_path=wav,
                          choices=ExportChoices(folder=tmp_path, copy_audio=True))
    qtbot.addWidget(dialog)
    assert dialog.copy_audio.isChecked() and dialog.audio_target.text() == str(tmp_path / "talk.wav")
    dialog.path.setText(str(tmp_path / "minutes" / "monday.txt"))
    assert dialog.audio_target.text() == str(tmp_path / "minutes" / "monday.wav"), "next to it, same name"
    dialog.format.setCurrentIndex(dialog.format.findData("srt"))
    assert dialog.audio_target.text() == str(tmp_path / "minutes" / "monday.wav")
    dialog.audio_target.clear()
    qtbot.keyClicks(dialog.audio_target, str(tmp_path / "raw.wav"))
    dialog.path.setText(str(tmp_path / "other.srt"))
    assert dialog.audio_target.text() == str(tmp_path / "raw.wav"), "a name typed by hand is kept"


def test_bilingual_subtitles_with_two_translations_say_they_are_two_files_and_write_them(qtbot, tmp_path) -> None:
    turn = make_turn(0, "Hi.")
    turn.translations = {"es": done("es", "Hola."), "de": done("de", "Hallo.")}
    dialog = ExportDialog([turn], ("es", "de"), metadata={"source_code": "en"}, base_name="talk", audio_path=None,
                          choices=ExportChoices(fmt="srt", folder=tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.split_note.isVisible() and "talk.es.srt, talk.de.srt" in dialog.split_note.text()
    dialog.original.setChecked(True)
    assert not dialog.split_note.isVisible()
    dialog.bilingual.setChecked(True)
    with qtbot.waitSignal(dialog.exported, timeout=5000) as written:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert written.args[0] == [tmp_path / "talk.es.srt", tmp_path / "talk.de.srt"]
    assert (tmp_path / "talk.de.srt").read_text(encoding="utf-8").splitlines()[2:4] == ["[en] Hi.", "[de] Hallo."]
