"""Banner: a slim message strip above the transcript with one or two action buttons.

GUI thread. Used for "add your API key" on first run and for offering a recovered session after a
crash. The background is the window colour nudged towards the highlight, so it reads in light and
dark themes alike.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from app.ui.look import Tone, tinted_background


class Banner(QFrame):
    dismissed = Signal()

    def __init__(self, text: str = "", *, kind: Tone | None = None, closable: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kind = kind
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.label = QLabel(text, self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(14, 8, 8, 8)
        self._layout.setSpacing(8)
        self._layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        if closable:
            close = QToolButton(self)
            close.setText("✕")
            close.setAutoRaise(True)
            close.setToolTip("Dismiss")
            close.clicked.connect(self._dismiss)
            self._close = close

    def add_button(self, text: str, slot: Callable[[], object], *, default: bool = False) -> QPushButton:
        button = QPushButton(text, self)
        button.clicked.connect(slot)
        button.setDefault(default)
        self._layout.insertWidget(self._layout.count(), button)
        self.buttons.append(button)
        if hasattr(self, "_close"):
            self._layout.removeWidget(self._close)
            self._layout.addWidget(self._close)
        return button

    def set_text(self, text: str) -> None:
        self.label.setText(text)

    @Slot()
    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        # Painted rather than set in the palette, so a theme change needs no bookkeeping.
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(tinted_background(self.palette(), self._kind))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), 6, 6)
        painter.end()
