"""PortAudio has one owner: listings, opens and closes from several threads never overlap.

The stand-in for the ``pyaudio`` module records every PortAudio-level call with the thread that made
it and fails the test when two are in flight at once (real PortAudio crashes the process then: a
device re-scan on activation racing the recording's open killed the window). ``threading.Event``
barriers make the race deterministic instead of hoping for it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from app.audio.microphone import MicrophoneSource
from app.audio.portaudio import PortAudio

pytestmark = pytest.mark.timeout(30)


class OverlapRecorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: list[str] = []
        self.overlaps: list[tuple[str, str]] = []
        self.calls: list[str] = []
        self.hold: dict[str, Callable[[], None]] = {}  # call name -> what to do while inside it
        self.entered: Callable[[], object] = lambda: None  # called as any call begins

    def call(self, name: str) -> None:
        with self.lock:
            if self.in_flight:
                self.overlaps.append((self.in_flight[-1], name))
            self.in_flight.append(name)
            self.calls.append(name)
        self.entered()
        try:
            hook = self.hold.pop(name, None)
            if hook is not None:
                hook()
        finally:
            with self.lock:
                self.in_flight.remove(name)


class Stream:
    def __init__(self, rec: OverlapRecorder) -> None:
        self.rec = rec

    def read(self, frames: int, exception_on_overflow: bool = True) -> bytes:
        return bytes(frames * 2)  # the one call allowed outside the owner: this stream's own reader

    def get_input_latency(self) -> float:
        self.rec.call("get_input_latency")
        return 0.05

    def stop_stream(self) -> None:
        self.rec.call("stop_stream")

    def close(self) -> None:
        self.rec.call("stream.close")


class Instance:
    def __init__(self, rec: OverlapRecorder) -> None:
        self.rec = rec

    def get_default_input_device_info(self) -> dict[str, Any]:
        self.rec.call("get_default_input_device_info")
        return {"index": 0}

    def get_device_count(self) -> int:
        self.rec.call("get_device_count")
        return 1

    def get_device_info_by_index(self, index: int) -> dict[str, Any]:
        self.rec.call("get_device_info_by_index")
        return {"index": 0, "name": "Mic", "maxInputChannels": 1, "defaultSampleRate": 16000.0}

    def is_format_supported(self, rate: int, **kwargs: Any) -> bool:
        self.rec.call("is_format_supported")
        return True

    def open(self, **kwargs: Any) -> Stream:
        self.rec.call("open")
        return Stream(self.rec)

    def terminate(self) -> None:
        self.rec.call("terminate")


class OverlapDetectingPyAudio:
    paInt16 = 8  # noqa: N815 - pyaudio.s name

    def __init__(self) -> None:
        self.rec = OverlapRecorder()

    def PyAudio(self) -> Instance:
        self.rec.call("PyAudio")
        return Instance(self.rec)


def race(module: OverlapDetectingPyAudio, lister: PortAudio, opener: PortAudio) -> None:
    """Thread A lists devices and, while inside PortAudio, waits (at most 0.5 s) for thread B, which
    opens the microphone, to get inside PortAudio too. Without one owner, B does at once."""
    a_inside, b_inside = threading.Event(), threading.Event()
    opener_thread: list[threading.Thread] = []

    def while_listing() -> None:
        a_inside.set()
        b_inside.wait(0.5)

    module.rec.hold["get_device_count"] = while_listing
    module.rec.entered = lambda: b_inside.set() if threading.current_thread() in opener_thread else None
    errors: list[BaseException] = []

    def open_and_close() -> None:
        a_inside.wait(5)
        try:
            source = MicrophoneSource("Mic", portaudio=opener)
            source.open()
            source.read()
            source.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    b = threading.Thread(target=open_and_close)
    opener_thread.append(b)
    b.start()
    lister.devices()
    b.join(10)
    assert not b.is_alive() and errors == []


def test_the_stand_in_fails_on_overlapping_calls_when_portaudio_has_two_owners() -> None:
    module = OverlapDetectingPyAudio()
    race(module, PortAudio(module), PortAudio(module))
    assert module.rec.overlaps, "two owners let a listing and an open run at once"


def test_one_owner_serialises_a_rescan_on_activation_and_the_recordings_open() -> None:
    module = OverlapDetectingPyAudio()
    owner = PortAudio(module)
    race(module, owner, owner)
    assert module.rec.overlaps == []
    assert "open" in module.rec.calls and owner.open_streams == 0


def test_many_threads_listing_opening_and_closing_through_the_owner_never_overlap() -> None:
    module = OverlapDetectingPyAudio()
    owner = PortAudio(module)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(25):
                if n % 2:
                    owner.devices()
                else:
                    source = MicrophoneSource(None, portaudio=owner)
                    source.open()
                    source.read()
                    source.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == [] and module.rec.overlaps == [] and owner.open_streams == 0


def test_a_listing_while_a_stream_is_open_does_not_restart_portaudio_under_it() -> None:
    module = OverlapDetectingPyAudio()
    owner = PortAudio(module)
    source = MicrophoneSource("Mic", portaudio=owner)
    source.open()
    starts, stops = module.rec.calls.count("PyAudio"), module.rec.calls.count("terminate")
    assert [d.name for d in owner.devices()] == ["Mic"]
    assert (module.rec.calls.count("PyAudio"), module.rec.calls.count("terminate")) == (starts, stops)
    source.close()
    owner.devices()
    assert module.rec.calls.count("terminate") == stops + 1, "with nothing open, a listing starts afresh"
