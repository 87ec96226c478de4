"""Dashboard: view-model arrays, the charts' data, the demo feed and history, formatting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from crossmargin.domain import MarginMode
from crossmargin.margin import evaluate
from crossmargin.scenario import load_scenario
from desktop import formatting as fmt
from desktop.charts.timeseries import nearest_index
from desktop.charts.viewmodel import margin_blocks
from desktop.demo import SeriesBuffer, SimulatedMarkFeed, synthetic_history, tick_of
from desktop.tray import MarginAlert
from desktop.widgets.key_figures import ratio_tone

pytestmark = pytest.mark.gui


def test_margin_blocks_stack_cross_positions_in_the_pool(book_path: Path) -> None:
    risk = evaluate(load_scenario(book_path))
    blocks = margin_blocks(risk)
    kinds = np.asarray(blocks.kind)
    cross = [p for p in risk.positions if p.margin_mode is MarginMode.CROSS]
    isolated = [p for p in risk.positions if p.margin_mode is MarginMode.ISOLATED]
    im = blocks.height[kinds == "cross"]
    assert np.allclose(im, [float(p.initial_margin) for p in cross])
    # stacked: each segment starts where the previous one ended
    assert np.allclose(blocks.y0[kinds == "cross"], np.concatenate([[0.0], np.cumsum(im)[:-1]]))
    assert np.allclose(blocks.height[kinds == "cross_mm"],
                       [float(p.maintenance_margin) for p in cross])
    free = float(risk.margin_balance) - float(sum(p.initial_margin for p in cross))
    assert np.allclose(blocks.height[kinds == "free"], [free])
    assert np.allclose(blocks.height[kinds == "isolated"], [float(p.margin) for p in isolated])
    assert [t for _, t in blocks.ticks] == ["Cross pool"] + [p.symbol.split("/")[0]
                                                           for p in isolated]
    assert blocks.top == pytest.approx(float(risk.margin_balance))


def test_margin_blocks_degenerate_inputs() -> None:
    assert len(margin_blocks(None).x) == 0


def test_dashboard_charts_get_the_session_arrays(window, qtbot, settle) -> None:
    settle(window)
    window.dashboard.redraw()
    t, y = window.dashboard.equity_chart.series()
    assert len(t) == len(window.session.history) > 24 * 30 - 1
    assert y[-1] == pytest.approx(float(window.session.snapshot.risk.equity))
    _, ratio = window.dashboard.ratio_chart.series()
    assert ratio[-1] == pytest.approx(float(window.session.snapshot.risk.margin_ratio) * 100)
    bars = window.dashboard.margin_chart.blocks()
    assert len(bars.x) > 0
    # a live tick is appended to the equity series
    before = len(window.session.history)
    window.marks.simulated.step()
    qtbot.waitUntil(lambda: len(window.session.history) == before + 1, timeout=5000)
    window.dashboard.redraw()
    assert len(window.dashboard.equity_chart.series()[0]) == before + 1


def test_range_buttons_show_the_last_day(window, settle) -> None:
    settle(window)
    chart = window.dashboard.equity_chart
    window.dashboard.redraw()
    chart.set_range("1D")
    (x0, x1), _ = chart.view_box.viewRange()
    t, _ = chart.series()
    assert x1 >= t[-1] and x0 == pytest.approx(t[-1] - 86_400, abs=1)
    chart.set_range("All")
    (x0, _x1), _ = chart.view_box.viewRange()
    assert x0 == pytest.approx(t[0], abs=1)


def test_nearest_index() -> None:
    t = np.array([0.0, 10.0, 20.0])
    assert [nearest_index(t, x) for x in (-5, 4, 6, 19, 99)] == [0, 0, 1, 2, 2]
    assert nearest_index(np.empty(0), 1.0) == -1


def test_feed_moves_marks_on_ticks_and_is_reproducible(qapp) -> None:
    marks = {"BTC/USDT:USDT": Decimal("97250.1"), "DOGE/USDT:USDT": Decimal("0.38214")}
    a = SimulatedMarkFeed(marks, seed=5)
    b = SimulatedMarkFeed(marks, seed=5)
    for _ in range(50):
        ma, mb = a.step(), b.step()
    assert ma == mb
    assert ma["BTC/USDT:USDT"] != marks["BTC/USDT:USDT"]
    for symbol, price in ma.items():
        assert isinstance(price, Decimal) and price > 0
        assert price % tick_of(marks[symbol]) == 0  # rounded to the tick
    # stays near the start (mean reversion): within 20 % after 2,000 ticks
    for _ in range(2000):
        ma = a.step()
    for symbol, price in ma.items():
        assert abs(price / marks[symbol] - 1) < Decimal("0.2")


def test_synthetic_history_ends_at_the_current_figures() -> None:
    h = synthetic_history(25_000.0, 0.12, hours=24 * 365, end=1_800_000_000.0, seed=1)
    assert len(h.t) == 24 * 365 and np.all(np.diff(h.t) == 3600)
    assert h.t[-1] == 1_800_000_000.0
    assert h.equity[-1] == pytest.approx(25_000.0)
    assert h.margin_ratio[-1] == pytest.approx(0.12)
    assert np.all(h.equity > 0) and np.nanmax(h.margin_ratio) < 1
    none = synthetic_history(1000.0, None, hours=10)
    assert np.all(np.isnan(none.margin_ratio))


def test_series_buffer_appends_and_grows() -> None:
    buf = SeriesBuffer(2, capacity=16)
    buf.extend(np.arange(10.0), np.arange(10.0) * 2)
    for i in range(10, 100):
        buf.append(float(i), float(i) * 2)
    assert len(buf) == 100
    assert np.array_equal(buf.view(0), np.arange(100.0))
    assert np.array_equal(buf.view(1), np.arange(100.0) * 2)


def test_formatting_rounds_for_display_only() -> None:
    f = fmt.InstrumentFormats()
    f.learn("BTC/USDT:USDT", [Decimal("97250.1")], [Decimal("0.005")])
    assert f.price("BTC/USDT:USDT", Decimal("38356.86694277")) == "38,356.9"
    assert f.size("BTC/USDT:USDT", Decimal("0.8")) == "0.800"
    assert f.price("X", None) == "—"
    assert fmt.money(Decimal("-1234.567"), "USDT", sign=True) == "\u22121,234.57"
    assert fmt.money(Decimal("0.0012345"), "BTC", unit=True) == "0.001234 BTC"
    assert fmt.percent(Decimal("0.03794")) == "3.79\u202f%"
    assert fmt.leverage(Decimal("12.50")) == "12.5×"
    assert fmt.magnitude_decimals(Decimal("0.000123")) == 8
    assert fmt.money(Decimal("NaN"), "USDT") == "—"


def test_margin_alert_fires_on_crossing_and_rearms_below_the_hysteresis(qapp) -> None:
    alert = MarginAlert(Decimal("0.8"))
    fired: list[tuple[str, object]] = []
    alert.crossed.connect(lambda label, ratio: fired.append((label, ratio)))
    seq = ["0.5", "0.79", "0.81", "0.9", "0.79", "0.81", "0.7", "0.85"]
    for r in seq:
        alert.observe("a", "Main", Decimal(r))
    assert [r for _, r in fired] == [Decimal("0.81"), Decimal("0.85")]
    assert alert.observe("b", "Other", None, liquidated=True)
    assert not alert.observe("b", "Other", None, liquidated=True)


def test_ratio_tone() -> None:
    alert = Decimal("0.8")
    assert ratio_tone(Decimal("0.1"), alert=alert) == "good"
    assert ratio_tone(Decimal("0.5"), alert=alert) == "warn"
    assert ratio_tone(Decimal("0.8"), alert=alert) == "bad"
    assert ratio_tone(None, alert=alert) == "good"
    assert ratio_tone(None, alert=alert, liquidated=True) == "bad"


def test_ratio_chart_follows_the_equity_time_window(window, settle) -> None:
    settle(window)
    window.dashboard.redraw()
    window.dashboard.equity_chart.set_range("1W")
    (e0, e1), _ = window.dashboard.equity_chart.view_box.viewRange()
    (r0, r1), _ = window.dashboard.ratio_chart.view_box.viewRange()
    assert (r0, r1) == pytest.approx((e0, e1))


def test_deposits_and_withdrawals_are_marked_on_the_equity_chart(journal_window, qtbot) -> None:
    """Money moved in or out is drawn as ▲/▼ markers with its amount, not as PnL."""
    from datetime import UTC, datetime, timedelta

    from crossmargin.storage import NewTransfer

    window = journal_window
    entry = window.session.entry
    journal = window.journal
    (acct,) = [a for a in journal.accounts() if a.label == entry.label]
    now = datetime.now(UTC)
    journal.record_equity(acct.id, Decimal(10000), time=now - timedelta(days=3))
    journal.record_equity(acct.id, Decimal(12500), time=now - timedelta(days=1))
    journal.add_transfers(acct.id, [
        NewTransfer(now - timedelta(days=2), "USDT", Decimal(2500), "deposit", "d1"),
        NewTransfer(now - timedelta(hours=12), "USDT", Decimal("-300"), "withdrawal", "w1"),
    ])
    window.select_account("demo")
    qtbot.waitUntil(lambda: window.session.entry.key == "demo", timeout=10_000)
    window.select_account(entry.key)
    qtbot.waitUntil(lambda: window.session.entry.key == entry.key
                    and len(window.session.transfers[0]) == 2, timeout=10_000)
    window.dashboard.redraw()
    spots = window.dashboard.equity_chart._markers.points()
    assert len(spots) == 2
    assert sorted(str(p.data()) for p in spots) == ["Deposit 2,500.00 USDT",
                                                     "Withdrawal 300.00 USDT"]
