"""CSV import: presets, column mapping, dry run, duplicates, rejected rows with line numbers."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from crossmargin.errors import InputError
from crossmargin.storage import Journal, PositionStatus
from crossmargin.storage.csv_import import parse_fills_csv, parse_time

GENERIC = """time,symbol,side,price,amount,fee,fee_currency,trade_id
2024-03-01T00:00:00Z,BTCUSDT,buy,40000,0.010,0.16,USDT,1
2024-03-01 01:00:00,BTCUSDT,BUY,41000,0.010,0.164,USDT,2
1709258400000,BTCUSDT,sell,42000,0.015,0.252,USDT,3
2024-03-01T03:00:00+01:00,BTCUSDT,sell,43000,0.005,0.086,USDT,4
"""


def write(tmp_path: Path, text: str, name: str = "fills.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_generic_import_then_reimport_adds_nothing(journal: Journal, acct: int, tmp_path) -> None:
    path = write(tmp_path, GENERIC)
    dry = journal.import_fills_csv(acct, path, dry_run=True)
    assert dry.dry_run and dry.new == 4 and dry.duplicates == 0 and dry.changes is None
    assert journal.fills().total == 0
    rep = journal.import_fills_csv(acct, path)
    assert (rep.rows, rep.new, rep.duplicates, rep.rejected) == (4, 4, 0, ())
    (pos,) = journal.positions().items
    assert pos.status is PositionStatus.CLOSED
    assert pos.entry_price == D(40500) and pos.realized_pnl == D("22.500") + D("12.500")
    assert pos.fees == D("0.662")
    again = journal.import_fills_csv(acct, path)
    assert again.new == 0 and again.duplicates == 4
    assert journal.import_fills_csv(acct, path, dry_run=True).duplicates == 4
    assert journal.fills().total == 4


def test_rows_without_trade_ids_dedupe_by_content(journal: Journal, acct: int, tmp_path) -> None:
    text = (
        "Date,Pair,Direction,Price,Qty,Commission\n"
        "2024-03-01 00:00:00,ETHUSDT,Buy,3000,1,0.5 USDT\n"
        "2024-03-01 00:00:00,ETHUSDT,Buy,3000,1,0.5 USDT\n"  # a genuine second identical fill
        "2024-03-01 05:00:00,ETHUSDT,Sell,3100,2,1 USDT\n"
    )
    path = write(tmp_path, text)
    assert journal.import_fills_csv(acct, path).new == 3
    assert journal.import_fills_csv(acct, path).duplicates == 3
    (pos,) = journal.positions().items
    assert pos.realized_pnl == 200 and pos.fees == 2
    # the same trades with differently written numbers are still duplicates
    path2 = write(tmp_path, text.replace("3000,1,", "3000.00,1.0,"), "other.csv")
    assert journal.import_fills_csv(acct, path2).new == 0


def test_rejected_rows_have_line_numbers_and_reasons(journal: Journal, acct: int, tmp_path) -> None:
    text = (
        "time,symbol,side,price,amount\n"
        "2024-03-01T00:00:00Z,BTCUSDT,buy,100,1\n"
        "\n"
        "yesterday,BTCUSDT,buy,100,1\n"
        "2024-03-01T00:00:00Z,,hold,-5,0\n"
        '2024-03-01T01:00:00Z,BTCUSDT,sell,"1,000.5",1\n'
    )
    rep = journal.import_fills_csv(acct, write(tmp_path, text))
    assert rep.new == 2
    lines = {r.line: r.reason for r in rep.rejected}
    assert set(lines) == {4, 5}
    assert "time: cannot read 'yesterday'" in lines[4]
    assert "symbol: empty" in lines[5] and "side:" in lines[5]
    assert "price: must be > 0" in lines[5] and "amount: must not be 0" in lines[5]
    assert journal.fills().items[0].price == D("1000.5")


def test_missing_columns_and_bad_mapping_name_the_fix(tmp_path) -> None:
    path = write(tmp_path, "when,what,px\n1,2,3\n")
    with pytest.raises(InputError) as e:
        parse_fills_csv(path)
    text = "\n".join(e.value.problems)
    assert "column for 'time' not found" in text and "--map time=COLUMN" in text
    assert "the file has: when, what, px" in text
    with pytest.raises(InputError, match="no such column"):
        parse_fills_csv(path, mapping={"time": "nope"})
    with pytest.raises(InputError, match="unknown preset"):
        parse_fills_csv(path, preset="kraken")
    with pytest.raises(InputError, match="file not found"):
        parse_fills_csv(tmp_path / "missing.csv")
    empty = write(tmp_path, "", "empty.csv")
    with pytest.raises(InputError, match="empty"):
        parse_fills_csv(empty)


def test_explicit_mapping(tmp_path) -> None:
    path = write(tmp_path, "When;Ticker;Way;Avg Px;Lots\n2024-03-01 00:00;XRPUSDT;sell;0,5;10\n")
    parsed = parse_fills_csv(path, mapping={"time": "When", "symbol": "Ticker", "side": "Way",
                                            "price": "Avg Px", "amount": "Lots"})
    (line, f), = parsed.fills
    assert line == 2 and f.price == D("0.5") and f.side == "sell" and f.symbol == "XRP/USDT:USDT"


def test_binance_preset(tmp_path) -> None:
    text = (
        "Date(UTC),Symbol,Side,Price,Quantity,Amount,Fee,Realized Profit\n"
        "2024-03-01 10:00:00,BTCUSDT,BUY,62000.10,0.002,124.0002,0.04960008 USDT,0\n"
        "2024-03-01 11:00:00,BTCUSDT,SELL,62100,0.002,124.2,0.0000008BNB,0.2\n"
    )
    parsed = parse_fills_csv(write(tmp_path, text), preset="binance")
    (_, a), (_, b) = parsed.fills
    assert a.amount == D("0.002") and a.price == D("62000.10")  # not the quote "Amount"
    assert (a.fee, a.fee_currency) == (D("0.04960008"), "USDT")
    assert (b.fee, b.fee_currency) == (D("0.0000008"), "BNB")


def test_bybit_preset(tmp_path) -> None:
    text = (
        "Contracts,Trade Type,Filled Qty,Filled Price,Order Price,Trading Fee,Order Type,"
        "Transaction ID,Order No.,Trade Time(UTC+0)\n"
        "ETHUSDT,Open Long,0.5,3500.5,3500,0.96,Limit,abc-1,o1,2024-03-01 10:00:00\n"
        "ETHUSDT,Close Long,0.5,3600,3600,0.99,Market,abc-2,o2,2024-03-01 12:00:00\n"
    )
    parsed = parse_fills_csv(write(tmp_path, text), preset="bybit")
    (_, a), (_, b) = parsed.fills
    assert (a.side, a.leg, a.trade_id, a.order_id) == ("buy", "long", "abc-1", "o1")
    assert (b.side, b.leg, b.price) == ("sell", "long", D(3600))


def test_okx_preset_flips_fee_sign(tmp_path) -> None:
    text = (
        "Trade ID,Order ID,Time,Instrument,Action,Price,Amount,Fee,Fee unit\n"
        "t9,o9,2024-03-01 10:00:00,BTC-USDT-SWAP,Buy,62000,3,-0.93,USDT\n"
    )
    ((_, f),) = parse_fills_csv(write(tmp_path, text), preset="okx").fills
    assert f.fee == D("0.93") and f.fee_currency == "USDT" and f.symbol == "BTC/USDT:USDT"


def test_parse_time_forms() -> None:
    a = parse_time("2024-03-01T00:00:00Z")
    assert parse_time("1709251200") == a
    assert parse_time("1709251200000") == a
    assert parse_time("2024/03/01 01:00:00+01:00") == a
    with pytest.raises(ValueError):
        parse_time("")


def test_newest_first_exports_keep_trade_order_within_a_timestamp(
    journal: Journal, acct: int, tmp_path
) -> None:
    """Binance exports newest first; two fills in the same second must stay in trade order
    (here: close the long, then open a short — not the other way round)."""
    text = (
        "time,symbol,side,price,amount,trade_id\n"
        "2024-03-01T02:00:00Z,BTCUSDT,buy,90,1,4\n"
        "2024-03-01T01:00:00Z,BTCUSDT,sell,110,1,3\n"
        "2024-03-01T01:00:00Z,BTCUSDT,sell,105,1,2\n"
        "2024-03-01T00:00:00Z,BTCUSDT,buy,100,1,1\n"
    )
    journal.import_fills_csv(acct, write(tmp_path, text))
    short, long_ = journal.positions().items
    assert long_.exit_price == 105 and long_.realized_pnl == 5
    assert short.entry_price == 110 and short.realized_pnl == 20


def test_time_zone_of_naive_times(journal: Journal, acct: int, tmp_path) -> None:
    from datetime import UTC, datetime

    from crossmargin.storage.csv_import import parse_zone

    path = write(tmp_path, "time,symbol,side,price,amount\n2024-03-01 08:00:00,BTCUSDT,buy,1,1\n")
    journal.import_fills_csv(acct, path, naive_tz=parse_zone("+08:00"))
    assert journal.fills().items[0].time == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_zone("Asia/Singapore").utcoffset(datetime(2024, 1, 1)).total_seconds() == 28800
    assert parse_zone("utc") is UTC
    with pytest.raises(InputError, match="unknown time zone"):
        parse_zone("Mars/Olympus")
    assert parse_time("1709251200123456") == datetime(2024, 3, 1, 0, 0, 0, 123456, tzinfo=UTC)


def test_number_formats() -> None:
    from crossmargin.storage.csv_import import parse_number

    assert parse_number("1,234.5", "p") == (D("1234.5"), "")
    assert parse_number("1,234", "p") == (D("1234"), "")  # a '.' file: ',' groups thousands
    assert parse_number("0,5", "p", decimal=",") == (D("0.5"), "")
    with pytest.raises(ValueError, match="ambiguous"):
        parse_number("0,5", "p")  # never guessed in a '.' file
    assert parse_number("1.234,5", "p", decimal=",") == (D("1234.5"), "")
    assert parse_number("0,123", "p", decimal=",") == (D("0.123"), "")
    with pytest.raises(ValueError, match="ambiguous"):
        parse_number("0.5", "p", decimal=",")
    assert parse_number("0.001BTC", "fee") == (D("0.001"), "BTC")
    assert parse_number("1e-8", "amount") == (D("1E-8"), "")
    for bad in ("1.2.3", "abc", "1 2", "--1"):
        with pytest.raises(ValueError, match="not a number"):
            parse_number(bad, "p")


def test_semicolon_files_use_decimal_commas(tmp_path) -> None:
    path = write(tmp_path, "time;symbol;side;price;amount;fee\n"
                           "2024-03-01 00:00;ETHUSDT;buy;3.000,25;0,123;0,5\n")
    ((_, f),) = parse_fills_csv(path).fills
    assert (f.price, f.amount, f.fee) == (D("3000.25"), D("0.123"), D("0.5"))


@pytest.mark.parametrize(("text", "want"), [
    # tab-separated, decimal commas (the file): read once per file, never x1000
    ("time\tsymbol\tside\tprice\tamount\n2024-03-01 00:00\tETHUSDT\tbuy\t43567,125\t0,123\n"
     "2024-03-01 01:00\tETHUSDT\tsell\t43600,5\t0,123\n", (D("43567.125"), D("0.123"))),
    # quoted decimal commas in a comma file
    ('time,symbol,side,price,amount\n2024-03-01 00:00,ETHUSDT,buy,"43567,125","0,12"\n',
     (D("43567.125"), D("0.12"))),
    # a dot file where a comma groups thousands
    ('time,symbol,side,price,amount\n2024-03-01 00:00,BTCUSDT,buy,"43,567.5",0.123\n',
     (D("43567.5"), D("0.123"))),
])
def test_decimal_separator_is_detected_once_per_file(tmp_path, text, want) -> None:
    parsed = parse_fills_csv(write(tmp_path, text))
    (_line, f), *_ = parsed.fills
    assert not parsed.rejected and (f.price, f.amount) == want
    assert parsed.decimal in (".", ",") and parsed.decimal_reason


def test_mixed_or_undecidable_separators_are_never_guessed(tmp_path) -> None:
    mixed = ("time,symbol,side,price,amount\n2024-03-01 00:00,ETHUSDT,buy,3000.25,1\n"
             '2024-03-01 01:00,ETHUSDT,sell,"3000,25",1\n')
    with pytest.raises(InputError, match=r"mixes decimal separators: line 2 .* line 3"):
        parse_fills_csv(write(tmp_path, mixed))
    # nothing decides: "43,567" may be 43567 or 43.567: that row is refused, by line
    undecided = ('time,symbol,side,price,amount\n2024-03-01 00:00,ETHUSDT,buy,"43,567",1\n'
                 "2024-03-01 01:00,ETHUSDT,buy,43000,2\n")
    parsed = parse_fills_csv(write(tmp_path, undecided))
    assert [r.line for r in parsed.rejected] == [2] and len(parsed.fills) == 1
    assert "--decimal" in parsed.rejected[0].reason
    # told which: read that way
    (_, f), _ = parse_fills_csv(write(tmp_path, undecided), decimal=",").fills
    assert f.price == D("43.567")


# Headers of the exchanges' derivatives trade-history exports, as their export screens are
# described publicly (reconstructed, NOT checked against a file exported this year: no
# such file was available here; replace with a real header when one is):
# Binance USDⓈ-M "Trade History" export (binance.com, Orders > Trade History > Export)
BINANCE_HEADER = "Date(UTC),Symbol,Side,Price,Quantity,Amount,Fee,Realized Profit"
# Bybit derivatives "Trade History" export (bybit.com, Orders > Derivatives > Trade History)
BYBIT_HEADER = ("Contracts,Trade Type,Filled Quantity,Avg. Fill Price,Fees,Order No.,"
                "Trade Time(UTC+0)")
# OKX trading-history export (okx.com, Assets > Order center > Trading history)
OKX_HEADER = "Instrument,Action,Fill Price,Fill Size,Fee,Fee unit,Trade ID,Time"


@pytest.mark.parametrize(("header", "row", "preset", "size"), [
    (BINANCE_HEADER, "2024-03-01 10:00:00,ETHUSDT,BUY,3000,2,6000,2.4 USDT,0", "binance", D(2)),
    (BYBIT_HEADER, "ETHUSDT,Buy,2,3000,1.2,o1,2024-03-01 10:00:00", "bybit", D(2)),
    (OKX_HEADER, "ETH-USDT-SWAP,buy,3000,2,-0.6,USDT,t1,2024-03-01T10:00:00Z", "okx", D(2)),
])
def test_the_preset_is_detected_and_a_quote_amount_never_read_as_size(tmp_path, header, row,
                                                                      preset, size):
    parsed = parse_fills_csv(write(tmp_path, f"{header}\n{row}\n"))
    assert parsed.preset == preset and preset in parsed.preset_reason
    ((_, f),) = parsed.fills
    assert f.amount == size  # Binance's Amount (6,000 = price × quantity) is not the size
    assert f.symbol == "ETH/USDT:USDT" and f.price == D(3000)
    # generic, the size column wins over an "Amount" column too
    ((_, g),) = parse_fills_csv(write(tmp_path, f"{header}\n{row}\n"), preset="generic").fills \
        if preset == "binance" else (((0, f),))
    assert g.amount == size
