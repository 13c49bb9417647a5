"""An audio input device as the rest of the app sees it, whatever listed it.

Pure data; any thread. ``app.audio`` builds these from the sound server's sources (PulseAudio or
PipeWire: their descriptions are the names people know) and from PortAudio; the window's device
picker and the command line's ``--list-devices`` show them. Devices are remembered by ``name``
(indices shift when devices are plugged in); ``aliases`` are other names of the same device (the
PortAudio name earlier versions saved, the sound server's id), so a saved name is found again.

The list is one list of every kind of input: the microphone picker shows ``MICROPHONE`` ones;
``MONITOR`` ones carry what an output plays, for a system-audio source; ``SYSTEM`` ones are
PortAudio's names for "the system's default" (``default``, ``pulse``...), which the picker shows
once, as "System default".
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SYSTEM_DEFAULT = "System default"
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


def means_system_default(name: str | None) -> bool:
    """A saved or typed device name that stands for the system's default input."""
    return name is None or not name.strip() or name.strip() in DEFAULT_DEVICE_NAMES \
        or name.strip().casefold() == SYSTEM_DEFAULT.casefold()
