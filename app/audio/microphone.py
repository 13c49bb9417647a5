"""Capture from an input device: a blocking 16 kHz mono source on a PortAudio input stream. The
device is a microphone, or what the computer plays (a system-audio source: an output's monitor on
Linux, a WASAPI loopback input on Windows, a loopback input such as BlackHole on macOS): they are
opened and read the same way, through the one PortAudio owner.

``MicrophoneSource`` is opened, read and closed on the audio capture thread only: PortAudio must not
close a stream while another thread is blocked reading it, so stopping is done by a flag the capture
loop checks between reads (one block, 100 ms, at most). Opening and closing go through the
process's one owner of PortAudio (``app.audio.portaudio.PORTAUDIO``), which also lists devices and
checks every device index before use; PyAudio is imported lazily there.

Only ``stream.read`` is called while recording. ``get_read_available`` (and other status calls) can
hang forever inside ALSA's PulseAudio plugin once the sound server has died, whereas ``read`` raises;
so overflows are detected from timing alone (see ``_OverflowDetector``).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn

from app.audio.format import Converter
from app.audio.portaudio import NO_MICROPHONE_MESSAGE, PORTAUDIO, OpenedStream, PortAudio, noun, reason
from app.audio.sound_server import SourceWatch
from app.audio.source import DEFAULT_BLOCK_MS
from app.core.devices import DeviceKind, InputDevice, means_system_audio
from app.core.errors import DeviceError

__all__ = ["NO_MICROPHONE_MESSAGE", "MicrophoneSource"]


class _OverflowDetector:
    """Counts input overflows (audio the device produced but we never got) from timing alone.

    PyAudio hides PortAudio's overflow flag when told not to raise, and raising would throw away the
    block it just read. Instead: a read that had to wait for its block returns when the device
    finished it, so wall time since the first block minus the audio received since then (the lag)
    is steady while nothing is lost. A caller that stalls longer than the buffer loses audio and the
    lag jumps for good; a stall the buffer absorbed (PulseAudio buffers seconds) leaves it unchanged.
    A jump must persist for a few reads, so one late wake-up of the thread is not counted, and the
    baseline follows slow clock drift between the device and the computer.
    """

    _PERSISTENT_READS = 3
    _DRIFT_FOLLOWING = 0.01

    def __init__(self, block_s: float, latency_s: float, clock: Callable[[], float]) -> None:
        self.count = 0
        self._block_s = block_s
        self._threshold_s = max(2 * block_s, latency_s)
        self._clock = clock
        self._start: float | None = None
        self._received_s = 0.0
        self._baseline: float | None = None
        self._late_reads = 0

    def block_received(self, read_started: float) -> None:
        now = self._clock()
        if self._start is None:
            self._start = now  # the first read also waits for the stream to start up
            return
        self._received_s += self._block_s
        if now - read_started < self._block_s / 2:
            return  # served from the buffer: says nothing about the device's clock
        lag = now - self._start - self._received_s
        if self._baseline is None or lag <= self._baseline:
            self._baseline, self._late_reads = lag, 0
        elif lag - self._baseline > self._threshold_s:
            self._late_reads += 1
            if self._late_reads >= self._PERSISTENT_READS:
                self.count += 1
                self._baseline, self._late_reads = lag, 0
        else:
            self._late_reads = 0
            self._baseline += (lag - self._baseline) * self._DRIFT_FOLLOWING


class MicrophoneSource:
    """Blocking reads from one input device (a microphone or a system-audio source), returned as
    16 kHz mono s16le blocks. ``device`` is a name, an index, None (the default microphone) or
    ``app.core.devices.SYSTEM_AUDIO`` (the default output's monitor).

    Opens 16 kHz mono directly when the device offers it (PulseAudio and most drivers resample
    better than we do); otherwise records at the device's own rate and channel count and converts.
    ``portaudio`` (or, for tests, ``pyaudio_module`` to build a private owner) replaces the
    process's owner of PortAudio.
    """

    def __init__(
        self,
        device: str | int | None = None,
        *,
        block_ms: int = DEFAULT_BLOCK_MS,
        portaudio: PortAudio | None = None,
        pyaudio_module: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if block_ms <= 0:
            raise ValueError(f"block_ms must be positive, not {block_ms}")
        self.description = ("Microphone" if device is None else
                            "System audio" if isinstance(device, str) and means_system_audio(device)
                            else f"Microphone: {device}")
        self.overflows = 0
        self.device: InputDevice | None = None
        self.capture_rate = 0
        self.capture_channels = 0
        self._spec = device
        self._block_ms = block_ms
        self.portaudio = portaudio or (PortAudio(pyaudio_module) if pyaudio_module is not None else PORTAUDIO)
        self._opened: OpenedStream | None = None
        self._converter: Converter | None = None
        self._clock = clock
        self._overflow_detector: _OverflowDetector | None = None
        self._watch: SourceWatch | None = None
        self._watch_sources = pyaudio_module is None and portaudio is None  # the real sound server

    def open(self) -> None:
        self.close()
        opened = self.portaudio.open_input(self._spec, block_ms=self._block_ms)
        self._opened = opened
        device = opened.device
        self.device = device
        self.description = (f"System audio: {device.name}" if device.kind is DeviceKind.MONITOR
                            else f"Microphone: {device.name}")
        self.capture_rate, self.capture_channels = opened.rate, opened.channels
        self._converter = Converter(sample_rate=opened.rate, channels=opened.channels, sample_width=2)
        self._overflow_detector = _OverflowDetector(opened.frames_per_block / opened.rate, opened.latency_s,
                                                    self._clock)
        if device.server_name is not None and self._watch_sources:
            self._watch = SourceWatch(device.server_name)

    def read(self) -> bytes | None:
        opened = self._opened
        if opened is None or self._converter is None or self._overflow_detector is None:
            raise RuntimeError("MicrophoneSource.read() called before open() or after close()")
        read_started = self._clock()
        if self._watch is not None and self._watch.gone:
            # The server moved the stream to another source: what follows is not this device.
            self._fail(OSError(0, "it is no longer in the sound server's list"))
        try:
            # The one PortAudio call made outside the owner's lock: this stream has one reader.
            data = opened.stream.read(opened.frames_per_block, exception_on_overflow=False)
        except OSError as exc:
            self._fail(exc)
        self._overflow_detector.block_received(read_started)
        self.overflows = self._overflow_detector.count
        return self._converter.convert(bytes(data))

    def _fail(self, exc: OSError) -> NoReturn:
        name = self.device.name if self.device is not None else str(self._spec)
        what = noun(self.device)
        check = ("Check that the output is still there (sound settings)" if what != "microphone"
                 else "Check that it is connected")
        raise DeviceError(
            f'The {what} "{name}" disappeared or stopped working ({reason(exc)}). '
            f"{check}, then start a new session.",
            detail=repr(exc),
        ) from exc

    def close(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()
        opened, self._opened = self._opened, None
        if opened is not None:
            self.portaudio.close_stream(opened)
