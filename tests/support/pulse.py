"""A private PulseAudio daemon that gives tests a virtual microphone and virtual speakers (test
support, main test thread).

There is no sound card in CI, so the tests make one: a PulseAudio daemon with two null sinks.
``virtual_speaker`` ("Virtual Speakers") is the default output, the computer's speakers: whatever
``play_system`` plays into it comes out of its monitor, ``virtual_speaker.monitor``, the system audio
("Virtual Speakers — what you hear" in the app). ``mic_feed`` is a hidden wire: whatever ``play``
plays into it comes out of ``virtual_mic`` ("Virtual Microphone"), a source remapped from
``mic_feed.monitor``, which is the default source: the sound server lists it as a microphone, as it
would a real one. So a test can speak into the microphone and play the other side of a call on the
speakers at once, and tell which words came from where. PortAudio reaches that source through ALSA's ``pulse`` plugin (libasound2-plugins:
``/usr/share/alsa/alsa.conf.d/50-pulseaudio.conf`` defines the ``pulse`` PCM and ``99-pulse.conf``
points ``default`` at it while a server is reachable), so no ALSA config file has to be written.

Everything lives in one temporary folder: the daemon gets its own HOME, runtime and state dirs, and
clients find it through environment variables only (``PULSE_SERVER``, ``PULSE_CLIENTCONFIG`` with
autospawn and shared memory off, ``PULSE_COOKIE``), so nothing is written to the real home folder and
no stray daemon is spawned. Running as root works in per-user mode: pulseaudio only warns ("not intended to be run as
root"); ``--system`` is not needed. PortAudio lists devices when ``PyAudio()`` is created, so the
variables are exported into ``os.environ`` before the test creates it, and restored afterwards.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SINK_NAME = "virtual_speaker"  # the speakers: the default output
SPEAKERS_DESCRIPTION = "Virtual Speakers"
MONITOR_NAME = f"{SINK_NAME}.monitor"  # the system audio
SYSTEM_AUDIO_LABEL = f"{SPEAKERS_DESCRIPTION} — what you hear"  # the monitor's name in the app
MIC_FEED = "mic_feed"  # a null sink whose monitor the virtual microphone is remapped from
SOURCE_NAME = "virtual_mic"  # a source of its own over mic_feed's monitor: a microphone, as the server lists it
MICROPHONE_DESCRIPTION = "Virtual Microphone"
ALSA_DEVICE_NAME = "pulse"  # the PortAudio (ALSA) device that reads the default source
_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0


class PulseUnavailable(RuntimeError):
    """The private daemon could not be started; the message includes the end of its log."""


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.05) -> bool:
    """Bounded polling for things that offer no event to wait on (a daemon becoming ready)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


@dataclass
class VirtualMicrophone:
    """A running daemon: ``env`` holds the variables a client needs to reach it."""

    folder: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    device_name: str = ALSA_DEVICE_NAME
    description: str = MICROPHONE_DESCRIPTION  # its name in the sound server's list, and the app's
    _players: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def client_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def play(self, wav_path: Path, *, timeout_s: float = 60.0, into: str = MIC_FEED) -> None:
        """Play a WAV into the virtual microphone (``into=SINK_NAME``: the speakers); return when done."""
        subprocess.run(
            ["paplay", f"--device={into}", str(wav_path)],
            env=self.client_env(), check=True, timeout=timeout_s, capture_output=True,
        )

    def play_system(self, wav_path: Path, *, timeout_s: float = 60.0) -> None:
        """Play a WAV on the virtual speakers (what the computer plays: the system audio)."""
        self.play(wav_path, timeout_s=timeout_s, into=SINK_NAME)

    def start_playing(self, wav_path: Path, *, into: str = MIC_FEED) -> subprocess.Popen[bytes]:
        """Start playing (into the microphone, or ``into=SINK_NAME`` the speakers) and return at
        once; the caller waits on the returned process."""
        player = subprocess.Popen(
            ["paplay", f"--device={into}", str(wav_path)],
            env=self.client_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self._players.append(player)
        return player

    def pactl(self, *args: str) -> str:
        done = subprocess.run(
            ["pactl", *args], env=self.client_env(), check=True, timeout=10, capture_output=True, text=True
        )
        return done.stdout

    def log_tail(self, lines: int = 30) -> str:
        log = self.folder / "pulseaudio.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def unplug_speakers(self) -> None:
        """Remove the virtual speakers (and so the system audio), as when a USB headset or an HDMI
        screen is unplugged; the microphone stays."""
        for line in self.pactl("list", "short", "modules").splitlines():
            index, name, *rest = line.split("\t")
            if name == "module-null-sink" and f"sink_name={SINK_NAME}" in " ".join(rest):
                self.pactl("unload-module", index)

    def unplug(self) -> None:
        """Remove the virtual microphone (and the speakers), as when a USB headset is pulled out."""
        modules = self.pactl("list", "short", "modules").splitlines()
        for line in reversed(modules):  # the remapped source first: it goes with its master
            index, name = line.split("\t")[:2]
            if name in ("module-null-sink", "module-remap-source"):
                self.pactl("unload-module", index)

    def stop(self) -> None:
        for player in self._players:
            if player.poll() is None:
                player.kill()
            player.wait(timeout=_STOP_TIMEOUT_S)
            if player.stderr is not None:
                player.stderr.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=_STOP_TIMEOUT_S)


def _write_config(folder: Path) -> dict[str, Path]:
    paths = {name: folder / name for name in ("home", "runtime", "state", "config")}
    for path in paths.values():
        path.mkdir(mode=0o700)
    socket = folder / "native"
    cookie = folder / "cookie"
    cookie.write_bytes(secrets.token_bytes(256))
    cookie.chmod(0o600)
    script = folder / "default.pa"
    # auth-anonymous: the socket sits in a private 0700 folder, so anyone who can reach it is us.
    script.write_text(
        f"load-module module-native-protocol-unix socket={socket} auth-anonymous=1 auth-cookie={cookie}\n"
        f"load-module module-null-sink sink_name={SINK_NAME} rate=48000 channels=2 "
        f"sink_properties=\"device.description='{SPEAKERS_DESCRIPTION}'\"\n"
        f"load-module module-null-sink sink_name={MIC_FEED} rate=48000 channels=2 "
        f"sink_properties=\"device.description='Microphone feed'\"\n"
        f"load-module module-remap-source master={MIC_FEED}.monitor source_name={SOURCE_NAME} "
        f"source_properties=\"device.description='{MICROPHONE_DESCRIPTION}'\"\n"
        f"set-default-sink {SINK_NAME}\n"
        f"set-default-source {SOURCE_NAME}\n"
    )
    client_conf = folder / "client.conf"
    # enable-shm = no: if a daemon dies while a client holds shared-memory blocks, libpulse deadlocks
    # in pa_memimport_free (its mainloop thread waits for the blocks with the lock held, the reading
    # thread waits for the lock); without SHM, reads fail with an error instead of hanging the run.
    client_conf.write_text("autospawn = no\nenable-shm = no\n")
    return {**paths, "socket": socket, "cookie": cookie, "script": script, "client_conf": client_conf}


@contextmanager
def virtual_microphone() -> Iterator[VirtualMicrophone]:
    """Start a private PulseAudio daemon with a virtual microphone; stop it and clean up afterwards."""
    if shutil.which("pulseaudio") is None or shutil.which("paplay") is None:
        raise PulseUnavailable("pulseaudio and paplay are needed (apt-get install pulseaudio pulseaudio-utils)")
    folder = Path(tempfile.mkdtemp(prefix="live-translate-pulse-"))
    paths = _write_config(folder)
    client_env = {
        "PULSE_SERVER": f"unix:{paths['socket']}",
        "PULSE_CLIENTCONFIG": str(paths["client_conf"]),
        "PULSE_COOKIE": str(paths["cookie"]),
    }
    daemon_env = {
        **os.environ,
        **client_env,
        "HOME": str(paths["home"]),
        "XDG_CONFIG_HOME": str(paths["config"]),
        "XDG_RUNTIME_DIR": str(paths["runtime"]),
        "PULSE_RUNTIME_PATH": str(paths["runtime"]),
        "PULSE_STATE_PATH": str(paths["state"]),
    }
    command = [
        "pulseaudio", "-n", "-F", str(paths["script"]),
        # exit-idle-time: a daemon whose test process died (SIGKILL) leaves a minute after its last
        # client instead of lingering; during a test PortAudio keeps a connection open.
        "--daemonize=no", "--exit-idle-time=60", "--disallow-exit", "--use-pid-file=no",
        "--realtime=no", "--high-priority=no", "--log-target=stderr", "--log-level=info",
    ]
    with open(folder / "pulseaudio.log", "wb") as log:
        process = subprocess.Popen(
            command, env=daemon_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    mic = VirtualMicrophone(folder=folder, env=client_env, process=process)
    saved_env = {name: os.environ.get(name) for name in client_env}
    try:
        def ready() -> bool:
            if process.poll() is not None:
                return True  # exited: reported below
            probe = subprocess.run(
                ["pactl", "info"], env=mic.client_env(), capture_output=True, timeout=10
            )
            return probe.returncode == 0

        if not wait_until(ready, timeout_s=_START_TIMEOUT_S) or process.poll() is not None:
            raise PulseUnavailable(
                f"PulseAudio did not start (exit code {process.poll()}). Its log:\n{mic.log_tail()}"
            )
        os.environ.update(client_env)
        yield mic
    finally:
        mic.stop()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def virtual_mic() -> Iterator[VirtualMicrophone]:
    """Pytest fixture: import it into a test module (``from support.pulse import virtual_mic``)."""
    with virtual_microphone() as mic:
        yield mic
