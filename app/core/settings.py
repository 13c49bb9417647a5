"""The app's settings as one plain dataclass, shared by the window, the command line and tests.

Pure Python. Persisted by ``app/settings/qt_store.py`` (QSettings) for the window; the API key is
never a field here: it lives in the OS keyring or the environment (``app/settings/keystore.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_TARGETS = ("es",)  # Spanish on first run, as in AssemblyAI's tutorial
DEFAULT_LLM_MODEL = "gemini-2.5-flash-lite"
DEFAULT_LLM_URL = "https://llm-gateway.assemblyai.com/v1"
EU_LLM_URL = "https://llm-gateway.eu.assemblyai.com/v1"
REGIONS = ("default", "us", "eu")


@dataclass(frozen=True)
class Settings:
    targets: tuple[str, ...] = DEFAULT_TARGETS  # ISO codes of target languages, in column order
    source: str | None = None  # spoken language code, None = the model's default / auto
    speech_model: str = "universal-streaming-english"
    device: str | None = None  # input device name (remembered by name: indices shift on replug)
    region: str = "default"
    streaming_url: str | None = None  # overrides the region's URL
    llm_url: str | None = None  # overrides the region's LLM Gateway URL
    llm_model: str = DEFAULT_LLM_MODEL
    format_turns: bool = True
    turn_preset: str | None = None  # aggressive / balanced / conservative; None = service default
    keyterms: tuple[str, ...] = ()
    sessions_dir: Path | None = None  # None = under the user's data dir
    font_size: int = 13
    frame_ms: int = 100

    def with_changes(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]

    def effective_llm_url(self) -> str:
        if self.llm_url:
            return self.llm_url
        return EU_LLM_URL if self.region == "eu" else DEFAULT_LLM_URL


@dataclass(frozen=True)
class ReconnectPolicy:
    """Backoff for reconnecting the streaming socket: fast first retry, doubling, capped, jittered."""

    first_delay_s: float = 0.25
    factor: float = 2.0
    max_delay_s: float = 15.0
    jitter: float = 0.2  # +/- fraction of the delay
    initial_attempts: int = 3  # a session that never connected gives up after this many tries
    max_attempts: int | None = None  # mid-session: keep trying while capture goes on

    def delay(self, attempt: int, rnd: float) -> float:
        """Delay before retry number ``attempt`` (1-based); ``rnd`` in [0, 1)."""
        base = min(self.max_delay_s, self.first_delay_s * self.factor ** max(0, attempt - 1))
        return max(0.0, base * (1 + self.jitter * (2 * rnd - 1)))


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    sessions_dir: Path
    log_dir: Path
    db_path: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "db_path", self.data_dir / "sessions.db")
