"""Logging: a rotating log file users can attach to a report, and a filter that keeps the API key
out of every log line.

Qt-free; set up once on the main thread by a composition root (``cli.py`` or ``gui.py``). The key
never reaches a log call in this code base; the redaction filter is defence in depth against a
library that logs a header or an exception text that quotes one.
"""
from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

LOG_NAME = "live-translate.log"
REDACTED = "[redacted]"
# user:password@ inside any URL (a proxy setting, a URL typed with credentials), and a token query.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@:]+:[^/\s@]*@")
_TOKEN_QUERY = re.compile(r"(?<=[?&]token=)[^&\s]+")


class RedactSecrets(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret and len(secret.strip()) >= 8:  # short strings would redact ordinary words
            self.secrets.add(secret.strip())

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _URL_CREDENTIALS.sub(REDACTED + "@", text)
        return _TOKEN_QUERY.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = self.redact(text)
        if clean != text:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            clean = self.redact(exc_text)
            if clean != exc_text:
                record.exc_info, record.exc_text = None, clean
        return True


redactor = RedactSecrets()


def setup_logging(log_dir: Path, *, console_level: int | None = logging.WARNING) -> Path:
    """File log at INFO under ``log_dir`` and, if ``console_level`` is given, stderr at that level.
    Returns the log file's path."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    path = log_dir / LOG_NAME
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8",
            errors="backslashreplace")  # a file name that is not UTF-8 is escaped, never a traceback
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        handler.addFilter(redactor)
        root.addHandler(handler)
    except OSError:
        pass  # no log file is no reason not to record
    if console_level is not None:
        console = logging.StreamHandler()
        console.setLevel(console_level)
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        console.addFilter(redactor)
        root.addHandler(console)
    return path
