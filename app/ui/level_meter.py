"""LevelMeter: a slim input-level bar next to Record, so a silent or wrong microphone shows at once.

GUI thread. ``set_level(dbfs)`` only stores the reading (the bridge already delivers at most ~30
per second); the bar falls back smoothly on its own animation timer, which runs only while there is
something to animate. Colours come from the palette: highlight for speech, a warning tone near
clipping.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.level import meter_fraction
from app.ui.look import Tone, blend, tone

FRAME_MS = 33
FALL_PER_FRAME = 0.035  # of full scale: about a second from full to empty
CLIP_FRACTION = 0.92  # ~ -5 dBFS on the 60 dB meter


class LevelMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target = 0.0
        self._shown = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._animate)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip("Microphone level")
        self.setAccessibleName("Microphone level")

    def sizeHint(self) -> QSize:
        return QSize(120, 10)

    @property
    def fraction(self) -> float:
        return self._shown

    @Slot(float)
    def set_level(self, dbfs: float) -> None:
        self._target = meter_fraction(dbfs)
        if self._target > self._shown:
            self._shown = self._target  # rise at once, fall slowly
            self.update()
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def reset(self) -> None:
        self._target = self._shown = 0.0
        self._timer.stop()
        self.update()

    @Slot()
    def _animate(self) -> None:
        if self._shown > self._target:
            self._shown = max(self._target, self._shown - FALL_PER_FRAME)
            self.update()
        elif self._shown == 0.0:
            self._timer.stop()
        self._target = max(0.0, self._target - FALL_PER_FRAME)

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = rect.height() / 2
        groove = blend(palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.WindowText), 0.12)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(groove)
        painter.drawRoundedRect(rect, radius, radius)
        if self._shown > 0.0 and self.isEnabled():
            fill = rect.adjusted(0, 0, -(rect.width() * (1.0 - self._shown)), 0)
            clipping = self._shown >= CLIP_FRACTION
            color = tone(palette, Tone.WARNING) if clipping else palette.color(QPalette.ColorRole.Highlight)
            painter.setBrush(color)
            painter.drawRoundedRect(fill, radius, radius)
        painter.end()
