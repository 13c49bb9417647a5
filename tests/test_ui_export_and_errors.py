"""The Export dialog writes files that parse (and copies the WAV); the crash hook logs and shows one dialog."""
from __future__ import annotations

import json
import logging
import re
import sys
import threading

import pytest
from PySide6.QtWidgets import QMessageBox
from ui_support import build_window, done, failed, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.transcript import Gap
from app.settings.qt_store import ExportChoices
from app.ui.errors import CrashReporter
from app.ui.export_dialog import ExportDialog

pytestmark = pytest.mark.timeout(60)

SRT_CUE = re.compile(r"^\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n(?:.+\n)+$")


def entries():  # type: ignore[no-untyped-def]
    first, second = make_turn(0, "Good morning."), make_turn(1, "Thank you | all.", start_ms=9000)
    first.translations = {"es": done("es", "Buenos días."), "de": done("de", "Guten Morgen.")}
    second.translations = {"es": done("es", "Gracias a todos."), "de": failed("de")}
    return [first, Gap(3000, 8000, "connection lost"), second]


def export(qtbot, tmp_path, fmt: str, *, content: str = "bilingual", audio=None):  # type: ignore[no-untyped-def]
    dialog = ExportDialog(entries(), ("es", "de"), metadata={"title": "Weekly sync"},
                          choices=ExportChoices(folder=tmp_path), base_name="sync", audio_path=audio)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    {"bilingual": dialog.bilingual, "original": dialog.original, "translation": dialog.translation}[content].setChecked(True)
    if audio is not None:
        dialog.copy_audio.setChecked(True)
    with qtbot.waitSignal(dialog.exported, timeout=5000) as written:
        dialog.export_button.click()
    return dialog, written.args[0]


def test_json_export_parses_and_holds_both_translations_and_the_gap(qtbot, tmp_path) -> None:
    dialog, paths = export(qtbot, tmp_path, "json")
    assert paths == [tmp_path / "sync.json"]
    doc = json.loads(paths[0].read_text(encoding="utf-8"))
    assert [t["text"] for t in doc["turns"]] == ["Good morning.", "Thank you | all."]
    assert doc["turns"][0]["translations"]["de"]["text"] == "Guten Morgen."
    assert doc["turns"][1]["translations"]["de"]["status"] == "failed"
    assert doc["gaps"] == [{"start_ms": 3000, "end_ms": 8000, "reason": "connection lost"}]
    assert not dialog.isVisible()


def test_srt_export_of_one_translation_is_well_formed(qtbot, tmp_path) -> None:
    _, paths = export(qtbot, tmp_path, "srt", content="translation")
    text = paths[0].read_text(encoding="utf-8")
    cues = [c + "\n" for c in text.strip().split("\n\n")]
    assert len(cues) == 3 and all(SRT_CUE.match(c) for c in cues)
    assert "Buenos días." in cues[0] and "Gracias a todos." in cues[2] and "Good morning." not in text


def test_vtt_and_markdown_and_text_exports_parse(qtbot, tmp_path) -> None:
    _, (vtt_es, vtt_de) = export(qtbot, tmp_path, "vtt")  # bilingual: one file per translation
    assert (vtt_es.name, vtt_de.name) == ("sync.es.vtt", "sync.de.vtt")
    assert vtt_es.read_text(encoding="utf-8").startswith("WEBVTT\n\n00:00:00.000 --> ")
    assert "[original] Good morning.\n[de] Guten Morgen." in vtt_de.read_text(encoding="utf-8")
    _, (md,) = export(qtbot, tmp_path, "md")
    rows = [line for line in md.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    assert rows[0] == "| Time | Original | Spanish | German |"
    assert all(len(re.findall(r"(?<!\\)\|", r)) == 5 for r in rows), "every row has the same columns"
    _, (txt,) = export(qtbot, tmp_path, "txt", content="original")
    assert txt.read_text(encoding="utf-8").splitlines()[0] == "[00:00:00] Good morning."


def test_export_copies_the_recording_where_the_user_says(qtbot, tmp_path) -> None:
    wav = tmp_path / "session" / "audio.wav"
    wav.parent.mkdir()
    wav.write_bytes(b"RIFF$\x00\x00\x00WAVEfmt " + bytes(100))
    _, paths = export(qtbot, tmp_path, "txt", audio=wav)
    assert paths == [tmp_path / "sync.txt", tmp_path / "sync.wav"]
    assert (tmp_path / "sync.wav").read_bytes() == wav.read_bytes()


def test_an_unwritable_export_target_is_reported_in_the_dialog(qtbot, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    dialog = ExportDialog(entries(), ("es",), metadata={}, choices=ExportChoices(folder=tmp_path), base_name="x",
                          audio_path=None)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.path.setText(str(blocker / "inside" / "t.txt"))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: "Could not write" in dialog.status.text(), timeout=5000)
    assert dialog.isVisible() and dialog.export_button.isEnabled()
    assert not dialog.copy_audio.isEnabled(), "no recording yet: nothing to copy"


def test_ctrl_e_opens_export_for_the_transcript_on_screen(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path)
    w = parts.window
    assert w.open_export() is None and "Nothing to export" in w.status.message_label.text()
    w.model.set_languages(("es", "de"))
    for entry in entries():
        (w.model.add_gap if isinstance(entry, Gap) else w.model.add_turn)(entry)
    dialog = w.open_export()
    assert dialog is not None and dialog.isVisible()
    assert dialog.translation_language.count() == 2
    dialog.reject()


# --- the global exception hook ------------------------------------------------------------------


def test_an_unexpected_exception_is_logged_and_shown_once_naming_the_log_file(qtbot, tmp_path, caplog) -> None:
    log_file = tmp_path / "live-translate.log"
    reporter = CrashReporter(log_file, lambda: None)
    reporter.install()
    try:
        with caplog.at_level(logging.ERROR, logger="app.crash"):
            for n in range(5):  # a flood, from the GUI thread and from a worker thread
                try:
                    raise ValueError(f"bug number {n}")
                except ValueError:
                    sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
            worker = threading.Thread(target=lambda: 1 / 0, name="worker")
            worker.start()
            worker.join()
            qtbot.waitUntil(lambda: reporter.dialog is not None, timeout=5000)
            qtbot.waitUntil(lambda: reporter.suppressed == 5, timeout=5000)
    finally:
        reporter.uninstall()
    assert reporter.dialogs_shown == 1
    box = reporter.dialog
    assert isinstance(box, QMessageBox) and str(log_file) in box.text()
    assert sum("bug number" in r.getMessage() for r in caplog.records) == 5
    assert any("ZeroDivisionError" in r.getMessage() and "worker" in r.getMessage() for r in caplog.records)
    box.close()
    assert sys.excepthook is not reporter._sys_hook


def test_the_key_in_an_exception_reaches_neither_the_crash_dialog_nor_the_log_file(qtbot, tmp_path) -> None:
    from app.logsetup import REDACTED, redactor, setup_logging

    secret = "sk-crash-SECRET-0123456789"
    log_file = setup_logging(tmp_path / "log", console_level=None)
    redactor.add(secret)
    reporter = CrashReporter(log_file, lambda: None)
    reporter.install()
    try:
        try:
            raise RuntimeError(f"handshake failed with headers {{'Authorization': '{secret}'}}")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
        qtbot.waitUntil(lambda: reporter.dialog is not None, timeout=5000)
    finally:
        reporter.uninstall()
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "baseFilename", None) == str(log_file):
                logging.getLogger().removeHandler(handler)
                handler.close()
        redactor.secrets.discard(secret)
    box = reporter.dialog
    assert box is not None
    shown = box.text() + box.informativeText() + box.detailedText()
    assert secret not in shown and REDACTED in shown
    logged = log_file.read_text(encoding="utf-8")
    assert secret not in logged and REDACTED in logged
    box.close()


def test_the_window_title_never_carries_the_key(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, key="sk-title-SECRET-0123456789")
    window = parts.window
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Live Translate"
    window.close()  # closed before the test drops its last reference (qtbot only keeps a weak one)
