"""Journal tables: thin adapters over :class:`crossmargin.storage.JournalPosition` and
:class:`crossmargin.storage.Fill`, loaded one page at a time.

Both models hold the rows read so far, newest first, and the total the query matches.
Qt's views ask ``canFetchMore``/``fetchMore`` when the user scrolls near the end; the
model then emits ``more_requested(offset)`` and the Journal tab reads the next page on
the serial journal worker and hands it back with :meth:`append_page` (GUI thread), so
years of history are reachable without reading them all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from desktop import formatting as fmt
from desktop.models.base import ID_ROLE, RAW_ROLE, ColumnTableModel, ModelIndex
from desktop.theme import LIGHT, Theme

if TYPE_CHECKING:
    from crossmargin.domain import Fill, JournalPosition

__all__ = [  # the roles are re-exported: views and tests read them from here
    "FILL_HEADERS",
    "FILL_NUMERIC",
    "HEADERS",
    "ID_ROLE",
    "NUMERIC",
    "RAW_ROLE",
    "FillColumn",
    "FillsTableModel",
    "JournalColumn",
    "JournalPositionsTableModel",
    "ModelIndex",
    "PagedTableModel",
    "fill_raw",
    "journal_raw",
    "total_net",
]


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


class PagedTableModel(ColumnTableModel):
    """Rows read page by page (newest first); ``total`` is what the query matches overall.

    ``more_requested(offset)`` asks the owner for the rows from ``offset`` on; the answer
    comes back through :meth:`append_page`. At most one request is outstanding.
    """

    more_requested = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self._total = 0
        self._fetching = False
        self._formats = fmt.InstrumentFormats()
        self._theme = LIGHT

    @property
    def total(self) -> int:
        """Rows the query matches (loaded or not)."""
        return self._total

    def loaded(self) -> int:
        return len(self._rows)

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._fetching and len(self._rows) < self._total

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._fetching = True
            self.more_requested.emit(len(self._rows))

    def _learn(self, rows: Sequence[Any]) -> None:
        """Hook: remember number formats of new rows."""

    def _key(self, row: Any) -> Any:
        return row.id

    def _row_id(self, row: Any) -> int:
        return int(row.id)

    def set_rows(self, rows: Sequence[Any], total: int | None = None) -> None:
        """Replace the rows with a freshly read first page (after a change or a new filter).

        Keeps the view's selection when the same rows come back (only changed cells repaint).
        """
        self._learn(rows)
        self._fetching = False
        self._total = max(len(rows), total if total is not None else len(rows))
        if [self._key(r) for r in rows] == [self._key(r) for r in self._rows]:
            changed = [i for i, (a, b) in enumerate(zip(self._rows, rows, strict=True)) if a != b]
            self._rows = list(rows)
            for i in changed:
                self.dataChanged.emit(self.index(i, 0), self.index(i, self.columnCount() - 1), [])
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def append_page(self, rows: Sequence[Any], offset: int, total: int) -> None:
        """Rows read from ``offset`` on (answer to ``more_requested``); stale pages are dropped."""
        self._fetching = False
        if offset != len(self._rows):
            return  # the rows were replaced meanwhile
        self._total = max(total, offset + len(rows))
        if not rows:
            self._total = len(self._rows)
            return
        self._learn(rows)
        self.beginInsertRows(QModelIndex(), offset, offset + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def fetch_failed(self) -> None:
        """The page could not be read: allow a later retry."""
        self._fetching = False

    def row_of(self, row_id: int) -> int:
        for i, r in enumerate(self._rows):
            if int(r.id) == row_id:
                return i
        return -1

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._emit_all_changed()


class JournalPositionsTableModel(PagedTableModel):
    """Journal positions of one account, newest opened first (GUI thread)."""

    COLUMNS = JournalColumn
    RIGHT_ALIGNED = NUMERIC
    _rows: list[JournalPosition]

    def _header(self, column: JournalColumn, role: int) -> Any:
        return HEADERS[column] if role == Qt.ItemDataRole.DisplayRole else None

    def _cell_raw(self, p: JournalPosition, column: JournalColumn) -> Any:
        return journal_raw(p, column)

    def _cell_role(self, p: JournalPosition, column: JournalColumn, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column == JournalColumn.NET_PNL:
            if p.is_open:
                return QBrush(QColor(self._theme.muted))
            value = p.net_pnl
            if value:
                return QBrush(QColor(self._theme.good if value > 0 else self._theme.bad))
        if role == Qt.ItemDataRole.ToolTipRole and column == JournalColumn.NOTES and p.notes:
            return p.notes
        return None

    def _cell_text(self, p: JournalPosition, column: JournalColumn) -> str:
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

    def _learn(self, rows: Sequence[JournalPosition]) -> None:
        for p in rows:
            self._formats.learn(p.symbol, [p.entry_price], [p.max_contracts])

    def set_positions(self, positions: Sequence[JournalPosition], total: int | None = None,
                      ) -> None:
        """Replace the rows (the first page read from the journal after a change)."""
        self.set_rows(positions, total)

    def position_at(self, row: int) -> JournalPosition:
        return self._rows[row]


def total_net(positions: Sequence[JournalPosition]) -> Decimal:
    return sum((p.net_pnl for p in positions if not p.is_open), Decimal(0))


class FillColumn(IntEnum):
    TIME = 0
    SYMBOL = 1
    SIDE = 2
    PRICE = 3
    AMOUNT = 4
    FEE = 5
    TRADE_ID = 6
    POSITION = 7
    NOTE = 8


FILL_HEADERS = {
    FillColumn.TIME: "Time", FillColumn.SYMBOL: "Symbol", FillColumn.SIDE: "Side",
    FillColumn.PRICE: "Price", FillColumn.AMOUNT: "Amount", FillColumn.FEE: "Fee",
    FillColumn.TRADE_ID: "Trade id", FillColumn.POSITION: "Position", FillColumn.NOTE: "Note",
}
FILL_NUMERIC = frozenset({FillColumn.PRICE, FillColumn.AMOUNT, FillColumn.FEE})


def fill_raw(f: Fill, column: FillColumn) -> Any:
    """The stored value behind a fills cell (Decimal, str, datetime, int or None)."""
    match column:
        case FillColumn.TIME:
            return f.time
        case FillColumn.SYMBOL:
            return f.symbol
        case FillColumn.SIDE:
            return f.side
        case FillColumn.PRICE:
            return f.price
        case FillColumn.AMOUNT:
            return f.amount
        case FillColumn.FEE:
            return f.fee
        case FillColumn.TRADE_ID:
            return f.trade_id
        case FillColumn.POSITION:
            return None if f.position_id is None else int(f.position_id)
        case FillColumn.NOTE:
            return f.note
    raise ValueError(column)  # pragma: no cover


class FillsTableModel(PagedTableModel):
    """Fills of one account, newest first (GUI thread).

    Time in the local time zone; ``price`` in the quote currency per contract unit,
    ``amount`` in contracts (> 0), ``fee`` > 0 paid (< 0 a rebate) in its own currency.
    """

    COLUMNS = FillColumn
    RIGHT_ALIGNED = FILL_NUMERIC
    _rows: list[Fill]

    def _header(self, column: FillColumn, role: int) -> Any:
        return FILL_HEADERS[column] if role == Qt.ItemDataRole.DisplayRole else None

    def _learn(self, rows: Sequence[Fill]) -> None:
        for f in rows:
            self._formats.learn(f.symbol, [f.price], [f.amount])

    def _cell_raw(self, f: Fill, column: FillColumn) -> Any:
        return fill_raw(f, column)

    def _cell_role(self, f: Fill, column: FillColumn, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column == FillColumn.SIDE:
            return QBrush(QColor(self._theme.good if f.side == "buy" else self._theme.bad))
        if role == Qt.ItemDataRole.ToolTipRole and column == FillColumn.POSITION \
                and f.next_position_id is not None:
            return (f"This fill closed position #{f.position_id} and opened "
                    f"#{f.next_position_id} with the rest")
        if role == Qt.ItemDataRole.ToolTipRole and column == FillColumn.TIME:
            return f.time.isoformat()
        return None

    def _cell_text(self, f: Fill, column: FillColumn) -> str:
        match column:
            case FillColumn.TIME:
                return f.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            case FillColumn.SYMBOL:
                return fmt.short_symbol(f.symbol)
            case FillColumn.SIDE:
                return "Buy" if f.side == "buy" else "Sell"
            case FillColumn.PRICE:
                return self._formats.price(f.symbol, f.price)
            case FillColumn.AMOUNT:
                return self._formats.size(f.symbol, f.amount)
            case FillColumn.FEE:
                return f"{f.fee.normalize():f} {f.fee_currency}".strip() if f.fee else "0"
            case FillColumn.TRADE_ID:
                return f.trade_id or ""
            case FillColumn.POSITION:
                if f.position_id is None:
                    return ""
                if f.next_position_id is not None:
                    return f"#{f.position_id} → #{f.next_position_id}"
                return f"#{f.position_id}"
            case FillColumn.NOTE:
                return f.note.splitlines()[0] if f.note else ""
        return ""  # pragma: no cover

    def fill_at(self, row: int) -> Fill:
        return self._rows[row]
