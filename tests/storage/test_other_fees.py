"""Fees paid in a third currency (BNB on Binance) cannot be netted without a rate: the
statistics report them apart, per currency, and ``crossmargin journal stats`` shows them
with a warning that net PnL excludes them."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

from crossmargin.cli.main import main
from crossmargin.storage import Journal, PositionFilter

from .helpers import fill


def _seed(journal: Journal, acct: int) -> None:
    """Three closed BTCUSDT trades: fees in USDT, in BNB (twice) and in USDC; one open
    position with a BNB fee (open positions are not in the statistics)."""
    journal.add_fills(acct, [
        fill(0, "buy", "100", "1", fee="0.1", fee_currency="USDT"),
        fill(1, "sell", "110", "1", fee="0.1", fee_currency="USDT"),
        fill(2, "buy", "100", "1", fee="0.0010", fee_currency="BNB"),
        fill(3, "sell", "90", "1", fee="0.0015", fee_currency="bnb"),
        fill(4, "buy", "100", "2", fee="0.5", fee_currency="USDC"),
        fill(5, "sell", "105", "2", fee="0.0002", fee_currency="BNB"),
        fill(6, "buy", "100", "1", fee="0.7", fee_currency="BNB", symbol="ETHUSDT"),
    ])
    journal.edit_position(journal.positions(PositionFilter(symbol="BTCUSDT")).items[0].id,
                          setup="breakout")


def test_statistics_report_other_fees_per_currency(journal: Journal, acct: int) -> None:
    _seed(journal, acct)
    (s,) = journal.statistics()
    assert s.trades == 3 and s.open_positions == 1
    assert s.other_fees == {"BNB": D("0.0027"), "USDC": D("0.5")}
    assert list(s.other_fees) == ["BNB", "USDC"]
    # they are not netted: net = realised − settle-currency fees + funding
    assert s.fees == D("0.2") and s.realized_pnl == D(10) - D(10) + D(10)
    assert s.net_pnl == s.realized_pnl - s.fees + s.funding == D("9.8")
    # per group, each group has its own
    by_setup = journal.statistics_by("setup")
    assert by_setup["breakout"][0].other_fees == {"BNB": D("0.0002"), "USDC": D("0.5")}
    assert by_setup[""][0].other_fees == {"BNB": D("0.0025")}


def test_statistics_without_other_fees_report_none(journal: Journal, acct: int) -> None:
    journal.add_fills(acct, [fill(0, "buy", "100", "1", fee="0.1", fee_currency="USDT"),
                             fill(1, "sell", "110", "1", fee="0.001", fee_currency="BTC")])
    (s,) = journal.statistics()
    assert s.other_fees == {}  # a base-coin fee is converted at the fill price
    assert s.fees == D("0.1") + D("0.001") * 110


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, _err = capsys.readouterr()
    return code, out


def test_cli_stats_prints_other_fees_with_a_warning(capsys, tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite3"
    with Journal.open(db) as j:
        _seed(j, j.create_account("Main", rules="binance").id)
    code, out = _run(capsys, "journal", "stats", "--db", str(db))
    assert code == 0
    line = next(ln for ln in out.splitlines() if "other fees" in ln)
    assert line.split()[-4:] == ["-0.0027", "BNB,", "-0.5", "USDC"]
    assert "NOT included in net PnL" in out
    code, out = _run(capsys, "journal", "stats", "--json", "--db", str(db))
    assert json.loads(out)[0]["other_fees"] == {"BNB": "0.0027", "USDC": "0.5"}
    code, out = _run(capsys, "journal", "stats", "--by", "setup", "--db", str(db))
    assert code == 0 and "NOT included in net PnL" in out
    assert "breakout (USDT): -0.0002 BNB, -0.5 USDC" in out
    assert "(none) (USDT): -0.0025 BNB" in out


def test_cli_stats_without_other_fees_has_no_warning(capsys, tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite3"
    with Journal.open(db) as j:
        a = j.create_account("Main").id
        j.add_fills(a, [fill(0, "buy", "100", "1"), fill(1, "sell", "110", "1")])
    for extra in ((), ("--by", "symbol")):
        code, out = _run(capsys, "journal", "stats", *extra, "--db", str(db))
        assert code == 0 and "other fees" not in out.lower() and "NOT included" not in out
