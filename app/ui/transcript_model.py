"""TranscriptModel: one row per turn (time, who, original, one column per target language, delay).

GUI thread only; fed by the controller's signals. The turn in progress is one *pending* row at the
bottom whose text is replaced in place on every interim update and which disappears when the turn
is final (the final row takes its place), so interim text is never duplicated. Gaps in the
transcript (the connection was down; the WAV kept the audio) are rows of their own. The model only
stores and presents; colours and fonts come from the delegate, which reads the ``CellState`` role.

The "Who" column (``app.core.who``: "You" / "Them" in a two-way session, the speaker "A", "B", …
or both, "Them · B") is there only when the session has speakers or turns from the system's
audio: it appears with the first such turn (or at the start, when speakers were asked for), so a
one-microphone session without speakers shows no extra column. Names are the session's
(``rename``); a speaker revision relabels the row in place (``revise_turn``). With a multilingual
model each original carries its detected language (``Role.LANGUAGE_TAG``, drawn by the delegate),
and a cell copied because the turn was already in that language is shown as such (greyed).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal, Slot

from app.core.languages import language_name
from app.core.timefmt import span_label, time_label
from app.core.transcript import SAME_LANGUAGE, Gap, Translation, TranslationStatus, Turn
from app.core.who import NO_NAMES, NOTHING, Kind, Names, Shown, parts_of, who

TRANSLATING = "translating…"
NOT_TRANSLATED = "not translated — retry"
TIME_COLUMN = 0
ORIGINAL_COLUMN = 1  # without a "Who" column; ``TranscriptModel.original_column`` always
RENAME_HINT = "Right-click or double-click to rename (for this session)"
ModelIndex = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invalid index Qt passes for "no parent"; never mutated


class Role(IntEnum):
    CELL_STATE = Qt.ItemDataRole.UserRole + 1  # CellState
    TURN_INDEX = Qt.ItemDataRole.UserRole + 2  # int, turn rows only
    LANGUAGE = Qt.ItemDataRole.UserRole + 3  # target code, translation cells only
    LANGUAGE_TAG = Qt.ItemDataRole.UserRole + 4  # str: the original's detected language ("de"), when shown
    WHO_PARTS = Qt.ItemDataRole.UserRole + 5  # list[(Kind, key)]: what can be renamed in the "Who" cell


class CellState(str, Enum):
    NORMAL = "normal"
    PENDING = "pending"  # interim text, may still change
    TRANSLATING = "translating"
    FAILED = "failed"  # not translated: click to retry
    GAP = "gap"
    SECONDARY = "secondary"  # times, delays, "—"
    WHO = "who"  # who said it
    COPIED = "copied"  # a translation cell that is the original (already in that language)


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
    who: bool = False  # the "Who" column is shown


def gap_text(gap: Gap) -> str:
    return f"no transcript {span_label(gap.start_ms, gap.end_ms)}, audio kept"


class TranscriptModel(QAbstractTableModel):
    names_changed = Signal(object)  # Names: the user renamed a side or a speaker

    def __init__(self, languages: tuple[str, ...] = (), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []
        self._by_index: dict[int, int] = {}  # turn index -> row
        self._cols = _Columns(languages, {c: language_name(c) for c in languages})
        self._names = NO_NAMES
        self._shown = NOTHING
        self._tags = False  # show each original's detected language (a multilingual model)

    # --- shape --------------------------------------------------------------------------------

    @property
    def languages(self) -> tuple[str, ...]:
        return self._cols.languages

    @property
    def who_column(self) -> int | None:
        return 1 if self._cols.who else None

    @property
    def original_column(self) -> int:
        return 2 if self._cols.who else 1

    @property
    def delay_column(self) -> int:
        return self.original_column + 1 + len(self._cols.languages)

    def language_column(self, code: str) -> int:
        return self.original_column + 1 + self._cols.languages.index(code)

    def rowCount(self, parent: ModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else self.delay_column + 1

    @property
    def names(self) -> Names:
        return self._names

    @property
    def shown(self) -> Shown:
        return self._shown

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == TIME_COLUMN:
                return "Time"
            if section == self.who_column:
                return "Who"
            if section == self.original_column:
                return "Original"
            if section == self.delay_column:
                return "Delay"
            return self._cols.names[self._cols.languages[section - self.original_column - 1]]
        if role == Qt.ItemDataRole.ToolTipRole and section == self.delay_column:
            return "Seconds from the end of the turn until its translations arrived"
        if role == Qt.ItemDataRole.ToolTipRole and section == self.who_column:
            return f"Who said each turn. {RENAME_HINT}."
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
            if col == self.original_column:
                return gap_text(gap)
        if role == Role.CELL_STATE:
            return CellState.GAP
        if role == Qt.ItemDataRole.ToolTipRole:
            reason = f" ({gap.reason})" if gap.reason else ""
            return f"Nothing was transcribed here{reason}; the audio is in the session's WAV file."
        return None

    def _pending_data(self, row: _Row, col: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole and col == self.original_column:
            return row.interim
        if role == Role.CELL_STATE:
            return CellState.PENDING
        if role == Qt.ItemDataRole.ToolTipRole and col == self.original_column:
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
        if col == self.who_column:
            return self._who_data(turn, role)
        if col == self.original_column:
            tag = turn.language_code if self._tags else None
            if role == Qt.ItemDataRole.DisplayRole:
                return turn.text
            if role == Role.CELL_STATE:
                return CellState.NORMAL
            if role == Role.LANGUAGE_TAG:
                return tag
            if role == Qt.ItemDataRole.ToolTipRole and tag:
                return f"Heard as {language_name(tag)} ({tag})"
            return None
        if col == self.delay_column:
            return self._delay_data(turn, role)
        code = self._cols.languages[col - self.original_column - 1]
        if role == Role.LANGUAGE:
            return code
        return self._translation_data(row, code, role)

    def _who_data(self, turn: Turn, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole:
            return who(turn, self._names, self._shown)
        if role == Role.CELL_STATE:
            return CellState.WHO
        if role == Role.WHO_PARTS:
            return parts_of(turn, self._shown)
        if role == Qt.ItemDataRole.ToolTipRole:
            said = [f"{'Side' if kind is Kind.SIDE else 'Speaker'} {self._names.name(kind, key)}"
                    + ("" if self._names.name(kind, key) == _default(kind, key) else f" ({_default(kind, key)})")
                    for kind, key in parts_of(turn, self._shown)]
            return "\n".join([*said, RENAME_HINT]) if said else None
        return None

    def _turn_at(self, index: int) -> Turn | None:
        row = self._by_index.get(index)
        return self._rows[row].turn if row is not None and row < len(self._rows) else None

    def _translation_data(self, row: _Row, code: str, role: int) -> object:
        turn = row.turn
        assert turn is not None
        tr = turn.translations.get(code)
        if tr is not None and tr.status is TranslationStatus.DONE and tr.model == SAME_LANGUAGE:
            state, text = CellState.COPIED, tr.text
            tip = f"Already in {self._cols.names[code]} — not sent to the LLM"
        elif tr is not None and tr.status is TranslationStatus.DONE:
            state, text = CellState.NORMAL, tr.text
            tip = f"{self._cols.names[code]}: translated {_seconds(tr.latency_ms)} after the turn ended"
            tip += f" ({tr.model})" if tr.model else ""
        elif tr is not None and tr.status is TranslationStatus.FAILED:
            state, text = CellState.FAILED, NOT_TRANSLATED
            tip = f"{tr.error or 'The translation failed.'}\nClick to try again."
        elif tr is None and turn.echo_of is not None:
            state, text = CellState.SECONDARY, "echo"
            first = self._turn_at(turn.echo_of)
            said = f" at {time_label(first.start_ms)}" if first is not None else ""
            tip = (f"An echo of what was said{said}: the microphone heard the speakers, so it is not translated "
                   "again (headphones avoid it)")
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
        self._cols = _Columns(languages, {c: language_name(c) for c in languages}, self._cols.who)
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._by_index.clear()
        self.endResetModel()

    def start_session(self, *, shown: Shown = NOTHING, language_tags: bool = False,
                      names: Names = NO_NAMES) -> None:
        """A new (empty) session: what its "Who" shows from the start (speakers asked for), whether
        originals carry their detected language (a multilingual model), and its names."""
        self.beginResetModel()
        self._rows.clear()
        self._by_index.clear()
        self._shown, self._tags, self._names = shown, language_tags, names
        self._cols = _Columns(self._cols.languages, self._cols.names, bool(shown))
        self.endResetModel()

    # --- who said it --------------------------------------------------------------------------

    def _show_who_of(self, turn: Turn) -> None:
        """The turn needs more of "Who" than is shown (the first speaker, the other side)."""
        shown = self._shown.merged(Shown.of([turn]))
        if shown == self._shown:
            return
        self._shown = shown
        if not self._cols.who:
            self.beginInsertColumns(QModelIndex(), 1, 1)
            self._cols.who = True
            self.endInsertColumns()
        elif self._rows:
            self._who_changed()

    def _who_changed(self, rows: list[int] | None = None) -> None:
        col = self.who_column
        if col is None or not self._rows:
            return
        first, last = (min(rows), max(rows)) if rows else (0, len(self._rows) - 1)
        self.dataChanged.emit(self.index(first, col), self.index(last, col))

    @Slot(object)
    def revise_turn(self, turn: Turn) -> None:
        """A final turn changed after the fact (a speaker revision): its row shows the new label."""
        row = self._by_index.get(turn.index)
        if row is None:
            return
        shown = self._rows[row].turn
        assert shown is not None
        shown.speaker = turn.speaker
        self._show_who_of(shown)
        self._who_changed([row])

    def rename(self, kind: Kind, key: str, name: str) -> Names:
        """Call the side or speaker ``key`` ``name`` for this session (blank: the default again)."""
        names = self._names.renamed(kind, key, name)
        if names != self._names:
            self._names = names
            self._who_changed()
            self.names_changed.emit(names)
        return names

    def set_names(self, names: Names) -> None:
        if names != self._names:
            self._names = names
            self._who_changed()

    @Slot(str)
    def set_interim(self, text: str) -> None:
        has_pending = bool(self._rows) and self._rows[-1].pending
        last = len(self._rows) - 1
        if text and has_pending:
            self._rows[last].interim = text
            cell = self.index(last, self.original_column)
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
        self._show_who_of(turn)
        # An echo (two-way: the microphone heard the speakers) is not translated again.
        requested = () if turn.echo_of is not None else self._cols.languages
        self._insert(_Row(turn=copy.deepcopy(turn), requested=requested))

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
        self.dataChanged.emit(self.index(row, self.original_column + 1), self.index(row, self.delay_column))

    def load(self, entries: list[Turn | Gap], languages: tuple[str, ...], names: dict[str, str] | None = None, *,
             who_names: Names = NO_NAMES, language_tags: bool = False) -> None:
        """Show a finished (e.g. recovered or kept) transcript in place of whatever was shown.
        ``languages`` may be translation-set labels (``es.2``) with their headers in ``names``;
        ``who_names`` are the session's names of its sides and speakers."""
        self.beginResetModel()
        self._shown = Shown.of(e for e in entries if isinstance(e, Turn))
        self._names, self._tags = who_names, language_tags
        self._cols = _Columns(languages, {c: (names or {}).get(c) or language_name(c) for c in languages},
                              bool(self._shown))
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


def _default(kind: Kind, key: str) -> str:
    return Names().name(kind, key)


def _seconds(ms: int | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.1f} s"
