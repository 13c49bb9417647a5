"""SessionControls: the strip above the transcript (Record + level, audio source, languages, model).

GUI thread; widgets only. The audio source is a microphone or, under the System audio heading,
what the computer plays (an output's monitor: "Built-in speakers — what you hear"; "System audio"
follows the default output). It is chosen and remembered by NAME (indices shift when
devices are plugged in), the sound server's name for it ("Built-in Audio Analog Stereo"); a name
an earlier version saved (PortAudio's) is found again through the device's aliases and replaced; a
remembered device that is not connected stays in the list, marked, so the choice is not silently
lost. Choosing a spoken language the model does not hear moves to a model
that hears it (``app.core.catalog.model_for_source``: live words first). The strip emits what
changed; the window decides what it means.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QSize, Qt, Signal, Slot
from PySide6.QtGui import QPaintEvent, QPalette, QResizeEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import DEFAULT_SPEECH_MODEL, model_for_source
from app.core.devices import SYSTEM_AUDIO, SYSTEM_DEFAULT, DeviceKind, InputDevice, means_system_default
from app.ui.choices import add_model_tooltips, fill_combo, source_choices, speech_model_choices
from app.ui.language_picker import TargetLanguageButton
from app.ui.level_meter import LevelMeter
from app.ui.look import Tone, button_fill, scaled

RECORD_TEXT, STOP_TEXT, FINISHING_TEXT = "●  Record", "■  Stop", "Finishing…"


class ElidingComboBox(QComboBox):
    """A combo box whose current text ends in "…" when it is narrower than the text (Qt only clips
    it, mid-letter); the whole text is in the tooltip of its item."""

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        option.currentText = self.fontMetrics().elidedText(option.currentText, Qt.TextElideMode.ElideRight,
                                                           max(0, field.width() - 4))
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


class Field(QWidget):
    """A picker with its caption above it (the caption is the picker's buddy, for Alt+letter)."""

    def __init__(self, caption: str, widget: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel(caption, self)
        self.caption.setFont(scaled(self.caption.font(), 0.9))
        self.caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted, and follows theme changes
        self.caption.setBuddy(widget)
        self.widget = widget
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(3)
        box.addWidget(self.caption)
        box.addWidget(widget)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


MARGIN_X, SPACING = 12, 12
SYSTEM_AUDIO_HEADING = "System audio — what the computer plays"
HEADING = "\x00heading"  # the data of a heading item: never a device name
TWO_WAY_COST = ("Two-way streams two sessions at once (your microphone and the system audio), so the streaming "
                "time costs twice as much.")
PICKER_MIN_W = 130  # in one row, each picker gets at least this much; below it the strip takes two rows


class SessionControls(QWidget):
    """One row when there is room for every picker at ``PICKER_MIN_W``, else two: Record (with its
    level meter) on the left, the four pickers two by two, Export and Settings on the right. The
    strip's minimum width is the two-row one, so the window can always be made that narrow."""

    record_clicked = Signal()
    device_changed = Signal(object)  # str | None: device name, None = system default
    source_changed = Signal(object)  # str | None: spoken language code, None = detect
    speech_model_changed = Signal(str)
    targets_changed = Signal(tuple)  # tuple[str, ...]
    devices_listed = Signal()  # the device list was filled again (a device came or went)
    two_way_changed = Signal(bool)  # a conversation: the microphone and the system audio at once
    other_language_changed = Signal(object)  # str | None: what the other side speaks

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._devices: list[InputDevice] = []
        self.record_button = QPushButton(RECORD_TEXT)
        self.record_button.setFont(scaled(self.record_button.font(), 1.1, bold=True))
        self.record_button.setMinimumSize(120, 38)
        self.record_button.setDefault(True)
        self.record_button.clicked.connect(self.record_clicked)
        self.meter = LevelMeter()
        self.meter.setFixedSize(120, 8)
        self.device = ElidingComboBox()
        self.device.addItem(SYSTEM_DEFAULT, None)
        self.device.setToolTip("What to record: a microphone, or what the computer plays (system audio); "
                               "remembered by name")
        self.source = ElidingComboBox()
        fill_combo(self.source, source_choices(), None)
        self.source.setToolTip("The language being spoken")
        self.model = ElidingComboBox()
        fill_combo(self.model, speech_model_choices(), DEFAULT_SPEECH_MODEL)
        add_model_tooltips(self.model)
        self.model.setToolTip("AssemblyAI streaming speech model, with the languages it hears")
        self.targets = TargetLanguageButton()
        self.targets.setMinimumHeight(self.device.sizeHint().height())
        # The pickers share what room there is (long names end in "…"); wide windows give them more.
        for combo in (self.device, self.source, self.model):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(4)
        for widget in (self.device, self.source, self.model, self.targets):
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            widget.setMinimumWidth(90)
            widget.setMaximumWidth(320)
        # Two-way: a switch, the other side's language, and what it costs (shown where it is switched on).
        self.two_way = QCheckBox("Two-way")
        self.two_way.setToolTip("A conversation: your microphone and the system audio (the other side of a call) "
                                "at once, each translated into the other's language. " + TWO_WAY_COST)
        self.other_language = ElidingComboBox()
        fill_combo(self.other_language, [c for c in source_choices() if c[1] is not None], None)
        self.other_language.insertItem(0, "They speak…", None)
        self.other_language.setCurrentIndex(0)
        self.other_language.setToolTip("The language the other side speaks")
        self.two_way_cost = QLabel("Costs twice")
        self.two_way_cost.setToolTip(TWO_WAY_COST)
        self.two_way_cost.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.other_language.setFixedWidth(120)
        self.other_language.setVisible(False)
        self.two_way_cost.setVisible(False)
        self.export_button = QToolButton()
        self.export_button.setText("Export…")
        self.settings_button = QToolButton()
        self.settings_button.setText("Settings")
        for button in (self.export_button, self.settings_button):
            button.setMinimumHeight(self.device.sizeHint().height())
            button.setMinimumWidth(button.sizeHint().width())  # never "E…"

        self.record_box = QWidget()
        record_layout = QVBoxLayout(self.record_box)
        record_layout.setContentsMargins(0, 0, 0, 0)
        record_layout.setSpacing(5)
        record_layout.addWidget(self.record_button)
        record_layout.addWidget(self.meter)
        # Under Record: the two-way switch, and when it is on, the other side's language and the cost.
        record_layout.addWidget(self.two_way)
        record_layout.addWidget(self.other_language)
        record_layout.addWidget(self.two_way_cost)
        self.record_box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.fields = [Field("Audio from", self.device), Field("Spoken language", self.source),
                       Field("Speech model", self.model), Field("Translate to", self.targets)]
        self.actions_box = QWidget()
        actions = QHBoxLayout(self.actions_box)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.export_button)
        actions.addWidget(self.settings_button)
        self.actions_box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(MARGIN_X, 10, MARGIN_X, 8)
        self.grid.setHorizontalSpacing(SPACING)
        self.grid.setVerticalSpacing(8)
        self.rows = 0
        self._arrange(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        self.device.currentIndexChanged.connect(self._on_device)
        self.source.currentIndexChanged.connect(self._on_source)
        self.model.currentIndexChanged.connect(self._on_model)
        self.targets.picker.selection_changed.connect(self.targets_changed)
        self.two_way.toggled.connect(self._on_two_way)
        self.other_language.currentIndexChanged.connect(self._on_other_language)

    # --- layout -------------------------------------------------------------------------------

    def one_row_width(self) -> int:
        """The narrowest the strip can be with everything in one row."""
        return (2 * MARGIN_X + 5 * SPACING + self.record_box.sizeHint().width()
                + len(self.fields) * PICKER_MIN_W + self.actions_box.sizeHint().width())

    def _arrange(self, rows: int) -> None:
        if rows == self.rows:
            return
        self.rows = rows
        grid = self.grid
        for widget in (self.record_box, *self.fields, self.actions_box):
            grid.removeWidget(widget)
        for col in range(7):
            grid.setColumnStretch(col, 0)
            grid.setColumnMinimumWidth(col, 0)
        if rows == 1:
            grid.addWidget(self.record_box, 0, 0, Qt.AlignmentFlag.AlignVCenter)
            for col, (field, stretch) in enumerate(zip(self.fields, (3, 2, 2, 2), strict=True), start=1):
                grid.addWidget(field, 0, col, Qt.AlignmentFlag.AlignBottom)
                grid.setColumnStretch(col, stretch)
                grid.setColumnMinimumWidth(col, PICKER_MIN_W)
            grid.setColumnStretch(5, 1)  # air between the pickers and the buttons
            grid.addWidget(self.actions_box, 0, 6, Qt.AlignmentFlag.AlignBottom)
        else:
            grid.addWidget(self.record_box, 0, 0, 2, 1, Qt.AlignmentFlag.AlignVCenter)
            for i, field in enumerate(self.fields):
                grid.addWidget(field, i // 2, 1 + i % 2)
            grid.setColumnStretch(1, 1)
            grid.setColumnStretch(2, 1)
            grid.addWidget(self.actions_box, 0, 3, Qt.AlignmentFlag.AlignBottom)  # level with the first pickers
        grid.activate()  # now, not at the next event: the old arrangement never shows squeezed
        self.updateGeometry()

    def minimumSizeHint(self) -> QSize:
        # The two-row minimum whatever the arrangement now, so a window can always shrink to it.
        m = self.grid.contentsMargins()
        width = (m.left() + m.right() + 3 * SPACING + self.record_box.sizeHint().width()
                 + 2 * max(f.minimumSizeHint().width() for f in self.fields) + self.actions_box.sizeHint().width())
        return QSize(width, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._arrange(1 if event.size().width() >= self.one_row_width() else 2)
        super().resizeEvent(event)

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
        # A session's sources and languages are fixed while it runs (its streams were opened with them).
        for widget in (self.device, self.source, self.model, self.two_way, self.other_language):
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
        """Refill the microphone list, keeping the chosen name: "System default" once, then the
        microphones under the sound server's names (never PortAudio's ``default`` or ``pulse``)."""
        chosen = self.device.currentData()
        self._devices = list(devices)
        self.device.blockSignals(True)
        self.device.clear()
        self.device.addItem(SYSTEM_DEFAULT, None)
        now = next((d.name for d in devices if d.is_default and d.kind is not DeviceKind.SYSTEM), None)
        self.device.setItemData(0, "Follows the system's sound settings" + (f"; now: {now}" if now else ""),
                                Qt.ItemDataRole.ToolTipRole)
        for device in devices:
            if device.kind is DeviceKind.MICROPHONE and self.device.findData(device.name) < 0:
                self.device.addItem(device.name, device.name)
                self.device.setItemData(self.device.count() - 1, device.name, Qt.ItemDataRole.ToolTipRole)
        monitors = [d for d in devices if d.kind is DeviceKind.MONITOR]
        if monitors:
            self._add_heading(SYSTEM_AUDIO_HEADING)
            playing = next((d.name for d in monitors if d.is_default), monitors[0].name)
            self.device.addItem(f"{SYSTEM_AUDIO} (what the computer plays)", SYSTEM_AUDIO)
            self.device.setItemData(self.device.count() - 1, f"Follows the default output; now: {playing}",
                                    Qt.ItemDataRole.ToolTipRole)
            for device in monitors:
                if self.device.findData(device.name) < 0:
                    self.device.addItem(device.name, device.name)
                    self.device.setItemData(self.device.count() - 1, f"{device.name}: what this output plays",
                                            Qt.ItemDataRole.ToolTipRole)
        self.device.blockSignals(False)
        self._select_device(chosen)
        self.devices_listed.emit()

    def _add_heading(self, text: str) -> None:
        """A section title in the list: shown, never chosen (no data, not enabled)."""
        self.device.insertSeparator(self.device.count())
        self.device.addItem(text, HEADING)
        model = self.device.model()
        if isinstance(model, QStandardItemModel):
            item = model.item(self.device.count() - 1)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled & ~Qt.ItemFlag.ItemIsSelectable)

    def _names(self, kind: DeviceKind) -> list[str]:
        known = {d.name for d in self._devices if d.kind is kind}
        return [str(data) for i in range(1, self.device.count())
                if isinstance(data := self.device.itemData(i), str) and data in known]

    def device_names(self) -> list[str]:
        """The microphones offered (not the system-audio sources)."""
        known = {d.name for d in self._devices if d.kind is DeviceKind.MONITOR}
        return [str(data) for i in range(1, self.device.count())
                if isinstance(data := self.device.itemData(i), str) and data not in known
                and data not in (HEADING, SYSTEM_AUDIO)]

    def system_audio_names(self) -> list[str]:
        """The system-audio sources offered, under their heading (after "System audio")."""
        return self._names(DeviceKind.MONITOR)

    def _select_device(self, name: str | None) -> None:
        if means_system_default(name):
            name = None
        renamed = next((d.name for d in self._devices if name is not None and name in d.aliases
                        and d.kind in (DeviceKind.MICROPHONE, DeviceKind.MONITOR)), None)
        self.device.blockSignals(True)
        if renamed is not None and self.device.findData(name) < 0:
            # A name an earlier version saved (PortAudio's): the device, under the name people see.
            index = self.device.findData(renamed)
        else:
            index = self.device.findData(name)
            if index < 0 and name:
                self.device.addItem(f"{name} (not connected)", name)
                index = self.device.count() - 1
        self.device.setCurrentIndex(max(0, index))
        self.device.blockSignals(False)
        if renamed is not None and renamed != name and self.device.currentData() == renamed:
            self.device_changed.emit(renamed)  # remembered by the new name from now on

    # --- user changes -------------------------------------------------------------------------

    @Slot(int)
    def _on_device(self, _index: int) -> None:
        if self.device.currentData() == HEADING:
            return  # a heading is never a choice (Qt does not offer it; a script might)
        self.device_changed.emit(self.device.currentData())

    def set_two_way(self, on: bool, other_language: str | None) -> None:
        """The saved choice (no signals)."""
        for widget in (self.two_way, self.other_language):
            widget.blockSignals(True)
        self.two_way.setChecked(on)
        index = self.other_language.findData(other_language) if other_language else 0
        self.other_language.setCurrentIndex(max(0, index))
        for widget in (self.two_way, self.other_language):
            widget.blockSignals(False)
        self._show_two_way(on)

    def _show_two_way(self, on: bool) -> None:
        self.other_language.setVisible(on)
        self.two_way_cost.setVisible(on)
        self.fields[0].caption.setText("Your microphone" if on else "Audio from")
        self.fields[1].caption.setText("You speak" if on else "Spoken language")
        self.two_way.setText("Two-way; they speak:" if on else "Two-way")  # the language under it is theirs

    @Slot(bool)
    def _on_two_way(self, on: bool) -> None:
        self._show_two_way(on)
        self.two_way_changed.emit(on)

    @Slot(int)
    def _on_other_language(self, _index: int) -> None:
        self.other_language_changed.emit(self.other_language.currentData())

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
