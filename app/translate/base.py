"""The translation seam: what the translation queue needs from a translation backend.

A backend is a class with ``translate`` (and, optionally, ``translate_all`` for one request per
turn in every language) built by ``app.pipeline.factory.build_translator`` from the settings'
``translation_backend``; its descriptor (name, key, URLs, models) is in ``app.core.backends``.
AssemblyAI's LLM Gateway, and any OpenAI-compatible chat-completions endpoint, is
``app.translate.gateway.ChatTranslator``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from app.translate.prompt import BatchRequest, TranslationRequest

__all__ = ["BatchResult", "BatchTranslator", "TranslationResult", "Translator"]


@dataclass(frozen=True)
class TranslationResult:
    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class BatchResult:
    """What one several-language reply held: ``texts`` maps each language code found to its
    translation; a target missing from it (or every target, when the reply was not JSON) is for
    the caller to translate on its own."""

    texts: dict[str, str] = field(default_factory=dict)
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0


class Translator(Protocol):
    """Anything that turns one ``TranslationRequest`` into text (the queue needs nothing more).

    Implementations must be safe to call from several threads at once and must raise
    ``TranslationError`` (with ``retryable`` set honestly) for every failure."""

    def translate(self, request: TranslationRequest) -> TranslationResult: ...


@runtime_checkable
class BatchTranslator(Translator, Protocol):
    """A ``Translator`` that can also translate one turn into several languages in one request."""

    def translate_all(self, request: BatchRequest) -> BatchResult: ...
