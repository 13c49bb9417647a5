"""The key without a keyring: a file only the user can read (0600, created so from the first byte), kept
only with their consent, shown as where the key lives; the Settings dialog's key test and save; and
``live-translate key set|status`` in the terminal, which reads the same file."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from keyring.backends.fail import Keyring as NoKeyring
from session_rig import cli_env
from ui_support import build_window, memory_keyring, qt_hygiene  # noqa: F401 - autouse fixture

from app.core.errors import AppError, AuthError
from app.core.settings import Settings
from app.settings.keystore import KeyStatus, KeyStore
from app.ui.settings_dialog import SettingsDialog, inside_settings
from app.workers.key_check import KEY_ACCEPTED, check_key

pytestmark = pytest.mark.timeout(60)

SECRET = "aai-key-0123456789abcdef"


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_file_is_0600_from_its_first_byte_even_with_a_careless_umask(
        no_keyring, private_user_dirs, monkeypatch) -> None:
    seen: list[tuple[str, int]] = []
    real_replace, real_fsync = os.replace, os.fsync

    def watching_fsync(fd: int) -> None:
        seen.append(("written", stat.S_IMODE(os.fstat(fd).st_mode)))  # the key is in the file now
        real_fsync(fd)

    def watching_replace(src, dst):  # type: ignore[no-untyped-def]
        seen.append(("renamed", mode(Path(src))))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    monkeypatch.setattr(os, "replace", watching_replace)
    old_umask = os.umask(0)  # a umask that would make new files world-readable
    try:
        saved = KeyStore(environ={}).save(SECRET, to_file=True)
    finally:
        os.umask(old_umask)
    path = private_user_dirs / ".config" / "live-translate" / "assemblyai-api-key"
    assert saved == KeyStatus(SECRET, "file", True, path=path)
    assert mode(path) == 0o600 and path.read_text() == SECRET + "\n"
    assert [what for what, _ in seen] == ["written", "renamed"]
    assert all(m == 0o600 for _, m in seen), "0600 from the moment it held the key, before the rename"
    assert sorted(p.name for p in path.parent.iterdir()) == ["assemblyai-api-key"], "no temporary file left"
    again = KeyStore(environ={}).load()
    assert (again.key, again.source, again.path) == (SECRET, "file", path)
    assert str(path) in again.where and "only you can read" in again.where


def test_where_the_key_comes_from_keyring_environment_and_file_in_that_order(
        no_keyring, private_user_dirs) -> None:
    store = KeyStore(environ={})
    assert store.load().source == "none"
    store.save(SECRET, to_file=True)
    assert KeyStore(environ={"ASSEMBLYAI_API_KEY": "env-key-987654321"}).load().source == "environment"
    file = store.key_file()
    file.chmod(0o644)  # copied in by hand
    assert store.load().source == "file" and mode(file) == 0o600, "made the user's alone when read"
    assert store.save(SECRET).source == "memory", "no keyring, no consent to the file: this run only"
    assert not file.exists(), "one place only: the file the user no longer chose is gone"
    with memory_keyring():
        KeyStore(environ={}).save("keyring-key-1234567", to_file=True)
        store2 = KeyStore(environ={})
        store2.save("keyring-key-7654321")
        assert store2.load().source == "keyring" and not store2.key_file().exists()


def test_settings_without_a_keyring_offers_the_file_says_where_and_never_writes_the_settings_file(
        qtbot, tmp_path, no_keyring, private_user_dirs) -> None:
    parts = build_window(qtbot, tmp_path, key=None)
    w = parts.window
    dialog = w.open_settings()
    path = parts.key_store.key_file()
    assert dialog.key_in_file.isVisible() and not dialog.key_in_file.isChecked(), "offered, not chosen for them"
    assert str(path) in dialog.key_note.text() and str(path) in dialog.key_in_file.toolTip(), "it says which file"
    assert "There is no AssemblyAI API key yet" in dialog.key_note.text()
    dialog.key_edit.setText(SECRET)
    dialog.key_in_file.setChecked(True)
    dialog.accept()
    next(b for b in dialog.test_question.buttons() if b.text() == "Save without testing").click()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: w.has_key, timeout=5000)
    assert w.key_status.source == "file" and mode(path) == 0o600
    assert str(path) in w.status.message_label.text()
    again = w.open_settings()
    assert f"kept in {path}" in again.key_note.text() and again.key_in_file.isChecked()
    again.reject()
    w.close()
    assert SECRET not in parts.ini.read_text(encoding="utf-8")


def test_test_key_ends_the_session_it_opens_with_terminate() -> None:
    with FakeStreamingServer(api_key="right-key") as server, FakeLlmGateway(api_key="right-key") as llm:
        assert check_key("right-key", server.url, "default", llm.base_url) == KEY_ACCEPTED
        [connection] = server.connections
        assert connection.terminated and connection.close_code == 1000, "Terminate, Termination, a normal close"


def test_a_long_answer_fits_the_dialog_and_never_says_open_settings_inside_settings(qtbot, tmp_path) -> None:
    long = ("Neither service works. Streaming: The API key was rejected (HTTP 401: Invalid API key or missing "
            "Authorization header). Open Settings to enter a valid AssemblyAI key, or check the account's balance. "
            "Translation: the LLM Gateway rejected the key (401). Check the AssemblyAI API key in Settings.")

    def checker(*_args: object) -> str:
        raise AuthError(long)

    dialog = SettingsDialog(Settings(), KeyStatus(None, "none", True), keyring_available=True,
                            default_sessions_dir=tmp_path, key_checker=checker)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    width = dialog.width()
    dialog.key_edit.setText("some-key-to-test")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "Neither service works" in dialog.key_result.text(), timeout=5000)
    result = dialog.key_result
    qtbot.waitUntil(lambda: result.height() >= result.heightForWidth(result.width()), timeout=3000)
    assert dialog.width() == width, "the answer wraps; the dialog does not grow sideways"
    assert result.mapTo(dialog, result.rect().bottomRight()).x() <= dialog.width()
    assert result.height() == result.heightForWidth(result.width()), "all of it shows, without half-empty rows"
    shown = dialog.key_result.text()
    assert "Open Settings" not in shown and "in Settings" not in shown
    assert "Enter a valid AssemblyAI key, or check the account&#x27;s balance." in shown
    assert "Check the AssemblyAI API key here." in shown


@pytest.mark.parametrize(("message", "inside"), [
    ("The API key was rejected (1008). Open Settings to enter a new key.", "The API key was rejected (1008). Enter a new key."),
    ("No model. Choose another model in Settings or with --llm-model.", "No model. Choose another model here."),
    ("No AssemblyAI API key. Set ASSEMBLYAI_API_KEY or enter it in Settings (Ctrl+,).",
     "No AssemblyAI API key. Set ASSEMBLYAI_API_KEY."),
])
def test_advice_to_open_settings_is_turned_into_advice_for_here(message: str, inside: str) -> None:
    assert inside_settings(message) == inside


def test_save_offers_to_test_an_untested_key_and_saves_only_a_key_that_passed(qtbot, tmp_path) -> None:
    answers: list[str] = []

    def checker(key: str, *_args: object) -> str:
        answers.append(key)
        if key != "the-good-key-123":
            raise AuthError("The API key was rejected (1008). Open Settings to enter a new key.")
        return KEY_ACCEPTED

    dialog = SettingsDialog(Settings(), KeyStatus("old-key-12345678", "keyring", True), keyring_available=True,
                            default_sessions_dir=tmp_path, key_checker=checker)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.key_edit.setText("a-bad-key-456")
    dialog.accept()
    box = dialog.test_question
    assert box is not None and box.isVisible() and dialog.isVisible()
    next(b for b in box.buttons() if b.text() == "Test and save").click()
    qtbot.waitUntil(lambda: "rejected" in dialog.key_result.text(), timeout=5000)
    assert dialog.isVisible() and dialog.result() == 0, "a key that failed is not saved"
    dialog.key_edit.setText("the-good-key-123")
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.accept()
        next(b for b in dialog.test_question.buttons() if b.text() == "Test and save").click()  # type: ignore[union-attr]
    assert answers == ["a-bad-key-456", "the-good-key-123"] and dialog.entered_key() == "the-good-key-123"
    tested = SettingsDialog(Settings(), KeyStatus(None, "none", True), keyring_available=True,
                            default_sessions_dir=tmp_path, key_checker=checker)
    qtbot.addWidget(tested)
    tested.key_edit.setText("the-good-key-123")
    tested.test_key()
    qtbot.waitUntil(lambda: "✔" in tested.key_result.text(), timeout=5000)
    with qtbot.waitSignal(tested.accepted, timeout=5000):
        tested.accept()  # tested already: saved at once, nothing asked
    assert tested.test_question is None


def run_app(args: list[str], home: Path, *, stdin: str | None = None,
            key: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], input=stdin, capture_output=True, text=True,
                          timeout=90, env=cli_env(home, key), stdin=None if stdin is not None else subprocess.DEVNULL)


def test_key_set_reads_standard_input_and_key_status_says_where_the_key_is(tmp_path) -> None:
    refused = run_app(["key", "set"], tmp_path, stdin=SECRET + "\n")
    assert refused.returncode == 2 and "key set --file" in refused.stderr, "no keyring: the file needs consent"
    path = tmp_path / "config" / "live-translate" / "assemblyai-api-key"
    assert not path.exists()
    saved = run_app(["key", "set", "--file"], tmp_path, stdin=SECRET + "\n")
    assert saved.returncode == 0, saved.stderr
    assert str(path) in saved.stdout and mode(path) == 0o600 and path.read_text() == SECRET + "\n"
    status = run_app(["key", "status"], tmp_path)
    assert status.returncode == 0 and f"kept in {path}" in status.stdout
    from_env = run_app(["key", "status"], tmp_path, key="env-key-1234567890")
    assert "ASSEMBLYAI_API_KEY in the environment" in from_env.stdout
    for done in (refused, saved, status, from_env):
        assert SECRET not in done.stdout + done.stderr, "the key is never printed"
    empty = run_app(["key", "set", "--file"], tmp_path, stdin="")
    assert empty.returncode == 2 and "no key was given" in empty.stderr
    removed = run_app(["key", "remove"], tmp_path)
    assert removed.returncode == 0 and not path.exists()
    assert run_app(["key", "status"], tmp_path).returncode == 2


@pytest.mark.realtime
def test_the_terminal_uses_the_key_file_the_window_or_key_set_wrote(tmp_path) -> None:
    from support.speech import make_speech_wav

    saved = run_app(["key", "set", "--file"], tmp_path, stdin=SECRET + "\n")
    assert saved.returncode == 0, saved.stderr
    wav = make_speech_wav(tmp_path / "hello.wav", ["Hello there."])
    with FakeStreamingServer(api_key=SECRET, script=["Hello there."]) as stt, FakeLlmGateway(api_key=SECRET) as llm:
        result = run_app(["--headless", "--input", str(wav), "--jsonl", "--streaming-url", stt.url,
                          "--llm-url", llm.base_url, "--out", str(tmp_path / "sessions")], tmp_path)
        used = [c.headers.get("Authorization") for c in stt.connections]
    assert result.returncode == 0, result.stderr
    assert used == [SECRET], "no environment variable: the key came from the file"
    assert SECRET not in result.stdout + result.stderr


def test_a_key_file_that_cannot_be_made_private_is_refused_with_a_reason(no_keyring, tmp_path, monkeypatch) -> None:
    store = KeyStore(environ={}, folder=tmp_path / "conf")
    real_chmod = os.chmod
    monkeypatch.setattr(os, "chmod", lambda path, m: real_chmod(path, 0o644))  # a file system without modes
    with pytest.raises(AppError, match="cannot hold a file only you can read"):
        store.save(SECRET, to_file=True)
    assert not store.key_file().exists()
