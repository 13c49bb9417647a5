"""The window's side of "nothing lost, however a session ends": the count-down of translations
still open after Stop, "Quit now", closing twice, and SIGTERM/SIGHUP to the window's process."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from PySide6.QtCore import Qt
from support.speech import make_speech_wav
from ui_support import build_window, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.settings import Settings
from app.gui import _SignalEnding
from app.pipeline.events import SIGNAL_FINISH_S, SessionState
from app.ui.transcript_model import NOT_TRANSLATED
from app.workers.controller import pipeline_session_factory
from app.workers.os_signals import StopSignals

KEY = "window-endings-key-42"
SENTENCES = ["Good morning and welcome.", "Let us look at the plan."]


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES, pause_s=1.0)


@pytest.mark.realtime
@pytest.mark.timeout(90)
def test_after_stop_the_window_counts_down_open_translations_and_quit_now_marks_them(
        qtbot, tmp_path, speech_wav) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, \
            FakeLlmGateway(api_key=KEY, delay_s=60.0) as llm:
        settings = Settings(targets=("es", "de"), streaming_url=stt.url, llm_url=llm.base_url,
                            sessions_dir=tmp_path / "sessions")
        parts = build_window(qtbot, tmp_path, key=KEY, settings=settings, factory=pipeline_session_factory(None),
                             input_file=speech_wav)
        w = parts.window
        w.show()
        qtbot.mouseClick(w.controls.record_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.status.state == SessionState.FINISHING.value and bool(w.status.detail), timeout=45000)
        assert w.status.state_text == "Finishing 4 translations…"
        assert w.status.quit_button.isVisible()
        with qtbot.waitSignal(parts.controller.session_ended, timeout=5000) as ended:
            qtbot.mouseClick(w.status.quit_button, Qt.MouseButton.LeftButton)
    summary = ended.args[0]
    assert summary.quit and summary.turns == 2 and summary.translations_failed == 4
    cells = [str(w.model.index(r, c).data()) for r in range(w.model.rowCount()) for c in (2, 3)]
    assert cells == [NOT_TRANSLATED] * 4, "every open cell says it was not translated, none stays 'translating…'"
    assert "4 not translated" in w.status.message_label.text()
    assert not w.status.quit_button.isVisible()


@pytest.mark.timeout(30)
def test_closing_while_finishing_waits_and_closing_again_quits_now(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es",)))
    w = parts.window
    w.show()
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        qtbot.mouseClick(w.controls.record_button, Qt.MouseButton.LeftButton)
    session = parts.factory.last
    session.final(make_turn(0, "Hello there."))
    w.close()
    assert w.isVisible() and session.stop_deadlines == [None], "the first close stops and waits"
    w.close()
    assert session.quit_calls == 1, "the second close quits now"
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)


@pytest.mark.timeout(30)
def test_sigterm_then_sighup_to_the_window_process_finish_the_session_then_quit(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es",)))
    w = parts.window
    w.show()
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        qtbot.mouseClick(w.controls.record_button, Qt.MouseButton.LeftButton)
    session = parts.factory.last
    stop_signals = StopSignals()
    ending = _SignalEnding(w)
    stop_signals.received.connect(ending.received)
    try:
        with qtbot.waitSignal(stop_signals.received, timeout=5000):
            os.kill(os.getpid(), signal.SIGTERM)
        assert session.stop_deadlines == [SIGNAL_FINISH_S] and not ending.quit
        with qtbot.waitSignal(stop_signals.received, timeout=5000):
            os.kill(os.getpid(), signal.SIGHUP)
        assert session.quit_calls == 1 and ending.quit, "a second signal quits now (exit 130)"
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    finally:
        stop_signals.uninstall()
