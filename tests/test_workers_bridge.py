"""SessionBridge: listener calls from session threads become GUI-thread signals, coalesced per drain."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QCoreApplication, QThread
from ui_support import done, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.errors import AuthError
from app.core.transcript import Gap
from app.pipeline.events import SessionState, SessionSummary
from app.workers.bridge import SessionBridge

pytestmark = pytest.mark.timeout(60)


class Recorder:
    """Records (signal, args, received on the GUI thread?) for every bridge signal."""

    def __init__(self, bridge: SessionBridge) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self.off_gui_thread = 0
        for name in ("state_changed", "interim_text_changed", "turn_finalized", "translation_updated",
                     "gap_added", "level_changed", "error_occurred", "rate_limit_changed", "session_ended"):
            getattr(bridge, name).connect(self._make(name))

    def _make(self, name: str):  # type: ignore[no-untyped-def]
        def record(*args: object) -> None:
            if QThread.currentThread() is not QCoreApplication.instance().thread():  # type: ignore[union-attr]
                self.off_gui_thread += 1
            self.calls.append((name, args))
        return record

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


def summary(tmp_path) -> SessionSummary:  # type: ignore[no-untyped-def]
    return SessionSummary(folder=tmp_path, audio_path=tmp_path / "audio.wav", audio_seconds=1.0, turns=1,
                          translations_done=1, translations_failed=0)


def test_calls_from_session_threads_arrive_as_signals_on_the_gui_thread_in_order(qtbot, tmp_path) -> None:
    bridge = SessionBridge()
    rec = Recorder(bridge)
    turn = make_turn(0, "Hello there.")

    def websocket_thread() -> None:
        bridge.listener.state_changed(SessionState.LIVE, "")
        bridge.listener.turn_finalized(turn)
        bridge.listener.gap_added(Gap(100, 900, "connection lost"))

    def pool_thread() -> None:
        bridge.listener.translation_updated(0, done("es", "Hola."))
        bridge.listener.error_occurred(AuthError("The API key was rejected (1008)."))
        bridge.listener.session_ended(summary(tmp_path))

    bridge.start()
    for target in (websocket_thread, pool_thread):  # one after the other: the order is the test
        worker = threading.Thread(target=target)
        worker.start()
        worker.join()
    with qtbot.waitSignal(bridge.session_ended, timeout=2000):
        pass
    assert rec.names() == ["state_changed", "turn_finalized", "gap_added", "translation_updated",
                           "error_occurred", "session_ended"]
    assert rec.calls[0][1] == ("live", "")
    assert rec.off_gui_thread == 0
    assert bridge.active, "translations retried after the end still come through"
    bridge.stop()


def test_interim_texts_queued_between_drains_collapse_to_the_newest(qtbot) -> None:
    bridge = SessionBridge()
    rec = Recorder(bridge)
    listener = bridge.listener
    for text in ("hel", "hello", "hello wor", "hello world"):
        listener.interim_changed(text)
    listener.interim_changed("")  # the final clears it ...
    listener.turn_finalized(make_turn(0, "Hello world."))
    listener.interim_changed("next")
    listener.interim_changed("next one")
    bridge.drain()
    assert rec.calls == [("interim_text_changed", ("",)), ("turn_finalized", rec.calls[1][1]),
                         ("interim_text_changed", ("next one",))]


def test_levels_queued_between_drains_collapse_to_the_loudest(qtbot) -> None:
    bridge = SessionBridge()
    rec = Recorder(bridge)
    for dbfs in (-50.0, -12.5, -30.0):
        bridge.listener.level_changed(dbfs)
    bridge.drain()
    bridge.drain()  # nothing new: nothing emitted
    assert rec.calls == [("level_changed", (-12.5,))]


def test_turns_are_copied_when_queued_so_later_changes_by_the_session_do_not_leak(qtbot) -> None:
    bridge = SessionBridge()
    rec = Recorder(bridge)
    turn = make_turn(0, "Hello.")
    bridge.listener.turn_finalized(turn)
    turn.translations["es"] = done("es", "Hola.")  # the session's pool thread mutates its own copy
    bridge.drain()
    emitted = rec.calls[0][1][0]
    assert emitted is not turn and emitted.translations == {}


def test_after_session_ended_only_translations_retried_later_and_their_messages_come_through(qtbot, tmp_path) -> None:
    bridge = SessionBridge()
    rec = Recorder(bridge)
    bridge.listener.session_ended(summary(tmp_path))
    bridge.listener.level_changed(-3.0)
    bridge.listener.interim_changed("stray")
    bridge.listener.state_changed(SessionState.LIVE, "")
    bridge.listener.translation_updated(0, done("es", "retried after Stop"))
    bridge.listener.error_occurred(AuthError("said after the end"))
    bridge.drain()
    assert rec.names() == ["session_ended", "translation_updated", "error_occurred"]

