"""ShareWindow: the caption page's address, its QR code, who is following, and the switch.

GUI thread; widgets only. It asks for sharing (``share_requested(Scope)``, ``stop_requested``)
and shows what ``CaptionSharing`` (app/workers) reports: the address with its token, the same
page for OBS on this computer, the number of viewers, and in plain words what "on this network"
means for privacy.
"""
from __future__ import annotations

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.qr_code import QrCode
from app.workers.caption_sharing import Scope, SharingInfo

NETWORK_NOTE = ("<b>Plain HTTP.</b> The page travels unencrypted: anyone who can watch this network's traffic "
                "(the same Wi-Fi, its operator) can read the captions. The secret part of the address keeps "
                "everyone else out, so give it only to the people in the room. Stop sharing when you are done.")
COMPUTER_NOTE = ("Only this computer can open these addresses (for an OBS browser source, or a second window). "
                 "To let phones in the room follow, share on this network.")
OFF_TEXT = ("Let people follow this session's captions on their own screens, each in a language of the "
            "session, or put a caption strip into OBS. Nothing is shared until you start it.")


def viewers_text(count: int) -> str:
    if count == 0:
        return "Nobody is following yet."
    return f"{count} {'person is' if count == 1 else 'people are'} following."


class ShareWindow(QWidget):
    share_requested = Signal(object)  # Scope
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Share captions — Live Translate")
        self.info: SharingInfo | None = None
        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.explanation = QLabel(OFF_TEXT)
        self.explanation.setWordWrap(True)
        self.address = QLineEdit()
        self.address.setReadOnly(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy_address)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the page in your browser")
        self.open_button.clicked.connect(self._open_page)
        self.qr = QrCode()
        self.viewers = QLabel(viewers_text(0))
        self.obs_address = QLineEdit()
        self.obs_address.setReadOnly(True)
        self.obs_copy = QPushButton("Copy")
        self.obs_copy.clicked.connect(self.copy_obs_address)
        self.obs_label = QLabel("For OBS on this computer (Browser source; transparent caption strip):")
        self.network_button = QPushButton("Share on this network")
        self.network_button.setToolTip("Phones and laptops on this network can open the page")
        self.network_button.clicked.connect(self._share_network)
        self.computer_button = QPushButton("This computer only")
        self.computer_button.setToolTip("Only this computer can open the page (for OBS)")
        self.computer_button.clicked.connect(self._share_computer)
        self.stop_button = QPushButton("Stop sharing")
        self.stop_button.clicked.connect(self.stop_requested)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.explanation)
        row = QHBoxLayout()
        row.addWidget(self.address, 1)
        row.addWidget(self.copy_button)
        row.addWidget(self.open_button)
        layout.addLayout(row)
        layout.addWidget(self.qr, 1)
        layout.addWidget(self.viewers)
        layout.addWidget(self.obs_label)
        obs_row = QHBoxLayout()
        obs_row.addWidget(self.obs_address, 1)
        obs_row.addWidget(self.obs_copy)
        layout.addLayout(obs_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.network_button)
        buttons.addWidget(self.computer_button)
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        layout.addStretch(0)  # takes the QR code's room while there is none to show (not shared, 127.0.0.1)
        layout.addLayout(buttons)
        self._layout = layout
        self.resize(520, 680)
        self.set_info(None)

    def _give_room(self, to_qr: bool) -> None:
        """The space below the text goes to the QR code when there is one, else it stays below."""
        spacer = self._layout.count() - 2
        self._layout.setStretch(spacer, 0 if to_qr else 1)

    @Slot(object)
    def set_info(self, info: SharingInfo | None) -> None:
        self.info = info
        sharing = info is not None
        for widget in (self.address, self.copy_button, self.open_button, self.qr, self.viewers, self.obs_label,
                       self.obs_address, self.obs_copy, self.stop_button):
            widget.setVisible(sharing)
        self._give_room(info is not None and info.scope is Scope.NETWORK)
        if info is None:
            self.title.setText("Captions are not shared")
            self.explanation.setText(OFF_TEXT)
            self.qr.set_text("")
            self.address.clear()
            self.obs_address.clear()
            self.network_button.setText("Share on this network")
            self.computer_button.setText("This computer only")
            self.network_button.show()
            self.computer_button.show()
            return
        network = info.scope is Scope.NETWORK
        self.title.setText("Captions on this network" if network else "Captions on this computer")
        self.explanation.setText(NETWORK_NOTE if network else COMPUTER_NOTE)
        self.address.setText(info.url)
        self.address.setCursorPosition(0)  # the host first: the token's end matters less
        self.address.setToolTip("\n".join(("Also:", *info.other_urls)) if info.other_urls else "")
        self.qr.set_text(info.url)
        self.qr.setVisible(network)  # a phone cannot open a 127.0.0.1 address: no code to scan
        self.obs_address.setText(info.obs_url)
        self.obs_address.setCursorPosition(0)
        self.network_button.setVisible(not network)
        self.computer_button.setVisible(network)
        self.network_button.setText("Share on this network instead")
        self.computer_button.setText("This computer only instead")

    @Slot(int)
    def set_viewers(self, count: int) -> None:
        self.viewers.setText(viewers_text(count))

    @Slot()
    def copy_address(self) -> None:
        QGuiApplication.clipboard().setText(self.address.text())

    @Slot()
    def copy_obs_address(self) -> None:
        QGuiApplication.clipboard().setText(self.obs_address.text())

    @Slot()
    def _open_page(self) -> None:
        if self.info is not None:
            QDesktopServices.openUrl(QUrl(self.info.local_url))

    @Slot()
    def _share_network(self) -> None:
        self.share_requested.emit(Scope.NETWORK)

    @Slot()
    def _share_computer(self) -> None:
        self.share_requested.emit(Scope.THIS_COMPUTER)
