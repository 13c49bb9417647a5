"""Who said it, in the window: the Speakers option in Settings (only for the models that label
speakers, otherwise disabled with the reason), the "Who" column (speakers, You / Them) that is
there only when the session has one, renaming for the session (kept with it, in its exports and
the History), a revision relabelling the row in place, each original's detected language and a
cell that is the original because the turn was already in that language. Real widgets, offscreen,
on the scripted fake session (tests/ui_support.py) or a real archive."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from ui_support import build_window, done, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.exports import Content, ExportOptions, render, write_session_exports
from app.core.settings import Settings
from app.core.transcript import SAME_LANGUAGE, SYSTEM_AUDIO, Transcript, Translation, TranslationStatus, Turn
from app.core.who import Kind, Names
from app.pipeline.archive import Archive
from app.store.db import SessionStore
from app.ui.main_window import MainWindow
from app.ui.rename_dialog import RenameDialog
from app.ui.session_pane import Services, SessionPane
from app.ui.settings_dialog import SettingsDialog
from app.ui.transcript_model import CellState, Role, TranscriptModel


def who_texts(model: TranscriptModel) -> list[str]:
    col = model.who_column
    assert col is not None, "no Who column"
    return [str(model.index(r, col).data() or "") for r in range(model.rowCount()) if not model.is_gap_row(r)]


def headers(model: TranscriptModel) -> list[str]:
    return [str(model.headerData(c, Qt.Orientation.Horizontal)) for c in range(model.columnCount())]


def said(turn: Turn, **changes: object) -> Turn:
    return dataclasses.replace(turn, **changes)  # type: ignore[arg-type]


def answer(dialog: RenameDialog, name: str) -> None:
    dialog.name_edit.setText(name)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def recording(qtbot, tmp_path: Path, settings: Settings):  # type: ignore[no-untyped-def]
    parts = build_window(qtbot, tmp_path, settings=settings)
    w: MainWindow = parts.window  # type: ignore[assignment]
    w.show()
    w.toggle_recording()
    qtbot.waitUntil(lambda: bool(parts.factory.sessions), timeout=5000)
    return parts, w, parts.factory.last


def test_speakers_show_in_a_who_column_are_renamed_and_relabelled_in_place(qtbot, tmp_path) -> None:
    settings = Settings(targets=("es",), speakers=True, speech_model="universal-streaming-english")
    parts, w, fake = recording(qtbot, tmp_path, settings)
    assert headers(w.model) == ["Time", "Who", "Original", "Spanish", "Delay"], "asked for: there from the start"
    first = said(make_turn(0, "Good morning, I will chair today."), speaker="A")
    fake.final(first)
    fake.final(said(make_turn(1, "Thank you, the figures are ready."), speaker="B"))
    fake.final(said(make_turn(2, "Then let us begin."), speaker="A"))
    fake.translation(0, done("es", "Buenos días, presidiré hoy."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 3, timeout=5000)
    assert who_texts(w.model) == ["A", "B", "A"]
    assert w.model.index(0, 2).data() == "Good morning, I will chair today.", "the original is where it was"
    qtbot.waitUntil(lambda: w.model.index(0, 3).data() == "Buenos días, presidiré hoy.", timeout=5000)

    fake.push(lambda listener: listener.turn_revised(said(make_turn(2, "Then let us begin."), speaker="C")))
    qtbot.waitUntil(lambda: who_texts(w.model)[2] == "C", timeout=5000)
    assert w.model.rowCount() == 3, "relabelled in place, no new row"

    menu = w.view.build_menu(w.model.index(1, 2))
    rename = next(a for a in menu.actions() if a.text() == "Rename speaker B…")
    rename.trigger()
    dialog = w.view.rename_dialog
    assert dialog is not None and dialog.isVisible() and dialog.name_edit.text() == "B"
    answer(dialog, "Bruno")
    assert who_texts(w.model) == ["A", "Bruno", "C"]
    qtbot.waitUntil(lambda: fake.names == [Names({}, {"B": "Bruno"})], timeout=5000)  # kept with the session
    assert "Bruno" in str(w.model.index(1, 1).data(Qt.ItemDataRole.ToolTipRole))

    w.view.doubleClicked.emit(w.model.index(0, 1))  # double-click a Who cell
    assert w.view.rename_dialog is not None and w.view.rename_dialog.name_edit.text() == "A"
    answer(w.view.rename_dialog, "Ana")
    copied = w.view.transcript_text(None, Content.ORIGINAL)
    assert copied.splitlines()[:2] == ["[00:00:00] Ana: Good morning, I will chair today.",
                                       "[00:00:04] Bruno: Thank you, the figures are ready."]

    dialog_export = w.open_export()
    assert dialog_export is not None
    options = dialog_export.options()
    assert dialog_export.summary.text() == "3 turns to export, each with who said it (Ana, Bruno, C)."
    vtt = render("vtt", w.model.entries(), dataclasses.replace(options, content=Content.ORIGINAL))
    assert re.findall(r"<v ([^>]+)>", vtt) == ["Ana", "Bruno", "C"]
    dialog_export.close()
    with qtbot.waitSignal(parts.controller.session_ended, timeout=10000):
        w.toggle_recording()


def test_a_session_without_speakers_or_sides_has_no_who_column(qtbot, tmp_path) -> None:
    parts, w, fake = recording(qtbot, tmp_path, Settings(targets=("es",)))
    fake.final(make_turn(0, "Hello there."))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    assert headers(w.model) == ["Time", "Original", "Spanish", "Delay"] and w.model.who_column is None
    assert not [a for a in w.view.build_menu(w.model.index(0, 1)).actions() if a.text().startswith("Rename")]
    with qtbot.waitSignal(parts.controller.session_ended, timeout=10000):
        w.toggle_recording()


def test_the_other_side_appears_as_them_and_both_names_are_editable(qtbot, tmp_path) -> None:
    parts, w, fake = recording(qtbot, tmp_path, Settings(targets=("es",)))
    fake.final(make_turn(0, "Can you hear me?"))
    qtbot.waitUntil(lambda: w.model.turn_count() == 1, timeout=5000)
    assert w.model.who_column is None, "one microphone, no speakers: nothing extra"
    fake.final(said(make_turn(1, "Yes, loud and clear."), side=SYSTEM_AUDIO, speaker="B"))
    qtbot.waitUntil(lambda: w.model.turn_count() == 2, timeout=5000)
    assert headers(w.model)[:3] == ["Time", "Who", "Original"], "the column appears with the other side"
    assert who_texts(w.model) == ["You", "Them · B"]
    titles = [a.text() for a in w.view.build_menu(w.model.index(1, 2)).actions()]
    assert "Rename “Them”…" in titles and "Rename speaker B…" in titles
    w.view.rename(Kind.SIDE, SYSTEM_AUDIO)
    assert w.view.rename_dialog is not None
    answer(w.view.rename_dialog, "Berlin office")
    w.view.rename(Kind.SIDE, "microphone")
    answer(w.view.rename_dialog, "Me")
    assert who_texts(w.model) == ["Me", "Berlin office · B"]
    w.view.rename(Kind.SIDE, "microphone")
    answer(w.view.rename_dialog, "")  # empty: the default again
    assert who_texts(w.model)[0] == "You"
    with qtbot.waitSignal(parts.controller.session_ended, timeout=10000):
        w.toggle_recording()


def test_a_multilingual_session_shows_each_turns_language_and_the_cells_not_sent(qtbot, tmp_path) -> None:
    settings = Settings(targets=("es", "de"), speech_model="universal-streaming-multilingual")
    parts, w, fake = recording(qtbot, tmp_path, settings)
    fake.final(said(make_turn(0, "Guten Morgen zusammen."), language_code="de"))
    fake.final(said(make_turn(1, "Buenos días a todos."), language_code="es"))
    fake.translation(1, Translation("es", "Buenos días a todos.", TranslationStatus.DONE, SAME_LANGUAGE, 0))
    fake.translation(1, done("de", "Guten Morgen allerseits."))
    qtbot.waitUntil(lambda: w.model.index(1, 3).data() == "Guten Morgen allerseits.", timeout=5000)
    original = w.model.original_column
    assert [w.model.index(r, original).data(Role.LANGUAGE_TAG) for r in (0, 1)] == ["de", "es"]
    assert w.model.index(0, original).data(Qt.ItemDataRole.ToolTipRole) == "Heard as German (de)"
    copied = w.model.index(1, w.model.language_column("es"))
    assert copied.data() == "Buenos días a todos." and copied.data(Role.CELL_STATE) == CellState.COPIED
    assert copied.data(Qt.ItemDataRole.ToolTipRole) == "Already in Spanish — not sent to the LLM"
    assert w.model.index(1, w.model.language_column("de")).data(Role.CELL_STATE) == CellState.NORMAL
    w.view.resize(900, 400)
    assert w.view.sizeHintForRow(0) > 0  # the tag is laid out with the text
    with qtbot.waitSignal(parts.controller.session_ended, timeout=10000):
        w.toggle_recording()
    english = recording(qtbot, tmp_path / "en", Settings(targets=("es",)))
    english[2].final(said(make_turn(0, "Hello."), language_code="en"))
    qtbot.waitUntil(lambda: english[1].model.turn_count() == 1, timeout=5000)
    assert english[1].model.index(0, 1).data(Role.LANGUAGE_TAG) is None, "one language: no tag"
    with qtbot.waitSignal(english[0].controller.session_ended, timeout=10000):
        english[1].toggle_recording()


def test_the_speakers_option_follows_the_models_flag(qtbot, tmp_path) -> None:
    from app.settings.keystore import KeyStore

    status = KeyStore(environ={"ASSEMBLYAI_API_KEY": "k"}).load()
    dialog = SettingsDialog(Settings(speech_model="whisper-rt", speakers=True, max_speakers=4), status,
                            keyring_available=True, default_sessions_dir=tmp_path)
    qtbot.addWidget(dialog)
    assert not dialog.speakers.isEnabled() and not dialog.max_speakers.isEnabled()
    assert dialog.speakers_note.text() == ("Whisper (whisper-rt) does not tell speakers apart: choose another speech "
                                           "model to label them.")
    assert dialog.speakers.toolTip() == dialog.speakers_note.text()
    dialog.speech_model.setCurrentIndex(dialog.speech_model.findData("universal-streaming-english"))
    assert dialog.speakers.isEnabled() and dialog.max_speakers.isEnabled() and dialog.speakers_note.isHidden()
    assert dialog.max_speakers.value() == 4
    dialog.speakers.setChecked(False)
    assert not dialog.max_speakers.isEnabled()
    dialog.speakers.setChecked(True)
    dialog.max_speakers.setValue(0)
    assert dialog.max_speakers.text() == "any number"
    chosen = dialog.result_settings()
    assert (chosen.speakers, chosen.max_speakers, chosen.speech_model) == (True, None, "universal-streaming-english")
    dialog.max_speakers.setValue(3)
    assert dialog.result_settings().max_speakers == 3


def test_a_kept_session_is_renamed_in_the_history_and_its_files_follow(qtbot, tmp_path) -> None:
    folder = tmp_path / "sessions" / "2026-12-02_10-00-00"
    folder.mkdir(parents=True)
    (folder / "audio.wav").write_bytes(b"")
    t = Transcript()
    for i, (text, speaker) in enumerate([("We start now.", "A"), ("Fine by me.", "B"), ("Good.", "A")]):
        t.add_turn(said(make_turn(i, text), speaker=speaker, translations={"es": done("es", f"[es] {text}")}))
    write_session_exports(folder, t.entries(), ["es"], {"title": "Standup", "speech_model": "universal-streaming-english"})
    with SessionStore(tmp_path / "sessions.db") as store:
        archive = Archive(store)
        session_id = archive.import_folder(folder).session_id
        pane = SessionPane(archive, Services(Settings, dict, lambda: tmp_path / "sessions"))
        qtbot.addWidget(pane)
        pane.show_session(archive.load(session_id))
        assert who_texts(pane.model) == ["A", "B", "A"]
        pane.view.rename(Kind.SPEAKER, "A")
        assert pane.view.rename_dialog is not None
        with qtbot.waitSignal(pane.changed, timeout=10000):
            answer(pane.view.rename_dialog, "Ana")
        assert who_texts(pane.model) == ["Ana", "B", "Ana"]
        assert archive.load(session_id).names == Names({}, {"A": "Ana"})
        vtt = (folder / "transcript.vtt").read_text(encoding="utf-8")
        assert re.findall(r"<v ([^>]+)>", vtt)[::2] == ["Ana", "B", "Ana"], "the folder's files follow"
        md = (folder / "transcript.md").read_text(encoding="utf-8")
        assert "| Time | Who | Original | Spanish |" in md and "| Ana |" in md
        doc = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
        assert doc["session"]["names"] == {"sides": {}, "speakers": {"A": "Ana"}}
        again = SessionPane(archive, Services(Settings, dict, lambda: tmp_path / "sessions"))
        qtbot.addWidget(again)
        again.show_session(archive.load(session_id))
        assert who_texts(again.model) == ["Ana", "B", "Ana"], "opened again: the names are the session's"
        exported = render("srt", again.model.entries(), ExportOptions(Content.TRANSLATION, ("es",), True,
                                                                      archive.load(session_id).metadata()))
        assert exported.split("\n\n")[0].splitlines()[2] == "Ana: [es] We start now."
        # imported elsewhere, the names come along
        with SessionStore(tmp_path / "other.db") as other:
            moved = Archive(other)
            assert moved.load(moved.import_folder(folder).session_id).names == Names({}, {"A": "Ana"})
        from app.workers.threads import wait_for_owned_threads

        assert wait_for_owned_threads(10000)



def test_a_recovered_session_shows_its_names_and_a_rename_there_is_kept(qtbot, tmp_path) -> None:
    from app.gui import recovery_loader
    from app.pipeline.recovery import recover_unfinished

    folder = tmp_path / "sessions" / "2026-12-02_09-00-00"
    folder.mkdir(parents=True)
    (folder / "audio.wav").write_bytes(b"")
    with SessionStore(tmp_path / "sessions.db") as store:
        rec = store.create_session(folder=folder, audio_path=folder / "audio.wav", source_language=None,
                                   speech_model="universal-streaming-english", target_languages=["es"], llm_model="m")
        store.add_turn(rec.id, said(make_turn(0, "Shall we?"), speaker="A"))
        store.add_turn(rec.id, said(make_turn(1, "Yes."), speaker="B"))
        store.set_meta(rec.id, names=Names({}, {"A": "Ana"}).to_json())
        store.release(rec.uid)  # the process that recorded it died
        [recovered] = recover_unfinished(store)
        archive = Archive(store)
        parts = build_window(qtbot, tmp_path, recovery_loader=recovery_loader(archive), archive=archive)
        w: MainWindow = parts.window  # type: ignore[assignment]
        w.show()
        w.offer_recovered([recovered])
        next(b for b in w.recovery_banner.buttons if b.text() == "Show transcript").click()
        qtbot.waitUntil(lambda: w.model.turn_count() == 2, timeout=5000)
        assert who_texts(w.model) == ["Ana", "B"]
        w.view.rename(Kind.SPEAKER, "B")
        assert w.view.rename_dialog is not None
        answer(w.view.rename_dialog, "Bea")
        qtbot.waitUntil(lambda: not w.session_names.busy, timeout=10000)
        assert archive.load(rec.id).names == Names({}, {"A": "Ana", "B": "Bea"})
        assert re.findall(r"<v ([^>]+)>", (folder / "transcript.vtt").read_text(encoding="utf-8"))[::2] == \
            ["Ana", "Bea"]
        from app.workers.threads import wait_for_owned_threads

        assert wait_for_owned_threads(10000)


MEETING = [  # (who, language, original, Spanish or the original itself)
    ("A", "en", "Good morning, everyone. Let's go through the launch plan for the Madrid office.",
     "Buenos días a todos. Repasemos el plan de lanzamiento para la oficina de Madrid."),
    ("B", "es", "Perfecto, tengo las cifras del primer trimestre aquí.", None),
    ("A", "en", "Great. Could you share them with the team after the call?",
     "Genial. ¿Podrías compartirlas con el equipo después de la llamada?"),
    ("C", "de", "Ich kann die deutsche Version der Präsentation vorbereiten.",
     "Puedo preparar la versión alemana de la presentación."),
]


def test_screenshot_of_a_meeting_with_speakers_and_languages(qtbot, tmp_path) -> None:
    import os
    import shutil

    from ui_support import save_screenshot

    settings = Settings(targets=("es",), speakers=True, speech_model="universal-streaming-multilingual")
    parts = build_window(qtbot, tmp_path, settings=settings)
    w: MainWindow = parts.window  # type: ignore[assignment]
    w.resize(1180, 560)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    fake = parts.factory.last
    for index, (speaker, language, original, spanish) in enumerate(MEETING):
        fake.final(said(make_turn(index, original, start_ms=index * 6100 + 500), speaker=speaker,
                        language_code=language))
        fake.translation(index, Translation("es", original, TranslationStatus.DONE, SAME_LANGUAGE, 0) if spanish is None
                         else done("es", spanish, 650 + 80 * index))
    qtbot.waitUntil(lambda: w.model.index(3, 3).data() == MEETING[3][3], timeout=5000)
    w.model.rename(Kind.SPEAKER, "A", "Maria")
    w.model.rename(Kind.SPEAKER, "B", "Javier")
    w.view._resize_all_rows()
    assert who_texts(w.model) == ["Maria", "Javier", "Maria", "C"]
    who = w.model.who_column
    assert who is not None and w.view.horizontalHeader().sectionSize(who) >= w.view.sizeHintForColumn(who), \
        "the column grew with the names"
    path = save_screenshot(w, "window-speakers.png")
    if os.environ.get("LIVE_TRANSLATE_UPDATE_README_SHOT") == "1":
        shutil.copyfile(path, Path(__file__).parent.parent / "resources" / "screenshot-speakers.png")
    with qtbot.waitSignal(parts.controller.session_ended, timeout=10000):
        w.toggle_recording()
