"""HistoryWindow (View ▸ History, Ctrl+H): every session kept, newest first; a search over every
original and translation with the hits highlighted in context; the chosen session read-only in
the same side-by-side view as a live one (``SessionPane``), and importing sessions from bundles or
folders made elsewhere.

GUI thread; widgets and wiring only. The archive is asked in ``BackgroundTask``s (the list, each
search, loading a session), so a large archive never stalls the window; a search answer that
arrives after a newer search started is dropped. Coming back to the window (activation) reloads
the list, so a session recorded, renamed or deleted elsewhere meanwhile shows as it is now.
Keyboard: ↑/↓ choose a session or a hit (it opens), Enter goes to its transcript, Ctrl+F to the
search, ↓ from there to the list, Esc clears it, Delete deletes the session chosen (after the
confirmation), F5 reloads.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AppError
from app.pipeline.archive import Archive, ArchivedSession, FoundTurn, Imported, ListedSession
from app.ui.history_model import HIT_MARK, HitListModel, RichTextDelegate, Role, SessionListModel
from app.ui.session_pane import Services, SessionPane
from app.workers.tasks import BackgroundTask

PAGE = 50  # sessions listed, and hits shown, at a time ("Show more" adds as many)
SEARCH_DELAY_MS = 250  # typing pauses this long before a search goes out
OPEN_DELAY_MS = 120  # moving through the list with the arrow keys opens the session it stops on


class HistoryWindow(QMainWindow):
    session_opened = Signal(int)  # session id, once it is on screen (tests and the window's own flow)
    searched = Signal(str)  # the query whose hits are on screen
    listed = Signal()  # the session list is on screen (after each reload)

    def __init__(self, archive: Archive | None, services: Services, *, unavailable: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("History — Live Translate")
        self.archive = archive
        self.services = services
        self._query = ""
        self._search_seq = 0
        self._hit_limit = PAGE
        self._list_limit = PAGE
        self._total = 0
        self._open_after_list: tuple[int, int | None] | None = None
        self._loading: tuple[int, int | None] | None = None

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search every session: originals and translations (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.search.returnPressed.connect(self._search_now)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search_now)
        self.sessions_model = SessionListModel(self)
        self.hits_model = HitListModel(self)
        self.sessions_view = self._list_view(self.sessions_model)
        self.hits_view = self._list_view(self.hits_model)
        self.lists = QStackedWidget()
        self.lists.addWidget(self.sessions_view)
        self.lists.addWidget(self.hits_view)
        self.count_label = QLabel("")
        self.more_button = QPushButton("Show more")
        self.more_button.clicked.connect(self.show_more)
        self.more_button.hide()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(12, 8, 0, 8)
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.count_label)
        left_layout.addWidget(self.lists, 1)
        left_layout.addWidget(self.more_button)
        self._open_timer = QTimer(self)
        self._open_timer.setSingleShot(True)
        self._open_timer.setInterval(OPEN_DELAY_MS)
        self._open_timer.timeout.connect(self._open_current)

        self.pane: SessionPane | None = None
        if archive is not None:
            self.pane = SessionPane(archive, services)
            self.pane.message.connect(self.say)
            self.pane.changed.connect(self._session_changed)
            self.pane.deleted.connect(self._session_deleted)
            right: QWidget = self.pane
        else:
            right = QLabel(f"The history is not available: {unavailable}")
            right.setWordWrap(True)
            right.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.search.setEnabled(False)
        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([380, 820])
        self.setCentralWidget(self.splitter)
        self._build_menus()
        self.resize(1240, 760)
        if archive is not None:
            self.reload()

    def _list_view(self, model: SessionListModel | HitListModel) -> QListView:
        view = QListView()
        view.setModel(model)
        view.setItemDelegate(RichTextDelegate(view))
        view.setWordWrap(True)
        view.setUniformItemSizes(False)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setAlternatingRowColors(True)
        view.selectionModel().currentChanged.connect(self._current_changed)
        view.activated.connect(self._activated)
        delete = QAction("Delete the session", view)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._delete_current)
        view.addAction(delete)
        return view

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.import_bundle_action = file_menu.addAction("Import a bundle…", self.import_bundle)
        self.import_folder_action = file_menu.addAction("Import a session folder…", self.import_folder)
        file_menu.addSeparator()
        close = file_menu.addAction("Close", self.close)
        close.setShortcut(QKeySequence(QKeySequence.StandardKey.Close))
        for action in (self.import_bundle_action, self.import_folder_action):
            action.setEnabled(self.archive is not None)
        if self.pane is not None:
            session_menu = self.menuBar().addMenu("&Session")
            for action in self.pane.actions_by_name.values():
                session_menu.addAction(action)
        view_menu = self.menuBar().addMenu("&View")
        find = view_menu.addAction("Search", self.focus_search)
        find.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        refresh = view_menu.addAction("Reload", self.reload)
        refresh.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        clear = QAction("Clear the search", self)
        clear.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        clear.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        clear.triggered.connect(self.clear_search)
        self.search.addAction(clear)
        down = QAction("Go to the list", self)
        down.setShortcut(QKeySequence(Qt.Key.Key_Down))
        down.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        down.triggered.connect(self.focus_list)
        self.search.addAction(down)

    # --- the list -----------------------------------------------------------------------------

    @Slot()
    def reload(self) -> None:
        """The first pages of the list again (and of the hits, when searching)."""
        if self.archive is None:
            return
        archive, limit = self.archive, self._list_limit
        BackgroundTask.launch(lambda: (archive.overview(limit=limit), archive.count()), on_success=self._listed,
                              on_failure=self._list_failed, name="history-list")
        if self._query:
            self._search_now()

    @Slot(object)
    def _listed(self, result: tuple[list[ListedSession], int]) -> None:
        rows, total = result
        current = self._current_session_id(self.sessions_view)
        self.sessions_model.set_rows(rows)
        self._total = total
        self._update_counts()
        wanted = self._open_after_list
        self._open_after_list = None
        chosen = wanted[0] if wanted else current if current is not None else (rows[0].record.id if rows else None)
        row = self.sessions_model.row_of(chosen) if chosen is not None else None
        if row is not None:
            self.sessions_view.setCurrentIndex(self.sessions_model.index(row))
            if wanted is not None:
                self.open_session(wanted[0], wanted[1])
        elif wanted is not None:
            self.open_session(wanted[0], wanted[1])  # beyond the first page: opened all the same
        self.listed.emit()

    @Slot(object)
    def _list_failed(self, error: AppError) -> None:
        self.say(f"The history could not be read: {error.message}")

    def _update_counts(self) -> None:
        if self._query:
            shown = self.hits_model.rowCount()
            self.count_label.setText(f"{shown} hit{'s' if shown != 1 else ''} for “{self._query}”, newest first"
                                     if shown else f"Nothing found for “{self._query}”.")
            self.more_button.setVisible(shown >= self._hit_limit)
        else:
            shown = self.sessions_model.rowCount()
            self.count_label.setText(f"{self._total} session{'s' if self._total != 1 else ''}" +
                                     (f", the newest {shown} shown" if shown < self._total else "")
                                     if self._total else "No sessions yet: record one, or import one (File ▸ "
                                                         "Import a bundle…).")
            self.more_button.setVisible(shown < self._total)

    @Slot()
    def show_more(self) -> None:
        if self._query:
            self._hit_limit += PAGE
            self._search_now()
        else:
            self._list_limit += PAGE
            self.reload()

    # --- searching ----------------------------------------------------------------------------

    @Slot()
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    @Slot()
    def focus_list(self) -> None:
        """↓ in the search box: to the list shown, on its first row if none is chosen yet."""
        view = self.lists.currentWidget()
        assert isinstance(view, QListView)
        view.setFocus()
        if not view.currentIndex().isValid() and view.model().rowCount():
            view.setCurrentIndex(view.model().index(0, 0))

    @Slot()
    def clear_search(self) -> None:
        self.search.clear()
        self.sessions_view.setFocus()

    @Slot(str)
    def _search_changed(self, text: str) -> None:
        self._hit_limit = PAGE
        if text.strip():
            self._search_timer.start()
        else:
            self._search_timer.stop()
            self._query = ""
            self._search_seq += 1  # an answer still on its way is for a search no longer wanted
            self.lists.setCurrentWidget(self.sessions_view)
            self._update_counts()

    @Slot()
    def _search_now(self) -> None:
        text = self.search.text().strip()
        if self.archive is None or not text:
            return
        self._search_timer.stop()
        self._search_seq += 1
        seq, archive, limit = self._search_seq, self.archive, self._hit_limit
        BackgroundTask.launch(lambda: (seq, text, archive.find(text, limit=limit, mark=HIT_MARK)),
                              on_success=self._found, on_failure=self._list_failed, name="history-search")

    @Slot(object)
    def _found(self, result: tuple[int, str, list[FoundTurn]]) -> None:
        seq, text, hits = result
        if seq != self._search_seq:
            return  # a newer search is on its way
        self._query = text
        self.hits_model.set_hits(hits)
        self.lists.setCurrentWidget(self.hits_view)
        self._update_counts()
        self.searched.emit(text)

    # --- opening ------------------------------------------------------------------------------

    def _current_session_id(self, view: QListView) -> int | None:
        index = view.currentIndex()
        return int(index.data(Role.SESSION_ID)) if index.isValid() else None

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self._open_timer.start()

    @Slot()
    def _open_current(self) -> None:
        view = self.lists.currentWidget()
        assert isinstance(view, QListView)
        index = view.currentIndex()
        if index.isValid():
            turn = index.data(Role.TURN_INDEX) if view is self.hits_view else None
            self.open_session(int(index.data(Role.SESSION_ID)), None if turn is None else int(turn))

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        """Enter or a double click: open it (at the hit's turn) and go to its transcript."""
        self._open_timer.stop()
        self._open_current()
        if self.pane is not None:
            self.pane.view.setFocus()

    def open_session(self, session_id: int, at_turn: int | None = None) -> None:
        if self.archive is None:
            return
        archive = self.archive
        self._loading = (session_id, at_turn)
        BackgroundTask.launch(lambda: (session_id, at_turn, archive.load(session_id)), on_success=self._opened,
                              on_failure=self._open_failed, name="history-open")

    def show_session(self, session_id: int, at_turn: int | None = None) -> None:
        """Bring the window up on a session (after it was recorded, say), searching cleared."""
        self.clear_search()
        self._open_after_list = (session_id, at_turn)
        self.reload()

    @Slot(object)
    def _opened(self, result: tuple[int, int | None, ArchivedSession]) -> None:
        session_id, at_turn, session = result
        if self._loading != (session_id, at_turn) or self.pane is None:
            return  # the user moved on before it arrived
        self.pane.show_session(session, at_turn)
        self.session_opened.emit(session_id)

    @Slot(object)
    def _open_failed(self, error: AppError) -> None:
        self.say(error.message)
        self.reload()  # deleted elsewhere, most likely: the list shows what is there now

    @Slot()
    def _delete_current(self) -> None:
        if self.pane is not None and self.pane.session is not None:
            self.pane.delete()

    @Slot(int)
    def _session_changed(self, session_id: int) -> None:
        self.reload()

    @Slot(int)
    def _session_deleted(self, session_id: int) -> None:
        self.reload()

    # --- importing ----------------------------------------------------------------------------

    @Slot()
    def import_bundle(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Import a session bundle", str(Path.home()), "Bundle (*.zip)")
        if chosen:
            self.import_path(Path(chosen))

    @Slot()
    def import_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Import a session folder (or a folder of them)",
                                                  str(Path.home()))
        if chosen:
            self.import_path(Path(chosen))

    def import_path(self, path: Path) -> None:
        if self.archive is None:
            return
        archive, into = self.archive, self.services.sessions_dir()
        self.say(f"Importing {path.name}…")
        BackgroundTask.launch(lambda: archive.import_path(path, into=into), on_success=self._imported,
                              on_failure=self._import_failed, name="history-import")

    @Slot(object)
    def _imported(self, found: list[Imported]) -> None:
        if not found:
            return
        first = found[0]
        notes = " ".join(f"{i.title}: {i.note}." for i in found if i.note)
        what = f"“{first.title}”" if len(found) == 1 else f"{len(found)} sessions"
        self.say(f"Imported {what} into the history. {notes}".strip())
        self.show_session(first.session_id)

    @Slot(object)
    def _import_failed(self, error: AppError) -> None:
        self.say(f"Not imported: {error.message}")

    # --- the window ---------------------------------------------------------------------------

    @Slot(str)
    def say(self, text: str) -> None:
        self.statusBar().showMessage(text, 15000)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow() and self.archive is not None:
            self.reload()  # recorded, renamed or deleted elsewhere meanwhile
            if self.pane is not None and self.pane.session is not None and self.pane.job is None:
                session_id, archive = self.pane.session.record.id, self.archive
                BackgroundTask.launch(lambda: (session_id, archive.exists(session_id)), on_success=self._still_there,
                                      name="history-check")

    @Slot(object)
    def _still_there(self, result: tuple[int, bool]) -> None:
        session_id, there = result
        pane = self.pane
        if not there and pane is not None and pane.session is not None and pane.session.record.id == session_id:
            pane.mark_gone()

    def closeEvent(self, event: QCloseEvent) -> None:
        # A job keeps going to its end in the background; what it does is kept either way.
        if self.pane is not None and self.pane.job is not None:
            self.pane.cancel_job()
        event.accept()
