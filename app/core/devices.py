"""An audio input device as the rest of the app sees it, whatever listed it.

Pure data; any thread. ``app.audio`` builds these from PortAudio; the window's device picker and the
command line's ``--list-devices`` show them. Devices are remembered by ``name``: indices shift when
devices are plugged in.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputDevice:
    """One device that can record; ``index`` is only valid for the PortAudio instance that listed it."""

    index: int
    name: str
    default_sample_rate: int
    max_input_channels: int
    is_default: bool
