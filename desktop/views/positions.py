"""Positions tab: filter box, sortable table and the per-position context menu.

The view only adapts: rows come from :class:`desktop.session.AccountSession`
snapshots through :class:`PositionsTableModel`; menu actions are emitted as
signals (``whatif_requested``, ``edit_requested``, ``journal_requested``) and the
main window routes them (to the What-if tab, the position dialog, the journal).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from crossmargin.domain import AccountState
from desktop.models.positions import (
    ID_ROLE,
    PositionColumn,
    PositionsSortProxy,
    PositionsTableModel,
)
from desktop.session import AccountSession, RiskSnapshot
from desktop.theme import Theme


class PositionsView(QWidget):
    """The positions tab (GUI thread).

    Signals: ``whatif_requested(str, str)`` with an action (``switch``, ``add_margin``,
    ``close``) and a position id; ``edit_requested(str)``; ``journal_requested(str)``.
    """

    whatif_requested = Signal(str, str)
    edit_requested = Signal(str)
    journal_requested = Signal(str)

    def __init__(self, *, session: AccountSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._can_edit = False
        self._has_journal = False
        self._has_whatif = False
        self._fitted = False
        self.model = PositionsTableModel(self)
        self.proxy = PositionsSortProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter positions (symbol, long/short, cross/isolated)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_query)
        self.count_label = QLabel("")
        self.count_label.setObjectName("ChartReadout")
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)

        self.table = QTableView()
        self.table.setObjectName("PositionsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)  # a stretched last column strands its values
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        header.setResizeContentsPrecision(300)  # fit widths on a sample of big books
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.table.doubleClicked.connect(self._on_double_click)
        self._default_widths()

        self.empty_label = QLabel("No open positions in this account.")
        self.empty_label.setObjectName("EmptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)

        self.proxy.rowsInserted.connect(self._update_count)
        self.proxy.rowsRemoved.connect(self._update_count)
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)
        focus = QAction("Filter", self)
        focus.setShortcut(QKeySequence.StandardKey.Find)
        focus.triggered.connect(self.filter_edit.setFocus)
        self.addAction(focus)

        session.snapshot_ready.connect(self._on_snapshot)
        session.state_changed.connect(self._on_state)

    # -- wiring -----------------------------------------------------------------
    def set_capabilities(self, *, can_edit: bool, has_journal: bool, has_whatif: bool) -> None:
        self._can_edit = can_edit
        self._has_journal = has_journal
        self._has_whatif = has_whatif

    def _on_state(self, state: AccountState | None) -> None:
        settle = state.settle if state is not None else "USDT"
        self.model.clear()
        self.model.set_settle(settle)

    def _on_snapshot(self, snap: RiskSnapshot) -> None:
        self.model.set_settle(snap.risk.settle)
        self.model.set_positions(snap.risk.positions, snap.switched)
        reported = any(p.exchange_liquidation_price is not None for p in snap.risk.positions)
        column = int(PositionColumn.EXCHANGE_LIQUIDATION)
        if self.table.isColumnHidden(column) == reported:
            self.table.setColumnHidden(column, not reported)  # only synced books report one
        self._update_count()
        if not self._fitted and self.model.rowCount():
            self._fitted = True
            self.fit_columns()

    def _update_count(self, *_: object) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        self.count_label.setText(
            f"{total} position{'s' if total != 1 else ''}" if shown == total
            else f"{shown} of {total} shown"
        )
        self.empty_label.setVisible(total == 0)

    def keep_column_widths(self) -> None:
        """The user's saved widths were restored: do not fit columns to the first data."""
        self._fitted = True

    def fit_columns(self) -> None:
        """Size every column to its header and contents (plus breathing room)."""
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount()):
            self.table.resizeColumnToContents(column)
            header.resizeSection(column, header.sectionSize(column) + 6)

    def _default_widths(self) -> None:
        widths = {
            PositionColumn.SYMBOL: 150, PositionColumn.SIDE: 60, PositionColumn.SIZE: 100,
            PositionColumn.ENTRY: 100, PositionColumn.MARK: 100, PositionColumn.LEVERAGE: 72,
            PositionColumn.MODE: 76, PositionColumn.MARGIN: 100, PositionColumn.UPNL: 100,
            PositionColumn.ROE: 80, PositionColumn.LIQUIDATION: 104, PositionColumn.DISTANCE: 84,
            PositionColumn.SWITCHED_LIQUIDATION: 112, PositionColumn.EXCHANGE_LIQUIDATION: 104,
        }
        for column, width in widths.items():
            self.table.setColumnWidth(int(column), width)

    # -- menu -------------------------------------------------------------------
    def _on_double_click(self, index: QModelIndex) -> None:
        if index.isValid() and self._can_edit:
            self.edit_requested.emit(str(index.data(ID_ROLE)))

    def build_menu(self, position_id: str) -> QMenu:
        """The context menu for ``position_id`` (public so tests can inspect it)."""
        row = self.model.row_of(position_id)
        p = self.model.position_at(row)
        other = "isolated" if str(p.margin_mode) == "cross" else "cross"
        menu = QMenu(self)
        switch = menu.addAction(f"Switch to {other} (what-if)")
        switch.setObjectName("switch")
        add = menu.addAction("Add margin… (what-if)")
        add.setObjectName("add_margin")
        add.setEnabled(self._has_whatif and str(p.margin_mode) == "isolated")
        if str(p.margin_mode) != "isolated":
            add.setToolTip("Only isolated positions have their own margin")
        close = menu.addAction("Close position (what-if)")
        close.setObjectName("close")
        for action in (switch, close):
            action.setEnabled(self._has_whatif)
        for action in (switch, add, close):
            name = action.objectName()
            action.triggered.connect(
                lambda _=False, a=name: self.whatif_requested.emit(a, position_id)
            )
        menu.addSeparator()
        edit = menu.addAction("Edit position…")
        edit.setEnabled(self._can_edit)
        edit.triggered.connect(lambda: self.edit_requested.emit(position_id))
        journal = menu.addAction("Open in journal")
        journal.setEnabled(self._has_journal)
        journal.triggered.connect(lambda: self.journal_requested.emit(position_id))
        menu.setToolTipsVisible(True)
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.table.setCurrentIndex(index)
        menu = self.build_menu(str(index.data(ID_ROLE)))
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def apply_theme(self, theme: Theme) -> None:
        self.model.set_theme(theme)
