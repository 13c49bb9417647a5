"""AssemblyAI Universal Streaming as the session's speech backend (``app.pipeline.speech``).

Built by ``app.pipeline.factory`` from a validated plan; the session then asks it for connections
(``StreamingClient``) and turn rules (``TurnAssembler``) and knows nothing else of the protocol.
Which query parameters each model honours is decided here from the catalog [protocol §9.4]. The
``StreamingConfig`` fields are read when each connection is made, so a test can shorten a timeout
on a built session.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.core.catalog import TURN_PRESETS
from app.core.errors import AppError, AuthError
from app.core.validate import SessionPlan
from app.stt.client import LIVENESS_TIMEOUT_S, PING_INTERVAL_S, StreamingClient
from app.stt.protocol import SEND_AHEAD_TOLERANCE_S, ServerMessage, StreamingParams, build_url
from app.stt.turns import TurnAssembler

__all__ = ["AssemblyAISpeech", "StreamingConfig", "check_key", "streaming_params"]

log = logging.getLogger("app.stt")

AUTH_RETRY_DELAY_S = 0.5  # before the key check's one retry of a 1008 close
TERMINATE_WAIT_S = 3.0  # the key check's wait for Termination after its Terminate


@dataclass
class StreamingConfig:
    url: str  # the full connection URL, query included (never the key)
    api_key: str
    format_turns: bool  # whether a formatted copy of a final is worth waiting for
    begin_timeout_s: float = 10.0
    terminate_timeout_s: float = 5.0
    # Audio captured while no connection is up (start-up, a reconnect) that is sent when one opens:
    # the service accepts only this much ahead of real time [protocol §2.1]; older audio is a gap.
    send_ahead_s: float = SEND_AHEAD_TOLERANCE_S
    liveness_timeout_s: float = LIVENESS_TIMEOUT_S  # a silent, unanswering connection counts as a drop
    ping_interval_s: float = PING_INTERVAL_S


def streaming_params(plan: SessionPlan) -> StreamingParams:
    """The query for ``plan``: each model is sent only the parameters it honours, as the catalog
    records them [protocol §9.4]; the rest would be ignored at best, and misleading in a log."""
    settings, model = plan.settings, plan.model
    threshold: float | None = None
    min_silence: int | None = None
    max_silence: int | None = None
    if settings.turn_preset is not None:
        preset_threshold, preset_min, preset_max = TURN_PRESETS[settings.turn_preset]
        if model.turn_threshold:
            threshold = preset_threshold
        if model.turn_silences:
            min_silence, max_silence = preset_min, preset_max
    return StreamingParams(
        speech_model=model.id,
        format_turns=settings.format_turns if model.format_turns else None,
        end_of_turn_confidence_threshold=threshold,
        min_turn_silence=min_silence,
        max_turn_silence=max_silence,
        keyterms_prompt=settings.keyterms if model.keyterms else (),
        language_detection=plan.language_detection,
        language_codes=plan.language_codes,
        mode=plan.mode,
        speaker_labels=settings.speakers and model.speaker_labels,
        max_speakers=settings.max_speakers if settings.speakers and model.speaker_labels else None,
    )


class AssemblyAISpeech:
    """``app.pipeline.speech.SpeechService`` for AssemblyAI; one per session."""

    name = "the streaming service"

    def __init__(self, plan: SessionPlan, api_key: str, *,
                 client_factory: Callable[..., StreamingClient] = StreamingClient) -> None:
        params = streaming_params(plan)
        self.config = StreamingConfig(url=build_url(params, plan.streaming_url), api_key=api_key,
                                      format_turns=bool(params.format_turns))
        self._client_factory = client_factory

    @property
    def send_ahead_s(self) -> float:
        return self.config.send_ahead_s

    @property
    def terminate_timeout_s(self) -> float:
        return self.config.terminate_timeout_s

    def connection(self, on_message: Callable[[ServerMessage], None]) -> StreamingClient:
        c = self.config
        return self._client_factory(c.url, c.api_key, on_message=on_message, begin_timeout=c.begin_timeout_s,
                                    max_lead_s=c.send_ahead_s, liveness_timeout_s=c.liveness_timeout_s,
                                    ping_interval_s=c.ping_interval_s)

    def turn_rules(self) -> TurnAssembler:
        # None from the plan: the model always formats (u3 family), so no copy is worth waiting for.
        return TurnAssembler(format_turns=self.config.format_turns)


def check_key(key: str, base_url: str, *, client_factory: Callable[..., StreamingClient] | None = None,
              timeout_s: float = 10.0) -> AppError | None:
    """Open a streaming session with ``key`` and end it at once, cleanly: ``Terminate``, then wait
    (at most ``TERMINATE_WAIT_S``) for ``Termination`` and the close, so the service closes the
    session it opened instead of billing it until it times out [protocol §0.8]; no audio is sent.
    None if it opened, else what went wrong. A 1008 close is tried once more after a short wait:
    valid keys sometimes get a transient ``1008 Unauthorized connection: Incorrect padding``
    [protocol §9.2]; an HTTP 401 at the handshake is the key."""
    factory = client_factory or StreamingClient
    url = build_url(StreamingParams(), base_url)
    try:
        try:
            _connect_once(factory, url, key, timeout_s)
        except AuthError as exc:
            if exc.close_code is None:
                raise
            time.sleep(AUTH_RETRY_DELAY_S)  # a background task; nothing waits on this thread
            _connect_once(factory, url, key, timeout_s)
    except AppError as exc:
        return exc
    return None


def _connect_once(factory: Callable[..., StreamingClient], url: str, key: str, timeout_s: float) -> None:
    client = factory(url, key, on_message=_ignore, begin_timeout=timeout_s)
    try:
        client.connect()
    except BaseException:
        client.abort()
        raise
    client.stop(TERMINATE_WAIT_S)  # Terminate; closed abruptly if no Termination comes in time
    end = client.run()
    if not end.terminated:
        log.info("the key check's session ended without Termination (%s)", end.code)


def _ignore(message: object) -> None:
    pass
