"""A live session's translations: every final turn into every chosen language, during the
session and after it (retries, earlier turns into a language added later).

Qt-free. ``submit`` comes from the streaming thread, ``on_update`` from the translation pool,
the rest from any thread (the GUI's). Every update goes to the transcript, the journal and the
listener, in that order. Failed cells are retried automatically when the service is back (a
later translation succeeded, or the streaming connection came back), at most ``AUTO_RETRIES``
times each, so a turn the LLM always refuses does not cost a request per later turn.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.core.languages import Language, find_language, resolve_language
from app.core.transcript import Transcript, TranslationStatus
from app.pipeline.events import SessionListener
from app.pipeline.late_translations import LateTranslations
from app.store.db import SessionStore
from app.translate.base import Translator
from app.translate.pacing import RateLimitPacer
from app.translate.queue import TranslationQueue, TranslationUpdate

log = logging.getLogger("app.pipeline")

AUTO_RETRIES = 2  # automatic retries of a failed cell (the user can always retry by hand)
Journal = Callable[[Callable[[SessionStore, int], None]], None]


class SessionTranslations:
    def __init__(self, translator: Translator, targets: tuple[Language, ...], *, source: Language | None,
                 transcript: Transcript, listener: SessionListener, journal: Journal,
                 after_the_end: Callable[[int], None], pacer: RateLimitPacer | None = None) -> None:
        self._transcript = transcript
        self._source = source
        self._listener = listener
        self._journal = journal
        # ``pacer`` is the translator's too: the queue waits on it, the translator feeds it headers.
        self.queue = TranslationQueue(translator, targets, self.on_update, source=source, pacer=pacer,
                                      on_rate_limit=listener.rate_limit_changed)
        self._lock = threading.Lock()
        self._targets: list[Language] = list(targets)  # every language chosen, in order
        self._finalized_mono: dict[int, float] = {}  # turn index -> monotonic time it became final
        self._failed: set[tuple[int, str]] = set()
        self._auto_retries: dict[tuple[int, str], int] = {}
        self.late = LateTranslations(translator, transcript, source=source, pacer=pacer,
                                     finalized_at=self._finalized_mono, on_update=self.on_update,
                                     on_done=after_the_end, on_error=listener.error_occurred)
        self._ended = False

    @property
    def targets(self) -> tuple[Language, ...]:
        """Every language this session has translated into, in the order they were chosen."""
        with self._lock:
            return tuple(self._targets)

    # --- during the session -------------------------------------------------------------------

    def submit(self, index: int, text: str, finalized: float, spoken: str | None = None,
               language: Language | None = None) -> None:
        """A final turn; ``finalized`` is ``time.monotonic()`` when it became final (the queue
        measures latency on that clock); ``spoken`` the language the service heard, if it said;
        ``language`` what the turn's side speaks (two-way: each side its own), else the session's
        spoken language. A target in the turn's own language is its text, copied, not requested."""
        self._finalized_mono[index] = finalized
        self.queue.submit(index, text, finalized, spoken=spoken_language(spoken, language or self._source))

    def set_targets(self, targets: tuple[Language, ...]) -> None:
        """Later turns go into these. A language added is part of the session from then on."""
        with self._lock:
            added = [t for t in targets if t not in self._targets]
            self._targets.extend(added)
            codes = [t.code for t in self._targets]
        self.queue.set_targets(targets)
        if added:
            self._journal(lambda store, sid: store.set_target_languages(sid, codes))

    def on_update(self, update: TranslationUpdate) -> None:
        """The translation pool (or a late batch): one cell changed."""
        self._transcript.set_translation(update.index, update.translation)
        self._journal(lambda store, sid: store.set_translation(sid, update.index, update.translation))
        self._listener.translation_updated(update.index, update.translation)
        cell = (update.index, update.translation.language)
        if update.translation.status is TranslationStatus.FAILED:
            with self._lock:
                self._failed.add(cell)
        elif update.translation.status is TranslationStatus.DONE:
            with self._lock:
                self._failed.discard(cell)
            self.retry_failed_automatically()  # a success means the LLM is reachable again

    def retry_failed_automatically(self) -> None:
        with self._lock:
            cells = [c for c in self._failed if self._auto_retries.get(c, 0) < AUTO_RETRIES]
            for cell in cells:
                self._auto_retries[cell] = self._auto_retries.get(cell, 0) + 1
                self._failed.discard(cell)
        for index, language in sorted(cells):
            log.info("retrying the failed %s translation of turn %d", language, index)
            self.queue.retry(index, language)

    def finish(self, on_progress: Callable[[int], object]) -> None:
        """The session's end: finish every open cell (or mark it), then only late batches run."""
        self.queue.close(timeout=None, on_progress=on_progress)
        self._ended = True

    def abandon(self) -> None:
        self.queue.abandon()

    # --- during and after ---------------------------------------------------------------------

    def retry(self, index: int, language: str | None = None) -> None:
        if not self._ended:
            self.queue.retry(index, language)
            return
        self.late.run([c for c in self._failed_cells()
                       if c[0] == index and (language is None or c[1].code == language)])

    def retry_failed(self) -> int:
        if not self._ended:
            return self.queue.retry_failed()
        return self.late.run(self._failed_cells())

    def translate_earlier_turns(self, language: Language) -> int:
        turns = [t for t in self._transcript.turns() if language.code not in t.translations]
        if not self._ended:
            for turn in turns:
                self.queue.submit(turn.index, turn.text, self._finalized_mono.get(turn.index), languages=(language,),
                                  spoken=spoken_language(turn.language_code, self._source))
            return len(turns)
        return self.late.run([(t.index, language) for t in turns])

    def _failed_cells(self) -> list[tuple[int, Language]]:
        by_code = {t.code: t for t in self.targets}
        return [(t.index, by_code.get(code) or resolve_language(code))
                for t in self._transcript.turns() for code, tr in t.translations.items()
                if tr.status is TranslationStatus.FAILED]


def spoken_language(detected: str | None, chosen: Language | None) -> Language | None:
    """What a turn is in: the language the service detected for it, else the one the user chose."""
    found = find_language(detected) if detected else None
    return found or chosen
