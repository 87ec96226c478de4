"""The What-if tab's collateral editor (multi-asset accounts): pool the collateral or not,
change a balance, sell an asset for the settlement currency; each row shows what the
asset counts for before and after the what-if.

Plain widgets over the view-model's collateral calls; every change goes through the
engine's what-if operations (``SetCollateralMode``, ``SetCollateral``,
``ConvertCollateral``), so what this shows is what the engine computed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crossmargin.domain import CollateralMode
from desktop import formatting as fmt

if TYPE_CHECKING:
    from crossmargin.domain import AccountState
    from crossmargin.margin import AccountRisk
    from desktop.whatif.viewmodel import WhatIfViewModel

COLUMNS = ("Asset", "Balance", "Price", "Ratio", "Counts", "What-if")
TIPS = ("", "The what-if balance (double-click to edit)", "One unit in the settlement currency",
        "Collateral value ratio: the share of its market value that counts",
        "What it counts for in the margin balance now",
        "What it counts for after the what-if")
BALANCE = 1


class CollateralBox(QWidget):
    """``problem(str)`` when the engine refuses an edit (shown by the panel)."""

    problem = Signal(str)

    def __init__(self, viewmodel: WhatIfViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._vm = viewmodel
        self._filling = False
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        head = QHBoxLayout()
        self.title = QLabel("Collateral")
        self.title.setObjectName("WhatIfSectionTitle")
        head.addWidget(self.title)
        self.pool = QCheckBox("Pool every asset (multi-asset margin)")
        self.pool.setToolTip("On: every collateral asset backs the cross positions at its "
                             "value ratio (Binance Multi-Assets, Bybit UTA). Off: only the "
                             "settlement currency does.")
        self.pool.toggled.connect(self._on_pool)
        head.addWidget(self.pool)
        head.addStretch(1)
        self.sell = QPushButton("Sell for …")
        self.sell.setToolTip("Sell the selected asset's whole what-if balance for the "
                             "settlement currency (at its price; no fee)")
        self.sell.clicked.connect(self._on_sell)
        head.addWidget(self.sell)
        box.addLayout(head)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("WhatIfCollateralTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for col, tip in enumerate(TIPS):
            header_item = self.table.horizontalHeaderItem(col)
            if header_item is not None and tip:
                header_item.setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(22 * 4 + 28)
        self.table.itemChanged.connect(self._on_item)
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        box.addWidget(self.table)
        self.note = QLabel("")
        self.note.setObjectName("ChartReadout")
        self.note.setWordWrap(True)
        box.addWidget(self.note)
        self.setVisible(False)

    # -- filling --------------------------------------------------------------------
    def refresh(self, before: AccountRisk | None = None, after: AccountRisk | None = None
                ) -> None:
        """Rows from the view-model's book and plan; counted values from the engine's
        answer (``before``/``after``) when there is one."""
        base: AccountState | None = self._vm.base
        rows = self._vm.collateral_rows()
        shown = base is not None and (bool(rows) or base.multi_asset)
        self.setVisible(shown)
        if not shown or base is None:
            return
        settle = base.settle
        self.sell.setText(f"Sell for {settle}")
        plan_mode = self._vm.plan.collateral_mode or base.collateral_mode
        self._filling = True
        try:
            self.pool.setChecked(plan_mode is CollateralMode.MULTI)
            now = {c.asset: c.value for c in (before.collateral if before else ())}
            then = {c.asset: c.value for c in (after.collateral if after else ())}
            self.table.setRowCount(len(rows))
            for r, (c, amount) in enumerate(rows):
                ratio = c.value / c.market_value if c.market_value else None
                cells = (
                    c.asset, _plain(amount), fmt.group(c.price, fmt.magnitude_decimals(c.price)),
                    "—" if ratio is None else f"{ratio * 100:.2f} %",
                    _money(now.get(c.asset), settle), _money(then.get(c.asset), settle),
                )
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if col != BALANCE:
                        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    else:
                        item.setToolTip(f"The what-if balance of {c.asset}; live "
                                        f"{_plain(c.amount)} (double-click to edit)")
                    if col:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                              | Qt.AlignmentFlag.AlignVCenter)
                    if col == BALANCE and amount != c.amount:
                        font = item.font()
                        font.setBold(True)
                        item.setFont(font)
                    self.table.setItem(r, col, item)
        finally:
            self._filling = False
        if after is not None:
            mode = "pooled" if after.collateral_mode is CollateralMode.MULTI else "not counted"
            self.note.setText(
                f"Counts {_money(after.collateral_value, settle)} {settle} in the margin "
                f"balance ({mode}). A coin held moves with its contracts: when it falls, the "
                "collateral falls with the positions.")
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.sell.setEnabled(self.table.currentRow() >= 0)

    # -- edits ----------------------------------------------------------------------
    def _on_pool(self, checked: bool) -> None:
        if self._filling:
            return
        why = self._vm.set_collateral_mode(CollateralMode.MULTI if checked
                                           else CollateralMode.SINGLE)
        if why:
            self.problem.emit(why)
            self.refresh()

    def _on_item(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != BALANCE:
            return
        cell = self.table.item(item.row(), 0)
        if cell is None:
            return
        why = self._vm.set_collateral_text(cell.text(), item.text())
        if why:
            self.problem.emit(why)
            self.refresh()

    def _on_sell(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        cell = self.table.item(row, 0)
        why = self._vm.sell_collateral(cell.text()) if cell is not None else None
        if why:
            self.problem.emit(why)


def _plain(value: Decimal) -> str:
    """A balance as typed (no grouping: it is edited in place)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0E-8") else text


def _money(value: Decimal | None, settle: str) -> str:
    return "—" if value is None else fmt.money(value, settle)
