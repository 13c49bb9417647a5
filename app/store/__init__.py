"""The SQLite session archive (today: the crash journal). Stdlib only; callable from any thread."""
from __future__ import annotations

from app.store.db import SessionRecord, SessionStatus, SessionStore
from app.store.search import SearchHit

__all__ = ["SearchHit", "SessionRecord", "SessionStatus", "SessionStore"]
