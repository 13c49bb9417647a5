"""What the services offer: speech models (with the languages they hear and the parameters they
honour), turn-detection presets, regions, and the LLM defaults. The one place for each of these.

Pure data and lookups; any thread. The window's pickers, the command line's choices, the settings
store's parsing, ``validate()`` and the streaming parameters all read this module, so none of them
keeps its own copy [protocol §1.4, §1.5, §9.3-4].
"""
from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import ConfigError


@dataclass(frozen=True)
class SpeechModel:
    id: str  # the ``speech_model`` query value
    label: str  # a few words for a picker
    languages: tuple[str, ...] | None  # ISO codes it hears; None: any language (it detects)
    turn_presets: bool = True  # honours end_of_turn_confidence_threshold / min / max_turn_silence
    keyterms: bool = True  # honours keyterms_prompt
    language_detection: bool = False  # can report each turn's language (language_detection=true)

    def hears(self, code: str) -> bool:
        base = code.split("-")[0].lower()
        return self.languages is None or base in self.languages


SIX_LANGUAGES = ("en", "es", "fr", "de", "it", "pt")

SPEECH_MODELS: tuple[SpeechModel, ...] = (
    SpeechModel("universal-streaming-english", "English · fastest", ("en",)),
    SpeechModel("universal-streaming-multilingual", "Multilingual · en es fr de it pt", SIX_LANGUAGES,
                language_detection=True),
    SpeechModel("whisper-rt", "Whisper · 99 languages", None, language_detection=True),
    SpeechModel("u3-rt-pro", "Universal-3 Pro", SIX_LANGUAGES, language_detection=True),
)
SPEECH_MODEL_IDS = tuple(m.id for m in SPEECH_MODELS)
DEFAULT_SPEECH_MODEL = "universal-streaming-english"
_MODELS = {m.id: m for m in SPEECH_MODELS}


def speech_model(model_id: str) -> SpeechModel:
    try:
        return _MODELS[model_id]
    except KeyError:
        raise ConfigError(
            f"Unknown speech model {model_id!r}; use one of: {', '.join(SPEECH_MODEL_IDS)}."
        ) from None


def model_for_language(code: str | None) -> str:
    """The model that should hear ``code`` when the user did not choose one: the fastest that
    hears it (English: the English model; es/fr/de/it/pt: multilingual; others: whisper-rt)."""
    if code is None:
        return DEFAULT_SPEECH_MODEL
    for model in (_MODELS["universal-streaming-english"], _MODELS["universal-streaming-multilingual"]):
        if model.hears(code):
            return model.id
    return "whisper-rt"


def model_for_source(code: str | None, current: str) -> str:
    """The model to use when the spoken language changes to ``code`` while ``current`` is chosen:
    keep ``current`` when it hears the language, else move to the model that does."""
    if code is None or (current in _MODELS and _MODELS[current].hears(code)):
        return current
    return model_for_language(code)


# threshold / min_turn_silence ms / max_turn_silence ms  [protocol §1.4, turn-detection.mdx]
TURN_PRESETS: dict[str, tuple[float, int, int]] = {
    "aggressive": (0.4, 160, 400),
    "balanced": (0.4, 400, 1280),
    "conservative": (0.7, 800, 3600),
}
TURN_PRESET_LABELS: dict[str | None, str] = {
    None: "Service default",
    "aggressive": "Quick: short pauses end a turn",
    "balanced": "Balanced",
    "conservative": "Patient: waits for longer pauses",
}
MAX_KEYTERMS = 100
MAX_KEYTERM_CHARS = 50


@dataclass(frozen=True)
class Region:
    id: str
    label: str
    streaming_url: str
    llm_url: str


DEFAULT_LLM_URL = "https://llm-gateway.assemblyai.com/v1"
EU_LLM_URL = "https://llm-gateway.eu.assemblyai.com/v1"
REGIONS: tuple[Region, ...] = (
    Region("default", "Nearest (default)", "wss://streaming.assemblyai.com/v3/ws", DEFAULT_LLM_URL),
    Region("us", "United States", "wss://streaming.us.assemblyai.com/v3/ws", DEFAULT_LLM_URL),
    Region("eu", "European Union", "wss://streaming.eu.assemblyai.com/v3/ws", EU_LLM_URL),
)
REGION_IDS = tuple(r.id for r in REGIONS)
_REGIONS = {r.id: r for r in REGIONS}


def region(region_id: str) -> Region:
    try:
        return _REGIONS[region_id.lower()]
    except KeyError:
        raise ConfigError(f"Unknown region {region_id!r}; use one of: {', '.join(REGION_IDS)}.") from None


DEFAULT_LLM_MODEL = "gemini-2.5-flash-lite"  # the tutorial's model: fast and cheap
# Offered in the Settings picker; any model id the gateway knows can be typed in.
LLM_MODELS = (DEFAULT_LLM_MODEL, "gemini-2.5-flash", "claude-haiku-4-5-20251001", "gpt-5-mini", "gpt-4.1")
