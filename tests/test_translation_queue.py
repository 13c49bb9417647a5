"""TranslationQueue: concurrency, per-language turn order, retries, manual retry and shutdown.

Most tests use an in-process fake translator steered by events; the last ones run the queue with
the real ChatTranslator against the fake LLM Gateway. Backoff waits go through an injected sleep
that only records, so no test waits for real backoff time.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakes.llm_server import FakeLlmGateway

from app.core.backoff import Backoff
from app.core.errors import TranslationError
from app.core.languages import Language, resolve_language
from app.core.transcript import TranslationStatus
from app.translate.base import BatchResult, TranslationResult
from app.translate.gateway import ChatTranslator
from app.translate.prompt import BatchRequest, TranslationRequest
from app.translate.queue import NOT_FINISHED, TranslationQueue, TranslationUpdate

pytestmark = pytest.mark.timeout(20)

GERMAN = resolve_language("de")
SPANISH = resolve_language("es")
FRENCH = resolve_language("fr")
JAPANESE = resolve_language("ja")
DONE, FAILED, PENDING = TranslationStatus.DONE, TranslationStatus.FAILED, TranslationStatus.PENDING
WAIT = 5.0  # generous upper bound for things that normally take milliseconds


class FakeTranslator:
    """Answers ``[<target>] <text>``; ``behaviour(request, n)`` may block or raise first (n from 1)."""

    def __init__(self, behaviour: Callable[[TranslationRequest, int], object] | None = None) -> None:
        self.behaviour = behaviour
        self.lock = threading.Lock()
        self.requests: list[TranslationRequest] = []

    def translate(self, request: TranslationRequest) -> TranslationResult:
        with self.lock:
            self.requests.append(request)
            n = len(self.requests)
        if self.behaviour is not None:
            self.behaviour(request, n)
        return TranslationResult(f"[{request.target.name}] {request.text}", "fake-model", 3, 4)


class FakeBatchTranslator(FakeTranslator):
    """Also translates a turn into several languages in one call. ``batch_behaviour(request, n)``
    may block or raise first, and may return the codes its reply leaves out."""

    def __init__(self, behaviour: Callable[[TranslationRequest, int], object] | None = None,
                 batch_behaviour: Callable[[BatchRequest, int], Any] | None = None) -> None:
        super().__init__(behaviour)
        self.batch_behaviour = batch_behaviour
        self.batches: list[BatchRequest] = []

    def translate_all(self, request: BatchRequest) -> BatchResult:
        with self.lock:
            self.batches.append(request)
            n = len(self.batches)
        left_out = set(self.batch_behaviour(request, n) or ()) if self.batch_behaviour is not None else set()
        texts = {lang.code: f"[{lang.name}] {request.text}" for lang in request.targets if lang.code not in left_out}
        return BatchResult(texts, "fake-model", 5, 9)


class Updates:
    """Collects on_update calls (from worker threads) and lets the test wait for them."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.all: list[TranslationUpdate] = []
        self.threads: set[str] = set()

    def __call__(self, update: TranslationUpdate) -> None:
        with self.cond:
            self.all.append(update)
            self.threads.add(threading.current_thread().name)
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[list[TranslationUpdate]], bool], timeout: float = WAIT) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.all), timeout=timeout):
                raise AssertionError(f"condition not met; updates so far: {self.all}")

    def wait_settled(self, turns: int, languages: int = 1) -> None:
        self.wait_for(lambda ups: len(settled(ups)) == turns * languages)

    def of(self, code: str) -> list[TranslationUpdate]:
        with self.cond:
            return [u for u in self.all if u.translation.language == code]


def settled(updates: list[TranslationUpdate]) -> dict[tuple[int, str], TranslationUpdate]:
    return {(u.index, u.translation.language): u for u in updates if u.translation.status is not PENDING}


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.waits.append(seconds)


def retryable(message: str = "The LLM Gateway had a server problem (500).", **kwargs: Any) -> TranslationError:
    return TranslationError(message, status=kwargs.pop("status", 500), retryable=True, **kwargs)


def translate_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("translate")]


@pytest.fixture(autouse=True)
def no_thread_left_running() -> Iterator[None]:
    yield
    assert translate_threads() == []


@pytest.fixture
def make_queue() -> Iterator[Callable[..., TranslationQueue]]:
    queues: list[TranslationQueue] = []

    def make(translator: Any, targets: list[Language], updates: Updates, **kwargs: Any) -> TranslationQueue:
        kwargs.setdefault("sleep", RecordingSleep())
        queue = TranslationQueue(translator, targets, updates, **kwargs)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        assert queue.close(timeout=WAIT)


# --- ordering and concurrency -----------------------------------------------------------------


def test_requests_run_concurrently(make_queue: Callable[..., TranslationQueue]) -> None:
    # Each call waits at a 4-party barrier: the turns can only finish if 4 calls are in flight at once.
    barrier = threading.Barrier(4)
    updates = Updates()
    queue = make_queue(FakeTranslator(lambda request, n: barrier.wait(timeout=WAIT)), [GERMAN], updates, max_workers=4)

    for index in range(4):
        queue.submit(index, f"turn {index}")
    updates.wait_settled(4)

    assert [u.translation.status for u in updates.all] == [DONE] * 4


def test_a_slow_first_turn_holds_back_later_results_until_it_is_done(make_queue: Callable[..., TranslationQueue]) -> None:
    first_may_finish = threading.Event()
    later_done = threading.Semaphore(0)

    def behaviour(request: TranslationRequest, n: int) -> None:
        if request.text == "turn 0":
            assert first_may_finish.wait(WAIT)
        else:
            later_done.release()

    updates = Updates()
    queue = make_queue(FakeTranslator(behaviour), [GERMAN], updates)
    for index in range(4):
        queue.submit(index, f"turn {index}")
    for _ in range(3):
        assert later_done.acquire(timeout=WAIT)
    assert updates.all == []  # turns 1-3 are translated but must wait for turn 0

    first_may_finish.set()
    updates.wait_settled(4)
    assert [u.index for u in updates.all] == [0, 1, 2, 3]


def test_results_arrive_in_turn_order_per_language_with_random_delays(make_queue: Callable[..., TranslationQueue]) -> None:
    rng = random.Random(7)
    delays = {i: rng.uniform(0, 0.02) for i in range(30)}
    pause = threading.Event()  # never set: wait() is a bounded stand-in for a slow network call

    def behaviour(request: TranslationRequest, n: int) -> None:
        pause.wait(delays[int(request.text.split()[1])])

    updates = Updates()
    queue = make_queue(FakeTranslator(behaviour), [GERMAN, FRENCH], updates, max_workers=6)
    for index in range(30):
        queue.submit(index, f"turn {index}")
    updates.wait_settled(30, languages=2)

    for language in (GERMAN, FRENCH):
        got = updates.of(language.code)
        assert [u.index for u in got] == list(range(30))
        assert [u.translation.text for u in got] == [f"[{language.name}] turn {i}" for i in range(30)]
        assert all(u.translation.model == "fake-model" and u.translation.attempts == 1 for u in got)
    assert all(name.startswith("translate") for name in updates.threads)


def test_targets_chosen_mid_session_apply_to_later_turns(make_queue: Callable[..., TranslationQueue]) -> None:
    updates = Updates()
    queue = make_queue(FakeTranslator(), [GERMAN], updates)
    queue.submit(0, "zero")
    queue.set_targets([FRENCH, JAPANESE, FRENCH])
    queue.submit(1, "one")
    updates.wait_settled(3)

    assert sorted((u.index, u.translation.language) for u in updates.all) == [(0, "de"), (1, "fr"), (1, "ja")]


def test_empty_text_is_done_without_a_request(make_queue: Callable[..., TranslationQueue]) -> None:
    translator = FakeTranslator()
    updates = Updates()
    queue = make_queue(translator, [GERMAN], updates)
    queue.submit(0, "   ")
    queue.submit(1, "one")
    updates.wait_settled(2)

    assert [(u.index, u.translation.status, u.translation.text) for u in updates.all] == [
        (0, DONE, ""), (1, DONE, "[German] one")
    ]
    assert [r.text for r in translator.requests] == ["one"]


def test_latency_is_measured_from_the_moment_the_turn_became_final(make_queue: Callable[..., TranslationQueue]) -> None:
    now = [100.0]
    updates = Updates()

    def behaviour(request: TranslationRequest, n: int) -> None:
        now[0] = 100.75  # the request "took" until here

    queue = make_queue(FakeTranslator(behaviour), [GERMAN], updates, clock=lambda: now[0])
    queue.submit(0, "hello", finalized_at=99.5)
    updates.wait_settled(1)

    assert updates.all[0].translation.latency_ms == 1250


def test_context_and_glossary_reach_the_translator(make_queue: Callable[..., TranslationQueue]) -> None:
    translator = FakeTranslator()
    updates = Updates()
    queue = make_queue(
        translator, [GERMAN], updates, context_turns=2, glossary=[("turn", "Redebeitrag")], source=resolve_language("en")
    )
    for index, text in enumerate(["one", "", "two", "three"]):
        queue.submit(index, text)
    updates.wait_settled(4)

    by_text = {r.text: r for r in translator.requests}
    assert by_text["one"].context == ()
    assert by_text["two"].context == ("one",)
    assert by_text["three"].context == ("one", "two")
    assert by_text["three"].glossary == (("turn", "Redebeitrag"),)
    assert by_text["three"].source == resolve_language("en")


# --- failures and retries ---------------------------------------------------------------------


def test_when_the_first_three_calls_fail_every_turn_still_ends_translated_and_in_order(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    def behaviour(request: TranslationRequest, n: int) -> None:
        if n <= 3:
            raise retryable()

    updates = Updates()
    sleep = RecordingSleep()
    queue = make_queue(FakeTranslator(behaviour), [GERMAN], updates, sleep=sleep)
    for index in range(8):
        queue.submit(index, f"turn {index}")
    updates.wait_settled(8)

    final = settled(updates.all)
    assert all(final[(i, "de")].translation.text == f"[German] turn {i}" for i in range(8))
    first_seen = list(dict.fromkeys(u.index for u in updates.all))
    assert first_seen == list(range(8))  # the in-order stream; only late DONE updates may come after
    assert sum(final[(i, "de")].translation.attempts for i in range(8)) == 8 + 3
    assert len(sleep.waits) == 3
    # A retrying turn is announced as PENDING only if the line reached it before it succeeded.
    retried = [u for u in updates.all if u.translation.status is PENDING]
    assert len(retried) <= 3 and all(u.translation.error.startswith("retrying: ") for u in retried)


def test_a_permanently_failing_turn_does_not_delay_later_turns_and_ends_failed(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    updates = Updates()

    def behaviour(request: TranslationRequest, n: int) -> None:
        if request.text == "turn 1":
            raise retryable("The LLM Gateway had a server problem (503).", status=503)

    def sleep(seconds: float) -> None:
        # Turn 1 stays in its backoff until the turns behind it have been delivered: if it held
        # the line, this wait would time out and the test would fail.
        updates.wait_for(lambda ups: {2, 3, 4} <= {u.index for u in ups})

    queue = make_queue(FakeTranslator(behaviour), [GERMAN], updates, sleep=sleep, max_attempts=3)
    for index in range(5):
        queue.submit(index, f"turn {index}")
    updates.wait_settled(5)

    assert [(u.index, u.translation.status) for u in updates.all[:5]] == [
        (0, DONE), (1, PENDING), (2, DONE), (3, DONE), (4, DONE)
    ]
    last = updates.all[-1]
    assert last.index == 1 and last.translation.status is FAILED
    assert last.translation.error == "The LLM Gateway had a server problem (503)."
    assert last.translation.attempts == 3
    assert updates.all[1].translation.error == "retrying: The LLM Gateway had a server problem (503)."


def test_a_non_retryable_error_fails_at_once_in_order(make_queue: Callable[..., TranslationQueue]) -> None:
    def behaviour(request: TranslationRequest, n: int) -> None:
        if request.text == "turn 1":
            raise TranslationError("The LLM Gateway rejected the API key (401).", status=401)

    updates = Updates()
    sleep = RecordingSleep()
    queue = make_queue(FakeTranslator(behaviour), [GERMAN], updates, sleep=sleep)
    for index in range(3):
        queue.submit(index, f"turn {index}")
    updates.wait_settled(3)

    assert [(u.index, u.translation.status) for u in updates.all] == [(0, DONE), (1, FAILED), (2, DONE)]
    assert updates.all[1].translation.attempts == 1
    assert sleep.waits == []


def test_an_unexpected_exception_in_the_translator_fails_the_cell(make_queue: Callable[..., TranslationQueue]) -> None:
    def behaviour(request: TranslationRequest, n: int) -> None:
        raise KeyError("bug")

    updates = Updates()
    queue = make_queue(FakeTranslator(behaviour), [GERMAN], updates)
    queue.submit(0, "x")
    updates.wait_settled(1)

    assert updates.all[0].translation.status is FAILED
    assert "unexpectedly (KeyError)" in updates.all[0].translation.error


def test_backoff_doubles_with_jitter_and_is_capped(make_queue: Callable[..., TranslationQueue]) -> None:
    updates = Updates()
    sleep = RecordingSleep()
    translator = FakeTranslator(lambda request, n: (_ for _ in ()).throw(retryable()))
    queue = make_queue(
        translator, [GERMAN], updates, sleep=sleep, max_attempts=5, backoff=Backoff(first_delay_s=1.0, max_delay_s=5.0, jitter=(0.5, 1.0)),
        rng=lambda: 0.999999
    )
    queue.submit(0, "x")
    updates.wait_settled(1)

    assert sleep.waits == pytest.approx([1.0, 2.0, 4.0, 5.0], rel=1e-3)
    assert updates.all[-1].translation.attempts == 5


def test_retry_after_from_a_429_is_honoured_as_the_minimum_wait(make_queue: Callable[..., TranslationQueue]) -> None:
    def behaviour(request: TranslationRequest, n: int) -> None:
        if n == 1:
            raise retryable("rate limited (429)", status=429, retry_after=7.0)

    updates = Updates()
    sleep = RecordingSleep()
    queue = make_queue(FakeTranslator(behaviour), [GERMAN], updates, sleep=sleep, rng=lambda: 0.0)
    queue.submit(0, "x")
    updates.wait_settled(1)

    assert sleep.waits == [7.0]
    assert settled(updates.all)[(0, "de")].translation.attempts == 2


def test_retry_of_a_failed_cell_translates_it_again(make_queue: Callable[..., TranslationQueue]) -> None:
    network_up = threading.Event()

    def behaviour(request: TranslationRequest, n: int) -> None:
        if not network_up.is_set():
            raise TranslationError("Could not reach the LLM Gateway.", retryable=True)

    updates = Updates()
    queue = make_queue(FakeTranslator(behaviour), [GERMAN, FRENCH], updates, max_attempts=1)
    queue.submit(0, "hello")
    updates.wait_settled(1, languages=2)
    assert {u.translation.status for u in updates.all} == {FAILED}

    network_up.set()
    queue.retry(0, "de")
    updates.wait_for(lambda ups: ups[-1].translation.language == "de" and ups[-1].translation.status is DONE)
    german = updates.of("de")
    assert [u.translation.status for u in german] == [FAILED, PENDING, DONE]
    assert german[1].translation.error == "retrying"
    assert german[2].translation.text == "[German] hello" and german[2].translation.attempts == 2
    assert [u.translation.status for u in updates.of("fr")] == [FAILED]

    queue.retry(0, "de")  # a done cell is left alone
    assert queue.retry_failed() == 1  # only French is still failed
    updates.wait_for(lambda ups: settled(ups)[(0, "fr")].translation.status is DONE)
    assert queue.retry_failed() == 0


def test_on_update_may_call_back_into_the_queue_and_may_even_raise(make_queue: Callable[..., TranslationQueue]) -> None:
    # If on_update ran under the queue's lock, calling pending() from it would deadlock.
    seen: list[int] = []
    updates = Updates()
    queue: TranslationQueue

    def on_update(update: TranslationUpdate) -> None:
        seen.append(queue.pending())
        updates(update)
        if update.index == 0:
            raise RuntimeError("a buggy slot")

    queue = make_queue(FakeTranslator(), [GERMAN], on_update)
    queue.submit(0, "a")
    queue.submit(1, "b")
    updates.wait_settled(2)

    assert len(seen) == 2


# --- shutdown ---------------------------------------------------------------------------------


def test_close_waits_for_outstanding_turns(make_queue: Callable[..., TranslationQueue]) -> None:
    gate = threading.Event()
    updates = Updates()
    queue = make_queue(FakeTranslator(lambda request, n: gate.wait(WAIT)), [GERMAN], updates)
    for index in range(5):
        queue.submit(index, f"turn {index}")
    assert queue.pending() == 5

    threading.Timer(0.05, gate.set).start()  # the requests finish while close() is waiting
    assert queue.close(timeout=WAIT)
    assert queue.pending() == 0
    assert len(settled(updates.all)) == 5
    assert translate_threads() == []


def test_close_is_bounded_when_a_request_hangs_and_marks_the_cell_not_translated() -> None:
    release = threading.Event()

    def behaviour(request: TranslationRequest, n: int) -> None:
        release.wait(WAIT)

    updates = Updates()
    queue = TranslationQueue(FakeTranslator(behaviour), [GERMAN], updates)
    queue.submit(0, "stuck")
    started = time.monotonic()
    assert queue.close(timeout=0.1) is False
    assert time.monotonic() - started < 3
    assert queue.pending() == 0, "nothing is left translating once close() returns"
    assert [(u.translation.status, u.translation.error) for u in updates.all] == [(FAILED, NOT_FINISHED)]

    release.set()
    for thread in translate_threads():
        thread.join(WAIT)
    assert [u.translation.status for u in updates.all] == [FAILED], "the late answer is dropped, not delivered"


def test_close_waits_without_a_limit_and_reports_how_many_cells_are_still_open() -> None:
    gates = [threading.Event() for _ in range(3)]

    def behaviour(request: TranslationRequest, n: int) -> None:
        gates[int(request.text.split()[-1])].wait(WAIT)

    updates = Updates()
    queue = TranslationQueue(FakeTranslator(behaviour), [GERMAN], updates)
    for index in range(3):
        queue.submit(index, f"turn {index}")
    progress: list[int] = []

    def on_progress(open_cells: int) -> None:
        progress.append(open_cells)
        if open_cells:
            gates[3 - open_cells].set()  # each report lets one more request finish

    assert queue.close(timeout=None, on_progress=on_progress) is True
    assert progress == [3, 2, 1, 0]
    assert [u.translation.status for u in updates.all] == [DONE, DONE, DONE]


def test_abandon_from_another_thread_ends_close_at_once_with_every_open_cell_marked_in_order() -> None:
    release = threading.Event()
    updates = Updates()
    queue = TranslationQueue(FakeTranslator(lambda request, n: release.wait(WAIT)), [GERMAN, SPANISH], updates,
                             max_workers=2)
    for index in range(4):
        queue.submit(index, f"turn {index}")
    threading.Timer(0.05, queue.abandon).start()
    started = time.monotonic()
    assert queue.close(timeout=None) is False
    assert time.monotonic() - started < 3
    release.set()
    for thread in translate_threads():
        thread.join(WAIT)  # the requests still on the wire end with their (dropped) answers
    by_language = {code: [u.index for u in updates.all if u.translation.language == code] for code in ("de", "es")}
    assert by_language == {"de": [0, 1, 2, 3], "es": [0, 1, 2, 3]}
    assert all(u.translation.status is FAILED for u in updates.all)


def test_close_interrupts_a_backoff_wait_and_reports_the_turn_failed() -> None:
    def behaviour(request: TranslationRequest, n: int) -> None:
        raise retryable("rate limited (429)", status=429, retry_after=60.0)

    updates = Updates()
    queue = TranslationQueue(FakeTranslator(behaviour), [GERMAN], updates)  # the real, interruptible sleep
    queue.submit(0, "x")
    updates.wait_for(lambda ups: len(ups) == 1)  # PENDING "retrying": it is now in its 60 s backoff

    started = time.monotonic()
    assert queue.close(timeout=0.1) is False, "the cell did not settle by itself: close() marked it"
    assert time.monotonic() - started < 3
    assert updates.all[-1].translation.status is FAILED
    assert updates.all[-1].translation.error == f"{NOT_FINISHED} Last error: rate limited (429)"


def test_turns_submitted_after_close_are_ignored() -> None:
    updates = Updates()
    queue = TranslationQueue(FakeTranslator(), [GERMAN], updates)
    assert queue.close()
    queue.submit(0, "late")
    assert queue.pending() == 0 and queue.retry_failed() == 0


# --- with the real client and the fake LLM Gateway --------------------------------------------


def test_queue_with_gateway_delivers_in_order_per_language_despite_random_server_delays(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    rng = random.Random(3)
    rng_lock = threading.Lock()

    def delay(payload: Any, n: int) -> float:
        with rng_lock:
            return rng.uniform(0, 0.03)

    updates = Updates()
    with FakeLlmGateway(api_key="test-key", delay_s=delay) as llm, ChatTranslator("test-key", base_url=llm.base_url) as t:
        queue = make_queue(t, [GERMAN, JAPANESE], updates)
        for index in range(12):
            queue.submit(index, f"sentence number {index}")
        updates.wait_settled(12, languages=2)
        assert queue.close(timeout=WAIT)

    for language in (GERMAN, JAPANESE):
        got = updates.of(language.code)
        assert [u.index for u in got] == list(range(12))
        assert [u.translation.text for u in got] == [f"[{language.name}] sentence number {i}" for i in range(12)]
        assert all(u.translation.model == "gemini-2.5-flash-lite" for u in got)


def test_queue_with_gateway_waits_out_429_retry_after_and_then_translates(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    updates = Updates()
    sleep = RecordingSleep()
    with FakeLlmGateway(fail_first=2, fail_status=429, fail_headers={"Retry-After": "3"}) as llm, ChatTranslator(
        "test-key", base_url=llm.base_url
    ) as translator:
        queue = make_queue(translator, [GERMAN], updates, sleep=sleep, max_workers=1)
        queue.submit(0, "hello")
        queue.submit(1, "world")
        updates.wait_settled(2)
        assert queue.close(timeout=WAIT)
        assert len(llm.chat_requests) == 4

    assert sleep.waits and all(wait >= 3.0 for wait in sleep.waits)
    final = settled(updates.all)
    assert [final[(i, "de")].translation.text for i in range(2)] == ["[German] hello", "[German] world"]


def test_queue_with_gateway_fails_a_turn_on_a_bad_key_with_the_gateways_message(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    updates = Updates()
    with FakeLlmGateway(api_key="right") as llm, ChatTranslator("wrong", base_url=llm.base_url) as translator:
        queue = make_queue(translator, [GERMAN], updates)
        queue.submit(0, "hello")
        updates.wait_settled(1)
        assert queue.close(timeout=WAIT)

    (update,) = updates.all
    assert update.translation.status is FAILED and update.translation.attempts == 1
    assert update.translation.error.startswith("The LLM Gateway rejected the API key (401)")


def test_a_crash_inside_the_worker_fails_the_cell_instead_of_blocking_the_line(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    def broken_sleep(seconds: float) -> None:
        raise RuntimeError("clock broke")

    def behaviour(request: TranslationRequest, n: int) -> None:
        if request.text == "turn 0":
            raise retryable()

    updates = Updates()
    queue = make_queue(FakeTranslator(behaviour), [GERMAN], updates, sleep=broken_sleep)
    queue.submit(0, "turn 0")
    queue.submit(1, "turn 1")
    updates.wait_settled(2)

    final = settled(updates.all)
    assert final[(0, "de")].translation.status is FAILED
    assert "unexpectedly (RuntimeError)" in final[(0, "de")].translation.error
    assert final[(1, "de")].translation.status is DONE


# --- one request for every target language ---------------------------------------------------


def test_several_targets_are_one_request_per_turn_delivered_per_language_in_order(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    rng = random.Random(11)
    delays = {i: rng.uniform(0, 0.02) for i in range(8)}
    pause = threading.Event()

    def slow(request: BatchRequest, n: int) -> None:
        pause.wait(delays[int(request.text.split()[1])])

    translator = FakeBatchTranslator(batch_behaviour=slow)
    updates = Updates()
    queue = make_queue(translator, [GERMAN, FRENCH, JAPANESE], updates, max_workers=4)
    for index in range(8):
        queue.submit(index, f"turn {index}", finalized_at=time.monotonic())
    updates.wait_settled(8, languages=3)

    assert len(translator.batches) == 8 and translator.requests == []
    assert all([t.code for t in b.targets] == ["de", "fr", "ja"] for b in translator.batches)
    for language in (GERMAN, FRENCH, JAPANESE):
        got = updates.of(language.code)
        assert [u.index for u in got] == list(range(8)), "each language in turn order, exactly once"
        assert [u.translation.text for u in got] == [f"[{language.name}] turn {i}" for i in range(8)]
        assert all(u.translation.status is DONE and u.translation.attempts == 1 for u in got)
        assert all(u.translation.latency_ms is not None and u.translation.model == "fake-model" for u in got)


def test_one_target_keeps_one_plain_request_per_turn_and_batch_false_keeps_one_per_language(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    single, per_language = FakeBatchTranslator(), FakeBatchTranslator()
    updates, other = Updates(), Updates()
    make_queue(single, [GERMAN], updates).submit(0, "hello")
    make_queue(per_language, [GERMAN, FRENCH], other, batch=False).submit(0, "hello")
    updates.wait_settled(1)
    other.wait_settled(1, languages=2)

    assert (len(single.batches), len(single.requests)) == (0, 1)
    assert (len(per_language.batches), len(per_language.requests)) == (0, 2)


def test_languages_a_reply_lacks_or_a_reply_that_does_not_parse_go_one_language_at_a_time(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    def reply(request: BatchRequest, n: int) -> set[str]:
        return {"turn 1": {"fr"}, "turn 2": {"de", "fr", "ja"}}.get(request.text, set())

    translator = FakeBatchTranslator(batch_behaviour=reply)
    updates = Updates()
    queue = make_queue(translator, [GERMAN, FRENCH, JAPANESE], updates)
    for index in range(4):
        queue.submit(index, f"turn {index}")
    updates.wait_settled(4, languages=3)

    assert sorted((r.text, r.target.code) for r in translator.requests) == [
        ("turn 1", "fr"), ("turn 2", "de"), ("turn 2", "fr"), ("turn 2", "ja")]
    for language in (GERMAN, FRENCH, JAPANESE):
        got = updates.of(language.code)
        assert [u.index for u in got] == [0, 1, 2, 3]
        assert [u.translation.text for u in got] == [f"[{language.name}] turn {i}" for i in range(4)]


def test_a_failing_request_for_several_languages_is_retried_whole_and_every_language_says_retrying(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    def flaky(request: BatchRequest, n: int) -> None:
        if n == 1:
            raise retryable("The LLM Gateway had a server problem (503).", status=503)

    translator = FakeBatchTranslator(batch_behaviour=flaky)
    updates = Updates()
    queue = make_queue(translator, [GERMAN, FRENCH], updates)
    queue.submit(0, "hello")
    updates.wait_settled(1, languages=2)

    for code in ("de", "fr"):
        assert [(u.translation.status, u.translation.error, u.translation.attempts) for u in updates.of(code)] == [
            (PENDING, "retrying: The LLM Gateway had a server problem (503).", 1), (DONE, "", 2)]
    assert len(translator.batches) == 2 and translator.requests == []


def test_a_non_retryable_failure_fails_every_language_of_the_turn_and_a_retry_asks_once_again(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    refused: list[str] = []

    def refuse_first(request: BatchRequest, n: int) -> None:
        if request.text == "hello" and not refused:
            refused.append(request.text)
            raise TranslationError("The LLM Gateway refused this account (403).", status=403)

    translator = FakeBatchTranslator(batch_behaviour=refuse_first)
    updates = Updates()
    queue = make_queue(translator, [GERMAN, FRENCH], updates)
    queue.submit(0, "hello")
    queue.submit(1, "world")
    updates.wait_settled(2, languages=2)
    assert [u.translation.status for u in updates.of("de")] == [FAILED, DONE]
    assert [u.translation.status for u in updates.of("fr")] == [FAILED, DONE]

    queue.retry(0)  # both failed languages of turn 0: one request again
    updates.wait_for(lambda ups: sum(u.index == 0 and u.translation.status is DONE for u in ups) == 2)
    assert len(translator.batches) == 3 and translator.requests == []


def test_close_marks_every_language_of_a_request_still_on_the_wire_and_drops_its_late_answer() -> None:
    release = threading.Event()
    updates = Updates()
    queue = TranslationQueue(FakeBatchTranslator(batch_behaviour=lambda request, n: release.wait(WAIT)),
                             [GERMAN, FRENCH, JAPANESE], updates)
    queue.submit(0, "stuck")
    assert queue.close(timeout=0.1) is False
    release.set()
    for thread in translate_threads():
        thread.join(WAIT)

    assert sorted((u.translation.language, u.translation.status, u.translation.error) for u in updates.all) == [
        (code, FAILED, NOT_FINISHED) for code in ("de", "fr", "ja")]


def test_queue_with_gateway_asks_once_per_turn_for_three_languages_and_falls_back_for_a_missing_one(
    make_queue: Callable[..., TranslationQueue],
) -> None:
    updates = Updates()
    with FakeLlmGateway(api_key="test-key", omit_languages={"ja"}) as llm, \
            ChatTranslator("test-key", base_url=llm.endpoint) as translator:
        queue = make_queue(translator, [GERMAN, FRENCH, JAPANESE], updates)
        for index in range(5):
            queue.submit(index, f"sentence number {index}")
        updates.wait_settled(5, languages=3)
        assert queue.close(timeout=WAIT)
        requests = llm.chat_requests

    several = [r for r in requests if r.targets]
    assert len(several) == 5 and all(set(r.targets) == {"de", "fr", "ja"} for r in several)
    assert sorted(r.target for r in requests if not r.targets) == ["Japanese"] * 5
    for language in (GERMAN, FRENCH, JAPANESE):
        got = updates.of(language.code)
        assert [u.translation.text for u in got] == [f"[{language.name}] sentence number {i}" for i in range(5)]


def test_a_turn_already_in_a_target_language_is_that_cell_without_a_request_and_tells_the_rest(
        make_queue: Callable[..., TranslationQueue]) -> None:
    translator, updates = FakeBatchTranslator(), Updates()
    queue = make_queue(translator, [SPANISH, GERMAN, FRENCH], updates, source=None)
    slow = threading.Event()
    translator.batch_behaviour = lambda request, n: slow.wait(WAIT) and ()
    queue.submit(0, "Hello everyone.", spoken=resolve_language("en"))  # English: nothing to copy
    queue.submit(1, "Buenos días a todos.", spoken=resolve_language("es"))
    queue.submit(2, "Guten Morgen.", spoken=resolve_language("de"))
    assert all(u.translation.status is PENDING for u in updates.all), "copies wait for the turns before them"
    slow.set()
    updates.wait_settled(3, 3)
    cells = settled(updates.all)
    assert (cells[(1, "es")].translation.text, cells[(1, "es")].translation.model) == ("Buenos días a todos.", "original")
    assert (cells[(2, "de")].translation.text, cells[(2, "de")].translation.model) == ("Guten Morgen.", "original")
    assert cells[(1, "de")].translation.text == "[German] Buenos días a todos."
    asked = {(tuple(t.code for t in b.targets), b.source.code if b.source else None) for b in translator.batches}
    assert asked == {(("es", "de", "fr"), "en"), (("de", "fr"), "es"), (("es", "fr"), "de")}
    assert [u.index for u in updates.of("es") if u.translation.status is DONE] == [0, 1, 2], "still in turn order"


def test_a_regional_target_is_still_translated_from_its_family() -> None:
    from app.translate.queue import same_language

    assert same_language(SPANISH, resolve_language("es"))
    assert same_language(resolve_language("pt"), resolve_language("pt-BR"))
    assert not same_language(resolve_language("pt-BR"), resolve_language("pt"))
    assert not same_language(GERMAN, SPANISH)
