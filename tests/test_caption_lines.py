"""What the caption overlay shows and how it remembers itself (app/core/captions.py). Pure Python."""
from __future__ import annotations

import json

import pytest

from app.core.captions import (
    PENDING_TEXT,
    CaptionShow,
    LineRole,
    OverlayPlaces,
    OverlayStyle,
    Place,
    caption_lines,
)
from app.core.transcript import Translation, TranslationStatus, Turn


def turn(index: int, text: str, **translations: str) -> Turn:
    t = Turn(index=index, segment=0, turn_order=index, text=text, start_ms=0, end_ms=1, finalized_at=0.0)
    for code, value in translations.items():
        status = TranslationStatus.FAILED if value == "!" else TranslationStatus.DONE
        t.translations[code] = Translation(code, "" if value == "!" else value, status)
    return t


TURNS = [turn(0, "One.", es="Uno."), turn(1, "Two.", es="Dos."), turn(2, "Three.")]


def texts(lines: list) -> list[tuple[str, LineRole]]:  # type: ignore[type-arg]
    return [(line.text, line.role) for line in lines]


def test_original_shows_the_last_turns_then_the_live_line() -> None:
    lines = caption_lines(TURNS, "Fo", CaptionShow.ORIGINAL, "es", 2)
    assert texts(lines) == [("Two.", LineRole.ORIGINAL), ("Three.", LineRole.ORIGINAL), ("Fo", LineRole.LIVE)]


def test_both_pairs_each_original_with_its_translation_and_marks_one_still_on_its_way() -> None:
    lines = caption_lines(TURNS, "", CaptionShow.BOTH, "es", 2)
    assert texts(lines) == [("Two.", LineRole.SECONDARY), ("Dos.", LineRole.TRANSLATION),
                            ("Three.", LineRole.SECONDARY), (PENDING_TEXT, LineRole.PENDING)]


def test_translation_only_leaves_out_the_live_line_and_falls_back_to_the_words_when_one_failed() -> None:
    turns = [turn(0, "One.", es="Uno."), turn(1, "Two.", es="!")]
    lines = caption_lines(turns, "Three is com", CaptionShow.TRANSLATION, "es", 3)
    assert texts(lines) == [("Uno.", LineRole.TRANSLATION), ("Two.", LineRole.SECONDARY)]


def test_without_a_target_language_a_translation_view_shows_the_original() -> None:
    lines = caption_lines(TURNS[:1], "x", CaptionShow.TRANSLATION, None, 1)
    assert texts(lines) == [("One.", LineRole.ORIGINAL), ("x", LineRole.LIVE)]


def test_a_style_from_a_stale_or_hand_edited_file_gives_defaults_never_a_crash() -> None:
    style = OverlayStyle.from_dict({"show": "sideways", "font_size": 1000, "text_color": "red", "outline_width": "2",
                                    "background_opacity": -5, "previous_turns": 9, "bold": "yes",
                                    "language": "de", "unknown": 1})
    assert style.show is CaptionShow.BOTH and style.font_size == 120 and style.text_color == "#ffffff"
    assert style.outline_width == OverlayStyle.outline_width and style.background_opacity == 0
    assert style.previous_turns == 3 and style.bold is True and style.language == "de"
    assert OverlayStyle.from_dict(style.to_dict()) == style


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"screens": []}', '{"screens": {"a": 3}}'])
def test_unreadable_places_are_empty(text: str) -> None:
    places = OverlayPlaces.from_json(text)
    assert places.screens == {} or all(p is None for p, _ in places.screens.values())


def test_places_are_kept_per_screen_with_the_last_screen_remembered() -> None:
    places = OverlayPlaces()
    places.remember("HDMI-1", Place(100, 700, 1600, 240), OverlayStyle(font_size=48, show=CaptionShow.TRANSLATION))
    places.remember("eDP-1", Place(10, 500, 900, 180), OverlayStyle(font_size=24))
    again = OverlayPlaces.from_json(places.to_json())
    assert again.last_screen == "eDP-1"
    assert again.for_screen("HDMI-1") == (Place(100, 700, 1600, 240),
                                          OverlayStyle(font_size=48, show=CaptionShow.TRANSLATION))
    assert again.for_screen("unknown") == (None, OverlayStyle())
    # A place too small to find again is dropped (the default place is used instead).
    data = json.loads(places.to_json())
    data["screens"]["eDP-1"]["place"]["width"] = 3
    assert OverlayPlaces.from_json(json.dumps(data)).for_screen("eDP-1")[0] is None
