"""Builds a ``LiveSession`` from ``Settings``: the one place that turns choices into parts.

Qt-free; called on the thread that starts a session (the CLI's main thread, or the window's
audio thread before capture). Shared by the command line and the window so both behave the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.audio.microphone import MicrophoneSource
from app.audio.source import AudioSource
from app.audio.wav_source import WavFileSource
from app.core.errors import ConfigError
from app.core.languages import Language, resolve_language
from app.core.settings import ReconnectPolicy, Settings
from app.pipeline.events import SessionListener
from app.pipeline.session import LiveSession, SessionConfig
from app.store.db import SessionStore
from app.stt.protocol import SPEECH_MODELS, StreamingParams, resolve_base_url
from app.translate.gateway import ChatTranslator


@dataclass(frozen=True)
class SessionRequest:
    settings: Settings
    api_key: str
    sessions_dir: Path
    input_file: Path | None = None  # a recording instead of the microphone
    realtime: bool = True  # pace a recording at real time (the service rejects faster audio)
    reconnect: ReconnectPolicy = ReconnectPolicy()


def resolve_targets(codes: tuple[str, ...]) -> tuple[Language, ...]:
    targets: list[Language] = []
    for code in codes:
        lang = resolve_language(code)
        if lang not in targets:
            targets.append(lang)
    return tuple(targets)


def streaming_params(settings: Settings) -> StreamingParams:
    if settings.speech_model not in SPEECH_MODELS:
        raise ConfigError(
            f"Unknown speech model {settings.speech_model!r}; use one of: {', '.join(SPEECH_MODELS)}."
        )
    return StreamingParams(
        speech_model=settings.speech_model,
        format_turns=settings.format_turns,
        turn_preset=settings.turn_preset,
        keyterms_prompt=settings.keyterms,
        # Per-turn language codes are only available (and useful) on the multilingual models.
        language_detection=settings.speech_model != "universal-streaming-english" and settings.source is None,
    )


def build_source(request: SessionRequest) -> AudioSource:
    if request.input_file is not None:
        return WavFileSource(request.input_file, realtime=request.realtime)
    return MicrophoneSource(request.settings.device)


def build_session(request: SessionRequest, listener: SessionListener, *, store: SessionStore | None,
                  source: AudioSource | None = None) -> LiveSession:
    """Validate everything that can be validated without I/O, then assemble the session.
    Raises ``ConfigError`` with a clear message for a bad value."""
    settings = request.settings
    if not request.api_key.strip():
        raise ConfigError("No AssemblyAI API key. Set ASSEMBLYAI_API_KEY or enter it in Settings (Ctrl+,).")
    targets = resolve_targets(settings.targets)
    if not targets:
        raise ConfigError("Choose at least one target language (for example --to es).")
    source_language = resolve_language(settings.source) if settings.source else None
    params = streaming_params(settings)
    params.query()  # raises ConfigError for out-of-range values now, not at connect time
    base_url = resolve_base_url(settings.streaming_url, settings.region)
    translator = ChatTranslator(request.api_key, base_url=settings.effective_llm_url(), model=settings.llm_model)
    config = SessionConfig(
        api_key=request.api_key,
        targets=targets,
        sessions_dir=request.sessions_dir,
        streaming_base_url=base_url,
        params=params,
        source_language=source_language,
        llm_model=settings.llm_model,
        reconnect=request.reconnect,
    )
    return LiveSession(config, source or build_source(request), translator, listener, store=store)
