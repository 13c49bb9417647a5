"""Translations asked for after a session ended: cells that were not translated (retried from the
window), and earlier turns translated into a language added during the session.

Qt-free. ``run()`` returns at once; each batch runs on its own thread ("late-translations") with a
fresh ``TranslationQueue`` (the session's own is closed), hands every update to ``on_update`` (the
session's handler, which stores it where the live ones went: the transcript, the journal, the
listener) and, when the batch is done, calls ``on_done`` so the session rewrites its exports.
Latency keeps counting from the turn's end, so the Delay shown is the real time to the translation
finally shown.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from app.core.errors import AppError, catch_all
from app.core.languages import Language, find_language
from app.core.transcript import Transcript, Translation, TranslationStatus
from app.translate.base import Translator
from app.translate.pacing import RateLimitPacer
from app.translate.queue import TranslationQueue, TranslationUpdate

log = logging.getLogger("app.pipeline")

Cell = tuple[int, Language]  # turn index, target language


class LateTranslations:
    def __init__(self, translator: Translator, transcript: Transcript, *, source: Language | None,
                 finalized_at: dict[int, float], on_update: Callable[[TranslationUpdate], None],
                 on_done: Callable[[int], None], on_error: Callable[[AppError], None],
                 pacer: RateLimitPacer | None = None) -> None:
        self._translator = translator
        self._pacer = pacer  # the session's: retries after the end share its rate limit
        self._transcript = transcript
        self._source = source
        self._finalized_at = finalized_at  # turn index -> time.monotonic() when it became final
        self._on_update = on_update
        self._on_done = on_done
        self._on_error = on_error
        self._threads: list[threading.Thread] = []

    def run(self, cells: Sequence[Cell]) -> int:
        """Translate ``cells`` in the background; returns how many were asked for."""
        cells = sorted(set(cells), key=lambda c: (c[0], c[1].code))
        if not cells:
            return 0
        for index, language in cells:  # shown as "translating…" at once
            self._on_update(TranslationUpdate(index, Translation(language.code, status=TranslationStatus.PENDING,
                                                                 error="retrying")))
        thread = threading.Thread(target=self._batch, args=(cells,), name="late-translations", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return len(cells)

    def wait(self, timeout: float | None = None) -> bool:
        """For tests and the end of the program: True when no batch is running."""
        for thread in list(self._threads):
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    def _batch(self, cells: Sequence[Cell]) -> None:
        with catch_all(log, f"Translating {len(cells)} cells again stopped", self._on_error):
            queue = TranslationQueue(self._translator, [], self._on_update, source=self._source, pacer=self._pacer)
            for index, language in cells:
                turn = self._transcript.turn(index)
                spoken = find_language(turn.language_code) if turn.language_code else None
                queue.submit(index, turn.text, self._finalized_at.get(index), languages=(language,),
                             spoken=spoken or self._source)
            queue.close(timeout=None)
        self._on_done(len(cells))
