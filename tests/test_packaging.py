"""The packaged app as a user gets it: the frozen folder (dist/live-translate/) and the .deb,
installed with apt and removed again.

``bash packaging/smoke`` builds both (packaging/build, about a minute) and runs this module with
``LIVE_TRANSLATE_BUILD`` pointing at dist/; CI does so after the test suite (.ci/run). Without a
build every test here is skipped, so the everyday suite stays fast. Each program runs as a fresh
user would run it: a private HOME, ``PATH=/usr/bin:/bin`` (no .venv), no ``PYTHON*`` variables,
and the local imitations of AssemblyAI's services instead of the network.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import cli_env
from support.packaging_scripts import load_packaging_script, pyproject_version
from support.pulse import ALSA_DEVICE_NAME, VirtualMicrophone
from support.speech import make_speech_wav

make_deb = load_packaging_script("make_deb")
BUILD = Path(os.environ["LIVE_TRANSLATE_BUILD"]) if os.environ.get("LIVE_TRANSLATE_BUILD") else None
pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(BUILD is None, reason="no build to check: bash packaging/smoke builds one and runs these"),
]

KEY = "packaging-smoke-key-123"
SENTENCES = ["Hello and welcome to the meeting.", "Thank you all for coming."]
VERSION = pyproject_version()
SYSTEM_PATH = "/usr/bin:/bin"
# What in a log or on stderr means the build is broken (a module or library left out, a crash).
BROKEN = re.compile(r"Traceback|ImportError|ModuleNotFoundError|cannot open shared object|"
                    r"Could not load the Qt platform plugin|unexpected error|symbol lookup error| ERROR ")


@pytest.fixture(scope="module")
def folder() -> Path:
    assert BUILD is not None
    path = BUILD / "live-translate"
    assert (path / "live-translate").is_file(), f"no frozen build in {path}: run bash packaging/build"
    return path


@pytest.fixture(scope="module")
def deb() -> Path:
    assert BUILD is not None
    [path] = sorted(BUILD.glob("live-translate_*.deb"))
    return path


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES)


def user_env(home: Path, key: str | None = None) -> dict[str, str]:
    """A fresh user's environment: nothing of the checkout's Python reaches the packaged program."""
    env = cli_env(home, key)
    for name in list(env):
        if name.startswith(("PYTHON", "LD_", "QT_")) or name in ("VIRTUAL_ENV", "PULSE_SERVER"):
            del env[name]
    env.update(PATH=SYSTEM_PATH, QT_QPA_PLATFORM="offscreen")
    return env


def log_text(home: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in home.rglob("live-translate.log*"))


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo", "-n"]


# --- the checks, for the frozen folder and for the installed package ----------------------------


def check_version(program: str, home: Path) -> None:
    result = run([program, "--version"], user_env(home))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"live-translate {VERSION}\n"


def check_window(program: str, home: Path, *, platform: str = "offscreen", display: str = "") -> None:
    """--smoke-test: the window opens, devices are listed, a frame is drawn, exit 0, a clean log."""
    env = user_env(home)
    env["QT_QPA_PLATFORM"] = platform
    if display:
        env["DISPLAY"] = display
    result = run([program, "--smoke-test"], env)
    log = log_text(home)
    assert result.returncode == 0, result.stderr + log
    assert not BROKEN.search(result.stderr), result.stderr
    assert not BROKEN.search(log), log
    drawn = re.search(r"smoke test: drew the window \((\d+)x(\d+)\).*keyring back ends registered: \[(.*)\]", log)
    assert drawn, log
    assert int(drawn.group(1)) > 300 and int(drawn.group(2)) > 200
    assert "'SecretService'" in drawn.group(3), "keyring's metadata (its entry points) was not bundled"


def check_headless_session(program: str, home: Path, wav: Path) -> None:
    """A session from a WAV against the local fakes: every event, and the session folder."""
    out = home / "sessions"
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        result = run([program, "--headless", "--input", str(wav), "--jsonl", "--to", "es", "--streaming-url", stt.url,
                      "--llm-url", llm.base_url, "--out", str(out)], user_env(home, KEY), timeout=90)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [e["text"] for e in events if e["event"] == "turn"] == SENTENCES
    assert [e["text"] for e in events if e["event"] == "translation"] == [f"[Spanish] {s}" for s in SENTENCES]
    ended = events[-1]
    assert ended["event"] == "session_ended" and ended["turns"] == 2 and ended["translations_failed"] == 0
    session = Path(ended["folder"])
    assert session.parent == out
    with wave.open(str(wav)) as src, wave.open(str(session / "audio.wav")) as got:
        assert got.readframes(got.getnframes()) == src.readframes(src.getnframes())
    doc = json.loads((session / "transcript.json").read_text())
    assert [t["text"] for t in doc["turns"]] == SENTENCES
    for name in ("transcript.txt", "transcript.srt", "transcript.vtt", "transcript.md", "transcript.es.srt"):
        assert (session / name).stat().st_size > 0, name
    assert not BROKEN.search(result.stderr), result.stderr
    assert not BROKEN.search(log_text(home)), log_text(home)


@contextmanager
def x_server() -> Iterator[str]:
    """A private Xvfb; yields its DISPLAY. -displayfd reports the display once the server is ready."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as ready:
            number = ready.readline().strip()
        assert number.isdigit(), "Xvfb did not start (apt-get install xvfb; packaging/install.sh --build does)"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- the frozen folder ----------------------------------------------------------------------------


def test_the_frozen_app_prints_the_version_of_pyproject(folder: Path, tmp_path: Path) -> None:
    check_version(str(folder / "live-translate"), tmp_path)


def test_the_frozen_app_opens_its_window_offscreen_and_draws_a_frame(folder: Path, tmp_path: Path) -> None:
    check_window(str(folder / "live-translate"), tmp_path)


def test_the_frozen_app_opens_its_window_on_an_x_server(folder: Path, tmp_path: Path) -> None:
    with x_server() as display:
        check_window(str(folder / "live-translate"), tmp_path, platform="xcb", display=display)


def test_the_frozen_app_runs_a_headless_session_and_saves_it(folder: Path, tmp_path: Path, speech_wav: Path) -> None:
    check_headless_session(str(folder / "live-translate"), tmp_path, speech_wav)


def test_the_frozen_app_hears_pulseaudio_through_the_systems_alsa(
    folder: Path, tmp_path: Path, virtual_mic: VirtualMicrophone
) -> None:
    """The `pulse` device exists only through the system's ALSA plugin: a libasound bundled in the
    folder would not load it, and PulseAudio's and PipeWire's microphones would be missing."""
    env = {**user_env(tmp_path), **virtual_mic.env}
    result = run([str(folder / "live-translate"), "--list-devices"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"^\s*\d+\s+{ALSA_DEVICE_NAME}\b", result.stdout, re.M), result.stdout
    assert not list(folder.rglob("libasound.so*")) and not list(folder.rglob("libportaudio.so*"))


def test_the_frozen_folder_needs_no_library_the_deb_does_not_declare(folder: Path, deb: Path) -> None:
    """Every library a program, module or Qt plugin in the folder links is in the folder or comes
    from a package the .deb depends on, and the hand-written list in make_deb.py names them all;
    ldd finds every library; none of the system's libraries is bundled."""
    env = {"PATH": SYSTEM_PATH, "LD_LIBRARY_PATH": str(folder / "_internal")}  # as the bootloader sets it
    for elf in make_deb.elf_files(folder):
        linked = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=env).stdout
        assert "not found" not in linked, f"{elf}:\n{linked}"
    depends = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True,
                             check=True).stdout
    declared = make_deb.declared_names(tuple(depends.split(",")))
    linked_packages = make_deb.linked_packages(folder)
    assert not {p: why for p, why in linked_packages.items() if p not in declared}
    listed = make_deb.declared_names(make_deb.DEPENDS) | {"libc6"}
    missing = {p: why for p, why in linked_packages.items() if p not in listed}
    assert not missing, f"add these packages to DEPENDS in packaging/make_deb.py: {missing}"
    bundled = {p.name for p in folder.rglob("*.so*")}
    from_declared = {Path(f).name for f in package_files(declared)}
    assert not bundled & from_declared, ("the folder bundles libraries the system's packages provide: "
                                         f"{sorted(bundled & from_declared)} (see packaging/live-translate.spec)")


def package_files(packages: set[str]) -> list[str]:
    """The files of those of ``packages`` that are installed here."""
    listed = subprocess.run(["dpkg-query", "-L", *sorted(packages)], capture_output=True, text=True)
    return listed.stdout.split()  # packages that are not installed only add a message on stderr


# --- the Debian package ---------------------------------------------------------------------------


def test_the_deb_holds_a_valid_menu_entry_metainfo_icons_and_launcher(deb: Path, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    assert subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True,
                          check=True).stdout.strip() == VERSION
    desktop = tmp_path / "usr/share/applications/live-translate.desktop"
    result = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    [metainfo] = (tmp_path / "usr/share/metainfo").glob("*.metainfo.xml")
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(metainfo)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f'<release version="{VERSION}"' in metainfo.read_text()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        png = tmp_path / f"usr/share/icons/hicolor/{size}x{size}/apps/live-translate.png"
        assert png_size(png) == (size, size), png
    assert (tmp_path / "usr/share/icons/hicolor/scalable/apps/live-translate.svg").is_file()
    launcher = tmp_path / "usr/bin/live-translate"
    assert launcher.is_symlink() and os.readlink(launcher) == "../../opt/live-translate/live-translate"
    assert "LGPL-3.0-only" in (tmp_path / "usr/share/doc/live-translate/copyright").read_text()


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


@pytest.mark.timeout(900)
def test_the_deb_installs_runs_from_the_menu_and_path_and_removes_cleanly(
    deb: Path, tmp_path: Path, speech_wav: Path
) -> None:
    if sudo() and shutil.which("sudo") is None:
        pytest.skip("installing the .deb needs root or sudo")
    with one_install_at_a_time():
        install_run_and_remove(deb, tmp_path, speech_wav)


@contextmanager
def one_install_at_a_time() -> Iterator[None]:
    """Two checkouts on one machine (two CI runs) would install and remove the same package under
    each other's feet: the whole install-to-removal runs under one machine-wide lock."""
    with open("/tmp/live-translate-deb-smoke.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def install_run_and_remove(deb: Path, tmp_path: Path, speech_wav: Path) -> None:
    apt = [*sudo(), "apt-get", "-o", "DPkg::Lock::Timeout=300", "-y", "-q"]
    if installed():
        subprocess.run([*sudo(), "dpkg", "--purge", "live-translate"], check=True, capture_output=True)
    result = subprocess.run([*apt, "install", "--no-install-recommends", str(deb.resolve())],
                            capture_output=True, text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    files: list[str] = []
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert installed()
        files = subprocess.run(["dpkg-query", "-L", "live-translate"], capture_output=True, text=True,
                               check=True).stdout.split()
        assert shutil.which("live-translate", path=SYSTEM_PATH) == "/usr/bin/live-translate"
        assert "/usr/share/icons/hicolor/48x48/apps/live-translate.png" in files
        # The menu entry starts what its Exec line names, looked up on the PATH.
        entry = "/usr/share/applications/live-translate.desktop"
        assert entry in files
        [menu_command] = re.findall(r"^Exec=(\S+)$", Path(entry).read_text(), re.M)
        assert shutil.which(menu_command, path=SYSTEM_PATH) == "/usr/bin/live-translate"
        check_version(menu_command, tmp_path / "version")
        check_window("live-translate", tmp_path / "window")
        check_headless_session("live-translate", tmp_path / "session", speech_wav)
    finally:
        removed = subprocess.run([*sudo(), "dpkg", "--purge", "live-translate"], capture_output=True, text=True)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not installed()
    left = [f for f in files if f.startswith(("/opt/live-translate", "/usr/bin/live-translate", "/usr/share/"))
            and os.path.lexists(f) and not os.path.isdir(f)]
    assert not left, f"left behind after removal: {left[:10]}"
    assert not os.path.exists("/opt/live-translate")


def installed() -> bool:
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "live-translate"], capture_output=True, text=True)
    return status.returncode == 0 and status.stdout == "install ok installed"
