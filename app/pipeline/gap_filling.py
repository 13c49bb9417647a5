"""Filling the gaps of a kept session: the stretches of its recording that were not transcribed
(the service could not be reached, the connection dropped) are streamed again and their turns,
translated, take the gaps' places.

Qt-free. ``GapFilling.run`` blocks until done or cancelled: the window runs it on a ``JobThread``,
the terminal (``sessions transcribe ID``) on its main thread. Each gap is one ordinary
``LiveSession`` (the same lane, reconnects, turn rules and translations as a live one) whose source
is that stretch of the session's WAV, padded a little each side so a word cut at the gap's edge
is heard whole, streamed at real time (the service refuses faster audio), into a scratch folder
that is removed afterwards; it writes no journal of its own. The turns whose middle falls inside
the gap join the session with new turn numbers (the history orders by time) and the session's
own languages; what of the gap could still not be transcribed stays a gap. The archive is written
after each gap, so cancelling or a failure keeps what was done; then the folder's files.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.audio.wav_source import WavFileSource
from app.core.errors import AppError, InputFileError
from app.core.settings import Settings
from app.core.transcript import Gap, Translation, Turn
from app.core.validate import validate
from app.pipeline.archive import Archive, ArchivedSession, ArchiveError
from app.pipeline.events import SessionState, SessionSummary
from app.pipeline.factory import SessionRequest, build_session
from app.pipeline.jobs import JobProgress, Progress, seconds_left_text
from app.pipeline.session import LiveSession

log = logging.getLogger("app.pipeline")

__all__ = ["CONNECT_WAIT_S", "GapFillResult", "GapFilling"]

PAD_MS = 1500  # heard before and after each gap, so a word cut by its edge is whole
CONNECT_WAIT_S = 15.0  # a service that cannot be reached for this long is not waited for
MIN_GAP_MS = 200  # what is left of a gap below this is not a gap (as for a live session)
_POLL_S = 0.25


@dataclass(frozen=True)
class GapFillResult:
    gaps_before: int
    gaps_left: int
    turns_added: int
    reached: bool  # False: the streaming service could not be reached (the gaps are kept)
    cancelled: bool

    def describe(self) -> str:
        if not self.gaps_before:
            return "This session has no gaps: all of its recording is transcribed."
        if not self.reached:
            return ("The streaming service could not be reached, so the gaps are kept as they were; "
                    "try again when it can be.")
        stretches = f"{self.gaps_left} stretch{'es' if self.gaps_left != 1 else ''}"
        left = f"; {stretches} still without transcript" if self.gaps_left else ""
        cancelled = " Stopped; what was transcribed is kept." if self.cancelled else ""
        turns = f"{self.turns_added} turn{'s' if self.turns_added != 1 else ''}"
        return f"Transcribed {turns} in {self.gaps_before} gap{'s' if self.gaps_before != 1 else ''}{left}.{cancelled}"


@dataclass(frozen=True)
class _Filled:
    turns: list[Turn]  # the gap's turns, in the session's times
    left: list[Gap]  # what of the gap is still not transcribed
    heard: bool  # the service was reached
    fatal: AppError | None  # what ended the scratch session, if something did (the key rejected ...)


@dataclass
class _Collector:
    """The scratch session's listener: only its errors matter, the rest is read from it at the end."""

    errors: list[AppError] = field(default_factory=list)
    summary: SessionSummary | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def state_changed(self, state: SessionState, detail: str) -> None: ...

    def interim_changed(self, text: str) -> None: ...

    def turn_finalized(self, turn: Turn) -> None: ...

    def translation_updated(self, index: int, translation: Translation) -> None: ...

    def turn_revised(self, turn: Turn) -> None: ...

    def gap_added(self, gap: Gap) -> None: ...

    def level_changed(self, dbfs: float) -> None: ...

    def error_occurred(self, error: AppError) -> None:
        with self.lock:
            self.errors.append(error)

    def rate_limit_changed(self, waiting: int, resume_in_s: float) -> None: ...

    def session_ended(self, summary: SessionSummary) -> None:
        self.summary = summary


class GapFilling:
    def __init__(self, archive: Archive, session_id: int, *, settings: Settings, secrets: Mapping[str, str],
                 progress: Progress | None = None, cancel: threading.Event | None = None,
                 realtime: bool = True, connect_wait_s: float = CONNECT_WAIT_S) -> None:
        self.archive = archive
        self.session_id = session_id
        self._settings = settings
        self._secrets = secrets
        self._progress = progress or (lambda _p: None)
        self.cancel = cancel or threading.Event()
        self._realtime = realtime
        self._connect_wait_s = connect_wait_s

    def run(self) -> GapFillResult:
        session = self.archive.load(self.session_id)
        self.archive.check_editable(self.session_id)
        gaps = session.transcript.gaps()
        if not gaps:
            return GapFillResult(0, 0, 0, True, False)
        audio = session.record.audio_path
        if not audio.is_file():
            raise InputFileError(f"The recording {audio} is missing, so the gaps cannot be transcribed. Put it back "
                                 "where it was (or import the session again with it).")
        request = self._request(session)
        end_ms = _length_ms(audio)
        windows = [(max(0, g.start_ms - PAD_MS), min(end_ms, g.end_ms + PAD_MS)) for g in gaps]
        total_ms = sum(b - a for a, b in windows)
        done_ms = added = 0
        left: list[Gap] = []
        reached = stopped = False
        failure: AppError | None = None
        next_index = max((t.index for t in session.transcript.turns()), default=-1) + 1
        for number, (gap, (start, stop)) in enumerate(zip(gaps, windows, strict=True)):
            if stopped or self.cancel.is_set():
                left.append(gap)
                continue
            label = f"Transcribing gap {number + 1} of {len(gaps)}"
            outcome = self._fill(request, audio, gap, start, stop, label, done_ms, total_ms)
            turns = [replace(t, index=next_index + n) for n, t in enumerate(outcome.turns)]
            next_index += len(turns)
            added += len(turns)
            left.extend(outcome.left)
            done_ms += stop - start
            self._save(turns, sorted([*left, *gaps[number + 1:]], key=lambda g: g.start_ms))
            reached = reached or outcome.heard
            failure = outcome.fatal
            stopped = failure is not None or not outcome.heard  # offline again: the next gaps would be too
        self._progress(JobProgress(total_ms, total_ms, "Writing the session's files…", 0.0))
        try:
            self.archive.write_folder(self.session_id)
        except AppError as exc:
            log.warning("%s", exc.message)
        if failure is not None:
            raise failure  # the key rejected, say: what was transcribed before it is kept
        return GapFillResult(len(gaps), len(left), added, reached, self.cancel.is_set())

    def _request(self, session: ArchivedSession) -> SessionRequest:
        """The user's settings (URLs, region, key) with what this session was recorded with."""
        record = session.record
        changes: dict[str, object] = {"targets": session.languages or self._settings.targets,
                                      "source": record.source_language}
        if record.speech_model:
            changes["speech_model"] = record.speech_model
        if record.llm_model:
            changes["llm_model"] = record.llm_model
        settings = validate(self._settings.with_changes(**changes)).settings
        return SessionRequest(settings=settings, secrets=self._secrets, sessions_dir=Path("."))

    def _fill(self, request: SessionRequest, audio: Path, gap: Gap, start: int, stop: int, label: str,
              done_ms: int, total_ms: int) -> _Filled:
        """One gap streamed again (``start``-``stop``: the gap and its padding)."""
        scratch = Path(tempfile.mkdtemp(prefix="live-translate-gap-"))
        try:
            listener = _Collector()
            source = WavFileSource(audio, realtime=self._realtime, start_ms=start, end_ms=stop)
            live = build_session(replace(request, sessions_dir=scratch), listener, store=None, source=source)
            live.prepare()
            live.start_threads()
            began = time.monotonic()
            while not live.ended.wait(_POLL_S):
                heard_ms = self._position_ms(live)
                left_s = (total_ms - done_ms - heard_ms) / 1000
                self._progress(JobProgress(done_ms + heard_ms, total_ms, f"{label}: {seconds_left_text(left_s)}",
                                           left_s))
                gave_up = not live.lane.connected_once and time.monotonic() - began > self._connect_wait_s
                if self.cancel.is_set() or gave_up:
                    live.stop()
                    if not live.ended.wait(30):
                        live.quit_now()
                        live.ended.wait(5)
                    break
            heard = live.lane.connected_once
            read_ms = self._position_ms(live)
            fatal = listener.summary.error if listener.summary is not None else None
            if not heard:
                return _Filled([], [gap], False, fatal)
            turns = [_shifted(t, start) for t in live.transcript.turns()
                     if gap.start_ms <= start + (t.start_ms + t.end_ms) // 2 <= gap.end_ms]
            rest = [_clip(Gap(g.start_ms + start, g.end_ms + start, gap.reason), gap)
                    for g in live.transcript.gaps()]
            if start + read_ms < gap.end_ms:  # stopped before the end of the gap
                rest.append(Gap(max(gap.start_ms, start + read_ms), gap.end_ms, gap.reason))
            return _Filled(turns, [g for g in rest if g.end_ms - g.start_ms >= MIN_GAP_MS], True, fatal)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @staticmethod
    def _position_ms(live: LiveSession) -> int:
        return round(live.wav.duration_s * 1000) if live.wav is not None else 0

    def _save(self, turns: list[Turn], gaps: list[Gap]) -> None:
        try:
            self.archive.store.replace_gaps(self.session_id, turns, gaps)
        except KeyError:
            raise ArchiveError("The session was deleted meanwhile (in another window?); its gaps were not "
                               "filled.") from None


def _length_ms(audio: Path) -> int:
    source = WavFileSource(audio, realtime=False)
    source.open()
    try:
        return round(source.duration_s * 1000)
    finally:
        source.close()


def _shifted(turn: Turn, by_ms: int) -> Turn:
    words = [replace(w, start_ms=w.start_ms + by_ms, end_ms=w.end_ms + by_ms) for w in turn.words]
    return replace(turn, start_ms=turn.start_ms + by_ms, end_ms=turn.end_ms + by_ms, words=words, segment=0)


def _clip(gap: Gap, within: Gap) -> Gap:
    return Gap(max(gap.start_ms, within.start_ms), min(gap.end_ms, within.end_ms), gap.reason)
