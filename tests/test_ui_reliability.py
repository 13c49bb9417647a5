"""The window when the connection drops: the status bar says "Reconnecting (1)", recording goes
on, and a gap row ("no transcript …, audio kept") sits where the transcript is missing."""
from __future__ import annotations

from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer, Fault
from session_rig import pcm_frames
from support.speech import make_speech_wav
from ui_support import build_window, qt_hygiene, save_screenshot  # noqa: F401 - autouse fixture

from app.core.settings import Settings
from app.pipeline.events import SessionState
from app.workers.controller import pipeline_session_factory

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

KEY = "window-drop-key-42"
SENTENCES = ["Good morning and welcome.", "The line may drop now.", "We are back again.", "That is all for today."]


@pytest.mark.timeout(90)
def test_a_dropped_connection_shows_reconnecting_then_a_gap_row_and_keeps_all_audio(qtbot, tmp_path: Path) -> None:
    speech = make_speech_wav(tmp_path / "speech.wav", SENTENCES, pause_s=1.2)
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, faults=[Fault(drop_after_s=4.0)]) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        settings = Settings(targets=("es", "de"), streaming_url=stt.url, llm_url=llm.base_url,
                            sessions_dir=tmp_path / "sessions")
        parts = build_window(qtbot, tmp_path, key=KEY, settings=settings, factory=pipeline_session_factory(None),
                             input_file=speech)
        w = parts.window
        w.resize(1180, 720)
        w.show()
        states: list[tuple[str, str]] = []
        shown: list[str] = []  # what the status bar said after each state change (connected after the window)
        parts.controller.state_changed.connect(lambda s, d: (states.append((s, d)), shown.append(w.status.state_text)))
        with qtbot.waitSignal(parts.controller.session_ended, timeout=60000) as ended:
            w.toggle_recording()
            qtbot.waitUntil(lambda: "Reconnecting (1)" in shown, timeout=30000)
            qtbot.waitUntil(lambda: any(w.model.is_gap_row(r) for r in range(w.model.rowCount())), timeout=30000)
            save_screenshot(w, "window-reconnected.png")
        assert len(stt.connections) == 2
    summary = ended.args[0]
    assert summary.error is None and summary.reconnects == 1
    assert (SessionState.RECONNECTING.value, "reconnecting (1)") in states
    [gap_row] = [r for r in range(w.model.rowCount()) if w.model.is_gap_row(r)]
    text = str(w.model.index(gap_row, 1).data())
    assert text.startswith("no transcript ") and text.endswith(", audio kept")
    assert pcm_frames(summary.audio_path) == pcm_frames(speech)
