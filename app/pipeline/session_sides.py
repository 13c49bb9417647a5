"""What a session does with what each of its sides says (the ``SideSession`` of
``app.pipeline.sides``), for ``LiveSession``: a one-sided session passes everything on; a two-way
one says "live" once both sides are, names a side in its trouble and its interim text ("Them:
reconnecting (2)"), and keeps each side's turns and gaps apart. Called from the sides' threads; at
the end (the streaming thread), every side's recording is closed and counted.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.core.errors import AppError
from app.core.transcript import MICROPHONE, Gap, Turn
from app.core.turn_events import AssemblerEvent, InterimChanged, SpeakerRevised, TurnFinalized
from app.core.units import BYTES_PER_MS
from app.pipeline.ending import notice
from app.pipeline.events import SessionListener, SessionState

if TYPE_CHECKING:
    from app.audio.source import AudioSource
    from app.audio.wav_writer import WavWriter
    from app.core.transcript import Transcript
    from app.pipeline.lane import StreamingLane
    from app.pipeline.session import SessionConfig
    from app.pipeline.sides import OtherSide


class SideEvents:
    """A mixin of ``LiveSession``; the attributes and methods below are the session's."""

    config: SessionConfig
    lane: StreamingLane
    source: AudioSource
    wav: WavWriter | None
    listener: SessionListener
    transcript: Transcript
    other: OtherSide | None
    _live_sides: set[str]

    def _on_turn(self, turn: Turn, side: str = MICROPHONE) -> None: ...

    def _on_speaker_revised(self, event: SpeakerRevised, side: str = MICROPHONE) -> None: ...

    def _add_gap(self, gap: Gap) -> None: ...

    def _fail(self, error: AppError) -> None: ...

    def lane_reconnected(self) -> None: ...

    def _named(self, side: str, text: str) -> str:
        name = self.config.side_names.get(side)
        return f"{name}: {text}" if name and text else text

    def side_state(self, side: str, state: SessionState, detail: str) -> None:
        if self.other is None:
            self.listener.state_changed(state, detail)
            return
        # Two lanes: "live" when both are; a side's trouble is said with its name.
        if state is SessionState.LIVE:
            self._live_sides.add(side)
            if len(self._live_sides) == 2:
                self.listener.state_changed(state, detail)
            return
        self._live_sides.discard(side)
        if state is SessionState.CONNECTING and side != MICROPHONE:
            return
        self.listener.state_changed(state, self._named(side, detail) if side != MICROPHONE else detail)

    def side_events(self, side: str, events: list[AssemblerEvent]) -> None:
        for event in events:
            if isinstance(event, InterimChanged):
                self.listener.interim_changed(self._named(side, event.text))
            elif isinstance(event, TurnFinalized):
                self._on_turn(event.turn, side)
            elif isinstance(event, SpeakerRevised):
                self._on_speaker_revised(event, side)

    def side_gap(self, side: str, gap: Gap) -> None:
        if self.other is None:
            self._add_gap(gap)
            return
        name = self.config.side_names.get(side, side)
        self._add_gap(dataclasses.replace(gap, reason=f"{name}: {gap.reason}" if gap.reason else name))

    def side_error(self, side: str, error: AppError) -> None:
        self.listener.error_occurred(error)

    def side_failed(self, side: str, error: AppError) -> None:
        self._fail(error)

    def side_ended(self, side: str, error: AppError) -> None:
        """The system audio's capture stopped (its output vanished): the microphone goes on."""
        self.listener.error_occurred(notice(f"{error.message} The microphone goes on; what the system audio "
                                            "recorded until now is kept."))

    def side_reconnected(self, side: str) -> None:
        self.lane_reconnected()

    def side_last_turn_end_ms(self, side: str, segment: int) -> int | None:
        return max((t.end_ms for t in self.transcript.turns() if t.segment == segment and t.side == side),
                   default=None)

    # --- every side's parts, at the end -------------------------------------------------------

    def _close_wavs(self, on_error: Callable[[AppError], object]) -> None:
        assert self.wav is not None
        for close in (self.wav.close, *((self.other.close_wav,) if self.other is not None else ())):
            try:
                close()
            except AppError as exc:
                on_error(exc)

    def _lane_counts(self) -> dict[str, Any]:
        """The summary's counts over every side's lane and source."""
        lanes = [self.lane, *((self.other.lane,) if self.other is not None else ())]
        sources = [self.source, *((self.other.source,) if self.other is not None else ())]
        return {"reconnects": sum(lane.reconnects for lane in lanes),
                "overflows": sum(source.overflows for source in sources),
                "dropped_audio_ms": sum(lane.dropped_bytes for lane in lanes) // BYTES_PER_MS,
                "transcribed": any(lane.connected_once for lane in lanes)}
