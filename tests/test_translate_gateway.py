"""ChatTranslator against the local fake LLM Gateway (a real HTTP server on 127.0.0.1)."""
from __future__ import annotations

import email.utils
import logging
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
from app.translate.prompt import TranslationRequest

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
    assert result.input_tokens > 0 and result.output_tokens == 6


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


def test_403_is_reported_as_a_rejected_key() -> None:
    def forbidden(payload: Any, n: int) -> Reply:
        return 403, {}, {"error": {"code": 403, "message": "Insufficient permissions"}}

    with FakeLlmGateway(api_key=KEY, responder=forbidden) as llm:
        error = failure(llm)

    assert error.status == 403 and not error.retryable
    assert "rejected the API key (403): Insufficient permissions" in error.message


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
