"""The services a session can use, described: which speech and translation backends exist, what
each offers (models, regions, presets) and which secret each needs.

Stdlib-only data. The window and the command line read these descriptors for their choices and
messages instead of any backend package's constants; ``app.pipeline.factory`` turns a descriptor's
``id`` into working parts; ``app.settings.keystore`` keeps one secret per ``Secret.service``.
Adding a backend means one descriptor here and one builder in the factory.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.core.catalog import (
    DEFAULT_LLM_MODEL,
    DEFAULT_LLM_URL,
    DEFAULT_SPEECH_MODEL,
    LLM_MODELS,
    MODE_LABELS,
    REGIONS,
    SPEECH_MODELS,
    TURN_PRESET_LABELS,
    TURN_PRESETS,
    Region,
    SpeechModel,
)
from app.core.errors import ConfigError

__all__ = [
    "ASSEMBLYAI",
    "ASSEMBLYAI_GATEWAY",
    "ASSEMBLYAI_STREAMING",
    "SECRETS",
    "SPEECH_BACKENDS",
    "TRANSLATION_BACKENDS",
    "Secret",
    "SpeechBackend",
    "TranslationBackend",
    "secret",
    "speech_backend",
    "translation_backend",
]


@dataclass(frozen=True)
class Secret:
    """One API key the app keeps (in the OS keyring or an environment variable, never a file)."""

    service: str  # the key store's account, and what backends name in ``secret``
    label: str  # "AssemblyAI API key"
    env_var: str  # wins over a saved key
    where: str  # where a person finds it: "in the AssemblyAI dashboard"

    @property
    def missing(self) -> str:
        return f"No {self.label}. Set {self.env_var} or enter it in Settings (Ctrl+,)."


@dataclass(frozen=True)
class SpeechBackend:
    id: str
    name: str  # in messages: "the streaming service"
    secret: str  # ``Secret.service``
    models: tuple[SpeechModel, ...]
    default_model: str
    regions: tuple[Region, ...]
    presets: Mapping[str, tuple[float, int, int]]  # turn detection presets
    preset_labels: Mapping[str | None, str]
    modes: Mapping[str | None, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TranslationBackend:
    id: str
    name: str  # in messages: "the LLM Gateway"
    secret: str  # ``Secret.service``
    default_url: str  # OpenAI-compatible base URL, up to /v1
    auth_scheme: str  # "raw" (the key itself in Authorization) or "bearer"
    models: tuple[str, ...]
    default_model: str
    regional_urls: bool = True  # the region setting picks the URL (``Region.llm_url``)
    account_advice: str = ""  # said when the service refuses the account (403)


ASSEMBLYAI = Secret("assemblyai", "AssemblyAI API key", "ASSEMBLYAI_API_KEY", "in the AssemblyAI dashboard")

ASSEMBLYAI_STREAMING = SpeechBackend(
    id="assemblyai", name="the streaming service", secret=ASSEMBLYAI.service, models=SPEECH_MODELS,
    default_model=DEFAULT_SPEECH_MODEL, regions=REGIONS, presets=TURN_PRESETS, preset_labels=TURN_PRESET_LABELS,
    modes=MODE_LABELS,
)

ASSEMBLYAI_GATEWAY = TranslationBackend(
    id="assemblyai", name="the LLM Gateway", secret=ASSEMBLYAI.service, default_url=DEFAULT_LLM_URL,
    auth_scheme="raw", models=LLM_MODELS, default_model=DEFAULT_LLM_MODEL,
    account_advice=("The LLM Gateway is not open to free-tier accounts: upgrade the AssemblyAI account to "
                    "translate (transcription works without it)."),
)

SECRETS: dict[str, Secret] = {ASSEMBLYAI.service: ASSEMBLYAI}
SPEECH_BACKENDS: dict[str, SpeechBackend] = {ASSEMBLYAI_STREAMING.id: ASSEMBLYAI_STREAMING}
TRANSLATION_BACKENDS: dict[str, TranslationBackend] = {ASSEMBLYAI_GATEWAY.id: ASSEMBLYAI_GATEWAY}


def secret(service: str) -> Secret:
    try:
        return SECRETS[service]
    except KeyError:
        raise ConfigError(f"Unknown service {service!r} for an API key; known: {', '.join(SECRETS)}.") from None


def speech_backend(backend_id: str) -> SpeechBackend:
    try:
        return SPEECH_BACKENDS[backend_id.lower()]
    except KeyError:
        raise ConfigError(f"Unknown speech service {backend_id!r}; use one of: "
                          f"{', '.join(SPEECH_BACKENDS)}.") from None


def translation_backend(backend_id: str) -> TranslationBackend:
    try:
        return TRANSLATION_BACKENDS[backend_id.lower()]
    except KeyError:
        raise ConfigError(f"Unknown translation service {backend_id!r}; use one of: "
                          f"{', '.join(TRANSLATION_BACKENDS)}.") from None
