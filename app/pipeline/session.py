"""One live session: capture -> WAV -> streaming -> turns -> translations -> store and exports.

Qt-free, so the headless CLI (plain threads) and the window (QThreads in ``app/workers``) run the
same code. The parts, each in its own module:
- the speech backend (``app.pipeline.speech``: AssemblyAI's is ``app.stt.assemblyai``) gives
  connections and turn rules; a ``StreamingLane`` (``app.pipeline.lane``) carries one source's
  audio to it: backlog, reconnects with backoff, gaps;
- ``SessionTranslations`` (``app.pipeline.translating``) translates every final turn into every
  chosen language, during and after the session;
- ``SessionJournal`` (``app.pipeline.journal``) writes everything to the session archive as it
  happens; ``app.pipeline.ending`` holds the end's pieces that do not depend on the rest.
This module ties them together and owns the order of things. Threads:
- ``run_capture()`` is the body of the audio capture thread. Every block goes to the WAV writer
  FIRST, then (non-blocking) to the lane. It never waits on the network, so a slow or absent
  network cannot stall capture or lose recorded audio.
- ``run_streaming()`` is the body of the streaming thread: the lane's connection loop and, when
  the session ends, the ending (last translations, WAV header, exports, store). The caller never
  has to wait for it.
- Translation runs on the ``TranslationQueue``'s pool.
- ``stop()`` may be called from any thread (the GUI's) and returns at once.
Turn indices are the session's: it numbers final turns in the order they arrive, whichever lane
(source) they come from.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.audio.source import AudioSource
from app.audio.wav_writer import WavWriter
from app.core.errors import AppError, OutputError, catch_all
from app.core.exports import write_session_exports
from app.core.kept import short_id
from app.core.languages import Language
from app.core.level import rms_dbfs
from app.core.settings import ReconnectPolicy
from app.core.transcript import MICROPHONE, Gap, Transcript, Turn
from app.core.turn_events import AssemblerEvent, SpeakerRevised
from app.core.who import Names
from app.pipeline.echo import EchoGuard
from app.pipeline.ending import discard_folder, finishing_text, held_nothing, notice, rescue_deleted_folder, summarize
from app.pipeline.events import SessionListener, SessionState, SessionSummary
from app.pipeline.folders import AUDIO_NAME, MIN_FREE_BYTES, SYSTEM_AUDIO_NAME, check_writable, new_session_folder
from app.pipeline.idle import IDLE_NOTICE_MS, IdleWatch
from app.pipeline.journal import SessionJournal
from app.pipeline.lane import StreamingLane
from app.pipeline.session_sides import SideEvents
from app.pipeline.sides import OtherSide, SideSpec
from app.pipeline.speech import SpeechService
from app.pipeline.translating import SessionTranslations
from app.pipeline.two_way import both_sides
from app.store.db import NewSession, SessionStore
from app.translate.base import Translator
from app.translate.pacing import RateLimitPacer

log = logging.getLogger("app.pipeline")

__all__ = ["CAPTURE_STOP_TIMEOUT_S", "LiveSession", "SessionConfig"]

CAPTURE_STOP_TIMEOUT_S = 5.0
QUIT_CAPTURE_WAIT_S = 0.3  # after quit_now(): the capture loop notices the stop within one block
ECHO_TEXT = ("The microphone hears the other side through the speakers (the same words on both sides). Those "
             "turns are marked as echo and not translated twice; headphones avoid it.")


@dataclass
class SessionConfig:
    """What the session itself needs; the services' own settings live in the backends."""

    targets: tuple[Language, ...]
    sessions_dir: Path
    source_language: Language | None = None
    speech_model: str = ""  # for the archive and the exports' metadata
    llm_model: str = ""
    title: str = ""
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    min_free_bytes: int = MIN_FREE_BYTES
    side_names: dict[str, str] = field(default_factory=dict)  # two-way: "microphone" -> "You", "system" -> "Them"
    other_language: Language | None = None  # two-way: what the other side speaks


class LiveSession(SideEvents):
    def __init__(
        self,
        config: SessionConfig,
        source: AudioSource,
        speech: SpeechService,
        translator: Translator,
        listener: SessionListener,
        *,
        store: SessionStore | None = None,
        rng: Callable[[], float] = random.random,
        pacer: RateLimitPacer | None = None,
        other: SideSpec | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.speech = speech
        self.listener = listener
        self.store = store
        self.transcript = Transcript()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._quitting = threading.Event()  # quit_now(): end within a second, mark what is open
        self._capture_done = threading.Event()
        self._deadline: threading.Timer | None = None
        self._fatal: AppError | None = None
        self._next_index = 0  # the session numbers turns, whichever lane they come from
        self._exports_lock = threading.Lock()
        self._names = Names()  # the user's names of the session's speakers and sides (set_names)
        self.lane = StreamingLane(speech, self, reconnect=config.reconnect, stop=self._stop,
                                  capture_done=self._capture_done, quitting=self._quitting, rng=rng)
        # Two-way: the system audio, with its own device, WAV and lane (``app.pipeline.sides``).
        self.other: OtherSide | None = None if other is None else OtherSide(
            other.side, other.source, other.speech, other.language, self, reconnect=config.reconnect,
            stop=self._stop, quitting=self._quitting, rng=rng)
        self._other_model = other.speech_model if other is not None else ""
        self._echo = EchoGuard()
        self._idle = IdleWatch(two_way=other is not None, after_ms=IDLE_NOTICE_MS)
        self._live_sides: set[str] = set()
        self.translations = SessionTranslations(translator, config.targets, source=config.source_language,
                                                transcript=self.transcript, listener=listener,
                                                journal=self._journal, after_the_end=self._late_batch_done,
                                                pacer=pacer)
        self.uid = str(uuid.uuid4())
        self.started_at = time.time()
        self.journal = SessionJournal(store, fields=self._journal_fields, snapshot=self._journal_snapshot,
                                      notify=self.listener.error_occurred, where=lambda: str(self.folder))
        self.folder: Path | None = None
        self.wav: WavWriter | None = None
        self.summary: SessionSummary | None = None
        self.ended = threading.Event()

    # --- set-up (caller's thread, before the threads start) ---------------------------------

    def prepare(self) -> Path:
        """Check the output, open the audio source and the WAV, register the session. Raises an
        ``AppError`` with a clear message before anything is recorded if something is wrong."""
        self.listener.state_changed(SessionState.STARTING, "")
        check_writable(self.config.sessions_dir, min_free=self.config.min_free_bytes)
        self.source.open()
        try:
            # Absolute: a relative --out must still point at the folder when a later start (from
            # another directory) recovers the session.
            self.folder = new_session_folder(self.config.sessions_dir).resolve()
            self.wav = WavWriter(self.folder / AUDIO_NAME)
            if self.other is not None:
                self.other.open(self.folder)
        except BaseException:
            self.source.close()
            if self.wav is not None:
                self.wav.close()
                if self.folder is not None:
                    discard_folder(self.folder)
            raise
        self.started_at = time.time()
        self.journal.open()
        return self.folder

    @property
    def session_id(self) -> int | None:
        return self.journal.session_id

    def _journal_fields(self) -> NewSession:
        assert self.folder is not None
        c = self.config
        return NewSession(
            uid=self.uid, folder=self.folder, audio_path=self.folder / AUDIO_NAME,
            source_language=c.source_language.code if c.source_language else None, speech_model=c.speech_model,
            target_languages=tuple(t.code for t in self.targets), llm_model=c.llm_model,
            started_at=self.started_at, title=c.title)

    # --- control (any thread) -----------------------------------------------------------------

    def stop(self, deadline_s: float | None = None) -> None:
        """Graceful stop, from any thread; returns at once. The last turn is still received and
        every open translation finished before the session ends (``ended`` is set,
        ``session_ended`` is called). With ``deadline_s`` (after a signal) the ending takes at most
        about that long: then the connection is closed and open cells are marked not translated."""
        self._stop.set()
        if deadline_s is not None:
            with self._lock:
                if self._deadline is None:
                    self._deadline = threading.Timer(deadline_s, self._hurry)
                    self._deadline.name = "session-deadline"
                    self._deadline.daemon = True
                    self._deadline.start()

    def quit_now(self) -> None:
        """From any thread: end within about a second, without waiting for the service or the LLM.
        The WAV, the exports and the journal are still finished; open cells are marked."""
        self._quitting.set()
        self._stop.set()
        self._hurry()

    def _hurry(self) -> None:
        """The ending may not wait any longer: stop waiting for the service and for translations."""
        self.lane.hurry()
        if self.other is not None:
            self.other.lane.hurry()
        self.translations.abandon()

    def retry_translation(self, index: int, language: str | None = None) -> None:
        """Translate a cell that was not translated again, during or after the session."""
        self.translations.retry(index, language)

    def retry_failed_translations(self) -> int:
        return self.translations.retry_failed()

    def set_targets(self, targets: tuple[Language, ...]) -> None:
        """Translate later turns into these languages. A language added mid-session is part of the
        session from then on: in its exports, its journal row and its recovery."""
        self.translations.set_targets(targets)

    def translate_earlier_turns(self, language: Language) -> int:
        """Translate the turns that came before ``language`` was added into it; returns how many."""
        return self.translations.translate_earlier_turns(language)

    @property
    def targets(self) -> tuple[Language, ...]:
        """Every language this session has translated into, in the order they were chosen."""
        return self.translations.targets

    def set_names(self, names: Names) -> None:
        """The user renamed a speaker or a side (blocking: SQLite, files; never on the GUI thread):
        the archive's session meta keeps the names, and the exports use them, at the end or, when
        the session has ended, now."""
        with self._exports_lock:
            self._names = names
            self._journal(lambda store, sid: store.set_meta(sid, names=names.to_json() if names else None))
            if self.ended.is_set() and self.folder is not None and self.folder.is_dir():
                self._write_exports()

    def _late_batch_done(self, cells: int) -> None:
        """Late translations are in: bring the session folder's exports up to date."""
        try:
            with self._exports_lock:
                self._write_exports()
        except OSError as exc:
            self.listener.error_occurred(notice(f"The retried translations could not be written to "
                                                f"{self.folder} ({exc}); they are in the session archive."))
            return
        self.listener.error_occurred(notice(f"Translated {cells} cell{'s' if cells != 1 else ''} again; "
                                            f"the transcript files in {self.folder} are up to date."))

    # --- capture thread -----------------------------------------------------------------------

    def run_capture(self) -> None:
        assert self.wav is not None, "prepare() first"
        try:
            # Device vanished, disk full, a bug: the session ends, the audio is kept.
            with catch_all(log, "Recording stopped", self._fail):
                self._capture(self.wav)
        finally:
            self.source.close()
            self._capture_done.set()
            if self.other is not None and self._fatal is None:
                self.lane.terminate()
                # A recording that ended (tests hand in WAV files) waits for the other side's end;
                # a stop, or a failure, ends both at once.
                while not self._stop.is_set() and not self.other.capture_done.wait(0.1):
                    pass
            self._stop.set()
            self.lane.terminate()

    def _capture(self, wav: WavWriter) -> None:
        if self.other is not None:
            self.other.start()
        while not self._stop.is_set():
            block = self.source.read()
            if block is None:
                break  # end of the recording
            if not block:
                continue
            # The WAV first: whatever fails after this, the audio is on disk.
            wav.write(block)
            self.lane.feed(block)
            self.listener.level_changed(rms_dbfs(block))
            self.lane.tick()
            self._check_idle()

    # --- streaming thread ---------------------------------------------------------------------

    def run_streaming(self) -> None:
        try:
            with catch_all(log, "The session stopped", self._fail):
                self.lane.run()
        finally:
            while self.other is not None and not self._stop.is_set() and not self.other.capture_done.wait(0.1):
                pass  # the microphone's recording ended first (a WAV file): the other side's goes on
            self._finish()

    # --- what the lane says (``LaneEvents``; its threads) ---------------------------------------

    def lane_state(self, state: SessionState, detail: str) -> None:
        self.side_state(MICROPHONE, state, detail)

    def lane_events(self, events: list[AssemblerEvent]) -> None:
        self.side_events(MICROPHONE, events)

    def lane_gap(self, gap: Gap) -> None:
        self.side_gap(MICROPHONE, gap)

    def lane_error(self, error: AppError) -> None:
        self.listener.error_occurred(error)

    def lane_failed(self, error: AppError) -> None:
        self._fail(error)

    def lane_reconnected(self) -> None:
        self.translations.retry_failed_automatically()  # the network is back

    def last_turn_end_ms(self, segment: int) -> int | None:
        return self.side_last_turn_end_ms(MICROPHONE, segment)

    # --- what each side says (``app.pipeline.sides.SideSession``; its threads) -----------------

    def _check_idle(self) -> None:
        text = self._idle.check(self.lane.position_ms)
        if text is not None:
            self.listener.error_occurred(notice(text))

    # --- events -------------------------------------------------------------------------------

    def _on_turn(self, turn: Turn, side: str = MICROPHONE) -> None:
        finalized = time.monotonic()  # the queue measures latency on its monotonic clock
        with self._lock:
            turn = dataclasses.replace(turn, index=self._next_index, side=side)
            self._next_index += 1
        echo = self._echo.echo_of(turn) if self.other is not None else None
        if echo is not None:
            turn = dataclasses.replace(turn, echo_of=echo.index)
        self.transcript.add_turn(turn)
        self._idle.heard(turn.end_ms)
        self._journal(lambda store, sid: store.add_turn(sid, turn))
        self.listener.turn_finalized(copy.deepcopy(turn))  # a copy: listeners never hold the live turn
        if echo is not None:
            if self._echo.heard == 1:
                self.listener.error_occurred(notice(ECHO_TEXT))
            return  # the same words are translated once, on the side that said them first
        language = self.other.language if self.other is not None and side == self.other.side else None
        self.translations.submit(turn.index, turn.text, finalized, spoken=turn.language_code,
                                 language=language or self.config.source_language)

    def _on_speaker_revised(self, event: SpeakerRevised, side: str = MICROPHONE) -> None:
        found = self.transcript.find(event.segment, event.turn_order, side)
        if found is None or found.speaker == event.speaker:
            return
        turn = self.transcript.set_speaker(found.index, event.speaker)
        self._journal(lambda store, sid: store.set_speaker(sid, turn.index, event.speaker))
        self.listener.turn_revised(turn)

    def _add_gap(self, gap: Gap) -> None:
        self.transcript.add_gap(gap)
        self._journal(lambda store, sid: store.add_gap(sid, gap))
        self.listener.gap_added(gap)

    def _journal(self, write: Callable[[SessionStore, int], None]) -> None:
        self.journal.write(write)

    def _fail(self, error: AppError) -> None:
        with self._lock:
            first = self._fatal is None
            if first:
                self._fatal = error
        self._stop.set()
        if first:
            self.listener.error_occurred(error)

    # --- the end (streaming thread) -----------------------------------------------------------

    def _finish(self) -> None:
        self._stop.set()
        self.listener.state_changed(SessionState.FINISHING, "")
        # The capture loop checks the stop flag every block; a sound server that died can still
        # hang a read inside the audio library, so this wait is bounded too.
        wait = QUIT_CAPTURE_WAIT_S if self._quitting.is_set() else CAPTURE_STOP_TIMEOUT_S
        if not self._capture_done.wait(wait):
            log.error("the audio capture did not stop within %s s; finishing without it", wait)
        gap = self.lane.finish()
        if gap is not None:
            self.side_gap(MICROPHONE, gap)
        if self.other is not None:
            self.other.join(wait)
            other_gap = self.other.finish()
            if other_gap is not None:
                self.side_gap(self.other.side, other_gap)
        # Every open translation is finished (there is no time limit but a deadline given to
        # stop() or quit_now()); whatever is still open then is marked, never left "translating".
        self.translations.finish(on_progress=self._report_finishing)
        with self._lock:
            if self._deadline is not None:
                self._deadline.cancel()
        assert self.wav is not None and self.folder is not None
        if held_nothing(len(self.transcript.turns()), self.wav.duration_s):
            self._discard()
            return
        if not self.folder.is_dir():
            self._rescue_deleted_folder()
        self._close_wavs(self._fail)
        exports: list[Path] = []
        try:
            with self._exports_lock:
                exports = self._write_exports()
        except OSError as exc:
            self._fail(OutputError(f"Could not write the transcript files in {self.folder} ({exc}). "
                                   "The audio is saved; the session archive has the transcript."))
        summary = summarize(self.transcript, folder=self.folder, wav=self.wav, exports=exports, error=self._fatal,
                            quit=self._quitting.is_set(), **self._lane_counts())
        self.journal.finish(status="failed" if self._fatal else "finished",
                            duration_ms=int(self.wav.duration_s * 1000))
        self._announce_end(summary)

    def _announce_end(self, summary: SessionSummary) -> None:
        self.summary = summary
        self.listener.state_changed(SessionState.FAILED if self._fatal else SessionState.ENDED, "")
        self.listener.session_ended(summary)
        self.ended.set()

    def _discard(self) -> None:
        """No turn and under a second of audio (a key refused at once, an immediate Stop): nothing
        to keep, so no folder of empty files, no archive entry and no recovery offer later."""
        assert self.wav is not None and self.folder is not None
        self._close_wavs(lambda exc: log.info("closing the empty recording: %s", exc.message))
        discard_folder(self.folder)
        self.journal.discard()
        log.info("session %s held nothing (%.2f s of audio); not kept", self.folder.name, self.wav.duration_s)
        summary = summarize(self.transcript, folder=self.folder, wav=self.wav, exports=[], error=self._fatal,
                            quit=self._quitting.is_set(), discarded=True, **self._lane_counts())
        self._announce_end(summary)

    def _rescue_deleted_folder(self) -> None:
        assert self.wav is not None and self.folder is not None
        gone = self.folder
        folder = rescue_deleted_folder(self.wav, gone, self.listener.error_occurred)
        if folder is None:
            self._fail(OutputError(f"The session folder {gone} was deleted during the session, and the recording "
                                   "could not be saved anywhere else."))
            return
        self.folder = folder
        if folder != gone:
            self._journal(lambda store, sid: store.move_session(sid, folder, folder / AUDIO_NAME))

    def _journal_snapshot(self) -> tuple[list[Turn], list[Gap]]:
        return self.transcript.turns(), self.transcript.gaps()

    def _write_exports(self) -> list[Path]:
        assert self.folder is not None
        return write_session_exports(self.folder, self.transcript.entries(), [t.code for t in self.targets],
                                     self.metadata())

    def _report_finishing(self, open_cells: int) -> None:
        self.listener.state_changed(SessionState.FINISHING, finishing_text(open_cells))

    def metadata(self) -> dict[str, object]:
        source = self.config.source_language.name if self.config.source_language else ""
        source, speech_model = (source, self.config.speech_model) if self.other is None else both_sides(
            self.config.side_names, (source, self.config.speech_model), (self.other.language.name, self._other_model))
        return {
            "title": self.config.title or (self.folder.name if self.folder else "Transcript"),
            "started": self.folder.name if self.folder else "",
            "source": source,
            "speech_model": speech_model,
            "llm_model": self.config.llm_model,
            "targets": [t.code for t in self.targets],
            "audio": AUDIO_NAME,
            "uid": self.uid,  # the session's stable identity: an import elsewhere keeps it (and its short ID)
            "id": short_id(self.uid),
            "started_at": self.started_at,
            "source_code": self.config.source_language.code if self.config.source_language else "",
            **({"names": self._names.to_json()} if self._names else {}),
            **({"two_way": True, "sides": dict(self.config.side_names),
                "other_language": self.other.language.code, "other_speech_model": self._other_model,
                "system_audio": SYSTEM_AUDIO_NAME} if self.other is not None else {}),
        }

    # --- convenience for the headless CLI and tests -------------------------------------------

    def start_threads(self) -> tuple[threading.Thread, threading.Thread]:
        capture = threading.Thread(target=self.run_capture, name="audio-capture", daemon=True)
        streaming = threading.Thread(target=self.run_streaming, name="websocket", daemon=True)
        capture.start()
        streaming.start()
        return capture, streaming
