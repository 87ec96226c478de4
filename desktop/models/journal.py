"""Journal positions table: a thin adapter over :class:`crossmargin.storage.JournalPosition`."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from desktop import formatting as fmt
from desktop.theme import LIGHT, Theme

if TYPE_CHECKING:
    from crossmargin.storage import JournalPosition

RAW_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2

ModelIndex = QModelIndex | QPersistentModelIndex


class JournalColumn(IntEnum):
    OPENED = 0
    SYMBOL = 1
    SIDE = 2
    STATUS = 3
    SIZE = 4
    ENTRY = 5
    EXIT = 6
    NET_PNL = 7
    FEES = 8
    FUNDING = 9
    STOP = 10
    TARGET = 11
    SETUP = 12
    RATING = 13
    TAGS = 14
    NOTES = 15


HEADERS = {
    JournalColumn.OPENED: "Opened", JournalColumn.SYMBOL: "Symbol", JournalColumn.SIDE: "Side",
    JournalColumn.STATUS: "Status", JournalColumn.SIZE: "Size", JournalColumn.ENTRY: "Entry",
    JournalColumn.EXIT: "Exit", JournalColumn.NET_PNL: "Net PnL", JournalColumn.FEES: "Fees",
    JournalColumn.FUNDING: "Funding", JournalColumn.STOP: "Stop", JournalColumn.TARGET: "Target",
    JournalColumn.SETUP: "Setup", JournalColumn.RATING: "Rating", JournalColumn.TAGS: "Tags",
    JournalColumn.NOTES: "Notes",
}
NUMERIC = frozenset({
    JournalColumn.SIZE, JournalColumn.ENTRY, JournalColumn.EXIT, JournalColumn.NET_PNL,
    JournalColumn.FEES, JournalColumn.FUNDING, JournalColumn.STOP, JournalColumn.TARGET,
})


def journal_raw(p: JournalPosition, column: JournalColumn) -> Any:
    """The stored value behind a cell (Decimal, str, datetime, int or None)."""
    match column:
        case JournalColumn.OPENED:
            return p.opened_at
        case JournalColumn.SYMBOL:
            return p.symbol
        case JournalColumn.SIDE:
            return str(p.side)
        case JournalColumn.STATUS:
            return str(p.status)
        case JournalColumn.SIZE:
            return p.max_contracts
        case JournalColumn.ENTRY:
            return p.entry_price
        case JournalColumn.EXIT:
            return p.exit_price
        case JournalColumn.NET_PNL:
            return p.net_pnl
        case JournalColumn.FEES:
            return p.fees
        case JournalColumn.FUNDING:
            return p.funding
        case JournalColumn.STOP:
            return p.stop_price
        case JournalColumn.TARGET:
            return p.target_price
        case JournalColumn.SETUP:
            return p.setup
        case JournalColumn.RATING:
            return p.rating
        case JournalColumn.TAGS:
            return ", ".join(p.tags)
        case JournalColumn.NOTES:
            return p.notes
    raise ValueError(column)  # pragma: no cover


class JournalPositionsTableModel(QAbstractTableModel):
    """Journal positions of one account, newest opened first (GUI thread)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[JournalPosition] = []
        self._formats = fmt.InstrumentFormats()
        self._theme = LIGHT

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(JournalColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(JournalColumn):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[JournalColumn(section)]
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        p = self._rows[index.row()]
        column = JournalColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(p, column)
        if role == RAW_ROLE:
            return journal_raw(p, column)
        if role == ID_ROLE:
            return int(p.id)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column in NUMERIC:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == JournalColumn.NET_PNL:
            if p.is_open:
                return QBrush(QColor(self._theme.muted))
            value = p.net_pnl
            if value:
                return QBrush(QColor(self._theme.good if value > 0 else self._theme.bad))
        if role == Qt.ItemDataRole.ToolTipRole and column == JournalColumn.NOTES and p.notes:
            return p.notes
        return None

    def _display(self, p: JournalPosition, column: JournalColumn) -> str:
        f = self._formats
        match column:
            case JournalColumn.OPENED:
                return p.opened_at.astimezone().strftime("%Y-%m-%d %H:%M")
            case JournalColumn.SYMBOL:
                return fmt.short_symbol(p.symbol)
            case JournalColumn.SIDE:
                return "Long" if str(p.side) == "long" else "Short"
            case JournalColumn.STATUS:
                return "Open" if p.is_open else "Closed"
            case JournalColumn.SIZE:
                return f.size(p.symbol, p.max_contracts)
            case JournalColumn.ENTRY | JournalColumn.EXIT | JournalColumn.STOP | \
                    JournalColumn.TARGET:
                return f.price(p.symbol, journal_raw(p, column))
            case JournalColumn.NET_PNL:
                return "open" if p.is_open else fmt.money(p.net_pnl, p.settle, sign=True)
            case JournalColumn.FEES:
                return fmt.money(p.fees, p.settle)
            case JournalColumn.FUNDING:
                return fmt.money(p.funding, p.settle, sign=True)
            case JournalColumn.RATING:
                return "★" * p.rating if p.rating else ""
            case JournalColumn.NOTES:
                return p.notes.splitlines()[0] if p.notes else ""
        value = journal_raw(p, column)
        return "" if value is None else str(value)

    def set_positions(self, positions: Sequence[JournalPosition]) -> None:
        """Replace the rows (a page read from the journal after a change)."""
        for p in positions:
            self._formats.learn(p.symbol, [p.entry_price], [p.max_contracts])
        same_ids = [p.id for p in positions] == [p.id for p in self._rows]
        if same_ids:
            changed = [i for i, (a, b) in enumerate(zip(self._rows, positions, strict=True))
                       if a != b]
            self._rows = list(positions)
            for i in changed:
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(JournalColumn) - 1), [])
            return
        self.beginResetModel()
        self._rows = list(positions)
        self.endResetModel()

    def position_at(self, row: int) -> JournalPosition:
        return self._rows[row]

    def row_of(self, position_id: int) -> int:
        for i, p in enumerate(self._rows):
            if int(p.id) == position_id:
                return i
        return -1

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self._rows:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._rows) - 1, len(JournalColumn) - 1), [])


def total_net(positions: Sequence[JournalPosition]) -> Decimal:
    return sum((p.net_pnl for p in positions if not p.is_open), Decimal(0))
