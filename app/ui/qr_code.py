"""QrCode: a widget that shows an address as a QR code, for a phone's camera.

GUI thread. The code is made by ``segno`` (pure Python) and painted square by square, dark on
white with the standard quiet zone whatever the window's theme: cameras need that contrast.
"""
from __future__ import annotations

import segno
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

QUIET_ZONE = 4  # modules of white around the code, as the standard asks


class QrCode(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[bool, ...]] = []
        self.text = ""
        self.setMinimumSize(180, 180)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_text(self, text: str) -> None:
        self.text = text
        if text:
            code = segno.make(text, error="m", micro=False)
            self._rows = [tuple(bool(m) for m in row) for row in code.matrix_iter(scale=1, border=QUIET_ZONE)]
        else:
            self._rows = []
        self.setToolTip(text)
        self.update()

    @property
    def modules(self) -> int:
        """Squares per side, quiet zone included (0 without a text)."""
        return len(self._rows)

    def is_dark(self, row: int, column: int) -> bool:
        return self._rows[row][column]

    def sizeHint(self) -> QSize:
        return QSize(260, 260)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._rows:
            return
        painter = QPainter(self)
        side = min(self.width(), self.height())
        cell = side / len(self._rows)
        left, top = (self.width() - side) / 2, (self.height() - side) / 2
        painter.fillRect(QRectF(left, top, side, side), QColor("white"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("black"))
        for y, row in enumerate(self._rows):
            for x, dark in enumerate(row):
                if dark:
                    # A hair wider than the cell, so no seams show between neighbouring squares.
                    painter.drawRect(QRectF(left + x * cell, top + y * cell, cell + 0.5, cell + 0.5))
        painter.end()
