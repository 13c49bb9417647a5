"""Builds a ``LiveSession`` from ``Settings``: the one place that turns choices into parts.

Qt-free; called on the thread that starts a session (the CLI's main thread, or the window's
audio thread before capture). Shared by the command line and the window so both behave the same.
The backends are chosen here by the ids in the settings (``app.core.backends``): a new speech or
translation backend is one builder added to ``SPEECH_BUILDERS`` / ``TRANSLATION_BUILDERS``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.audio.microphone import MicrophoneSource
from app.audio.source import AudioSource
from app.audio.wav_source import WavFileSource
from app.core.backends import ASSEMBLYAI_GATEWAY, ASSEMBLYAI_STREAMING, secret
from app.core.errors import ConfigError
from app.core.settings import ReconnectPolicy, Settings
from app.core.validate import SessionPlan, validate
from app.pipeline.events import SessionListener
from app.pipeline.session import LiveSession, SessionConfig
from app.pipeline.sides import SideSpec
from app.pipeline.speech import SpeechService
from app.pipeline.two_way import SIDE_NAMES, plan_two_way
from app.store.db import SessionStore
from app.stt.assemblyai import AssemblyAISpeech, streaming_params
from app.translate.base import Translator
from app.translate.gateway import ChatTranslator
from app.translate.pacing import RateLimitPacer

log = logging.getLogger("app.pipeline")

__all__ = ["SPEECH_BUILDERS", "TRANSLATION_BUILDERS", "SessionRequest", "build_session", "build_source",
           "build_speech", "build_translator"]


@dataclass(frozen=True)
class SessionRequest:
    settings: Settings
    secrets: Mapping[str, str]  # API key per ``Secret.service`` ("assemblyai": ...); never logged
    sessions_dir: Path
    input_file: Path | None = None  # a recording instead of the microphone
    realtime: bool = True  # pace a recording at real time (the service rejects faster audio)
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)

    def key(self, service: str) -> str:
        """The key for ``service``, or a ``ConfigError`` saying where to set it."""
        key = (self.secrets.get(service) or "").strip()
        if not key:
            raise ConfigError(secret(service).missing)
        return key


def _assemblyai_speech(plan: SessionPlan, key: str) -> SpeechService:
    streaming_params(plan).query()  # raises ConfigError for out-of-range values now, not at connect time
    return AssemblyAISpeech(plan, key)


def _chat_translator(plan: SessionPlan, key: str, pacer: RateLimitPacer) -> Translator:
    # Any OpenAI-compatible chat-completions endpoint; the descriptor says how it takes the key.
    return ChatTranslator(key, base_url=plan.llm_url, model=plan.settings.llm_model, pacer=pacer,
                          backend=plan.translation)


SPEECH_BUILDERS: dict[str, Callable[[SessionPlan, str], SpeechService]] = {
    ASSEMBLYAI_STREAMING.id: _assemblyai_speech,
}
TRANSLATION_BUILDERS: dict[str, Callable[[SessionPlan, str, RateLimitPacer], Translator]] = {
    ASSEMBLYAI_GATEWAY.id: _chat_translator,
}


def build_speech(plan: SessionPlan, request: SessionRequest) -> SpeechService:
    return SPEECH_BUILDERS[plan.speech.id](plan, request.key(plan.speech.secret))


def build_translator(plan: SessionPlan, request: SessionRequest, pacer: RateLimitPacer) -> Translator:
    return TRANSLATION_BUILDERS[plan.translation.id](plan, request.key(plan.translation.secret), pacer)


def build_source(request: SessionRequest) -> AudioSource:
    if request.input_file is not None:
        return WavFileSource(request.input_file, realtime=request.realtime)
    return MicrophoneSource(request.settings.device)


def build_session(request: SessionRequest, listener: SessionListener, *, store: SessionStore | None,
                  source: AudioSource | None = None, other_source: AudioSource | None = None) -> LiveSession:
    """Validate everything that can be validated without I/O, then assemble the session.
    Raises ``ConfigError`` with a clear message for a bad value. ``Settings.two_way``: the
    microphone and the system audio (``other_source`` replaces the latter), each its own lane."""
    if request.settings.two_way:
        return _build_two_way(request, listener, store=store, source=source, other_source=other_source)
    plan = validate(request.settings)
    request.key(plan.speech.secret)  # the first thing a person must fix, said before anything else
    for note in plan.unused:
        log.info("%s", note)
    speech = build_speech(plan, request)
    pacer = RateLimitPacer()  # one per session: the translator reads the limit, the queue keeps to it
    translator = build_translator(plan, request, pacer)
    config = SessionConfig(
        targets=plan.targets,
        sessions_dir=request.sessions_dir,
        source_language=plan.source,
        speech_model=plan.model.id,
        llm_model=plan.settings.llm_model,
        reconnect=request.reconnect,
    )
    return LiveSession(config, source or build_source(request), speech, translator, listener, store=store,
                       pacer=pacer)


def _build_two_way(request: SessionRequest, listener: SessionListener, *, store: SessionStore | None,
                   source: AudioSource | None, other_source: AudioSource | None) -> LiveSession:
    if request.input_file is not None:
        raise ConfigError("A two-way conversation records the microphone and the system audio live; it cannot "
                          "read a recording (leave out --input).")
    two = plan_two_way(request.settings)
    you, them = two.you, two.them
    request.key(you.plan.speech.secret)
    speech, other_speech = build_speech(you.plan, request), build_speech(them.plan, request)
    pacer = RateLimitPacer()
    translator = build_translator(you.plan, request, pacer)
    config = SessionConfig(targets=two.targets, sessions_dir=request.sessions_dir, source_language=you.language,
                           speech_model=you.plan.model.id, llm_model=you.plan.settings.llm_model,
                           reconnect=request.reconnect, side_names=dict(SIDE_NAMES), other_language=them.language)
    other = SideSpec(them.side, other_source or MicrophoneSource(them.device), other_speech, them.language,
                     speech_model=them.plan.model.id)
    return LiveSession(config, source or MicrophoneSource(you.device), speech, translator, listener, store=store,
                       pacer=pacer, other=other)
