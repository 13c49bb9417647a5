"""The window's pickers, filled from ``app.core.catalog`` (speech models, regions, spoken languages,
accuracy modes).

GUI thread. The choices and their labels are the catalog's; only the combo-box plumbing lives here.
"""
from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from app.core.catalog import MODE_LABELS, REGIONS, SPEECH_MODELS, models_hearing, speech_model
from app.core.languages import LANGUAGES

# "Automatic" is honest for every model: the English model hears English, the others detect.
AUTO_SOURCE = "Automatic (by model)"


def speech_model_choices() -> list[tuple[str, str]]:
    """(label, id): each label names the languages the model hears and whether words come live."""
    return [(m.label, m.id) for m in SPEECH_MODELS]


def mode_choices() -> list[tuple[str, str | None]]:
    return [(label, mode) for mode, label in MODE_LABELS.items()]


def add_model_tooltips(combo: QComboBox) -> None:
    """Every language a model hears, on its item: the label has room for a count only."""
    for i in range(combo.count()):
        model = speech_model(str(combo.itemData(i)))
        combo.setItemData(i, f"{model.id}: {model.note}. Hears {model.heard_names()}.", Qt.ItemDataRole.ToolTipRole)


def region_choices() -> list[tuple[str, str]]:
    return [(r.label, r.id) for r in REGIONS]


def source_choices() -> list[tuple[str, str | None]]:
    """(label, code) for the spoken-language picker: auto, then every language some model hears,
    by name (choosing one picks a model that hears it)."""
    named = sorted((lang for lang in LANGUAGES if "-" not in lang.code and models_hearing(lang.code)),
                   key=lambda lang: lang.name)
    return [(AUTO_SOURCE, None), *[(lang.name, lang.code) for lang in named]]


def fill_combo(combo: QComboBox, items: Iterable[tuple[str, object]], current: object) -> None:
    combo.blockSignals(True)
    combo.clear()
    for label, value in items:
        combo.addItem(label, value)
    index = combo.findData(current)
    combo.setCurrentIndex(max(0, index))
    combo.blockSignals(False)
