"""One list of input devices from what PortAudio and the sound server each know.

Pure; any thread (``app.audio.portaudio`` calls it with a fresh PortAudio listing). With a sound
server (PulseAudio, PipeWire), its sources are the devices, under their descriptions, recorded
through PortAudio's ``pulse`` device (or ``default``, which leads to it); the PortAudio names of the
hardware the server already uses become aliases, so a name saved by an earlier version still finds
its device. An output's monitor is listed as "<output> — what you hear" (its server description,
"Monitor of <output>", stays an alias). Without a server, PortAudio's own devices are listed.
Either way PortAudio's names for the system's default (``default``, ``pulse``...) are kept as
``SYSTEM`` devices, which the picker shows once, as "System default".
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from app.audio.sound_server import ServerListing
from app.core.devices import DEFAULT_DEVICE_NAMES, HEARD_SUFFIX, DeviceKind, InputDevice

MONITOR_PREFIX = "Monitor of "  # PulseAudio's and PipeWire's description of an output's monitor


def monitor_label(description: str) -> str:
    """ "Monitor of Built-in Audio Analog Stereo" -> "Built-in Audio Analog Stereo — what you hear"."""
    name = description.strip()
    name = name[len(MONITOR_PREFIX):] if name.startswith(MONITOR_PREFIX) else name
    return f"{name}{HEARD_SUFFIX}"


def merge(portaudio: Sequence[InputDevice], server: ServerListing | None) -> list[InputDevice]:
    system = [replace(d, kind=DeviceKind.SYSTEM) for d in portaudio if d.name in DEFAULT_DEVICE_NAMES]
    hardware = [d for d in portaudio if d.name not in DEFAULT_DEVICE_NAMES]
    route = next((d for d in system if d.name == "pulse"), None) or next(
        (d for d in system if d.name == "default"), None)
    if server is None or route is None or not server.sources:
        return [*system, *hardware]
    seen: Counter[str] = Counter()
    covered: set[str] = set()
    sources: list[InputDevice] = []
    for source in server.sources:
        label = source.description.strip() or source.name
        if source.monitor_of:
            label = monitor_label(label)
        seen[label] += 1
        if seen[label] > 1:
            label = f"{label} ({seen[label]})"  # two identical headsets stay two choices
        covered.update(source.portaudio_names)
        # A monitor is "the default" when it carries the default output (what --system-audio records).
        default = (source.monitor_of == server.default_sink if source.monitor_of
                   else source.name == server.default_source)
        aliases = (source.name, *((source.description,) if source.description != label else ()),
                   *source.portaudio_names)
        sources.append(InputDevice(
            index=route.index, name=label, default_sample_rate=route.default_sample_rate,
            max_input_channels=route.max_input_channels, is_default=default,
            kind=DeviceKind.MONITOR if source.monitor_of else DeviceKind.MICROPHONE, server_name=source.name,
            aliases=aliases))
    # Hardware the server does not use (rare) stays reachable under PortAudio's name.
    return [*system, *sources, *(d for d in hardware if d.name not in covered)]
