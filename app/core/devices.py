"""An audio input device as the rest of the app sees it, whatever listed it.

Pure data; any thread. ``app.audio`` builds these from the sound server's sources (PulseAudio or
PipeWire: their descriptions are the names people know) and from PortAudio; the window's device
picker and the command line's ``--list-devices`` show them. Devices are remembered by ``name``
(indices shift when devices are plugged in); ``aliases`` are other names of the same device (the
PortAudio name earlier versions saved, the sound server's id), so a saved name is found again.

The list is one list of every kind of input: the picker shows ``MICROPHONE`` ones under
Microphones, ``MONITOR`` ones (what an output plays: a PulseAudio/PipeWire monitor on Linux, a
WASAPI loopback device on Windows with PyAudioWPatch, a loopback input such as BlackHole on macOS)
under System audio; ``SYSTEM`` ones are PortAudio's names for "the system's default" (``default``,
``pulse``...), which the picker shows once, as "System default". For a ``MONITOR``, ``is_default``
means it carries the default output (what ``SYSTEM_AUDIO`` records).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SYSTEM_DEFAULT = "System default"
# What the computer plays through its default output (that output's monitor, on Linux): the
# name ``--system-audio`` stands for, and what the window remembers when that entry is chosen.
SYSTEM_AUDIO = "System audio"
HEARD_SUFFIX = " — what you hear"  # after an output's name: "Built-in speakers — what you hear"
# PortAudio (ALSA) devices that only mean "whatever the sound settings choose": one "System default".
DEFAULT_DEVICE_NAMES = ("default", "sysdefault", "pulse", "pipewire")


class DeviceKind(str, Enum):
    MICROPHONE = "microphone"  # an input: a microphone, a headset, a line in
    MONITOR = "monitor"  # the sound an output plays ("Monitor of Built-in Audio")
    SYSTEM = "system"  # the system's default input, under one of PortAudio's names


@dataclass(frozen=True)
class InputDevice:
    """One device that can record; ``index`` is only valid for the PortAudio instance that listed it
    (for a sound-server source it is the PortAudio device that reaches the server)."""

    index: int
    name: str
    default_sample_rate: int
    max_input_channels: int
    is_default: bool
    kind: DeviceKind = DeviceKind.MICROPHONE
    server_name: str | None = None  # the sound server's source, recorded through ``index``
    aliases: tuple[str, ...] = ()


def means_system_audio(name: str | None) -> bool:
    """A saved or typed name that stands for the default output's sound (``--system-audio``)."""
    return name is not None and name.strip().casefold() == SYSTEM_AUDIO.casefold()


def means_system_default(name: str | None) -> bool:
    """A saved or typed device name that stands for the system's default input."""
    return name is None or not name.strip() or name.strip() in DEFAULT_DEVICE_NAMES \
        or name.strip().casefold() == SYSTEM_DEFAULT.casefold()
