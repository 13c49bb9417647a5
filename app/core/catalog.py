"""What the services offer: speech models (with the languages they hear and the parameters they
honour), turn-detection presets, regions, and the LLM models (vendor, the regions that serve them,
their quirks) with the LLM defaults. The one place for each of these.

Pure data and lookups; any thread. The window's pickers, the command line's choices, the settings
store's parsing, ``validate()``, the streaming parameters and the LLM Gateway client all read this
module, so none of them keeps its own copy [protocol §1.4, §1.5, §5.5, §9.3-4, §9.10-11].
"""
from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import ConfigError
from app.core.languages import language_name


@dataclass(frozen=True)
class SpeechModel:
    """One streaming model: the languages it hears and the query parameters it honours. Each flag
    is one parameter (or group); ``app.stt.assemblyai.streaming_params`` sends a parameter only
    to the models whose flag is set [protocol §1.4, §1.5, §9.3, §9.4]."""

    id: str  # the ``speech_model`` query value
    title: str  # the model's name for people
    note: str  # what it is good at, a few words
    languages: tuple[str, ...]  # base ISO codes it hears
    turn_threshold: bool = False  # end_of_turn_confidence_threshold (universal-streaming only)
    turn_silences: bool = False  # min_turn_silence / max_turn_silence
    keyterms: bool = False  # keyterms_prompt
    language_detection: bool = False  # language_detection=true: each turn's language_code
    language_codes: bool = False  # language_codes: steer towards the expected language(s)
    modes: bool = False  # mode = min_latency / balanced / max_accuracy
    format_turns: bool = True  # format_turns (the u3 family always formats: not applicable)
    live_words: bool = True  # partial words while the speaker talks (the u3 family: only in pauses)
    speaker_labels: bool = False  # speaker_labels / max_speakers: who said each turn [protocol §1.4, §9.6]

    def hears(self, code: str) -> bool:
        base = code.split("-")[0].lower()
        return _SAME_LANGUAGE.get(base, base) in self.languages

    @property
    def multilingual(self) -> bool:
        """It hears more than one language: each turn may say which (the window shows it)."""
        return len(self.languages) > 1

    @property
    def label(self) -> str:
        """For a picker: the name, the languages it hears, and what it is good at."""
        heard = " ".join(self.languages) if len(self.languages) <= 6 else f"{len(self.languages)} languages"
        return f"{self.title} · {heard} · {self.note}"

    def heard_names(self) -> str:
        """Every language it hears, by name, for a tooltip or ``--list-models``."""
        return ", ".join(sorted(language_name(code) for code in self.languages))


SIX_LANGUAGES = ("en", "es", "fr", "de", "it", "pt")
# universal-3-5-pro [protocol §9.3: PYSDK 2080c80, 2026-06-29].
U35_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "tr", "nl", "sv", "no", "da", "fi", "hi", "vi", "ar", "he",
                 "ja", "zh")
# whisper-rt, from its docs page (whisper-multilingual-streaming.mdx).
WHISPER_LANGUAGES = (
    "af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy", "da", "de", "el", "en",
    "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw", "he", "hi", "hr", "ht", "hu", "hy", "id", "is",
    "it", "ja", "jw", "ka", "kk", "km", "kn", "ko", "la", "lb", "ln", "lo", "lt", "lv", "mg", "mi", "mk", "ml", "mn",
    "mr", "ms", "mt", "my", "ne", "nl", "nn", "no", "oc", "pa", "pl", "ps", "pt", "ro", "ru", "sa", "sd", "si", "sk",
    "sl", "sn", "so", "sq", "sr", "su", "sv", "sw", "ta", "te", "tg", "th", "tk", "tl", "tr", "tt", "uk", "ur", "uz",
    "vi", "yi", "yo", "yue", "zh",
)
_SAME_LANGUAGE = {"fil": "tl"}  # the language table's Filipino is whisper's Tagalog

# What each honours [protocol §9.4]: the three turn-detection parameters are for the universal-
# streaming models; the u3 family honours the two silences, not the threshold, and always formats;
# keyterms go to u3-rt-pro, english and multilingual, not whisper-rt; language_detection to
# multilingual, whisper-rt and the u3 family. ASSUMED for universal-3-5-pro, which no source
# describes on its own: it behaves as the u3 family (LiveKit's plugin treats it so, mirroring the
# server's ``is_u3_pro``), keyterms included. ``language_codes`` is u3-family only (LiveKit), and
# ``mode`` is offered for universal-3-5-pro only (§9.3). whisper-rt documents no turn-detection
# parameters, so it gets none.
SPEECH_MODELS: tuple[SpeechModel, ...] = (
    SpeechModel("universal-streaming-english", "English", "live words, fastest", ("en",),
                turn_threshold=True, turn_silences=True, keyterms=True, speaker_labels=True),
    SpeechModel("universal-streaming-multilingual", "Multilingual", "live words", SIX_LANGUAGES,
                turn_threshold=True, turn_silences=True, keyterms=True, language_detection=True, speaker_labels=True),
    SpeechModel("universal-3-5-pro", "Universal-3.5 Pro", "words in pauses, newest", U35_LANGUAGES,
                turn_silences=True, keyterms=True, language_detection=True, language_codes=True, modes=True,
                format_turns=False, live_words=False, speaker_labels=True),
    SpeechModel("u3-rt-pro", "Universal-3 Pro", "words in pauses", SIX_LANGUAGES,
                turn_silences=True, keyterms=True, language_detection=True, language_codes=True,
                format_turns=False, live_words=False, speaker_labels=True),
    SpeechModel("whisper-rt", "Whisper", "live words, detects the language", WHISPER_LANGUAGES,
                language_detection=True),
)
SPEECH_MODEL_IDS = tuple(m.id for m in SPEECH_MODELS)
# Live words are the app's headline: the default and the first choices are the models that send
# partial words while the speaker talks; universal-3-5-pro takes the languages only it hears among
# the accurate models, whisper-rt the rest. The README explains the choice.
DEFAULT_SPEECH_MODEL = "universal-streaming-english"
_PREFERENCE = ("universal-streaming-english", "universal-streaming-multilingual", "universal-3-5-pro", "whisper-rt")
_MODELS = {m.id: m for m in SPEECH_MODELS}

# mode for universal-3-5-pro [protocol §9.3]; None leaves it to the service (balanced).
MODES = ("min_latency", "balanced", "max_accuracy")
MODE_LABELS: dict[str | None, str] = {
    None: "Service default (balanced)",
    "min_latency": "Fastest text",
    "balanced": "Balanced",
    "max_accuracy": "Most accurate",
}


def heard_language(source: str | None, model_id: str | None) -> str | None:
    """The language a session was spoken in as far as its settings tell: the one chosen, else the
    only one its model hears (``en`` for universal-streaming-english); None when the model detected it."""
    if source:
        return source
    model = _MODELS.get(model_id or "")
    return model.languages[0] if model is not None and len(model.languages) == 1 else None


def speech_model(model_id: str) -> SpeechModel:
    try:
        return _MODELS[model_id]
    except KeyError:
        raise ConfigError(
            f"Unknown speech model {model_id!r}; use one of: {', '.join(SPEECH_MODEL_IDS)}."
        ) from None


def models_hearing(code: str) -> tuple[SpeechModel, ...]:
    return tuple(m for m in SPEECH_MODELS if m.hears(code))


def model_for_language(code: str | None) -> str:
    """The model that should hear ``code`` when the user did not choose one: the first of
    English, multilingual (live words), universal-3-5-pro, whisper-rt that hears it."""
    if code is None:
        return DEFAULT_SPEECH_MODEL
    for model_id in _PREFERENCE:
        if _MODELS[model_id].hears(code):
            return model_id
    return DEFAULT_SPEECH_MODEL  # nobody hears it: validate() says so, naming the language


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
MAX_SPEAKERS = 10  # max_speakers takes 1-10 [protocol §1.4]
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


# --- LLM models ---------------------------------------------------------------------------------

LLM_REGIONS = ("us", "eu")  # where an LLM Gateway runs; "default" and "us" both reach the US one
# The EU gateway serves only the Claude and Gemini models; OpenAI's, Qwen's and Kimi's are US-only
# [protocol §5.1, §9.10: SPEC llm-gateway/select-the-region.mdx].
_VENDOR_REGIONS: dict[str, tuple[str, ...]] = {
    "Anthropic": ("us", "eu"),
    "Google": ("us", "eu"),
    "OpenAI": ("us",),
    "Qwen": ("us",),
    "Kimi": ("us",),
}
_VENDOR_PREFIXES = (("claude-", "Anthropic"), ("gemini-", "Google"), ("gpt-", "OpenAI"), ("o1", "OpenAI"),
                    ("o3", "OpenAI"), ("o4", "OpenAI"), ("qwen", "Qwen"), ("kimi", "Kimi"))
# Reasoning models spend hidden tokens from the same max_tokens budget before they answer [§9.11];
# this is what a short translation needs on top of the answer at the default reasoning effort.
REASONING_ALLOWANCE = 4000
ANSWER_TOKENS = 1000  # the gateway's own default max_tokens [§5.2]: plenty for one translated turn
TOKENS_PER_EXTRA_LANGUAGE = 450  # a long turn (~300 tokens) in one more language, plus its JSON key
MAX_TOKENS_CAP = 16000  # the translator never asks for more, however often a reply ran out


@dataclass(frozen=True)
class LlmModel:
    """What the app must know about one LLM Gateway model id (ids it does not list get a record
    from their vendor prefix, so a model newer than this table still gets the right treatment)."""

    id: str
    vendor: str  # "Anthropic", "Google", "OpenAI", "Qwen", "Kimi"; "" when the prefix is unknown
    regions: tuple[str, ...]  # LLM regions that serve it; unknown vendors are assumed to be everywhere
    temperature: bool = True  # accepts a temperature; GPT-5 models reject any but the default [§9.11]
    reasoning: bool = False  # spends reasoning tokens from max_tokens before answering [§9.11]
    json_schema: bool = True  # honours response_format json_schema; the gpt-oss models do not [§5.2]

    def served_in(self, region_id: str) -> bool:
        return llm_region(region_id) in self.regions

    def max_tokens(self, languages: int = 1) -> int:
        """A ``max_tokens`` that fits one turn translated into ``languages`` languages (one
        structured reply), plus the reasoning allowance of a reasoning model."""
        return max_tokens_for(languages, base=ANSWER_TOKENS + (REASONING_ALLOWANCE if self.reasoning else 0))


def max_tokens_for(languages: int, *, base: int) -> int:
    """``base`` tokens for a reply in one language, and room for each further language."""
    return min(MAX_TOKENS_CAP, base + TOKENS_PER_EXTRA_LANGUAGE * max(0, languages - 1))


def llm_model(model_id: str) -> LlmModel:
    """The record for ``model_id``: its vendor (from the id's prefix), the regions that serve it
    and its quirks. Never raises: whether the gateway knows the id is the gateway's to say."""
    model_id = model_id.strip()
    lowered = model_id.lower()
    vendor = next((v for prefix, v in _VENDOR_PREFIXES if lowered.startswith(prefix)), "")
    gpt5 = lowered.startswith("gpt-5")
    return LlmModel(
        id=model_id,
        vendor=vendor,
        regions=_VENDOR_REGIONS.get(vendor, LLM_REGIONS),
        temperature=not gpt5,
        reasoning=gpt5 or lowered.startswith(("o1", "o3", "o4")),
        json_schema=not lowered.startswith("gpt-oss"),
    )


def llm_region(region_id: str) -> str:
    """The LLM Gateway region a ``Region`` id reaches ("default" is the US gateway)."""
    return "eu" if region_id.lower() == "eu" else "us"


def llm_region_of_url(url: str) -> str | None:
    """"eu" or "us" for AssemblyAI's own gateway hosts; None for any other server (a proxy, a
    local imitation), whose model list the app cannot know."""
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    for place in REGIONS:
        if host == place.llm_url.split("://", 1)[1].split("/", 1)[0]:
            return llm_region(place.id)
    return None


def models_served_in(region_id: str) -> tuple[str, ...]:
    """The picker's models that ``region_id`` serves, for a message that offers alternatives."""
    return tuple(m for m in LLM_MODELS if llm_model(m).served_in(region_id))
