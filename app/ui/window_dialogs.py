"""The main window's dialogs and offers: Settings, Export, and a session recovered after a crash.

GUI thread. Split out of ``main_window.py`` to keep each module to one idea. Dialogs open
window-modal with ``open()`` (never a nested ``exec()`` loop), and everything slow (the keyring,
loading a recovered transcript) runs in a ``BackgroundTask``.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from app.core.errors import AppError
from app.core.transcript import Gap, Turn
from app.settings.keystore import KeyStatus, KeyStore
from app.ui.export_dialog import ExportDialog
from app.ui.settings_dialog import SettingsDialog
from app.workers.tasks import BackgroundTask

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


class RecoveredLike(Protocol):
    """What the window shows of ``app.pipeline.recovery.RecoveredSession``."""

    @property
    def session_id(self) -> int: ...
    @property
    def folder(self) -> Path: ...
    @property
    def audio_path(self) -> Path: ...
    @property
    def audio_seconds(self) -> float: ...
    @property
    def turns(self) -> int: ...
    @property
    def problem(self) -> str: ...
    @property
    def restored(self) -> str: ...


class WindowDialogs(QObject):
    def __init__(self, window: MainWindow, key_store: KeyStore) -> None:
        super().__init__(window)
        self._window = window
        self._key_store = key_store
        self._recovered: RecoveredLike | None = None

    # --- settings -----------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        w = self._window
        if w.settings_dialog is not None and w.settings_dialog.isVisible():
            w.settings_dialog.raise_()
            return w.settings_dialog
        dialog = SettingsDialog(w.settings, w.key_status, keyring_available=w.key_status.persistent,
                                default_sessions_dir=w.default_sessions_dir, key_checker=w.key_checker, parent=w)
        dialog.accepted.connect(self._settings_accepted)
        w.settings_dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def _settings_accepted(self) -> None:
        w = self._window
        dialog = w.settings_dialog
        if dialog is None:
            return
        w.apply_settings(dialog.result_settings())
        key = dialog.entered_key()
        if key is not None:
            store = self._key_store

            def save() -> KeyStatus:
                store.save(key)
                return store.load()  # the key the app will use (the environment still wins)

            BackgroundTask.launch(save, on_success=self._key_saved, on_failure=self._key_failed, name="key-save")

    @Slot(object)
    def _key_saved(self, status: KeyStatus) -> None:
        w = self._window
        w.key_changed(status)
        if not status.key:
            w.status.show_message("The API key was removed.")
        elif status.source == "environment":
            w.status.show_message("Saved. ASSEMBLYAI_API_KEY is set in the environment, so that key is used.")
        elif status.persistent:
            w.status.show_message("API key saved in the system keyring.")
        else:
            w.status.show_message("No system keyring was found: the API key is kept until you close Live Translate.",
                                  timeout_ms=15000)

    @Slot(object)
    def _key_failed(self, error: AppError) -> None:
        self._window.status.show_message(f"The API key could not be saved: {error.message}")

    # --- export -------------------------------------------------------------------------------

    def open_export(self) -> ExportDialog | None:
        w = self._window
        entries = w.model.entries()
        if not entries:
            w.status.show_message("Nothing to export yet: record a session first.")
            return None
        folder = w.session_folder
        name = folder.name if folder is not None else "transcript"
        metadata: dict[str, object] = {"title": name, "started": name, "targets": list(w.model.languages)}
        dialog = ExportDialog(entries, w.model.languages, metadata=metadata,
                              default_folder=folder or w.sessions_dir, base_name=f"{name}-transcript",
                              audio_path=w.audio_path, parent=w)
        dialog.exported.connect(self._exported)
        w.export_dialog = dialog
        dialog.open()
        return dialog

    @Slot(list)
    def _exported(self, paths: list[Path]) -> None:
        self._window.status.show_message("Exported: " + ", ".join(str(p) for p in paths), timeout_ms=15000)

    # --- crash recovery -----------------------------------------------------------------------

    def offer_recovered(self, sessions: Sequence[RecoveredLike]) -> None:
        if not sessions:
            return
        latest = sessions[-1]
        self._recovered = latest
        more = f" ({len(sessions) - 1} earlier unfinished sessions were recovered too.)" if len(sessions) > 1 else ""
        problem = f" Note: {html.escape(latest.problem)}." if latest.problem else ""
        folder_there = latest.folder.is_dir()
        if folder_there:
            text = (f"<b>Live Translate closed unexpectedly during a session.</b> Recovered in "
                    f"{html.escape(latest.folder.name)}: {html.escape(latest.restored)}.{problem}{more}")
        else:
            text = (f"<b>An unfinished session's folder is gone</b> ({html.escape(str(latest.folder))}); "
                    f"{latest.turns} turns are kept in the session archive.{more}")
        banner = self._window.recovery_banner
        banner.set_text(text)
        if not banner.buttons:
            if self._window.recovery_loader is not None:
                banner.add_button("Show transcript", self.show_recovered, default=True)
            if folder_there:
                banner.add_button("Open folder", self.open_recovered_folder)
        banner.show()

    @Slot()
    def show_recovered(self) -> None:
        w, session, loader = self._window, self._recovered, self._window.recovery_loader
        if session is None or loader is None:
            return
        if w.controller.running:
            w.status.show_message("Stop the recording first to look at the recovered session.")
            return
        BackgroundTask.launch(lambda: loader(session), on_success=self._recovered_loaded,
                              on_failure=self._recovery_failed, name="recovery-load")

    @Slot(object)
    def _recovered_loaded(self, loaded: tuple[list[Turn | Gap], tuple[str, ...]]) -> None:
        w, session = self._window, self._recovered
        if session is None or w.controller.running:
            return
        entries, languages = loaded
        w.model.load(list(entries), tuple(languages))
        w.audio_path, w.session_folder = session.audio_path, session.folder
        w.status.set_turns(w.model.turn_count())
        w.status.show_message(f"Showing the recovered session {session.folder.name}.")
        w.recovery_banner.hide()
        w.refresh()

    @Slot(object)
    def _recovery_failed(self, error: AppError) -> None:
        self._window.status.show_message(f"The recovered session could not be loaded: {error.message}")

    @Slot()
    def open_recovered_folder(self) -> None:
        if self._recovered is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._recovered.folder)))
