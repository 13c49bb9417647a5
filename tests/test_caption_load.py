"""200 viewers follow one session at once on 127.0.0.1, and every one of them gets every turn and
translation, in order, and the end. Counts only: the latency and CPU figures are measured in
bench/caption_viewers.py, not asserted here."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from support.sse import AsyncViewer

from app.core.event_log import EventLog
from app.core.transcript import Translation, TranslationStatus, Turn
from app.web.addresses import Scope
from app.web.server import CaptionServer

VIEWERS = 200
TURNS = 40
LANGUAGES = ("es", "de")

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def server() -> Iterator[tuple[EventLog, CaptionServer]]:
    log = EventLog()
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0)
    srv.start_thread()
    yield log, srv
    srv.stop()
    assert srv.wait(5)


def play_session(log: EventLog) -> None:
    """The session's side: what the listener would append, from a thread of its own."""
    log.begin_session(LANGUAGES)
    for index in range(TURNS):
        words = f"Sentence number {index} of the talk".split()
        for n in range(1, len(words) + 1):
            log.interim(" ".join(words[:n]))
        log.turn(Turn(index, 0, index, " ".join(words) + ".", index * 3000, index * 3000 + 2500, 0.0))
        for code in LANGUAGES:
            log.translation(index, Translation(code, f"[{code}] {index}", TranslationStatus.DONE))
    log.end_session(TURNS)


def test_two_hundred_viewers_each_receive_every_turn_and_translation_in_order(
        server: tuple[EventLog, CaptionServer]) -> None:
    log, srv = server
    path = srv.local_url.split(str(srv.port), 1)[1] + "events"
    viewers = [AsyncViewer("127.0.0.1", srv.port, path) for _ in range(VIEWERS)]

    async def follow() -> None:
        tasks = [asyncio.create_task(v.run()) for v in viewers]
        joined = await asyncio.to_thread(srv.wait_for_counts, viewers=VIEWERS, timeout_s=30)
        assert joined, f"only {srv.viewer_count} of {VIEWERS} viewers could join"
        producer = threading.Thread(target=play_session, args=(log,))
        producer.start()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
        producer.join(10)

    asyncio.run(follow())
    everything = log.since(None).events
    expected = [(e.kind, e.id) for e in everything if e.kind in ("turn", "translation", "session_ended")]
    assert len(expected) == TURNS * (1 + len(LANGUAGES)) + 1
    for number, viewer in enumerate(viewers):
        got = [(e.kind, e.id) for e in viewer.events if e.kind in ("turn", "translation", "session_ended")]
        assert got == expected, f"viewer {number} missed or reordered events"
        texts = [e.data["text"] for e in viewer.events if e.kind == "translation" and e.data["language"] == "de"]
        assert texts == [f"[de] {i}" for i in range(TURNS)]
    assert srv.dropped_viewers == 0 and srv.refused_viewers == 0
