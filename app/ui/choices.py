"""The window's pickers, filled from ``app.core.catalog`` (speech models, regions, spoken languages).

GUI thread. The choices and their labels are the catalog's; only the combo-box plumbing lives here.
"""
from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QComboBox

from app.core.catalog import REGIONS, SIX_LANGUAGES, SPEECH_MODELS
from app.core.languages import language_name

# "Automatic" is honest for every model: the English model hears English, the others detect.
AUTO_SOURCE = "Automatic (by model)"


def speech_model_choices() -> list[tuple[str, str]]:
    return [(m.label, m.id) for m in SPEECH_MODELS]


def region_choices() -> list[tuple[str, str]]:
    return [(r.label, r.id) for r in REGIONS]


def source_choices() -> list[tuple[str, str | None]]:
    """(label, code) for the spoken-language picker: auto, then the languages a model hears."""
    return [(AUTO_SOURCE, None), *[(language_name(c), c) for c in SIX_LANGUAGES]]


def fill_combo(combo: QComboBox, items: Iterable[tuple[str, object]], current: object) -> None:
    combo.blockSignals(True)
    combo.clear()
    for label, value in items:
        combo.addItem(label, value)
    index = combo.findData(current)
    combo.setCurrentIndex(max(0, index))
    combo.blockSignals(False)
