"""A small Server-Sent Events client for the caption server's tests: a blocking reader with a
timeout per event (no sleeps), and an asyncio one light enough to run hundreds at once."""
from __future__ import annotations

import asyncio
import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Event:
    kind: str
    data: dict
    id: int | None = None
    received_at: float = 0.0  # time.time() when its last line was read


def get(url: str, *, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


OPEN: list[EventReader] = []  # every reader not yet closed: close_all() at the end of a test


def close_all() -> None:
    while OPEN:
        OPEN.pop().close()


class EventReader:
    """One viewer: opens the stream at ``url`` (``events`` next to the page) and reads events."""

    def __init__(self, url: str, *, last_event_id: int | None = None, timeout_s: float = 10.0) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
        OPEN.append(self)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.headers)
        self.last_id: int | None = None
        self.retry_ms: int | None = None

    def next(self) -> Event | None:
        """The next event (comments skipped), or None at the end of the stream."""
        kind, data, event_id = "message", "", None
        while True:
            raw = self.response.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\n")
            if not line:
                if data or kind != "message":
                    if event_id is not None:
                        self.last_id = event_id
                    return Event(kind, json.loads(data) if data else {}, event_id, time.time())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                kind = value
            elif name == "data":
                data += value
            elif name == "id":
                event_id = int(value)
            elif name == "retry":
                self.retry_ms = int(value)

    def until(self, kind: str, *, limit: int = 10_000) -> list[Event]:
        """Events up to and including the first of ``kind``."""
        seen = []
        for _ in range(limit):
            event = self.next()
            if event is None:
                raise AssertionError(f"the stream ended before a {kind!r} event; got {[e.kind for e in seen]}")
            seen.append(event)
            if event.kind == kind:
                return seen
        raise AssertionError(f"no {kind!r} event in {limit} events")

    def close(self) -> None:
        self.response.close()
        self.connection.close()
        if self in OPEN:
            OPEN.remove(self)


@dataclass
class AsyncViewer:
    """One of many viewers on one asyncio loop: reads every event until ``stop_kind`` arrives."""

    host: str
    port: int
    path: str
    stop_kind: str = "session_ended"
    events: list[Event] = field(default_factory=list)

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        # HTTP/1.0: the stream comes unchunked, one SSE line per line, until the server closes it.
        writer.write(f"GET {self.path} HTTP/1.0\r\nHost: {self.host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # the response's headers
        kind, data, event_id = "", "", None
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\n")
                if not line:
                    if kind:
                        self.events.append(Event(kind, json.loads(data) if data else {}, event_id, time.time()))
                        if kind == self.stop_kind:
                            return
                    kind, data, event_id = "", "", None
                    continue
                name, _, value = line.partition(": ")
                if name == "event":
                    kind = value
                elif name == "data":
                    data = value
                elif name == "id":
                    event_id = int(value)
        finally:
            writer.close()
