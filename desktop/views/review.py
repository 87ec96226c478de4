"""The Journal tab's Review: how the account's closed trades went.

Statistics by setup, tag, symbol, side, weekday, hour or month (fees and funding in
columns of their own), a calendar of daily net PnL, the distribution of R multiples and
the drawdown of the cumulative net PnL. Weekday, hour and day are this computer's local
time of the close. Everything is read on the serial journal worker
(:func:`desktop.journal_ops.review`); this widget only draws.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import formatting as fmt
from desktop.charts.timeseries import CompactDateAxis
from desktop.theme import LIGHT, Theme

if TYPE_CHECKING:
    from crossmargin.domain import Statistics
    from crossmargin.storage import TradeResult
    from desktop.journal_ops import Review

GROUPS = (("setup", "Setup"), ("tag", "Tag"), ("symbol", "Symbol"), ("side", "Side"),
          ("weekday", "Weekday"), ("hour", "Hour of the close"), ("month", "Month"))
COLUMNS = ("Group", "Trades", "Win rate", "Net PnL", "Fees", "Funding", "Avg R",
           "Profit factor", "Max drawdown")
WEEKS = 6
DAYS = ("M", "T", "W", "T", "F", "S", "S")  # Monday first; the tooltip names the day
R_BIN = 0.5
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class ReviewPanel(QWidget):
    """``group_changed(str)`` asks the owner to read the review grouped anew."""

    group_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = LIGHT
        self._review: Review | None = None
        self.group_by = QComboBox()
        for key, text in GROUPS:
            self.group_by.addItem(text, key)
        self.group_by.currentIndexChanged.connect(
            lambda _i: self.group_changed.emit(str(self.group_by.currentData())))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.calendar = QTableWidget(WEEKS, 7)
        self.calendar.setObjectName("PnlCalendar")
        self.calendar.setHorizontalHeaderLabels(DAYS)
        self.calendar.verticalHeader().setVisible(False)
        self.calendar.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.calendar.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.calendar.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.calendar_title = QLabel("Daily net PnL")
        self.calendar_title.setObjectName("ChartReadout")
        self.r_plot = self._plot("R (net ÷ risk at the stop)", "trades")
        self.r_bars = pg.BarGraphItem(x=[], height=[], width=R_BIN * 0.9)
        self.r_plot.addItem(self.r_bars)
        self.dd_plot = self._plot("", "net PnL", dates=True)
        self.cum_curve = self.dd_plot.plot([], [])
        self.dd_curve = self.dd_plot.plot([], [], fillLevel=0)
        self.empty = QLabel("No closed trades yet: close a position to review it here.")
        self.empty.setObjectName("EmptyHint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        top = QHBoxLayout()
        top.addWidget(QLabel("Group by"))
        top.addWidget(self.group_by)
        top.addStretch(1)
        cal = QWidget()
        cal_layout = QVBoxLayout(cal)
        cal_layout.setContentsMargins(0, 0, 0, 0)
        cal_layout.addWidget(self.calendar_title)
        cal_layout.addWidget(self.calendar, 1)
        # one chart at a time, each at full width: they stay legible from 1024 × 700 up
        charts = QTabWidget()
        charts.setDocumentMode(True)
        charts.setTabPosition(QTabWidget.TabPosition.South)
        for w, name in ((cal, "Calendar"), (self.r_plot, "R distribution"),
                        (self.dd_plot, "Drawdown")):
            charts.addTab(w, name)
        self.charts = charts
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(charts)
        self.splitter.setSizes([150, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.empty, 1)
        self.empty.setVisible(False)

    @staticmethod
    def _plot(bottom: str, left: str, *, dates: bool = False) -> pg.PlotWidget:
        axis = {"bottom": CompactDateAxis(utcOffset=0)} if dates else {}
        plot = pg.PlotWidget(axisItems=axis)
        plot.getPlotItem().setMenuEnabled(False)
        plot.getPlotItem().hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.setMinimumHeight(150)
        if bottom:
            plot.setLabel("bottom", bottom)
        plot.setLabel("left", left)
        return plot

    def group(self) -> str:
        return str(self.group_by.currentData())

    # ------------------------------------------------------------------ drawing
    def show_review(self, review: Review) -> None:
        self._review = review
        trades = review.trades
        self.empty.setVisible(not trades)
        self.splitter.setVisible(bool(trades))
        self._fill_table(review.groups)
        self._fill_calendar(trades)
        self._draw_r(trades)
        self._draw_drawdown(trades)

    def _fill_table(self, groups: dict[str, list[Statistics]]) -> None:
        rows = [(name, s) for name, stats in groups.items() for s in stats if s.trades]
        self.table.setRowCount(len(rows))
        for i, (name, s) in enumerate(rows):
            c = s.currency
            label = name or "(none)"
            if len({st.currency for _n, st in rows}) > 1:
                label = f"{label} · {c}"
            cells = (
                label, str(s.trades), fmt.percent(s.win_rate, decimals=0),
                fmt.money(s.net_pnl, c, sign=True), fmt.money(s.fees, c),
                fmt.money(s.funding, c, sign=True),
                fmt.DASH if s.average_r is None else f"{s.average_r:+.2f} R".replace("-", "−"),
                fmt.DASH if s.profit_factor is None else f"{s.profit_factor:.2f}",
                fmt.money(s.max_drawdown, c),
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(RIGHT)
                if j == 3:
                    item.setForeground(QBrush(QColor(self._tone(s.net_pnl))))
                self.table.setItem(i, j, item)

    def _tone(self, value: Decimal) -> str:
        return self._theme.good if value > 0 else self._theme.bad if value < 0 else self._theme.text

    def _fill_calendar(self, trades: tuple[TradeResult, ...]) -> None:
        """The last ``WEEKS`` weeks up to the latest close, one cell per local day."""
        self.calendar.clearContents()
        if not trades:
            return
        by_day: dict[date, Decimal] = defaultdict(Decimal)
        currencies = {t.currency for t in trades}
        currency = max(currencies, key=lambda c: sum(1 for t in trades if t.currency == c))
        for t in trades:
            if t.currency == currency:
                by_day[t.closed_at.astimezone().date()] += t.net
        last = max(by_day) if by_day else datetime.now().date()
        first = last - timedelta(days=last.weekday() + 7 * (WEEKS - 1))
        biggest = max((abs(v) for v in by_day.values()), default=Decimal(1)) or Decimal(1)
        month = None
        for week in range(WEEKS):
            for weekday in range(7):
                day = first + timedelta(days=7 * week + weekday)
                net = by_day.get(day)
                head = day.strftime("%d %b") if day.month != month else day.strftime("%d")
                month = day.month
                text = head if net is None else f"{head}   {_compact(net)}"
                item = QTableWidgetItem(text)
                item.setToolTip(f"{day:%A %d %B %Y}" + (
                    "" if net is None else f": {fmt.money(net, currency, sign=True, unit=True)}"))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if net is not None and net != 0:
                    colour = QColor(self._tone(net))
                    colour.setAlphaF(0.18 + 0.5 * float(abs(net) / biggest))
                    item.setBackground(QBrush(colour))
                if day > last:
                    item.setForeground(QBrush(QColor(self._theme.muted)))
                self.calendar.setItem(week, weekday, item)
        self.calendar_title.setText(f"Daily net PnL ({currency}, local days)")

    def _draw_r(self, trades: tuple[TradeResult, ...]) -> None:
        rs = [float(t.r) for t in trades if t.r is not None]
        if not rs:
            self.r_bars.setOpts(x=[], height=[])
            self.r_plot.setTitle("R needs a stop: none had one", size="9pt")
            return
        lo = math.floor(min(rs) / R_BIN) * R_BIN
        hi = math.ceil(max(rs) / R_BIN) * R_BIN + R_BIN
        edges = np.arange(lo, hi + R_BIN / 2, R_BIN)
        counts, _ = np.histogram(rs, bins=edges)
        centres = edges[:-1] + R_BIN / 2
        brushes = [self._theme.good if c > 0 else self._theme.bad for c in centres]
        self.r_bars.setOpts(x=centres, height=counts, width=R_BIN * 0.9, brushes=brushes,
                            pens=brushes)
        self.r_plot.setTitle(f"mean {np.mean(rs):+.2f} R · {len(rs)} trades", size="9pt")

    def _draw_drawdown(self, trades: tuple[TradeResult, ...]) -> None:
        if not trades:
            self.cum_curve.setData([], [])
            self.dd_curve.setData([], [])
            return
        currency = trades[0].currency
        mine = [t for t in trades if t.currency == currency]
        x = np.array([t.closed_at.timestamp() for t in mine], dtype=float)
        cum = np.cumsum([float(t.net) for t in mine])
        drawdown = cum - np.maximum.accumulate(np.maximum(cum, 0.0))
        self.cum_curve.setData(x, cum, pen=pg.mkPen(self._theme.accent, width=1.6))
        fill = QColor(self._theme.bad)
        fill.setAlpha(90)
        self.dd_curve.setData(x, drawdown, pen=pg.mkPen(self._theme.bad, width=1.0),
                              brush=pg.mkBrush(fill))
        worst = fmt.money(Decimal(str(round(-drawdown.min(), 8))), currency, unit=True)
        self.dd_plot.setTitle(f"net and drawdown · max {worst}", size="9pt")

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        for plot in (self.r_plot, self.dd_plot):
            plot.setBackground(theme.chart_bg)
            for name in ("left", "bottom"):
                plot.getAxis(name).setTextPen(theme.chart_fg)
                plot.getAxis(name).setPen(theme.chart_fg)
        if self._review is not None:
            self.show_review(self._review)


def _compact(value: Decimal) -> str:
    """A day's net in a calendar cell: whole units, thousands as k (+1.2k)."""
    v = float(value)
    if abs(v) >= 1000:
        return f"{v / 1000:+.1f}k".replace("-", "−")
    return f"{v:+.0f}".replace("-", "−")
