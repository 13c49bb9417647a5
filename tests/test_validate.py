"""One place for each rule: what a combination of settings means, decided in app/core for both the
command line and the window, and the small shared rules (names, times, backoff, units)."""
from __future__ import annotations

import pytest

from app.core.backoff import RECONNECT_BACKOFF, TRANSLATION_BACKOFF, Backoff
from app.core.catalog import SPEECH_MODELS, model_for_language, model_for_source, speech_model
from app.core.errors import ConfigError
from app.core.languages import language_name
from app.core.settings import FONT_SIZE_MAX, FONT_SIZE_MIN, Settings, clamp_font_size
from app.core.timefmt import clock, span_label, time_label
from app.core.units import BYTES_PER_MS, bytes_to_ms, ms_to_bytes
from app.core.validate import validate

ENGLISH_ONLY = "universal-streaming-english"


def test_an_english_only_model_with_a_french_source_is_refused_with_the_models_that_would_hear_it() -> None:
    with pytest.raises(ConfigError) as info:
        validate(Settings(source="fr", speech_model=ENGLISH_ONLY))
    assert info.value.message == (
        "The speech model universal-streaming-english only hears English, but the spoken language is French. "
        "Choose a model that hears French: universal-streaming-multilingual, universal-3-5-pro, u3-rt-pro, whisper-rt.")


@pytest.mark.parametrize(("source", "model"), [("fr", "universal-streaming-multilingual"), ("ja", "universal-3-5-pro"),
                                               ("ko", "whisper-rt"), ("English", ENGLISH_ONLY), (None, ENGLISH_ONLY)])
def test_without_an_explicit_model_the_spoken_language_picks_one_that_hears_it(source: str | None, model: str) -> None:
    plan = validate(Settings(source=source), explicit_model=False)
    assert plan.model.id == model and plan.model.hears(plan.source.code if plan.source else "en")


def test_names_become_codes_and_a_target_given_twice_is_translated_once() -> None:
    plan = validate(Settings(targets=("es", "Spanish", "Deutsch", "ES"), source="français",
                             speech_model="universal-streaming-multilingual"))
    assert plan.settings.targets == ("es", "de") and plan.settings.source == "fr"
    assert [t.code for t in plan.targets] == ["es", "de"]


@pytest.mark.parametrize(("changes", "words"), [
    ({"targets": ()}, "at least one target language"),
    ({"targets": ("klingon",)}, "Unknown language 'klingon'"),
    ({"speech_model": "nova-9"}, "Unknown speech model 'nova-9'"),
    ({"turn_preset": "sleepy"}, "Unknown turn-detection preset 'sleepy'"),
    ({"mode": "fastest"}, "Unknown accuracy mode 'fastest'"),
    ({"source": "ga"}, "No speech model hears Irish"),
    ({"keyterms": tuple(f"t{i}" for i in range(101))}, "At most 100 key terms"),
    ({"keyterms": ("x" * 51,)}, "at most 50 characters"),
    ({"region": "mars"}, "Unknown region 'mars'"),
    ({"streaming_url": "https://example.com/v3/ws"}, "is not a websocket URL"),
    ({"streaming_url": "ws://127.0.0.1:99999/v3/ws"}, "invalid port number"),
    ({"llm_url": "ftp://example.com/v1"}, "is not a web address"),
    ({"llm_url": "https://user:pw@example.com/v1"}, "without a user name or password"),
    ({"llm_model": "  "}, "No LLM model given"),
])
def test_impossible_settings_are_refused_before_anything_starts(changes: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        validate(Settings().with_changes(**changes))


def test_the_plan_spells_out_urls_and_language_detection() -> None:
    plan = validate(Settings(region="eu", speech_model="whisper-rt"))
    assert plan.streaming_url == "wss://streaming.eu.assemblyai.com/v3/ws"
    assert plan.llm_url == "https://llm-gateway.eu.assemblyai.com/v1"
    assert plan.language_detection, "whisper-rt detects the language when none is given"
    assert not validate(Settings(source="fr", speech_model="whisper-rt")).language_detection
    assert not validate(Settings()).language_detection, "the English model has no language detection"


def test_every_model_lists_the_languages_it_hears_and_the_pickers_agree() -> None:
    assert all(m.label and (m.languages is None or m.languages) for m in SPEECH_MODELS)
    assert speech_model("whisper-rt").hears("ja") and not speech_model(ENGLISH_ONLY).hears("fr")
    assert model_for_language("de") == "universal-streaming-multilingual"
    assert model_for_source("fr", ENGLISH_ONLY) == "universal-streaming-multilingual"
    assert model_for_source("fr", "u3-rt-pro") == "u3-rt-pro", "a model that hears it is kept"
    assert model_for_source("ja", "universal-streaming-multilingual") == "universal-3-5-pro"
    assert model_for_source("ko", "universal-3-5-pro") == "whisper-rt"


def test_language_names_never_raise_for_a_code_the_table_does_not_know() -> None:
    assert language_name("de") == "German" and language_name("ES") == "Spanish"
    assert language_name("tlh") == "tlh"


def test_session_times_are_written_one_way_everywhere() -> None:
    assert clock(3_723_456) == "01:02:03.456" and clock(62_000, sep="") == "00:01:02"
    assert time_label(62_000) == "01:02" and time_label(3_723_000) == "01:02:03"
    assert span_label(0, 5000) == "00:00–00:05"


def test_backoff_doubles_caps_and_jitters_inside_its_range() -> None:
    b = Backoff(first_delay_s=1.0, factor=2.0, max_delay_s=5.0, jitter=(0.5, 1.0))
    assert [b.delay(n, 0.999999) for n in (1, 2, 3, 4)] == pytest.approx([1.0, 2.0, 4.0, 5.0], rel=1e-3)
    assert b.delay(1, 0.0) == pytest.approx(0.5)
    assert RECONNECT_BACKOFF.delay(1, 0.5) == pytest.approx(0.25) and TRANSLATION_BACKOFF.delay(1, 0.0) == 0.25
    with pytest.raises(ValueError, match="invalid backoff"):
        Backoff(jitter=(1.0, 0.5))


def test_font_sizes_and_audio_units_have_one_definition() -> None:
    assert clamp_font_size(200) == FONT_SIZE_MAX and clamp_font_size(1) == FONT_SIZE_MIN
    assert BYTES_PER_MS == 32 and bytes_to_ms(ms_to_bytes(1234)) == 1234
