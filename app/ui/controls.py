"""SessionControls: the strip above the transcript (Record + level, microphone, languages, model).

GUI thread; widgets only. The microphone is chosen and remembered by NAME (indices shift when
devices are plugged in); a remembered device that is not connected stays in the list, marked, so
the choice is not silently lost. Choosing a spoken language the model does not hear moves to a model
that hears it (``app.core.catalog.model_for_source``: live words first). The strip emits what
changed; the window decides what it means.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import DEFAULT_SPEECH_MODEL, model_for_source
from app.core.devices import InputDevice
from app.ui.choices import add_model_tooltips, fill_combo, source_choices, speech_model_choices
from app.ui.language_picker import TargetLanguageButton
from app.ui.level_meter import LevelMeter
from app.ui.look import Tone, button_fill, scaled

SYSTEM_DEFAULT = "System default"
RECORD_TEXT, STOP_TEXT, FINISHING_TEXT = "●  Record", "■  Stop", "Finishing…"


def _captioned(caption: str, widget: QWidget) -> QVBoxLayout:
    label = QLabel(caption)
    label.setFont(scaled(label.font(), 0.9))
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted, and follows theme changes
    label.setBuddy(widget)
    box = QVBoxLayout()
    box.setSpacing(3)
    box.addWidget(label)
    box.addWidget(widget)
    return box


class SessionControls(QWidget):
    record_clicked = Signal()
    device_changed = Signal(object)  # str | None: device name, None = system default
    source_changed = Signal(object)  # str | None: spoken language code, None = detect
    speech_model_changed = Signal(str)
    targets_changed = Signal(tuple)  # tuple[str, ...]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record_button = QPushButton(RECORD_TEXT)
        self.record_button.setFont(scaled(self.record_button.font(), 1.1, bold=True))
        self.record_button.setMinimumSize(120, 38)
        self.record_button.setDefault(True)
        self.record_button.clicked.connect(self.record_clicked)
        self.meter = LevelMeter()
        self.meter.setFixedSize(120, 8)
        self.device = QComboBox()
        self.device.addItem(SYSTEM_DEFAULT, None)
        self.device.setToolTip("The microphone to record from (remembered by name)")
        self.source = QComboBox()
        fill_combo(self.source, source_choices(), None)
        self.source.setToolTip("The language being spoken")
        self.model = QComboBox()
        fill_combo(self.model, speech_model_choices(), DEFAULT_SPEECH_MODEL)
        add_model_tooltips(self.model)
        self.model.setToolTip("AssemblyAI streaming speech model, with the languages it hears")
        self.targets = TargetLanguageButton()
        self.targets.setMinimumHeight(self.device.sizeHint().height())
        # Narrow windows shrink the pickers (long names elide); wide ones give them room.
        for combo, chars in ((self.device, 9), (self.source, 6), (self.model, 6)):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(chars)
        for widget in (self.device, self.source, self.model, self.targets):
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            widget.setMaximumWidth(260)
        self.targets.setMinimumWidth(90)
        self.export_button = QToolButton()
        self.export_button.setText("Export…")
        self.settings_button = QToolButton()
        self.settings_button.setText("Settings")
        for button in (self.export_button, self.settings_button):
            button.setMinimumHeight(self.device.sizeHint().height())

        record_box = QVBoxLayout()
        record_box.setSpacing(5)
        record_box.addWidget(self.record_button)
        record_box.addWidget(self.meter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(12)
        layout.addLayout(record_box)
        layout.addSpacing(6)
        layout.addLayout(_captioned("Microphone", self.device), 3)
        layout.addLayout(_captioned("Spoken language", self.source), 2)
        layout.addLayout(_captioned("Speech model", self.model), 2)
        layout.addLayout(_captioned("Translate to", self.targets), 2)
        layout.addStretch(1)
        actions = QVBoxLayout()
        actions.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.export_button)
        row.addWidget(self.settings_button)
        actions.addLayout(row)
        layout.addLayout(actions)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        self.device.currentIndexChanged.connect(self._on_device)
        self.source.currentIndexChanged.connect(self._on_source)
        self.model.currentIndexChanged.connect(self._on_model)
        self.targets.picker.selection_changed.connect(self.targets_changed)

    # --- state from the window ----------------------------------------------------------------

    def set_choices(self, *, device: str | None, source: str | None, speech_model: str,
                    targets: tuple[str, ...]) -> None:
        self._select_device(device)
        fill_combo(self.source, source_choices(), source)
        fill_combo(self.model, speech_model_choices(), speech_model)
        add_model_tooltips(self.model)
        self.targets.set_selected(targets)
        self.targets.set_spoken(self.source.currentData())

    def set_recording(self, running: bool, *, stopping: bool = False, can_record: bool = True,
                      why_not: str = "") -> None:
        self.record_button.setText(FINISHING_TEXT if stopping else STOP_TEXT if running else RECORD_TEXT)
        self.record_button.setEnabled((running and not stopping) or (not running and can_record))
        tip = ("Stop: the last turn is still transcribed and translated, then everything is saved (Ctrl+R)"
               if running else "Start recording (Ctrl+R)" if can_record else why_not)
        self.record_button.setToolTip(tip)
        for widget in (self.device, self.source, self.model):
            widget.setEnabled(not running)
        self.meter.setEnabled(running)
        self._paint_record_button(running)
        if not running:
            self.meter.reset()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the system switched light/dark
            self._paint_record_button(self.record_button.text() != RECORD_TEXT)

    def _paint_record_button(self, running: bool) -> None:
        # The one primary action: the highlight colour to start, the "bad" tone to stop. Both come
        # from the palette, so a dark theme gets matching colours.
        palette = QPalette(self.palette())
        fill = button_fill(palette, Tone.BAD) if running else palette.color(QPalette.ColorRole.Highlight)
        text = palette.color(QPalette.ColorRole.HighlightedText)
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):  # disabled keeps the greys
            palette.setColor(group, QPalette.ColorRole.Button, fill)
            palette.setColor(group, QPalette.ColorRole.ButtonText, text)
        self.record_button.setPalette(palette)

    @Slot(list)
    def set_devices(self, devices: Sequence[InputDevice]) -> None:
        """Refill the microphone list, keeping the chosen name."""
        chosen = self.device.currentData()
        self.device.blockSignals(True)
        self.device.clear()
        self.device.addItem(SYSTEM_DEFAULT, None)
        for device in devices:
            name = device.name
            label = f"{name} (default)" if device.is_default else name
            if self.device.findData(name) < 0:
                self.device.addItem(label, name)
        self.device.blockSignals(False)
        self._select_device(chosen)

    def device_names(self) -> list[str]:
        return [str(self.device.itemData(i)) for i in range(1, self.device.count())]

    def _select_device(self, name: str | None) -> None:
        self.device.blockSignals(True)
        index = self.device.findData(name)
        if index < 0 and name:
            self.device.addItem(f"{name} (not connected)", name)
            index = self.device.count() - 1
        self.device.setCurrentIndex(max(0, index))
        self.device.blockSignals(False)

    # --- user changes -------------------------------------------------------------------------

    @Slot(int)
    def _on_device(self, _index: int) -> None:
        self.device_changed.emit(self.device.currentData())

    @Slot(int)
    def _on_source(self, _index: int) -> None:
        code = self.source.currentData()
        model = model_for_source(code, str(self.model.currentData()))
        if model != self.model.currentData():
            self.model.setCurrentIndex(self.model.findData(model))  # emits speech_model_changed
        self.targets.set_spoken(code)
        self.source_changed.emit(code)

    @Slot(int)
    def _on_model(self, _index: int) -> None:
        self.speech_model_changed.emit(str(self.model.currentData()))

    def focus_record(self) -> None:
        self.record_button.setFocus(Qt.FocusReason.OtherFocusReason)
