"""The seams of "The house, part 2", used the way a next backend would use them: a second service's
key in the key store and the log redactor, a translation backend registered in the factory and
picked by the settings, and messages naming the service in use."""
from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest
from fakes.llm_server import FakeLlmGateway
from keyring.backend import KeyringBackend

from app.core import backends
from app.core.backends import Secret, TranslationBackend
from app.core.errors import ConfigError, TranslationError
from app.core.languages import resolve_language
from app.core.settings import Settings
from app.core.validate import validate
from app.logsetup import REDACTED, redactor
from app.pipeline import factory
from app.pipeline.factory import SessionRequest, build_session
from app.settings.keystore import KeyStore
from app.translate.gateway import ChatTranslator
from app.translate.prompt import TranslationRequest

EXAMPLE = Secret("example", "Example AI API key", "EXAMPLE_AI_API_KEY", "in the Example AI console")
EXAMPLE_LLM = TranslationBackend(id="example", name="the Example AI endpoint", secret="example",
                                 default_url="https://api.example.ai/v1", auth_scheme="bearer",
                                 models=("example-small",), default_model="example-small", regional_urls=False)


@pytest.fixture
def example_backend(monkeypatch: pytest.MonkeyPatch) -> TranslationBackend:
    monkeypatch.setitem(backends.SECRETS, EXAMPLE.service, EXAMPLE)
    monkeypatch.setitem(backends.TRANSLATION_BACKENDS, EXAMPLE_LLM.id, EXAMPLE_LLM)
    return EXAMPLE_LLM


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.saved: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.saved.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.saved[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.saved.pop((service, username), None)


def test_the_key_store_keeps_one_key_per_service_and_redacts_each(example_backend: TranslationBackend,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    ring = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: ring)
    monkeypatch.setattr(keyring, "get_password", ring.get_password)
    monkeypatch.setattr(keyring, "set_password", ring.set_password)
    monkeypatch.setattr(keyring, "delete_password", ring.delete_password)
    store = KeyStore(environ={"EXAMPLE_AI_API_KEY": "ex-env-key-123456"})
    assert store.save("aai-saved-key-987654").source == "keyring"
    assert store.load().key == "aai-saved-key-987654"
    example = store.load("example")
    assert (example.key, example.source, example.env_var) == ("ex-env-key-123456", "environment", "EXAMPLE_AI_API_KEY")
    assert store.keys(("assemblyai", "example")) == {"assemblyai": "aai-saved-key-987654",
                                                     "example": "ex-env-key-123456"}
    assert ("live-translate", "assemblyai-api-key") in ring.saved  # keys saved by earlier versions still load
    store.clear()
    assert store.load().key is None and store.load("example").key == "ex-env-key-123456"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "keys %s and %s",
                               ("aai-saved-key-987654", "ex-env-key-123456"), None)
    redactor.filter(record)
    assert record.getMessage() == f"keys {REDACTED} and {REDACTED}"


def test_the_settings_pick_the_translation_backend_and_its_own_key(example_backend: TranslationBackend,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    built: list[tuple[str, str, str]] = []

    def build_example(plan, key, pacer):  # type: ignore[no-untyped-def]
        built.append((plan.translation.id, key, plan.llm_url))
        return ChatTranslator(key, base_url=plan.llm_url, model=plan.settings.llm_model, backend=plan.translation)

    monkeypatch.setitem(factory.TRANSLATION_BUILDERS, "example", build_example)
    settings = Settings(targets=("es",), translation_backend="example", llm_model="example-small")
    secrets = {"assemblyai": "aai-key-0000000000", "example": "ex-key-1111111111"}

    class Quiet:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return lambda *args: None

    session = build_session(SessionRequest(settings=settings, secrets=secrets, sessions_dir=tmp_path),
                            Quiet(), store=None, source=object())  # type: ignore[arg-type]
    assert built == [("example", "ex-key-1111111111", "https://api.example.ai/v1")]
    assert session.speech.config.api_key == "aai-key-0000000000"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"No Example AI API key\. Set EXAMPLE_AI_API_KEY"):
        build_session(SessionRequest(settings=settings, secrets={"assemblyai": "aai-key-0000000000"},
                                     sessions_dir=tmp_path), Quiet(), store=None, source=object())  # type: ignore[arg-type]


def test_unknown_backends_in_the_settings_are_refused_in_words() -> None:
    with pytest.raises(ConfigError, match="Unknown translation service 'nope'; use one of: assemblyai"):
        validate(Settings(translation_backend="nope"))
    with pytest.raises(ConfigError, match="Unknown speech service 'nope'; use one of: assemblyai"):
        validate(Settings(speech_backend="nope"))


def test_the_translator_names_the_service_and_key_in_use(example_backend: TranslationBackend) -> None:
    with FakeLlmGateway(api_key="right-key-123456", accept_bearer=True) as llm:
        translator = ChatTranslator("wrong-key-654321", base_url=llm.base_url, model="example-small",
                                    backend=example_backend)
        assert translator.auth_scheme == "bearer"  # the descriptor's way of sending the key
        with pytest.raises(TranslationError) as caught:
            translator.translate(TranslationRequest("Hello.", resolve_language("es")))
        translator.close()
    assert caught.value.message.startswith("The Example AI endpoint rejected the API key (401)")
    assert caught.value.message.endswith("Check the Example AI API key in Settings.")
    with pytest.raises(ConfigError, match=r"No Example AI API key for the Example AI endpoint\. Set EXAMPLE_AI_API_KEY"):
        ChatTranslator("", backend=example_backend)
