"""The app's settings as one plain dataclass, shared by the window, the command line and tests.

Pure Python. Persisted by ``app/settings/qt_store.py`` (QSettings) for the window; the API key is
never a field here: it lives in the OS keyring or the environment (``app/settings/keystore.py``).
What a combination of settings means, and which combinations are refused, is decided by
``app.core.validate``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.core.backoff import Backoff
from app.core.catalog import DEFAULT_LLM_MODEL, DEFAULT_SPEECH_MODEL

DEFAULT_TARGETS = ("es",)  # Spanish on first run, as in AssemblyAI's tutorial
FONT_SIZE_MIN, FONT_SIZE_MAX, DEFAULT_FONT_SIZE = 8, 48, 13


def clamp_font_size(size: int) -> int:
    return max(FONT_SIZE_MIN, min(FONT_SIZE_MAX, size))


@dataclass(frozen=True)
class Settings:
    targets: tuple[str, ...] = DEFAULT_TARGETS  # ISO codes of target languages, in column order
    source: str | None = None  # spoken language code, None = the model's default / auto
    speech_model: str = DEFAULT_SPEECH_MODEL
    device: str | None = None  # input device name (remembered by name: indices shift on replug)
    region: str = "default"
    streaming_url: str | None = None  # overrides the region's URL
    llm_url: str | None = None  # overrides the region's LLM Gateway URL
    llm_model: str = DEFAULT_LLM_MODEL
    format_turns: bool = True
    turn_preset: str | None = None  # aggressive / balanced / conservative; None = service default
    mode: str | None = None  # min_latency / balanced / max_accuracy (universal-3-5-pro only); None = service default
    keyterms: tuple[str, ...] = ()
    sessions_dir: Path | None = None  # None = under the user's data dir
    font_size: int = DEFAULT_FONT_SIZE
    frame_ms: int = 100
    speakers: bool = False  # label who said each turn (speaker_labels), on the models that can
    max_speakers: int | None = None  # a hint to the service (1-10); None = let it decide
    two_way: bool = False  # a conversation: the microphone (you, ``source``) and system audio (them) at once
    other_language: str | None = None  # two-way: the language the other side speaks
    system_device: str | None = None  # two-way: the other side's system-audio source; None = the default output
    speech_backend: str = "assemblyai"  # ``app.core.backends.SPEECH_BACKENDS``
    translation_backend: str = "assemblyai"  # ``app.core.backends.TRANSLATION_BACKENDS``

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)


@dataclass(frozen=True)
class ReconnectPolicy(Backoff):
    """Backoff for reconnecting the streaming socket, and how many tries a session gets."""

    max_attempts: int | None = None  # None: keep trying while the recording goes on


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    sessions_dir: Path
    log_dir: Path
    db_path: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "db_path", self.data_dir / "sessions.db")
