"""Speakers and languages through the window on the real pipeline (LiveSession, real websocket and
HTTP clients, real SQLite) against the local imitations of AssemblyAI: the fake labels speakers,
revises one before Termination and reports each turn's language; the window shows them, a rename
after the end reaches the archive and the session folder's files."""
from __future__ import annotations

import json
import re

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from PySide6.QtCore import Qt
from support.speech import make_speech_wav
from ui_support import build_window, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.settings import Settings
from app.core.who import Kind, Names
from app.store.db import SessionStore
from app.ui.main_window import MainWindow
from app.ui.transcript_model import CellState, Role
from app.workers.controller import pipeline_session_factory

pytestmark = pytest.mark.realtime

KEY = "speakers-window-key-7"
SENTENCES = ["Good morning, I will chair today.", "Buenos días, tengo las cifras.", "Then let us begin."]


@pytest.mark.timeout(90)
def test_speakers_languages_and_a_rename_after_the_end_reach_the_archive_and_the_folder(qtbot, tmp_path) -> None:
    speech = make_speech_wav(tmp_path / "speech.wav", SENTENCES, pause_s=1.2, lead_s=0.3)
    store = SessionStore(tmp_path / "sessions.db")
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, script_speakers="ABA", script_languages=("en", "es", "en"),
                             speaker_revisions={2: "C"}) as stt, FakeLlmGateway(api_key=KEY) as llm:
        settings = Settings(targets=("es",), streaming_url=stt.url, llm_url=llm.base_url, speakers=True,
                            speech_model="universal-streaming-multilingual", sessions_dir=tmp_path / "sessions")
        parts = build_window(qtbot, tmp_path, key=KEY, settings=settings, factory=pipeline_session_factory(store),
                             input_file=speech)
        w: MainWindow = parts.window  # type: ignore[assignment]
        w.show()
        with qtbot.waitSignal(parts.controller.session_ended, timeout=60000):
            qtbot.mouseClick(w.controls.record_button, Qt.MouseButton.LeftButton)
        asked = stt.connections[0].params
    assert asked["speaker_labels"] is True
    model = w.model
    who = model.who_column
    assert who is not None and model.turn_count() == 3
    assert [model.index(r, who).data() for r in range(3)] == ["A", "B", "C"], "the revision relabelled row 3"
    original = model.original_column
    assert [model.index(r, original).data(Role.LANGUAGE_TAG) for r in range(3)] == ["en", "es", "en"]
    same = model.index(1, model.language_column("es"))
    assert same.data(Role.CELL_STATE) == CellState.COPIED and same.data() == SENTENCES[1]
    sent = [r.json["messages"][-1]["content"] for r in llm.chat_requests]
    assert len(sent) == 2 and not any(SENTENCES[1] in text for text in sent), "the Spanish turn was not sent"

    w.view.rename(Kind.SPEAKER, "A")
    dialog = w.view.rename_dialog
    assert dialog is not None
    dialog.name_edit.setText("Ana")
    dialog.accept()
    qtbot.waitUntil(lambda: not w.session_names.busy, timeout=10000)
    folder = w.session_folder
    assert folder is not None
    vtt = (folder / "transcript.vtt").read_text(encoding="utf-8")
    assert re.findall(r"<v ([^>]+)>", vtt)[::2] == ["Ana", "B", "C"]
    doc = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert [t["speaker_name"] for t in doc["turns"]] == ["Ana", "B", "C"]
    assert doc["session"]["names"]["speakers"] == {"A": "Ana"}
    record = store.get_session(store.find_by_folder(folder) or 0)
    assert record is not None and Names.from_json(record.meta.get("names")) == Names({}, {"A": "Ana"})
    store.close()
