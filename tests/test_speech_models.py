"""Today's speech models, each sent only what it honours [protocol §1.4, §1.5, §9.3, §9.4]: the
catalog says what each model hears and honours, ``validate`` decides what a combination means, and
the factory's query carries only the parameters the chosen model uses. Checked on the query the
fake service receives, not only on the app's own idea of it."""
from __future__ import annotations

import json

import pytest
from fakes.streaming_server import FakeStreamingServer

from app.core.catalog import SPEECH_MODELS, U35_LANGUAGES, model_for_language, speech_model
from app.core.settings import Settings
from app.core.validate import validate
from app.stt.assemblyai import streaming_params
from app.stt.client import StreamingClient
from app.stt.protocol import build_url

KEY = "sk-models-0123456789"
EVERYTHING = Settings(turn_preset="balanced", keyterms=("Acme",), mode="max_accuracy", format_turns=True)
ALWAYS = {"sample_rate", "encoding", "speech_model"}


@pytest.mark.parametrize(("model", "extra"), [
    ("universal-streaming-english",
     {"format_turns", "end_of_turn_confidence_threshold", "min_turn_silence", "max_turn_silence", "keyterms_prompt"}),
    ("universal-streaming-multilingual",
     {"format_turns", "end_of_turn_confidence_threshold", "min_turn_silence", "max_turn_silence", "keyterms_prompt",
      "language_detection"}),
    # The u3 family: the silences but not the threshold, always formatted, key terms, detection.
    ("universal-3-5-pro", {"min_turn_silence", "max_turn_silence", "keyterms_prompt", "language_detection", "mode"}),
    ("u3-rt-pro", {"min_turn_silence", "max_turn_silence", "keyterms_prompt", "language_detection"}),
    # No key terms, no turn-detection parameters.
    ("whisper-rt", {"format_turns", "language_detection"}),
])
def test_each_model_is_sent_only_the_parameters_it_honours(model: str, extra: set[str]) -> None:
    params = streaming_params(validate(EVERYTHING.with_changes(speech_model=model)))
    with FakeStreamingServer(KEY) as srv:
        client = StreamingClient(build_url(params, srv.url), KEY, on_message=lambda msg: None)
        try:
            client.connect()
        finally:
            client.abort()
        [received] = srv.connections
    assert set(received.query) == ALWAYS | extra
    assert received.params["speech_model"] == model
    if "mode" in extra:
        assert received.query["mode"] == "max_accuracy"


def test_the_spoken_language_is_sent_as_language_codes_to_the_u3_family_only() -> None:
    ja = streaming_params(validate(Settings(source="ja"), explicit_model=False)).query()
    assert ja["speech_model"] == "universal-3-5-pro" and json.loads(ja["language_codes"]) == ["ja"]
    assert "language_detection" not in ja, "the language is known: nothing to detect"
    pt_br = streaming_params(validate(Settings(source="pt-BR", speech_model="u3-rt-pro"))).query()
    assert json.loads(pt_br["language_codes"]) == ["pt"], "steering takes the bare ISO code"
    fr = streaming_params(validate(Settings(source="fr"), explicit_model=False)).query()
    assert fr["speech_model"] == "universal-streaming-multilingual" and "language_codes" not in fr


def test_the_spoken_language_picks_live_words_first_then_universal_3_5_pro_then_whisper() -> None:
    assert model_for_language("en") == "universal-streaming-english"
    assert {model_for_language(c) for c in ("es", "fr", "de", "it", "pt")} == {"universal-streaming-multilingual"}
    only_u35 = set(U35_LANGUAGES) - {"en", "es", "fr", "de", "it", "pt"}
    assert {model_for_language(c) for c in only_u35} == {"universal-3-5-pro"}
    assert model_for_language("ko") == "whisper-rt" and model_for_language("uk") == "whisper-rt"


def test_universal_3_5_pro_hears_its_18_languages_and_the_model_list_says_which() -> None:
    u35 = speech_model("universal-3-5-pro")
    assert len(u35.languages) == 18 and u35.hears("he") and u35.hears("zh-TW") and not u35.hears("ko")
    assert "18 languages" in u35.label and "Japanese" in u35.heard_names()
    for model in SPEECH_MODELS:
        assert model.id and model.languages and model.label.startswith(model.title)
    assert "en es fr de it pt" in speech_model("u3-rt-pro").label


def test_settings_a_model_does_not_use_are_said_not_refused() -> None:
    plan = validate(EVERYTHING.with_changes(speech_model="whisper-rt"))
    assert plan.mode is None and plan.unused == (
        "Key terms are not used: whisper-rt does not support them.",
        "The turn-detection preset is not used: whisper-rt decides turns itself.",
        "The accuracy mode applies to universal-3-5-pro only; whisper-rt does not use it.",
    )
    assert validate(EVERYTHING.with_changes(speech_model="universal-3-5-pro")).unused == (
        "universal-3-5-pro takes only the preset's pause lengths, not its confidence threshold.",)


def test_a_model_the_service_did_not_apply_is_noticed_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    # Misspelt or unsupported parameters are ignored, not refused: Begin.configuration is the only
    # place that says so [protocol §1.4, §9.7].
    with FakeStreamingServer(KEY, applied_model="u3-rt-pro") as srv:
        url = build_url(streaming_params(validate(Settings(speech_model="universal-3-5-pro"))), srv.url)
        client = StreamingClient(url, KEY, on_message=lambda msg: None)
        try:
            begin = client.connect()
        finally:
            client.abort()
    assert (begin.model, begin.mode, begin.api_version) == ("u3-rt-pro", "balanced", "2025-05-12")
    assert "asked for speech model universal-3-5-pro, the service applied u3-rt-pro" in caplog.text


def test_the_spoken_language_is_the_chosen_one_else_the_only_one_the_model_hears() -> None:
    from app.core.catalog import heard_language

    assert heard_language("fr", "universal-streaming-multilingual") == "fr"
    assert heard_language(None, "universal-streaming-english") == "en"
    assert heard_language(None, "universal-streaming-multilingual") is None
    assert heard_language(None, "a-model-from-a-later-version") is None and heard_language(None, None) is None
