"""Pacing LLM requests by the rate-limit headers: no turn is lost, stalled or reordered, and the
429 does not have to arrive. The pacer alone on a scripted clock; then the queue with the real
client against the fake gateway, whose request window is made under a second long so this takes seconds."""
from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY as RIG_KEY
from session_rig import make_session, run_to_end
from support.speech import make_speech_wav
from test_translation_queue import Updates, translate_threads

from app.cli import TerminalListener
from app.core.languages import resolve_language
from app.core.transcript import TranslationStatus
from app.translate.gateway import ChatTranslator
from app.translate.pacing import RateLimitPacer
from app.translate.queue import NOT_FINISHED, TranslationQueue
from app.translate.replies import RateLimit, rate_limit

pytestmark = pytest.mark.timeout(30)

KEY = "pacing-key-0123456789"
GERMAN, FRENCH, SPANISH = resolve_language("de"), resolve_language("fr"), resolve_language("es")
WAIT = 10.0


@pytest.fixture(autouse=True)
def no_thread_left_running() -> Iterator[None]:
    yield
    for thread in translate_threads():
        thread.join(WAIT)
    assert translate_threads() == []


class Changes:
    """on_rate_limit / on_change calls, from worker threads."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.all: list[tuple[int, float]] = []

    def __call__(self, waiting: int, resume_in_s: float) -> None:
        with self.cond:
            self.all.append((int(waiting), resume_in_s))
            self.cond.notify_all()


def test_the_headers_are_read_as_a_window_and_absent_headers_mean_no_limit() -> None:
    assert rate_limit({"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "29", "X-RateLimit-Reset": "41"}) == \
        RateLimit(30, 29, 41.0)
    assert rate_limit({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.35"}) == RateLimit(None, 0, 0.35)
    assert rate_limit({}) is None
    assert rate_limit({"X-RateLimit-Remaining": "many", "X-RateLimit-Reset": "5"}) is None


def test_when_the_window_is_spent_waiting_requests_go_earliest_turn_first_once_it_resets() -> None:
    now = [0.0]
    pacer = RateLimitPacer(clock=lambda: now[0], margin_s=0.0)
    changes = Changes()
    pacer.on_change = changes
    pacer.observe(RateLimit(1, 0, 10.0))  # the last reply: nothing left until t = 10 s
    stop = threading.Event()
    order: list[int] = []

    def request(priority: int) -> None:
        assert pacer.acquire(priority, stop)
        order.append(priority)  # before finished(): the next one cannot go before this is recorded
        pacer.finished()

    threads = [threading.Thread(target=request, args=(p,)) for p in (5, 1, 3)]  # turn 5's request came first
    for thread in threads:
        thread.start()
    assert pacer.wait_for_waiters(3, timeout=WAIT)
    assert order == [] and pacer.binding
    now[0] = 10.0  # the window resets
    pacer.interrupt()
    for thread in threads:
        thread.join(WAIT)

    assert order == [1, 3, 5]
    assert changes.all[0] == (1, 10.0) and changes.all[-1] == (0, 0.0)


def test_a_request_waiting_for_the_window_stops_waiting_when_its_queue_stops() -> None:
    pacer = RateLimitPacer()
    pacer.observe(RateLimit(5, 0, 60.0))
    stop = threading.Event()
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(pacer.acquire(0, stop)))
    waiter.start()
    assert pacer.wait_for_waiters(1, timeout=WAIT)
    stop.set()
    pacer.interrupt()
    waiter.join(WAIT)
    assert result == [False] and not pacer.binding


def test_queue_paces_by_the_headers_so_no_429_arrives_turn_order_holds_and_no_turn_is_lost() -> None:
    pacer = RateLimitPacer()
    changes = Changes()
    updates = Updates()
    with FakeLlmGateway(api_key=KEY, rate_limit=3, rate_window_s=0.6) as llm, \
            ChatTranslator(KEY, base_url=llm.base_url, pacer=pacer) as translator:
        queue = TranslationQueue(translator, [GERMAN], updates, pacer=pacer, on_rate_limit=changes)
        for index in range(7):
            queue.submit(index, f"turn {index}")
        updates.wait_for(lambda ups: len(ups) == 7, timeout=WAIT)
        assert queue.close(timeout=WAIT)
        statuses = llm.statuses()

    assert statuses == [200] * 7, "paced before the 429 arrived"
    assert [(u.index, u.translation.status) for u in updates.all] == [(i, TranslationStatus.DONE) for i in range(7)]
    assert changes.all and changes.all[0][0] > 0, "it said translations were waiting for the rate limit"
    assert changes.all[-1] == (0, 0.0), "and that they no longer were"
    assert pacer.waits >= 2  # 7 requests at 3 per window: two waits for a new window


def test_a_429_from_another_client_of_the_account_is_waited_out_and_the_turn_still_translated() -> None:
    pacer = RateLimitPacer()
    updates = Updates()
    with FakeLlmGateway(api_key=KEY, fail_first=1, fail_status=429, rate_window_s=0.5) as llm, \
            ChatTranslator(KEY, base_url=llm.base_url, pacer=pacer) as translator:
        queue = TranslationQueue(translator, [GERMAN, FRENCH], updates, pacer=pacer)
        queue.submit(0, "hello")
        queue.submit(1, "world")
        updates.wait_for(lambda ups: sum(u.translation.status is TranslationStatus.DONE for u in ups) == 4,
                         timeout=WAIT)
        assert queue.close(timeout=WAIT)
        statuses = llm.statuses()

    assert statuses.count(429) == 1 and statuses.count(200) >= 2
    for code in ("de", "fr"):
        cells = [u for u in updates.all if u.translation.language == code]
        first_seen = list(dict.fromkeys(u.index for u in cells))
        assert first_seen == [0, 1], "each language's line moves in turn order (a retried turn is shown retrying)"
        assert {u.index for u in cells if u.translation.status is TranslationStatus.DONE} == {0, 1}


def test_close_does_not_wait_for_a_window_that_resets_in_a_minute_and_marks_every_open_cell() -> None:
    pacer = RateLimitPacer()
    pacer.observe(RateLimit(30, 0, 60.0))  # a spent window, as the last reply said
    updates = Updates()
    with FakeLlmGateway(api_key=KEY) as llm, ChatTranslator(KEY, base_url=llm.base_url, pacer=pacer) as translator:
        queue = TranslationQueue(translator, [GERMAN, SPANISH], updates, pacer=pacer)
        queue.submit(0, "one")
        queue.submit(1, "two")
        assert pacer.wait_for_waiters(2, timeout=WAIT)
        assert queue.close(timeout=0.2) is False
        assert llm.chat_requests == [], "nothing was sent into the spent window"

    assert sorted((u.index, u.translation.language, u.translation.error) for u in updates.all) == [
        (0, "de", NOT_FINISHED), (0, "es", NOT_FINISHED), (1, "de", NOT_FINISHED), (1, "es", NOT_FINISHED)]


# --- what the person sees -------------------------------------------------------------------------


def test_the_terminal_says_translations_are_waiting_for_the_rate_limit_once_and_jsonl_has_an_event() -> None:
    out, err = io.StringIO(), io.StringIO()
    human = TerminalListener(["es"], jsonl=False, out=out, err=err)
    human.rate_limit_changed(12, 19.2)
    human.rate_limit_changed(13, 18.0)  # repeated within a few seconds: not said again
    human.rate_limit_changed(0, 0.0)
    assert err.getvalue() == "[12 translations waiting for the rate limit; resuming in 20 s]\n"

    events = io.StringIO()
    TerminalListener(["es"], jsonl=True, out=events, err=io.StringIO()).rate_limit_changed(1, 0.2)
    (line,) = events.getvalue().splitlines()
    assert {k: v for k, v in json.loads(line).items() if k != "time"} == {
        "event": "rate_limit", "waiting": 1, "resume_in_s": 0.2}


@pytest.mark.realtime
@pytest.mark.timeout(90)
def test_a_session_with_three_targets_under_a_tight_limit_translates_every_turn_in_order_without_a_429(
    tmp_path: Path,
) -> None:
    sentences = ["One two three.", "Four five six.", "Seven eight nine.", "Ten eleven twelve."]
    speech = make_speech_wav(tmp_path / "speech.wav", sentences, pause_s=0.8)
    with FakeStreamingServer(api_key=RIG_KEY, script=sentences) as stt, \
            FakeLlmGateway(api_key=RIG_KEY, rate_limit=1, rate_window_s=2.5) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.endpoint, input_wav=speech,
                                    targets=("es", "de", "fr"))
        summary = run_to_end(session, rec, timeout=80)
        statuses = llm.statuses()
        several = [r for r in llm.chat_requests if r.targets]

    assert summary.turns == 4 and summary.translations_done == 12 and summary.translations_failed == 0
    assert 429 not in statuses and len(several) == 4, "one request per turn for three languages, paced"
    for code in ("es", "de", "fr"):
        assert [i for i, tr in rec.translations if tr.language == code] == [0, 1, 2, 3]
    assert rec.rate_limits and rec.rate_limits[0][0] > 0 and rec.rate_limits[-1] == (0, 0.0)


def test_the_terminal_says_a_state_once_until_it_changes() -> None:
    import io

    from app.pipeline.events import SessionState
    from app.terminal import TerminalListener

    err = io.StringIO()
    listener = TerminalListener(["es"], jsonl=False, out=io.StringIO(), err=err)
    for state in (SessionState.LIVE, SessionState.RECONNECTING, SessionState.LIVE, SessionState.FINISHING,
                  SessionState.FINISHING):
        listener.state_changed(state, "")
    assert err.getvalue().splitlines() == ["[live]", "[reconnecting]", "[live]", "[finishing]"]
