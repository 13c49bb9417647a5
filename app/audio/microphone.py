"""Microphone capture with PyAudio (PortAudio): device lookup and a blocking 16 kHz mono source.

``list_input_devices`` and ``find_device`` run wherever the device is chosen (the settings dialog,
the command line); ``MicrophoneSource`` is opened, read and closed on the audio capture thread only:
PortAudio must not close a stream while another thread is blocked reading it, so stopping is done by
a flag the capture loop checks between reads (one block, 100 ms, at most).

PyAudio is imported lazily so that the rest of ``app.audio`` works (and is testable) without it, and
every device index is checked against the enumerated list before use: opening an index PortAudio
does not know crashes the process instead of raising.

Only ``stream.read`` is called while recording. ``get_read_available`` (and other status calls) can
hang forever inside ALSA's PulseAudio plugin once the sound server has died, whereas ``read`` raises;
so overflows are detected from timing alone (see ``_OverflowDetector``).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from app.audio.format import MAX_CHANNELS, Converter
from app.audio.source import DEFAULT_BLOCK_MS
from app.core.devices import InputDevice
from app.core.errors import DeviceError
from app.core.units import SAMPLE_RATE

NO_MICROPHONE_MESSAGE = (
    "No microphone was found. Connect one, or use --input FILE.wav to transcribe a recording instead."
)


def _load_pyaudio() -> Any:
    try:
        import pyaudio
    except ImportError as exc:
        raise DeviceError(
            "The microphone cannot be used because PyAudio is not installed. "
            "Reinstall Live Translate, or use --input FILE.wav.",
            detail=repr(exc),
        ) from exc
    return pyaudio


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__


# The ctypes callbacks handed to ALSA and JACK, kept alive for as long as the libraries may call them.
_quiet_handlers: dict[str, Any] = {}


def _quiet_alsa() -> None:
    """PortAudio probes every ALSA device it knows when PyAudio starts, and ALSA prints a line to
    stderr for each one that is missing (dozens on a machine without a sound card), flooding the
    terminal each time devices are listed. Install a no-op ALSA error handler, once. Errors that
    matter still reach us as PyAudio exceptions."""
    if "alsa" in _quiet_handlers or not sys.platform.startswith("linux"):
        return
    try:
        asound = ctypes.cdll.LoadLibrary("libasound.so.2")
    except OSError:
        return
    handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                    ctypes.c_char_p)
    _quiet_handlers["alsa"] = handler_type(lambda *_args: None)
    asound.snd_lib_error_set_handler(_quiet_handlers["alsa"])
    # PortAudio's JACK back end would otherwise try to start a JACK server and say so on stderr.
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        jack = ctypes.cdll.LoadLibrary("libjack.so.0")
    except OSError:
        return
    _quiet_handlers["jack"] = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(lambda _msg: None)
    jack.jack_set_error_function(_quiet_handlers["jack"])
    jack.jack_set_info_function(_quiet_handlers["jack"])


def _start_pyaudio(module: Any) -> Any:
    _quiet_alsa()
    try:
        return module.PyAudio()
    except OSError as exc:
        raise DeviceError(
            f"The audio system could not be started ({_reason(exc)}). Check the sound settings, "
            "or use --input FILE.wav.",
            detail=repr(exc),
        ) from exc


def list_input_devices(pa: Any = None) -> list[InputDevice]:
    """The devices that have input channels, in PortAudio's order. ``pa``: a PyAudio to reuse."""
    owned = pa is None
    if owned:
        pa = _start_pyaudio(_load_pyaudio())
    try:
        try:
            default_index = int(pa.get_default_input_device_info()["index"])
        except (OSError, KeyError):  # PortAudio raises IOError when there is no default input
            default_index = None
        devices = []
        for index in range(int(pa.get_device_count())):
            try:
                info = pa.get_device_info_by_index(index)
            except OSError:
                continue
            channels = int(info.get("maxInputChannels", 0))
            if channels <= 0:
                continue
            device_index = int(info.get("index", index))
            devices.append(
                InputDevice(
                    index=device_index,
                    name=str(info.get("name", f"Device {device_index}")),
                    default_sample_rate=int(info.get("defaultSampleRate") or 0),
                    max_input_channels=channels,
                    is_default=device_index == default_index,
                )
            )
        return devices
    finally:
        if owned:
            pa.terminate()


def _describe(devices: Sequence[InputDevice]) -> str:
    return "\n".join(f"  {d.index}: {d.name}{' (default)' if d.is_default else ''}" for d in devices)


def find_device(spec: str | int | None, devices: Sequence[InputDevice]) -> InputDevice:
    """Pick a device: None -> the default input; a number -> that index; text -> a name.

    Names match exactly first, then case-insensitively in full, then as a case-insensitive part of
    the name. Several partial matches are normal (Windows lists one microphone under each host API),
    so the default device wins among them, otherwise the lowest index.
    """
    if not devices:
        raise DeviceError(NO_MICROPHONE_MESSAGE)
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return next((d for d in devices if d.is_default), devices[0])
    if isinstance(spec, int) or spec.strip().isdecimal():
        index = int(spec)
        for device in devices:
            if device.index == index:
                return device
        raise DeviceError(
            f"There is no microphone number {index}. The microphones are:\n{_describe(devices)}\n"
            "Choose one of these by number or name."
        )
    for device in devices:
        if device.name == spec:
            return device
    wanted = spec.strip().casefold()
    matches = [d for d in devices if d.name.casefold() == wanted]
    matches = matches or [d for d in devices if wanted in d.name.casefold()]
    if matches:
        return next((d for d in matches if d.is_default), matches[0])
    raise DeviceError(
        f'There is no microphone called "{spec}". The microphones are:\n{_describe(devices)}\n'
        "Choose one of these by number or name."
    )


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
    """Blocking reads from one input device, returned as 16 kHz mono s16le blocks.

    Opens 16 kHz mono directly when the device offers it (PulseAudio and most drivers resample
    better than we do); otherwise records at the device's own rate and channel count and converts.
    """

    def __init__(
        self,
        device: str | int | None = None,
        *,
        block_ms: int = DEFAULT_BLOCK_MS,
        pyaudio_module: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if block_ms <= 0:
            raise ValueError(f"block_ms must be positive, not {block_ms}")
        self.description = "Microphone" if device is None else f"Microphone: {device}"
        self.overflows = 0
        self.device: InputDevice | None = None
        self.capture_rate = 0
        self.capture_channels = 0
        self._spec = device
        self._block_ms = block_ms
        self._module = pyaudio_module
        self._pa: Any = None
        self._stream: Any = None
        self._converter: Converter | None = None
        self._frames_per_block = 0
        self._clock = clock
        self._overflow_detector: _OverflowDetector | None = None

    def open(self) -> None:
        self.close()
        module = self._module if self._module is not None else _load_pyaudio()
        self._pa = _start_pyaudio(module)
        try:
            device = find_device(self._spec, list_input_devices(self._pa))
            rate, channels = self._choose_format(module, device)
            frames = max(1, round(rate * self._block_ms / 1000))
            try:
                self._stream = self._pa.open(
                    format=module.paInt16, channels=channels, rate=rate, input=True,
                    input_device_index=device.index, frames_per_buffer=frames,
                )
            except (OSError, ValueError) as exc:
                raise DeviceError(
                    f'The microphone "{device.name}" could not be opened ({_reason(exc)}). It may be in use '
                    "by another program or blocked by the system's privacy settings; close other programs "
                    "using it, check it is plugged in, and try again.",
                    detail=repr(exc),
                ) from exc
            try:
                latency_s = float(self._stream.get_input_latency() or 0.0)
            except OSError:
                latency_s = 0.0  # only tunes overflow detection
        except BaseException:
            self.close()
            raise
        self.device = device
        self.description = f"Microphone: {device.name}"
        self.capture_rate, self.capture_channels = rate, channels
        self._converter = Converter(sample_rate=rate, channels=channels, sample_width=2)
        self._frames_per_block = frames
        self._overflow_detector = _OverflowDetector(frames / rate, latency_s, self._clock)

    def _choose_format(self, module: Any, device: InputDevice) -> tuple[int, int]:
        native_rate = device.default_sample_rate
        candidates = [(SAMPLE_RATE, 1)]
        if native_rate > 0:
            most = min(device.max_input_channels, MAX_CHANNELS)
            candidates += [(native_rate, channels) for channels in dict.fromkeys((1, min(2, most), most))]
        for rate, channels in candidates:
            try:
                if self._pa.is_format_supported(
                    rate, input_device=device.index, input_channels=channels, input_format=module.paInt16
                ):
                    return rate, channels
            except (ValueError, OSError):  # PyAudio raises ValueError for "not supported"
                continue
        raise DeviceError(
            f'The microphone "{device.name}" offers no 16-bit recording format this app can use '
            f"(tried {SAMPLE_RATE} Hz and {native_rate} Hz). Choose another microphone."
        )

    def read(self) -> bytes | None:
        if self._stream is None or self._converter is None or self._overflow_detector is None:
            raise RuntimeError("MicrophoneSource.read() called before open() or after close()")
        read_started = self._clock()
        try:
            data = self._stream.read(self._frames_per_block, exception_on_overflow=False)
        except OSError as exc:
            name = self.device.name if self.device is not None else str(self._spec)
            raise DeviceError(
                f'The microphone "{name}" disappeared or stopped working ({_reason(exc)}). '
                "Check that it is connected, then start a new session.",
                detail=repr(exc),
            ) from exc
        self._overflow_detector.block_received(read_started)
        self.overflows = self._overflow_detector.count
        return self._converter.convert(bytes(data))

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            # A vanished device can fail to stop; the stream is closed and PortAudio ended regardless.
            for step in (stream.stop_stream, stream.close):
                with contextlib.suppress(OSError):
                    step()
        pa, self._pa = self._pa, None
        if pa is not None:
            pa.terminate()
