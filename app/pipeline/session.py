"""One live session: capture -> WAV -> streaming -> turns -> translations -> store and exports.

Qt-free, so the headless CLI (plain threads) and the window (QThreads in ``app/workers``) run the
same code. Threads:
- ``run_capture()`` is the body of the audio capture thread. Every block goes to the WAV writer
  FIRST, then (non-blocking) to the current streaming connection. It never waits on the network,
  so a slow or absent network cannot stall capture or lose recorded audio.
- ``run_streaming()`` is the body of the websocket thread: it connects (and reconnects with
  backoff), reads messages, assembles turns, and, when the session ends, finalises everything
  (last translations, WAV header, exports, store). The caller never has to wait for it.
- Translation runs on the ``TranslationQueue``'s pool.
- ``stop()`` may be called from any thread (the GUI's) and returns at once.
The turn assembler is shared by the websocket thread (messages) and the capture thread (its
``tick()`` every block, which releases a held final during silence), so it is used under a lock.
"""
from __future__ import annotations

import copy
import logging
import random
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from app.audio.source import AudioSource
from app.audio.wav_writer import WavWriter
from app.core.assembler import AssemblerEvent, InterimChanged, TurnAssembler, TurnFinalized
from app.core.errors import AppError, AuthError, OutputError, StreamingError
from app.core.exports import write_session_exports
from app.core.languages import Language, resolve_language
from app.core.level import rms_dbfs
from app.core.settings import ReconnectPolicy
from app.core.transcript import Gap, Transcript, TranslationStatus, Turn
from app.core.units import BYTES_PER_MS
from app.pipeline.events import SessionListener, SessionState, SessionSummary
from app.pipeline.folders import AUDIO_NAME, MIN_FREE_BYTES, check_writable, new_session_folder
from app.pipeline.journal import SessionJournal
from app.pipeline.late_translations import LateTranslations
from app.store.db import NewSession, SessionStore
from app.stt.client import LIVENESS_TIMEOUT_S, PING_INTERVAL_S, CloseInfo, StreamingClient
from app.stt.protocol import (
    SEND_AHEAD_TOLERANCE_S,
    Begin,
    ServerError,
    ServerMessage,
    ServerWarning,
    StreamingParams,
    Termination,
    TurnMessage,
    build_url,
)
from app.translate.gateway import Translator
from app.translate.pacing import RateLimitPacer
from app.translate.queue import TranslationQueue, TranslationUpdate

log = logging.getLogger("app.pipeline")

GAP_MIN_MS = 200  # shorter outages are not worth a marker
CAPTURE_STOP_TIMEOUT_S = 5.0
QUIT_CAPTURE_WAIT_S = 0.3  # after quit_now(): the capture loop notices the stop within one block
AUTO_RETRIES = 2  # automatic retries of a failed translation cell (the user can always retry by hand)
OFFLINE_TEXT = "offline — recording; not transcribing"


@dataclass
class SessionConfig:
    api_key: str
    targets: tuple[Language, ...]
    sessions_dir: Path
    streaming_base_url: str
    params: StreamingParams
    source_language: Language | None = None
    llm_model: str = ""
    title: str = ""
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    terminate_timeout_s: float = 5.0
    begin_timeout_s: float = 10.0
    # Audio captured while no connection is up (start-up, a reconnect) that is sent when one opens:
    # the service accepts only this much ahead of real time [protocol §2.1]; older audio is a gap.
    send_ahead_s: float = SEND_AHEAD_TOLERANCE_S
    liveness_timeout_s: float = LIVENESS_TIMEOUT_S  # a silent, unanswering connection counts as a drop
    ping_interval_s: float = PING_INTERVAL_S
    min_free_bytes: int = MIN_FREE_BYTES


ClientFactory = Callable[..., StreamingClient]


class LiveSession:
    def __init__(
        self,
        config: SessionConfig,
        source: AudioSource,
        translator: Translator,
        listener: SessionListener,
        *,
        store: SessionStore | None = None,
        client_factory: ClientFactory = StreamingClient,
        rng: Callable[[], float] = random.random,
        pacer: RateLimitPacer | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.listener = listener
        self.store = store
        self.transcript = Transcript()
        self._client_factory = client_factory
        self._rng = rng
        # None: the model always formats (u3 family), so no formatted copy is worth waiting for.
        self._assembler = TurnAssembler(format_turns=bool(config.params.format_turns))
        self._assembly_lock = threading.Lock()
        # ``pacer`` is the translator's too: the queue waits on it, the translator feeds it headers.
        self._queue = TranslationQueue(translator, config.targets, self._on_translation,
                                       source=config.source_language, pacer=pacer,
                                       on_rate_limit=listener.rate_limit_changed)
        self._targets: list[Language] = list(config.targets)  # every language chosen, in order
        self._finalized_mono: dict[int, float] = {}  # turn index -> monotonic time it became final
        self._exports_lock = threading.Lock()
        self._late = LateTranslations(translator, self.transcript, source=config.source_language, pacer=pacer,
                                      finalized_at=self._finalized_mono, on_update=self._on_translation,
                                      on_done=self._late_batch_done)
        # Connection state, shared by the capture and websocket threads.
        self._lock = threading.Lock()
        self._client: StreamingClient | None = None  # the connection the audio goes to
        self._current: StreamingClient | None = None  # the one connecting or running (stop/abort it)
        self._connection_offset_ms = 0  # where the current connection's audio starts in the WAV
        self._connected_once = False
        self._backlog: deque[bytes] = deque()  # captured while no connection is up, newest last
        self._backlog_bytes = 0
        self._position_bytes = 0  # bytes of session audio captured (== written to the WAV)
        self._gap_start_ms: int | None = 0  # audio not being transcribed since this position
        self._dropped_bytes = 0
        self._stop = threading.Event()
        self._quitting = threading.Event()  # quit_now(): end within a second, mark what is open
        self._deadline: threading.Timer | None = None
        self._capture_done = threading.Event()
        self._fatal: AppError | None = None
        self._failed_cells: set[tuple[int, str]] = set()
        self._auto_retries: dict[tuple[int, str], int] = {}
        self._reconnects = 0
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
        except BaseException:
            self.source.close()
            raise
        self.started_at = time.time()
        self.journal.open()
        return self.folder

    @property
    def session_id(self) -> int | None:
        return self.journal.session_id

    def _journal_fields(self) -> NewSession:
        assert self.folder is not None
        return NewSession(
            uid=self.uid, folder=self.folder, audio_path=self.folder / AUDIO_NAME,
            source_language=self.config.source_language.code if self.config.source_language else None,
            speech_model=self.config.params.speech_model, target_languages=tuple(t.code for t in self.targets),
            llm_model=self.config.llm_model, started_at=self.started_at, title=self.config.title)

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
        """The ending may not wait any longer: stop waiting for Termination and for translations."""
        with self._lock:
            client = self._current
        if client is not None:
            client.abort()
        self._queue.abandon()

    def retry_translation(self, index: int, language: str | None = None) -> None:
        """Any thread: translate a cell that was not translated again, during or after the session."""
        if not self.ended.is_set():
            self._queue.retry(index, language)
            return
        self._late.run([c for c in self._failed_cells_now() if c[0] == index and
                        (language is None or c[1].code == language)])

    def retry_failed_translations(self) -> int:
        if not self.ended.is_set():
            return self._queue.retry_failed()
        return self._late.run(self._failed_cells_now())

    def set_targets(self, targets: tuple[Language, ...]) -> None:
        """Translate later turns into these languages. A language added mid-session is part of the
        session from then on: in its exports, its journal row and its recovery."""
        with self._lock:
            added = [t for t in targets if t not in self._targets]
            self._targets.extend(added)
            codes = [t.code for t in self._targets]
        self._queue.set_targets(targets)
        if added:
            self._journal(lambda store, sid: store.set_target_languages(sid, codes))

    def translate_earlier_turns(self, language: Language) -> int:
        """Translate the turns that came before ``language`` was added into it; returns how many."""
        turns = [t for t in self.transcript.turns() if language.code not in t.translations]
        if not self.ended.is_set():
            for turn in turns:
                self._queue.submit(turn.index, turn.text, self._finalized_mono.get(turn.index), languages=(language,))
            return len(turns)
        return self._late.run([(t.index, language) for t in turns])

    def _failed_cells_now(self) -> list[tuple[int, Language]]:
        by_code = {t.code: t for t in self.targets}
        return [(t.index, by_code.get(code) or resolve_language(code))
                for t in self.transcript.turns() for code, tr in t.translations.items()
                if tr.status is TranslationStatus.FAILED]

    @property
    def targets(self) -> tuple[Language, ...]:
        """Every language this session has translated into, in the order they were chosen."""
        with self._lock:
            return tuple(self._targets)

    def _late_batch_done(self, cells: int) -> None:
        """Late translations are in: bring the session folder's exports up to date."""
        try:
            with self._exports_lock:
                self._write_exports()
        except OSError as exc:
            self.listener.error_occurred(_notice(f"The retried translations could not be written to "
                                                 f"{self.folder} ({exc}); they are in the session archive."))
            return
        self.listener.error_occurred(_notice(f"Translated {cells} cell{'s' if cells != 1 else ''} again; "
                                             f"the transcript files in {self.folder} are up to date."))

    # --- capture thread -----------------------------------------------------------------------

    def run_capture(self) -> None:
        assert self.wav is not None, "prepare() first"
        try:
            while not self._stop.is_set():
                block = self.source.read()
                if block is None:
                    break  # end of the recording
                if not block:
                    continue
                # The WAV first: whatever fails after this, the audio is on disk.
                self.wav.write(block)
                self._feed(block)
                self.listener.level_changed(rms_dbfs(block))
                self._tick()
        except AppError as exc:  # device vanished, disk full: end the session, keep the audio
            self._fail(exc)
        except Exception as exc:
            log.exception("capture failed")
            self._fail(AppError(f"Recording stopped because of an unexpected error: {exc}"))
        finally:
            self.source.close()
            self._capture_done.set()
            self._stop.set()
            self._terminate_current()

    def _feed(self, block: bytes) -> None:
        with self._lock:
            self._position_bytes += len(block)
            client = self._client
            if client is not None:
                client.send_audio(block)
                return
            # No connection is up: keep the newest audio for the next one (it is sent faster than
            # real time, within the service's tolerance); what falls out of the window is not sent
            # and ends up inside a gap row (the WAV has it).
            self._backlog.append(block)
            self._backlog_bytes += len(block)
            limit = int(self.config.send_ahead_s * 1000) * BYTES_PER_MS
            while self._backlog_bytes > limit:
                dropped = len(self._backlog.popleft())
                self._backlog_bytes -= dropped
                self._dropped_bytes += dropped

    def _tick(self) -> None:
        with self._assembly_lock:
            events = self._assembler.tick()
        self._dispatch(events)

    # --- websocket thread ---------------------------------------------------------------------

    def run_streaming(self) -> None:
        try:
            self._connection_loop()
        except Exception as exc:
            log.exception("streaming failed")
            self._fail(AppError(f"The session stopped because of an unexpected error: {exc}"))
        finally:
            self._finish()

    def _connection_loop(self) -> None:
        segment = 0  # successful connections so far; turn_order restarts with each
        attempt = 0  # failed tries since the last connection that worked (or since the start)
        auth_closed = False  # the last connect ended in a 1008 close
        url = build_url(self.config.params, self.config.streaming_base_url)
        while not self._quitting.is_set():
            if self._capture_done.is_set() and not self._has_unsent_audio():
                return
            if attempt and self._connected_once:
                self.listener.state_changed(SessionState.RECONNECTING, f"reconnecting ({attempt})")
            elif not attempt:
                self.listener.state_changed(SessionState.CONNECTING, "")
            client = self._client_factory(url, self.config.api_key, on_message=self._on_message,
                                          begin_timeout=self.config.begin_timeout_s,
                                          max_lead_s=self.config.send_ahead_s,
                                          liveness_timeout_s=self.config.liveness_timeout_s,
                                          ping_interval_s=self.config.ping_interval_s)
            with self._lock:
                self._current = client
            try:
                client.connect(on_open=partial(self._attach, client))
            except AuthError as exc:
                self._detach(client)
                # Valid keys are sometimes closed with a transient 1008 ("Incorrect padding") and
                # the next connection works: one retry after a short wait. A second 1008 in a row,
                # or an HTTP 401 at the handshake, is the key [protocol §9.2].
                if exc.close_code is None or auth_closed or self._gave_up(attempt + 1):
                    self._fail(exc)
                    return
                auth_closed = True
                attempt += 1
                log.warning("the service closed the connection with 1008 (%s); trying once more", exc.detail)
                if self._backoff(1):
                    return
                continue
            except StreamingError as exc:
                self._detach(client)  # what it was sent before Begin was never transcribed: a gap
                if self._stop.is_set():
                    return  # stop() cut this attempt short: nothing failed
                if not exc.retryable or self._gave_up(attempt + 1):
                    self._fail(exc)
                    return
                attempt += 1
                self._connect_failed(exc, attempt)
                if self._backoff(attempt):
                    return
                continue
            auth_closed = False
            info = self._run_connection(client, segment)
            if info.terminated or self._capture_done.is_set():
                return  # graceful end (or the stop timed out: nothing more can arrive)
            error = info.to_error()
            if isinstance(error, AuthError) or (isinstance(error, StreamingError) and not error.retryable):
                self._fail(error)
                return
            segment += 1
            attempt = 1
            self._reconnects += 1
            self.listener.error_occurred(_transient(error, attempt))
            if self._backoff(attempt):
                return

    def _connect_failed(self, error: StreamingError, attempt: int) -> None:
        """A try failed; the recording goes on while the loop keeps trying with the backoff."""
        if self._connected_once:
            self.listener.error_occurred(_transient(error, attempt))
            return
        # Never connected: the network may be down at Record. Record anyway, say so once, and
        # mark what is not transcribed as gaps (the audio is in the WAV, to transcribe later).
        self.listener.state_changed(SessionState.OFFLINE, f"{OFFLINE_TEXT} (tried {attempt}×)")
        if attempt == 1:
            offline = StreamingError(f"{error.message} Recording anyway; the app keeps trying to connect, "
                                     "and what it cannot transcribe is kept as gaps in the recording.",
                                     close_code=error.close_code, retryable=True, detail=error.detail)
            offline.fatal = False
            self.listener.error_occurred(offline)

    def _attach(self, client: StreamingClient) -> None:
        """The socket is open (``Begin`` may take a second): from now on the audio goes to it,
        starting with what was captured while no connection was up (the connecting thread)."""
        with self._lock:
            backlog = b"".join(self._backlog)
            self._backlog.clear()
            self._backlog_bytes = 0
            self._connection_offset_ms = (self._position_bytes - len(backlog)) // BYTES_PER_MS
            if backlog:
                client.send_audio(backlog)
            self._client = client

    def _detach(self, client: StreamingClient) -> None:
        with self._lock:
            if self._client is client:
                self._client = None
            if self._current is client:
                self._current = None

    def _run_connection(self, client: StreamingClient, segment: int) -> CloseInfo:
        with self._lock:
            offset_ms = self._connection_offset_ms
            gap_start, self._gap_start_ms = self._gap_start_ms, None
            self._connected_once = True
        if gap_start is not None and offset_ms - gap_start >= GAP_MIN_MS:
            # Not transcribed: a drop, a stretch before the first connection began, or audio
            # older than the backlog the service accepts at once.
            self._add_gap(Gap(gap_start, offset_ms, "connection lost" if segment else "not connected yet"))
        with self._assembly_lock:
            events = self._assembler.start_segment(segment, offset_ms)
        self._dispatch(events)
        self.listener.state_changed(SessionState.LIVE, "")
        if segment > 0:
            self._retry_failed_automatically()  # the network is back
        if self._capture_done.is_set():
            self._terminate_current()
        info = client.run()
        self._detach(client)
        with self._lock:
            position_ms = self._position_bytes // BYTES_PER_MS
        with self._assembly_lock:
            events = self._assembler.flush()
        self._dispatch(events)
        if not info.terminated:
            # Speech not finalized before the drop was lost with the connection: the gap starts
            # after the last final turn of this connection (or where the connection began).
            last_end = max((t.end_ms for t in self.transcript.turns() if t.segment == segment), default=offset_ms)
            self._gap_start_ms = min(max(last_end, offset_ms), position_ms)
        return info

    def _has_unsent_audio(self) -> bool:
        with self._lock:
            return bool(self._backlog) and not self._connected_once

    def _gave_up(self, attempt: int) -> bool:
        limit = self.config.reconnect.max_attempts
        return limit is not None and attempt >= limit

    def _backoff(self, attempt: int) -> bool:
        """Wait before the next try; True if the session is stopping and should not reconnect."""
        delay = self.config.reconnect.delay(attempt, self._rng())
        self._capture_done.wait(delay)
        return self._capture_done.is_set()

    def _terminate_current(self) -> None:
        """Ask the current connection to finish: Terminate, then Termination or the timeout.
        ``StreamingClient.stop`` does not block (it arms a deadline), so any thread may call this."""
        with self._lock:
            client = self._current
        if client is not None:
            client.stop(timeout=self.config.terminate_timeout_s)

    def _on_message(self, msg: ServerMessage) -> None:
        """Websocket thread: one parsed server message."""
        if isinstance(msg, TurnMessage):
            with self._assembly_lock:
                events = self._assembler.on_message(msg)
            self._dispatch(events)
        elif isinstance(msg, Termination):
            with self._assembly_lock:
                events = self._assembler.flush()
            self._dispatch(events)
        elif isinstance(msg, ServerError):
            log.warning("server error %s: %s", msg.code, msg.message)
        elif isinstance(msg, ServerWarning):
            log.warning("streaming service warning %s: %s", msg.code, msg.message)
        elif isinstance(msg, Begin):
            log.info("session began: %s", msg.id)

    # --- events -------------------------------------------------------------------------------

    def _dispatch(self, events: list[AssemblerEvent]) -> None:
        for event in events:
            if isinstance(event, InterimChanged):
                self.listener.interim_changed(event.text)
            elif isinstance(event, TurnFinalized):
                self._on_turn(event.turn)

    def _on_turn(self, turn: Turn) -> None:
        finalized = time.monotonic()  # the queue measures latency on its monotonic clock
        self._finalized_mono[turn.index] = finalized
        self.transcript.add_turn(turn)
        self._journal(lambda store, sid: store.add_turn(sid, turn))
        self.listener.turn_finalized(copy.deepcopy(turn))  # a copy: listeners never hold the live turn
        self._queue.submit(turn.index, turn.text, finalized)

    def _on_translation(self, update: TranslationUpdate) -> None:
        """Translation pool thread."""
        self.transcript.set_translation(update.index, update.translation)
        self._journal(lambda store, sid: store.set_translation(sid, update.index, update.translation))
        self.listener.translation_updated(update.index, update.translation)
        cell = (update.index, update.translation.language)
        if update.translation.status is TranslationStatus.FAILED:
            with self._lock:
                self._failed_cells.add(cell)
        elif update.translation.status is TranslationStatus.DONE:
            with self._lock:
                self._failed_cells.discard(cell)
            self._retry_failed_automatically()  # a success means the LLM is reachable again

    def _retry_failed_automatically(self) -> None:
        """Retry failed cells when the service is back (a later translation succeeded, or the
        socket reconnected), at most ``AUTO_RETRIES`` times per cell so a turn the LLM always
        refuses does not cost a request per later turn."""
        with self._lock:
            cells = [c for c in self._failed_cells if self._auto_retries.get(c, 0) < AUTO_RETRIES]
            for cell in cells:
                self._auto_retries[cell] = self._auto_retries.get(cell, 0) + 1
                self._failed_cells.discard(cell)
        for index, language in sorted(cells):
            log.info("retrying the failed %s translation of turn %d", language, index)
            self._queue.retry(index, language)

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

    # --- the end (websocket thread) -----------------------------------------------------------

    def _finish(self) -> None:
        self._stop.set()
        self.listener.state_changed(SessionState.FINISHING, "")
        # The capture loop checks the stop flag every block; a sound server that died can still
        # hang a read inside the audio library, so this wait is bounded too.
        wait = QUIT_CAPTURE_WAIT_S if self._quitting.is_set() else CAPTURE_STOP_TIMEOUT_S
        if not self._capture_done.wait(wait):
            log.error("the audio capture did not stop within %s s; finishing without it", wait)
        with self._assembly_lock:
            events = self._assembler.flush()
        self._dispatch(events)
        with self._lock:
            position_ms = self._position_bytes // BYTES_PER_MS
        if self._gap_start_ms is not None and position_ms - self._gap_start_ms >= GAP_MIN_MS:
            reason = "connection lost" if self._connected_once else "not transcribed: the service was not reachable"
            self._add_gap(Gap(self._gap_start_ms, position_ms, reason))
        # Every open translation is finished (there is no time limit but a deadline given to
        # stop() or quit_now()); whatever is still open then is marked, never left "translating".
        self._queue.close(timeout=None, on_progress=self._report_finishing)
        with self._lock:
            if self._deadline is not None:
                self._deadline.cancel()
        assert self.wav is not None and self.folder is not None
        if not self.folder.is_dir():
            self._rescue_deleted_folder()
        try:
            self.wav.close()
        except AppError as exc:
            self._fail(exc)
        exports: list[Path] = []
        turns = self.transcript.turns()
        try:
            with self._exports_lock:
                exports = self._write_exports()
        except OSError as exc:
            self._fail(OutputError(f"Could not write the transcript files in {self.folder} ({exc}). "
                                   "The audio is saved; the session archive has the transcript."))
        summary = SessionSummary(
            folder=self.folder,
            audio_path=self.folder / AUDIO_NAME,
            audio_seconds=self.wav.duration_s,
            turns=len(turns),
            translations_done=sum(tr.status is TranslationStatus.DONE for t in turns for tr in t.translations.values()),
            translations_failed=sum(tr.status is TranslationStatus.FAILED
                                    for t in turns for tr in t.translations.values()),
            gaps=self.transcript.gaps(),
            exports=exports,
            error=self._fatal,
            reconnects=self._reconnects,
            overflows=self.source.overflows,
            dropped_audio_ms=self._dropped_bytes // BYTES_PER_MS,
            transcribed=self._connected_once,
            quit=self._quitting.is_set(),
        )
        self.journal.finish(status="failed" if self._fatal else "finished",
                            duration_ms=int(self.wav.duration_s * 1000))
        self.summary = summary
        self.listener.state_changed(SessionState.FAILED if self._fatal else SessionState.ENDED, "")
        self.listener.session_ended(summary)
        self.ended.set()

    def _rescue_deleted_folder(self) -> None:
        """The session folder was deleted while recording. The WAV is still open, so every byte is
        still readable: make the folder again (or, failing that, one in the temporary folder),
        save the recording there, and say what happened."""
        assert self.wav is not None and self.folder is not None
        gone = self.folder
        for folder in (gone, Path(tempfile.gettempdir()) / "live-translate-rescued" / gone.name):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self.wav.save_copy(folder / AUDIO_NAME)
            except OSError as exc:
                log.error("could not save the recording in %s: %s", folder, exc)
                continue
            self.folder = folder
            where = "it was made again" if folder == gone else f"it could not be made again, so it is in {folder}"
            self.listener.error_occurred(_notice(
                f"The session folder {gone} was deleted during the session; {where} and everything recorded "
                "was saved in it."))
            if self.store is not None and self.session_id is not None and folder != gone:
                self._journal(partial(_move_in_journal, folder=folder))
            return
        self._fail(OutputError(f"The session folder {gone} was deleted during the session, and the recording "
                               "could not be saved anywhere else."))

    def _journal_snapshot(self) -> tuple[list[Turn], list[Gap]]:
        return self.transcript.turns(), self.transcript.gaps()

    def _write_exports(self) -> list[Path]:
        assert self.folder is not None
        return write_session_exports(self.folder, self.transcript.entries(), [t.code for t in self.targets],
                                     self.metadata())

    def _report_finishing(self, open_cells: int) -> None:
        detail = f"finishing {open_cells} translation{'s' if open_cells != 1 else ''}…" if open_cells else ""
        self.listener.state_changed(SessionState.FINISHING, detail)

    def metadata(self) -> dict[str, object]:
        return {
            "title": self.config.title or (self.folder.name if self.folder else "Transcript"),
            "started": self.folder.name if self.folder else "",
            "source": self.config.source_language.name if self.config.source_language else "",
            "speech_model": self.config.params.speech_model,
            "llm_model": self.config.llm_model,
            "targets": [t.code for t in self.targets],
            "audio": AUDIO_NAME,
        }

    # --- convenience for the headless CLI and tests -------------------------------------------

    def start_threads(self) -> tuple[threading.Thread, threading.Thread]:
        capture = threading.Thread(target=self.run_capture, name="audio-capture", daemon=True)
        streaming = threading.Thread(target=self.run_streaming, name="websocket", daemon=True)
        capture.start()
        streaming.start()
        return capture, streaming


def _move_in_journal(store: SessionStore, session_id: int, *, folder: Path) -> None:
    store.move_session(session_id, folder, folder / AUDIO_NAME)


def _notice(message: str) -> AppError:
    notice = OutputError(message)
    notice.fatal = False
    return notice


def _transient(error: AppError | None, attempt: int) -> AppError:
    text = error.message if error is not None else "The connection to the streaming service was lost."
    out = StreamingError(f"{text} Reconnecting (attempt {attempt}); recording continues.", retryable=True)
    out.fatal = False
    return out
