"""Server-Sent Events framing: the bytes a caption viewer's ``EventSource`` reads.

Pure functions, no I/O; called on the caption server's loop thread. Every event of the session's
log carries its id, so a browser that reconnects after a network blip sends ``Last-Event-ID`` and
the server resumes right after it. Frames the server makes up itself (``hello``, ``closed``,
``full``) carry no id, which leaves the browser's last id as it was.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

from app.core.event_log import LoggedEvent

RETRY_MS = 2000  # how soon a browser reconnects after the stream broke (the spec's "retry:" field)
PING = b": ping\n\n"  # a comment line: keeps proxies and NAT tables from closing a quiet stream


def frame(kind: str, data: str, event_id: int | None = None) -> bytes:
    """One SSE event. ``data`` is one line of JSON (``json.dumps`` never writes a raw newline)."""
    if "\n" in data or "\r" in data:
        raise ValueError("SSE data must be one line; encode it as JSON first")
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {data}\n\n".encode()


def frames(events: Iterable[LoggedEvent]) -> bytes:
    return b"".join(frame(e.kind, e.data, e.id) for e in events)


def control(kind: str, **payload: object) -> bytes:
    """A frame of the server's own (no id): ``hello``, ``closed``, ``full``."""
    return frame(kind, json.dumps(payload, ensure_ascii=False))


def retry_field(ms: int = RETRY_MS) -> bytes:
    return f"retry: {ms}\n\n".encode()


def parse_last_event_id(header: str | None, query: str | None = None) -> int | None:
    """The id a reconnecting viewer saw last: the ``Last-Event-ID`` header (sent by the browser's
    own reconnect), else the ``last`` query parameter (the page's reconnect after it gave up and
    built a new EventSource). Anything that is not a non-negative integer means "from the start"."""
    for text in (header, query):
        if text is not None and text.strip().isdigit():
            return int(text.strip())
    return None
