"""The look every pyqtgraph chart of the app shares: chart background and axis colours."""

from __future__ import annotations

import pyqtgraph as pg

from desktop.theme import Theme


def apply_plot_theme(plot_widget: pg.PlotWidget, plot_item: pg.PlotItem, theme: Theme) -> None:
    """Paint ``plot_widget``'s background and the left/bottom axes of ``plot_item`` in
    ``theme``'s chart colours (axis lines in the grid colour, tick labels in the chart text
    colour)."""
    plot_widget.setBackground(theme.chart_bg)
    for name in ("left", "bottom"):
        axis = plot_item.getAxis(name)
        axis.setPen(pg.mkPen(theme.grid))
        axis.setTextPen(pg.mkPen(theme.chart_fg))
