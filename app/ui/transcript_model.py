"""TranscriptModel: one row per turn (time, original, one column per target language, delay).

GUI thread only; fed by the controller's signals. The turn in progress is one *pending* row at the
bottom whose text is replaced in place on every interim update and which disappears when the turn
is final (the final row takes its place), so interim text is never duplicated. Gaps in the
transcript (the connection was down; the WAV kept the audio) are rows of their own. The model only
stores and presents; colours and fonts come from the delegate, which reads the ``CellState`` role.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Slot

from app.core.languages import language_name
from app.core.timefmt import span_label, time_label
from app.core.transcript import Gap, Translation, TranslationStatus, Turn

TRANSLATING = "translating…"
NOT_TRANSLATED = "not translated — retry"
TIME_COLUMN, ORIGINAL_COLUMN = 0, 1
ModelIndex = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invalid index Qt passes for "no parent"; never mutated


class Role(IntEnum):
    CELL_STATE = Qt.ItemDataRole.UserRole + 1  # CellState
    TURN_INDEX = Qt.ItemDataRole.UserRole + 2  # int, turn rows only
    LANGUAGE = Qt.ItemDataRole.UserRole + 3  # target code, translation cells only


class CellState(str, Enum):
    NORMAL = "normal"
    PENDING = "pending"  # interim text, may still change
    TRANSLATING = "translating"
    FAILED = "failed"  # not translated: click to retry
    GAP = "gap"
    SECONDARY = "secondary"  # times, delays, "—"


@dataclass
class _Row:
    turn: Turn | None = None
    gap: Gap | None = None
    requested: tuple[str, ...] = ()  # languages this turn is being translated into
    interim: str = ""
    pending: bool = False


@dataclass
class _Columns:
    languages: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)


def gap_text(gap: Gap) -> str:
    return f"no transcript {span_label(gap.start_ms, gap.end_ms)}, audio kept"


class TranscriptModel(QAbstractTableModel):
    def __init__(self, languages: tuple[str, ...] = (), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []
        self._by_index: dict[int, int] = {}  # turn index -> row
        self._cols = _Columns(languages, {c: language_name(c) for c in languages})

    # --- shape --------------------------------------------------------------------------------

    @property
    def languages(self) -> tuple[str, ...]:
        return self._cols.languages

    @property
    def delay_column(self) -> int:
        return 2 + len(self._cols.languages)

    def language_column(self, code: str) -> int:
        return 2 + self._cols.languages.index(code)

    def rowCount(self, parent: ModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else 3 + len(self._cols.languages)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == TIME_COLUMN:
                return "Time"
            if section == ORIGINAL_COLUMN:
                return "Original"
            if section == self.delay_column:
                return "Delay"
            return self._cols.names[self._cols.languages[section - 2]]
        if role == Qt.ItemDataRole.ToolTipRole and section == self.delay_column:
            return "Seconds from the end of the turn until its translations arrived"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def is_gap_row(self, row: int) -> bool:
        return self._rows[row].gap is not None

    def is_pending_row(self, row: int) -> bool:
        return self._rows[row].pending

    # --- data ---------------------------------------------------------------------------------

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if col == self.delay_column else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignTop)
        if row.gap is not None:
            return self._gap_data(row.gap, col, role)
        if row.pending:
            return self._pending_data(row, col, role)
        assert row.turn is not None
        return self._turn_data(row, col, role)

    def _gap_data(self, gap: Gap, col: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == TIME_COLUMN:
                return time_label(gap.start_ms)
            if col == ORIGINAL_COLUMN:
                return gap_text(gap)
        if role == Role.CELL_STATE:
            return CellState.GAP
        if role == Qt.ItemDataRole.ToolTipRole:
            reason = f" ({gap.reason})" if gap.reason else ""
            return f"Nothing was transcribed here{reason}; the audio is in the session's WAV file."
        return None

    def _pending_data(self, row: _Row, col: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole and col == ORIGINAL_COLUMN:
            return row.interim
        if role == Role.CELL_STATE:
            return CellState.PENDING
        if role == Qt.ItemDataRole.ToolTipRole and col == ORIGINAL_COLUMN:
            return "Still listening: this text may change until the turn ends."
        return None

    def _turn_data(self, row: _Row, col: int, role: int) -> object:
        turn = row.turn
        assert turn is not None
        if role == Role.TURN_INDEX:
            return turn.index
        if col == TIME_COLUMN:
            if role == Qt.ItemDataRole.DisplayRole:
                return time_label(turn.start_ms)
            if role == Role.CELL_STATE:
                return CellState.SECONDARY
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{time_label(turn.start_ms)}–{time_label(turn.end_ms)} in the session recording"
            return None
        if col == ORIGINAL_COLUMN:
            if role == Qt.ItemDataRole.DisplayRole:
                return turn.text
            if role == Role.CELL_STATE:
                return CellState.NORMAL
            return None
        if col == self.delay_column:
            return self._delay_data(turn, role)
        code = self._cols.languages[col - 2]
        if role == Role.LANGUAGE:
            return code
        return self._translation_data(row, code, role)

    def _translation_data(self, row: _Row, code: str, role: int) -> object:
        turn = row.turn
        assert turn is not None
        tr = turn.translations.get(code)
        if tr is not None and tr.status is TranslationStatus.DONE:
            state, text = CellState.NORMAL, tr.text
            tip = f"{self._cols.names[code]}: translated {_seconds(tr.latency_ms)} after the turn ended"
            tip += f" ({tr.model})" if tr.model else ""
        elif tr is not None and tr.status is TranslationStatus.FAILED:
            state, text = CellState.FAILED, NOT_TRANSLATED
            tip = f"{tr.error or 'The translation failed.'}\nClick to try again."
        elif tr is not None or code in row.requested:
            state, text = CellState.TRANSLATING, TRANSLATING
            tip = f"Waiting for the {self._cols.names[code]} translation"
        else:
            state, text = CellState.SECONDARY, "—"
            tip = f"{self._cols.names[code]} was not chosen when this turn was spoken"
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == Role.CELL_STATE:
            return state
        if role == Qt.ItemDataRole.ToolTipRole:
            return tip
        return None

    def _delay_data(self, turn: Turn, role: int) -> object:
        latencies = [tr.latency_ms for code, tr in turn.translations.items()
                     if code in self._cols.languages and tr.status is TranslationStatus.DONE
                     and tr.latency_ms is not None]
        if role == Qt.ItemDataRole.DisplayRole:
            return _seconds(max(latencies)) if latencies else ""
        if role == Role.CELL_STATE:
            return CellState.SECONDARY
        if role == Qt.ItemDataRole.ToolTipRole and latencies:
            parts = [f"{self._cols.names[c]}: {_seconds(tr.latency_ms)}" for c, tr in turn.translations.items()
                     if c in self._cols.languages and tr.latency_ms is not None and tr.status is TranslationStatus.DONE]
            return "Turn end → translation\n" + "\n".join(parts)
        return None

    # --- updates (GUI thread) -----------------------------------------------------------------

    def set_languages(self, languages: tuple[str, ...]) -> None:
        if languages == self._cols.languages:
            return
        self.beginResetModel()
        self._cols = _Columns(languages, {c: language_name(c) for c in languages})
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._by_index.clear()
        self.endResetModel()

    @Slot(str)
    def set_interim(self, text: str) -> None:
        has_pending = bool(self._rows) and self._rows[-1].pending
        last = len(self._rows) - 1
        if text and has_pending:
            self._rows[last].interim = text
            cell = self.index(last, ORIGINAL_COLUMN)
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DisplayRole])
        elif text:
            self.beginInsertRows(QModelIndex(), last + 1, last + 1)
            self._rows.append(_Row(interim=text, pending=True))
            self.endInsertRows()
        elif has_pending:
            self.beginRemoveRows(QModelIndex(), last, last)
            self._rows.pop()
            self.endRemoveRows()

    @Slot(object)
    def add_turn(self, turn: Turn) -> None:
        if turn.index in self._by_index:
            return  # exactly one row per turn, whatever arrives twice
        self._insert(_Row(turn=copy.deepcopy(turn), requested=self._cols.languages))

    @Slot(object)
    def add_gap(self, gap: Gap) -> None:
        self._insert(_Row(gap=gap))

    @Slot(int, object)
    def set_translation(self, turn_index: int, translation: Translation) -> None:
        row = self._by_index.get(turn_index)
        if row is None:
            return
        turn = self._rows[row].turn
        assert turn is not None
        turn.translations[translation.language] = translation
        self.dataChanged.emit(self.index(row, ORIGINAL_COLUMN + 1), self.index(row, self.delay_column))

    def load(self, entries: list[Turn | Gap], languages: tuple[str, ...], names: dict[str, str] | None = None) -> None:
        """Show a finished (e.g. recovered or kept) transcript in place of whatever was shown.
        ``languages`` may be translation-set labels (``es.2``) with their headers in ``names``."""
        self.beginResetModel()
        self._cols = _Columns(languages, {c: (names or {}).get(c) or language_name(c) for c in languages})
        # Nothing is in flight in a finished transcript: a cell it lacks was never asked for ("—").
        self._rows = [_Row(gap=e) if isinstance(e, Gap) else _Row(turn=copy.deepcopy(e)) for e in entries]
        self._reindex()
        self.endResetModel()

    def _insert(self, row: _Row) -> None:
        # Finished rows go above the pending row, which always stays last.
        at = len(self._rows) - 1 if self._rows and self._rows[-1].pending else len(self._rows)
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.insert(at, row)
        self._reindex()  # before rowsInserted: whoever hears it counts the new turn already
        self.endInsertRows()

    def _reindex(self) -> None:
        self._by_index = {r.turn.index: i for i, r in enumerate(self._rows) if r.turn is not None}

    # --- reading ------------------------------------------------------------------------------

    def turn_count(self) -> int:
        return len(self._by_index)

    def row_of(self, turn_index: int) -> int | None:
        """The row showing turn ``turn_index``, if it is shown."""
        return self._by_index.get(turn_index)

    def turns(self) -> list[Turn]:
        """The finished turns shown, in order (read them, do not change them)."""
        return [r.turn for r in self._rows if r.turn is not None]

    def failed_count(self) -> int:
        return sum(1 for r in self._rows if r.turn is not None for code, tr in r.turn.translations.items()
                   if code in self._cols.languages and tr.status is TranslationStatus.FAILED)

    def entries(self, rows: list[int] | None = None) -> list[Turn | Gap]:
        """Copies of the finished rows (all, or the given ones), for copying and exporting."""
        picked = self._rows if rows is None else [self._rows[r] for r in sorted(set(rows)) if 0 <= r < len(self._rows)]
        out: list[Turn | Gap] = []
        for r in picked:
            if r.turn is not None:
                out.append(copy.deepcopy(r.turn))
            elif r.gap is not None:
                out.append(copy.copy(r.gap))
        return out

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def _seconds(ms: int | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.1f} s"
