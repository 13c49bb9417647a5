"""The window's pickers, filled from the speech backend's descriptor (``app.core.backends``:
speech models, regions, accuracy modes) and the language table.

GUI thread. The choices and their labels are the backend's; only the combo-box plumbing lives here.
"""
from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from app.core.backends import SpeechBackend, speech_backend
from app.core.catalog import SpeechModel
from app.core.languages import LANGUAGES

# "Automatic" is honest for every model: the English model hears English, the others detect.
AUTO_SOURCE = "Automatic (by model)"


DEFAULT_BACKEND = speech_backend("assemblyai")


def speech_model_choices(backend: SpeechBackend = DEFAULT_BACKEND) -> list[tuple[str, str]]:
    """(label, id): each label names the languages the model hears and whether words come live."""
    return [(m.label, m.id) for m in backend.models]


def mode_choices(backend: SpeechBackend = DEFAULT_BACKEND) -> list[tuple[str, str | None]]:
    return [(label, mode) for mode, label in backend.modes.items()]


def preset_choices(backend: SpeechBackend = DEFAULT_BACKEND) -> list[tuple[str, str | None]]:
    return [(label, preset) for preset, label in backend.preset_labels.items()]


def backend_model(model_id: str, backend: SpeechBackend = DEFAULT_BACKEND) -> SpeechModel:
    return next((m for m in backend.models if m.id == model_id), backend.models[0])


def add_model_tooltips(combo: QComboBox, backend: SpeechBackend = DEFAULT_BACKEND) -> None:
    """Every language a model hears, on its item: the label has room for a count only."""
    for i in range(combo.count()):
        model = backend_model(str(combo.itemData(i)), backend)
        combo.setItemData(i, f"{model.id}: {model.note}. Hears {model.heard_names()}.", Qt.ItemDataRole.ToolTipRole)


def region_choices(backend: SpeechBackend = DEFAULT_BACKEND) -> list[tuple[str, str]]:
    return [(r.label, r.id) for r in backend.regions]


def source_choices(backend: SpeechBackend = DEFAULT_BACKEND) -> list[tuple[str, str | None]]:
    """(label, code) for the spoken-language picker: auto, then every language some model hears,
    by name (choosing one picks a model that hears it)."""
    named = sorted((lang for lang in LANGUAGES
                    if "-" not in lang.code and any(m.hears(lang.code) for m in backend.models)),
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
