"""The dashboard's collateral panel (multi-asset accounts): each asset's market value
and what it counts for in the margin balance after its collateral value ratio."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import formatting as fmt

if TYPE_CHECKING:
    from crossmargin.margin import AccountRisk

COLUMNS = ("Asset", "Balance", "Price", "Market value", "Ratio", "Counts")


class CollateralPanel(QWidget):
    """Hidden unless the account holds collateral in other assets."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        self.title = QLabel("Pooled collateral")
        self.title.setObjectName("ChartTitle")
        box.addWidget(self.title)
        self.summary = QLabel("")
        self.summary.setObjectName("ChartReadout")
        self.summary.setWordWrap(True)
        box.addWidget(self.summary)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("CollateralTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setMinimumWidth(360)
        box.addWidget(self.table, 1)
        self.setVisible(False)

    def set_risk(self, risk: AccountRisk | None) -> None:
        rows = risk.collateral if risk is not None else ()
        self.setVisible(bool(rows))
        if risk is None or not rows:
            return
        settle = risk.settle
        market = sum((c.market_value for c in rows), start=rows[0].market_value * 0)
        if risk.collateral_mode.value == "multi":
            self.summary.setText(
                f"Multi-asset margin: {fmt.money(risk.collateral_value, settle)} of "
                f"{fmt.money(market, settle)} {settle} market value counts in the margin "
                f"balance ({fmt.money(risk.margin_balance, settle)} {settle}).")
        else:
            self.summary.setText("Single-asset margin: these balances do not back the "
                                 f"positions; only {settle} does.")
        self.table.setRowCount(len(rows))
        for r, c in enumerate(rows):
            cells = (c.asset, fmt.group(c.amount, fmt.decimals_of(c.amount.normalize())),
                     fmt.group(c.price, fmt.magnitude_decimals(c.price)),
                     fmt.money(c.market_value, settle),
                     "—" if c.ratio is None else fmt.percent(c.ratio),
                     fmt.money(c.value, settle))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, col, item)
