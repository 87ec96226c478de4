"""Dashboard tab: pooled equity over time, margin per position, margin ratio over time, and
for a multi-asset account its collateral (market value and what counts).

Data arrives from :class:`desktop.session.AccountSession`; a display timer (GUI
thread, ~4 Hz) pushes whatever changed into the charts with ``setData``, so
bursts of ticks never cause bursts of repaints.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from crossmargin.domain import AccountState
from desktop.charts.margin_bars import MarginBarsChart
from desktop.charts.timeseries import MarginRatioChart, TimeSeriesChart
from desktop.charts.viewmodel import margin_blocks
from desktop.session import AccountSession, RiskSnapshot
from desktop.theme import Theme
from desktop.widgets.collateral_panel import CollateralPanel

DISPLAY_INTERVAL_MS = 250


class DashboardView(QWidget):
    """The dashboard tab. GUI thread only; reads the session, never computes figures."""

    def __init__(self, *, session: AccountSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._drawn_revision = -1
        self._snapshot_dirty = False

        self.equity_chart = TimeSeriesChart("Pooled equity")
        self.ratio_chart = MarginRatioChart()
        # same time window as the equity chart (setXLink would align by screen position,
        # wrong for charts of different widths)
        self.equity_chart.view_box.sigXRangeChanged.connect(self._sync_ratio_range)
        self.margin_chart = MarginBarsChart()

        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.setObjectName("DashboardBottomSplitter")
        bottom.setChildrenCollapsible(False)
        bottom.addWidget(self.margin_chart)
        bottom.addWidget(self.ratio_chart)
        bottom.setStretchFactor(0, 1)
        bottom.setStretchFactor(1, 1)
        # beside the equity chart: the collateral of a multi-asset account (hidden else)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.setObjectName("DashboardTopSplitter")
        top.setChildrenCollapsible(False)
        self.collateral = CollateralPanel()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("DashboardSplitter")
        self.splitter.setChildrenCollapsible(False)
        top.addWidget(self.equity_chart)
        top.addWidget(self.collateral)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        self.top_splitter = top
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.bottom_splitter = bottom

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.splitter)

        session.snapshot_ready.connect(self._on_snapshot)
        session.history_changed.connect(self._on_history)
        session.state_changed.connect(self._on_state)
        self._timer = QTimer(self)
        self._timer.setInterval(DISPLAY_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    def _sync_ratio_range(self, _box: object, x_range: tuple[float, float]) -> None:
        self.ratio_chart.view_box.setXRange(*x_range, padding=0)

    def _on_snapshot(self, _snap: RiskSnapshot) -> None:
        self._snapshot_dirty = True

    def _on_history(self) -> None:
        self._drawn_revision = -1

    def _on_state(self, state: AccountState | None) -> None:
        settle = state.settle if state is not None else ""
        self.equity_chart.set_unit(settle)
        self.margin_chart.set_unit(settle)

    def redraw(self) -> None:
        """Push changed data into the charts (display timer; also callable directly)."""
        session = self._session
        if session.history_revision != self._drawn_revision:
            self._drawn_revision = session.history_revision
            t = session.history.view(0)
            self.equity_chart.set_series(t, session.history.view(1))
            self.equity_chart.set_markers(*session.transfers)
            self.ratio_chart.set_series(t, session.history.view(2))
        if self._snapshot_dirty:
            self._snapshot_dirty = False
            snap = session.snapshot
            self.margin_chart.set_blocks(margin_blocks(snap.risk if snap else None))
            self.collateral.set_risk(snap.risk if snap else None)

    def set_alert(self, fraction: float) -> None:
        self.ratio_chart.set_alert(fraction)

    def apply_theme(self, theme: Theme) -> None:
        self.equity_chart.apply_theme(theme)
        self.ratio_chart.apply_theme(theme)
        self.margin_chart.apply_theme(theme)
