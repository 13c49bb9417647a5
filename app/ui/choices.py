"""Human labels for the choices the window offers (speech models, presets, regions, LLM models).

Pure data plus a helper to fill a combo box; GUI thread. The values are the protocol's and the
settings' own; only the words shown to people live here.
"""
from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QComboBox

from app.core.languages import MULTILINGUAL_SOURCES, SOURCE_MODELS, resolve_language
from app.core.settings import DEFAULT_LLM_MODEL
from app.stt.protocol import SPEECH_MODELS

SPEECH_MODEL_LABELS = {
    "universal-streaming-english": "English · fastest",
    "universal-streaming-multilingual": "Multilingual · en es fr de it pt",
    "whisper-rt": "Whisper · 99 languages",
    "u3-rt-pro": "Universal-3 Pro",
}
assert set(SPEECH_MODEL_LABELS) == set(SPEECH_MODELS)

TURN_PRESET_LABELS = {
    None: "Service default",
    "aggressive": "Quick: short pauses end a turn",
    "balanced": "Balanced",
    "conservative": "Patient: waits for longer pauses",
}

REGION_LABELS = {"default": "Nearest (default)", "us": "United States", "eu": "European Union"}

LLM_MODELS = (DEFAULT_LLM_MODEL, "gemini-2.5-flash", "claude-haiku-4-5-20251001", "gpt-5-mini", "gpt-4.1")

# "Automatic" is honest for every model: the English model hears English, the others detect.
AUTO_SOURCE = "Automatic (by model)"


def source_choices() -> list[tuple[str, str | None]]:
    """(label, code) for the spoken-language picker: auto, then the languages a model hears."""
    codes = ["en", *[c for c in MULTILINGUAL_SOURCES if c != "en"]]
    return [(AUTO_SOURCE, None), *[(resolve_language(c).name, c) for c in codes]]


def model_for_source(code: str | None, current: str) -> str:
    """The speech model to use when a spoken language is chosen: every model hears English, so
    only a non-English choice moves the English-only model to the one that hears it."""
    if code is None or current != "universal-streaming-english":
        return current
    return SOURCE_MODELS.get(code, current)


def fill_combo(combo: QComboBox, items: Iterable[tuple[str, object]], current: object) -> None:
    combo.blockSignals(True)
    combo.clear()
    for label, value in items:
        combo.addItem(label, value)
    index = combo.findData(current)
    combo.setCurrentIndex(max(0, index))
    combo.blockSignals(False)
