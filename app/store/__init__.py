"""The SQLite session archive (today: the crash journal). Stdlib only; callable from any thread."""
from __future__ import annotations

from app.store.db import SearchHit, SessionRecord, SessionStatus, SessionStore

__all__ = ["SearchHit", "SessionRecord", "SessionStatus", "SessionStore"]
