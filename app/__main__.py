"""``python -m app``: the same as the ``live-translate`` command."""
import sys

from app.main import main

sys.exit(main())
