"""The target-language picker as a person uses it: the popup opened from the toolbar button, driven by
keyboard and mouse events (QTest), offscreen; and what the spoken language does to it."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from ui_support import build_window, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.errors import ConfigError
from app.core.languages import LANGUAGES
from app.core.settings import Settings
from app.core.validate import validate
from app.ui.language_picker import CODE_ROLE, SPOKEN_MARK, LanguagePicker, TargetLanguageButton, _fold

pytestmark = pytest.mark.timeout(60)


def codes(picker: LanguagePicker) -> list[str]:
    return [str(item.data(CODE_ROLE)) for item in picker.items()]


def current(picker: LanguagePicker) -> str:
    return str(picker.list.currentItem().data(CODE_ROLE))


def open_popup(qtbot, button: TargetLanguageButton) -> LanguagePicker:  # type: ignore[no-untyped-def]
    button.show()
    qtbot.waitExposed(button)
    button.menu().popup(button.mapToGlobal(QPoint(0, button.height())))
    qtbot.waitUntil(lambda: button.menu().isVisible(), timeout=3000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is button.picker.search, timeout=3000)
    return button.picker


def test_languages_are_sorted_by_name_and_the_spoken_one_is_last_marked_and_disabled(qtbot) -> None:
    picker = LanguagePicker()
    qtbot.addWidget(picker)
    names = [next(lang.name for lang in LANGUAGES if lang.code == c) for c in codes(picker)]
    assert names == sorted(names, key=_fold) and len(names) == len(LANGUAGES)
    picker.set_selected(("es", "de"))
    picker.set_spoken("de")
    german = picker.item("de")
    assert german is not None and codes(picker)[-1] == "de"
    assert SPOKEN_MARK in german.text() and not german.flags() & Qt.ItemFlag.ItemIsEnabled
    assert german.checkState() == Qt.CheckState.Checked, "the saved tick is kept"
    assert picker.selected() == ("es", "de")
    picker.set_spoken("fr")
    assert codes(picker)[-1] == "fr" and SPOKEN_MARK not in picker.item("de").text()  # type: ignore[union-attr]
    assert picker.item("de").flags() & Qt.ItemFlag.ItemIsEnabled  # type: ignore[union-attr]
    assert codes(picker).index("de") == sorted(codes(picker)[:-1], key=lambda c: _fold(
        next(lang.name for lang in LANGUAGES if lang.code == c))).index("de"), "German is back in its place"
    assert picker.item("de").checkState() == Qt.CheckState.Checked  # type: ignore[union-attr]


def test_the_popup_is_driven_by_keyboard_search_arrows_enter_and_stays_open(qtbot) -> None:
    button = TargetLanguageButton()
    qtbot.addWidget(button)
    button.set_selected(("es",))
    picker = open_popup(qtbot, button)
    qtbot.keyClicks(picker.search, "ger")
    assert current(picker) == "de", "the first match is current while typing"
    with qtbot.waitSignal(picker.selection_changed) as ticked:
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert ticked.args == [("es", "de")]
    assert button.menu().isVisible(), "Enter ticks; it does not close the popup"
    assert button.text() == "Spanish, German"
    picker.search.clear()
    qtbot.keyClicks(picker.search, "i")  # Arabic? no: every language with an "i" in its name or code
    first = current(picker)
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    second = current(picker)
    assert second != first and picker.search.hasFocus(), "Down moves in the list; typing stays in the search"
    qtbot.keyClick(picker.search, Qt.Key.Key_Up)
    assert current(picker) == first
    qtbot.keyClick(picker.search, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not button.menu().isVisible(), timeout=3000)
    assert button.picker.selected() == ("es", "de")


def test_in_the_list_space_ticks_and_letters_jump_to_a_language(qtbot) -> None:
    button = TargetLanguageButton()
    qtbot.addWidget(button)
    button.set_selected(("es",))
    picker = open_popup(qtbot, button)
    qtbot.keyClick(picker.search, Qt.Key.Key_Tab)
    qtbot.waitUntil(picker.list.hasFocus, timeout=3000)
    qtbot.keyClicks(picker.list, "fr")  # type-ahead: French
    assert current(picker) == "fr"
    with qtbot.waitSignal(picker.selection_changed) as ticked:
        qtbot.keyClick(picker.list, Qt.Key.Key_Space)
    assert ticked.args == [("es", "fr")]
    qtbot.keyClick(picker.list, Qt.Key.Key_Down)
    moved = current(picker)
    assert moved != "fr"
    qtbot.keyClick(picker.list, Qt.Key.Key_Enter)
    assert picker.selected() == ("es", "fr", moved) and button.menu().isVisible()
    qtbot.keyClick(picker.list, Qt.Key.Key_Space)  # and off again
    assert picker.selected() == ("es", "fr")
    button.menu().hide()


def test_a_click_on_the_name_ticks_it_and_a_click_on_the_box_ticks_it_once(qtbot) -> None:
    button = TargetLanguageButton()
    qtbot.addWidget(button)
    button.set_selected(("es",))
    picker = open_popup(qtbot, button)
    italian = picker.item("it")
    assert italian is not None
    picker.list.scrollToItem(italian)
    rect = picker.list.visualItemRect(italian)
    qtbot.mouseClick(picker.list.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.center().x(), rect.center().y()))
    assert picker.selected() == ("es", "it") and italian.checkState() == Qt.CheckState.Checked
    box = QPoint(rect.left() + 10, rect.center().y())  # the check box at the start of the row
    qtbot.mouseClick(picker.list.viewport(), Qt.MouseButton.LeftButton, pos=box)
    assert picker.selected() == ("es",) and italian.checkState() == Qt.CheckState.Unchecked
    assert button.menu().isVisible()
    picker.set_spoken("ja")
    japanese = picker.item("ja")
    assert japanese is not None
    picker.list.scrollToItem(japanese)
    rect = picker.list.visualItemRect(japanese)
    qtbot.mouseClick(picker.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert picker.selected() == ("es",), "the spoken language cannot be ticked"
    button.menu().hide()


def test_the_spoken_language_is_no_column_and_no_target_but_stays_saved(qtbot, tmp_path) -> None:
    parts = build_window(qtbot, tmp_path, settings=Settings(targets=("es", "de")))
    w = parts.window
    w.controls.source.setCurrentIndex(w.controls.source.findData("de"))
    assert w.model.languages == ("es",)
    assert w.controls.targets.text() == "Spanish"
    assert w.settings.targets == ("es", "de") and parts.settings_store.load().targets == ("es", "de")
    with qtbot.waitSignal(parts.controller.session_started, timeout=5000):
        w.toggle_recording()
    assert parts.factory.last.request.settings.targets == ("es",)
    with qtbot.waitSignal(parts.controller.session_ended, timeout=5000):
        w.toggle_recording()
    w.controls.source.setCurrentIndex(w.controls.source.findData("fr"))
    assert w.model.languages == ("es", "de") and w.controls.targets.text() == "Spanish, German"


def test_the_rules_drop_the_spoken_language_from_the_targets_and_say_so() -> None:
    plan = validate(Settings(targets=("es", "de"), source="de", speech_model="universal-streaming-multilingual"))
    assert [t.code for t in plan.targets] == ["es"] and plan.settings.targets == ("es",)
    assert "German is the spoken language, so it is not translated into." in plan.unused
    with pytest.raises(ConfigError, match="German is the spoken language, so there is nothing to translate it into"):
        validate(Settings(targets=("de",), source="de", speech_model="universal-streaming-multilingual"))
