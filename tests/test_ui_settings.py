"""Settings: QSettings round trip, the API key through the keyring (never the settings file),
the Settings dialog with its "Test key" button, and command-line presets that are not saved."""
from __future__ import annotations

from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import INCORRECT_PADDING, FakeStreamingServer, Fault
from PySide6.QtCore import Qt
from ui_support import build_window, ini_settings, memory_keyring, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.errors import AuthError, ConfigError, TranslationError
from app.core.settings import Settings
from app.settings.keystore import ACCOUNT, SERVICE, KeyStatus
from app.settings.qt_store import SETTINGS_VERSION, QtSettingsStore, SettingsKey
from app.ui.settings_dialog import SettingsDialog
from app.workers.key_check import KEY_ACCEPTED, check_key

pytestmark = pytest.mark.timeout(60)

SECRET = "sk-live-0123456789abcdef"


def test_every_setting_survives_a_round_trip_through_the_settings_file(tmp_path) -> None:
    ini = tmp_path / "settings.ini"
    chosen = Settings(targets=("de",), source="es", speech_model="universal-streaming-multilingual",
                      device="USB Headset, Mono", region="eu", streaming_url="wss://example.test/v3/ws",
                      llm_url="https://llm.example.test/v1", llm_model="claude-haiku-4-5-20251001",
                      format_turns=False, turn_preset="conservative", mode="max_accuracy",
                      keyterms=("Kubernetes", "Acme, Inc."),
                      sessions_dir=tmp_path / "my sessions", font_size=18)
    QtSettingsStore(ini_settings(ini)).save(chosen)
    assert QtSettingsStore(ini_settings(ini)).load() == chosen
    assert QtSettingsStore(ini_settings(ini)).version() == SETTINGS_VERSION


def test_a_missing_or_damaged_settings_file_gives_defaults(tmp_path) -> None:
    assert QtSettingsStore(ini_settings(tmp_path / "none.ini")).load() == Settings()
    ini = tmp_path / "bad.ini"
    ini.write_text("[session]\nspeech_model=nonsense\nformat_turns=maybe\n[view]\nfont_size=huge\n"
                   "[service]\nregion=mars\n")
    loaded = QtSettingsStore(ini_settings(ini)).load()
    assert (loaded.speech_model, loaded.format_turns, loaded.font_size, loaded.region) == \
        (Settings().speech_model, True, Settings().font_size, "default")


def test_an_old_settings_file_is_migrated(tmp_path) -> None:
    ini = tmp_path / "old.ini"
    ini.write_text("[General]\ntarget_language=fr\n")
    store = QtSettingsStore(ini_settings(ini))
    assert store.load().targets == ("fr",)
    assert store.version() == SETTINGS_VERSION
    assert not store.qsettings.contains("target_language")


def save_without_testing(dialog) -> None:  # type: ignore[no-untyped-def]
    """Save offers to test a new key first; these tests save it as it is."""
    box = dialog.test_question
    assert box is not None and box.isVisible()
    next(b for b in box.buttons() if b.text() == "Save without testing").click()


def test_the_key_goes_to_the_keyring_and_never_into_the_settings_file(qtbot, tmp_path) -> None:
    with memory_keyring() as backend:
        parts = build_window(qtbot, tmp_path, key=None)
        w = parts.window
        assert not w.controls.record_button.isEnabled()
        dialog = w.open_settings()
        assert dialog.key_edit.echoMode() == dialog.key_edit.EchoMode.Password
        dialog.key_edit.setText(SECRET)
        dialog.font_size.setValue(16)
        dialog.accept()
        save_without_testing(dialog)
        qtbot.waitUntil(lambda: w.has_key, timeout=5000)
        assert backend.passwords == {(SERVICE, ACCOUNT): SECRET}
        assert w.controls.record_button.isEnabled() and not w.key_banner.isVisible()
        assert "system keyring" in w.status.message_label.text()
        w.close()
        parts.settings_store.qsettings.sync()
        text = parts.ini.read_text(encoding="utf-8")
        assert "font_size=16" in text
        assert SECRET not in text and "0123456789abcdef" not in text
        assert parts.key_store.load() == KeyStatus(SECRET, "keyring", True)


def test_without_a_keyring_the_key_is_kept_for_this_run_and_the_user_is_told(qtbot, tmp_path) -> None:
    import keyring
    from keyring.backends.fail import Keyring as NoKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        parts = build_window(qtbot, tmp_path, key=None)
        w = parts.window
        dialog = w.open_settings()
        assert "this run only" in dialog.key_note.text()
        dialog.key_edit.setText(SECRET)
        dialog.accept()
        save_without_testing(dialog)
        qtbot.waitUntil(lambda: w.has_key, timeout=5000)
        assert w.key_status.source == "memory" and not w.key_status.persistent
        assert "kept until you close" in w.status.message_label.text()
        w.close()
        assert SECRET not in parts.ini.read_text(encoding="utf-8")
    finally:
        keyring.set_keyring(previous)


def test_the_dialog_refuses_a_url_that_cannot_work_and_says_why(qtbot, tmp_path) -> None:
    dialog = SettingsDialog(Settings(), KeyStatus(None, "none", True), keyring_available=True,
                            default_sessions_dir=tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.streaming_url.setText("https://not-a-websocket.example")
    dialog.accept()
    assert dialog.isVisible() and dialog.error_label.isVisible()
    assert "websocket URL" in dialog.error_label.text()
    dialog.streaming_url.setText("ws://127.0.0.1:9/v3/ws")
    dialog.region.setCurrentIndex(dialog.region.findData("eu"))
    dialog.turn_preset.setCurrentIndex(dialog.turn_preset.findData("aggressive"))
    dialog.keyterms.setPlainText("Acme, Inc.\n  Kubernetes \n\n")
    result = dialog.result_settings()
    assert (result.streaming_url, result.region, result.turn_preset, result.keyterms) == \
        ("ws://127.0.0.1:9/v3/ws", "eu", "aggressive", ("Acme, Inc.", "Kubernetes")), "a term keeps its comma"
    assert dialog.entered_key() is None, "an untouched key field is not a new key"


def test_the_accuracy_mode_picker_applies_to_universal_3_5_pro_only(qtbot, tmp_path) -> None:
    dialog = SettingsDialog(Settings(mode="min_latency"), KeyStatus(None, "none", True), keyring_available=True,
                            default_sessions_dir=tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.mode.currentData() == "min_latency" and not dialog.mode.isEnabled(), "the default model has no mode"
    dialog.speech_model.setCurrentIndex(dialog.speech_model.findData("universal-3-5-pro"))
    assert dialog.mode.isEnabled()
    dialog.mode.setCurrentIndex(dialog.mode.findData("max_accuracy"))
    result = dialog.result_settings()
    assert (result.speech_model, result.mode) == ("universal-3-5-pro", "max_accuracy")
    tip = dialog.speech_model.itemData(dialog.speech_model.currentIndex(), Qt.ItemDataRole.ToolTipRole)
    assert "Hebrew" in tip and "Japanese" in tip, "each model's item lists the languages it hears"


def test_test_key_runs_off_the_gui_thread_and_shows_the_answer(qtbot, tmp_path) -> None:
    import threading

    seen: list[tuple[str, str | None, str, str | None, str, bool]] = []

    def checker(key: str, url: str | None, region: str, llm_url: str | None, llm_model: str) -> str:
        seen.append((key, url, region, llm_url, llm_model, threading.current_thread() is threading.main_thread()))
        if key == "bad":
            raise AuthError("The API key was rejected (1008). Open Settings to enter a new key.")
        return KEY_ACCEPTED

    dialog = SettingsDialog(Settings(), KeyStatus(None, "none", True), keyring_available=True,
                            default_sessions_dir=tmp_path, key_checker=checker)
    qtbot.addWidget(dialog)
    dialog.key_edit.setText("good")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "works" in dialog.key_result.text(), timeout=5000)
    dialog.key_edit.setText("bad")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "rejected (1008)" in dialog.key_result.text(), timeout=5000)
    assert [s[:5] for s in seen] == [("good", None, "default", None, "gemini-2.5-flash-lite"),
                                     ("bad", None, "default", None, "gemini-2.5-flash-lite")]
    assert not any(on_gui for *_, on_gui in seen)
    assert dialog.test_button.isEnabled()


def test_check_key_against_the_fake_services_accepts_the_key_and_rejects_a_wrong_one() -> None:
    with FakeStreamingServer(api_key="right-key") as server, FakeLlmGateway(api_key="right-key") as llm:
        assert check_key("right-key", server.url, "default", llm.endpoint) == KEY_ACCEPTED
        with pytest.raises(AuthError) as rejected:
            check_key("wrong-key", server.url, "default", llm.endpoint)
        assert len(llm.chat_requests) == 2, "the key check asks the LLM Gateway too"
        assert [c.close_code for c in server.connections[1:]] == [1008, 1008], "a 1008 is tried twice"
    assert rejected.value.message == "Both services rejected the key. Copy it again from your AssemblyAI dashboard."


def test_a_free_tier_key_passes_streaming_and_the_key_check_says_translation_is_what_fails() -> None:
    with FakeStreamingServer(api_key="free-key") as server, FakeLlmGateway(api_key="free-key", free_tier=True) as llm:
        with pytest.raises(TranslationError) as refused:
            check_key("free-key", server.url, "default", llm.base_url)
    assert refused.value.message == ("Streaming works, but translation does not: the LLM Gateway is not open to this "
                                     "account (403). Free-tier accounts cannot use it: upgrade the account to translate.")
    assert len(refused.value.message) < 200, "short enough for the dialog"


def test_the_key_check_says_when_streaming_fails_and_translation_works() -> None:
    with FakeStreamingServer(api_key="other-key") as server, FakeLlmGateway(api_key="llm-key") as llm:
        with pytest.raises(AuthError) as rejected:
            check_key("llm-key", server.url, "default", llm.base_url)
    assert rejected.value.message.startswith("Translation works, but streaming does not: The API key was rejected")


def test_the_settings_dialog_refuses_a_us_only_model_in_the_eu_region_and_keeps_the_full_endpoint_url(
        qtbot, tmp_path) -> None:
    dialog = SettingsDialog(Settings(), KeyStatus(None, "none", True), keyring_available=True,
                            default_sessions_dir=tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.region.setCurrentIndex(dialog.region.findData("eu"))
    dialog.llm_model.setCurrentText("gpt-5-mini")
    dialog.accept()
    assert dialog.isVisible() and "EU region's LLM Gateway does not serve OpenAI models" in dialog.error_label.text()
    with pytest.raises(ConfigError):
        dialog.result_settings()
    dialog.llm_model.setCurrentText("claude-haiku-4-5-20251001")
    dialog.llm_url.setText("https://llm-gateway.eu.assemblyai.com/v1/chat/completions")
    result = dialog.result_settings()
    assert (result.region, result.llm_model) == ("eu", "claude-haiku-4-5-20251001")


def test_check_key_does_not_call_a_valid_key_rejected_on_one_transient_1008() -> None:
    with FakeStreamingServer(api_key="right-key", faults=[Fault(reject=1008, reject_reason=INCORRECT_PADDING)]) as server, \
            FakeLlmGateway(api_key="right-key") as llm:
        assert check_key("right-key", server.url, "default", llm.base_url) == KEY_ACCEPTED
        first, second = server.connections
        assert first.close_code == 1008 and second.session_id is not None  # the retry got a Begin


def test_command_line_presets_apply_to_this_run_but_are_not_saved(qtbot, tmp_path) -> None:
    ini = tmp_path / "settings.ini"
    QtSettingsStore(ini_settings(ini)).save(Settings(targets=("fr",), streaming_url=None))
    overrides = {"targets": ("es", "de"), "streaming_url": "ws://127.0.0.1:1/v3/ws"}
    stored = QtSettingsStore(ini_settings(ini)).load()
    parts = build_window(qtbot, tmp_path, settings=stored.with_changes(**overrides), session_only=overrides)
    w = parts.window
    assert w.model.languages == ("es", "de") and w.controls.targets.text() == "Spanish, German"
    w.controls.source.setCurrentIndex(w.controls.source.findData("es"))  # a choice the user makes
    w.close()
    saved = QtSettingsStore(ini_settings(ini)).load()
    assert saved.targets == ("fr",) and saved.streaming_url is None, "presets are for this run only"
    assert saved.source == "es" and saved.speech_model == "universal-streaming-multilingual"


def test_devices_are_remembered_by_name_and_a_missing_one_stays_visible(qtbot, tmp_path) -> None:
    from app.core.devices import InputDevice

    parts = build_window(qtbot, tmp_path, settings=Settings(device="USB Headset"))
    controls = parts.window.controls
    built_in = InputDevice(0, "Built-in Microphone", 48000, 2, True)
    usb = InputDevice(3, "USB Headset", 16000, 1, False)
    controls.set_devices([built_in])
    assert controls.device.currentText() == "USB Headset (not connected)"
    controls.set_devices([built_in, InputDevice(2, "USB Headset", 16000, 1, False)])  # plugged in, new index
    assert controls.device.currentText() == "USB Headset" and controls.device.currentData() == "USB Headset"
    controls.set_devices([usb, built_in])
    assert controls.device.currentData() == "USB Headset"
    controls.device.setCurrentIndex(controls.device.findData("Built-in Microphone"))
    assert parts.window.settings.device == "Built-in Microphone"
    assert controls.device.itemText(controls.device.findData("Built-in Microphone")) == "Built-in Microphone"
    assert "now: Built-in Microphone" in str(controls.device.itemData(0, Qt.ItemDataRole.ToolTipRole))


def test_the_language_picker_searches_keeps_the_tick_order_and_one_language_at_least(qtbot) -> None:
    from PySide6.QtCore import Qt

    from app.ui.language_picker import CODE_ROLE, LanguagePicker

    picker = LanguagePicker()
    qtbot.addWidget(picker)
    picker.set_selected(("es",))
    picker.search.setText("deutsch")
    visible = [picker.list.item(i) for i in range(picker.list.count()) if not picker.list.item(i).isHidden()]
    assert [i.data(CODE_ROLE) for i in visible] == ["de"]
    with qtbot.waitSignal(picker.selection_changed) as changed:
        visible[0].setCheckState(Qt.CheckState.Checked)
    assert changed.args == [("es", "de")]
    picker.search.setText("espanol")  # accents and case do not matter
    spanish = next(picker.list.item(i) for i in range(picker.list.count()) if not picker.list.item(i).isHidden())
    spanish.setCheckState(Qt.CheckState.Unchecked)
    assert picker.selected() == ("de",)
    german = next(picker.list.item(i) for i in range(picker.list.count()) if picker.list.item(i).data(CODE_ROLE) == "de")
    german.setCheckState(Qt.CheckState.Unchecked)  # the last one: refused
    assert picker.selected() == ("de",) and german.checkState() == Qt.CheckState.Checked
    assert "At least one" in picker.hint.text()


def test_first_run_targets_are_spanish(tmp_path) -> None:
    assert QtSettingsStore(ini_settings(Path(tmp_path) / "new.ini")).load().targets == ("es",)
    assert SettingsKey.TARGETS.value == "session/targets"
