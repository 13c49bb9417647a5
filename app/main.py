"""Entry point (``live-translate`` and ``python -m app``): hands over to the command line, which
opens the window unless ``--headless`` is given. Runs on the main thread."""
from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from app.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
