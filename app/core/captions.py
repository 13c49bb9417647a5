"""What a caption view shows: the live line and the last turns, as original, translation or both.

Pure Python; called on the GUI thread by the caption overlay (``app/ui/caption_overlay.py``) with
the turns the window's transcript model holds, so the overlay is a second view of the same
transcript, never a copy of it. Also the one place for the overlay's choices (``OverlayStyle``)
and how they are kept per screen (``OverlayPlaces``), parsed leniently: a stale or hand-edited
value gives the default, never a crash.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from typing import Any

from app.core.transcript import TranslationStatus, Turn

PENDING_TEXT = "…"
FONT_SIZE_RANGE = (12, 120)
OUTLINE_RANGE = (0, 8)
TURNS_RANGE = (1, 3)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class CaptionShow(str, Enum):
    ORIGINAL = "original"
    TRANSLATION = "translation"
    BOTH = "both"


class LineRole(str, Enum):
    ORIGINAL = "original"  # a finished turn's words, as the main text
    SECONDARY = "secondary"  # the original above its translation (BOTH): smaller
    TRANSLATION = "translation"
    PENDING = "pending"  # a translation still on its way
    LIVE = "live"  # the words of the turn in progress: they may still change


@dataclass(frozen=True)
class CaptionLine:
    text: str
    role: LineRole
    group: int = -1  # the turn's index (a turn's original and translation belong together); -1: live


def caption_lines(turns: Sequence[Turn], interim: str, show: CaptionShow, language: str | None,
                  previous_turns: int) -> list[CaptionLine]:
    """The lines to show, oldest first: the last ``previous_turns`` finished turns, then the live
    line. With a translation only, the live line is left out: it is in the spoken language, which
    is not the one the reader chose, and the turn's translation follows within a second or two."""
    lines: list[CaptionLine] = []
    wants_translation = show is not CaptionShow.ORIGINAL and bool(language)
    for turn in turns[-previous_turns:] if previous_turns > 0 else ():
        if show is CaptionShow.ORIGINAL or not wants_translation:
            lines.append(CaptionLine(turn.text, LineRole.ORIGINAL, turn.index))
            continue
        if show is CaptionShow.BOTH:
            lines.append(CaptionLine(turn.text, LineRole.SECONDARY, turn.index))
        tr = turn.translations.get(language or "")
        if tr is not None and tr.status is TranslationStatus.DONE:
            lines.append(CaptionLine(tr.text, LineRole.TRANSLATION, turn.index))
        elif tr is None or tr.status is TranslationStatus.PENDING:
            lines.append(CaptionLine(PENDING_TEXT, LineRole.PENDING, turn.index))
        elif show is CaptionShow.TRANSLATION:
            # Not translated: the words at least.
            lines.append(CaptionLine(turn.text, LineRole.SECONDARY, turn.index))
    if interim and (show is not CaptionShow.TRANSLATION or not wants_translation):
        lines.append(CaptionLine(interim, LineRole.LIVE))
    return lines


@dataclass(frozen=True)
class OverlayStyle:
    """The overlay's choices. Click-through is deliberately not among them: an overlay that ignores
    the mouse is only ever one the user has just asked for, never one the app starts with."""

    show: CaptionShow = CaptionShow.BOTH
    language: str = ""  # a target code; "" = the session's first target
    font_family: str = ""  # "" = the system's interface font
    font_size: int = 30
    bold: bool = True
    text_color: str = "#ffffff"
    outline_color: str = "#000000"
    outline_width: int = 2
    background_opacity: int = 45  # per cent
    previous_turns: int = 2

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> OverlayStyle:
        style = cls()
        changes: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value, default = data[f.name], getattr(style, f.name)
            if isinstance(default, CaptionShow):
                if value in {s.value for s in CaptionShow}:
                    changes[f.name] = CaptionShow(str(value))
            elif isinstance(default, bool):
                if isinstance(value, bool):
                    changes[f.name] = value
            elif isinstance(default, int):
                if isinstance(value, int) and not isinstance(value, bool):
                    changes[f.name] = value
            elif isinstance(value, str):
                changes[f.name] = value
        return replace(style, **changes).clamped()

    def clamped(self) -> OverlayStyle:
        def clamp(value: int, bounds: tuple[int, int]) -> int:
            return max(bounds[0], min(bounds[1], value))

        return replace(
            self,
            font_size=clamp(self.font_size, FONT_SIZE_RANGE),
            outline_width=clamp(self.outline_width, OUTLINE_RANGE),
            background_opacity=clamp(self.background_opacity, (0, 100)),
            previous_turns=clamp(self.previous_turns, TURNS_RANGE),
            text_color=self.text_color if _COLOUR.match(self.text_color) else OverlayStyle.text_color,
            outline_color=self.outline_color if _COLOUR.match(self.outline_color) else OverlayStyle.outline_color,
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["show"] = self.show.value
        return data


@dataclass(frozen=True)
class Place:
    """Where the overlay sits on one screen, relative to that screen's top-left corner."""

    x: int
    y: int
    width: int
    height: int


@dataclass
class OverlayPlaces:
    """Per screen (by its name): the overlay's place and style; and the screen it was on last."""

    screens: dict[str, tuple[Place | None, OverlayStyle]] = field(default_factory=dict)
    last_screen: str = ""

    def for_screen(self, name: str) -> tuple[Place | None, OverlayStyle]:
        return self.screens.get(name, (None, OverlayStyle()))

    def remember(self, name: str, place: Place | None, style: OverlayStyle) -> None:
        self.screens[name] = (place, style)
        self.last_screen = name

    def to_json(self) -> str:
        return json.dumps({"last_screen": self.last_screen, "screens": {
            name: {"place": asdict(place) if place else None, "style": style.to_dict()}
            for name, (place, style) in self.screens.items()}}, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> OverlayPlaces:
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        places = cls(last_screen=str(data.get("last_screen") or ""))
        screens = data.get("screens")
        for name, entry in (screens.items() if isinstance(screens, dict) else ()):
            if not isinstance(entry, dict):
                continue
            style_data = entry.get("style")
            style = OverlayStyle.from_dict(style_data if isinstance(style_data, dict) else {})
            places.screens[str(name)] = (_place(entry.get("place")), style)
        return places


def _place(data: object) -> Place | None:
    if not isinstance(data, dict):
        return None
    values = [v for k in ("x", "y", "width", "height")
              if isinstance(v := data.get(k), int) and not isinstance(v, bool)]
    if len(values) != 4:
        return None
    x, y, width, height = values
    if width < 50 or height < 30:
        return None
    return Place(x, y, width, height)
