"""Saving and restoring the main window's layout (geometry, splitters, table columns,
tab, chart range, last account) in the app's QSettings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray

if TYPE_CHECKING:
    from desktop.main_window import MainWindow

DEFAULT_SIZE = (1280, 800)


def restore(window: MainWindow) -> None:
    s = window.settings
    geometry = s.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    else:
        window.resize(*DEFAULT_SIZE)
    for key, splitter in (
        ("window/splitter", window.splitter),
        ("window/dashboard_splitter", window.dashboard.splitter),
        ("window/dashboard_bottom", window.dashboard.bottom_splitter),
    ):
        value = s.value(key)
        if isinstance(value, QByteArray) and not value.isEmpty():
            splitter.restoreState(value)
    header = s.value("positions/header")
    if isinstance(header, QByteArray) and not header.isEmpty():
        window.positions.table.horizontalHeader().restoreState(header)
        window.positions.keep_column_widths()
    try:
        tab = int(str(s.value("window/tab", 0)))
    except (TypeError, ValueError):
        tab = 0
    if 0 <= tab < window.tabs.count():
        window.tabs.setCurrentIndex(tab)
    chart_range = str(s.value("dashboard/range", "All"))
    if chart_range in window.dashboard.equity_chart.range_buttons:
        window.dashboard.equity_chart.set_range(chart_range)


def save(window: MainWindow) -> None:
    s = window.settings
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/splitter", window.splitter.saveState())
    s.setValue("window/dashboard_splitter", window.dashboard.splitter.saveState())
    s.setValue("window/dashboard_bottom", window.dashboard.bottom_splitter.saveState())
    s.setValue("positions/header", window.positions.table.horizontalHeader().saveState())
    s.setValue("window/tab", window.tabs.currentIndex())
    s.setValue("dashboard/range", window.dashboard.equity_chart.current_range())
    if window.session.entry is not None:
        s.setValue("window/account", window.session.entry.key)
    s.sync()
