"""Package the frozen folder (dist/live-translate/) as a Debian package, with dpkg-deb only.

Run by ``packaging/build`` after PyInstaller, with the checkout's ``.venv`` (it reads the version
and the licences from the ``app`` package). Lays out the package's files under
``build/deb/<name>/`` and writes ``dist/live-translate_<version>_<arch>.deb``:

    /opt/live-translate/                      the frozen folder
    /usr/bin/live-translate                   a link to /opt/live-translate/live-translate
    /usr/share/applications/live-translate.desktop
    /usr/share/icons/hicolor/<N>x<N>/apps/live-translate.png (and scalable/…svg)
    /usr/share/metainfo/<id>.metainfo.xml     with the release of this version added
    /usr/share/doc/live-translate/copyright   the licences (app.core.credits)

No maintainer scripts: Debian's icon-theme and desktop-file triggers refresh the menu and the icon
caches when files land in those folders. Runs on the main thread of its own process.
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import __version__  # noqa: E402 - the checkout's app, after sys.path is set
from app.core.credits import APP_LICENCE, COMPONENTS, python_packages  # noqa: E402

PACKAGE = "live-translate"
METAINFO_ID = "io.github.live_translate.LiveTranslate"
LINUX = ROOT / "packaging" / "linux"
MAINTAINER = os.environ.get("DEB_MAINTAINER", "Live Translate developers <live-translate@users.noreply.invalid>")

# What the frozen folder needs from the system, by Debian package name; "a | b" where Debian 12 and
# Ubuntu 22.04 name a package differently from Debian 13 and Ubuntu 24.04 (the 64-bit time_t
# rename). These are the libraries packaging/install.sh installs for Qt and PortAudio, plus the
# ones Python's own modules link (ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid).
# linked_packages() below reads every library the folder's programs, modules and plugins link, and
# tests/test_packaging.py fails if one comes from a package not named here. libdbus-1-3 is also
# loaded by Qt at run time.
DEPENDS = (
    "libportaudio2", "libasound2 | libasound2t64",  # the microphone, through the system's ALSA
    "libgl1", "libegl1", "libxkbcommon0", "libfontconfig1", "libfreetype6", "libglib2.0-0 | libglib2.0-0t64",
    "libdbus-1-3",  # Qt
    "libx11-6", "libx11-xcb1", "libxcb1", "libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4", "libxcb-image0",
    "libxcb-keysyms1", "libxcb-randr0", "libxcb-render0", "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0",
    "libxcb-sync1", "libxcb-util1", "libxcb-xfixes0", "libxcb-xkb1", "libxcb-glx0", "libxcb-xinerama0",  # Qt on X11
    "libwayland-client0", "libwayland-cursor0", "libwayland-egl1",  # Qt on Wayland
    "libssl3 | libssl3t64", "libsqlite3-0", "libffi8", "liblzma5", "libbz2-1.0", "zlib1g", "libzstd1",
    "libuuid1",  # Python's modules and Qt's compression
    "libstdc++6", "libgcc-s1",
)
# The `pulse` ALSA device (PulseAudio, or PipeWire's), and a font for fontconfig to find.
RECOMMENDS = ("libasound2-plugins | pipewire-alsa", "fonts-dejavu-core")
DESCRIPTION = """\
Live transcription and translation of speech
 Live Translate listens to a microphone or a recording, shows the words live as
 they are spoken, and translates every finished sentence into the languages you
 pick, the original and its translations side by side. It keeps the session's
 audio and transcript and exports them as TXT, SRT, VTT, JSON or Markdown.
 .
 Speech recognition is AssemblyAI's Universal Streaming; translation goes
 through AssemblyAI's LLM Gateway. An AssemblyAI API key is needed."""


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def elf_files(folder: Path) -> list[Path]:
    """Every ELF file (the executable, libraries, extension modules, Qt plugins) under ``folder``."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def needed_libraries(elf: Path) -> list[str]:
    """The libraries an ELF file links (its DT_NEEDED entries), by name."""
    return re.findall(r"^\s*NEEDED\s+(\S+)", run("objdump", "-p", str(elf)), re.M)


def system_libraries() -> dict[str, str]:
    """The dynamic loader's cache: library name -> path, this architecture's where there are several."""
    triplet = sysconfig.get_config_var("MULTIARCH") or ""
    libraries: dict[str, str] = {}
    for name, path in re.findall(r"^\s*(\S+) \([^)]*\) => (\S+)$", run("ldconfig", "-p"), re.M):
        if name not in libraries or (triplet in path and triplet not in libraries[name]):
            libraries[name] = path
    return libraries


@functools.cache  # dpkg -S takes a while, and most binaries link the same few libraries
def owning_package(path: str) -> str | None:
    """The Debian package a library file belongs to (merged /usr: dpkg may know it by either path)."""
    real = os.path.realpath(path)
    for candidate in dict.fromkeys([path, real, re.sub("^/usr", "", real), "/usr" + path]):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":")[0].split(",")[0].strip()
    return None


def linked_packages(folder: Path) -> dict[str, str]:
    """The packages of every system library that a binary in ``folder`` links directly (its own
    dependencies are its packages' business), each with an example: package -> "lib (linked by …)".
    A library that is neither in the folder nor in a package stops the build."""
    bundled = {p.name for p in folder.rglob("*.so*")}
    system = system_libraries()
    packages: dict[str, str] = {}
    for elf in elf_files(folder):
        for name in needed_libraries(elf):
            if name in bundled:
                continue
            package = owning_package(system[name]) if name in system else None
            if package is None:
                raise SystemExit(f"{elf.relative_to(folder)} links {name}, which no Debian package here provides "
                                 f"({system.get(name, 'not found')}). Install it from a package, or bundle it.")
            packages.setdefault(package, f"{name} (linked by {elf.relative_to(folder)})")
    return packages


def declared_names(clauses: tuple[str, ...]) -> set[str]:
    """Every package name a Depends list accepts ("a | b" accepts both; versions left aside)."""
    return {alternative.split()[0] for clause in clauses for alternative in clause.split("|")}


def glibc_needed(folder: Path) -> str:
    """The newest glibc symbol version the folder's binaries ask for (``libc6 (>= …)``)."""
    versions = set()
    for path in elf_files(folder):
        versions.update(re.findall(r"GLIBC_(\d+(?:\.\d+)+)", run("objdump", "-T", str(path))))
    return max(versions, key=lambda v: tuple(int(x) for x in v.split("."))) if versions else "2.35"


def control(arch: str, installed_kib: int, glibc: str, depends: tuple[str, ...]) -> str:
    return (f"Package: {PACKAGE}\nVersion: {__version__}\nArchitecture: {arch}\nMaintainer: {MAINTAINER}\n"
            f"Installed-Size: {installed_kib}\nDepends: libc6 (>= {glibc}), {', '.join(depends)}\n"
            f"Recommends: {', '.join(RECOMMENDS)}\nSection: sound\nPriority: optional\n"
            f"Description: {DESCRIPTION}\n")


def copyright_text() -> str:
    """Debian's copyright file, from the same list as the About dialog (app.core.credits)."""
    lines = [
        "Live Translate",
        f"Licence: {APP_LICENCE}. Copyright the Live Translate developers.",
        "",
        "/opt/live-translate bundles the following, each under its own licence. Qt, PySide6 and shiboken6",
        "are used under the GNU LGPL v3 (/usr/share/common-licenses/LGPL-3) and are linked dynamically:",
        "their libraries, in /opt/live-translate/_internal/PySide6/Qt/lib, can be replaced. The texts of",
        "the Apache-2.0, MPL-2.0 and GPL licences are in /usr/share/common-licenses; the licence files",
        "of the Python packages are in their *.dist-info folders in /opt/live-translate/_internal.",
        "",
    ]
    for c in COMPONENTS:
        lines.append(f"{c.name} {c.version()}".rstrip() + f": {c.licence} ({c.role}; {c.url})")
    lines += ["", "Python packages:"]
    lines += [f"{p.name} {p.version}: {p.licence}" for p in python_packages()]
    lines += ["", f"The {APP_LICENCE} licence of Live Translate:", "", MIT_TEXT]
    return "\n".join(lines) + "\n"


MIT_TEXT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def metainfo_with_release(release_date: str) -> str:
    text = (LINUX / f"{METAINFO_ID}.metainfo.xml").read_text(encoding="utf-8")
    release = f'  <releases>\n    <release version="{__version__}" date="{release_date}"/>\n  </releases>\n'
    return text.replace("</component>", release + "</component>")


def release_date() -> str:
    """The date of the commit built (the same for every build of it), or today outside git."""
    try:
        return run("git", "-C", str(ROOT), "log", "-1", "--format=%cs").strip() or run("date", "+%F").strip()
    except (OSError, subprocess.CalledProcessError):
        return run("date", "+%F").strip()


def normalise_modes(root: Path) -> None:
    """Folders 755, files 644, programs and libraries 755, whatever the build's umask was."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            executable = path.stat().st_mode & stat.S_IXUSR
            path.chmod(0o755 if executable else 0o644)


def stage(dist: Path, icons: Path, root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    opt = root / "opt" / PACKAGE
    shutil.copytree(dist, opt, symlinks=True)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / PACKAGE).symlink_to(f"../../opt/{PACKAGE}/{PACKAGE}")  # the bootloader finds its folder itself
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copyfile(LINUX / f"{PACKAGE}.desktop", share / "applications" / f"{PACKAGE}.desktop")
    shutil.copytree(icons / "hicolor", share / "icons" / "hicolor")
    (share / "metainfo").mkdir()
    (share / "metainfo" / f"{METAINFO_ID}.metainfo.xml").write_text(metainfo_with_release(release_date()),
                                                                       encoding="utf-8")
    (share / "doc" / PACKAGE).mkdir(parents=True)
    (share / "doc" / PACKAGE / "copyright").write_text(copyright_text(), encoding="utf-8")


def validate(root: Path) -> None:
    """The menu entry and the software-centre entry, as installed; a finding stops the build."""
    desktop = root / "usr" / "share" / "applications" / f"{PACKAGE}.desktop"
    metainfo = root / "usr" / "share" / "metainfo" / f"{METAINFO_ID}.metainfo.xml"
    for argv in (["desktop-file-validate", str(desktop)], ["appstreamcli", "validate", "--no-net", str(metainfo)]):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0 or (argv[0] == "desktop-file-validate" and done.stdout.strip()):
            raise SystemExit(f"{' '.join(argv)} found problems:\n{done.stdout}{done.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist" / PACKAGE, help="the frozen folder")
    parser.add_argument("--icons", type=Path, default=ROOT / "resources" / "icons", help="the rendered icons")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the .deb goes")
    # xz -1: 37 MB in about a quarter of the CPU time of dpkg's default -6 (33 MB), which on the shared
    # two-core CI machine was a minute or more of every run; use -6 or -9 for a release.
    parser.add_argument("--xz-level", type=int, choices=range(10), default=1, metavar="0-9",
                        help="xz compression level of the .deb (default 1)")
    args = parser.parse_args()
    if not (args.dist / PACKAGE).is_file():
        raise SystemExit(f"No frozen build in {args.dist}: run bash packaging/build.")
    frozen_version = run(str(args.dist / PACKAGE), "--version").split()[-1]
    if frozen_version != __version__:
        raise SystemExit(f"The frozen build says {frozen_version}, pyproject.toml says {__version__}: build again.")
    # A library DEPENDS does not cover (a Python built otherwise, a newer Qt) is still declared, as
    # this system names its package, so the .deb always installs what it needs here; the smoke test
    # (tests/test_packaging.py) fails until DEPENDS names it, with the other releases' names.
    linked = linked_packages(args.dist)
    extra = {p: why for p, why in sorted(linked.items()) if p not in declared_names(DEPENDS) and p != "libc6"}
    if extra:
        print(f"note: added to Depends, add them to DEPENDS in packaging/make_deb.py: {extra}")
    arch = run("dpkg", "--print-architecture").strip()
    name = f"{PACKAGE}_{__version__}_{arch}"
    root = ROOT / "build" / "deb" / name
    stage(args.dist, args.icons, root)
    validate(root)
    normalise_modes(root)
    installed_kib = sum(p.lstat().st_size for p in root.rglob("*")) // 1024
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(control(arch, installed_kib, glibc_needed(args.dist),
                                                                (*DEPENDS, *extra)), encoding="utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    deb = args.out / f"{name}.deb"
    run("dpkg-deb", "--root-owner-group", "-Zxz", f"-z{args.xz_level}", "--build", str(root), str(deb))
    print(f"{deb} ({deb.stat().st_size / 1e6:.1f} MB; installs {installed_kib / 1024:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
