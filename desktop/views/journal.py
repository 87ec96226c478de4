"""Journal tab: the selected journal account's positions, notes and statistics.

Reads and writes go through :mod:`desktop.journal_ops` on the serial task queue;
edits are undoable (a :class:`QUndoStack` whose commands write the old values
back). After each write the page is re-read, and the ``changed`` signal tells the
main window to re-evaluate the account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop import formatting as fmt
from desktop.dialogs.journal_dialogs import EditPositionDialog, ImportDialog
from desktop.models.journal import JournalPositionsTableModel
from desktop.tasks import TaskRunner
from desktop.theme import LIGHT, Theme

if TYPE_CHECKING:  # the journal (SQLAlchemy) loads on first use, not at start-up
    from crossmargin.storage import Journal, JournalPosition, Statistics
    from desktop.journal_ops import JournalPage


def _ops():
    from desktop import journal_ops

    return journal_ops


class EditCommand(QUndoCommand):
    """One edit of a position's own fields; undo writes the previous values back."""

    def __init__(self, view: JournalView, position_id: int, changes: dict[str, Any],
                 label: str) -> None:
        super().__init__(label)
        self._view = view
        self._id = position_id
        self._changes = changes
        self._previous: dict[str, Any] | None = None

    def redo(self) -> None:
        def done(previous: dict[str, Any]) -> None:
            if self._previous is None:
                self._previous = previous

        self._view.write(_ops().edit_position, self._id, self._changes, on_done=done)

    def undo(self) -> None:
        if self._previous is not None:
            self._view.write(_ops().edit_position, self._id, dict(self._previous))


class JournalView(QWidget):
    """The Journal tab. ``changed()`` after a write; ``problem(str, list)`` for the bar."""

    changed = Signal()
    problem = Signal(str, object)
    log_requested = Signal()

    def __init__(self, *, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._journal: Journal | None = None
        self._account_id: int | None = None
        self._account_label = ""
        self._theme = LIGHT
        self._positions: tuple[JournalPosition, ...] = ()
        self.undo_stack = QUndoStack(self)
        self.model = JournalPositionsTableModel(self)
        self.import_dialog: ImportDialog | None = None
        self._fitted = False

        self.status_filter = QComboBox()
        for text, value in (("All positions", None), ("Open", "open"), ("Closed", "closed")):
            self.status_filter.addItem(text, value)
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        self.log_button = QPushButton("Log a position…")
        self.log_button.clicked.connect(self.log_requested)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.import_button = QPushButton("Import CSV…")
        self.import_button.clicked.connect(self.import_dialog_for_file)
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.addActions([self.undo_action, self.redo_action])
        undo_button = QPushButton("Undo")
        undo_button.setEnabled(False)
        undo_button.clicked.connect(self.undo_stack.undo)
        self.undo_stack.canUndoChanged.connect(undo_button.setEnabled)
        self.count_label = QLabel("")
        self.count_label.setObjectName("ChartReadout")
        bar = QHBoxLayout()
        bar.addWidget(self.status_filter)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        for button in (undo_button, self.edit_button, self.import_button, self.log_button):
            bar.addWidget(button)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        edit = QAction("Edit", self)
        edit.setShortcut(QKeySequence(Qt.Key.Key_Return))
        edit.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        edit.triggered.connect(self.edit_selected)
        self.table.addAction(edit)

        self.stats_box = QFrame()
        self.stats_box.setObjectName("KeyFigureCard")
        self.stats_form = QFormLayout(self.stats_box)
        self.stats_labels: dict[str, QLabel] = {}
        for key, title in (("trades", "Closed trades"), ("win_rate", "Win rate"),
                           ("expectancy", "Expectancy"), ("profit_factor", "Profit factor"),
                           ("average_win", "Average win"), ("average_loss", "Average loss"),
                           ("fees", "Fees"), ("funding", "Funding"), ("net_pnl", "Net PnL"),
                           ("max_drawdown", "Max drawdown")):
            label = QLabel(fmt.DASH)
            label.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.stats_labels[key] = label
            self.stats_form.addRow(title, label)
        self.pnl_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.pnl_plot.setMinimumHeight(140)
        self.pnl_plot.getPlotItem().setMenuEnabled(False)
        self.pnl_plot.getPlotItem().hideButtons()
        self.pnl_plot.setMouseEnabled(x=True, y=False)
        self.pnl_curve = self.pnl_plot.plot([], [])
        pnl_title = QLabel("Cumulative net PnL (closed)")
        pnl_title.setObjectName("ChartTitle")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        stats_title = QLabel("Statistics")
        stats_title.setObjectName("ChartTitle")
        side_layout.addWidget(stats_title)
        side_layout.addWidget(self.stats_box)
        side_layout.addWidget(pnl_title)
        side_layout.addWidget(self.pnl_plot, 1)

        self.empty_label = QLabel("Select a journal account on the left, or log a position "
                                  "to start one.")
        self.empty_label.setObjectName("EmptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([720, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.empty_label)
        self._show_account(False)
        self.apply_theme(self._theme)

    # -- account ----------------------------------------------------------------
    def set_account(self, journal: Journal | None, account_id: int | None, label: str = "") -> None:
        """Show ``account_id`` of ``journal`` (None: no journal account selected)."""
        if (journal, account_id) != (self._journal, self._account_id):
            self.undo_stack.clear()
        self._journal, self._account_id, self._account_label = journal, account_id, label
        self._show_account(journal is not None and account_id is not None)
        self.reload()

    def account_id(self) -> int | None:
        return self._account_id

    def _show_account(self, shown: bool) -> None:
        self.splitter.setVisible(shown)
        self.empty_label.setVisible(not shown)
        for w in (self.edit_button, self.import_button, self.status_filter):
            w.setEnabled(shown)

    def reload(self) -> None:
        """Re-read the account's positions and statistics (serial task, latest wins)."""
        if self._journal is None or self._account_id is None:
            self.model.set_positions([])
            return
        account_id = self._account_id
        self._tasks.submit(
            _ops().journal_page, self._journal, account_id, serial=True,
            key="journal.page",
            on_success=lambda page: self._on_page(page) if account_id == self._account_id
            else None,
            on_error=lambda exc: self.problem.emit("The journal could not be read.",
                                                   _problems(exc)),
        )

    def _on_page(self, page: JournalPage) -> None:
        self._positions = page.positions
        self._apply_filter()
        if not self._fitted and page.positions:
            self._fitted = True
            header = self.table.horizontalHeader()
            for column in range(self.model.columnCount() - 1):  # notes stretch
                self.table.resizeColumnToContents(column)
                header.resizeSection(column, header.sectionSize(column) + 8)
        self._show_stats(page.statistics[0] if page.statistics else None)
        self._show_pnl_curve(page.positions)

    def _apply_filter(self) -> None:
        status = self.status_filter.currentData()
        rows = [p for p in self._positions if status is None or str(p.status) == status]
        self.model.set_positions(rows)
        self.count_label.setText(f"{len(rows)} of {len(self._positions)}"
                                 if status is not None else f"{len(rows)} positions")

    def _show_stats(self, s: Statistics | None) -> None:
        if s is None:
            for label in self.stats_labels.values():
                label.setText(fmt.DASH)
            return
        c = s.currency
        values = {
            "trades": f"{s.trades} ({s.wins} won, {s.losses} lost)",
            "win_rate": fmt.percent(s.win_rate, decimals=1),
            "expectancy": fmt.money(s.expectancy, c, sign=True, unit=True),
            "profit_factor": fmt.DASH if s.profit_factor is None else f"{s.profit_factor:.2f}",
            "average_win": fmt.money(s.average_win, c, unit=True),
            "average_loss": fmt.money(s.average_loss, c, unit=True),
            "fees": fmt.money(s.fees, c, unit=True),
            "funding": fmt.money(s.funding, c, sign=True, unit=True),
            "net_pnl": fmt.money(s.net_pnl, c, sign=True, unit=True),
            "max_drawdown": fmt.money(s.max_drawdown, c, unit=True),
        }
        for key, text in values.items():
            self.stats_labels[key].setText(text)

    def _show_pnl_curve(self, positions: tuple[JournalPosition, ...]) -> None:
        closed = sorted((p for p in positions if p.closed_at is not None),
                        key=lambda p: p.closed_at or datetime.min)
        if not closed:
            self.pnl_curve.setData([], [])
            return
        # starts at 0 when the first closed trade was opened
        t = np.array([closed[0].opened_at.timestamp()]
                     + [p.closed_at.timestamp() for p in closed if p.closed_at], dtype=np.float64)
        pnl = np.concatenate([[0.0], np.cumsum([float(p.net_pnl) for p in closed])])
        self.pnl_curve.setData(t, pnl)

    # -- writes -----------------------------------------------------------------
    def write(self, fn: Callable[..., Any], *args: Any,
              on_done: Callable[[Any], None] | None = None) -> None:
        """Run a journal write on the serial queue, then reload and announce the change."""
        if self._journal is None:
            return

        def done(result: Any) -> None:
            if on_done is not None:
                on_done(result)
            self.reload()
            self.changed.emit()

        self._tasks.submit(fn, self._journal, *args, serial=True, on_success=done,
                           on_error=lambda exc: self.problem.emit("The change was not saved.",
                                                                  _problems(exc)))

    def selected_position(self) -> JournalPosition | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.position_at(index.row())

    def edit_selected(self) -> None:
        position = self.selected_position()
        if position is None:
            return
        dialog = EditPositionDialog(position, parent=self)
        if dialog.exec() and dialog.changes():
            self.apply_edit(int(position.id), dialog.changes())

    def apply_edit(self, position_id: int, changes: dict[str, Any]) -> None:
        """Store ``changes`` to a position as one undoable step."""
        names = ", ".join(sorted(changes))
        self.undo_stack.push(EditCommand(self, position_id, changes, f"Edit {names}"))

    def select_position(self, position_id: int) -> None:
        row = self.model.row_of(position_id)
        if row >= 0:
            self.table.setCurrentIndex(self.model.index(row, 0))

    # -- import -------------------------------------------------------------------
    def import_dialog_for_file(self, path: Path | None = None) -> ImportDialog | None:
        if self._journal is None or self._account_id is None:
            return None
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "Import fills", str(Path.home()),
                                                  "CSV files (*.csv);;All files (*)")
            if not name:
                return None
            path = Path(name)
        dialog = ImportDialog(path, account_label=self._account_label, parent=self)
        journal, account_id = self._journal, self._account_id
        dialog.preview_requested.connect(lambda p, preset: self._tasks.submit(
            _ops().preview_import, journal, account_id, p, preset, serial=True,
            key="journal.preview", on_success=dialog.show_preview,
            on_error=lambda exc: dialog.show_problems(_problems(exc))))
        dialog.import_requested.connect(lambda p, preset: self._tasks.submit(
            _ops().run_import, journal, account_id, p, preset, serial=True,
            on_success=lambda report: (dialog.show_done(report), self.reload(),
                                       self.changed.emit()),
            on_error=lambda exc: dialog.show_problems(_problems(exc))))
        self.import_dialog = dialog
        dialog.open()
        dialog.start()
        return dialog

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.model.set_theme(theme)
        self.pnl_plot.setBackground(theme.chart_bg)
        for name in ("left", "bottom"):
            axis = self.pnl_plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(theme.grid))
            axis.setTextPen(pg.mkPen(theme.chart_fg))
        self.pnl_curve.setPen(pg.mkPen(theme.good, width=1))


def _problems(exc: BaseException) -> list[str]:
    problems = getattr(exc, "problems", None)
    return list(problems) if problems else [str(exc) or type(exc).__name__]

