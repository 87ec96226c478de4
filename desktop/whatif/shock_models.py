"""The What-if tab's shock tables: per-symbol moves or betas (editable) and the
liquidation cascade (who goes at which shock, in order).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from desktop import formatting as fmt
from desktop.models.base import (
    ID_ROLE,
    RAW_ROLE,
    ColumnTableModel,
    ModelIndex,
)
from desktop.theme import LIGHT, Theme
from desktop.whatif.cells import (
    DISPLAY,
    EDIT,
    LEFT,
    RIGHT,
    percent_text,
    plain_number,
    theme_brushes,
)

from .compute import CascadeRow, WhatIfSnapshot
from .plan import ShockMode
from .viewmodel import WhatIfViewModel


class WeightColumn(IntEnum):
    SYMBOL = 0
    VALUE = 1
    AT_SHOCK = 2


class ShockWeightsTableModel(ColumnTableModel):
    """Per-symbol shock settings: each symbol's move (per-symbol mode, percent) or its
    beta to BTC (beta mode), and the move that results at the slider's shock.
    One row per symbol (``_rows``)."""

    COLUMNS = WeightColumn

    input_rejected = Signal(str)
    input_accepted = Signal()

    def __init__(self, viewmodel: WhatIfViewModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._vm = viewmodel
        self._rows: list[str] = []
        self._errors: dict[str, str] = {}
        self._brush = theme_brushes(LIGHT)
        self._mode = viewmodel.plan.shock_mode
        viewmodel.rows_changed.connect(self.reload)
        viewmodel.plan_changed.connect(self._on_plan_changed)
        self.reload()

    def _header(self, column: WeightColumn, role: int) -> Any:
        beta = self._mode is ShockMode.BETA
        if role == DISPLAY:
            if column == WeightColumn.SYMBOL:
                return "Symbol"
            if column == WeightColumn.VALUE:
                return "Beta to BTC" if beta else "Move (%)"
            return "Move at slider"
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == WeightColumn.VALUE:
                return (
                    "How far the symbol moves per 1 % of BTC (double-click to edit)"
                    if beta
                    else "The symbol's move in percent at 100 % on the slider (double-click)"
                )
            if column == WeightColumn.AT_SHOCK:
                return "The symbol's price move at the slider's current shock"
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return LEFT if column == WeightColumn.SYMBOL else RIGHT
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.column() == WeightColumn.VALUE and self._mode is not ShockMode.UNIFORM:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: ModelIndex, role: int = DISPLAY) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        symbol = self._rows[index.row()]
        column = WeightColumn(index.column())
        if role in (DISPLAY, EDIT):
            if column == WeightColumn.SYMBOL:
                return symbol if role == DISPLAY else None
            if column == WeightColumn.VALUE:
                return self._value_text(symbol, edit=role == EDIT)
            return self._at_shock_text(symbol) if role == DISPLAY else None
        if role == RAW_ROLE:
            if column == WeightColumn.SYMBOL:
                return symbol
            weight = self._vm.weight(symbol)
            if column == WeightColumn.VALUE:
                return weight
            return self._move(symbol)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return LEFT if column == WeightColumn.SYMBOL else RIGHT
        if role == Qt.ItemDataRole.BackgroundRole and column == WeightColumn.VALUE:
            return self._brush["bg-error"] if symbol in self._errors else None
        if role == Qt.ItemDataRole.ToolTipRole and column == WeightColumn.VALUE:
            return self._errors.get(symbol)
        if role == Qt.ItemDataRole.ForegroundRole and column == WeightColumn.AT_SHOCK:
            move = self._move(symbol)
            if move < 0:
                return self._brush["bad"]
            if move > 0:
                return self._brush["good"]
        return None

    def setData(self, index: ModelIndex, value: Any, role: int = EDIT) -> bool:
        if (
            not index.isValid()
            or role != EDIT
            or not self.flags(index) & Qt.ItemFlag.ItemIsEditable
        ):
            return False
        symbol = self._rows[index.row()]
        error = self._vm.set_weight_text(symbol, str(value))
        if error is not None:
            self._errors[symbol] = error
            self.dataChanged.emit(index, index, [])
            self.input_rejected.emit(error)
            return False
        self._errors.pop(symbol, None)
        if not self._errors:
            self.input_accepted.emit()
        return True

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = self._vm.symbols()
        self._mode = self._vm.plan.shock_mode
        self._errors = {k: v for k, v in self._errors.items() if k in self._rows}
        self.endResetModel()

    def set_theme(self, theme: Theme) -> None:
        self._brush = theme_brushes(theme)
        self._emit_all_changed()

    def symbol_at(self, row: int) -> str:
        return self._rows[row]

    def _on_plan_changed(self) -> None:
        if self._vm.plan.shock_mode is not self._mode:
            self._errors.clear()
            self.reload()
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(WeightColumn) - 1)
        elif self._rows:
            self.dataChanged.emit(
                self.index(0, 1), self.index(len(self._rows) - 1, len(WeightColumn) - 1), []
            )

    def _move(self, symbol: str) -> Decimal:
        """The symbol's move at the slider (fraction): ``weight × t``."""
        return self._vm.weight(symbol) * self._vm.plan.shock

    def _value_text(self, symbol: str, *, edit: bool) -> str:
        weight = self._vm.weight(symbol)
        if self._mode is ShockMode.PER_SYMBOL:
            text = plain_number(weight * 100)
            return text if edit else fmt.percent(weight, decimals=1, sign=True)
        if self._mode is ShockMode.BETA:
            return plain_number(weight) if edit else f"{weight.normalize():f}"
        return "1" if edit else "1 (uniform)"

    def _at_shock_text(self, symbol: str) -> str:
        return fmt.percent(self._move(symbol), decimals=1, sign=True)


class CascadeColumn(IntEnum):
    ORDER = 0
    SHOCK = 1
    NOW = 2
    POSITIONS = 3


CASCADE_HEADERS: Mapping[CascadeColumn, tuple[str, str]] = {
    CascadeColumn.ORDER: ("#", "Order in which a move away from today's marks hits them"),
    CascadeColumn.SHOCK: ("What-if", "Shock at which it happens in the what-if book"),
    CascadeColumn.NOW: ("Now", "Shock at which the same positions die in the current book"),
    CascadeColumn.POSITIONS: (
        "Who",
        "Isolated: one position loses its own margin; cross: every cross position at once",
    ),
}


class CascadeTableModel(ColumnTableModel):
    """The what-if book's liquidation cascade (read-only), nearest shock first."""

    COLUMNS = CascadeColumn
    RIGHT_ALIGNED = frozenset(CascadeColumn) - {CascadeColumn.POSITIONS}
    HEADINGS = CASCADE_HEADERS

    def __init__(self, viewmodel: WhatIfViewModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._vm = viewmodel
        self._rows: tuple[CascadeRow, ...] = ()
        self._book: object | None = None
        self._brush = theme_brushes(LIGHT)
        viewmodel.snapshot_ready.connect(self._on_snapshot)

    def data(self, index: ModelIndex, role: int = DISPLAY) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = CascadeColumn(index.column())
        if role == DISPLAY:
            match column:
                case CascadeColumn.ORDER:
                    return str(row.order)
                case CascadeColumn.SHOCK:
                    return "now" if row.direction == "now" else percent_text(row.shock)
                case CascadeColumn.NOW:
                    if row.shock_now is None:
                        return "never"
                    return "now" if row.shock_now == 0 else percent_text(row.shock_now)
                case CascadeColumn.POSITIONS:
                    if row.kind == "cross":
                        lost = ""
                        if row.collateral_loss:  # a pool: its collateral fell on the way
                            lost = f" · collateral −{row.collateral_loss:,.2f}"
                        return f"cross ({len(row.position_ids)}): {row.label}{lost}"
                    return row.label
        if role == RAW_ROLE:
            return {
                CascadeColumn.ORDER: row.order,
                CascadeColumn.SHOCK: row.shock,
                CascadeColumn.NOW: row.shock_now,
                CascadeColumn.POSITIONS: row.label,
            }[column]
        if role == ID_ROLE:
            return ",".join(row.position_ids)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return LEFT if column == CascadeColumn.POSITIONS else RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and column == CascadeColumn.POSITIONS:
            kind = "Cross account liquidated" if row.kind == "cross" else "Isolated liquidation"
            return f"{kind}:\n{row.detail or row.label}"
        if role == Qt.ItemDataRole.ToolTipRole and column == CascadeColumn.SHOCK:
            # the "Now" column is hidden when the cascade is narrow: keep its figure here
            now = ("never" if row.shock_now is None
                   else "now" if row.shock_now == 0 else percent_text(row.shock_now))
            return f"What-if book: {self.data(index)}; current book: {now}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == CascadeColumn.SHOCK and (
                row.shock_now is None or abs(row.shock) < abs(row.shock_now)
            ):
                return self._brush["bad"]
            if column == CascadeColumn.NOW:
                return self._brush["muted"]
            if column == CascadeColumn.POSITIONS and row.kind == "cross":
                return self._brush["warn"]
        if role == Qt.ItemDataRole.BackgroundRole and row.direction == "now":
            return self._brush["bg-bad"]
        return None

    def set_theme(self, theme: Theme) -> None:
        self._brush = theme_brushes(theme)
        self._emit_all_changed()

    def _on_snapshot(self, snapshot: WhatIfSnapshot) -> None:
        if snapshot.book is self._book:
            return
        self._book = snapshot.book
        self.beginResetModel()
        self._rows = snapshot.book.cascade
        self.endResetModel()
