"""``validate(settings)``: what a combination of settings means, and which ones cannot work.

Pure; any thread. The command line and the window both call it (the window through the session
factory), so a combination refused in one is refused in the other, in the same words. It resolves
language names to codes, drops repeated targets, checks that the speech model hears the spoken
language, checks every URL, preset and key-term limit, and checks that the LLM Gateway the URL
reaches serves the chosen LLM model (the EU gateway has no OpenAI, Qwen or Kimi models), before
anything is recorded.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from app.core.backends import SpeechBackend, TranslationBackend, speech_backend, translation_backend
from app.core.catalog import (
    MAX_KEYTERM_CHARS,
    MAX_KEYTERMS,
    MAX_SPEAKERS,
    MODES,
    TURN_PRESETS,
    LlmModel,
    Region,
    SpeechModel,
    llm_model,
    llm_region_of_url,
    model_for_language,
    models_hearing,
    models_served_in,
    region,
    speech_model,
)
from app.core.errors import ConfigError
from app.core.languages import Language, language_name, resolve_language
from app.core.settings import Settings


@dataclass(frozen=True)
class SessionPlan:
    """Settings that passed ``validate``, with everything they imply spelled out."""

    settings: Settings  # normalised: target and source codes resolved, the speech model decided
    targets: tuple[Language, ...]
    source: Language | None
    model: SpeechModel
    region: Region
    streaming_url: str  # websocket base URL, no query
    llm_url: str  # LLM Gateway base URL, up to /v1, no trailing slash
    language_detection: bool  # ask the service for each turn's language
    llm: LlmModel  # the LLM model's vendor, regions and quirks
    language_codes: tuple[str, ...] = ()  # steer the model towards the spoken language (u3 family)
    mode: str | None = None  # the accuracy mode, when the model honours one
    speech: SpeechBackend = field(default_factory=lambda: speech_backend("assemblyai"))
    translation: TranslationBackend = field(default_factory=lambda: translation_backend("assemblyai"))
    unused: tuple[str, ...] = ()  # settings this model ignores, one sentence each (said, never refused)


def validate(settings: Settings, *, explicit_model: bool = True) -> SessionPlan:
    """Raise ``ConfigError`` for a combination that cannot work; otherwise return its plan.

    ``explicit_model=False`` means the user named no speech model: the one that hears the spoken
    language is chosen instead of refusing the combination."""
    speech = speech_backend(settings.speech_backend)
    translation = translation_backend(settings.translation_backend)
    targets = resolve_targets(settings.targets)
    if not targets:
        raise ConfigError("Choose at least one target language (for example --to es).")
    source = resolve_language(settings.source) if settings.source else None
    spoken_target = source is not None and any(t.code == source.code for t in targets)
    targets = tuple(t for t in targets if source is None or t.code != source.code)
    if not targets:
        assert source is not None
        raise ConfigError(f"{source.name} is the spoken language, so there is nothing to translate it into. "
                          "Choose another target language (under Translate to, or with --to).")
    model_id = settings.speech_model
    if not explicit_model and source is not None and not speech_model(model_id).hears(source.code):
        model_id = model_for_language(source.code)
    model = speech_model(model_id)
    if source is not None and not model.hears(source.code):
        raise ConfigError(_model_cannot_hear(model, source))
    check_turn_preset(settings.turn_preset)
    check_mode(settings.mode)
    check_max_speakers(settings.max_speakers)
    keyterms = check_keyterms(settings.keyterms)
    place = region(settings.region)
    streaming = streaming_base_url(settings.streaming_url, place.id)
    llm = llm_base_url(settings.llm_url or (place.llm_url if translation.regional_urls else translation.default_url))
    model_info = check_llm_model(settings.llm_model, llm)
    normalised = settings.with_changes(
        targets=tuple(t.code for t in targets), source=source.code if source else None, speech_model=model.id,
        region=place.id, keyterms=keyterms, llm_model=settings.llm_model.strip())
    return SessionPlan(normalised, targets, source, model, place, streaming, llm,
                       language_detection=model.language_detection and source is None,
                       language_codes=(source.code.split("-")[0],) if source and model.language_codes else (),
                       mode=settings.mode if model.modes else None,
                       unused=_unused(normalised, model, source if spoken_target else None), llm=model_info,
                       speech=speech, translation=translation)


def effective_targets(targets: Sequence[str], source: str | None) -> tuple[str, ...]:
    """The targets actually translated into: the spoken language is not one of them (the window's
    picker keeps it ticked but disabled, so the saved choice survives a change of spoken language)."""
    return tuple(code for code in dict.fromkeys(targets) if code != source)


def _unused(settings: Settings, model: SpeechModel, spoken_target: Language | None = None) -> tuple[str, ...]:
    """What the chosen model will not be sent, so the user is told instead of left guessing. Not
    refused: a model picked for the spoken language must not block a saved preference."""
    notes = []
    if spoken_target is not None:
        notes.append(f"{spoken_target.name} is the spoken language, so it is not translated into.")
    if settings.keyterms and not model.keyterms:
        notes.append(f"Key terms are not used: {model.id} does not support them.")
    if settings.turn_preset and not (model.turn_threshold or model.turn_silences):
        notes.append(f"The turn-detection preset is not used: {model.id} decides turns itself.")
    elif settings.turn_preset and not model.turn_threshold:
        notes.append(f"{model.id} takes only the preset's pause lengths, not its confidence threshold.")
    if settings.speakers and not model.speaker_labels:
        notes.append(f"Speakers are not labelled: {model.id} does not tell speakers apart.")
    if settings.mode and not model.modes:
        notes.append(f"The accuracy mode applies to universal-3-5-pro only; {model.id} does not use it.")
    return tuple(notes)


def resolve_targets(codes: Sequence[str]) -> tuple[Language, ...]:
    """Each target once, in the order given (``es`` and ``Spanish`` are the same target)."""
    targets: list[Language] = []
    for code in codes:
        lang = resolve_language(code)
        if lang not in targets:
            targets.append(lang)
    return tuple(targets)


def _model_cannot_hear(model: SpeechModel, source: Language) -> str:
    hearing = [m.id for m in models_hearing(source.code)]
    if not hearing:
        return (f"No speech model hears {source.name}. Choose another spoken language, or Automatic "
                "(run with --list-models to see which languages each model hears).")
    heard = ", ".join(language_name(code) for code in model.languages)
    if len(model.languages) > 6:
        heard = f"{len(model.languages)} languages, not including {source.name}"
    return (f"The speech model {model.id} only hears {heard}, but the spoken language is {source.name}. "
            f"Choose a model that hears {source.name}: {', '.join(hearing)}.")


def check_turn_preset(preset: str | None) -> None:
    if preset is not None and preset not in TURN_PRESETS:
        raise ConfigError(f"Unknown turn-detection preset {preset!r}; use one of {', '.join(TURN_PRESETS)}.")


def check_max_speakers(count: int | None) -> None:
    if count is not None and not 1 <= count <= MAX_SPEAKERS:
        raise ConfigError(f"The number of speakers must be between 1 and {MAX_SPEAKERS}, not {count}.")


def check_mode(mode: str | None) -> None:
    if mode is not None and mode not in MODES:
        raise ConfigError(f"Unknown accuracy mode {mode!r}; use one of {', '.join(MODES)}.")


def check_keyterms(keyterms: Sequence[str]) -> tuple[str, ...]:
    """The key terms, stripped and without empty ones; refused past the service's limits [protocol §1.4]."""
    terms = tuple(t.strip() for t in keyterms if t.strip())
    if len(terms) > MAX_KEYTERMS:
        raise ConfigError(f"At most {MAX_KEYTERMS} key terms are allowed; {len(terms)} were given.")
    too_long = [t for t in terms if len(t) > MAX_KEYTERM_CHARS]
    if too_long:
        raise ConfigError(f"Key terms may have at most {MAX_KEYTERM_CHARS} characters; shorten {too_long[0]!r}.")
    return terms


def streaming_base_url(url: str | None, region_id: str = "default") -> str:
    """The websocket URL without a query: an explicit ``url`` wins over the region's."""
    if not url:
        return region(region_id).streaming_url
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError:
        raise ConfigError(f"The streaming URL {url!r} has an invalid port number.") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(
            f"The streaming URL {url!r} is not a websocket URL; it must start with wss:// or ws:// "
            "and name a host, e.g. wss://streaming.eu.assemblyai.com/v3/ws."
        )
    if parts.query:
        raise ConfigError("Give the streaming URL without a query string; settings are added by the app.")
    if parts.username or parts.password:
        raise ConfigError("Give the streaming URL without a user name or password; the API key is sent separately.")
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/v3/ws", "", ""))


CHAT_COMPLETIONS = "/chat/completions"


def llm_base_url(url: str) -> str:
    """The LLM Gateway base URL (up to ``/v1``, no trailing slash) for what a person typed.

    Both forms people copy work: the base (``https://llm-gateway.assemblyai.com/v1``) and the full
    endpoint from the tutorial and the docs (``…/v1/chat/completions``) [protocol §9.14]; a bare
    host gets ``/v1``. Refused unless http(s) with a host, without a query or credentials."""
    example = region("default").llm_url
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigError(f"The LLM URL {url!r} has an invalid port number.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"The LLM URL {url!r} is not a web address; it must start with https:// (or http://) "
            f"and name a host, e.g. {example}."
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"Give the LLM URL without a query string, e.g. {example}.")
    if parts.username or parts.password:
        # Credentials in the URL would end up in logs and error messages; the key goes in a header.
        raise ConfigError("Give the LLM URL without a user name or password; the API key is sent separately.")
    path = parts.path.rstrip("/")
    if path.lower().endswith(CHAT_COMPLETIONS):
        path = path[: -len(CHAT_COMPLETIONS)].rstrip("/")  # the endpoint itself: the client adds it back
    return urlunsplit((parts.scheme, parts.netloc, path or "/v1", "", ""))


def check_llm_model(model_id: str, llm_url: str) -> LlmModel:
    """The LLM model's record; ``ConfigError`` when there is no model, or when the gateway at
    ``llm_url`` is AssemblyAI's EU one and the model is US-only [protocol §9.10]. The window's
    Settings dialog asks this too, so it refuses what the session would refuse."""
    if not model_id.strip():
        raise ConfigError("No LLM model given. Choose one in Settings or with --llm-model, "
                          "for example gemini-2.5-flash-lite.")
    model = llm_model(model_id)
    place = llm_region_of_url(llm_url)
    if place is not None and place not in model.regions:
        served = ", ".join(models_served_in(place))
        raise ConfigError(
            f"The EU region's LLM Gateway does not serve {model.vendor} models such as {model.id}: it offers "
            f"Claude and Gemini models only. Choose one of them ({served}) or the US region."
        )
    return model
