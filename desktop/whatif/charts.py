"""What-if charts (pyqtgraph). They draw what the view-model computed, nothing more.

* :class:`ShockChart` — equity (top) and margin ratio (bottom) against the shock
  axis, current book dashed, what-if solid; a vertical line at the slider's shock
  (draggable: ``shock_dragged`` reports the new position); scatter markers where
  positions liquidate; the liquidation level (ratio 100 %).
* :class:`LadderChart` — one symbol's liquidation ladder on its price axis: today's
  mark, the mark at the slider's shock, and for every position of the symbol a
  rung with its current (dashed) and what-if (solid) liquidation price.

Items are created once and updated with ``setData``/``setValue``; x values are
percent of the shock axis, prices are floats only for drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from desktop.charts.style import apply_plot_theme
from desktop.theme import LIGHT, Theme

from .compute import Curves, Ladder

PriceText = Callable[[Decimal], str]
_DASH = Qt.PenStyle.DashLine
_DOT = Qt.PenStyle.DotLine


def _finite_range(*arrays: np.ndarray) -> tuple[float, float] | None:
    lo, hi = math.inf, -math.inf
    for a in arrays:
        f = a[np.isfinite(a)]
        if f.size:
            lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    return (lo, hi) if lo <= hi else None


class ShockChart(QWidget):
    """Equity and margin ratio vs shock, current vs what-if (two stacked, x-linked plots)."""

    shock_dragged = Signal(float)  # new shock in percent of the axis

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WhatIfShockChart")
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setMinimumHeight(220)
        self.layout_widget.ci.setContentsMargins(4, 4, 8, 4)
        self.layout_widget.ci.setSpacing(4)
        self.legend_label = QLabel()
        self.legend_label.setObjectName("ChartReadout")
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend_label.setWordWrap(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.legend_label)
        box.addWidget(self.layout_widget, 1)

        self.equity_plot: pg.PlotItem = self.layout_widget.addPlot(row=0, col=0)
        self.ratio_plot: pg.PlotItem = self.layout_widget.addPlot(row=1, col=0)
        self.ratio_plot.setXLink(self.equity_plot)
        self.layout_widget.ci.layout.setRowStretchFactor(0, 3)
        self.layout_widget.ci.layout.setRowStretchFactor(1, 2)
        for plot in (self.equity_plot, self.ratio_plot):
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getViewBox().setMouseEnabled(x=True, y=False)
            plot.getAxis("left").setWidth(64)
        self.equity_plot.getAxis("bottom").setStyle(showValues=False)
        self.equity_plot.getAxis("left").enableAutoSIPrefix(False)
        self.ratio_plot.getAxis("left").enableAutoSIPrefix(False)
        self._settle = ""
        self._fit_titles = QTimer(self)
        self._fit_titles.setSingleShot(True)
        self._fit_titles.setInterval(0)
        self._fit_titles.timeout.connect(self._set_axis_titles)
        for plot in (self.equity_plot, self.ratio_plot):
            plot.getViewBox().sigResized.connect(self._fit_titles.start)
        self._set_axis_titles()
        self.ratio_plot.setLabel("bottom", "Shock (%)")

        self.equity_now = self.equity_plot.plot([], [], connect="finite")
        self.equity_whatif = self.equity_plot.plot([], [], connect="finite")
        self.ratio_now = self.ratio_plot.plot([], [], connect="finite")
        self.ratio_whatif = self.ratio_plot.plot([], [], connect="finite")
        for curve in (self.equity_now, self.equity_whatif, self.ratio_now, self.ratio_whatif):
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
        self.markers_now = pg.ScatterPlotItem(size=8, symbol="o", hoverable=True, tip=self._tip)
        self.markers_whatif = pg.ScatterPlotItem(
            size=10, symbol="t", hoverable=True, tip=self._tip
        )
        self.equity_plot.addItem(self.markers_now)
        self.equity_plot.addItem(self.markers_whatif)

        self.liquidation_line = pg.InfiniteLine(
            pos=100.0, angle=0, movable=False,
            label="liquidation", labelOpts={"position": 0.02, "anchors": [(0, 0), (0, 0)]},
        )
        self.ratio_plot.addItem(self.liquidation_line, ignoreBounds=True)
        self.zero_lines = [pg.InfiniteLine(pos=0.0, angle=90, movable=False) for _ in range(2)]
        self.equity_plot.addItem(self.zero_lines[0], ignoreBounds=True)
        self.ratio_plot.addItem(self.zero_lines[1], ignoreBounds=True)
        self.shock_line = pg.InfiniteLine(
            pos=0.0, angle=90, movable=True,
            label="{value:+.1f} %", labelOpts={"position": 0.92, "anchors": [(0, 0), (0, 0)]},
        )
        self.shock_line_ratio = pg.InfiniteLine(pos=0.0, angle=90, movable=False)
        self.equity_plot.addItem(self.shock_line, ignoreBounds=True)
        self.ratio_plot.addItem(self.shock_line_ratio, ignoreBounds=True)
        self.shock_line.sigDragged.connect(self._on_drag)

        self.empty_text = pg.TextItem("No account loaded", anchor=(0.5, 0.5))
        self.equity_plot.addItem(self.empty_text, ignoreBounds=True)
        self._labels_now: tuple[str, ...] = ()
        self._labels_whatif: tuple[str, ...] = ()
        self._x_range = (-50.0, 50.0)
        self.set_theme(LIGHT)
        self.clear()

    def _set_axis_titles(self) -> None:
        """Each plot's (vertical) axis title, shortened to what fits its height so the
        two titles never run into each other: "Equity (USDT)" → "USDT"."""
        metrics = QFontMetricsF(self.font())
        unit = self._settle or ""
        for plot, title, short in (
            (self.equity_plot, f"Equity ({unit})" if unit else "Equity", unit or "Equity"),
            (self.ratio_plot, "Margin ratio %", "Ratio %"),
        ):
            room = plot.getViewBox().height() or 0.0
            text = title if metrics.horizontalAdvance(title) + 12 <= room else short
            if metrics.horizontalAdvance(text) + 8 > room > 0:
                text = ""
            if plot.getAxis("left").labelText != text:
                plot.setLabel("left", text)

    # -- data ----------------------------------------------------------------
    def clear(self) -> None:
        for curve in (self.equity_now, self.equity_whatif, self.ratio_now, self.ratio_whatif):
            curve.setData([], [])
        self.markers_now.setData([], [])
        self.markers_whatif.setData([], [])
        self.empty_text.setVisible(True)
        self.empty_text.setPos(0, 0)

    def set_curves(self, curves: Curves, *, settle: str, axis_title: str) -> None:
        """Show new series (after any change of the book, the plan or the shock mode)."""
        self.empty_text.setVisible(False)
        x = curves.x
        self.equity_now.setData(x, curves.equity_now)
        self.equity_whatif.setData(x, curves.equity_whatif)
        self.ratio_now.setData(x, curves.ratio_now * 100.0)
        self.ratio_whatif.setData(x, curves.ratio_whatif * 100.0)
        self._labels_now = curves.markers_now.labels
        self._labels_whatif = curves.markers_whatif.labels
        self.markers_now.setData(
            curves.markers_now.x, curves.markers_now.y, data=list(range(len(self._labels_now)))
        )
        self.markers_whatif.setData(
            curves.markers_whatif.x,
            curves.markers_whatif.y,
            data=[-1 - i for i in range(len(self._labels_whatif))],
        )
        self._settle = settle
        self._set_axis_titles()
        self.ratio_plot.setLabel("bottom", axis_title)
        if x.size:
            lo, hi = float(x[0]), float(x[-1])
            self._x_range = (lo, hi)
            # limits before the range: the old limits would clamp a wider new axis
            self.equity_plot.setLimits(xMin=lo - 1, xMax=hi + 1)
            self.ratio_plot.setLimits(xMin=lo - 1, xMax=hi + 1)
            self.equity_plot.setXRange(lo, hi, padding=0.01)
        eq = _finite_range(curves.equity_now, curves.equity_whatif)
        if eq is not None:
            pad = max((eq[1] - eq[0]) * 0.06, abs(eq[1]) * 0.01, 1e-9)
            self.equity_plot.setYRange(eq[0] - pad, eq[1] + pad, padding=0)
        self.ratio_plot.setYRange(0.0, curves.ratio_top * 100.0, padding=0)

    def set_shock(self, percent: float) -> None:
        """Move the vertical line to the slider's shock (percent of the axis)."""
        if not self.shock_line.moving:
            self.shock_line.setValue(percent)
        self.shock_line_ratio.setValue(percent)

    # -- theme -------------------------------------------------------------------
    def set_theme(self, theme: Theme) -> None:
        self.layout_widget.setBackground(theme.chart_bg)
        for plot in (self.equity_plot, self.ratio_plot):
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.grid))
                axis.setTextPen(pg.mkPen(theme.chart_fg))
        self.equity_now.setPen(pg.mkPen(theme.muted, width=1.4, style=_DASH))
        self.equity_whatif.setPen(pg.mkPen(theme.equity, width=2.2))
        self.ratio_now.setPen(pg.mkPen(theme.muted, width=1.4, style=_DASH))
        self.ratio_whatif.setPen(pg.mkPen(theme.ratio, width=2.2))
        self.markers_now.setPen(pg.mkPen(theme.muted, width=1.4))
        self.markers_now.setBrush(pg.mkBrush(theme.chart_bg))
        self.markers_whatif.setPen(pg.mkPen(theme.chart_bg, width=1))
        self.markers_whatif.setBrush(pg.mkBrush(theme.bad))
        self.liquidation_line.setPen(pg.mkPen(theme.bad, width=1.4, style=_DASH))
        self.liquidation_line.label.setColor(theme.bad)
        for line in self.zero_lines:
            line.setPen(pg.mkPen(theme.grid, width=1))
        accent = pg.mkPen(theme.accent, width=1.6)
        self.shock_line.setPen(accent)
        self.shock_line.setHoverPen(pg.mkPen(theme.accent, width=3))
        self.shock_line.label.setColor(theme.accent)
        self.shock_line_ratio.setPen(accent)
        self.empty_text.setColor(theme.muted)
        self.legend_label.setText(
            f"<span style='color:{theme.muted}'>╍&nbsp;current</span>&nbsp; "
            f"<span style='color:{theme.equity}'>━&nbsp;equity</span>&nbsp; "
            f"<span style='color:{theme.ratio}'>━&nbsp;margin&nbsp;ratio</span>&nbsp; "
            f"<span style='color:{theme.bad}'>▼</span>&nbsp;/&nbsp;"
            f"<span style='color:{theme.muted}'>○</span>&nbsp;liquidation&nbsp;what-if&nbsp;/&nbsp;"
            "current"
        )

    # -- internals ------------------------------------------------------------------
    def _on_drag(self) -> None:
        lo, hi = self._x_range
        value = min(hi, max(lo, float(self.shock_line.value())))
        self.shock_dragged.emit(value)

    def _tip(self, x: float, y: float, data: object) -> str:
        i = int(data) if isinstance(data, int | np.integer) else 0
        if i >= 0:
            label = self._labels_now[i] if i < len(self._labels_now) else ""
            return f"current book: {label}"
        j = -1 - i
        label = self._labels_whatif[j] if j < len(self._labels_whatif) else ""
        return f"what-if: {label}"


class LadderChart(QWidget):
    """One symbol's liquidation ladder: a rung (column) per position on a price axis.

    Rungs show the current LP dashed and the what-if LP solid; today's mark is a
    full-width line, the mark at the slider's shock a dashed one. Liquidation
    prices far off the mark (beyond ``FAR`` × mark) are listed at the chart's edge
    instead of squashing the scale.
    """

    FAR = 3.0
    MAX_VALUE_LABELS = 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WhatIfLadderChart")
        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setMinimumHeight(160)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.plot_widget)
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=False, y=True, alpha=0.25)
        self.plot.getViewBox().setMouseEnabled(x=False, y=True)
        self.plot.getAxis("left").setWidth(72)
        self.plot.getAxis("bottom").setHeight(30)
        self.plot.setLabel("left", "Price")
        self.lp_now = self.plot.plot([], [], connect="pairs")
        self.lp_whatif = self.plot.plot([], [], connect="pairs")
        self.hover = pg.ScatterPlotItem(size=14, hoverable=True, tip=self._tip)
        self.plot.addItem(self.hover)
        # No labels on the price lines (they would sit on the rungs); the panel's
        # read-out above the chart gives both marks.
        self.mark_line = pg.InfiniteLine(angle=0, movable=False)
        self.shocked_line = pg.InfiniteLine(angle=0, movable=False)
        self.plot.addItem(self.mark_line)
        self.plot.addItem(self.shocked_line)
        self.off_text = pg.TextItem("", anchor=(1, 0))
        self.plot.addItem(self.off_text, ignoreBounds=True)
        self.empty_text = pg.TextItem("No positions", anchor=(0.5, 0.5))
        self.plot.addItem(self.empty_text, ignoreBounds=True)
        self._value_labels: list[pg.TextItem] = []
        self._tips: list[str] = []
        self._key: tuple | None = None
        self._base_range = (0.0, 1.0, 0.01)
        self._theme = LIGHT
        self._last: tuple[Ladder | None, PriceText] | None = None
        # after a resize, lay out again for the new width (the value labels' room)
        self._relayout = QTimer(self)
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(0)
        self._relayout.timeout.connect(self._redraw)
        self.plot.getViewBox().sigResized.connect(self._relayout.start)
        self.set_theme(LIGHT)
        self.clear()

    def _redraw(self) -> None:
        if self._last is not None and self._key is not None:
            ladder, price_text = self._last
            self.set_ladder(ladder, price_text=price_text)

    def clear(self) -> None:
        self._key = None
        self.lp_now.setData([], [])
        self.lp_whatif.setData([], [])
        self.hover.setData([], [])
        self.mark_line.setVisible(False)
        self.shocked_line.setVisible(False)
        self.off_text.setText("")
        for label in self._value_labels:
            label.setVisible(False)
        self.empty_text.setVisible(True)
        self.empty_text.setPos(0, 0)
        self.plot.getAxis("bottom").setTicks([[]])

    def set_ladder(
        self, ladder: Ladder | None, *, price_text: PriceText
    ) -> None:
        """Draw ``ladder`` (``None``: nothing to show). ``price_text`` formats a Decimal."""
        self._last = (ladder, price_text)
        if ladder is None or not ladder.rungs:
            self._key = None
            self.clear()
            return
        key = (ladder.symbol, ladder.mark_live, ladder.rungs, self.plot.getViewBox().width())
        if key == self._key:  # only the slider moved: move the shocked-mark line
            self._move_shocked(ladder)
            return
        self._key = key
        self.empty_text.setVisible(False)
        mark = float(ladder.mark_live)
        shocked = float(ladder.mark_shocked)
        n = len(ladder.rungs)
        now_x: list[float] = []
        now_y: list[float] = []
        wi_x: list[float] = []
        wi_y: list[float] = []
        hover_x: list[float] = []
        hover_y: list[float] = []
        self._tips = []
        in_range = [mark, shocked]
        off: list[str] = []
        ticks = []
        every = self._tick_step(n)
        values: list[tuple[float, float, str]] = []
        half = 0.28
        for i, rung in enumerate(ladder.rungs):
            if i % every == 0:
                ticks.append((float(i), self._tick_label(rung.label, rung.position_id, n)))
            parts = [rung.label + f" [{rung.position_id}]"]
            for value, xs, ys, what in (
                (rung.lp_now, now_x, now_y, "LP now"),
                (rung.lp_whatif, wi_x, wi_y, "LP what-if"),
            ):
                if what == "LP what-if" and rung.closed:
                    parts.append("closed in the what-if")
                    continue
                if what == "LP now" and rung.hypothetical:
                    continue
                if value is None:
                    parts.append(f"{what}: never")
                    continue
                y = float(value)
                parts.append(f"{what}: {price_text(value)}")
                if y <= 0 or not (mark / self.FAR <= y <= mark * self.FAR):
                    off.append(f"{rung.position_id} {what}: {price_text(value)}")
                    continue
                in_range.append(y)
                if what == "LP what-if":
                    values.append((i + half + 0.02, y, price_text(value)))
                xs.extend([i - half, i + half])
                ys.extend([y, y])
                hover_x.append(float(i))
                hover_y.append(y)
            self._tips.append("\n".join(parts))
        self.lp_now.setData(now_x, now_y)
        self.lp_whatif.setData(wi_x, wi_y)
        self.hover.setData(
            hover_x, hover_y, data=[round(x) for x in hover_x],
            pen=None, brush=pg.mkBrush(0, 0, 0, 1),
        )
        # Visible first: a hidden line's label does not follow setValue.
        self.mark_line.setVisible(True)
        self.mark_line.setValue(mark)
        self.plot.getAxis("bottom").setTicks([ticks])
        in_range.remove(shocked)
        self._base_range = (min(in_range), max(in_range), mark * 0.01)
        self.plot.setXRange(-0.6, self._right_edge(values, n, half), padding=0)
        _lo, hi = self._move_shocked(ladder)
        self._place_value_labels(values if n <= self.MAX_VALUE_LABELS else [])
        if off:
            shown = off[:2] + ([f"{len(off) - 2} more (tooltips)"] if len(off) > 2 else [])
            self.off_text.setText("off scale: " + "; ".join(shown))
            self.off_text.setPos(n - 0.45, hi)
        else:
            self.off_text.setText("")

    def _move_shocked(self, ladder: Ladder) -> tuple[float, float]:
        """Place the mark-at-shock line and fit the price range; returns the y range."""
        shocked = float(ladder.mark_shocked)
        self.shocked_line.setVisible(ladder.mark_shocked != ladder.mark_live)
        self.shocked_line.setValue(shocked)
        lo, hi, min_pad = self._base_range
        lo, hi = min(lo, shocked), max(hi, shocked)
        # room for the value labels (about 16 px tall, centred on their rung) at either end
        height = self.plot.getViewBox().height() or 200.0
        label_px = 12.0
        text_pad = (hi - lo) * label_px / max(height - 2 * label_px, 40.0)
        pad = max((hi - lo) * 0.12, min_pad, text_pad)
        self.plot.setYRange(lo - pad, hi + pad, padding=0)
        return lo - pad, hi + pad

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        apply_plot_theme(self.plot_widget, self.plot, theme)
        self.lp_now.setPen(pg.mkPen(theme.muted, width=2, style=_DASH))
        self.lp_whatif.setPen(pg.mkPen(theme.bad, width=3))
        self.mark_line.setPen(pg.mkPen(theme.chart_fg, width=1.4))
        self.shocked_line.setPen(pg.mkPen(theme.accent, width=1.4, style=_DOT))
        self.off_text.setColor(theme.muted)
        self.empty_text.setColor(theme.muted)
        for label in self._value_labels:
            label.setColor(theme.chart_fg)

    # -- internals -------------------------------------------------------------------
    def _tick_step(self, n: int) -> int:
        """Label every k-th rung so labels (about 56 px each) never overlap."""
        width = max(200, self.plot.getViewBox().width() or self.width() - 80)
        return max(1, math.ceil(n * 56 / width))

    @staticmethod
    def _tick_label(label: str, position_id: str, n: int) -> str:
        side = label.split(" ")[1] if " " in label else ""
        short = side[:1].upper() if side else ""
        if n <= 4:
            return f"{position_id} {side}".strip()
        return f"{position_id} {short}".strip()

    def _right_edge(self, values: list[tuple[float, float, str]], n: int, half: float) -> float:
        """Right end of the x range: past the last rung far enough for its value label
        (which sits right of the rung) to be drawn whole."""
        right = n - 0.4
        width = self.plot.getViewBox().width()
        if not values or n > self.MAX_VALUE_LABELS or width <= 0:
            return right
        metrics = QFontMetricsF(self.font())
        text_px = max(metrics.horizontalAdvance(text) for _x, _y, text in values) + 12
        k = text_px / width  # x units per pixel times the span, per unit of span
        if k >= 0.8:
            return right  # far too narrow: keep the rungs readable instead
        x0 = n - 1 + half + 0.02  # where the last label starts
        return max(right, (x0 + 0.6 * k) / (1 - k))

    def _place_value_labels(self, items: list[tuple[float, float, str]]) -> None:
        """Value labels right of the what-if rungs (only drawn when there are few rungs)."""
        while len(self._value_labels) < len(items):
            label = pg.TextItem("", anchor=(0, 0.5), color=self._theme.chart_fg)
            self.plot.addItem(label, ignoreBounds=True)
            self._value_labels.append(label)
        for label, (x, y, text) in zip(self._value_labels, items, strict=False):
            label.setText(text)
            label.setPos(x, y)
            label.setVisible(True)
        for label in self._value_labels[len(items):]:
            label.setVisible(False)

    def _tip(self, x: float, y: float, data: object) -> str:
        i = int(data) if isinstance(data, int | np.integer) else -1
        return self._tips[i] if 0 <= i < len(self._tips) else ""


__all__ = ["LadderChart", "PriceText", "ShockChart"]
