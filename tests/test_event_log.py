"""The session's event log (app/core/event_log.py), the feed that fills it from a session's
listener calls (app/pipeline/caption_feed.py) and the fan-out that attaches it (app/pipeline/fanout.py).
Pure Python: milliseconds."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from app.core.errors import AppError
from app.core.event_log import EventKind, EventLog
from app.core.transcript import Gap, Translation, TranslationStatus, Turn
from app.pipeline.caption_feed import CaptionFeed
from app.pipeline.events import SessionState, SessionSummary
from app.pipeline.fanout import FanOutListener


def turn(index: int, text: str) -> Turn:
    return Turn(index=index, segment=0, turn_order=index, text=text, start_ms=index * 3000, end_ms=index * 3000 + 2000,
                finalized_at=0.0)


def done(language: str, text: str) -> Translation:
    return Translation(language, text, TranslationStatus.DONE, latency_ms=300)


def kinds(log: EventLog, last_id: int | None = None) -> list[str]:
    return [e.kind for e in log.since(last_id).events]


def payload(log: EventLog, kind: str) -> list[dict]:
    return [json.loads(e.data) for e in log.since(None).events if e.kind == kind]


def summary(turns: int) -> SessionSummary:
    return SessionSummary(folder=Path("/secret/sessions/x"), audio_path=Path("/secret/sessions/x/audio.wav"),
                          audio_seconds=3.0, turns=turns, translations_done=turns, translations_failed=0)


def test_events_get_increasing_ids_and_a_reader_resumes_right_after_the_last_one_it_saw() -> None:
    log = EventLog(clock=lambda: 100.0)
    log.begin_session(["es"])
    log.turn(turn(0, "Hello."))
    seen = log.since(None)
    assert [e.id for e in seen.events] == [1, 2] and seen.latest_id == 2 and seen.restarted
    log.translation(0, done("es", "Hola."))
    log.turn(turn(1, "Bye."))
    later = log.since(seen.latest_id)
    assert [e.kind for e in later.events] == [EventKind.TRANSLATION, EventKind.TURN] and not later.restarted
    assert [e.id for e in later.events] == [3, 4]
    assert json.loads(later.events[0].data) == {"turn": 0, "language": "es", "status": "done", "text": "Hola.",
                                                "t": 100.0}


def test_only_the_newest_interim_in_a_row_is_kept_but_ids_never_repeat() -> None:
    log = EventLog()
    log.begin_session(["es"])
    for text in ("Hel", "Hello", "Hello every"):
        log.interim(text)
    assert kinds(log) == [EventKind.SESSION_STARTED, EventKind.INTERIM]
    assert payload(log, EventKind.INTERIM)[0]["text"] == "Hello every"
    assert log.latest_id == 4
    log.turn(turn(0, "Hello everyone."))
    log.interim("And")
    assert kinds(log) == [EventKind.SESSION_STARTED, EventKind.INTERIM, EventKind.TURN, EventKind.INTERIM]
    # A reader who saw the dropped "Hello" (id 3) gets what came after it, nothing twice.
    assert [e.id for e in log.since(3).events] == [4, 5, 6]


def test_a_new_session_replaces_the_old_one_and_a_reader_from_the_old_one_starts_over() -> None:
    log = EventLog()
    first = log.begin_session(["es"])
    log.turn(turn(0, "Old."))
    log.end_session(1, session=first)
    old_last = log.latest_id
    second = log.begin_session(["de", "fr"], source="en")
    assert second == first + 1
    log.turn(turn(0, "New."), session=second)
    assert kinds(log) == [EventKind.SESSION_STARTED, EventKind.TURN]
    again = log.since(old_last)
    assert again.events[0].kind == EventKind.SESSION_STARTED
    started = json.loads(again.events[0].data)
    assert [lang["code"] for lang in started["languages"]] == ["de", "fr"]
    assert started["languages"][0] == {"code": "de", "name": "German", "native": "Deutsch"}
    assert started["source"]["code"] == "en"
    # An id the log never handed out (the app was restarted): the whole session again.
    assert log.since(10_000).restarted and log.since(10_000).events[0].kind == EventKind.SESSION_STARTED
    # A writer of the old session is ignored in the new one.
    log.translation(0, done("es", "Viejo."), session=first)
    assert kinds(log) == [EventKind.SESSION_STARTED, EventKind.TURN]


def test_a_reader_a_moment_behind_at_a_new_session_still_gets_the_end_of_the_old_one() -> None:
    log = EventLog()
    log.begin_session(["es"])
    log.turn(turn(0, "Old."))
    behind = log.latest_id
    log.end_session(1)
    log.begin_session(["es"])
    log.turn(turn(0, "New."))
    assert [e.kind for e in log.since(behind).events] == [EventKind.INTERIM, EventKind.SESSION_ENDED,
                                                           EventKind.SESSION_STARTED, EventKind.TURN]
    log.end_session(1)
    log.begin_session(["es"])  # two sessions on: the old one is gone, the reader starts over
    replay = log.since(behind)
    assert replay.restarted and [e.kind for e in replay.events] == [EventKind.SESSION_STARTED]


def test_a_language_first_seen_in_a_translation_is_announced_and_pending_ones_are_not_news() -> None:
    log = EventLog()
    log.begin_session(["es"])
    log.turn(turn(0, "Hi."))
    log.translation(0, Translation("es", "", TranslationStatus.PENDING))
    log.translation(0, done("ja", "こんにちは。"))
    log.translation(0, Translation("es", "", TranslationStatus.FAILED, error="HTTP 500 from https://llm.example"))
    assert kinds(log) == [EventKind.SESSION_STARTED, EventKind.TURN, EventKind.LANGUAGES, EventKind.TRANSLATION,
                          EventKind.TRANSLATION]
    assert [lang["code"] for lang in payload(log, EventKind.LANGUAGES)[0]["languages"]] == ["es", "ja"]
    failed = payload(log, EventKind.TRANSLATION)[1]
    assert failed["status"] == "failed" and failed["text"] == "" and "llm.example" not in json.dumps(failed)


def test_nothing_is_logged_before_a_session_begins_and_end_closes_the_live_line() -> None:
    log = EventLog()
    log.interim("stray")
    log.turn(turn(0, "stray"))
    assert len(log) == 0 and log.latest_id == 0
    log.begin_session([])
    log.interim("half a sent")
    log.end_session(0)
    assert kinds(log) == [EventKind.SESSION_STARTED, EventKind.INTERIM, EventKind.SESSION_ENDED]
    assert payload(log, EventKind.INTERIM)[0]["text"] == ""
    assert not log.session_open


def test_watchers_hear_every_append_and_concurrent_writers_never_share_an_id() -> None:
    log = EventLog()
    woken = []
    log.add_watcher(lambda: woken.append(1))
    log.begin_session(["es"])
    barrier = threading.Barrier(4)

    def write(base: int) -> None:
        barrier.wait()
        for i in range(200):
            log.turn(turn(base + i, f"t{base + i}"))

    threads = [threading.Thread(target=write, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [e.id for e in log.since(None).events]
    assert len(ids) == 801 and ids == sorted(set(ids))
    assert len(woken) == 801


def test_the_feed_writes_what_a_room_may_read_and_never_paths_or_errors() -> None:
    log = EventLog()
    feed = CaptionFeed(log, ("es",), source="en")
    feed.state_changed(SessionState.STARTING, "")
    assert len(log) == 0, "a session that may not even start is not on the page yet"
    feed.state_changed(SessionState.CONNECTING, "")
    feed.state_changed(SessionState.LIVE, "")
    feed.level_changed(-20.0)
    feed.interim_changed("Hello")
    feed.turn_finalized(turn(0, "Hello."))
    feed.translation_updated(0, done("es", "Hola."))
    feed.gap_added(Gap(5000, 9000, reason="reconnecting"))
    feed.error_occurred(AppError("The LLM at /home/me/secret failed"))
    feed.rate_limit_changed(3, 10.0)
    feed.state_changed(SessionState.FINISHING, "finishing 3 translations…")
    feed.state_changed(SessionState.FINISHING, "finishing 2 translations…")
    feed.state_changed(SessionState.ENDED, "")
    feed.session_ended(summary(1))
    assert kinds(log) == [EventKind.SESSION_STARTED, EventKind.STATE, EventKind.STATE, EventKind.INTERIM,
                          EventKind.TURN, EventKind.TRANSLATION, EventKind.GAP, EventKind.STATE, EventKind.STATE,
                          EventKind.INTERIM, EventKind.SESSION_ENDED]
    everything = " ".join(e.data for e in log.since(None).events)
    assert "/secret" not in everything and "/home" not in everything and "finishing 3" not in everything
    assert payload(log, EventKind.GAP)[0]["label"].startswith("no transcript 00:05")
    assert payload(log, EventKind.SESSION_ENDED)[0]["turns"] == 1


def test_a_feed_of_an_old_session_does_not_write_into_the_next_one() -> None:
    log = EventLog()
    old = CaptionFeed(log, ("es",))
    old.state_changed(SessionState.LIVE, "")
    old.turn_finalized(turn(0, "Old."))
    old.session_ended(summary(1))
    new = CaptionFeed(log, ("de",))
    new.state_changed(SessionState.LIVE, "")
    old.translation_updated(0, done("es", "Viejo."))  # retried long after Stop
    assert kinds(log) == [EventKind.SESSION_STARTED, EventKind.STATE]


class Exploding:
    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        def call(*args: object) -> None:
            raise RuntimeError(f"{name} broke")

        return call


class Counting:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return lambda *args: self.calls.append(name)


def test_fan_out_tells_every_listener_even_when_one_raises_and_raises_that_error_after() -> None:
    first, second = Counting(), Counting()
    fan = FanOutListener(first, Exploding(), second)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="turn_finalized broke"):
        fan.turn_finalized(turn(0, "x"))
    fan_ok = FanOutListener(first, second)  # type: ignore[arg-type]
    fan_ok.state_changed(SessionState.LIVE, "")
    fan_ok.interim_changed("a")
    fan_ok.translation_updated(0, done("es", "x"))
    fan_ok.gap_added(Gap(0, 1))
    fan_ok.level_changed(-3.0)
    fan_ok.error_occurred(AppError("x"))
    fan_ok.rate_limit_changed(0, 0.0)
    fan_ok.session_ended(summary(0))
    expected = ["turn_finalized", "state_changed", "interim_changed", "translation_updated", "gap_added",
                "level_changed", "error_occurred", "rate_limit_changed", "session_ended"]
    assert first.calls == expected and second.calls == expected


def test_the_caption_modules_below_the_workers_import_without_qt() -> None:
    """napari's trick, for the event log, the feed, the fan-out and the page's server."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['PySide6'] = None\n"
            "import app.core.event_log, app.core.captions, app.pipeline.caption_feed, app.pipeline.fanout\n"
            "import app.web.server, app.web.sse, app.web.addresses, app.web.page\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
