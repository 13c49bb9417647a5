"""CaptionViews: the caption overlay and the caption page, as the main window offers them.

GUI thread; widgets and wiring only. Adds to the main window: in the View menu, "Caption overlay"
(Ctrl+Shift+O) and "let clicks pass through" (Ctrl+Shift+L, the way back once the overlay ignores
the mouse); a Share menu ("Captions on this network…", "…on this computer (for OBS)…", "Stop
sharing"); and, at the right of the menu bar, a toggle for the overlay and a button that shows
whether captions are shared and how many people follow. The overlay reads the window's own
``TranscriptModel``. Sharing itself is ``CaptionSharing`` (app/workers), handed in by the
composition root with ``set_sharing``; without it the Share entries are disabled.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMenu, QToolButton, QWidget

from app.core.errors import AppError
from app.ui.caption_overlay import WAYLAND_NOTE, CaptionOverlay, PlacesStore, on_wayland
from app.ui.share_window import ShareWindow
from app.ui.transcript_model import TranscriptModel
from app.workers.caption_sharing import CaptionSharing, Scope, SharingInfo

OVERLAY_SHORTCUT = "Ctrl+Shift+O"
CLICK_THROUGH_SHORTCUT = "Ctrl+Shift+L"
NO_SHARING = "Sharing is not available in this window."


class CaptionViews(QObject):
    def __init__(self, window: QMainWindow, model: TranscriptModel, view_menu: QMenu, store: PlacesStore,
                 say: Callable[[str], None]) -> None:
        super().__init__(window)
        self.window = window
        self._say = say
        self.sharing: CaptionSharing | None = None
        # No parent: a window the main one owned would be minimised with it by some desktops,
        # and the overlay is for when the main window is out of the way.
        self.overlay = CaptionOverlay(model, store)
        self.overlay.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.share_window = ShareWindow(window)
        self.share_window.setWindowFlag(Qt.WindowType.Window, True)
        self._wayland_said = False

        self.overlay_action = self._action("Caption overlay", OVERLAY_SHORTCUT, checkable=True)
        self.overlay_action.setToolTip(f"Big captions above every window ({OVERLAY_SHORTCUT})")
        self.overlay_action.setIconText("Overlay")  # what its tool button says
        self.overlay_action.toggled.connect(self.set_overlay_visible)
        self.click_through_action = self._action("Caption overlay: let clicks pass through", CLICK_THROUGH_SHORTCUT,
                                                 checkable=True)
        self.click_through_action.setToolTip("Clicks on the overlay reach the window under it; "
                                             f"{CLICK_THROUGH_SHORTCUT} here brings them back")
        self.click_through_action.toggled.connect(self.overlay.set_click_through)
        self.overlay.closed.connect(self._overlay_closed)
        self.overlay.click_through_changed.connect(self.click_through_action.setChecked)
        view_menu.addSeparator()
        view_menu.addAction(self.overlay_action)
        view_menu.addAction(self.click_through_action)

        self.share_network_action = self._action("Captions on this network…")
        self.share_network_action.triggered.connect(self.share_on_network)
        self.share_computer_action = self._action("Captions on this computer (for OBS)…")
        self.share_computer_action.triggered.connect(self.share_on_computer)
        self.show_share_action = self._action("Sharing…")
        self.show_share_action.triggered.connect(self.show_share_window)
        self.stop_share_action = self._action("Stop sharing captions")
        self.stop_share_action.triggered.connect(self.stop_sharing)
        bar = window.menuBar()
        last = bar.actions()[-1] if bar.actions() else None  # Help stays the last menu, as in every desktop app
        share_menu = QMenu("S&hare", bar)
        if last is not None and last.text() == "&Help":
            bar.insertMenu(last, share_menu)
        else:
            bar.addMenu(share_menu)
        for action in (self.share_network_action, self.share_computer_action, self.show_share_action,
                       self.stop_share_action):
            share_menu.addAction(action)
        self.share_window.share_requested.connect(self._share_requested)
        self.share_window.stop_requested.connect(self.stop_sharing)

        # Kept on self: PySide does not hand a corner widget's ownership to the menu bar, so a
        # local one would be deleted with its Python wrapper.
        corner = self.corner = QWidget()
        row = QHBoxLayout(corner)
        row.setContentsMargins(0, 0, 6, 0)
        self.overlay_button = QToolButton()
        self.overlay_button.setDefaultAction(self.overlay_action)
        self.share_button = QToolButton()
        # The menu bar sizes its corner once: room for the longest text the button will show.
        self.share_button.setMinimumWidth(self.share_button.fontMetrics().horizontalAdvance(
            "Sharing · 888 following") + 16)
        self.share_button.clicked.connect(self.show_share_window)
        row.addWidget(self.overlay_button)
        row.addWidget(self.share_button)
        window.menuBar().setCornerWidget(corner, Qt.Corner.TopRightCorner)
        window.installEventFilter(self)
        self._update_share_controls()

    def _action(self, text: str, shortcut: str | None = None, *, checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        action.setCheckable(checkable)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        self.window.addAction(action)  # its shortcut works wherever the focus is in the window
        return action

    # --- the overlay --------------------------------------------------------------------------

    @Slot(bool)
    def set_overlay_visible(self, visible: bool) -> None:
        if visible == self.overlay.isVisible():
            return
        if visible:
            self.overlay.show()
            if on_wayland() and not self._wayland_said:
                self._wayland_said = True
                self._say(WAYLAND_NOTE)
        else:
            self.overlay.set_click_through(False)  # a hidden overlay comes back clickable
            self.overlay.hide()
        self.overlay_action.setChecked(visible)

    @Slot()
    def _overlay_closed(self) -> None:
        self.overlay.set_click_through(False)
        self.overlay_action.setChecked(False)

    # --- sharing ------------------------------------------------------------------------------

    def set_sharing(self, sharing: CaptionSharing) -> None:
        self.sharing = sharing
        sharing.sharing_changed.connect(self._sharing_changed)
        sharing.viewers_changed.connect(self._viewers_changed)
        sharing.failed.connect(self._sharing_failed)
        self.share_window.set_info(sharing.info)
        self._update_share_controls()

    @Slot()
    def share_on_network(self) -> None:
        self._share_requested(Scope.NETWORK)

    @Slot()
    def share_on_computer(self) -> None:
        self._share_requested(Scope.THIS_COMPUTER)

    @Slot(object)
    def _share_requested(self, scope: Scope) -> None:
        if self.sharing is None:
            self._say(NO_SHARING)
            return
        self.sharing.start(scope)
        self.show_share_window()

    @Slot()
    def stop_sharing(self) -> None:
        if self.sharing is not None:
            self.sharing.stop()

    @Slot()
    def show_share_window(self) -> None:
        self.share_window.show()
        self.share_window.raise_()
        self.share_window.activateWindow()

    @Slot(object)
    def _sharing_changed(self, info: SharingInfo | None) -> None:
        self.share_window.set_info(info)
        self.share_window.set_viewers(0)
        self._update_share_controls()

    @Slot(int)
    def _viewers_changed(self, count: int) -> None:
        self.share_window.set_viewers(count)
        self._update_share_controls()

    @Slot(object)
    def _sharing_failed(self, error: AppError) -> None:
        self._say(error.message)
        self.share_window.explanation.setText(error.message)

    def _update_share_controls(self) -> None:
        info = self.sharing.info if self.sharing is not None else None
        available = self.sharing is not None
        for action in (self.share_network_action, self.share_computer_action, self.show_share_action):
            action.setEnabled(available)
            action.setToolTip("" if available else NO_SHARING)
        self.stop_share_action.setEnabled(info is not None)
        if info is None:
            self.share_button.setText("Share captions")
            self.share_button.setToolTip("Let people follow the captions on their own screens, or in OBS")
        else:
            count = self.sharing.viewers if self.sharing is not None else 0
            where = "on this network" if info.scope is Scope.NETWORK else "on this computer"
            self.share_button.setText(f"Sharing · {count} following")
            self.share_button.setToolTip(f"Captions are shared {where}; click for the address and QR code")
        self.share_button.setEnabled(available)

    # --- the main window's life ---------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The main window closed (not minimised: that hide is spontaneous): its views go with it.
        if watched is self.window and event.type() == QEvent.Type.Hide and not event.spontaneous():
            self.overlay.hide()
            self.share_window.hide()
        return False

    def close_windows(self) -> None:
        """At application exit (composition root): the overlay has no parent to take it along."""
        self.overlay.hide()
        self.overlay.deleteLater()
