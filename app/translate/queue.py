"""Translates every final turn into every chosen language, several requests at a time, and hands
the results over in turn order, pacing the requests to the LLM Gateway's rate limit.

Threads: ``submit``, ``set_targets``, ``retry``, ``retry_failed``, ``pending``, ``abandon`` and
``close`` may be called from any thread (``submit`` comes from the websocket thread, ``retry`` from
the UI); none of them blocks except ``close``, which the session's end calls once. Requests,
backoff waits and every ``on_update`` call run on the queue's own worker threads ("translate_*"),
so the caller marshals updates to its UI. ``on_update`` is never called while an internal lock is
held, and calls never overlap: it may call back into the queue (``retry`` etc.) but must not call
``close``.

Delivery rule, per target language:
1. Results are delivered in increasing turn ``index`` (submission order): a turn that finishes
   early waits until every earlier turn of that language has been delivered.
2. A turn never holds the line up for long: when its first attempt fails with a retryable error
   it becomes releasable as PENDING with ``error="retrying: <reason>"``, so once the turns before
   it are out it is delivered and the turns behind it follow at once. (If it succeeds before the
   line reaches it, the PENDING is superseded and only the DONE is delivered, in order.) A turn
   that fails for good is delivered as FAILED with the error text.
3. Turns that were released as PENDING get their final DONE/FAILED update whenever they settle,
   which may be after later turns (the one case where updates arrive out of order).
4. ``retry`` of a FAILED cell delivers PENDING (``error="retrying"``) and then its new outcome.
5. ``close`` settles every cell: what did not settle in time (or before ``abandon``) is delivered
   FAILED "not translated", so every cell of every turn ends DONE or FAILED, none "translating".

Requests: with one target language, one request per turn. With several, and a translator that
can (``BatchTranslator``), ONE request asks for all of a turn's languages at once (a JSON reply,
one field per language); each language the reply lacks, or every language when it is not JSON,
is then translated in a request of its own. Requests per minute no longer grow with the number
of targets, which the gateway's per-model limit could not keep up with [protocol §9.9]. Cells,
updates, their order and their latency are the same on both paths: a turn's cells settle when
their reply is in, each delivered in its language's order.

Pacing: with a ``RateLimitPacer`` every request first waits for its turn in the rate-limit window
(earliest turn first); ``on_rate_limit(open_cells, resume_in_s)`` says when that starts to hold
translations back and ``(0, 0.0)`` when it no longer does (called on a worker thread, no lock held).
Nothing is dropped while waiting: the cells stay open until their request has gone and come back.

Retries: a retryable ``TranslationError`` is retried up to ``max_attempts`` times with the
``backoff`` (``app.core.backoff.TRANSLATION_BACKOFF``: 0.5 s doubling, capped at 20 s, jittered to
50-100 %); the server's ``retry_after`` is honoured as a minimum. Non-retryable errors fail at once.
A several-language request is retried as a whole; its languages share its attempts.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.core.backoff import TRANSLATION_BACKOFF, Backoff
from app.core.errors import TranslationError
from app.core.languages import Language
from app.core.transcript import SAME_LANGUAGE, Translation, TranslationStatus
from app.translate.base import BatchTranslator, Translator
from app.translate.pacing import RateLimitPacer
from app.translate.prompt import BatchRequest, TranslationRequest

log = logging.getLogger(__name__)

# A server asking for a very long pause (or a broken header) must not park a turn for minutes.
MAX_RETRY_AFTER = 120.0
NOT_FINISHED = "Not translated: the session ended before its translation arrived."
_PROGRESS_WAIT = 0.25  # close() re-reads the open count at least this often
_DELIVERY_WAIT = 5.0  # on_update calls are quick; this only guards against a stuck one
_CLOSE_GRACE = 0.2  # how long close() lets woken workers leave before shutting the pool down


@dataclass(frozen=True)
class TranslationUpdate:
    index: int  # the turn's index in the session
    translation: Translation  # a fresh object per update; .language is the target's code


@dataclass
class _Job:
    index: int
    language: Language
    text: str
    context: tuple[str, ...]
    started_at: float  # on the queue's clock; latency is measured from here
    spoken: Language | None = None  # the turn's own language, when the service detected it
    status: TranslationStatus = TranslationStatus.PENDING
    attempts: int = 0  # over the cell's whole life, manual retries included
    released: bool = False  # its language's in-order delivery has moved past it
    last_error: str = ""  # the last failed attempt's message, for the cell close() marks


@dataclass
class _Lane:
    """In-order delivery state of one target language."""

    waiting: deque[int] = field(default_factory=deque)  # submitted, not yet released, in order
    ready: dict[int, Translation] = field(default_factory=dict)  # releasable, held for order
    last_index: int | None = None


class TranslationQueue:
    def __init__(
        self,
        translator: Translator,
        targets: Sequence[Language],
        on_update: Callable[[TranslationUpdate], None],
        *,
        source: Language | None = None,
        max_workers: int = 4,
        max_attempts: int = 4,
        backoff: Backoff = TRANSLATION_BACKOFF,
        context_turns: int = 0,
        glossary: Iterable[tuple[str, str]] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        rng: Callable[[], float] = random.random,
        pacer: RateLimitPacer | None = None,
        on_rate_limit: Callable[[int, float], None] | None = None,
        batch: bool = True,
        instructions: str = "",
    ) -> None:
        if max_workers < 1 or max_attempts < 1:
            raise ValueError("max_workers and max_attempts must be at least 1")
        self._translator = translator
        self._on_update = on_update
        self._source = source
        self._max_attempts = max_attempts
        self.backoff = backoff
        self._glossary = tuple(glossary)
        self._instructions = instructions  # the user's own, for a session translated again
        self._clock = clock
        self._stop = threading.Event()
        # The default wait returns early when close() gives up waiting, so a long backoff never
        # keeps close() (or a worker thread) hanging.
        self._sleep: Callable[[float], object] = sleep if sleep is not None else self._stop.wait
        self._rng = rng
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="translate")
        # One request for all of a turn's languages needs a translator that can do it; ``batch=False``
        # keeps one request per language (the bench compares the two).
        self._batcher: BatchTranslator | None = (
            translator if batch and isinstance(translator, BatchTranslator) else None)
        self._pacer = pacer
        self._on_rate_limit = on_rate_limit
        if pacer is not None:
            pacer.on_change = self._pacing_changed

        self._cond = threading.Condition()  # guards everything below
        self._targets = _dedupe(targets)
        self._recent: deque[str] = deque(maxlen=max(0, context_turns))
        self._context_turns = max(0, context_turns)
        self._jobs: dict[tuple[int, str], _Job] = {}
        self._lanes: dict[str, _Lane] = {}
        self._outbox: deque[TranslationUpdate] = deque()
        self._delivering = False
        self._active_tasks = 0  # scheduled on the executor and not yet returned
        self._pending = 0
        self._closing = False
        self._abandoned = threading.Event()
        self._warned_clock = False

    # --- public API (any thread) --------------------------------------------------------------

    def submit(self, index: int, text: str, finalized_at: float | None = None,
               languages: Sequence[Language] | None = None, spoken: Language | None = None) -> None:
        """Queue turn ``index`` for every current target (or for ``languages``: an earlier turn
        translated into a language added later). ``finalized_at`` is when the turn became final,
        read from this queue's ``clock`` (``time.monotonic()`` by default, NOT the wall-clock
        ``Turn.finalized_at``); latency is measured from it, else from now. ``spoken`` is the
        turn's own language (detected by the service): it tells the prompt what it translates
        from, and a target in that very language is the turn's text, with no request at all."""
        now = self._clock()
        started = now if finalized_at is None else finalized_at
        if started > now + 1.0:
            # A wall-clock time handed to a monotonic clock lies far in the future; measure from now
            # rather than report negative latencies.
            if not self._warned_clock:
                log.warning("finalized_at %.3f is ahead of the queue's clock %.3f; measuring from submit", started, now)
                self._warned_clock = True
            started = now
        with self._cond:
            if self._closing:
                log.warning("Turn %d arrived after the translation queue was closed; not translated", index)
                return
            context = tuple(self._recent)
            if self._context_turns and text.strip() and languages is None:
                self._recent.append(text.strip())
            keys = []
            copied = False
            for language in _dedupe(languages) if languages is not None else self._targets:
                key = (index, language.code)
                if key in self._jobs:
                    log.warning("Turn %d was submitted twice for %s; ignoring the repeat", index, language.code)
                    continue
                lane = self._lanes.setdefault(language.code, _Lane())
                if lane.last_index is not None and index <= lane.last_index:
                    log.warning(
                        "Turn %d submitted after turn %d; delivered in submission order", index, lane.last_index
                    )
                lane.last_index = index
                lane.waiting.append(index)
                job = _Job(index, language, text, context, started, spoken=spoken)
                self._jobs[key] = job
                self._pending += 1
                if spoken is not None and same_language(language, spoken):
                    self._settle_locked(job, TranslationStatus.DONE, text=text, model=SAME_LANGUAGE)
                    copied = True
                    continue
                keys.append(key)
            if keys:
                self._schedule_locked(keys)
        if copied:
            self._deliver()

    def set_targets(self, targets: Sequence[Language]) -> None:
        """Languages for turns submitted from now on; turns already queued keep theirs."""
        with self._cond:
            self._targets = _dedupe(targets)

    def retry(self, index: int, language: str | None = None) -> None:
        """Translate a FAILED cell again (all FAILED languages of the turn when ``language`` is
        None). Cells that are pending or done are left alone."""
        with self._cond:
            keys = [k for k in self._jobs if k[0] == index and (language is None or k[1] == language)]
            self._retry_locked(keys)

    def retry_failed(self) -> int:
        """Retry every FAILED cell (e.g. when the network is back); returns how many."""
        with self._cond:
            return self._retry_locked(sorted(self._jobs))

    def pending(self) -> int:
        """Cells not yet DONE or FAILED (queued, in flight or waiting to retry)."""
        with self._cond:
            return self._pending

    def close(self, timeout: float | None = None, *, on_progress: Callable[[int], object] | None = None,
              reason: str = NOT_FINISHED) -> bool:
        """Stop taking turns and finish the outstanding ones; blocks (the session's end, never the GUI).

        Waits until every cell has settled, ``timeout`` seconds have passed (None: no limit; every
        request is bounded by its own attempts) or ``abandon()`` is called, telling ``on_progress``
        the number of cells still open whenever it changes (on this thread, no lock held). Then
        every cell still open is settled as FAILED with ``reason`` and delivered in order like any
        result, so nothing the session shows or saves is left "translating"; the late answer of a
        request still on the wire is dropped. Returns True when every cell settled by itself."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        reported: int | None = None
        with self._cond:
            self._closing = True
        while True:
            with self._cond:
                left = None if deadline is None else deadline - time.monotonic()
                open_cells = self._pending
                done = open_cells == 0 or self._abandoned.is_set() or (left is not None and left <= 0)
                if not done and open_cells == reported:
                    self._cond.wait(_PROGRESS_WAIT if left is None else min(_PROGRESS_WAIT, left))
                    continue
            if on_progress is not None and open_cells != reported:
                on_progress(open_cells)
            reported = open_cells
            if done:
                break
        finished = self._mark_open_cells(reason) == 0
        self._stop.set()  # wakes backoff waits; their workers find their cells already settled
        if self._pacer is not None:
            self._pacer.interrupt()  # and requests waiting for the rate limit
        self._deliver()
        with self._cond:
            # Another worker may be the one delivering: wait until every update is out.
            self._cond.wait_for(lambda: not self._outbox and not self._delivering, timeout=_DELIVERY_WAIT)
            # Workers woken from a backoff wait leave at once; one with a request on the wire does not.
            idle = self._cond.wait_for(lambda: self._active_tasks == 0, timeout=_CLOSE_GRACE)
        # With no task left the threads only have to notice the shutdown, so waiting is instant;
        # otherwise a request is still on the wire: leave it to its own timeout, unanswered.
        self._executor.shutdown(wait=idle)
        if not finished:
            log.warning("Translation queue closed with open cells marked not translated: %s", reason)
        return finished

    def abandon(self) -> None:
        """Any thread: make a running (or the next) ``close()`` stop waiting and mark what is open."""
        with self._cond:
            self._abandoned.set()
            self._cond.notify_all()

    def _mark_open_cells(self, reason: str) -> int:
        with self._cond:
            open_jobs = sorted((j for j in self._jobs.values() if j.status is TranslationStatus.PENDING),
                               key=lambda j: (j.index, j.language.code))
            for job in open_jobs:
                why = f" Last error: {job.last_error}" if job.last_error else ""
                self._settle_locked(job, TranslationStatus.FAILED, error=reason + why)
        return len(open_jobs)

    # --- scheduling (caller holds self._cond) -------------------------------------------------

    def _retry_locked(self, keys: Iterable[tuple[int, str]]) -> int:
        if self._closing:
            return 0
        by_turn: dict[int, list[tuple[int, str]]] = {}
        for key in keys:
            job = self._jobs[key]
            if job.status is not TranslationStatus.FAILED:
                continue
            job.status = TranslationStatus.PENDING
            # started_at stays: the latency shown is the real time from the turn to the translation
            # finally shown, not the time of the attempt that worked.
            self._pending += 1
            if job.released:
                self._outbox.append(TranslationUpdate(job.index, self._translation(job, error="retrying")))
            else:
                # Its FAILED result was still held back for order: drop it, a new one will come.
                self._lanes[key[1]].ready.pop(job.index, None)
            by_turn.setdefault(key[0], []).append(key)
        for group in by_turn.values():
            self._schedule_locked(group)  # a turn's retried languages go in one request too
        return sum(len(group) for group in by_turn.values())

    def _schedule_locked(self, keys: list[tuple[int, str]]) -> None:
        """Start the requests for ``keys`` (cells of ONE turn): one request for all of them when
        there are several and the translator can, else one per cell."""
        groups = [keys] if self._batcher is not None and len(keys) > 1 else [[key] for key in keys]
        for group in groups:
            self._active_tasks += 1
            try:
                self._executor.submit(self._work, group)
            except RuntimeError:  # the executor was shut down under us
                self._active_tasks -= 1
                raise

    # --- worker threads -----------------------------------------------------------------------

    def _work(self, keys: list[tuple[int, str]]) -> None:
        try:
            self._deliver()  # e.g. the PENDING update that retry() queued
            missing = self._translate(keys)
            with self._cond:
                # What a several-language reply lacked goes one language at a time (unless close()
                # has marked it meanwhile).
                for key in missing:
                    if self._jobs[key].status is TranslationStatus.PENDING:
                        self._schedule_locked([key])
            self._deliver()
        except Exception as exc:
            # The one catch-all: a bug (or a raising injected sleep) must neither leave a cell
            # pending forever, which would hold up its language's line, nor fail silently.
            log.exception("Translation worker failed for turn %d (%s)", keys[0][0], ", ".join(k[1] for k in keys))
            error = f"Translation failed unexpectedly ({type(exc).__name__}); see the log."
            for key in keys:
                with self._cond:
                    job = self._jobs[key]
                    unsettled = job.status is TranslationStatus.PENDING  # only this task can settle it
                if unsettled:
                    self._settle(job, TranslationStatus.FAILED, error=error)
            self._deliver()
        finally:
            with self._cond:
                self._active_tasks -= 1
                self._cond.notify_all()

    def _translate(self, keys: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Translate one turn's cells in ONE request, with retries; settles each cell the reply
        holds and returns the cells it did not hold (only a several-language reply can lack one)."""
        with self._cond:
            jobs = [self._jobs[key] for key in keys]
        first = jobs[0]
        if not first.text.strip():
            for job in jobs:
                self._settle(job, TranslationStatus.DONE)
            return []
        for attempt in range(1, self._max_attempts + 1):
            if self._stop.is_set() or not self._pace(first.index):
                return []  # close() has marked the cells not translated
            with self._cond:
                for job in jobs:
                    job.attempts += 1
            try:
                texts, model = self._request(jobs)
            except TranslationError as exc:
                error = exc
            except Exception as exc:
                log.exception("Translator raised an unexpected error for turn %d", first.index)
                error = TranslationError(f"Translation failed unexpectedly ({type(exc).__name__}); see the log.")
            else:
                for job in jobs:
                    if texts.get(job.language.code):
                        self._settle(job, TranslationStatus.DONE, text=texts[job.language.code], model=model)
                return [key for key, job in zip(keys, jobs, strict=True) if not texts.get(job.language.code)]
            finally:
                self._unpace()
            with self._cond:
                for job in jobs:
                    job.last_error = error.message
            if not error.retryable or attempt == self._max_attempts:
                for job in jobs:
                    self._settle(job, TranslationStatus.FAILED, error=error.message)
                return []
            log.info("Turn %d (%s) attempt %d failed, will retry: %s", first.index,
                     ", ".join(job.language.code for job in jobs), attempt, error.message)
            if attempt == 1:
                for job in jobs:
                    self._publish(job, self._translation(job, error=f"retrying: {error.message}"))
                self._deliver()
            self._sleep(self._backoff(attempt, error.retry_after))
        raise AssertionError("unreachable: the last attempt always settles")  # pragma: no cover

    def _request(self, jobs: list[_Job]) -> tuple[dict[str, str], str]:
        """One request for ``jobs`` (one turn): ``({language code: text}, model)``."""
        first = jobs[0]
        if len(jobs) == 1:
            request = TranslationRequest(first.text, first.language, first.spoken or self._source, first.context,
                                         self._glossary, self._instructions)
            result = self._translator.translate(request)
            return {first.language.code: result.text}, result.model
        assert self._batcher is not None
        batch = BatchRequest(first.text, tuple(job.language for job in jobs), first.spoken or self._source,
                             first.context, self._glossary, self._instructions)
        several = self._batcher.translate_all(batch)
        return several.texts, several.model

    # --- pacing ---------------------------------------------------------------------------------

    def _pace(self, index: int) -> bool:
        """Wait until the rate limit lets turn ``index``'s request go; False if the queue stopped."""
        return self._pacer is None or self._pacer.acquire(index, self._stop)

    def _unpace(self) -> None:
        if self._pacer is not None:
            self._pacer.finished()

    def _pacing_changed(self, waiting: bool, resume_in_s: float) -> None:
        if self._on_rate_limit is None:
            return
        with self._cond:
            open_cells = self._pending
        try:
            self._on_rate_limit(open_cells if waiting else 0, resume_in_s)
        except Exception:
            log.exception("on_rate_limit failed")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = self.backoff.delay(attempt, self._rng())  # jittered: parallel failures do not retry in lockstep
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay

    def _settle(
        self, job: _Job, status: TranslationStatus, *, text: str = "", model: str = "", error: str = ""
    ) -> None:
        with self._cond:
            if job.status is not TranslationStatus.PENDING:
                # close() marked it while the request was on the wire: the session has moved on.
                log.info("Dropping the late %s result of turn %d (%s)", status.value, job.index, job.language.code)
                return
            self._settle_locked(job, status, text=text, model=model, error=error)

    def _settle_locked(
        self, job: _Job, status: TranslationStatus, *, text: str = "", model: str = "", error: str = ""
    ) -> None:
        latency_ms = max(0, round((self._clock() - job.started_at) * 1000))
        job.status = status
        self._pending -= 1
        translation = self._translation(job, text=text, model=model, error=error, latency_ms=latency_ms)
        self._publish_locked(job, translation)
        self._cond.notify_all()

    def _translation(
        self, job: _Job, *, text: str = "", model: str = "", error: str = "", latency_ms: int | None = None
    ) -> Translation:
        return Translation(
            language=job.language.code, text=text, status=job.status, model=model,
            latency_ms=latency_ms, error=error, attempts=job.attempts,
        )

    def _publish(self, job: _Job, translation: Translation) -> None:
        with self._cond:
            self._publish_locked(job, translation)

    def _publish_locked(self, job: _Job, translation: Translation) -> None:
        """Put ``translation`` in the outbox now, or hold it until the turns before it are out."""
        if job.released:
            self._outbox.append(TranslationUpdate(job.index, translation))
            return
        lane = self._lanes[job.language.code]
        lane.ready[job.index] = translation
        while lane.waiting and lane.waiting[0] in lane.ready:
            index = lane.waiting.popleft()
            self._jobs[(index, job.language.code)].released = True
            self._outbox.append(TranslationUpdate(index, lane.ready.pop(index)))

    def _deliver(self) -> None:
        """Hand the outbox to ``on_update``, one update at a time, outside the lock.

        Only one thread delivers at a time (the others just leave their updates in the outbox),
        so updates reach the caller in exactly the order the lanes released them."""
        with self._cond:
            if self._delivering:
                return
            self._delivering = True
        try:
            while True:
                with self._cond:
                    if not self._outbox:
                        # Cleared in the same critical section that saw the outbox empty: an update
                        # added a moment later finds no deliverer and delivers itself.
                        self._delivering = False
                        self._cond.notify_all()  # close() waits for the outbox to empty
                        return
                    update = self._outbox.popleft()
                try:
                    self._on_update(update)
                except Exception:
                    log.exception("on_update failed for turn %d (%s)", update.index, update.translation.language)
        except BaseException:
            with self._cond:
                self._delivering = False  # let the next worker carry on delivering
                self._cond.notify_all()
            raise


def _dedupe(targets: Sequence[Language]) -> tuple[Language, ...]:
    seen: dict[str, Language] = {}
    for language in targets:
        seen.setdefault(language.code, language)
    return tuple(seen.values())


def same_language(target: Language, spoken: Language) -> bool:
    """Whether a turn in ``spoken`` needs no translation into ``target``: the same code, or a
    target without a region in the spoken language's family ("es" for a turn in "es-MX"); a
    regional target ("pt-BR" for a turn in "pt") is still translated."""
    t, s = target.code.lower(), spoken.code.lower()
    return t == s or ("-" not in t and t == s.split("-")[0])
