"""The second side of a two-way session: the system audio (the other side of a call), captured,
recorded and streamed next to the microphone, on the same timeline.

Qt-free; its own two plain threads (capture, streaming), started and joined by the session, so the
window's workers and the terminal run it the same way. The capture loop writes every block to the
side's own WAV (``audio-system.wav``) FIRST, then to its lane; it never waits on the network. When
this side's device fails or vanishes, only this side ends: its WAV is kept as it is, the session is
told (``side_ended``) and the microphone side goes on. The session's stop ends it too.
"""
from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.audio.source import AudioSource
from app.audio.wav_writer import WavWriter
from app.core.errors import AppError, DeviceError, catch_all
from app.core.languages import Language
from app.core.settings import ReconnectPolicy
from app.core.transcript import Gap
from app.core.turn_events import AssemblerEvent
from app.pipeline.events import SessionState
from app.pipeline.folders import SYSTEM_AUDIO_NAME
from app.pipeline.lane import StreamingLane
from app.pipeline.speech import SpeechService

log = logging.getLogger("app.pipeline")

JOIN_TIMEOUT_S = 5.0


class SideSession(Protocol):
    """What a side tells its session (from the side's threads)."""

    def side_state(self, side: str, state: SessionState, detail: str) -> None: ...

    def side_events(self, side: str, events: list[AssemblerEvent]) -> None: ...

    def side_gap(self, side: str, gap: Gap) -> None: ...

    def side_error(self, side: str, error: AppError) -> None: ...

    def side_failed(self, side: str, error: AppError) -> None: ...

    def side_ended(self, side: str, error: AppError) -> None:
        """This side's capture stopped (its device failed); the others go on."""

    def side_reconnected(self, side: str) -> None: ...

    def side_last_turn_end_ms(self, side: str, segment: int) -> int | None: ...


class _LaneEvents:
    """A lane's ``LaneEvents``, tagged with the side it carries."""

    def __init__(self, session: SideSession, side: str) -> None:
        self._session, self._side = session, side

    def lane_state(self, state: SessionState, detail: str) -> None:
        self._session.side_state(self._side, state, detail)

    def lane_events(self, events: list[AssemblerEvent]) -> None:
        self._session.side_events(self._side, events)

    def lane_gap(self, gap: Gap) -> None:
        self._session.side_gap(self._side, gap)

    def lane_error(self, error: AppError) -> None:
        self._session.side_error(self._side, error)

    def lane_failed(self, error: AppError) -> None:
        self._session.side_failed(self._side, error)

    def lane_reconnected(self) -> None:
        self._session.side_reconnected(self._side)

    def last_turn_end_ms(self, segment: int) -> int | None:
        return self._session.side_last_turn_end_ms(self._side, segment)


@dataclass(frozen=True)
class SideSpec:
    """What the factory hands a session for its second side."""

    side: str  # ``app.core.transcript.SYSTEM_AUDIO``
    source: AudioSource
    speech: SpeechService  # its own connection, with its own spoken language
    language: Language
    speech_model: str = ""


class OtherSide:
    def __init__(self, side: str, source: AudioSource, speech: SpeechService, language: Language,
                 session: SideSession, *, reconnect: ReconnectPolicy, stop: threading.Event,
                 quitting: threading.Event, rng: Callable[[], float] = random.random) -> None:
        self.side = side
        self.source = source
        self.language = language
        self._session = session
        self._stop = stop
        self.capture_done = threading.Event()
        self.lane = StreamingLane(speech, _LaneEvents(session, side), reconnect=reconnect, stop=stop,
                                  capture_done=self.capture_done, quitting=quitting, rng=rng)
        self.wav: WavWriter | None = None
        self.error: AppError | None = None  # why its capture ended early, if it did
        self._streaming: threading.Thread | None = None

    def open(self, folder: Path) -> None:
        """Open the device and the side's WAV (caller's thread, in the session's ``prepare``)."""
        try:
            self.source.open()
        except DeviceError as exc:
            raise DeviceError(f"A two-way conversation records the other side from the system audio, which "
                              f"could not be opened. {exc.message}", detail=exc.detail) from exc
        try:
            self.wav = WavWriter(folder / SYSTEM_AUDIO_NAME)
        except BaseException:
            self.source.close()
            raise

    def start(self) -> None:
        threading.Thread(target=self._run_capture, name=f"audio-capture-{self.side}", daemon=True).start()
        self._streaming = threading.Thread(target=self._run_streaming, name=f"websocket-{self.side}", daemon=True)
        self._streaming.start()

    # --- its threads ------------------------------------------------------------------------------

    def _run_capture(self) -> None:
        assert self.wav is not None
        try:
            with catch_all(log, "The system audio stopped", self._ended):
                while not self._stop.is_set():
                    block = self.source.read()
                    if block is None:
                        break
                    if not block:
                        continue
                    self.wav.write(block)  # the WAV first
                    self.lane.feed(block)
                    self.lane.tick()
        finally:
            self.source.close()
            self.capture_done.set()
            self.lane.terminate()

    def _ended(self, error: AppError) -> None:
        self.error = error
        self._session.side_ended(self.side, error)

    def _run_streaming(self) -> None:
        with catch_all(log, "The system audio's connection stopped", lambda e: self._session.side_failed(self.side, e)):
            self.lane.run()

    # --- the end (the session's streaming thread) ---------------------------------------------------

    def join(self, timeout_s: float = JOIN_TIMEOUT_S) -> None:
        if not self.capture_done.wait(timeout_s):
            log.error("the system audio's capture did not stop within %s s", timeout_s)
        if self._streaming is not None:
            self._streaming.join(timeout_s)

    def finish(self) -> Gap | None:
        return self.lane.finish()

    def close_wav(self) -> None:
        if self.wav is not None:
            self.wav.close()
