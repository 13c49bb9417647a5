"""SessionController and the worker threads, driven with a scripted fake session."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from ui_support import FakeSession, FakeSessionFactory, done, make_turn, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.errors import AppError, ConfigError, DeviceError
from app.core.languages import resolve_language
from app.core.settings import Settings
from app.workers.controller import SessionController
from app.workers.tasks import BackgroundTask
from app.workers.threads import DeviceMonitor, wait_for_owned_threads

pytestmark = pytest.mark.timeout(60)


def running_is(value: bool):  # type: ignore[no-untyped-def]
    return lambda running: running is value


def start(controller: SessionController, tmp_path: Path) -> bool:
    return controller.start(Settings(targets=("es", "de")), {"assemblyai": "test-key"}, tmp_path / "sessions")


def test_a_session_runs_through_its_lifecycle_in_order_on_the_worker_threads(qtbot, tmp_path) -> None:
    factory = FakeSessionFactory(tmp_path)
    controller = SessionController(factory)
    with qtbot.waitSignals([controller.running_changed, controller.session_started],
                           check_params_cbs=[running_is(True), None], order="strict", timeout=5000):
        assert start(controller, tmp_path)
    session = factory.last
    session.interim("hello wor")
    session.final(make_turn(0, "Hello world."))
    session.translation(0, done("es", "Hola mundo."))
    with qtbot.waitSignals([controller.turn_finalized, controller.translation_updated], order="strict", timeout=5000):
        pass
    with qtbot.waitSignals([controller.session_ended, controller.running_changed],
                           check_params_cbs=[None, running_is(False)], order="strict", timeout=5000):
        controller.stop()
    assert session.threads == {"prepare": "audio-streamer", "capture": "audio-streamer",
                               "streaming": "websocket-worker"}
    assert session.request.key("assemblyai") == "test-key" and session.request.settings.targets == ("es", "de")
    qtbot.waitUntil(lambda: controller._audio is None and controller._websocket is None, timeout=5000)
    assert wait_for_owned_threads(5000), "every thread has exited"


def test_stop_returns_at_once_and_the_session_still_ends_properly(qtbot, tmp_path) -> None:
    factory = FakeSessionFactory(tmp_path)
    controller = SessionController(factory)
    with qtbot.waitSignal(controller.session_started, timeout=5000):
        start(controller, tmp_path)
    began = time.monotonic()
    controller.stop()
    assert time.monotonic() - began < 0.05, "stop() must not wait for the session"
    assert controller.running, "running until the last turn is in and everything is saved"
    with qtbot.waitSignal(controller.running_changed, check_params_cb=running_is(False), timeout=5000):
        pass
    assert factory.last.ended.is_set()


def test_stop_before_the_folder_is_prepared_still_finalises_the_session(qtbot, tmp_path) -> None:
    factory = FakeSessionFactory(tmp_path)
    controller = SessionController(factory)
    with qtbot.waitSignal(controller.session_ended, timeout=5000):
        start(controller, tmp_path)
        controller.stop()  # before ``prepared`` has even arrived
    assert not controller.running


def test_a_bad_setting_fails_start_at_once_and_nothing_runs(qtbot, tmp_path) -> None:
    def refuse(request, listener):  # type: ignore[no-untyped-def]
        raise ConfigError("Choose at least one target language.")

    controller = SessionController(refuse)
    with qtbot.waitSignal(controller.start_failed, timeout=1000) as failed:
        assert not start(controller, tmp_path)
    assert failed.args[0].message == "Choose at least one target language."
    assert not controller.running


def test_a_device_that_cannot_open_reports_start_failed_and_running_goes_back_to_false(qtbot, tmp_path) -> None:
    factory = FakeSessionFactory(tmp_path, prepare_error=DeviceError("No microphone was found."))
    controller = SessionController(factory)
    with qtbot.waitSignals([controller.running_changed, controller.start_failed, controller.running_changed],
                           check_params_cbs=[running_is(True), None, running_is(False)],
                           order="strict", timeout=5000):
        start(controller, tmp_path)
    assert not controller.running


def test_an_unexpected_crash_in_the_streaming_thread_is_reported_and_ends_the_session(qtbot, tmp_path) -> None:
    class Broken(FakeSession):
        def run_streaming(self) -> None:
            raise RuntimeError("boom")

    def factory(request, listener):  # type: ignore[no-untyped-def]
        return Broken(request, listener, tmp_path / "s")

    controller = SessionController(factory)
    with qtbot.waitSignals([controller.running_changed, controller.error_occurred, controller.running_changed],
                           check_params_cbs=[running_is(True), lambda e: "boom" in e.message, running_is(False)],
                           order="strict", timeout=5000):
        start(controller, tmp_path)


def test_events_of_a_finished_session_never_reach_the_next_one(qtbot, tmp_path) -> None:
    factory = FakeSessionFactory(tmp_path)
    controller = SessionController(factory)
    with qtbot.waitSignal(controller.session_started, timeout=5000):
        start(controller, tmp_path)
    with qtbot.waitSignal(controller.running_changed, timeout=5000):
        controller.stop()
    old = factory.last
    with qtbot.waitSignal(controller.session_started, timeout=5000):
        start(controller, tmp_path)
    seen: list[object] = []
    controller.turn_finalized.connect(seen.append)
    old.listener.turn_finalized(make_turn(7, "late"))  # a straggler from the old session's threads
    factory.last.final(make_turn(0, "new"))
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=5000)
    assert [t.text for t in seen] == ["new"]  # type: ignore[attr-defined]
    with qtbot.waitSignal(controller.running_changed, timeout=5000):
        controller.stop()


def test_retry_and_new_targets_reach_the_running_session(qtbot, tmp_path) -> None:
    factory = FakeSessionFactory(tmp_path)
    controller = SessionController(factory)
    with qtbot.waitSignal(controller.session_started, timeout=5000):
        start(controller, tmp_path)
    controller.retry(3, "de")
    assert controller.retry_failed() == 1
    controller.set_targets((resolve_language("es"), resolve_language("fr")))
    assert factory.last.retries == [(3, "de"), (-1, None)]
    assert factory.last.targets == [("es", "fr")]
    with qtbot.waitSignal(controller.running_changed, timeout=5000):
        controller.stop()


def test_shutdown_at_exit_stops_the_session_and_waits_for_the_threads(qtbot, tmp_path) -> None:
    factory = FakeSessionFactory(tmp_path)
    controller = SessionController(factory)
    with qtbot.waitSignal(controller.session_started, timeout=5000):
        start(controller, tmp_path)
    assert controller.shutdown(timeout_ms=5000)
    assert factory.last.ended.is_set()


# --- DeviceMonitor ------------------------------------------------------------------------------


class Devices:
    def __init__(self, *names: str) -> None:
        self.names = list(names)
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> list[str]:
        with self.lock:
            self.calls += 1
            return list(self.names)


def test_device_monitor_reports_the_list_off_the_gui_thread_and_again_only_when_it_changes(qtbot) -> None:
    devices = Devices("Built-in Microphone", "USB Headset")
    monitor = DeviceMonitor(devices, interval_s=0.05)
    seen: list[list[object]] = []
    monitor.devices_changed.connect(seen.append)
    with qtbot.waitSignal(monitor.devices_changed, timeout=5000):
        monitor.start()
    qtbot.waitUntil(lambda: devices.calls >= 3, timeout=5000)
    assert seen == [["Built-in Microphone", "USB Headset"]]
    with devices.lock:
        devices.names.remove("USB Headset")  # unplugged
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5000)
    assert seen[-1] == ["Built-in Microphone"]
    monitor.stop()
    assert monitor.wait(2000)


def test_device_monitor_does_not_list_devices_while_paused(qtbot) -> None:
    devices = Devices("Mic")
    monitor = DeviceMonitor(devices, interval_s=0.02)
    with qtbot.waitSignal(monitor.devices_changed, timeout=5000):
        monitor.start()
    monitor.pause(True)
    qtbot.wait(60)  # let a listing that was under way finish
    calls = devices.calls
    qtbot.wait(150)
    assert devices.calls == calls
    monitor.pause(False)
    qtbot.waitUntil(lambda: devices.calls > calls, timeout=5000)
    monitor.stop()
    assert monitor.wait(2000)


def test_device_monitor_reports_a_listing_failure_once(qtbot) -> None:
    calls = []

    def broken() -> list[str]:
        calls.append(1)
        raise DeviceError("The audio system could not be started.")

    monitor = DeviceMonitor(broken, interval_s=0.02)
    failures: list[AppError] = []
    monitor.failed.connect(failures.append)
    monitor.start()
    qtbot.waitUntil(lambda: len(calls) >= 4, timeout=5000)
    monitor.stop()
    assert monitor.wait(2000)
    qtbot.waitUntil(lambda: len(failures) >= 1, timeout=2000)
    assert len(failures) == 1 and "audio system" in failures[0].message


# --- BackgroundTask -----------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.results: list[object] = []
        self.errors: list[AppError] = []


def test_background_task_hands_back_the_result_or_an_app_error(qtbot) -> None:
    sink = Sink()
    BackgroundTask.launch(lambda: 41 + 1, on_success=sink.results.append, on_failure=sink.errors.append)
    BackgroundTask.launch(lambda: 1 / 0, on_success=sink.results.append, on_failure=sink.errors.append)
    qtbot.waitUntil(lambda: bool(sink.results and sink.errors), timeout=5000)
    assert sink.results == [42]
    assert "ZeroDivisionError" in sink.errors[0].message
