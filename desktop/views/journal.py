"""Journal tab: the selected journal account's positions and fills, statistics, export.

Reads and writes go through :mod:`desktop.journal_ops` on the serial task queue;
edits are undoable (a :class:`QUndoStack` whose commands write the old values
back; a deleted fill is stored again). After each write the first pages are re-read,
and the ``changed`` signal tells the main window to re-evaluate the account. Both
tables load page by page as the user scrolls (``canFetchMore``/``fetchMore``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crossmargin.storage.records import OpChanges
from desktop import formatting as fmt
from desktop.charts.timeseries import CompactDateAxis
from desktop.dialogs.close_position import AddFillDialog, ClosePositionDialog
from desktop.dialogs.edit_position import EditPositionDialog
from desktop.dialogs.journal_dialogs import EditFillDialog, ImportDialog
from desktop.errors import problems_of
from desktop.models.journal import FillsTableModel, JournalPositionsTableModel, PagedTableModel
from desktop.tasks import TaskRunner
from desktop.theme import LIGHT, Theme
from desktop.views.journal_commands import (
    FillIds,
)
from desktop.views.journal_commands import journal_ops as _ops
from desktop.views.journal_editing import JournalEditing
from desktop.views.review import ReviewPanel

if TYPE_CHECKING:  # the journal (SQLAlchemy) loads on first use, not at start-up
    from crossmargin.storage import (
        ImportReport,
        Journal,
        JournalPosition,
        Page,
        Statistics,
    )
    from desktop.journal_ops import JournalPage


class JournalView(JournalEditing, QWidget):
    """The Journal tab. ``changed(OpChanges)`` after a write (what the journal says it
    changed: the window re-reads only what that touches); ``problem(str, list)`` for the
    bar; ``notice(str)`` for a success line (an export written)."""

    changed = Signal(object)
    problem = Signal(str, object)
    notice = Signal(str)
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
        self.fills_model = FillsTableModel(self)
        self.model.more_requested.connect(self._fetch_positions)
        self.fills_model.more_requested.connect(self._fetch_fills)
        self.import_dialog: ImportDialog | None = None
        self.fill_dialog: EditFillDialog | None = None
        self.position_dialog: EditPositionDialog | None = None
        self.close_dialog: ClosePositionDialog | AddFillDialog | None = None
        self.fill_ids = FillIds()  # first id -> id after an undone delete (worker side)
        self._fitted: set[int] = set()

        self.status_filter = QComboBox()
        for text, value in (("All positions", None), ("Open", "open"), ("Closed", "closed")):
            self.status_filter.addItem(text, value)
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        self.log_button = QPushButton("Log a position…")
        self.log_button.clicked.connect(self.log_requested)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.import_button = QPushButton("Import CSV…")
        self.import_button.clicked.connect(lambda: self.import_dialog_for_file())  # noqa: PLW0108 (not `checked`)
        self.export_button = QPushButton("Export")
        self.export_button.setToolTip("Export positions, fills or funding as CSV, or the whole "
                                      "journal as JSON")
        export_menu = QMenu(self.export_button)
        self.export_actions: dict[str, QAction] = {}
        for kind, (title, _filter, _suffix) in _export_kinds().items():
            action = export_menu.addAction(title + "…")
            action.triggered.connect(lambda _=False, k=kind: self.export_dialog(k))
            self.export_actions[kind] = action
        self.export_button.setMenu(export_menu)
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.addActions([self.undo_action, self.redo_action])
        undo_button = QPushButton("Undo")
        undo_button.setEnabled(False)
        undo_button.clicked.connect(self.undo_stack.undo)
        self.undo_stack.canUndoChanged.connect(undo_button.setEnabled)
        self.undo_stack.undoTextChanged.connect(
            lambda text: undo_button.setToolTip(f"Undo {text} (Ctrl+Z)" if text else ""))
        redo_button = QPushButton("Redo")
        redo_button.setEnabled(False)
        redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.canRedoChanged.connect(redo_button.setEnabled)
        self.undo_stack.redoTextChanged.connect(
            lambda text: redo_button.setToolTip(f"Redo {text} (Ctrl+Shift+Z)" if text else ""))
        self.redo_button = redo_button
        self.count_label = QLabel("")
        self.count_label.setObjectName("ChartReadout")
        bar = QHBoxLayout()
        bar.addWidget(self.status_filter)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        for button in (undo_button, redo_button, self.edit_button, self.import_button,
                       self.export_button, self.log_button):
            bar.addWidget(button)

        self.table = self._make_table(self.model, self.edit_selected)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._positions_menu)
        close = QAction("Close position…", self.table)
        close.setShortcut(QKeySequence("Ctrl+Shift+X"))
        close.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        close.triggered.connect(self.close_selected)
        self.table.addAction(close)
        self.positions_menu: QMenu | None = None
        self.fills_table = self._make_table(self.fills_model, self.edit_selected_fill)
        self.fills_table.installEventFilter(self)  # the Delete key deletes the fill
        self.tables = QTabWidget()
        self.tables.setDocumentMode(True)
        self.tables.addTab(self.table, "Positions")
        self.tables.addTab(self.fills_table, "Fills")
        self.review = ReviewPanel()
        self.review.group_changed.connect(lambda _g: self._load_review())
        self.tables.addTab(self.review, "Review")
        self.tables.currentChanged.connect(self._update_count)
        self.tables.currentChanged.connect(lambda _i: self._load_review())

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
        self.pnl_plot = pg.PlotWidget(axisItems={"bottom": CompactDateAxis(utcOffset=0)})
        self.pnl_plot.setMinimumHeight(140)
        self.pnl_plot.getPlotItem().setMenuEnabled(False)
        self.pnl_plot.getPlotItem().hideButtons()
        self.pnl_plot.setMouseEnabled(x=True, y=False)
        self.pnl_curve = self.pnl_plot.plot([], [])
        self.pnl_empty = pg.TextItem("No closed trades yet", anchor=(0.5, 0.5))
        self.pnl_plot.addItem(self.pnl_empty, ignoreBounds=True)
        self._set_curve(np.zeros(0), np.zeros(0))
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
        self.splitter.addWidget(self.tables)
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

    def _make_table(self, model: PagedTableModel, on_edit: Callable[[], object]) -> QTableView:
        table = QTableView()
        table.setModel(model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(26)
        table.horizontalHeader().setStretchLastSection(True)
        table.doubleClicked.connect(lambda _i: on_edit())
        edit = QAction("Edit", table)
        edit.setShortcut(QKeySequence(Qt.Key.Key_Return))
        edit.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        edit.triggered.connect(on_edit)
        table.addAction(edit)
        return table

    # -- account ----------------------------------------------------------------
    def set_account(self, journal: Journal | None, account_id: int | None, label: str = "") -> None:
        """Show ``account_id`` of ``journal`` (None: no journal account selected)."""
        if (journal, account_id) != (self._journal, self._account_id):
            self.undo_stack.clear()
            self.fill_ids = FillIds()  # queued writes of the old account keep theirs
            self._set_curve(np.zeros(0), np.zeros(0))
        self._journal, self._account_id, self._account_label = journal, account_id, label
        self._show_account(journal is not None and account_id is not None)
        self.reload()

    def account_id(self) -> int | None:
        return self._account_id

    def _show_account(self, shown: bool) -> None:
        self.splitter.setVisible(shown)
        self.empty_label.setVisible(not shown)
        for w in (self.edit_button, self.import_button, self.status_filter, self.export_button):
            w.setEnabled(shown)

    def reload(self) -> None:
        """Re-read the first pages of positions and fills, statistics and the PnL curve
        (serial task, latest wins). As many rows as were loaded are read again, so the
        user's scroll position survives an edit."""
        if self._journal is None or self._account_id is None:
            self.model.set_positions([])
            self.fills_model.set_rows([])
            self._update_count()
            return
        ops = _ops()
        account_id = self._account_id
        limit = max(ops.PAGE_SIZE, self.model.loaded())
        fills_limit = max(ops.PAGE_SIZE, self.fills_model.loaded())
        self._tasks.submit(
            ops.journal_page, self._journal, account_id, limit,
            self.status_filter.currentData(), fills_limit, serial=True,
            key="journal.page",
            on_success=lambda page: self._on_page(page) if account_id == self._account_id
            else None,
            on_error=lambda exc: self.problem.emit("The journal could not be read.",
                                                   problems_of(exc)),
        )
        self._load_review()

    def _load_review(self) -> None:
        """Read the Review tab's figures (serial task, latest wins) while it is shown."""
        if (self._journal is None or self._account_id is None
                or self.tables.currentWidget() is not self.review):
            return
        account_id = self._account_id
        self._tasks.submit(
            _ops().review, self._journal, account_id, self.review.group(), serial=True,
            key="journal.review",
            on_success=lambda r: self.review.show_review(r) if account_id == self._account_id
            else None,
            on_error=lambda exc: self.problem.emit("The review could not be read.",
                                                   problems_of(exc)),
        )

    def _on_page(self, page: JournalPage) -> None:
        self._positions = page.positions
        self.model.set_positions(page.positions, page.total)
        self.fills_model.set_rows(page.fills, page.fills_total)
        self._fit_columns(self.table, self.model)
        self._fit_columns(self.fills_table, self.fills_model)
        self._update_count()
        self._show_stats(page.statistics[0] if page.statistics else None)
        self._request_curve()

    def _set_curve(self, t: np.ndarray, pnl: np.ndarray) -> None:
        """The cumulative PnL; without closed trades, a word instead of bare axes (whose
        default 0..1 range would print colliding tick labels)."""
        self.pnl_curve.setData(t, pnl)
        empty = len(t) == 0
        self.pnl_empty.setVisible(empty)
        for name in ("left", "bottom"):
            self.pnl_plot.getPlotItem().getAxis(name).setStyle(showValues=not empty)
        if empty:
            self.pnl_plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.pnl_empty.setPos(0.5, 0.5)
        else:
            self.pnl_plot.enableAutoRange()

    def _request_curve(self) -> None:
        """Read the cumulative-PnL curve after the tables (it reads every closed position);
        a newer request stops an older one (latest wins)."""
        if self._journal is None or self._account_id is None:
            return
        account_id = self._account_id

        def arrived(curve: Any) -> None:
            if curve is not None and account_id == self._account_id:
                self._set_curve(*curve)

        self._tasks.submit(_ops().pnl_curve, self._journal, account_id, serial=True,
                           key="journal.curve", with_context=True, on_success=arrived,
                           on_error=lambda exc: self.problem.emit(
                               "The PnL curve could not be read.", problems_of(exc)))

    def _fit_columns(self, table: QTableView, model: PagedTableModel) -> None:
        if id(model) in self._fitted or not model.rowCount():
            return
        self._fitted.add(id(model))
        header = table.horizontalHeader()
        for column in range(model.columnCount() - 1):  # the last (notes) stretches
            table.resizeColumnToContents(column)
            header.resizeSection(column, header.sectionSize(column) + 8)

    def _apply_filter(self) -> None:
        """The status filter changed: read the first page of the matching positions."""
        self.reload()

    def _update_count(self, *_: object) -> None:
        fills = self.tables.currentWidget() is self.fills_table
        self.status_filter.setVisible(not fills)
        model: PagedTableModel = self.fills_model if fills else self.model
        loaded, total = model.loaded(), model.total
        noun = ("fill" if fills else "position") + ("" if total == 1 else "s")
        self.count_label.setText(f"{total} {noun}" if loaded >= total
                                 else f"{loaded} of {total} {noun} loaded (scroll for more)")

    def _fetch_positions(self, offset: int) -> None:
        self._fetch(self.model, offset, "positions")

    def _fetch_fills(self, offset: int) -> None:
        self._fetch(self.fills_model, offset, "fills")

    def _fetch(self, model: PagedTableModel, offset: int, what: str) -> None:
        """Read the next page for ``model`` (asked by the view when scrolled to the end)."""
        if self._journal is None or self._account_id is None:
            model.fetch_failed()
            return
        ops = _ops()
        account_id = self._account_id

        def arrived(page: Page[Any]) -> None:
            if account_id != self._account_id:
                model.fetch_failed()
                return
            model.append_page(page.items, offset, page.total)
            self._update_count()

        def failed(exc: BaseException) -> None:
            model.fetch_failed()
            self.problem.emit(f"More {what} could not be read.", problems_of(exc))

        if what == "fills":
            self._tasks.submit(ops.fills_page, self._journal, account_id, offset, serial=True,
                               key="journal.more_fills", on_success=arrived, on_error=failed)
        else:
            self._tasks.submit(ops.positions_page, self._journal, account_id, offset,
                               self.status_filter.currentData(), serial=True,
                               key="journal.more_positions", on_success=arrived,
                               on_error=failed)

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

    # -- writes -----------------------------------------------------------------
    def write(self, fn: Callable[..., Any], *args: Any,
              on_done: Callable[[Any], None] | None = None) -> None:
        """Run a journal write on the serial queue, then reload and announce the change."""
        if self._journal is None:
            return

        def done(result: Any) -> None:
            if on_done is not None:
                on_done(result)
            if isinstance(result, OpChanges):
                self._changed(result)  # None: the undo had nothing to write back

        self._tasks.submit(fn, self._journal, *args, serial=True, on_success=done,
                           on_error=lambda exc: self.problem.emit("The change was not saved.",
                                                                  problems_of(exc)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.fills_table and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) \
                and event.matches(QKeySequence.StandardKey.Delete):
            self.delete_selected_fill()
            return True
        return super().eventFilter(watched, event)

    # -- export -------------------------------------------------------------------
    def export_dialog(self, kind: str) -> None:
        """Ask for a file name, then export ``kind`` (see :func:`export`)."""
        if self._journal is None:
            return
        title, name_filter, suffix = _export_kinds()[kind]
        stem = (self._account_label or "journal") if kind != "journal" else "crossmargin-journal"
        default = Path.home() / f"{stem.replace('/', '-')}-{kind}{suffix}"
        name, _ = QFileDialog.getSaveFileName(self, f"Export {title}", str(default),
                                              f"{name_filter};;All files (*)")
        if name:
            path = Path(name)
            self.export(kind, path if path.suffix else path.with_suffix(suffix))

    def export(self, kind: str, path: Path) -> None:
        """Write the export ``kind`` (positions, fills, funding: this account's rows as CSV;
        journal: everything as JSON) to ``path`` on the serial worker; the outcome goes to
        the message bar (``notice`` or ``problem``)."""
        if self._journal is None:
            return
        account_id = None if kind == "journal" else self._account_id
        self._tasks.submit(
            _ops().export, self._journal, kind, path, account_id, serial=True,
            on_success=self.notice.emit,
            on_error=lambda exc: self.problem.emit(
                f"The export to “{path.name}” failed; no file was written.", problems_of(exc)),
        )

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
            on_error=lambda exc: dialog.show_problems(problems_of(exc))))
        dialog.import_requested.connect(lambda p, preset: self._tasks.submit(
            _ops().run_import, journal, account_id, p, preset, serial=True,
            on_success=lambda report: self._imported(dialog, report),
            on_error=lambda exc: dialog.show_problems(problems_of(exc))))
        self.import_dialog = dialog
        dialog.open()
        dialog.start()
        return dialog

    def _imported(self, dialog: ImportDialog, report: ImportReport) -> None:
        dialog.show_done(report)
        if report.changes is not None:
            self._changed(report.changes)

    def _changed(self, changes: OpChanges) -> None:
        """Re-read this tab if the write touched its account, then pass the change on."""
        if changes.any and (not changes.account_ids or self._account_id in changes.account_ids):
            self.reload()
        self.changed.emit(changes)

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.model.set_theme(theme)
        self.fills_model.set_theme(theme)
        self.pnl_plot.setBackground(theme.chart_bg)
        for name in ("left", "bottom"):
            axis = self.pnl_plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(theme.grid))
            axis.setTextPen(pg.mkPen(theme.chart_fg))
        self.pnl_curve.setPen(pg.mkPen(theme.good, width=1))
        self.review.apply_theme(theme)
        self.pnl_empty.setColor(theme.muted)


def _export_kinds() -> dict[str, tuple[str, str, str]]:
    return {
        "positions": ("Positions CSV", "CSV files (*.csv)", ".csv"),
        "fills": ("Fills CSV", "CSV files (*.csv)", ".csv"),
        "funding": ("Funding CSV", "CSV files (*.csv)", ".csv"),
        "journal": ("Whole journal (JSON)", "JSON files (*.json)", ".json"),
    }

