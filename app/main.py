"""Entry point (``live-translate`` and ``python -m app``): hands over to the command line, which
opens the window unless ``--headless`` is given. Runs on the main thread."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import MutableMapping, Sequence


def main(argv: Sequence[str] | None = None) -> int:
    if getattr(sys, "frozen", False):
        keep_the_bundle_to_ourselves(os.environ)
    from app.cli import main as cli_main

    code = cli_main(argv)
    leave_if_threads_linger(code)
    return code


BUNDLE_VARIABLES = ("QT_PLUGIN_PATH", "QML2_IMPORT_PATH")


def keep_the_bundle_to_ourselves(environ: MutableMapping[str, str]) -> None:
    """The frozen build only (PyInstaller), before Qt starts: give the programs the app starts the
    user's environment. The bootloader points LD_LIBRARY_PATH at the bundle (keeping the user's in
    LD_LIBRARY_PATH_ORIG; the loader has read it by now) and PySide6's start-up hook sets
    QT_PLUGIN_PATH to the bundle's plugins. Left in place, "Open sessions folder" would start the
    file manager (xdg-open, then Dolphin, say) on our Qt libraries and plugins, which crash a
    program built against the system's Qt. Our Qt finds its plugins without the variables: PySide6
    tells it where it lives (an embedded qt.conf)."""
    original = environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        environ["LD_LIBRARY_PATH"] = original
    else:
        environ.pop("LD_LIBRARY_PATH", None)
    for name in BUNDLE_VARIABLES:
        environ.pop(name, None)


def leave_if_threads_linger(code: int) -> None:
    """Everything is saved when the command line returns. A translation request abandoned at the
    end (a deadline after SIGTERM, "quit now") may still be waiting on the network in a pool
    thread, and the interpreter would wait for it at exit: leave without waiting instead."""
    # Daemon or not: concurrent.futures joins its pool threads at exit either way.
    lingering = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if not lingering:
        return
    logging.getLogger("app").info("leaving %d threads behind: %s", len(lingering), [t.name for t in lingering])
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
