"""Settings, from the open dialog to what is kept: the settings the window applies, and the API key
saved off the GUI thread.

GUI thread. ``SettingsFlow`` owns its dialog (opened window-modal with ``open()``, never a nested
``exec()``) and the key store; it tells the window what changed through signals and reads nothing
of the window's own. Slow work (the keyring) runs in a ``BackgroundTask``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from app.core.errors import AppError
from app.core.settings import Settings
from app.settings.keystore import KeyStatus, KeyStore
from app.ui.settings_dialog import KeyChecker, SettingsDialog
from app.workers.tasks import BackgroundTask

__all__ = ["DEFAULT_TIMEOUT", "SettingsFlow"]

DEFAULT_TIMEOUT = -1  # the status bar's usual time for a message


class SettingsFlow(QObject):
    settings_chosen = Signal(object)  # Settings, after Save
    key_changed = Signal(object)  # KeyStatus: the key the app uses now (the environment still wins)
    message = Signal(str, int)  # for the status bar: text, timeout in ms (DEFAULT_TIMEOUT: the usual one)

    def __init__(self, parent: QWidget, key_store: KeyStore, *, key_checker: KeyChecker,
                 default_sessions_dir: Path) -> None:
        super().__init__(parent)
        self._parent = parent
        self._key_store = key_store
        self._key_checker = key_checker
        self._default_sessions_dir = default_sessions_dir
        self.dialog: SettingsDialog | None = None

    def open(self, settings: Settings, key_status: KeyStatus) -> SettingsDialog:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        dialog = SettingsDialog(settings, key_status, keyring_available=self._key_store.keyring_available(),
                                default_sessions_dir=self._default_sessions_dir, key_checker=self._key_checker,
                                key_file=self._key_store.key_file(key_status.service), parent=self._parent)
        dialog.accepted.connect(self._accepted)
        self.dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def _accepted(self) -> None:
        dialog = self.dialog
        if dialog is None:
            return
        self.settings_chosen.emit(dialog.result_settings())
        key = dialog.entered_key()
        if key is not None:
            store, to_file = self._key_store, dialog.key_to_file()

            def save() -> KeyStatus:
                saved = store.save(key, to_file=to_file)
                return store.load(saved.service)  # the key the app will use (the environment still wins)

            BackgroundTask.launch(save, on_success=self._key_saved, on_failure=self._key_failed, name="key-save")

    @Slot(object)
    def _key_saved(self, status: KeyStatus) -> None:
        self.key_changed.emit(status)
        if not status.key:
            self.message.emit("The API key was removed.", DEFAULT_TIMEOUT)
        elif status.source == "environment":
            self.message.emit(f"Saved. {status.env_var} is set in the environment, so that key is used.",
                              DEFAULT_TIMEOUT)
        elif status.source == "keyring":
            self.message.emit("API key saved in the system keyring.", DEFAULT_TIMEOUT)
        elif status.source == "file":
            self.message.emit(f"API key saved in {status.path}, a file only you can read.", 15000)
        else:
            self.message.emit("No system keyring was found: the API key is kept until you close Live Translate. "
                              "To keep it, tick “Keep the key in a file” in Settings.", 15000)

    @Slot(object)
    def _key_failed(self, error: AppError) -> None:
        self.message.emit(f"The API key could not be saved: {error.message}", DEFAULT_TIMEOUT)
