"""Statistics for reviewing trades: R per trade, and grouping by the local weekday,
hour and day of the close (what the app's Review tab and `journal stats --by` show)."""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crossmargin.storage import Journal

D = Decimal


@pytest.fixture
def tokyo(monkeypatch):
    """This computer's clock in UTC+9 (a POSIX zone: no tz database needed)."""
    monkeypatch.setenv("TZ", "JST-9")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


def _trade(j: Journal, acct: int, entry: str, stop: str | None, exit_: str, closed: datetime,
           side: str = "long", fee: str = "0") -> int:
    changes = j.add_position(acct, "BTC/USDT:USDT", side, D("2"), D(entry),
                             time=closed - timedelta(hours=1), fee=D(fee),
                             stop_price=None if stop is None else D(stop))
    assert changes.id is not None
    j.close_position(changes.id, D(exit_), time=closed)
    return changes.id


def test_r_is_net_over_the_loss_at_the_stop(tmp_path) -> None:
    with Journal.open(tmp_path / "j.sqlite3") as j:
        acct = j.create_account("hand").id
        assert acct is not None
        # long 2 @ 100, stop 90 (risk 2 × 10 = 20), out at 130: +60 - fee 4 → R = 56/20
        win = _trade(j, acct, "100", "90", "130", datetime(2026, 3, 2, 1, tzinfo=UTC), fee="4")
        # short 2 @ 100, stop 105 (risk 10), out at 110: -20 → R = -2
        loss = _trade(j, acct, "100", "105", "110", datetime(2026, 3, 3, 1, tzinfo=UTC),
                      side="short")
        free = _trade(j, acct, "100", None, "101", datetime(2026, 3, 4, 1, tzinfo=UTC))
        results = {r.position_id: r for r in j.trade_results()}
        assert results[win].net == D("56") and results[win].fees == D("4")
        assert results[win].r == D("2.8")
        assert results[loss].net == D("-20") and results[loss].r == D("-2")
        assert results[free].r is None and results[free].net == D("2")
        # the average R of the report is the mean of these (trades with a stop only)
        (stats,) = j.statistics()
        assert stats.average_r == (D("2.8") + D("-2")) / 2 and stats.r_trades == 2
        assert [r.position_id for r in j.trade_results()] == [win, loss, free]  # close order


def test_weekday_hour_and_day_are_the_local_time_of_the_close(tmp_path, tokyo) -> None:
    with Journal.open(tmp_path / "j.sqlite3") as j:
        acct = j.create_account("hand").id
        assert acct is not None
        # Monday 2026-03-02 20:30 UTC is Tuesday 05:30 in Tokyo
        _trade(j, acct, "100", None, "110", datetime(2026, 3, 2, 20, 30, tzinfo=UTC))
        _trade(j, acct, "100", None, "90", datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
        by_day = j.statistics_by("weekday")
        assert list(by_day) == ["1 Mon", "2 Tue"]
        assert by_day["2 Tue"][0].net_pnl == D("20") and by_day["1 Mon"][0].net_pnl == D("-20")
        assert list(j.statistics_by("hour")) == ["05", "19"]
        assert list(j.statistics_by("day")) == ["2026-03-02", "2026-03-03"]
        assert list(j.statistics_by("month")) == ["2026-03"]  # months stay UTC
