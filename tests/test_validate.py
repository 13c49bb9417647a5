"""One place for each rule: what a combination of settings means, decided in app/core for both the
command line and the window, and the small shared rules (names, times, backoff, units)."""
from __future__ import annotations

import pytest

from app.core.backoff import RECONNECT_BACKOFF, TRANSLATION_BACKOFF, Backoff
from app.core.catalog import SPEECH_MODELS, llm_model, model_for_language, model_for_source, speech_model
from app.core.errors import ConfigError
from app.core.languages import language_name
from app.core.settings import FONT_SIZE_MAX, FONT_SIZE_MIN, Settings, clamp_font_size
from app.core.timefmt import clock, span_label, time_label
from app.core.units import BYTES_PER_MS, bytes_to_ms, ms_to_bytes
from app.core.validate import llm_base_url, validate

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


@pytest.mark.parametrize("url", [
    "https://llm-gateway.assemblyai.com/v1/chat/completions",  # the tutorial's and the docs' form
    "https://llm-gateway.assemblyai.com/v1/chat/completions/",
    "https://llm-gateway.assemblyai.com/v1",
    "https://llm-gateway.assemblyai.com/v1/",
    "https://llm-gateway.assemblyai.com",
])
def test_the_llm_url_may_be_the_base_or_the_full_endpoint_people_copy(url: str) -> None:
    assert validate(Settings(llm_url=url)).llm_url == "https://llm-gateway.assemblyai.com/v1"
    assert llm_base_url(url) == "https://llm-gateway.assemblyai.com/v1"


@pytest.mark.parametrize("model", ["gpt-5-mini", "gpt-4.1", "gpt-oss-120b", "qwen3-next-80b-a3b", "kimi-k2.5"])
def test_the_eu_region_refuses_us_only_models_before_anything_starts(model: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate(Settings(region="eu", llm_model=model))
    assert f"does not serve {llm_model(model).vendor} models such as {model}" in info.value.message
    assert "gemini-2.5-flash-lite" in info.value.message and "or the US region" in info.value.message
    with pytest.raises(ConfigError):  # the EU gateway's own URL, whatever the region says
        validate(Settings(llm_url="https://llm-gateway.eu.assemblyai.com/v1/chat/completions", llm_model=model))


def test_claude_and_gemini_work_in_the_eu_and_any_model_on_another_server() -> None:
    assert validate(Settings(region="eu", llm_model="claude-haiku-4-5-20251001")).llm.vendor == "Anthropic"
    assert validate(Settings(region="eu", llm_model="gemini-2.5-flash")).llm.served_in("eu")
    assert validate(Settings(region="us", llm_model="gpt-5-mini")).llm.vendor == "OpenAI"
    # A proxy or a local server: its model list is its own business.
    assert validate(Settings(region="eu", llm_url="http://127.0.0.1:9/v1", llm_model="gpt-5-mini")).llm.id == "gpt-5-mini"


def test_the_llm_catalog_knows_the_gpt5_quirks_and_the_json_schema_exception() -> None:
    gpt5 = llm_model("gpt-5-mini")
    assert not gpt5.temperature and gpt5.reasoning and gpt5.max_tokens(1) > llm_model("gpt-4.1").max_tokens(1)
    assert llm_model("gpt-4.1").temperature and not llm_model("gpt-4.1").reasoning
    assert not llm_model("gpt-oss-120b").json_schema and llm_model("gemini-2.5-flash-lite").json_schema
    assert llm_model("gemini-2.5-flash-lite").max_tokens(10) > llm_model("gemini-2.5-flash-lite").max_tokens(1)
    assert llm_model("some-new-model").regions == ("us", "eu")


def test_the_terminal_refuses_a_us_only_model_in_the_eu_region_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    assert main(["--headless", "--region", "eu", "--llm-model", "gpt-5-mini"]) == 2
    assert "The EU region's LLM Gateway does not serve OpenAI models such as gpt-5-mini" in capsys.readouterr().err
