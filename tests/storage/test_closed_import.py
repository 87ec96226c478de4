"""A closed-P&L export is read as closed positions (an opening and a closing fill each)
whose net PnL is the exchange's figure to the last digit."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from crossmargin.cli.main import main
from crossmargin.errors import InputError
from crossmargin.storage import Journal, PositionStatus
from crossmargin.storage.csv_import import parse_fills_csv

# Column names and where they come from (none is a header of a file downloaded from the
# exchange this year: no such file was available here; replace with one when it is):
# Bybit closed P&L: the web export's names for GET /v5/position/closed-pnl. The row is
# the recorded API reply in tests/fixtures/ccxt/bybit.response.subset.json
# (fetchPositionHistory): side Sell (the closing order: a long), qty 0.001, entry
# 55937.5, exit 55563, closedPnl -0.43582528, updatedTime 1724408566765.
BYBIT = ("Contracts,Closing Direction,Qty,Entry Price,Exit Price,Closed P&L,Exit Type,"
         "Trade Time(UTC+0)\n"
         "BTCUSDT,Sell,0.001,55937.5,55563,-0.43582528,Trade,2024-08-23 10:22:46\n")
# Binance Position History: the fields its FAQ lists ("How to Use the Position History
# Feature on Binance Futures", 2023-05-02).
BINANCE = ("Symbol,Margin Mode,Side,Open Time,Close Time,Entry Price,Average Closing Price,"
           "Max Open Interest,Closed Vol.,Closing PNL\n"
           "ETHUSDT,Cross,Short,2024-03-01 08:00:00,2024-03-02 09:30:00,3000,2900,2,2,199.1\n")
# OKX position history: GET /api/v5/account/positions-history field names; OKX writes
# fees paid as negative numbers.
OKX = ("instId,direction,openAvgPx,closeAvgPx,closeTotalPos,realizedPnl,fee,cTime,uTime\n"
       "BTC-USDT-SWAP,long,60000,61000,0.5,498.2,-1.8,1709280000000,1709366400000\n")


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "closed.csv"
    p.write_text(text, encoding="utf-8")
    return p


def net_of(journal: Journal) -> list[tuple[str, str, D, D]]:
    return [(p.symbol, p.side.value, p.net_pnl, p.max_contracts)
            for p in journal.positions().items]


def test_a_bybit_closed_pnl_row_is_one_closed_long_netting_bybits_pnl(journal: Journal,
                                                                       acct: int,
                                                                       tmp_path) -> None:
    parsed = parse_fills_csv(write(tmp_path, BYBIT))
    assert parsed.preset == "closed" and "bybit" in parsed.preset_reason
    report = journal.import_fills_csv(acct, write(tmp_path, BYBIT))
    assert report.new == 2 and report.rejected == ()
    (p,) = journal.positions().items
    assert p.status is PositionStatus.CLOSED and p.side.value == "long"
    assert (p.entry_price, p.exit_price) == (D("55937.5"), D(55563))
    assert p.net_pnl == D("-0.43582528")  # exactly Bybit's closedPnl
    # the definition, substituted back: price PnL − the fee the file implies = its PnL
    assert (D(55563) - D("55937.5")) * D("0.001") - p.fees == D("-0.43582528")
    again = journal.import_fills_csv(acct, write(tmp_path, BYBIT))
    assert again.new == 0 and again.duplicates == 2


def test_binance_position_history_keeps_the_open_time(journal: Journal, acct: int,
                                                      tmp_path) -> None:
    journal.import_fills_csv(acct, write(tmp_path, BINANCE))
    (p,) = journal.positions().items
    assert p.side.value == "short" and p.net_pnl == D("199.1")
    assert p.opened_at == datetime(2024, 3, 1, 8, tzinfo=UTC)
    assert p.closed_at == datetime(2024, 3, 2, 9, 30, tzinfo=UTC)
    assert p.fees == D("0.9")  # (3000 − 2900) × 2 − 199.1


def test_okx_position_history_uses_its_fee_column(journal: Journal, acct: int,
                                                  tmp_path) -> None:
    parsed = parse_fills_csv(write(tmp_path, OKX))
    assert "okx" in parsed.preset_reason
    journal.import_fills_csv(acct, write(tmp_path, OKX))
    (p,) = journal.positions().items
    assert p.fees == D("1.8") and p.realized_pnl == D(500) and p.net_pnl == D("498.2")
    assert p.opened_at == datetime(2024, 3, 1, 8, tzinfo=UTC)


def test_bad_rows_are_named_and_nothing_half_written(journal: Journal, acct: int,
                                                     tmp_path) -> None:
    text = BINANCE + ("BTCUSDT,Cross,Sideways,2024-03-01,2024-03-02,1,2,1,1,1\n"
                      "BTCUSDT,Cross,Long,2024-03-05,2024-03-02,1,2,1,1,1\n")
    parsed = parse_fills_csv(write(tmp_path, text))
    assert [r.line for r in parsed.rejected] == [3, 4]
    assert "side" in parsed.rejected[0].reason and "after the close" in parsed.rejected[1].reason
    with pytest.raises(InputError, match="line 3"):
        journal.import_fills_csv(acct, write(tmp_path, text), strict=True)
    assert journal.positions().items == ()
    missing = "Symbol,Side,Entry Price,Exit Price,Closing PNL,Units\nETHUSDT,Long,1,2,1,5\n"
    with pytest.raises(InputError, match=r"'size'.*--map size=COLUMN"):
        parse_fills_csv(write(tmp_path, missing))
    # --map fills one gap; the error then names only what is still missing
    with pytest.raises(InputError) as e:
        parse_fills_csv(write(tmp_path, missing), mapping={"size": "Units"})
    assert len(e.value.problems) == 1 and "'close_time'" in e.value.problems[0]


def test_the_cli_reads_a_closed_export_without_a_preset(capsys, tmp_path) -> None:
    db = tmp_path / "j.sqlite3"
    assert main(["journal", "account", "add", "B", "--exchange", "bybit", "--db", str(db)]) == 0
    assert main(["import", str(write(tmp_path, BYBIT)), "--account", "B", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Read as closed positions (bybit closed-P&L export)" in out
    with Journal.open(db) as j:
        assert net_of(j) == [("BTC/USDT:USDT", "long", D("-0.43582528"), D("0.001"))]
