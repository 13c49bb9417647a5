"""Builds a ``LiveSession`` from ``Settings``: the one place that turns choices into parts.

Qt-free; called on the thread that starts a session (the CLI's main thread, or the window's
audio thread before capture). Shared by the command line and the window so both behave the same.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.audio.microphone import MicrophoneSource
from app.audio.source import AudioSource
from app.audio.wav_source import WavFileSource
from app.core.catalog import TURN_PRESETS
from app.core.errors import ConfigError
from app.core.settings import ReconnectPolicy, Settings
from app.core.validate import SessionPlan, validate
from app.pipeline.events import SessionListener
from app.pipeline.session import LiveSession, SessionConfig
from app.store.db import SessionStore
from app.stt.protocol import StreamingParams
from app.translate.gateway import ChatTranslator
from app.translate.pacing import RateLimitPacer

log = logging.getLogger("app.pipeline")


@dataclass(frozen=True)
class SessionRequest:
    settings: Settings
    api_key: str
    sessions_dir: Path
    input_file: Path | None = None  # a recording instead of the microphone
    realtime: bool = True  # pace a recording at real time (the service rejects faster audio)
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)


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
    )


def build_source(request: SessionRequest) -> AudioSource:
    if request.input_file is not None:
        return WavFileSource(request.input_file, realtime=request.realtime)
    return MicrophoneSource(request.settings.device)


def build_session(request: SessionRequest, listener: SessionListener, *, store: SessionStore | None,
                  source: AudioSource | None = None) -> LiveSession:
    """Validate everything that can be validated without I/O, then assemble the session.
    Raises ``ConfigError`` with a clear message for a bad value."""
    if not request.api_key.strip():
        raise ConfigError("No AssemblyAI API key. Set ASSEMBLYAI_API_KEY or enter it in Settings (Ctrl+,).")
    plan = validate(request.settings)
    for note in plan.unused:
        log.info("%s", note)
    params = streaming_params(plan)
    params.query()  # raises ConfigError for out-of-range values now, not at connect time
    pacer = RateLimitPacer()  # one per session: the translator reads the limit, the queue keeps to it
    translator = ChatTranslator(request.api_key, base_url=plan.llm_url, model=plan.settings.llm_model, pacer=pacer)
    config = SessionConfig(
        api_key=request.api_key,
        targets=plan.targets,
        sessions_dir=request.sessions_dir,
        streaming_base_url=plan.streaming_url,
        params=params,
        source_language=plan.source,
        llm_model=plan.settings.llm_model,
        reconnect=request.reconnect,
    )
    return LiveSession(config, source or build_source(request), translator, listener, store=store, pacer=pacer)
