"""Time-series charts (pyqtgraph): pooled equity and margin ratio over time.

Charts only draw. They receive numpy arrays (``t`` in UNIX seconds, values as
float64) through :meth:`TimeSeriesChart.set_series`, created once and updated with
``setData``; long series use clip-to-view and peak downsampling so years of
hourly snapshots (or a million points) pan and zoom smoothly.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.charts.style import apply_plot_theme
from desktop.theme import LIGHT, Theme

RANGES: tuple[tuple[str, float | None], ...] = (
    ("1D", 86_400.0),
    ("1W", 7 * 86_400.0),
    ("1M", 30 * 86_400.0),
    ("All", None),
)


class CompactDateAxis(pg.DateAxisItem):
    """A date axis whose finer labels keep clear of the coarser ones.

    pyqtgraph draws each tick level on its own, so a day label next to a month label
    ("29" then "Oct") runs together on narrow charts; this drops the finer ticks that
    fall within ``gap_px`` pixels of a coarser one.
    """

    def __init__(self, *args: object, gap_px: float = 44.0, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.gap_px = gap_px

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        levels = super().tickValues(minVal, maxVal, size)
        if maxVal <= minVal or size <= 0 or len(levels) < 2:
            return levels
        per_px = (maxVal - minVal) / size
        gap = self.gap_px * per_px
        kept: list[float] = []
        out = []
        for spacing, values in levels:
            coarse = np.asarray(kept, dtype=np.float64)
            mine = [v for v in values
                    if not len(coarse) or float(np.min(np.abs(coarse - v))) >= gap
                    or float(np.min(np.abs(coarse - v))) < per_px]  # same tick: keep
            out.append((spacing, mine))
            kept.extend(mine)
        return out


class PercentLogAxis(pg.AxisItem):
    """A logarithmic percent axis labelled 0.1, 0.2, 0.5, 1, 2, 5 … 100 (plain numbers)."""

    STEPS = (1.0, 2.0, 5.0)

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        major: list[float] = []
        minor: list[float] = []
        for exponent in range(math.floor(minVal) - 1, math.ceil(maxVal) + 1):
            for step in range(1, 10):
                value = math.log10(step) + exponent
                if minVal <= value <= maxVal:
                    (major if float(step) in self.STEPS else minor).append(value)
        return [(1.0, major), (0.1, minor)]

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        return [f"{10 ** v:g}" for v in values]


def nearest_index(t: np.ndarray, x: float) -> int:
    """Index of the sample of sorted ``t`` nearest to ``x`` (-1 when ``t`` is empty)."""
    n = len(t)
    if n == 0:
        return -1
    i = int(np.searchsorted(t, x))
    if i <= 0:
        return 0
    if i >= n:
        return n - 1
    return i if abs(t[i] - x) < abs(t[i - 1] - x) else i - 1


class TimeSeriesChart(QWidget):
    """A titled time chart with a date axis, a crosshair read-out and range buttons.

    ``value_format`` turns a y value into read-out text. ``percent=True`` plots the
    values ×100 (fractions in, percent on the axis). ``range_changed(str)`` is
    emitted when the user picks 1D/1W/1M/All.
    """

    range_changed = Signal(str)

    def __init__(
        self,
        title: str,
        *,
        unit: str = "",
        percent: bool = False,
        show_ranges: bool = True,
        readout_below: bool = False,
        left_axis: pg.AxisItem | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._title = title
        self._unit = unit
        self._percent = percent
        self._theme = LIGHT
        self._t = np.empty(0)
        self._y = np.empty(0)
        self._span: float | None = None
        self._follow = True

        self.title_label = QLabel(title)
        self.title_label.setObjectName("ChartTitle")
        self.readout = QLabel("")
        self.readout.setObjectName("ChartReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.title_label)
        if readout_below:
            header.addStretch(1)
        else:
            header.addSpacing(12)
            header.addWidget(self.readout, 1)
        self.range_buttons: dict[str, QToolButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        if show_ranges:
            for name, _span in RANGES:
                button = QToolButton()
                button.setObjectName("RangeButton")
                button.setText(name)
                button.setCheckable(True)
                button.setToolTip(f"Show the last {name}" if name != "All" else "Show all history")
                button.clicked.connect(lambda _=False, n=name: self.set_range(n))
                self._group.addButton(button)
                self.range_buttons[name] = button
                header.addWidget(button)

        axes: dict[str, pg.AxisItem] = {"bottom": CompactDateAxis(utcOffset=0)}
        if left_axis is not None:
            axes["left"] = left_axis
        self.plot_widget = pg.PlotWidget(axisItems=axes)
        self.plot_widget.setMinimumHeight(120)
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        # no grid: pyqtgraph's axis grid costs 5-10 ms a frame (the whole 16 ms budget when
        # panning a million points); the crosshair read-out gives exact values instead
        self.plot_item.showGrid(x=False, y=False)
        self.plot_item.setClipToView(True)
        self.plot_item.setDownsampling(auto=True, mode="peak")
        self.plot_item.setAutoVisible(y=True)
        self.plot_item.getAxis("left").setWidth(64)
        self.view_box: pg.ViewBox = self.plot_item.getViewBox()
        self.view_box.setMouseEnabled(x=True, y=False)
        self.view_box.sigRangeChangedManually.connect(self._on_manual_range)
        self.curve: pg.PlotDataItem = self.plot_item.plot([], [])
        self.curve.setClipToView(True)
        self.curve.setDownsampling(auto=True, method="peak")

        self._markers = pg.ScatterPlotItem(size=11, pen=None, hoverable=True, tip=None)
        self._markers.setZValue(15)
        self._markers.sigHovered.connect(self._on_marker_hover)
        self.plot_item.addItem(self._markers, ignoreBounds=True)
        self._vline = pg.InfiniteLine(angle=90, movable=False)
        self._hline = pg.InfiniteLine(angle=0, movable=False)
        self._dot = pg.ScatterPlotItem(size=7)
        for item in (self._vline, self._hline, self._dot):
            item.setVisible(False)
            item.setZValue(20)
            self.plot_item.addItem(item, ignoreBounds=True)
        self._mouse_proxy = pg.SignalProxy(
            self.plot_widget.scene().sigMouseMoved, rateLimit=60, slot=self._on_mouse_moved
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        if readout_below:
            self.readout.setContentsMargins(4, 0, 4, 0)
            layout.addWidget(self.readout)
        layout.addWidget(self.plot_widget, 1)
        self.apply_theme(self._theme)
        if show_ranges:
            self.range_buttons["All"].setChecked(True)

    # -- data -------------------------------------------------------------------
    def set_series(self, t: np.ndarray, y: np.ndarray) -> None:
        """Replace the series (``t`` UNIX seconds ascending, ``y`` in data units)."""
        self._t = t
        self._y = y * 100.0 if self._percent else y
        finite = bool(np.isfinite(self._y).all())
        # all-finite data skips pyqtgraph's per-frame NaN scan (a 1M-point pan stays < 16 ms)
        self.curve.setSkipFiniteCheck(finite)
        self.curve.setData(self._t, self._y, connect="all" if finite else "finite")
        if self._follow:
            self._apply_span()
        if not self.readout.property("hovering"):
            self._show_readout(len(self._t) - 1)

    def set_markers(self, t: np.ndarray, amount: np.ndarray) -> None:
        """Deposits (▲, ``amount`` > 0) and withdrawals (▼) at times ``t`` on the curve,
        each with its amount on hover: money moved in or out, not profit."""
        if len(t) == 0 or len(self._t) == 0:
            self._markers.setData([], [])
            return
        idx = np.clip(np.searchsorted(self._t, t), 0, len(self._t) - 1)
        y = self._y[idx]
        spots = [
            {"pos": (float(ti), float(yi)), "symbol": "t1" if a > 0 else "t",
             "brush": self._theme.good if a > 0 else self._theme.bad,
             "data": f"{'Deposit' if a > 0 else 'Withdrawal'} {abs(a):,.2f} {self._unit}"}
            for ti, yi, a in zip(t, y, amount, strict=True)
        ]
        self._markers.setData(spots)

    def _on_marker_hover(self, _item: object, points: object, _event: object) -> None:
        pts = list(points) if points is not None else []  # type: ignore[call-overload]
        self.plot_widget.setToolTip("\n".join(str(p.data()) for p in pts) if pts else "")

    def set_unit(self, unit: str) -> None:
        """The unit shown in the read-out (the settlement currency)."""
        self._unit = unit
        self._show_readout(len(self._t) - 1)

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        """The plotted arrays (y ×100 for percent charts)."""
        return self._t, self._y

    # -- ranges -----------------------------------------------------------------
    def set_range(self, name: str) -> None:
        """Show the last day/week/month (following new data) or everything."""
        spans = dict(RANGES)
        if name not in spans:
            raise ValueError(f"unknown range {name!r}")
        self._span = spans[name]
        self._follow = True
        button = self.range_buttons.get(name)
        if button is not None and not button.isChecked():
            button.setChecked(True)
        self._apply_span()
        self.range_changed.emit(name)

    def current_range(self) -> str:
        for name, button in self.range_buttons.items():
            if button.isChecked():
                return name
        return "All"

    def _apply_span(self) -> None:
        if not len(self._t):
            return
        end = float(self._t[-1])
        first = float(self._t[0])
        start = first if self._span is None else max(first, end - self._span)
        if end <= start:
            start, end = end - 1800.0, end + 1800.0
        pad = (end - start) * 0.01
        self.view_box.setXRange(start, end + pad, padding=0)
        self.view_box.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)

    def _on_manual_range(self, *_: object) -> None:
        self._follow = False  # the user panned/zoomed: stop following the live edge
        checked = self._group.checkedButton()
        if checked is not None:
            self._group.setExclusive(False)
            checked.setChecked(False)
            self._group.setExclusive(True)
        self.view_box.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)

    # -- crosshair ----------------------------------------------------------------
    def _on_mouse_moved(self, event: tuple[QPointF]) -> None:
        pos = event[0]
        if not self.plot_item.sceneBoundingRect().contains(pos) or not len(self._t):
            self._hide_crosshair()
            return
        point = self.view_box.mapSceneToView(pos)
        i = nearest_index(self._t, point.x())
        if i < 0:
            return
        x, y = float(self._t[i]), float(self._y[i])
        self._vline.setPos(x)
        finite = math.isfinite(y) and math.isfinite(self._view_y(y))
        if finite:
            self._hline.setPos(self._view_y(y))
            self._dot.setData([x], [self._view_y(y)])
        for item in (self._vline,):
            item.setVisible(True)
        self._hline.setVisible(finite)
        self._dot.setVisible(finite)
        self.readout.setProperty("hovering", True)
        self._show_readout(i)

    def _view_y(self, y: float) -> float:
        """A data value in view coordinates (log10 on logarithmic charts)."""
        return y

    def leaveEvent(self, event: object) -> None:
        self._hide_crosshair()
        super().leaveEvent(event)  # type: ignore[arg-type]

    def _hide_crosshair(self) -> None:
        for item in (self._vline, self._hline, self._dot):
            item.setVisible(False)
        if self.readout.property("hovering"):
            self.readout.setProperty("hovering", False)
            self._show_readout(len(self._t) - 1)

    def _show_readout(self, i: int) -> None:
        if i < 0 or i >= len(self._t):
            self.readout.setText("")
            return
        stamp = datetime.fromtimestamp(float(self._t[i]), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        y = float(self._y[i])
        if not math.isfinite(y):
            value = "no cross position"
        elif self._percent:
            value = f"{y:,.2f} %"
        else:
            value = f"{y:,.2f} {self._unit}".rstrip()
        latest = " (latest)" if i == len(self._t) - 1 else ""
        self.readout.setText(f"{stamp}{latest}  ·  {value}")

    # -- look ---------------------------------------------------------------------
    def apply_theme(self, theme: Theme, colour: str | None = None) -> None:
        self._theme = theme
        apply_plot_theme(self.plot_widget, self.plot_item, theme)
        # width 1 (cosmetic) keeps Qt's fast line path; wider pens are stroked, ~3× slower
        self.curve.setPen(pg.mkPen(colour or theme.equity, width=1))
        cross_pen = pg.mkPen(theme.muted, width=1, style=Qt.PenStyle.DashLine)
        self._vline.setPen(cross_pen)
        self._hline.setPen(cross_pen)
        self._dot.setBrush(pg.mkBrush(colour or theme.equity))
        self._dot.setPen(pg.mkPen(theme.chart_bg))


class MarginRatioChart(TimeSeriesChart):
    """Margin ratio (cross MM / margin balance) over time, in percent, log scale.

    A solid red :class:`InfiniteLine` marks liquidation at 100 %; a dashed amber
    line the user's alert threshold. The y axis is logarithmic so a healthy 3 %
    and a dangerous 90 % are both readable next to the liquidation line.
    """

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(
            "Margin ratio", percent=True, show_ranges=False, readout_below=True,
            left_axis=PercentLogAxis("left"), parent=parent,
        )
        self.plot_item.setLogMode(x=False, y=True)
        self.liquidation_line = pg.InfiniteLine(
            pos=2.0, angle=0, movable=False,
            label="Liquidation 100 %",
            labelOpts={"position": 0.97, "anchors": [(1, 1), (1, 1)]},
        )
        self.alert_line = pg.InfiniteLine(
            pos=math.log10(80.0), angle=0, movable=False,
            label="Alert", labelOpts={"position": 0.03, "anchors": [(0, 0), (0, 0)]},
        )
        self.plot_item.addItem(self.liquidation_line)
        self.plot_item.addItem(self.alert_line)
        self.plot_item.setAutoVisible(y=False)
        self.plot_item.getAxis("left").setLabel("%")
        self.apply_theme(self._theme)

    def set_alert(self, fraction: float) -> None:
        self.alert_line.setPos(math.log10(max(fraction, 1e-6) * 100.0))
        self.alert_line.label.setFormat(f"Alert {fraction * 100:.0f} %")

    def _view_y(self, y: float) -> float:
        return math.log10(y) if y > 0 else math.nan

    def set_series(self, t: np.ndarray, y: np.ndarray) -> None:
        super().set_series(t, y)
        finite = self._y[np.isfinite(self._y) & (self._y > 0)] if len(self._y) else self._y
        low = max(0.05, float(finite.min()) * 0.6) if len(finite) else 1.0
        high = max(300.0, float(finite.max()) * 2.0) if len(finite) else 300.0
        self.view_box.setYRange(math.log10(min(low, 10.0)), math.log10(high), padding=0)

    def _apply_span(self) -> None:
        # x follows the equity chart (linked); only y is fixed to show 0..100 %+
        pass

    def apply_theme(self, theme: Theme, colour: str | None = None) -> None:
        super().apply_theme(theme, colour or theme.ratio)
        if hasattr(self, "liquidation_line"):
            self.liquidation_line.setPen(pg.mkPen(theme.bad, width=1.5))
            self.liquidation_line.label.setColor(theme.bad)
            self.alert_line.setPen(pg.mkPen(theme.warn, width=1.2, style=Qt.PenStyle.DashLine))
            self.alert_line.label.setColor(theme.warn)

