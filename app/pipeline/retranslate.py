"""Translating a kept session again: into another language, or the same one with another model or
instructions, as a new translation set (``app.core.kept``); and retrying the cells that were not
translated, in the set they belong to.

Qt-free. ``Retranslation.translate``/``retry`` block until done or cancelled: the window runs them
on a ``JobThread``, the terminal on its main thread. The requests go through the same
``TranslationQueue`` a live session uses (several at a time, in order, paced to the rate limit,
retried with backoff), built by ``app.pipeline.factory`` from the user's settings with the model
asked for. Every cell is written to the archive as it arrives, so a cancelled or interrupted run
keeps what it did (the set is marked cancelled; its missing cells can be retried); at the end the
session folder's files are brought up to date.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import AppError
from app.core.kept import SetState, TranslationSet
from app.core.languages import Language, find_language, language_name, resolve_language
from app.core.settings import Settings
from app.core.transcript import Translation, TranslationStatus
from app.core.validate import validate
from app.core.wording import counted
from app.pipeline.archive import Archive, ArchivedSession, ArchiveError
from app.pipeline.factory import SessionRequest, build_translator
from app.pipeline.jobs import JobProgress, Progress
from app.translate.base import Translator
from app.translate.pacing import RateLimitPacer
from app.translate.queue import TranslationQueue, TranslationUpdate

log = logging.getLogger("app.pipeline")

__all__ = ["CANCELLED_TEXT", "Retranslation", "RetranslationResult", "TranslateAgain", "translators_from"]

CANCELLED_TEXT = "Not translated: the translation was cancelled. Retry it."
_POLL_S = 0.2
Translators = Callable[[str], tuple[Translator, RateLimitPacer]]  # model -> its translator and pacer


@dataclass(frozen=True)
class TranslateAgain:
    language: str  # a code or a name ("es", "Spanish")
    llm_model: str = ""  # empty: the model in the settings
    instructions: str = ""


@dataclass(frozen=True)
class RetranslationResult:
    columns: tuple[str, ...]  # the sets written to ("es.2"; for a retry every set it touched)
    asked: int
    translated: int
    failed: int
    cancelled: bool

    def describe(self) -> str:
        where = ", ".join(self.columns) or "nothing"
        if not self.asked:
            return "Nothing to translate: every cell is already translated."
        failed = f", {self.failed} not translated (retry them)" if self.failed else ""
        cancelled = " Cancelled; what was translated is kept." if self.cancelled else ""
        return f"Translated {self.translated} of {counted(self.asked, 'cell')} into {where}{failed}.{cancelled}"


def translators_from(settings: Settings, secrets: Mapping[str, str]) -> Translators:
    """The translator for a model, made from the user's settings (URL, region, key) once per model."""
    made: dict[str, tuple[Translator, RateLimitPacer]] = {}

    def translator(model: str) -> tuple[Translator, RateLimitPacer]:
        model = model or settings.llm_model
        if model not in made:
            plan = validate(settings.with_changes(llm_model=model))  # EU + an OpenAI model: refused, in words
            request = SessionRequest(settings=plan.settings, secrets=secrets, sessions_dir=Path("."))
            pacer = RateLimitPacer()
            made[model] = (build_translator(plan, request, pacer), pacer)
        return made[model]

    return translator


class Retranslation:
    def __init__(self, archive: Archive, session_id: int, translators: Translators, *, default_model: str,
                 progress: Progress | None = None, cancel: threading.Event | None = None) -> None:
        self.archive = archive
        self.session_id = session_id
        self._translators = translators
        self._default_model = default_model
        self._progress = progress or (lambda _p: None)
        self.cancel = cancel or threading.Event()

    def translate(self, wanted: TranslateAgain) -> RetranslationResult:
        """Every turn into ``wanted.language`` as a new set; the session's other sets are kept."""
        session = self._session()
        language = resolve_language(wanted.language)
        model = wanted.llm_model or self._default_model
        translator, pacer = self._translators(model)  # a refused model is said before anything is written
        turns = [t for t in session.transcript.turns() if t.text.strip()]
        try:
            made = self.archive.store.new_translation_set(self.session_id, language.code, model=model,
                                                          instructions=wanted.instructions.strip())
        except KeyError:
            raise ArchiveError("The session was deleted meanwhile (in another window?); nothing was translated.") \
                from None
        assert made.id is not None
        name = f"{language.name} with {model}"
        done, failed = self._run(translator, pacer, language, made, [(t.index, t.text) for t in turns], name,
                                 wanted.instructions.strip(), session)
        self.archive.store.finish_translation_set(made.id, SetState.CANCELLED if self.cancel.is_set()
                                                  else SetState.DONE)
        self._write_folder()
        return RetranslationResult((made.label,), len(turns), done, failed, self.cancel.is_set())

    def retry(self, columns: Sequence[str] | None = None, cells: Sequence[tuple[int, str]] | None = None
              ) -> RetranslationResult:
        """The cells not translated (all, those of ``columns``, or exactly ``cells``), each in its
        own set with that set's model and instructions."""
        session = self._session()
        wanted = [c for c in session.failed_cells()
                  if (columns is None or c[1] in columns) and (cells is None or c in cells)]
        texts = {t.index: t.text for t in session.transcript.turns()}
        by_column: dict[str, list[tuple[int, str]]] = {}
        for index, label in wanted:
            by_column.setdefault(label, []).append((index, texts[index]))
        done = failed = 0
        for label, todo in by_column.items():
            if self.cancel.is_set():
                break
            kept = session.set_for(label) or TranslationSet(label, model=session.record.llm_model)
            language = find_language(kept.language) or resolve_language(kept.language)
            model = kept.model or session.record.llm_model or self._default_model
            translator, pacer = self._translators(model)
            d, f = self._run(translator, pacer, language, kept, todo, f"{kept.column_name()} again", kept.instructions,
                             session, offset=(done + failed, len(wanted)))
            done, failed = done + d, failed + f
            if kept.id is not None and not kept.own and kept.state is not SetState.DONE and not self.cancel.is_set():
                self.archive.store.finish_translation_set(kept.id, SetState.DONE)
        if wanted:
            self._write_folder()
        return RetranslationResult(tuple(by_column), len(wanted), done, failed, self.cancel.is_set())

    def _session(self) -> ArchivedSession:
        session = self.archive.load(self.session_id)
        self.archive.check_editable(self.session_id)
        return session

    def _run(self, translator: Translator, pacer: RateLimitPacer, language: Language, into: TranslationSet,
             cells: list[tuple[int, str]], what: str, instructions: str, session: ArchivedSession, *,
             offset: tuple[int, int] | None = None) -> tuple[int, int]:
        """Translate ``cells`` into ``into``; returns (translated, failed). Blocks."""
        base, total = offset or (0, len(cells))
        counts = {"done": 0, "failed": 0}
        problem: list[AppError] = []
        lock = threading.Lock()
        set_id = None if into.own else into.id

        def on_update(update: TranslationUpdate) -> None:  # the queue's worker threads, one at a time
            tr = update.translation
            if tr.status is TranslationStatus.PENDING or problem:
                return
            if tr.status is TranslationStatus.FAILED and self.cancel.is_set():
                tr = Translation(tr.language, "", TranslationStatus.FAILED, tr.model, None, CANCELLED_TEXT,
                                 tr.attempts)
            try:
                self.archive.store.set_translation(self.session_id, update.index, tr, set_id=set_id)
            except KeyError:
                problem.append(ArchiveError("The session was deleted meanwhile (in another window?); the "
                                            "translation stopped."))
                self.cancel.set()
                return
            except AppError as exc:
                problem.append(exc)
                self.cancel.set()
                return
            with lock:
                counts["done" if tr.status is TranslationStatus.DONE else "failed"] += 1
                finished = base + counts["done"] + counts["failed"]
            self._progress(JobProgress(finished, total, f"Translating into {what}: {finished} of {total}"))

        source = find_language(session.record.source_language or "") if session.record.source_language else None
        queue = TranslationQueue(translator, [language], on_update, source=source, pacer=pacer,
                                 instructions=instructions)
        self._progress(JobProgress(base, total, f"Translating into {what}: {base} of {total}"))
        for index, text in cells:
            queue.submit(index, text)
        while not self.cancel.wait(_POLL_S):
            if queue.pending() == 0:
                break
        if self.cancel.is_set():
            queue.abandon()
        queue.close(timeout=None, reason=CANCELLED_TEXT)
        if problem:
            raise problem[0]
        log.info("translated session %s into %s (%s): %s", self.session_id, into.label, language_name(language.code),
                 counts)
        return counts["done"], counts["failed"]

    def _write_folder(self) -> None:
        try:
            self.archive.write_folder(self.session_id)
        except AppError as exc:
            log.warning("%s", exc.message)
