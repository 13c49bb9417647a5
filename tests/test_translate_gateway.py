"""ChatTranslator against the local fake LLM Gateway (a real HTTP server on 127.0.0.1)."""
from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fakes.llm_server import FakeLlmGateway, Reply

from app.core.catalog import DEFAULT_LLM_URL
from app.core.errors import ConfigError, TranslationError
from app.core.languages import resolve_language
from app.translate.gateway import DEFAULT_MODEL, ChatTranslator, _retry_after
from app.translate.prompt import BatchRequest, TranslationRequest

pytestmark = pytest.mark.timeout(20)

KEY = "test-key-0123456789abcdef"
GERMAN = resolve_language("de")
HELLO = TranslationRequest("Hi, my name is Sonny.", GERMAN)


@pytest.fixture
def llm() -> Iterator[FakeLlmGateway]:
    with FakeLlmGateway(api_key=KEY) as server:
        yield server


def translator_for(server: FakeLlmGateway, **kwargs: Any) -> ChatTranslator:
    kwargs.setdefault("timeout", (2.0, 5.0))
    return ChatTranslator(kwargs.pop("api_key", KEY), base_url=server.base_url, **kwargs)


def failure(server: FakeLlmGateway, request: TranslationRequest = HELLO, **kwargs: Any) -> TranslationError:
    with translator_for(server, **kwargs) as translator, pytest.raises(TranslationError) as info:
        translator.translate(request)
    assert KEY not in info.value.message and KEY not in info.value.detail
    return info.value


# --- success ----------------------------------------------------------------------------------


def test_translate_returns_the_text_model_and_token_counts(llm: FakeLlmGateway) -> None:
    with translator_for(llm) as translator:
        result = translator.translate(HELLO)

    assert result.text == "[German] Hi, my name is Sonny."
    assert result.model == DEFAULT_MODEL
    assert result.input_tokens > 0 and result.output_tokens == 8  # ceil(30 characters / 4)


def test_request_is_a_chat_completion_with_the_raw_key_in_authorization(llm: FakeLlmGateway) -> None:
    with translator_for(llm, max_tokens=321, temperature=0.2) as translator:
        translator.translate(HELLO)

    (request,) = llm.chat_requests
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == KEY
    assert request.headers["Content-Type"] == "application/json"
    assert request.json["model"] == DEFAULT_MODEL
    assert request.json["max_tokens"] == 321 and request.json["temperature"] == 0.2
    assert [m["role"] for m in request.json["messages"]] == ["system", "user"]


def test_the_key_never_appears_in_the_url_or_the_body(llm: FakeLlmGateway) -> None:
    with translator_for(llm) as translator:
        translator.translate(HELLO)
        assert KEY not in repr(translator)

    (request,) = llm.chat_requests
    assert KEY not in request.path
    assert KEY.encode() not in request.body


def test_bearer_scheme_sends_bearer_and_the_fake_accepts_it_only_when_told_to() -> None:
    with FakeLlmGateway(api_key=KEY, accept_bearer=True) as llm, translator_for(llm, auth_scheme="bearer") as t:
        assert t.translate(HELLO).text.startswith("[German]")
        assert llm.chat_requests[0].headers["Authorization"] == f"Bearer {KEY}"

    with FakeLlmGateway(api_key=KEY) as strict:
        assert failure(strict, auth_scheme="bearer").status == 401


def test_content_given_as_a_list_of_text_parts_is_joined_and_stripped() -> None:
    def parts(payload: Any, n: int) -> Reply:
        content = [{"type": "text", "text": "  Hallo, "}, {"type": "text", "text": "ich heiße Sonny.\n"}]
        return 200, {}, {"choices": [{"message": {"role": "assistant", "content": content}}]}

    with FakeLlmGateway(api_key=KEY, responder=parts) as llm, translator_for(llm) as translator:
        result = translator.translate(HELLO)

    assert result.text == "Hallo, ich heiße Sonny."
    assert (result.input_tokens, result.output_tokens) == (0, 0)


# --- errors -----------------------------------------------------------------------------------


def test_a_wrong_key_is_a_401_that_is_not_retried(llm: FakeLlmGateway) -> None:
    error = failure(llm, api_key="wrong-key")

    assert error.status == 401 and not error.retryable
    assert error.message.startswith("The LLM Gateway rejected the API key (401)")
    assert "Settings" in error.message


def test_403_is_an_account_without_llm_gateway_access_not_a_wrong_key() -> None:
    def forbidden(payload: Any, n: int) -> Reply:
        return 403, {}, {"error": {"code": 403, "message": "Insufficient permissions"}}

    with FakeLlmGateway(api_key=KEY, responder=forbidden) as llm:
        error = failure(llm)

    assert error.status == 403 and not error.retryable
    assert error.message == ("The LLM Gateway refused this account (403): Insufficient permissions. The LLM Gateway is "
                             "not open to free-tier accounts: upgrade the AssemblyAI account to translate (transcription "
                             "works without it).")


def test_400_quotes_the_servers_reason_and_is_not_retried() -> None:
    def bad(payload: Any, n: int) -> Reply:
        return 400, {}, {"error": {"code": 400, "message": "Unknown parameter 'foo'", "metadata": {}}}

    with FakeLlmGateway(api_key=KEY, responder=bad) as llm:
        error = failure(llm)

    assert error.status == 400 and not error.retryable
    assert "(400): Unknown parameter 'foo'" in error.message


def test_an_unknown_model_is_a_404_naming_the_model_and_where_to_change_it(llm: FakeLlmGateway) -> None:
    error = failure(llm, model="gpt-9000")

    assert error.status == 404 and not error.retryable
    assert error.message == (
        "The LLM Gateway does not know the model 'gpt-9000' (404). Choose another model in Settings or with --llm-model."
    )


def test_a_wrong_url_path_is_reported_as_a_missing_endpoint_not_a_missing_model(llm: FakeLlmGateway) -> None:
    with ChatTranslator(KEY, base_url=llm.base_url.replace("/v1", "/v2")) as translator:
        with pytest.raises(TranslationError) as info:
            translator.translate(HELLO)

    assert info.value.status == 404
    assert "no chat-completions endpoint" in info.value.message and "/v2/chat/completions" in info.value.message


def test_429_with_retry_after_seconds_is_retryable_with_that_delay() -> None:
    with FakeLlmGateway(api_key=KEY, fail_first=1, fail_status=429, fail_headers={"Retry-After": "7"}) as llm:
        error = failure(llm)

    assert error.status == 429 and error.retryable
    assert error.retry_after == 7.0
    assert error.message == f"The LLM Gateway is rate limiting requests for '{DEFAULT_MODEL}' (429); it asks to wait 7 s."


def test_429_with_an_http_date_retry_after() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    with FakeLlmGateway(api_key=KEY, fail_first=1, fail_status=429, fail_headers={"Retry-After": when}) as llm:
        error = failure(llm)

    assert error.retry_after is not None and 25 <= error.retry_after <= 31


def test_429_without_retry_after_falls_back_to_x_ratelimit_reset() -> None:
    with FakeLlmGateway(api_key=KEY, fail_first=1, fail_status=429, fail_headers={"X-RateLimit-Reset": "12"}) as llm:
        error = failure(llm)

    assert error.retry_after == 12.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(status: int) -> None:
    with FakeLlmGateway(api_key=KEY, fail_first=1, fail_status=status) as llm:
        error = failure(llm)
        # The fault was only for the first request: the next one goes through.
        with translator_for(llm) as translator:
            assert translator.translate(HELLO).text.startswith("[German]")

    assert error.status == status and error.retryable
    assert f"server problem ({status}): Injected failure" in error.message


@pytest.mark.parametrize(
    ("body", "content_type", "shown"),
    [
        ({"error": "model overloaded"}, "application/json", "model overloaded"),
        ("upstream connect error", "text/plain", "upstream connect error"),
        ("<html><body>Bad gateway</body></html>", "text/html", ""),
    ],
)
def test_error_bodies_other_than_the_gateways_shape_are_tolerated(body: Any, content_type: str, shown: str) -> None:
    reply = lambda payload, n: (502, {"Content-Type": content_type}, body)  # noqa: E731
    with FakeLlmGateway(api_key=KEY, responder=reply) as llm:
        error = failure(llm)

    assert error.retryable
    assert error.message == f"The LLM Gateway had a server problem (502){': ' + shown if shown else ''}."


def test_a_reply_slower_than_the_read_timeout_is_a_retryable_timeout() -> None:
    with FakeLlmGateway(api_key=KEY, delay_s=10.0) as llm:
        started = time.monotonic()
        error = failure(llm, timeout=(2.0, 0.2))

    assert time.monotonic() - started < 5
    assert error.retryable and error.status is None
    assert error.message == f"The LLM Gateway at 127.0.0.1:{llm.port} did not answer within 0.2 s (timeout)."


def test_a_malformed_200_body_is_a_retryable_malformed_reply() -> None:
    with FakeLlmGateway(api_key=KEY, malformed=True) as llm:
        error = failure(llm)

    assert error.retryable
    assert error.message == "The LLM Gateway sent a malformed reply (the body is not JSON)."


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"request_id": "x"}, "it has no choices"),
        ({"choices": []}, "it has no choices"),
        ({"choices": [{"message": {"role": "assistant", "content": "   "}}]}, "it has no translation text"),
        ({"choices": [{"message": {"role": "assistant", "content": None}}]}, "it has no translation text"),
        (["not", "an", "object"], "the body is not a JSON object"),
    ],
)
def test_a_200_without_a_usable_translation_is_a_malformed_reply(body: Any, why: str) -> None:
    with FakeLlmGateway(api_key=KEY, responder=lambda payload, n: (200, {}, body)) as llm:
        error = failure(llm)

    assert error.retryable and error.message == f"The LLM Gateway sent a malformed reply ({why})."


def test_connection_refused_says_the_gateway_could_not_be_reached() -> None:
    with FakeLlmGateway(api_key=KEY) as llm:
        base_url, port = llm.base_url, llm.port
    # The server is gone, so nothing listens on that port any more.
    with ChatTranslator(KEY, base_url=base_url, timeout=(2.0, 2.0)) as translator, pytest.raises(TranslationError) as info:
        translator.translate(HELLO)

    assert info.value.retryable and info.value.status is None
    assert info.value.message.startswith(f"Could not reach the LLM Gateway at 127.0.0.1:{port}")


def test_no_log_line_contains_the_key(llm: FakeLlmGateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with translator_for(llm) as translator:
        translator.translate(HELLO)
    failure(llm, api_key=KEY + "x")

    assert caplog.records
    assert all(KEY not in record.getMessage() for record in caplog.records)


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["llm-gateway.assemblyai.com/v1", "ftp://example.com/v1", "https://", "https://host/v1?x=1", "https://u:p@host/v1"],
)
def test_base_url_must_be_plain_http_or_https_with_a_host(url: str) -> None:
    with pytest.raises(ConfigError):
        ChatTranslator(KEY, base_url=url)


def test_base_url_trailing_slash_is_ignored() -> None:
    with ChatTranslator(KEY, base_url=DEFAULT_LLM_URL + "/") as translator:
        assert translator.url == "https://llm-gateway.assemblyai.com/v1/chat/completions"


@pytest.mark.parametrize("key", ["", "   ", "abc def", "abc\ndef", "schlüssel"])
def test_a_missing_or_garbled_key_is_a_config_error_that_does_not_echo_it(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        ChatTranslator(key)

    if key.strip():
        assert key not in info.value.message


def test_unknown_auth_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        ChatTranslator(KEY, auth_scheme="basic")  # type: ignore[arg-type]


def test_retry_after_parsing() -> None:
    now = 1_700_000_000.0
    assert _retry_after({"Retry-After": "3.5"}, now) == 3.5
    assert _retry_after({"Retry-After": "-4"}, now) == 0.0
    assert _retry_after({"Retry-After": email.utils.formatdate(now + 20, usegmt=True)}, now) == pytest.approx(20, abs=1)
    assert _retry_after({"Retry-After": "soon", "X-RateLimit-Reset": "9"}, now) == 9.0
    assert _retry_after({"X-RateLimit-Reset": str(int(now) + 15)}, now) == pytest.approx(15)
    assert _retry_after({"X-RateLimit-Reset": "nan"}, now) is None
    assert _retry_after({}, now) is None


# --- the fake itself follows protocol §5 --------------------------------------------------------


def test_fake_success_body_and_headers_have_the_gateway_shape(llm: FakeLlmGateway) -> None:
    body = {"model": DEFAULT_MODEL, "max_tokens": 50, "prompt": "hello"}
    response = requests.post(llm.base_url + "/chat/completions", json=body, headers={"Authorization": KEY}, timeout=5)

    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"request_id", "choices", "request", "usage", "http_status_code", "response_time", "llm_status_code"}
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "[?] hello"}
    assert data["request"] == {"model": DEFAULT_MODEL, "max_tokens": 50}
    assert set(data["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}
    assert response.headers["X-RateLimit-Model"] == DEFAULT_MODEL
    assert int(response.headers["X-RateLimit-Remaining"]) == 29


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"model": DEFAULT_MODEL, "prompt": "x"}, {}, 401),
        ({"prompt": "x"}, {"Authorization": KEY}, 400),
        ({"model": DEFAULT_MODEL}, {"Authorization": KEY}, 400),
        ({"model": "nope", "prompt": "x"}, {"Authorization": KEY}, 404),
    ],
)
def test_fake_rejects_like_the_gateway(llm: FakeLlmGateway, body: Any, headers: dict[str, str], status: int) -> None:
    response = requests.post(llm.base_url + "/chat/completions", json=body, headers=headers, timeout=5)

    assert response.status_code == status
    assert response.json()["error"]["code"] == status


def test_fake_fail_text_fails_only_the_matching_turn() -> None:
    with FakeLlmGateway(api_key=KEY, fail_text="boom", fail_status=503) as llm, translator_for(llm) as translator:
        assert translator.translate(TranslationRequest("fine", GERMAN)).text == "[German] fine"
        with pytest.raises(TranslationError):
            translator.translate(TranslationRequest("it went boom", GERMAN))
        with pytest.raises(TranslationError):
            translator.translate(TranslationRequest("boom again", GERMAN))
        assert [r.user_text for r in llm.wait_for_requests(3)] == ["fine", "it went boom", "boom again"]


def test_fake_reraises_a_crash_in_its_handler_on_exit() -> None:
    def crash(payload: Any, n: int) -> None:
        raise ValueError("script bug")

    with pytest.raises(ValueError, match="script bug"):
        with FakeLlmGateway(api_key=KEY, responder=crash) as llm, translator_for(llm) as translator:
            with pytest.raises(TranslationError):
                translator.translate(HELLO)


def test_a_server_error_ignores_the_rate_limit_window_headers_that_ride_on_every_reply() -> None:
    from app.translate.gateway import _retry_after

    headers = {"X-RateLimit-Reset": "60", "X-RateLimit-Remaining": "29"}
    assert _retry_after(headers, rate_limited=False) is None
    assert _retry_after(headers) == 60.0
    assert _retry_after({"Retry-After": "3", **headers}, rate_limited=False) == 3.0


# --- the URL people copy, and failures named for what they are (protocol §9.10-14) --------------

SPANISH, FRENCH = resolve_language("es"), resolve_language("fr")


def test_the_full_endpoint_url_from_the_docs_works_like_the_base_url(llm: FakeLlmGateway) -> None:
    with ChatTranslator(KEY, base_url=llm.endpoint) as translator:  # …/v1/chat/completions
        assert translator.url == llm.endpoint
        assert translator.translate(HELLO).text == "[German] Hi, my name is Sonny."

    (request,) = llm.chat_requests
    assert request.path == "/v1/chat/completions"


def test_a_404_from_a_json_api_at_a_wrong_path_blames_the_url_not_the_model(llm: FakeLlmGateway) -> None:
    with ChatTranslator(KEY, base_url=llm.base_url + "/chat/completions/v1") as translator:
        with pytest.raises(TranslationError) as info:
            translator.translate(HELLO)

    assert info.value.status == 404 and not info.value.retryable
    assert "model" not in info.value.message.split("(404)")[0]
    assert info.value.message.startswith(f"There is no chat-completions endpoint at {llm.base_url}/chat/completions/v1/")
    assert "Check the LLM URL" in info.value.message


def test_a_model_the_region_does_not_serve_is_a_400_unsupported_model_not_a_bad_request() -> None:
    with FakeLlmGateway(api_key=KEY, region="eu") as llm:
        error = failure(llm, model="gpt-5-mini")
        body = requests.post(llm.endpoint, json={"model": "gpt-5-mini", "prompt": "x"},
                             headers={"Authorization": KEY}, timeout=5).json()

    assert body["error"]["metadata"]["errors"] == ["model 'gpt-5-mini' is not supported"]
    assert error.status == 400 and not error.retryable
    assert error.message == ("The LLM Gateway does not support the model 'gpt-5-mini' (400): model 'gpt-5-mini' is not "
                             "supported. Choose another model in Settings or with --llm-model.")


def test_a_retired_model_is_a_404_that_names_the_model() -> None:
    with FakeLlmGateway(api_key=KEY) as llm:
        error = failure(llm, model="claude-3-haiku-20240307")

    assert error.status == 404
    assert error.message.startswith("The LLM Gateway does not know the model 'claude-3-haiku-20240307' (404)")


def test_a_free_tier_account_is_told_why_translation_fails_and_that_transcription_still_works() -> None:
    with FakeLlmGateway(api_key=KEY, free_tier=True) as llm:
        error = failure(llm)

    assert error.status == 403 and not error.retryable
    assert error.message == ("The LLM Gateway refused this account (403): LLM Gateway is not available to accounts on "
                             "the free tier. Upgrade your account to use it. Transcription still works; upgrade the "
                             "account to translate.")


def test_gpt5_models_get_no_temperature_and_a_budget_for_their_reasoning() -> None:
    with FakeLlmGateway(api_key=KEY) as llm, translator_for(llm, model="gpt-5-mini") as translator:
        result = translator.translate(HELLO)
        (request,) = llm.chat_requests

    assert result.text == "[German] Hi, my name is Sonny."
    assert "temperature" not in request.json
    assert request.json["max_tokens"] >= 1000 + llm.reasoning_tokens
    assert llm.answers[0].finish_reason == "stop"


def test_a_reply_that_runs_out_of_tokens_is_retried_with_a_larger_budget_never_shown_cut_short() -> None:
    with FakeLlmGateway(api_key=KEY, reasoning_tokens=1200) as llm, \
            translator_for(llm, model="gpt-5-nano", max_tokens=600) as translator:
        first = failure_of(translator)
        second = failure_of(translator)
        result = translator.translate(HELLO)

    assert [a.finish_reason for a in llm.answers] == ["length", "length", "stop"]
    assert [r.json["max_tokens"] for r in llm.chat_requests] == [600, 1200, 2400]
    assert first.retryable and second.retryable
    assert first.message == ("The model 'gpt-5-nano' used its whole token budget (max_tokens 600) and it sent no "
                             "translation (its reasoning counts against that budget); trying again with a larger budget.")
    assert result.text == "[German] Hi, my name is Sonny."


def test_a_translation_cut_at_max_tokens_is_not_taken_for_a_whole_one(llm: FakeLlmGateway) -> None:
    with translator_for(llm, max_tokens=3) as translator:
        error = failure_of(translator)

    assert llm.answers[0].finish_reason == "length"
    assert error.retryable and "the translation was cut short" in error.message


def test_an_empty_reply_is_a_retryable_malformed_reply() -> None:
    with FakeLlmGateway(api_key=KEY, empty_first=1) as llm, translator_for(llm) as translator:
        error = failure_of(translator)
        assert translator.translate(HELLO).text.startswith("[German]")

    assert error.retryable and error.message == "The LLM Gateway sent a malformed reply (it has no translation text)."


def failure_of(translator: ChatTranslator, request: TranslationRequest = HELLO) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        translator.translate(request)
    return info.value


# --- one request for every language -------------------------------------------------------------


THREE = BatchRequest("Hi, my name is Sonny.", (GERMAN, SPANISH, FRENCH))


def test_several_languages_come_back_from_one_request_with_a_json_schema(llm: FakeLlmGateway) -> None:
    with translator_for(llm) as translator:
        result = translator.translate_all(THREE)

    (request,) = llm.chat_requests
    schema = request.json["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["de", "es", "fr"] and schema["additionalProperties"] is False
    assert request.targets == {"de": "German", "es": "Spanish", "fr": "French"}
    assert result.texts == {"de": "[German] Hi, my name is Sonny.", "es": "[Spanish] Hi, my name is Sonny.",
                            "fr": "[French] Hi, my name is Sonny."}
    assert result.input_tokens > 0 and result.output_tokens > 0


def test_gpt_oss_gets_no_json_schema_and_its_fenced_json_reply_is_read() -> None:
    with FakeLlmGateway(api_key=KEY) as llm, translator_for(llm, model="gpt-oss-120b") as translator:
        result = translator.translate_all(THREE)
        (request,) = llm.chat_requests

    assert "response_format" not in request.json
    assert set(result.texts) == {"de", "es", "fr"}


def test_a_reply_that_is_not_json_or_lacks_a_language_returns_only_what_it_holds() -> None:
    with FakeLlmGateway(api_key=KEY, omit_languages={"es"}) as llm, translator_for(llm) as translator:
        assert set(translator.translate_all(THREE).texts) == {"de", "fr"}
    with FakeLlmGateway(api_key=KEY, unstructured=True) as llm, translator_for(llm, model="gpt-oss-20b") as t:
        assert t.translate_all(THREE).texts == {}


def test_a_server_that_refuses_response_format_is_asked_again_without_it() -> None:
    def no_schemas(payload: Any, n: int) -> Reply | None:
        if "response_format" in payload:
            return 400, {}, {"error": {"code": 400, "message": "Unknown parameter: response_format", "metadata": {}}}
        return None

    with FakeLlmGateway(api_key=KEY, responder=no_schemas) as llm, translator_for(llm) as translator:
        with pytest.raises(TranslationError) as refused:
            translator.translate_all(THREE)
        result = translator.translate_all(THREE)

    assert refused.value.retryable
    assert set(result.texts) == {"de", "es", "fr"}


# --- the fake behaves like the gateway (protocol §5.4, §9.9-13) ----------------------------------


def test_fake_keeps_connections_alive_so_one_client_connection_carries_every_request(llm: FakeLlmGateway) -> None:
    with translator_for(llm) as translator:
        for _ in range(3):
            translator.translate(HELLO)

    assert [r.connection for r in llm.chat_requests] == [1, 1, 1]


def test_fake_serves_each_region_its_own_models() -> None:
    with FakeLlmGateway(api_key=KEY, region="eu") as eu, FakeLlmGateway(api_key=KEY) as us:
        def status(server: FakeLlmGateway, model: str) -> int:
            return requests.post(server.endpoint, json={"model": model, "prompt": "x"}, headers={"Authorization": KEY},
                                 timeout=5).status_code

        assert [status(eu, m) for m in ("claude-haiku-4-5-20251001", "gemini-2.5-flash", "gpt-4.1", "kimi-k2.5",
                                        "qwen3-next-80b-a3b", "gemini-9")] == [200, 200, 400, 400, 400, 404]
        assert [status(us, m) for m in ("gpt-4.1", "kimi-k2.5", "claude-3-haiku-20240307")] == [200, 200, 404]


def test_fake_enforces_its_request_window_with_the_real_headers() -> None:
    with FakeLlmGateway(api_key=KEY, rate_limit=2, rate_window_s=1.0) as llm, requests.Session() as http:
        def post() -> requests.Response:
            return http.post(llm.endpoint, json={"model": DEFAULT_MODEL, "prompt": "x"}, headers={"Authorization": KEY},
                             timeout=5)

        first, second, third = post(), post(), post()
        llm_window_reset = float(third.headers["X-RateLimit-Reset"])
        threading.Event().wait(llm_window_reset + 0.05)  # the window's own length, not a guess
        after = post()

    assert [r.status_code for r in (first, second, third, after)] == [200, 200, 429, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in (first, second, third, after)] == ["1", "0", "0", "1"]
    assert third.json()["error"]["code"] == 429 and "Retry-After" not in third.headers
    assert 0 < llm_window_reset <= 1.0 and third.headers["X-RateLimit-Limit"] == "2"
