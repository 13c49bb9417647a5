"""Colours and fonts derived from the system palette, so light and dark themes both read well.

GUI thread. Nothing here hard-codes a colour that only works on one background: muted text comes
from the palette's placeholder colour, and the few signal colours (live, warning, error) pick their
lightness from whether the palette is dark.
"""
from __future__ import annotations

from enum import Enum

from PySide6.QtGui import QColor, QFont, QPalette


class Tone(str, Enum):
    GOOD = "good"
    WARNING = "warning"
    BAD = "bad"
    NEUTRAL = "neutral"


_HUES = {Tone.GOOD: 140, Tone.WARNING: 38, Tone.BAD: 4}


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def muted(palette: QPalette) -> QColor:
    """Secondary text: interim words, "translating…", times."""
    placeholder = palette.color(QPalette.ColorRole.PlaceholderText)
    if placeholder.isValid() and placeholder != palette.color(QPalette.ColorRole.Text):
        return placeholder
    return blend(palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base), 0.45)


def tone(palette: QPalette, kind: Tone) -> QColor:
    if kind is Tone.NEUTRAL:
        return muted(palette)
    dark = is_dark(palette)
    return QColor.fromHsl(_HUES[kind], 170 if dark else 190, 165 if dark else 95)


def button_fill(palette: QPalette, kind: Tone) -> QColor:
    """A fill for a primary button that white (HighlightedText) text reads on, in any theme."""
    return QColor.fromHsl(_HUES.get(kind, 210), 165, 110)


def blend(a: QColor, b: QColor, amount_of_b: float) -> QColor:
    t = max(0.0, min(1.0, amount_of_b))
    return QColor.fromRgbF(
        a.redF() * (1 - t) + b.redF() * t,
        a.greenF() * (1 - t) + b.greenF() * t,
        a.blueF() * (1 - t) + b.blueF() * t,
    )


def tinted_background(palette: QPalette, kind: Tone | None = None, amount: float = 0.14) -> QColor:
    """A soft background for banners: the window colour nudged towards the highlight (or a tone)."""
    accent = palette.color(QPalette.ColorRole.Highlight) if kind is None else tone(palette, kind)
    return blend(palette.color(QPalette.ColorRole.Window), accent, amount)


def italic(font: QFont) -> QFont:
    out = QFont(font)
    out.setItalic(True)
    return out


def scaled(font: QFont, factor: float, *, bold: bool = False) -> QFont:
    out = QFont(font)
    size = out.pointSizeF()
    if size > 0:
        out.setPointSizeF(max(6.0, size * factor))
    out.setBold(bold)
    return out
