"""Pacing LLM Gateway requests by the rate-limit headers, so that the 429 does not have to arrive.

Thread-safe. The translation queue's worker threads call ``acquire`` before each request and
``finished`` after it; ``ChatTranslator`` calls ``observe`` with the ``X-RateLimit-*`` headers of
every reply (success or error) [protocol §5.4, §9.9]. ``on_change`` is called on a worker thread,
with no lock of this module held.

How it paces: the gateway allows ``limit`` requests per window per model and says, on every reply,
how many are left (``Remaining``) and when the window resets (``Reset``, seconds). The pacer keeps
its own count of what it may still send in this window: the last reply's ``Remaining`` less the
other requests still on the wire (the server may not have counted them yet), less every request
granted since. While that count is above zero requests go at once (short bursts cost no delay);
at zero, the next request waits until the window resets (plus a small margin for the server's
rounding), then the window's ``limit`` is granted again, less what is in flight. Waiting requests
go in order of their ``priority`` (the turn index), so a retry of an early turn is not stuck behind
later turns, and per-language delivery (which waits for the earliest turn) keeps moving.
Until the first reply, one request goes at a time (nothing has told the limit yet). Without headers
(another OpenAI-compatible server) nothing is paced after that.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

from app.translate.replies import RateLimit

log = logging.getLogger(__name__)

RESET_MARGIN_S = 0.1  # the server rounds Reset to whole seconds; do not knock on the door early
_UNKNOWN_WAIT_S = 1.0  # re-check this often while waiting for a reply to say when the window resets

ChangeCallback = Callable[[bool, float], None]  # (waiting for the rate limit?, seconds until it resumes)


class RateLimitPacer:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, margin_s: float = RESET_MARGIN_S) -> None:
        self._clock = clock
        self._margin = margin_s
        self._cond = threading.Condition()
        self._budget: int | None = None  # requests that may still go in this window; None: no limit known
        self._limit: int | None = None
        self._reset_at: float | None = None  # when the current window ends (None: not known yet)
        self._in_flight = 0
        self._answered = False  # a reply has come: until then one request probes the window alone
        self._waiters: list[tuple[int, int]] = []  # heap of (priority, arrival)
        self._arrivals = itertools.count()
        self._binding = False  # a request is waiting because the window's budget is spent
        self.on_change: ChangeCallback | None = None
        self.waits = 0  # how many times pacing made a request wait (for the bench and the log)

    @property
    def binding(self) -> bool:
        with self._cond:
            return self._binding

    def acquire(self, priority: int, stop: threading.Event) -> bool:
        """Block until a request of ``priority`` may be sent (lower goes first); False when ``stop``
        was set meanwhile (call ``interrupt`` after setting it). Pair a True with ``finished``."""
        entry = (priority, next(self._arrivals))
        with self._cond:
            heapq.heappush(self._waiters, entry)
            self._cond.notify_all()  # for wait_for_waiters
        try:
            while True:
                note: tuple[bool, float] | None = None
                granted = False
                with self._cond:
                    if stop.is_set():
                        return False
                    now = self._clock()
                    self._roll(now)
                    first = self._waiters[0] == entry
                    if first and self._may_send():
                        heapq.heappop(self._waiters)
                        self._in_flight += 1
                        if self._budget is not None:
                            self._budget -= 1
                        if self._binding:
                            self._binding = False
                            note = (False, 0.0)
                        granted = True
                        self._cond.notify_all()
                    elif first and not self._binding and self._reset_at is not None:
                        # Only a wait for a known reset is reported: a wait for the reply to an
                        # in-flight request (which says when the window resets) is a moment long.
                        self._binding = True
                        self.waits += 1
                        note = (True, self._resume_in(now))
                        log.info("LLM requests wait %.1f s for the rate limit (limit %s per window)",
                                 note[1], self._limit)
                    else:
                        self._cond.wait(self._wait_timeout(now))
                if note is not None:
                    self._notify(*note)
                if granted:
                    return True
        finally:
            cleared = False
            with self._cond:
                if entry in self._waiters:
                    self._waiters.remove(entry)
                    heapq.heapify(self._waiters)
                    if not self._waiters and self._binding:
                        self._binding, cleared = False, True  # nobody waits any more (stopped)
                    self._cond.notify_all()
            if cleared:
                self._notify(False, 0.0)

    def finished(self) -> None:
        """The request ``acquire`` granted has been answered (or failed without an answer)."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify_all()

    def observe(self, limit: RateLimit | None) -> None:
        """A reply came with these rate-limit headers (None: without any); any thread, called while
        its request is still in flight."""
        with self._cond:
            self._answered = True
            if limit is None:
                self._cond.notify_all()
                return
            now = self._clock()
            self._roll(now)
            if limit.limit:
                self._limit = limit.limit
            others = max(0, self._in_flight - 1)  # still on the wire: maybe not counted by the server yet
            budget = limit.remaining - others
            if self._reset_at is not None and self._budget is not None:
                # Same window: replies can arrive out of order, so an older, higher Remaining must
                # not give back what later requests used up.
                budget = min(budget, self._budget)
            self._budget = budget
            self._reset_at = now + limit.reset_s
            self._cond.notify_all()

    def wait_for_waiters(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` requests are waiting in ``acquire`` (for tests and the bench)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._waiters) >= count, timeout=timeout)

    def interrupt(self) -> None:
        """Wake every waiter so that it sees its ``stop`` event."""
        with self._cond:
            self._cond.notify_all()

    # --- caller holds self._cond ----------------------------------------------------------------

    def _roll(self, now: float) -> None:
        """A window that has ended gives its whole limit again (less what is still on the wire)."""
        if self._reset_at is not None and now >= self._reset_at + self._margin:
            self._reset_at = None
            self._budget = None if self._limit is None else max(0, self._limit - self._in_flight)

    def _may_send(self) -> bool:
        if not self._answered:
            # Nothing says how many requests the window allows until the first reply: one at a time.
            return self._in_flight == 0
        if self._budget is None or self._budget > 0:
            return True
        # The budget is spent and no reply has said when the window ends: let one request probe.
        return self._reset_at is None and self._in_flight == 0

    def _resume_in(self, now: float) -> float:
        return max(0.0, self._reset_at + self._margin - now) if self._reset_at is not None else 0.0

    def _wait_timeout(self, now: float) -> float:
        if self._reset_at is not None and self._budget is not None and self._budget <= 0:
            return max(0.001, self._reset_at + self._margin - now)
        return _UNKNOWN_WAIT_S

    def _notify(self, waiting: bool, resume_in_s: float) -> None:
        callback = self.on_change
        if callback is None:
            return
        try:
            callback(waiting, resume_in_s)
        except Exception:
            log.exception("the rate-limit callback failed")
