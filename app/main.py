"""Entry point (``live-translate`` and ``python -m app``): hands over to the command line, which
opens the window unless ``--headless`` is given. Runs on the main thread."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from app.cli import main as cli_main

    code = cli_main(argv)
    leave_if_threads_linger(code)
    return code


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
