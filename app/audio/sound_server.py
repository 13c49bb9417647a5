"""The sound server's own list of audio inputs (PulseAudio, or PipeWire through its PulseAudio
service), with the names people recognise: "Built-in Audio Analog Stereo", "USB headset".

Qt-free; any thread; a listing runs ``pactl`` twice (pulseaudio-utils, which PipeWire desktops
use too), about 10 ms each, never under the PortAudio lock. ``list_sources`` returns None when no
sound server answers (no ``pactl``, no server, a timeout): the caller then falls back to PortAudio's
own device names. The text output is parsed with ``LC_ALL=C``, which every version of ``pactl``
writes the same way (``--format=json`` needs PulseAudio 16).

Every source is listed, the monitors of outputs too ("Monitor of Built-in Audio": what the computer
plays), marked ``monitor_of``: the microphone picker lists them under their own heading, as system
audio; the default output's monitor (``Default Sink`` + ``.monitor``) is what ``--system-audio``
records. How a chosen source is recorded: PortAudio opens its ALSA ``pulse`` device with
``PULSE_SOURCE`` set to the source's name (``app.audio.portaudio``).
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger("app.audio")

__all__ = ["ServerListing", "ServerSource", "SourceWatch", "list_sources", "parse_default_sink", "parse_default_source",
           "parse_sources"]

PACTL_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ServerSource:
    name: str  # the server's id: "alsa_input.pci-0000_00_1f.3.analog-stereo"
    description: str  # what people see: "Built-in Audio Analog Stereo"
    monitor_of: str | None = None  # the output (sink) whose sound it carries; None for a real input
    properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def portaudio_names(self) -> tuple[str, ...]:
        """The name PortAudio gives the same hardware ("HDA Intel PCH: ALC3246 Analog (hw:0,0)"),
        which earlier versions of the app saved: a saved name is found again through it."""
        p = self.properties
        card, device = p.get("alsa.card"), p.get("alsa.device")
        card_name, pcm_name = p.get("alsa.card_name"), p.get("alsa.name")
        if not (card and device and card_name and pcm_name):
            return ()
        return (f"{card_name}: {pcm_name} (hw:{card},{device})",)


@dataclass(frozen=True)
class ServerListing:
    sources: tuple[ServerSource, ...]
    default_source: str | None  # the name of the source "System default" records from now
    default_sink: str | None = None  # the output the computer plays through now (its monitor: "System audio")


Runner = Callable[[list[str]], str | None]


def _run_pactl(args: list[str]) -> str | None:
    pactl = shutil.which("pactl")
    if pactl is None:
        return None
    try:
        done = subprocess.run([pactl, *args], capture_output=True, text=True, timeout=PACTL_TIMEOUT_S,
                              env={**os.environ, "LC_ALL": "C"}, errors="replace")
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("pactl %s failed: %s", " ".join(args), exc)
        return None
    if done.returncode != 0:
        log.info("pactl %s: exit %s, %s", " ".join(args), done.returncode, done.stderr.strip()[:200])
        return None
    return done.stdout


def list_sources(run: Runner = _run_pactl) -> ServerListing | None:
    """The server's sources now, or None when no sound server answers."""
    text = run(["list", "sources"])
    if text is None:
        return None
    info = run(["info"])
    return ServerListing(tuple(parse_sources(text)), parse_default_source(info or ""),
                         parse_default_sink(info or ""))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_sources(text: str) -> list[ServerSource]:
    """Sources from ``LC_ALL=C pactl list sources``: blocks that start with ``Source #N``, fields
    indented by one tab, properties by two (``key = "value"``)."""
    sources: list[ServerSource] = []
    block: dict[str, str] = {}
    props: dict[str, str] = {}
    section = ""

    def close() -> None:
        name = block.get("Name")
        if name:
            monitor = block.get("Monitor of Sink", "n/a")
            is_monitor = monitor not in ("", "n/a") or props.get("device.class") == "monitor"
            sources.append(ServerSource(name=name, description=block.get("Description") or name,
                                        monitor_of=(monitor if monitor not in ("", "n/a") else "?")
                                        if is_monitor else None,
                                        properties=dict(props)))

    for raw in text.splitlines():
        if raw.startswith("Source #"):
            close()
            block, props, section = {}, {}, ""
            continue
        if raw.startswith("\t\t"):
            if section == "Properties" and " = " in raw:
                key, _, value = raw.strip().partition(" = ")
                props[key] = _unquote(value)
            continue
        if raw.startswith("\t"):
            key, sep, value = raw.strip().partition(":")
            if sep:
                section = key
                block.setdefault(key, value.strip())
    close()
    return sources


def _info_field(text: str, name: str) -> str | None:
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == name:
            return value.strip() or None
    return None


def parse_default_source(text: str) -> str | None:
    """``Default Source`` from ``LC_ALL=C pactl info``."""
    return _info_field(text, "Default Source")


def parse_default_sink(text: str) -> str | None:
    """``Default Sink`` from ``LC_ALL=C pactl info`` (what ``pactl get-default-sink`` prints)."""
    return _info_field(text, "Default Sink")


WATCH_INTERVAL_S = 1.0


class SourceWatch:
    """Notices that a source being recorded is gone (an output unplugged, a headset pulled out).

    When a source disappears, PulseAudio (and PipeWire) move its recording streams to another
    source, the default microphone usually, instead of ending them: the recording would go on,
    silently hearing something else. So while a stream is open a daemon thread lists the sources
    every ``interval_s`` (``pactl list short sources``, local, ~10 ms); ``gone`` turns true once the
    name is missing from a listing that worked. Any thread reads ``gone``; ``stop`` ends the thread.
    """

    def __init__(self, name: str, *, interval_s: float = WATCH_INTERVAL_S, run: Runner = _run_pactl) -> None:
        self.name = name
        self.gone = False
        self._interval_s = interval_s
        self._run = run
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="source-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopped.wait(self._interval_s):
            text = self._run(["list", "short", "sources"])
            if text is None:
                continue  # the server did not answer: say nothing rather than guess
            names = {parts[1] for line in text.splitlines() if len(parts := line.split("\t")) > 1}
            if self.name not in names:
                log.warning("the source %s is gone", self.name)
                self.gone = True
                return

    def stop(self) -> None:
        self._stopped.set()
