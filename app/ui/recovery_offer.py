"""The offer of a session recovered after a crash: a banner, and its transcript on request.

GUI thread. ``RecoveryOffer`` owns the banner's text and buttons and the recovered session; it
loads the transcript in a ``BackgroundTask`` (through the loader the composition root gives it)
and hands it to the window through ``loaded``. It knows nothing else of the window: ``busy()``
says whether a recording is running (then the transcript on screen is not replaced).
"""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal, Slot

from app.core.errors import AppError
from app.core.transcript import Gap, Turn
from app.core.who import NO_NAMES, Names
from app.core.wording import counted
from app.ui.banner import Banner
from app.workers.tasks import BackgroundTask

__all__ = ["LoadedSession", "RecoveredLike", "RecoveryLoader", "RecoveryOffer"]


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


# Off the GUI thread: the recovered session's entries and its target languages, and (when the
# archive has them) the names given to its speakers and sides.
Loaded = tuple[list[Turn | Gap], tuple[str, ...]] | tuple[list[Turn | Gap], tuple[str, ...], Names]
RecoveryLoader = Callable[[RecoveredLike], Loaded]


@dataclass(frozen=True)
class LoadedSession:
    entries: list[Turn | Gap]
    languages: tuple[str, ...]
    folder: Path
    audio_path: Path
    names: Names = NO_NAMES
    session_id: int | None = None  # its archive entry


class RecoveryOffer(QObject):
    loaded = Signal(object)  # LoadedSession, for the window to show
    message = Signal(str)  # for the status bar
    folder_requested = Signal(object)  # Path: the recovered session's folder, to open in the file manager

    def __init__(self, banner: Banner, loader: RecoveryLoader | None, *, busy: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._banner = banner
        self._loader = loader
        self._busy = busy
        self._recovered: RecoveredLike | None = None

    def offer(self, sessions: Sequence[RecoveredLike]) -> None:
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
                    f"{counted(latest.turns, 'turn')} {'is' if latest.turns == 1 else 'are'} kept in the session "
                    f"archive.{more}")
        banner = self._banner
        banner.set_text(text)
        if not banner.buttons:
            if self._loader is not None:
                banner.add_button("Show transcript", self.show_recovered, default=True)
            if folder_there:
                banner.add_button("Open folder", self.open_folder)
        banner.show()

    @Slot()
    def show_recovered(self) -> None:
        session, loader = self._recovered, self._loader
        if session is None or loader is None:
            return
        if self._busy():
            self.message.emit("Stop the recording first to look at the recovered session.")
            return
        BackgroundTask.launch(lambda: loader(session), on_success=self._loaded, on_failure=self._failed,
                              name="recovery-load")

    @Slot(object)
    def _loaded(self, loaded: tuple[object, ...]) -> None:
        session = self._recovered
        if session is None or self._busy():
            return
        entries, languages = loaded[0], loaded[1]
        names = loaded[2] if len(loaded) > 2 and isinstance(loaded[2], Names) else NO_NAMES
        assert isinstance(entries, list) and isinstance(languages, tuple)
        self.withdraw()
        self.loaded.emit(LoadedSession(list(entries), tuple(languages), session.folder, session.audio_path, names,
                                       session.session_id))

    @Slot(object)
    def _failed(self, error: AppError) -> None:
        self.message.emit(f"The recovered session could not be loaded: {error.message}")

    def withdraw(self) -> None:
        """The offer is over (acted on, or a new recording started): the banner goes."""
        self._banner.hide()

    @Slot()
    def open_folder(self) -> None:
        if self._recovered is not None:
            self.withdraw()
            self.folder_requested.emit(self._recovered.folder)
