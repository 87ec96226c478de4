"""Per-position margin chart: cross positions stacked in the pooled wallet, isolated apart.

Draws a :class:`desktop.charts.viewmodel.MarginBlocks` with one
:class:`pyqtgraph.BarGraphItem` per rectangle kind (created once, updated with
``setOpts``), category ticks on the x axis and segment labels.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.charts.style import apply_plot_theme
from desktop.charts.viewmodel import MarginBlocks
from desktop.theme import LIGHT, Theme

KINDS = ("free", "cross", "isolated", "cross_mm", "isolated_mm")
LEGEND = (
    ("cross", "Cross initial margin"),
    ("cross_mm", "maintenance"),
    ("isolated", "Isolated margin"),
    ("isolated_mm", "maintenance"),
    ("free", "Free balance"),
)


class MarginBarsChart(QWidget):
    """Initial and maintenance margin per position (settlement currency)."""

    def __init__(self, *, unit: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = LIGHT
        self._blocks = MarginBlocks.empty()
        self._unit = unit
        self.title_label = QLabel("Margin per position")
        self.title_label.setObjectName("ChartTitle")
        self.legend_label = QLabel("")
        self.legend_label.setObjectName("ChartReadout")
        self.legend_label.setContentsMargins(4, 0, 4, 0)
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.title_label)
        header.addStretch(1)

        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setMinimumHeight(120)
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.plot_item.showGrid(x=False, y=True, alpha=0.25)
        self.plot_item.getAxis("left").setWidth(64)
        self.view_box: pg.ViewBox = self.plot_item.getViewBox()
        self.view_box.setMouseEnabled(x=False, y=False)
        self.bars: dict[str, pg.BarGraphItem] = {}
        for kind in KINDS:
            item = pg.BarGraphItem(x=[], height=[], width=0.6, y0=[])
            item.setZValue(2 if kind.endswith("_mm") else 1)
            self.plot_item.addItem(item)
            self.bars[kind] = item
        self._labels: list[pg.TextItem] = []
        self.empty_text = pg.TextItem("No open positions", anchor=(0.5, 0.5))
        self.plot_item.addItem(self.empty_text, ignoreBounds=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.legend_label)
        layout.addWidget(self.plot_widget, 1)
        self.apply_theme(self._theme)

    def set_unit(self, unit: str) -> None:
        self._unit = unit
        self.plot_item.getAxis("left").setLabel(unit)

    def set_blocks(self, blocks: MarginBlocks) -> None:
        """Draw ``blocks`` (arrays from the view-model)."""
        self._blocks = blocks
        kinds = np.asarray(blocks.kind, dtype=object)
        for kind, item in self.bars.items():
            mask = kinds == kind if len(kinds) else np.zeros(0, dtype=bool)
            item.setOpts(
                x=blocks.x[mask], y0=blocks.y0[mask], height=blocks.height[mask],
                width=blocks.width[mask] if mask.any() else 0.6,
            )
        for label in self._labels:
            self.plot_item.removeItem(label)
        self._labels = []
        for x, y, text in blocks.labels:
            item = pg.TextItem(text, anchor=(0.5, 0.5), color=self._label_colour(text))
            item.setPos(x, y)
            item.setZValue(5)
            self.plot_item.addItem(item, ignoreBounds=True)
            self._labels.append(item)
        self.plot_item.getAxis("bottom").setTicks([list(blocks.ticks), []])
        empty = not len(blocks.x)
        self.empty_text.setVisible(empty)
        if empty:
            self.view_box.setRange(xRange=(-1, 1), yRange=(0, 1), padding=0)
            self.empty_text.setPos(0, 0.5)
        else:
            columns = len(blocks.ticks)
            self.view_box.setRange(
                xRange=(-0.6, columns - 0.4), yRange=(0, blocks.top * 1.06), padding=0
            )

    def blocks(self) -> MarginBlocks:
        return self._blocks

    def _label_colour(self, text: str) -> str:
        return self._theme.muted if text == "free" else "#ffffff"

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        apply_plot_theme(self.plot_widget, self.plot_item, theme)
        colours = {
            "cross": theme.cross,
            "cross_mm": theme.cross_mm,
            "isolated": theme.isolated,
            "isolated_mm": theme.isolated_mm,
            "free": theme.free,
        }
        for kind, item in self.bars.items():
            item.setOpts(brush=pg.mkBrush(colours[kind]), pen=pg.mkPen(theme.chart_bg, width=1))
        self.empty_text.setColor(theme.muted)
        swatches = "  ".join(
            f'<span style="color:{colours[k]}">■</span> {name}' for k, name in LEGEND
        )
        self.legend_label.setText(swatches)
        if len(self._blocks.x):
            self.set_blocks(self._blocks)
