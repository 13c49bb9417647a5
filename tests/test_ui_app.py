"""The window's composition root (app.gui.run_window) as app.main calls it: it starts, offers the
session a crash left unfinished, applies the command-line presets, and quits cleanly."""
from __future__ import annotations

import wave
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from ui_support import make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.settings import Paths
from app.gui import app_qsettings, run_window
from app.logsetup import LOG_NAME
from app.settings.qt_store import QtSettingsStore
from app.store.db import SessionStore
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.timeout(60)


def unfinished_session(paths: Paths) -> Path:
    """What a kill -9 mid-session leaves: a store row still 'recording', a WAV, a journaled turn."""
    folder = paths.sessions_dir / "2026-11-23_14-05-09"
    folder.mkdir(parents=True)
    with wave.open(str(folder / "audio.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(bytes(16000 * 2 * 3))
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    with SessionStore(paths.db_path) as store:
        record = store.create_session(folder=folder, audio_path=folder / "audio.wav", source_language=None,
                                      speech_model="universal-streaming-english", target_languages=["es"],
                                      llm_model="gemini-2.5-flash-lite")
        store.add_turn(record.id, make_turn(0, "Words from before the crash."))
    return folder


def test_the_app_starts_offers_the_crashed_session_and_quits_cleanly(qapp, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ASSEMBLYAI_API_KEY", "env-key")
    paths = Paths(data_dir=tmp_path / "data", sessions_dir=tmp_path / "sessions", log_dir=tmp_path / "logs")
    folder = unfinished_session(paths)
    seen: dict[str, object] = {}

    def look() -> None:
        window = next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)), None)
        if window is None or not window.recovery_banner.isVisible():
            return
        seen.update(banner=window.recovery_banner.label.text(), targets=window.model.languages,
                    record=window.controls.record_button.isEnabled(), url=window.settings.streaming_url)
        window.close()

    poll = QTimer()
    poll.timeout.connect(look)
    poll.start(50)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(QApplication.closeAllWindows)
    deadline.start(20000)
    overrides = {"targets": ("es", "de"), "streaming_url": "ws://127.0.0.1:9/v3/ws", "source": None}
    assert run_window(overrides, paths=paths) == 0
    poll.stop()
    deadline.stop()
    assert folder.name in str(seen.get("banner")), seen
    assert seen["targets"] == ("es", "de") and seen["url"] == "ws://127.0.0.1:9/v3/ws"
    assert seen["record"] is True, "Record is released once recovery has run, the key comes from the environment"
    assert (paths.log_dir / LOG_NAME).is_file()
    with SessionStore(paths.db_path) as store:
        assert store.unfinished_sessions() == []
    saved = QtSettingsStore(app_qsettings()).load()
    assert saved.streaming_url is None and saved.targets == ("es",), "command-line presets are not saved"


def test_a_saved_target_code_this_version_does_not_know_is_dropped_with_a_notice(qapp, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ASSEMBLYAI_API_KEY", "env-key")
    paths = Paths(data_dir=tmp_path / "data", sessions_dir=tmp_path / "sessions", log_dir=tmp_path / "logs")
    stored = app_qsettings()
    stored.setValue("session/targets", "es,tlh,xx-old,de")  # written by an older version, or by hand
    stored.sync()
    del stored
    seen: dict[str, object] = {}

    def look() -> None:
        window = next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)), None)
        if window is not None and window.isVisible():
            seen.update(targets=window.model.languages, message=window.status.message_label.text())
            window.close()

    poll = QTimer()
    poll.timeout.connect(look)
    poll.start(50)
    assert run_window({}, paths=paths) == 0
    poll.stop()
    assert seen["targets"] == ("es", "de")
    assert "'tlh', 'xx-old' are not known to this version and was dropped" in str(seen["message"])
