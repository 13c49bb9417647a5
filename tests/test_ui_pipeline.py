"""The window on the real pipeline (LiveSession, real websocket and HTTP clients) against the local
imitations of AssemblyAI: the two-message formatting case, a rejected key, and the end-to-end run
with speech through the PulseAudio virtual microphone and the real PyAudio path."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from PySide6.QtCore import Qt
from support.speech import make_speech_wav
from ui_support import build_window, qt_hygiene, save_screenshot  # noqa: F401 - autouse fixture

from app.core.settings import Settings
from app.store.db import SessionStore
from app.ui.main_window import MainWindow
from app.workers.controller import pipeline_session_factory
from app.workers.threads import DeviceMonitor

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

KEY = "window-test-key-42"
SENTENCES = ["Good morning and welcome.", "Let us look at the plan."]


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES, pause_s=1.5)


class Watch:
    """Counts what the window's model went through: pending rows and interim updates."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.max_pending = 0
        self.interims = 0
        self.max_level = -200.0
        window.model.rowsInserted.connect(self.check)
        window.controller.interim_text_changed.connect(self.interim)
        window.controller.level_changed.connect(self.level)

    def check(self, *args: object) -> None:
        model = self.window.model
        self.max_pending = max(self.max_pending, sum(model.is_pending_row(r) for r in range(model.rowCount())))

    def interim(self, text: str) -> None:
        self.interims += bool(text)

    def level(self, dbfs: float) -> None:
        self.max_level = max(self.max_level, dbfs)


def pipeline_window(qtbot, tmp_path: Path, settings: Settings, *, input_file: Path | None,  # type: ignore[no-untyped-def]
                    store: SessionStore | None = None):
    factory = pipeline_session_factory(store)
    return build_window(qtbot, tmp_path, key=KEY, settings=settings, factory=factory, input_file=input_file)


def cells(window: MainWindow, column: int) -> list[str]:
    model = window.model
    return [str(model.index(r, column).data()) for r in range(model.rowCount()) if not model.is_pending_row(r)]


@pytest.mark.timeout(60)
def test_two_end_of_turn_messages_per_turn_give_one_row_with_both_translations(qtbot, tmp_path, speech_wav) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, formatting="two_message") as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        settings = Settings(targets=("es", "de"), streaming_url=stt.url, llm_url=llm.base_url,
                            sessions_dir=tmp_path / "sessions")
        parts = pipeline_window(qtbot, tmp_path, settings, input_file=speech_wav)
        w = parts.window
        watch = Watch(w)
        w.show()
        with qtbot.waitSignal(parts.controller.session_ended, timeout=45000) as ended:
            qtbot.mouseClick(w.controls.record_button, Qt.MouseButton.LeftButton)
        finals = stt.connections[0].turns(final_only=True)
    assert len(finals) == 2 * len(SENTENCES), "the fake really sent an unformatted and a formatted final"
    assert cells(w, 1) == SENTENCES, "one row per turn, with the formatted text"
    assert cells(w, 2) == [f"[Spanish] {s}" for s in SENTENCES]
    assert cells(w, 3) == [f"[German] {s}" for s in SENTENCES]
    assert w.model.rowCount() == len(SENTENCES)
    assert watch.interims > 0 and watch.max_pending == 1, "interim text lived in a single pending row"
    summary = ended.args[0]
    assert summary.turns == 2 and summary.translations_done == 4 and summary.error is None
    assert (summary.folder / "audio.wav").is_file() and w.audio_path == summary.folder / "audio.wav"
    assert w.status.turns_label.text() == "2 turns"


@pytest.mark.timeout(60)
def test_a_key_rejected_at_once_is_shown_once_and_leaves_no_empty_session(qtbot, tmp_path, speech_wav,
                                                                          artifacts_dir) -> None:
    with FakeStreamingServer(api_key="the-right-key", script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        settings = Settings(targets=("es", "de"), streaming_url=stt.url, llm_url=llm.base_url,
                            sessions_dir=tmp_path / "sessions")
        parts = pipeline_window(qtbot, tmp_path, settings, input_file=speech_wav)
        w = parts.window
        w.resize(1180, 720)
        w.show()
        with qtbot.waitSignal(parts.controller.session_ended, timeout=30000) as ended:
            w.toggle_recording()
        qtbot.wait(200)  # anything still queued would arrive now
    assert stt.connections[0].close_code == 1008
    assert w.error_dialogs.shown_count == 1
    box = w.error_dialogs.dialog
    assert box is not None and box.isVisible()
    assert "rejected" in box.text().lower() and KEY not in box.text()
    assert "Nothing was recorded, so no session was kept." in box.text()
    assert "saved in" not in box.text(), "never 'everything recorded is saved' about nothing"
    summary = ended.args[0]
    assert summary.error is not None and summary.discarded and summary.audio_seconds < 1
    assert not summary.folder.exists() and list((tmp_path / "sessions").iterdir()) == []
    assert "no session was kept" in w.status.message_label.text() and "open folder" not in w.status.message_label.text()
    assert not w.controls.record_button.text().startswith("■")
    save_error_screenshot(w, box)
    box.close()


def save_error_screenshot(window: MainWindow, box) -> None:  # type: ignore[no-untyped-def]
    """The window with its error dialog drawn where it sits (grab() alone shows no dialogs)."""
    from PySide6.QtGui import QPainter

    shot = window.grab()
    dialog = box.grab()
    painter = QPainter(shot)
    painter.drawPixmap((shot.width() - dialog.width()) // 2, (shot.height() - dialog.height()) // 3, dialog)
    painter.end()
    path = save_screenshot(window, "window-error.png")
    assert shot.save(str(path))


@pytest.mark.e2e
@pytest.mark.microphone
@pytest.mark.timeout(60)
def test_end_to_end_speech_through_the_virtual_microphone_is_transcribed_translated_and_saved(
        qtbot, tmp_path, speech_wav, virtual_mic) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    monitor = DeviceMonitor(interval_s=0.5)  # the real PyAudio listing
    try:
        with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
            # Chosen by the name the sound server gives it, as a person picks it in the window.
            settings = Settings(targets=("es", "de"), device=virtual_mic.description, streaming_url=stt.url,
                                llm_url=llm.base_url, sessions_dir=tmp_path / "sessions")
            parts = pipeline_window(qtbot, tmp_path, settings, input_file=None, store=store)
            w = parts.window
            watch = Watch(w)
            monitor.devices_changed.connect(w.controls.set_devices)
            with qtbot.waitSignal(monitor.devices_changed, timeout=20000):
                monitor.start()
            assert w.controls.device_names() == [virtual_mic.description], "no 'pulse', no 'default', no monitor"
            assert w.controls.device.currentData() == virtual_mic.description
            monitor.pause(True)
            w.resize(1180, 720)
            w.show()
            with qtbot.waitSignal(parts.controller.session_started, timeout=20000):
                w.toggle_recording()
            player = virtual_mic.start_playing(speech_wav)
            qtbot.waitUntil(lambda: player.poll() is not None, timeout=30000)
            qtbot.waitUntil(lambda: w.model.turn_count() == len(SENTENCES), timeout=20000)
            with qtbot.waitSignal(parts.controller.session_ended, timeout=30000) as ended:
                w.toggle_recording()
    finally:
        monitor.stop()
        monitor.wait(5000)
        store.close()
    summary = ended.args[0]
    folder = summary.folder
    assert summary.error is None and summary.turns == len(SENTENCES)
    assert cells(w, 1) == SENTENCES
    assert cells(w, 2) == [f"[Spanish] {s}" for s in SENTENCES]
    assert cells(w, 3) == [f"[German] {s}" for s in SENTENCES]
    assert watch.max_level > -40.0, "the level meter heard the speech"
    with wave.open(str(folder / "audio.wav")) as wav, wave.open(str(speech_wav)) as spoken:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() / 16000 >= spoken.getnframes() / spoken.getframerate()
    doc = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert [t["text"] for t in doc["turns"]] == SENTENCES
    assert all(t["translations"]["es"]["status"] == "done" for t in doc["turns"])
    for name in ("transcript.txt", "transcript.srt", "transcript.vtt", "transcript.md",
                 "transcript.es.srt", "transcript.de.srt"):
        assert (folder / name).stat().st_size > 0, name
    assert KEY not in "".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.glob("transcript*"))
    save_screenshot(w, "window-e2e-after-session.png")


@pytest.mark.microphone
@pytest.mark.timeout(90)
def test_record_clicked_as_the_window_is_activated_never_races_the_device_rescan(
        qtbot, tmp_path, virtual_mic) -> None:
    """The everyday click on Record in a background window: the activation re-scan of devices and
    the recording's open used to run PortAudio on two threads at once and kill the process."""
    monitor = DeviceMonitor(interval_s=60.0)  # only the activation refresh lists devices
    try:
        with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
            settings = Settings(targets=("es",), device=virtual_mic.description, streaming_url=stt.url,
                                llm_url=llm.base_url, sessions_dir=tmp_path / "sessions")
            parts = pipeline_window(qtbot, tmp_path, settings, input_file=None)
            w = parts.window
            w.activated.connect(monitor.refresh)
            monitor.devices_changed.connect(w.controls.set_devices)
            parts.controller.running_changed.connect(monitor.pause)
            with qtbot.waitSignal(monitor.devices_changed, timeout=20000):
                monitor.start()
            w.show()
            for _ in range(5):
                w.activated.emit()  # what a click into the background window does first
                with qtbot.waitSignal(parts.controller.session_started, timeout=20000):
                    w.toggle_recording()  # ... and then Record
                w.activated.emit()
                qtbot.waitUntil(lambda: w.status.state == "live", timeout=20000)
                with qtbot.waitSignal(parts.controller.session_ended, timeout=30000) as ended:
                    w.toggle_recording()
                assert ended.args[0].error is None and ended.args[0].audio_seconds > 0
    finally:
        monitor.stop()
        monitor.wait(5000)
