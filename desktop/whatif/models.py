"""Qt table models of the What-if tab: thin adapters over the view-model.

* :class:`WhatIfBookTableModel` — the book with the what-if toggles (isolated,
  close), the editable isolated margin, and current vs what-if liquidation prices.
  Edit columns read the plan (instant); computed columns read the newest snapshot.
* :class:`ShockWeightsTableModel` — per-symbol moves or betas (editable).
* :class:`CascadeTableModel` — the what-if book's liquidation cascade, in order.

``RAW_ROLE`` returns the exact value (``Decimal``, ``str``, ``bool`` or ``None``)
and sorting compares those, never display text. Bad input in an editable cell is
refused by the view-model; the cell turns red, its tooltip says why, and
``input_rejected(str)`` lets the panel show the message inline (no dialogs).
GUI thread only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QFont

from crossmargin.domain import MarginMode, Position, PositionId
from desktop import formatting as fmt
from desktop.models.base import (
    ID_ROLE,
    RAW_ROLE,
    ColumnTableModel,
    ModelIndex,
    sorted_none_last,
)
from desktop.theme import LIGHT, Theme
from desktop.whatif.cells import (
    CHECK,
    DISPLAY,
    EDIT,
    LEFT,
    RIGHT,
    percent_text,
    plain_number,
    theme_brushes,
)
from desktop.whatif.shock_models import (
    CascadeColumn,
    CascadeTableModel,
    ShockWeightsTableModel,
    WeightColumn,
)

from .compute import PositionView, WhatIfSnapshot, display_symbol
from .viewmodel import WhatIfViewModel

__all__ = [
    "ID_ROLE",
    "RAW_ROLE",
    "BookColumn",
    "CascadeColumn",
    "CascadeTableModel",
    "ShockWeightsTableModel",
    "WeightColumn",
    "WhatIfBookTableModel",
]


# --------------------------------------------------------------------------- book


class BookColumn(IntEnum):
    SYMBOL = 0
    MARK = 1
    ISOLATED = 2
    MARGIN = 3
    CLOSE = 4
    LP_NOW = 5
    LP_WHATIF = 6
    DIES_AT = 7


#: Side markers in the symbol cell (also coloured: long green, short red).
SIDE_MARK = {"long": "▲", "short": "▼"}

BOOK_HEADERS: Mapping[BookColumn, tuple[str, str]] = {
    BookColumn.SYMBOL: (
        "Symbol",
        "▲ long, ▼ short; italic: a hypothetical position (tooltip: size, leverage, entry)",
    ),
    BookColumn.MARK: ("Mark", "Mark price at the slider's shock (tooltip: today's mark)"),
    BookColumn.ISOLATED: ("Iso.", "Tick to put the position in isolated margin (what-if)"),
    BookColumn.MARGIN: (
        "Iso.\nmargin",
        "Isolated margin in the what-if (settlement currency); double-click to edit",
    ),
    BookColumn.CLOSE: ("Close", "Tick to close the position at its mark (what-if)"),
    BookColumn.LP_NOW: ("LP\nnow", "Liquidation price in the current book (engine)"),
    BookColumn.LP_WHATIF: ("LP\nwhat-if", "Liquidation price after the what-if (engine)"),
    BookColumn.DIES_AT: (
        "Dies\nat",
        "Shock at which the what-if cascade liquidates the position (tooltip: current book)",
    ),
}
_BOOK_NUMERIC = {
    BookColumn.MARK, BookColumn.MARGIN, BookColumn.LP_NOW,
    BookColumn.LP_WHATIF, BookColumn.DIES_AT,
}
_EDIT_COLUMNS = (BookColumn.ISOLATED, BookColumn.MARGIN, BookColumn.CLOSE)


class WhatIfBookTableModel(ColumnTableModel):
    """The book under the what-if: one row per position (book first, then new ones).

    Prices in the instrument's quote currency, margins in the settlement currency,
    "Dies at" as a percentage of the shock axis. GUI thread only.
    """

    COLUMNS = BookColumn
    RIGHT_ALIGNED = frozenset(_BOOK_NUMERIC)
    HEADINGS = BOOK_HEADERS

    input_rejected = Signal(str)
    input_accepted = Signal()

    def __init__(self, viewmodel: WhatIfViewModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._vm = viewmodel
        self._rows: list[tuple[Position, bool]] = []
        self._index: dict[PositionId, int] = {}
        self._errors: dict[tuple[PositionId, int], str] = {}
        self._formats = fmt.InstrumentFormats()
        self._theme = LIGHT
        self._brush = theme_brushes(LIGHT)
        self._bold = QFont()
        self._bold.setBold(True)
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self._cache: dict[int, tuple[list[dict[int, Any]], list[Qt.ItemFlag]]] = {}
        self._shown: WhatIfSnapshot | None = None
        self._book_plan = replace(viewmodel.plan, shock=Decimal(0))
        viewmodel.rows_changed.connect(self.reload)
        viewmodel.plan_changed.connect(self._on_plan_changed)
        viewmodel.snapshot_ready.connect(self._on_snapshot)
        self.reload()

    # -- Qt model API ---------------------------------------------------------
    def _header(self, column: BookColumn, role: int) -> Any:
        if (role == Qt.ItemDataRole.ToolTipRole and column == BookColumn.MARGIN
                and self._vm.base is not None):
            return f"{BOOK_HEADERS[column][1]} ({self._vm.base.settle})"
        return super()._header(column, role)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid() or index.row() >= len(self._rows):
            return Qt.ItemFlag.NoItemFlags
        return self._cached(index.row())[1][index.column()]

    def data(self, index: ModelIndex, role: int = DISPLAY) -> Any:
        row = index.row()
        if not index.isValid() or row >= len(self._rows):
            return None
        if role == Qt.ItemDataRole.ToolTipRole:  # rare: built on demand
            position, hypothetical = self._rows[row]
            return self._tooltip(
                position, hypothetical, BookColumn(index.column()), self._view(position.id)
            )
        return self._cached(row)[0][index.column()].get(role)

    def _cached(self, row: int) -> tuple[list[dict[int, Any]], list[Qt.ItemFlag]]:
        """Every role of every column of ``row``, built once per change (painting asks
        for ~8 roles per cell on every repaint; this keeps ``data`` a dict lookup)."""
        entry = self._cache.get(row)
        if entry is None:
            entry = self._build_row(row)
            self._cache[row] = entry
        return entry

    def _build_row(self, row: int) -> tuple[list[dict[int, Any]], list[Qt.ItemFlag]]:
        position, hypothetical = self._rows[row]
        view = self._view(position.id)
        edit = self._vm.plan.edit(position.id)
        closed = not hypothetical and edit.close
        mode = self._mode(position, hypothetical)
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        cells: list[dict[int, Any]] = []
        flags: list[Qt.ItemFlag] = []
        for column in BookColumn:
            roles: dict[int, Any] = {
                int(DISPLAY): self._display(position, hypothetical, column, view),
                int(RAW_ROLE): self._raw(position, hypothetical, column, view),
                int(ID_ROLE): str(position.id),
                int(Qt.ItemDataRole.TextAlignmentRole): (
                    RIGHT if column in _BOOK_NUMERIC else LEFT
                ),
                int(Qt.ItemDataRole.ForegroundRole): self._foreground(
                    position, hypothetical, column, view
                ),
                int(Qt.ItemDataRole.BackgroundRole): self._background(
                    position, hypothetical, column, view
                ),
                int(Qt.ItemDataRole.FontRole): self._font(position, hypothetical, column, view),
            }
            flag = base
            if column == BookColumn.MARGIN:
                value = self._margin(position, hypothetical, view)
                roles[int(EDIT)] = "" if value is None else plain_number(value)
                if not closed and mode is MarginMode.ISOLATED:
                    flag = base | Qt.ItemFlag.ItemIsEditable
            elif column == BookColumn.ISOLATED:
                isolated = mode is MarginMode.ISOLATED
                roles[int(CHECK)] = (
                    Qt.CheckState.Checked if isolated else Qt.CheckState.Unchecked
                )
                if not closed:
                    flag = base | Qt.ItemFlag.ItemIsUserCheckable
            elif column == BookColumn.CLOSE and not hypothetical:
                roles[int(CHECK)] = Qt.CheckState.Checked if closed else Qt.CheckState.Unchecked
                flag = base | Qt.ItemFlag.ItemIsUserCheckable
            cells.append({k: v for k, v in roles.items() if v is not None})
            flags.append(flag)
        return cells, flags

    def setData(self, index: ModelIndex, value: Any, role: int = EDIT) -> bool:
        if not index.isValid() or index.row() >= len(self._rows):
            return False
        position = self._rows[index.row()][0]
        column = BookColumn(index.column())
        if not self.flags(index) & (
            Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable
        ):
            return False
        error: str | None
        if role == CHECK and column == BookColumn.ISOLATED:
            checked = _checked(value)
            error = self._vm.set_mode(
                position.id, MarginMode.ISOLATED if checked else MarginMode.CROSS
            )
        elif role == CHECK and column == BookColumn.CLOSE:
            error = self._vm.set_close(position.id, _checked(value))
        elif role == EDIT and column == BookColumn.MARGIN:
            error = self._vm.set_margin_text(position.id, str(value))
        else:
            return False
        key = (position.id, int(column))
        if error is not None:
            self._errors[key] = error
            self._cache.pop(index.row(), None)
            self.dataChanged.emit(index, index, [])
            self.input_rejected.emit(error)
            return False
        if self._errors.pop(key, None) is not None or not self._errors:
            self._cache.pop(index.row(), None)
            self.input_accepted.emit()
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort rows by the raw value of ``column`` (``None`` last); ``-1`` = book order."""
        self._sort = (column, order)
        if len(self._rows) < 2:
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._rows[i.row()][0].id for i in persistent]
        self._rows = self._ordered(self._vm.rows())
        self._reindex()
        self._cache.clear()
        moved = [
            self.index(self._index[pid], i.column())
            for pid, i in zip(ids, persistent, strict=True)
        ]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    # -- updates ----------------------------------------------------------------
    def reload(self) -> None:
        """Rows changed (book replaced, position added/removed): reset the model."""
        self.beginResetModel()
        rows = self._vm.rows()
        for position, _ in rows:
            self._formats.learn(
                position.symbol, (position.mark_price, position.entry_price), (position.size,)
            )
        self._rows = self._ordered(rows)
        self._reindex()
        self._cache.clear()
        ids = set(self._index)
        self._errors = {k: v for k, v in self._errors.items() if k[0] in ids}
        self.endResetModel()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(BookColumn) - 1)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._brush = theme_brushes(theme)
        self._changed(0, len(BookColumn) - 1)

    def clear_errors(self) -> None:
        if self._errors:
            self._errors.clear()
            self._changed(0, len(BookColumn) - 1)

    # -- accessors ----------------------------------------------------------------
    def position_at(self, row: int) -> tuple[Position, bool]:
        """``(position, hypothetical)`` shown at ``row``."""
        return self._rows[row]

    def row_of(self, position_id: str) -> int:
        return self._index.get(PositionId(position_id), -1)

    def formats(self) -> fmt.InstrumentFormats:
        return self._formats

    # -- internals ------------------------------------------------------------------
    def _ordered(self, rows: list[tuple[Position, bool]]) -> list[tuple[Position, bool]]:
        column, order = self._sort
        if column < 0 or column >= len(BookColumn):
            return list(rows)
        col = BookColumn(column)

        def key(row: tuple[Position, bool]) -> Any:
            value = self._raw(row[0], row[1], col, self._view(row[0].id))
            return float(value) if isinstance(value, bool) else value

        return sorted_none_last(rows, key, order == Qt.SortOrder.DescendingOrder)

    def _reindex(self) -> None:
        self._index = {p.id: i for i, (p, _) in enumerate(self._rows)}

    def _changed(self, first: int, last: int) -> None:
        self._cache.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0, first), self.index(len(self._rows) - 1, last), [])

    def _on_plan_changed(self) -> None:
        plan = self._vm.plan
        book_plan = replace(plan, shock=Decimal(0))
        if book_plan == self._book_plan:
            return  # only the slider moved: the next snapshot updates the marks
        self._book_plan = book_plan
        self._changed(0, len(BookColumn) - 1)

    def _on_snapshot(self, snapshot: WhatIfSnapshot) -> None:
        previous, self._shown = self._shown, snapshot
        if self._sort[0] in (
            BookColumn.MARK, BookColumn.MARGIN, BookColumn.LP_NOW, BookColumn.LP_WHATIF,
            BookColumn.DIES_AT,
        ):
            self.sort(*self._sort)
        if previous is None or previous.book is not snapshot.book or not self._rows:
            self._changed(0, len(BookColumn) - 1)
            return
        # Only the slider moved: marks change everywhere, the rest only where a
        # position's liquidation status at the shock changed. Repaint just that.
        self._cache.clear()
        last = len(self._rows) - 1
        mark = int(BookColumn.MARK)
        self.dataChanged.emit(self.index(0, mark), self.index(last, mark), [])
        old, new = previous.positions, snapshot.positions
        for row, (position, _hyp) in enumerate(self._rows):
            a, b = old.get(position.id), new.get(position.id)
            if a is None or b is None or a.liquidated_whatif != b.liquidated_whatif or (
                a.liquidated_now != b.liquidated_now
            ):
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(BookColumn) - 1), [])

    def _view(self, position_id: PositionId) -> PositionView | None:
        snapshot = self._vm.snapshot
        return snapshot.positions.get(position_id) if snapshot is not None else None

    def _mode(self, position: Position, hypothetical: bool) -> MarginMode:
        if hypothetical:
            return position.margin_mode
        return self._vm.plan.edit(position.id).mode or position.margin_mode

    def _margin(
        self, position: Position, hypothetical: bool, view: PositionView | None
    ) -> Decimal | None:
        """The what-if isolated margin: typed by the user, else the engine's, else own."""
        if self._mode(position, hypothetical) is not MarginMode.ISOLATED:
            return None
        if hypothetical:
            return position.own_margin
        edit = self._vm.plan.edit(position.id)
        if edit.close:
            return None
        if edit.margin is not None:
            return edit.margin
        if view is not None and view.margin_whatif is not None and (
            view.mode_whatif is MarginMode.ISOLATED
        ):
            return view.margin_whatif
        return position.own_margin

    def _raw(
        self, position: Position, hypothetical: bool, column: BookColumn,
        view: PositionView | None,
    ) -> Any:
        match column:
            case BookColumn.SYMBOL:
                return position.symbol
            case BookColumn.MARK:
                return view.mark if view is not None else position.mark_price
            case BookColumn.ISOLATED:
                return self._mode(position, hypothetical) is MarginMode.ISOLATED
            case BookColumn.MARGIN:
                return self._margin(position, hypothetical, view)
            case BookColumn.CLOSE:
                return (not hypothetical) and self._vm.plan.edit(position.id).close
            case BookColumn.LP_NOW:
                return view.lp_now if view is not None else None
            case BookColumn.LP_WHATIF:
                return view.lp_whatif if view is not None else None
            case BookColumn.DIES_AT:
                return view.dies_at_whatif if view is not None else None
        return None  # pragma: no cover

    def _display(
        self, position: Position, hypothetical: bool, column: BookColumn,
        view: PositionView | None,
    ) -> str | None:
        f = self._formats
        symbol = position.symbol
        match column:
            case BookColumn.SYMBOL:
                # hypothetical rows: italic, "new" under Close
                return f"{SIDE_MARK[position.side.value]} {display_symbol(symbol)}"
            case BookColumn.MARK:
                return f.price(symbol, view.mark if view is not None else position.mark_price)
            case BookColumn.ISOLATED:
                return None
            case BookColumn.MARGIN:
                value = self._margin(position, hypothetical, view)
                return fmt.DASH if value is None else fmt.money(value, self._settle())
            case BookColumn.CLOSE:
                return "new" if hypothetical else None
            case BookColumn.LP_NOW:
                if view is None:
                    return ""
                if hypothetical:
                    return "not held"
                return f.price(symbol, view.lp_now)
            case BookColumn.LP_WHATIF:
                if view is None:
                    return ""
                if view.closed:
                    return "closed"
                return f.price(symbol, view.lp_whatif)
            case BookColumn.DIES_AT:
                if view is None or view.closed:
                    return ""
                if view.dies_at_whatif is None:
                    return "—"  # not within the shock axis (tooltip says so)
                return percent_text(view.dies_at_whatif)
        return None  # pragma: no cover

    def _settle(self) -> str:
        base = self._vm.base
        return base.settle if base is not None else "USDT"

    def _changed_from_live(self, position: Position, hypothetical: bool) -> bool:
        return hypothetical or not self._vm.plan.edit(position.id).is_noop

    def _at_once(self, position_id: PositionId) -> bool:
        snapshot = self._vm.snapshot
        return snapshot is not None and position_id in snapshot.liquidated_at_once

    def _foreground(
        self, position: Position, hypothetical: bool, column: BookColumn,
        view: PositionView | None,
    ) -> QBrush | None:
        if column == BookColumn.SYMBOL:
            return self._brush["good"] if position.side.value == "long" else self._brush["bad"]
        if column == BookColumn.MARGIN and self._mode(position, hypothetical) is MarginMode.CROSS:
            return self._brush["muted"]
        if view is None:
            return None
        if column == BookColumn.LP_NOW:
            return self._brush["muted"]
        if column == BookColumn.LP_WHATIF and not view.closed:
            if view.liquidated_whatif or self._at_once(position.id):
                return self._brush["bad"]
            if _moved(view) and not hypothetical:
                return self._brush["accent"]
        if column == BookColumn.DIES_AT and view.dies_at_whatif is not None:
            now = view.dies_at_now
            if now is None or abs(view.dies_at_whatif) < abs(now):
                return self._brush["bad"] if now != view.dies_at_whatif else None
            if abs(view.dies_at_whatif) > abs(now):
                return self._brush["good"]
        if column in (BookColumn.LP_WHATIF, BookColumn.DIES_AT, BookColumn.MARK) and view.closed:
            return self._brush["muted"]
        return None

    def _background(
        self, position: Position, hypothetical: bool, column: BookColumn,
        view: PositionView | None,
    ) -> QBrush | None:
        if (position.id, int(column)) in self._errors:
            return self._brush["bg-error"]
        if view is not None and not view.closed and (
            self._at_once(position.id) or view.liquidated_whatif
        ):
            return self._brush["bg-bad"]
        if column in _EDIT_COLUMNS and self._changed_from_live(position, hypothetical):
            return self._brush["bg-changed"]
        return None

    def _font(
        self, position: Position, hypothetical: bool, column: BookColumn,
        view: PositionView | None,
    ) -> QFont | None:
        if column == BookColumn.LP_WHATIF and view is not None and not view.closed and (
            _moved(view)
        ):
            return self._bold
        if column == BookColumn.SYMBOL and hypothetical:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def _tooltip(
        self, position: Position, hypothetical: bool, column: BookColumn,
        view: PositionView | None,
    ) -> str | None:
        error = self._errors.get((position.id, int(column)))
        if error is not None:
            return error
        f = self._formats
        symbol = position.symbol
        if column == BookColumn.SYMBOL:
            kind = "hypothetical position" if hypothetical else "position"
            unit = " USD" if position.inverse else ""
            return (
                f"{symbol} {position.side.value}, {kind} {position.id}\n"
                f"size {f.size(symbol, position.size)}{unit} ({position.contracts} contracts) "
                f"at {fmt.leverage(position.leverage)}, "
                f"entry {f.price(symbol, position.entry_price)}"
            )
        if column == BookColumn.MARK:
            return f"Today's mark {f.price(symbol, position.mark_price)}"
        if view is None:
            return None
        if column == BookColumn.LP_NOW and not hypothetical:
            return _lp_tip(view.lp_now, view.distance_now, view.liquidated_now, "current book")
        if column == BookColumn.LP_WHATIF and not view.closed:
            tip = _lp_tip(view.lp_whatif, view.distance_whatif, view.liquidated_whatif, "what-if")
            if self._at_once(position.id):
                tip += "\nThe what-if liquidates this position at once."
            return tip
        if column == BookColumn.DIES_AT and not view.closed:
            never = "never"
            whatif = (percent_text(view.dies_at_whatif) if view.dies_at_whatif is not None
                      else never)
            now = percent_text(view.dies_at_now) if view.dies_at_now is not None else never
            return f"What-if: {whatif}; current book: {now} (within the shock axis)"
        if column == BookColumn.MARGIN and view.margin_now is not None:
            return f"Isolated margin now {fmt.money(view.margin_now, self._settle(), unit=True)}"
        return None


#: A what-if liquidation price that moved by more than this (relative) is highlighted.
NOTABLE_MOVE = Decimal("0.0005")


def _moved(view: PositionView) -> bool:
    """True when the what-if LP differs notably from the current one (or appears/vanishes)."""
    now, whatif = view.lp_now, view.lp_whatif
    if now is None or whatif is None:
        return now is not whatif and not view.hypothetical
    return abs(whatif - now) > abs(now) * NOTABLE_MOVE


def _lp_tip(lp: Decimal | None, distance: Decimal | None, liquidated: bool, where: str) -> str:
    if lp is None:
        return f"Never liquidated at any price ({where})"
    text = f"{lp} (exact engine value, {where})"
    if distance is not None:
        text += f"\n{fmt.percent(distance)} from today's mark"
    if liquidated:
        text += "\nLiquidated at the slider's shock"
    return text


def _checked(value: Any) -> bool:
    if isinstance(value, Qt.CheckState):
        return value == Qt.CheckState.Checked
    try:
        return int(value) == Qt.CheckState.Checked.value
    except (TypeError, ValueError):
        return bool(value)


# --------------------------------------------------------------------------- weights


# --------------------------------------------------------------------------- cascade


