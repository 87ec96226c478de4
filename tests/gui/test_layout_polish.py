"""Layout details checked at 1280×800: the one-line demo banner, the cascade's "Who"
column, date-axis labels that keep clear of each other, exchange names without
missing glyphs."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from desktop.charts.timeseries import CompactDateAxis
from desktop.dialogs.accounts import EXCHANGE_NAMES
from desktop.whatif.models import CascadeColumn

pytestmark = pytest.mark.gui

DAY = 86_400.0


def test_demo_banner_is_one_compact_line(window, qtbot) -> None:
    window.resize(1280, 800)
    assert window.banner.isVisible()
    qtbot.waitUntil(lambda: window.banner.height() > 0, timeout=5_000)
    line = QFontMetrics(window.banner.font()).height()
    # one row of buttons, not a title over a wrapped paragraph
    assert window.banner.height() <= window.banner.add_account_button.sizeHint().height() + 12
    assert window.banner.height() < 3 * line
    assert "nothing is stored" in window.banner.toolTip()


def test_cascade_gives_who_the_room_when_narrow(window, qtbot, settle) -> None:
    window.resize(1280, 800)
    settle(window)
    window.tabs.setCurrentWidget(window.whatif_tab)
    panel = window.ensure_whatif_panel()
    view = panel.cascade_view
    qtbot.waitUntil(lambda: panel.cascade_model.rowCount() > 0, timeout=20_000)
    qtbot.waitUntil(lambda: view.width() > 0, timeout=5_000)
    narrow = view.width() < panel.NARROW_CASCADE
    assert view.isColumnHidden(int(CascadeColumn.NOW)) == narrow
    model = panel.cascade_model
    tip = model.index(0, CascadeColumn.SHOCK).data(Qt.ItemDataRole.ToolTipRole)
    assert "current book:" in tip
    # the names of isolated positions fit without eliding
    fm = view.fontMetrics()
    who = int(CascadeColumn.POSITIONS)
    for row in range(model.rowCount()):
        text = model.index(row, who).data()
        if not text.startswith("cross"):
            assert fm.horizontalAdvance(text) + 8 <= view.columnWidth(who), text
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: view.width() >= panel.NARROW_CASCADE, timeout=5_000)
    assert not view.isColumnHidden(int(CascadeColumn.NOW))


def test_date_axis_drops_day_labels_next_to_month_labels(qapp) -> None:
    axis = CompactDateAxis(utcOffset=0, gap_px=44)
    start = 1_788_220_800.0  # 2026-09-01 00:00 UTC
    plot = pg.PlotWidget(axisItems={"bottom": axis})
    plot.resize(420, 200)
    plot.plot([start, start + 55 * DAY], [0.0, 1.0])
    plot.grab()  # a first paint gives the axis its font metrics
    lo, hi, size = start, start + 55 * DAY, 480.0
    plain = super(CompactDateAxis, axis).tickValues(lo, hi, size)
    levels = axis.tickValues(lo, hi, size)
    per_px = (hi - lo) / size
    coarse: list[float] = []
    dropped = 0
    for (_s, kept), (_s2, before) in zip(levels, plain, strict=True):
        for v in kept:
            assert all(abs(v - c) >= 44 * per_px or abs(v - c) < per_px for c in coarse), v
        dropped += len(before) - len(kept)
        coarse.extend(kept)
    assert dropped > 0  # this range would otherwise print "29Oct"


def test_exchange_names_use_plain_characters() -> None:
    for name in EXCHANGE_NAMES.values():
        assert name.isascii(), name


def test_ladder_value_labels_stay_inside_a_small_chart(qtbot) -> None:
    from decimal import Decimal

    from desktop.whatif.charts import LadderChart
    from desktop.whatif.compute import Ladder, LadderRung

    chart = LadderChart()
    qtbot.addWidget(chart)
    chart.resize(420, 170)  # a cramped ladder
    chart.show()
    qtbot.waitExposed(chart)
    ladder = Ladder("BTC/USDT:USDT", Decimal("91809.1"), Decimal("91809.1"), (
        LadderRung("btc-long", "BTC long", Decimal("58904.2"), Decimal("58904.2"), False, False),
        LadderRung("btc-short", "BTC short", Decimal("102878.5"), Decimal("102878.5"), False,
                   False),
    ))
    chart.set_ladder(ladder, price_text=lambda d: f"{d:,.1f}")
    chart.plot_widget.grab()
    box = chart.plot.getViewBox()
    view_rect = box.mapRectToScene(box.boundingRect())
    shown = [label for label in chart._value_labels if label.isVisible()]
    assert len(shown) == 2
    for label in shown:
        rect = label.mapRectToScene(label.boundingRect())
        assert view_rect.left() - 1 <= rect.left() and rect.right() <= view_rect.right() + 1
        assert view_rect.top() - 1 <= rect.top() and rect.bottom() <= view_rect.bottom() + 1
