"""The journal CLI: journal add|fill|close|edit|delete|list|show|stats|balance|funding|tiers,
import, export, backup, restore. Bad input exits 2 naming the field; nothing is written."""

from __future__ import annotations

import csv
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from crossmargin.cli.main import main
from crossmargin.storage import Journal, PositionFilter

ROOT = Path(__file__).resolve().parents[2]
TIERS = ROOT / "tests" / "fixtures" / "tiers" / "binance_usdm_leverage_tiers.json"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "j.sqlite3"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fill_count(db: Path) -> int:
    with Journal.open(db) as j:
        return j.fills(limit=1).total


def setup_account(capsys, db: Path) -> None:
    assert run(capsys, "journal", "account", "add", "Main", "--rules", "binance",
               "--db", str(db))[0] == 0


def test_position_round_trip(capsys, db: Path) -> None:
    setup_account(capsys, db)
    code, out, _ = run(capsys, "journal", "add", "--account", "Main", "BTCUSDT", "long", "0.5",
                       "40000", "--leverage", "10", "--stop", "38000", "--tag", "breakout",
                       "--time", "2024-03-01T10:00:00Z", "--fee", "8", "--db", str(db))
    assert code == 0 and "Opened position #1" in out
    code, out, _ = run(capsys, "journal", "close", "1", "42000", "--size", "0.2",
                       "--time", "2024-03-01T12:00:00Z", "--db", str(db))
    assert code == 0 and "0.3 still open" in out
    code, out, _ = run(capsys, "journal", "fill", "--account", "main", "BTCUSDT", "sell", "1",
                       "41000", "--time", "2024-03-01T13:00:00Z", "--trade-id", "x1",
                       "--db", str(db))
    assert code == 0 and "flipped into #2" in out
    code, out, _ = run(capsys, "journal", "list", "--db", str(db))
    assert code == 0 and "BTCUSDT" in out and "1-2 of 2" in out
    code, out, _ = run(capsys, "journal", "list", "--closed", "--json", "--db", str(db))
    doc = json.loads(out)
    assert doc["total"] == 1 and doc["positions"][0]["realized_pnl"] == "700.0"
    assert doc["positions"][0]["net_pnl"] == "692.0"
    code, out, _ = run(capsys, "journal", "show", "1", "--db", str(db))
    assert code == 0 and "net 692.00 USDT" in out and "x1" in out
    code, out, _ = run(capsys, "journal", "stats", "--json", "--db", str(db))
    (stats,) = json.loads(out)
    assert stats["trades"] == 1 and stats["open_positions"] == 1 and stats["net_pnl"] == "692.0"
    code, out, _ = run(capsys, "journal", "stats", "--db", str(db))
    assert "Win rate" in out and "100 %" in out
    code, out, _ = run(capsys, "journal", "stats", "--by", "tag", "--db", str(db))
    assert code == 0 and "breakout" in out and "692.00" in out
    assert run(capsys, "journal", "edit", "2", "--leverage", "5", "--notes", "hedge",
               "--add-tag", "flip", "--db", str(db))[0] == 0
    with Journal.open(db) as j:
        p = j.position(2)
        assert p.leverage == 5 and p.notes == "hedge" and p.tags == ("flip",)
    code, _, err = run(capsys, "journal", "delete", "2", "--db", str(db))
    assert code == 2 and "--yes" in err
    assert run(capsys, "journal", "delete", "2", "--yes", "--db", str(db))[0] == 0


def test_edit_changes_size_entry_and_open_time(capsys, db: Path) -> None:
    setup_account(capsys, db)
    run(capsys, "journal", "add", "--account", "Main", "ETHUSDT", "long", "2", "3000",
        "--time", "2024-03-01T10:00:00Z", "--db", str(db))
    code, out, _ = run(capsys, "journal", "edit", "1", "--size", "3", "--entry", "2950",
                       "--opened", "2024-03-01T09:30:00Z", "--db", str(db))
    assert code == 0, out
    with Journal.open(db) as j:
        p = j.position(1)
    assert (p.contracts, p.entry_price, p.opened_at.isoformat()) == (
        D(3), D(2950), "2024-03-01T09:30:00+00:00")
    run(capsys, "journal", "fill", "--account", "Main", "ETHUSDT", "buy", "1", "3010",
        "--db", str(db))
    code, _, err = run(capsys, "journal", "edit", "1", "--entry", "2900", "--db", str(db))
    assert code == 2 and "2 opening fills" in err and "Traceback" not in err
    code, _, err = run(capsys, "journal", "edit", "1", "--size", "0", "--opened", "soon",
                       "--db", str(db))
    assert code == 2 and "--size" in err and "--opened" in err


def test_bad_input_exits_2_naming_the_field_and_writes_nothing(capsys, db: Path) -> None:
    setup_account(capsys, db)
    cases = [
        (["journal", "add", "--account", "Main", "BTCUSDT", "long", "-1", "100"], "size"),
        (["journal", "add", "--account", "Main", "BTCUSDT", "long", "1", "abc"], "price"),
        (["journal", "add", "--account", "Main", "BTCUSDT", "long", "1", "1", "--leverage",
          "0"], "--leverage"),
        (["journal", "add", "--account", "Nope", "BTCUSDT", "long", "1", "1"],
         "accounts: Main"),
        (["journal", "add", "--account", "Main", "BTCUSDT", "long", "1", "1", "--time",
          "tomorrow"], "--time"),
        (["journal", "close", "77", "100"], "position #77 not found"),
        (["journal", "fill", "--account", "Main", "X", "buy", "1", "NaN"], "price"),
        (["journal", "balance", "Main", "ten"], "amount"),
    ]
    for argv, needle in cases:
        code, _out, err = run(capsys, *argv, "--db", str(db))
        assert code == 2, argv
        assert needle in err and "Traceback" not in err, (argv, err)
    assert fill_count(db) == 0
    # a journal that does not exist is not created by a read, nor by a bad account
    missing = db.parent / "missing.sqlite3"
    code, _, err = run(capsys, "journal", "account", "add", "X", "--rules", "ftx",
                       "--db", str(missing))
    assert code == 2 and "account.rules" in err and not missing.exists()
    code, _, err = run(capsys, "journal", "list", "--db", str(missing))
    assert code == 2 and "no journal at" in err and not missing.exists()


def test_the_cli_works_beside_the_app(capsys, db: Path) -> None:
    """While a window holds the journal, every command reads and writes it."""
    setup_account(capsys, db)
    with Journal.open(db, exclusive=True) as window:
        code, out, err = run(capsys, "journal", "add", "--account", "Main", "BTCUSDT",
                             "long", "0.5", "60000", "--leverage", "10", "--db", str(db))
        assert code == 0, err
        code, out, err = run(capsys, "journal", "list", "--db", str(db))
        assert code == 0 and "BTCUSDT" in out, err
        assert run(capsys, "backup", "--db", str(db))[0] == 0
        assert window.outside_change()
        assert window.positions().total == 1


def test_import_dry_run_bad_rows_and_reimport(capsys, db: Path, tmp_path: Path) -> None:
    setup_account(capsys, db)
    good = tmp_path / "good.csv"
    good.write_text(
        "Date(UTC),Symbol,Side,Price,Quantity,Amount,Fee,Realized Profit\n"
        "2024-03-01 10:00:00,BTCUSDT,BUY,62000,0.002,124,0.0496 USDT,0\n"
        "2024-03-01 11:00:00,BTCUSDT,SELL,62100,0.002,124.2,0.0497 USDT,0.2\n"
    )
    code, out, _ = run(capsys, "import", str(good), "--account", "Main", "--preset", "binance",
                       "--dry-run", "--db", str(db))
    assert code == 0 and "Would import 2 new fills" in out and "First rows" in out
    assert fill_count(db) == 0
    code, out, _ = run(capsys, "import", str(good), "--account", "Main", "--preset", "binance",
                       "--db", str(db))
    assert code == 0 and "Imported 2 new fills" in out
    code, out, _ = run(capsys, "import", str(good), "--account", "Main", "--preset", "binance",
                       "--db", str(db))
    assert "Imported 0 new fills" in out and "2 already in the journal" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("time,symbol,side,price,amount\n"
                   "2024-03-02T00:00:00Z,ETHUSDT,buy,3000,1\n"
                   "2024-03-02T01:00:00Z,ETHUSDT,sell,,1\n")
    code, _, err = run(capsys, "import", str(bad), "--account", "Main", "--db", str(db))
    assert code == 2 and "bad.csv: line 3: price: empty" in err and "nothing imported" in err
    assert fill_count(db) == 2
    code, out, _ = run(capsys, "import", str(bad), "--account", "Main", "--skip-bad-rows",
                       "--db", str(db))
    assert code == 0 and "line 3: price: empty" in out and fill_count(db) == 3
    code, _, err = run(capsys, "import", str(bad), "--account", "Main", "--map", "price",
                       "--db", str(db))
    assert code == 2 and "FIELD=COLUMN" in err
    code, _, err = run(capsys, "import", str(tmp_path / "none.csv"), "--account", "Main",
                       "--db", str(db))
    assert code == 2 and "file not found" in err


def test_export_backup_restore(capsys, db: Path, tmp_path: Path) -> None:
    setup_account(capsys, db)
    run(capsys, "journal", "add", "--account", "Main", "ETHUSDT", "short", "2", "3000.5",
        "--time", "2024-03-01T00:00:00Z", "--db", str(db))
    run(capsys, "journal", "funding", "--account", "Main", "ETHUSDT", "-0.5",
        "--time", "2024-03-01T08:00:00Z", "--db", str(db))
    for what, name in (("positions", "p.csv"), ("fills", "f.csv"), ("funding", "fu.csv"),
                       ("json", "all.json")):
        code, _out, err = run(capsys, "export", what, str(tmp_path / name), "--db", str(db))
        assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert rows[0]["entry_price"] == "3000.5" and rows[0]["funding"] == "-0.5"
    doc = json.loads((tmp_path / "all.json").read_text())
    assert doc["tables"]["funding"][0]["amount"] == "-0.5"
    code, _, _ = run(capsys, "backup", str(tmp_path / "b.sqlite3"), "--db", str(db))
    assert code == 0 and (tmp_path / "b.sqlite3").is_file()
    code, _, _ = run(capsys, "backup", "--db", str(db))
    assert code == 0 and list((db.parent / "backups").glob("j-*.sqlite3"))
    run(capsys, "journal", "delete", "1", "--yes", "--db", str(db))
    assert fill_count(db) == 0
    code, _, err = run(capsys, "restore", str(tmp_path / "b.sqlite3"), "--db", str(db))
    assert code == 2 and "--yes" in err
    code, _out, _ = run(capsys, "restore", str(tmp_path / "b.sqlite3"), "--yes", "--db", str(db))
    assert code == 0 and fill_count(db) == 1


def test_tiers_instrument_balance_feed_whatif(capsys, db: Path) -> None:
    setup_account(capsys, db)
    run(capsys, "journal", "add", "--account", "Main", "BTCUSDT", "long", "0.1", "60000",
        "--leverage", "20", "--db", str(db))
    code, out, err = run(capsys, "journal", "tiers", "Main", str(TIERS), "--db", str(db))
    assert code == 0 and "BTC/USDT:USDT" in out, err
    code, out, _ = run(capsys, "journal", "instrument", "Main", "BTCUSDT", "--beta", "1",
                       "--db", str(db))
    assert code == 0 and "linear" in out
    assert run(capsys, "journal", "balance", "Main", "5000", "--db", str(db))[0] == 0
    with Journal.open(db) as j:
        state = j.build_scenario("Main")
    btc = "BTC/USDT:USDT"  # every stored symbol is canonical: BTCUSDT is the same contract
    assert state.wallet_balance == D(5000) and state.tiers[btc][0].min_notional == 0
    assert state.betas == {btc: D(1)}
    code, _, err = run(capsys, "journal", "tiers", "Main", str(TIERS), "--symbol", "XRPUSDT=NOPE",
                       "--db", str(db))
    assert code == 2 and "'NOPE' is not in" in err


def test_transfers_are_recorded_listed_and_not_pnl(capsys, db: Path) -> None:
    setup_account(capsys, db)
    assert run(capsys, "journal", "transfer", "Main", "10000", "--note", "first deposit",
               "--time", "2024-03-01T09:00:00Z", "--db", str(db))[0] == 0
    assert run(capsys, "journal", "transfer", "Main", "-250.5", "--db", str(db))[0] == 0
    code, out, _ = run(capsys, "journal", "transfers", "Main", "--db", str(db))
    assert code == 0 and "first deposit" in out and "net deposits: 9749.5 USDT" in out
    # an ambiguous or zero amount is refused naming the field; nothing is written
    for bad in ("250,5", "1,250", "0", "1e999999999", "abc"):
        code, _, err = run(capsys, "journal", "transfer", "Main", bad, "--db", str(db))
        assert code == 2 and err.startswith("crossmargin: amount:"), (bad, err)
    with Journal.open(db) as j:
        assert [t.amount for t in j.transfers("Main")] == [D(10000), D("-250.5")]
        # deposits are not profit: no position, no realised PnL, but the wallet moves
        assert j.positions().total == 0
        assert j.wallet_explained("Main") == D("9749.5")
    code, out, _ = run(capsys, "journal", "transfers", "Main", "--json", "--db", str(db))
    assert code == 0 and json.loads(out)[0]["kind"] == "deposit"


def test_show_names_where_realised_pnl_comes_from(capsys, db: Path) -> None:
    from datetime import UTC, datetime

    from crossmargin.storage import NewFill

    setup_account(capsys, db)
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    with Journal.open(db) as j:
        j.add_fills("Main", [
            NewFill("BTCUSDT", "buy", D(100), D(3), t0, trade_id="a", realized_pnl=D(0)),
            NewFill("BTCUSDT", "sell", D(110), D(3), t0.replace(hour=1), trade_id="b",
                    realized_pnl=D("29.99999999")),
        ])
    code, out, _ = run(capsys, "journal", "show", "1", "--db", str(db))
    assert code == 0 and "recomputed from the fills: 30 USDT" in out
    code, out, _ = run(capsys, "journal", "show", "1", "--json", "--db", str(db))
    pos = json.loads(out)["position"]
    assert (pos["realized_pnl"], pos["computed_pnl"]) == ("29.99999999", "30")


BINANCE_EXPORT = """Date(UTC),Symbol,Side,Price,Quantity,Amount,Fee,Realized Profit
2024-03-01 10:00:00,ETHUSDT,BUY,3000.50,2,6001.00,2.40040000 USDT,0
2024-03-01 12:00:00,ETHUSDT,SELL,3100.00,0.5,1550.00,0.62000000 USDT,49.75000000
2024-03-02 09:30:00,SOLUSDT,SELL,140.10,30,4203.00,1.68120000 USDT,0
"""


def test_fresh_exchange_account_evaluates_with_no_further_step(capsys, db: Path,
                                                              tmp_path: Path) -> None:
    """`--exchange binanceusdm --leverage 10`, one hand-logged position and an imported
    Binance export: `whatif --account` answers at once, from the bundled tiers, and says
    where each number came from."""
    export = tmp_path / "trades.csv"
    export.write_text(BINANCE_EXPORT, encoding="utf-8")
    code, out, err = run(capsys, "journal", "account", "add", "Main", "--exchange",
                         "binanceusdm", "--leverage", "10", "--db", str(db))
    assert code == 0 and "Binance USDS-M, binance rules" in out and "10x" in out, err
    assert run(capsys, "journal", "add", "--account", "Main", "btc", "long", "0.5", "60000",
               "--db", str(db))[0] == 0
    code, out, err = run(capsys, "import", str(export), "--account", "Main", "--preset",
                         "binance", "--db", str(db))
    assert code == 0, err
    assert run(capsys, "journal", "balance", "Main", "10000", "--db", str(db))[0] == 0
    code, out, err = run(capsys, "whatif", "--account", "Main", "--db", str(db), "--json")
    assert code == 0, err
    doc = json.loads(out)
    ids = {p["id"] for p in doc["positions"]}
    assert len(ids) == 3
    # BTC (30,000 notional) and the SOL short can be liquidated; ETH's 1.5 cannot (None)
    assert sum(p["liquidation_price"] is not None for p in doc["positions"]) == 2
    assert any("bundled with CrossMargin (as of 2026-09)" in s for s in doc["sources"])
    assert any("default 10x" in s for s in doc["sources"])
    with Journal.open(db) as j:
        eth = j.positions(PositionFilter(symbol="ETHUSDT")).items[0]
        # the export's own realised profit, the recomputed one beside it
        assert eth.realized_pnl == D("49.75000000") and eth.computed_pnl == D("49.75")
        # the imported ETHUSDT and a typed eth are one contract
        assert {p.symbol for p in j.positions().items} == {
            "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"}


def test_a_multi_asset_journal_account_pools_its_collateral(capsys, db: Path) -> None:
    """journal account --multi-asset on + journal collateral: `whatif --account` counts
    the BTC held at its ratio, says where it came from, and names a coin with no rate."""
    base = ["--db", str(db)]
    assert run(capsys, "journal", "account", "add", "Main", "--exchange", "binanceusdm",
               "--leverage", "20", "--multi-asset", "on", *base)[0] == 0
    run(capsys, "journal", "balance", "Main", "300", *base)
    code, out, _ = run(capsys, "journal", "collateral", "Main", "btc", "--price", "91850",
                       "--ratio", "0.95", "--amount", "0.3", *base)
    assert code == 0 and "BTC counts as collateral at 91850 USDT, ratio 0.95" in out
    run(capsys, "journal", "add", "--account", "Main", "BTCUSDT", "long", "2.5", "88400", *base)
    run(capsys, "journal", "edit", "1", "--mark", "91850", *base)
    code, out, _ = run(capsys, "whatif", "--account", "Main", "--json", *base)
    assert code == 0
    doc = json.loads(out)
    pool = doc["account"]["collateral"]
    assert pool["mode"] == "multi" and D(pool["value"]) == D("0.3") * 91850 * D("0.95")
    assert D(doc["account"]["margin_balance"]) == D(300) + D(pool["value"]) + \
        D("2.5") * (91850 - 88400)
    code, out, _ = run(capsys, "whatif", "--account", "Main", *base)
    assert "collateral: 0.3 BTC at 91850 USDT, value ratio 0.95" in out
    code, out, _ = run(capsys, "journal", "collateral", "Main", *base)
    assert code == 0 and "multi-asset: counted" in out and "BTC" in out
    run(capsys, "journal", "balance", "Main", "2", "--currency", "SOL", *base)
    code, _, err = run(capsys, "whatif", "--account", "Main", *base)
    assert code == 2 and "2 SOL is held but its value as collateral is unknown" in err
    code, _, err = run(capsys, "journal", "collateral", "Main", "ETH", "--ratio", "2", *base)
    assert code == 2 and "--price" in err
    # single-asset again: listed, not counted
    run(capsys, "journal", "account", "edit", "Main", "--multi-asset", "off", *base)
    code, out, _ = run(capsys, "whatif", "--account", "Main", "--json", *base)
    assert code == 0 and "collateral" not in json.loads(out)["account"]
