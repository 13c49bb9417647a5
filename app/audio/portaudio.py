"""The one owner of PortAudio (PyAudio) in the process: starting it, listing devices, opening and
closing streams, one call at a time.

Why one owner: PortAudio is not safe to drive from two threads at once. The window re-scans devices
on a worker thread when it is activated, and the recording opens its stream on the audio thread;
when both ran together (a click on Record in a background window) the process died with SIGSEGV or
a heap error, with no dialog and nothing in the log. Every PortAudio call of the app goes through
``PortAudio`` (``PORTAUDIO``, the process's instance), under one lock, so they never overlap.

Listing devices needs a fresh PortAudio (its device list is fixed when it starts), and restarting it
would pull the rug from under an open stream; so while a stream is open, ``devices()`` answers from
the last listing. Reading an open stream is the only call made outside the lock: a stream has one
reader (the capture thread) and the other calls never touch it.

Any thread may call it; a call waits at most ``LOCK_TIMEOUT_S`` for another to finish (a sound server
that died can hang a call inside ALSA) and then raises ``DeviceError``. Every device index is checked
against the listing before use: opening an index PortAudio does not know crashes the process.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.audio.device_list import merge
from app.audio.format import MAX_CHANNELS
from app.audio.sound_server import ServerListing, list_sources
from app.core.devices import DeviceKind, InputDevice, means_system_audio, means_system_default
from app.core.errors import DeviceError
from app.core.units import SAMPLE_RATE

log = logging.getLogger("app.audio")

NO_MICROPHONE_MESSAGE = (
    "No microphone was found. Connect one, or use --input FILE.wav to transcribe a recording instead."
)



def no_system_audio_message() -> str:
    """Why there is no system-audio source here, and how to get one, for this OS."""
    if sys.platform.startswith("win"):
        return ("No system-audio source was found. On Windows it needs the PyAudioWPatch build of PyAudio "
                "(pip install PyAudioWPatch), which offers each output as a loopback input.")
    if sys.platform == "darwin":
        return ("No system-audio source was found. On macOS install a loopback device such as BlackHole, "
                "send the output to it (Audio MIDI Setup: a multi-output device), then choose it here.")
    return ("No system-audio source was found: recording what the computer plays needs PulseAudio or "
            "PipeWire (with its PulseAudio service, pipewire-pulse). Check that one is running with: pactl info")


# Input devices that carry what an output plays, by the name PortAudio gives them: loopback drivers
# on macOS (BlackHole, Loopback, Soundflower) show up as ordinary inputs.
LOOPBACK_NAMES = ("blackhole", "loopback", "soundflower")
LOCK_TIMEOUT_S = 10.0
PULSE_SOURCE = "PULSE_SOURCE"


def load_pyaudio() -> Any:
    try:
        import pyaudio
    except ImportError as exc:
        raise DeviceError(
            "The microphone cannot be used because PyAudio is not installed. "
            "Reinstall Live Translate, or use --input FILE.wav.",
            detail=repr(exc),
        ) from exc
    return pyaudio


def reason(exc: BaseException) -> str:
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


def list_input_devices(pa: Any) -> list[InputDevice]:
    """The devices of a running PyAudio that have input channels, in PortAudio's order."""
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
        name = str(info.get("name", f"Device {device_index}"))
        # PyAudioWPatch (Windows) marks WASAPI loopback inputs; a loopback driver is one by its name.
        loopback = bool(info.get("isLoopbackDevice")) or any(word in name.casefold() for word in LOOPBACK_NAMES)
        devices.append(InputDevice(
            index=device_index,
            name=name,
            default_sample_rate=int(info.get("defaultSampleRate") or 0),
            max_input_channels=channels,
            is_default=device_index == default_index and not loopback,
            kind=DeviceKind.MONITOR if loopback else DeviceKind.MICROPHONE,
        ))
    return devices


def _describe(devices: Sequence[InputDevice]) -> str:
    shown = [d for d in devices if d.kind is not DeviceKind.SYSTEM] or list(devices)

    def line(d: InputDevice) -> str:
        return f"  {d.name}" if d.server_name else f"  {d.index}: {d.name}{' (default)' if d.is_default else ''}"

    microphones = [line(d) for d in shown if d.kind is not DeviceKind.MONITOR]
    monitors = [line(d) for d in shown if d.kind is DeviceKind.MONITOR]
    return "\n".join([*microphones, *(["System audio:", *monitors] if monitors else [])])


def _default(devices: Sequence[InputDevice]) -> InputDevice:
    """PortAudio's default first: it follows the sound settings even when they change later. Never
    an output's monitor: "the default input" is a microphone."""
    inputs = [d for d in devices if d.kind is not DeviceKind.MONITOR]
    if not inputs:
        raise DeviceError(NO_MICROPHONE_MESSAGE)
    system = [d for d in inputs if d.kind is DeviceKind.SYSTEM]
    for candidates in ([d for d in system if d.is_default], [d for d in inputs if d.is_default], system):
        if candidates:
            return candidates[0]
    return inputs[0]


def default_monitor(devices: Sequence[InputDevice]) -> InputDevice:
    """What ``--system-audio`` records: the default output's monitor, else the only (or first) one."""
    monitors = [d for d in devices if d.kind is DeviceKind.MONITOR]
    if not monitors:
        raise DeviceError(no_system_audio_message())
    return next((d for d in monitors if d.is_default), monitors[0])


def noun(device: InputDevice | None) -> str:
    """How messages call the device: "the microphone", or "the system-audio source"."""
    return "system-audio source" if device is not None and device.kind is DeviceKind.MONITOR else "microphone"


def find_device(spec: str | int | None, devices: Sequence[InputDevice]) -> InputDevice:
    """Pick a device: None -> the default input; a number -> that PortAudio index; text -> a name.

    ``SYSTEM_AUDIO`` ("System audio") is the default output's monitor (``default_monitor``).
    Names match exactly first (the sound server's description, or PortAudio's name), then a name
    the device is also known by (an earlier version's saved PortAudio name, the server's id), then
    case-insensitively in full, then as a case-insensitive part of the name. "System default" (and
    ``default``, ``pulse`` ... when no device has that name) is the default. Several partial matches
    are normal (Windows lists one microphone under each host API), so the default device wins among
    them, otherwise the first.
    """
    if isinstance(spec, str) and means_system_audio(spec):
        return default_monitor(devices)
    if not devices:
        raise DeviceError(NO_MICROPHONE_MESSAGE)
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return _default(devices)
    if isinstance(spec, int) or spec.strip().isdecimal():
        index = int(spec)
        for device in sorted(devices, key=lambda d: d.server_name is not None):  # PortAudio's own first
            if device.index == index:
                return device
        raise DeviceError(
            f"There is no microphone number {index}. The microphones are:\n{_describe(devices)}\n"
            "Choose one of these by number or name."
        )
    for device in devices:
        if device.name == spec:
            return device
    for device in devices:
        if spec in device.aliases:
            return device
    if means_system_default(spec):
        return _default(devices)
    wanted = spec.strip().casefold()
    matches = [d for d in devices if d.name.casefold() == wanted]
    matches = matches or [d for d in devices if wanted in d.name.casefold()]
    if matches:
        return next((d for d in matches if d.is_default), matches[0])
    raise DeviceError(
        f'There is no microphone called "{spec}". The microphones are:\n{_describe(devices)}\n'
        "Choose one of these by number or name."
    )


@contextlib.contextmanager
def _pulse_source(name: str | None) -> Iterator[None]:
    """While PortAudio opens its ``pulse`` device, point it at the sound server's source ``name``:
    the ALSA pulse plugin connects when the device is opened and records the default source,
    which ``PULSE_SOURCE`` names for this client. Under the PortAudio lock: one open at a time."""
    if name is None:
        yield
        return
    before = os.environ.get(PULSE_SOURCE)
    os.environ[PULSE_SOURCE] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PULSE_SOURCE, None)
        else:
            os.environ[PULSE_SOURCE] = before


@dataclass(frozen=True)
class OpenedStream:
    """An input stream opened by the owner; only its ``stream.read`` may be called directly."""

    stream: Any
    device: InputDevice
    rate: int
    channels: int
    frames_per_block: int
    latency_s: float


def _no_server() -> ServerListing | None:
    return None


class PortAudio:
    """See the module docstring. ``module`` is the ``pyaudio`` module (tests hand in a stand-in);
    ``sound_server`` lists the sound server's sources (``app.audio.sound_server.list_sources`` for
    the real PyAudio; a stand-in module has no server behind it unless a test hands one in)."""

    def __init__(self, module: Any = None, *,
                 sound_server: Callable[[], ServerListing | None] | None = None) -> None:
        self._module = module
        self._server = sound_server or (list_sources if module is None else _no_server)
        self._lock = threading.Lock()
        self._pa: Any = None
        self._open: set[int] = set()  # id() of the streams this owner opened and has not closed
        self._devices: list[InputDevice] | None = None

    @property
    def open_streams(self) -> int:
        with self._lock:
            return len(self._open)

    def devices(self) -> list[InputDevice]:
        """The input devices now (``app.audio.device_list.merge``: the sound server's sources and
        PortAudio's devices): a fresh PortAudio listing when no stream is open, else the last one."""
        server = self._server()  # outside the lock: it runs a program
        with self._owned("list the audio devices"):
            if not self._open or self._devices is None:
                self._restart_locked()
                self._devices = list_input_devices(self._pa)
            return merge(self._devices, server)

    def open_input(self, spec: str | int | None, *, block_ms: int) -> OpenedStream:
        """Find the device (by name or index; None: the default) and open a 16-bit input stream,
        16 kHz mono when the device offers it, else its own rate and channels. A sound-server
        source is opened through PortAudio's ``pulse`` device. Raises DeviceError."""
        server = None if isinstance(spec, int) or means_system_default(spec) else self._server()
        with self._owned("open the microphone"):
            if not self._open:
                self._restart_locked()  # a fresh PortAudio sees devices plugged in since it started
            raw = list_input_devices(self._pa)
            self._devices = raw
            device = find_device(spec, merge(raw, server))
            rate, channels = self._choose_format_locked(device)
            frames = max(1, round(rate * block_ms / 1000))
            module = self._pyaudio()
            try:
                with _pulse_source(device.server_name):
                    stream = self._pa.open(format=module.paInt16, channels=channels, rate=rate, input=True,
                                           input_device_index=device.index, frames_per_buffer=frames)
            except (OSError, ValueError) as exc:
                raise DeviceError(
                    f'The {noun(device)} "{device.name}" could not be opened ({reason(exc)}). It may be in use '
                    "by another program or blocked by the system's privacy settings; close other programs "
                    "using it, check it is plugged in, and try again.",
                    detail=repr(exc),
                ) from exc
            self._open.add(id(stream))
            try:
                latency_s = float(stream.get_input_latency() or 0.0)
            except OSError:
                latency_s = 0.0  # only tunes overflow detection
            return OpenedStream(stream, device, rate, channels, frames, latency_s)

    def close_stream(self, opened: OpenedStream) -> None:
        """Stop and close a stream this owner opened; safe to call once per stream."""
        with self._owned("close the microphone"):
            if id(opened.stream) not in self._open:
                return
            self._open.discard(id(opened.stream))
            # A vanished device can fail to stop; the stream is forgotten regardless.
            for step in (opened.stream.stop_stream, opened.stream.close):
                with contextlib.suppress(OSError):
                    step()

    def shutdown(self) -> None:
        """End PortAudio (at exit, or in tests); a later call starts it again."""
        with self._owned("stop the audio system"):
            self._terminate_locked()

    # --- under the lock -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _owned(self, what: str) -> Any:
        if not self._lock.acquire(timeout=LOCK_TIMEOUT_S):
            raise DeviceError(f"The audio system is not responding, so the app could not {what}. "
                              "Restart the sound server (or the computer), then try again.")
        try:
            yield
        finally:
            self._lock.release()

    def _pyaudio(self) -> Any:
        if self._module is None:
            self._module = load_pyaudio()
        return self._module

    def _restart_locked(self) -> None:
        self._terminate_locked()
        _quiet_alsa()
        try:
            self._pa = self._pyaudio().PyAudio()
        except OSError as exc:
            raise DeviceError(
                f"The audio system could not be started ({reason(exc)}). Check the sound settings, "
                "or use --input FILE.wav.",
                detail=repr(exc),
            ) from exc

    def _terminate_locked(self) -> None:
        pa, self._pa = self._pa, None
        if pa is not None:
            if self._open:
                log.warning("stopping PortAudio with %d streams still open", len(self._open))
                self._open.clear()
            pa.terminate()

    def _choose_format_locked(self, device: InputDevice) -> tuple[int, int]:
        module = self._pyaudio()
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
            f'The {noun(device)} "{device.name}" offers no 16-bit recording format this app can use '
            f"(tried {SAMPLE_RATE} Hz and {native_rate} Hz). Choose another microphone."
        )


PORTAUDIO = PortAudio()  # the process's owner: every PortAudio call of the app goes through it
