"""A synced account's numbers, read the way a user reads them: ``crossmargin whatif
--account NAME --json`` after a sync, against what the exchange itself reports.

The books come from :mod:`tests.sync.books`, whose exchange-reported liquidation prices
are computed from the exchange's published formula, never by the engine.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crossmargin.cli.main import main
from crossmargin.sync.cycle import AccountClient, run_cycle
from tests.sync.books import (
    MIXED_BOOK,
    MIXED_CROSS_WALLET,
    BookPosition,
    binance_book,
    binance_multi_asset_book,
)
from tests.sync.conftest import FAST, KEYS, config_for, server_for
from tests.sync.replay_server import recorded_data

REL = Decimal("1e-6")
D = Decimal


def _sync(exchange, data, journal, port, **kw):
    with server_for(exchange, data) as srv:
        cfg = config_for(exchange, srv, **kw)
        report = run_cycle(AccountClient(cfg, KEYS[exchange]), port, policy=FAST)
    journal.close()  # the CLI opens the journal itself, as a user's shell would
    return cfg, report


def _whatif_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    rc = main(["whatif", *args, "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def _rel(a: Decimal, b: Decimal) -> Decimal:
    return abs(a - b) / abs(b)


def _by_key(doc: dict) -> dict[str, dict]:
    """Position rows keyed ``VENUESYMBOL|side`` (the CLI ids are ``SYMBOL:side[:isolated]``)."""
    out = {}
    for p in doc["positions"]:
        unified, side = p["id"].split(":")[0:2], p["id"].split(":")[2]
        venue = unified[0].replace("/", "")
        out[f"{venue}|{side}"] = p
    return out


def test_mixed_cross_and_isolated_binance_account_matches_the_exchange(journal, port, capsys):
    data, reported = binance_book(MIXED_BOOK, MIXED_CROSS_WALLET)
    cfg, report = _sync("binanceusdm", data, journal, port)
    doc = _whatif_json(capsys, "--account", cfg.label)
    rows = _by_key(doc)
    assert set(rows) == set(reported)
    for key, exchange_lp in reported.items():
        ours = Decimal(rows[key]["liquidation_price"])
        assert _rel(ours, exchange_lp) < REL, (key, ours, exchange_lp)
        assert Decimal(rows[key]["exchange_liquidation_price"]) == exchange_lp
    # the sync's reconciliation saw the very same numbers
    recon = {r.key: r for r in report.reconciliation}
    for p in doc["positions"]:
        match = [r for r in recon.values() if r.symbol == p["id"].rsplit(":", 2)[0]
                 or p["id"].startswith(r.symbol + ":")]
        assert any(r.engine_liquidation_price == Decimal(p["liquidation_price"])
                   for r in match), p["id"]
    assert not any(r.flagged for r in report.reconciliation)
    # account figures: the exchange's cross wallet, cross margin balance and equity
    asset = data.balance["assets"][0]
    acct = doc["account"]
    assert Decimal(acct["wallet_balance"]) == Decimal(asset["crossWalletBalance"])
    assert Decimal(acct["margin_balance"]) == Decimal(asset["crossWalletBalance"]) + Decimal(
        asset["crossUnPnl"])
    assert Decimal(acct["total_wallet_balance"]) == Decimal(asset["walletBalance"])
    assert Decimal(acct["equity"]) == Decimal(asset["marginBalance"])


@pytest.mark.parametrize("cross_wallet", ["250", "1800.5", "25000"])
def test_cross_prices_follow_the_cross_wallet_not_the_total(journal, port, capsys,
                                                            cross_wallet):
    """Isolated wallets large next to the cross wallet: counting them twice (or at all)
    in the cross wallet moves every cross price, so this separates right from wrong."""
    book = [
        BookPosition("BTCUSDT", Decimal("0.05"), Decimal("64000"), Decimal("63500")),
        BookPosition("ETHUSDT", Decimal("1.5"), Decimal("3100"), Decimal("3050")),
        BookPosition("LTCUSDT", Decimal("-200"), Decimal("70"), Decimal("72.35"),
                     isolated_wallet=Decimal("4000")),
    ]
    data, reported = binance_book(book, Decimal(cross_wallet))
    cfg, _ = _sync("binanceusdm", data, journal, port)
    rows = _by_key(_whatif_json(capsys, "--account", cfg.label))
    for key, exchange_lp in reported.items():
        assert _rel(Decimal(rows[key]["liquidation_price"]), exchange_lp) < REL, key


def test_coinm_account_matches_the_exchange(journal, port, capsys):
    cfg, report = _sync("binancecoinm", recorded_data("binancecoinm"), journal, port,
                        settle="BTC")
    doc = _whatif_json(capsys, "--account", cfg.label)
    (pos,) = doc["positions"]
    assert _rel(Decimal(pos["liquidation_price"]), Decimal("72491.16879818")) < REL
    (row,) = report.reconciliation
    assert row.engine_liquidation_price == Decimal(pos["liquidation_price"])


def test_positions_settled_in_another_currency_are_evaluated_with_it(journal, port, capsys):
    """OKX: BTC-settled inverse positions in an account whose default is USDT."""
    cfg, report = _sync("okx", recorded_data("okx"), journal, port)
    capsys.readouterr()
    assert main(["whatif", "--account", cfg.label]) == 2
    err = capsys.readouterr().err
    assert "--settle BTC" in err
    doc = _whatif_json(capsys, "--account", cfg.label, "--settle", "BTC")
    iso = next(p for p in doc["positions"] if p["margin_mode"] == "isolated")
    assert _rel(Decimal(iso["liquidation_price"]), Decimal("69536.6125000014")) < Decimal("0.005")
    engine = {r.engine_liquidation_price for r in report.reconciliation}
    assert {Decimal(p["liquidation_price"]) for p in doc["positions"]
            if p["liquidation_price"] is not None} <= engine


def test_bybit_isolated_and_cross_prices_match_the_published_rules(journal, port, capsys):
    """Isolated: Bybit's published formula. Cross: the only cross position, so its price
    is where cross wallet + uPnL = MM (entry value × MMR − deduction, fee rate 0), with
    the cross wallet = Bybit's walletBalance − the isolated position's balance."""
    from tests.sync.books import _bybit_risk, bybit_book

    iso = BookPosition("BTCUSDT", Decimal("0.8"), Decimal("64210.5"), Decimal("67010.5"),
                       isolated_wallet=Decimal("5600"), leverage=10)
    cross = BookPosition("LTCUSDT", Decimal("-300"), Decimal("68.40"), Decimal("71.1"))
    wallet = Decimal("9100")
    data, reported = bybit_book([iso, cross], wallet)
    cfg, report = _sync("bybit", data, journal, port)
    rows = _by_key(_whatif_json(capsys, "--account", cfg.label))
    assert _rel(Decimal(rows["BTCUSDT|long"]["liquidation_price"]),
                reported["BTCUSDT|long"]) < REL
    q, value = Decimal(300), Decimal(300) * Decimal("68.40")
    mmr, ded = _bybit_risk("LTCUSDT", value)
    want = Decimal("68.40") + (wallet - Decimal(5600) - (value * mmr - ded)) / q
    assert _rel(Decimal(rows["LTCUSDT|short"]["liquidation_price"]), want) < REL
    assert not any(r.flagged for r in report.reconciliation
                   if r.exchange_liquidation_price is not None)


@pytest.mark.parametrize("exchange", ["bybit", "okx"])
def test_journal_account_fetches_published_tiers_without_a_key(exchange, capsys, tmp_path):
    """`journal tiers ACCOUNT --fetch` takes Bybit's and OKX's public tier tables."""
    db = str(tmp_path / "j.sqlite3")
    symbol = "LTCUSDT" if exchange == "bybit" else "ETH-USDT-SWAP"
    assert main(["journal", "account", "add", "hand", "--exchange", exchange, "--leverage",
                 "5", "--db", db]) == 0
    assert main(["journal", "add", "--account", "hand", symbol, "long", "2", "70",
                 "--db", db]) == 0
    with server_for(exchange) as srv:
        capsys.readouterr()
        rc = main(["journal", "tiers", "hand", "--fetch", "--endpoint", srv.base_url,
                   "--db", db])
        out, err = capsys.readouterr()
        assert rc == 0, err
        paths = set(srv.paths())
    assert "tiers of 1 symbols" in out
    # public endpoints only: nothing signed was asked for
    assert not any(p.startswith(("/v5/account", "/v5/position", "/api/v5/account"))
                   for p in paths), paths
    from crossmargin.storage import Journal

    with Journal.open(db) as j:
        (table,) = j.tiers("hand").values()
        assert table[0].min_notional == 0 and table[0].maintenance_margin_rate > 0
    capsys.readouterr()
    assert main(["journal", "balance", "hand", "1000", "--db", db]) == 0
    assert main(["whatif", "--account", "hand", "--db", db]) == 0
    assert "from the journal" in capsys.readouterr().out


def test_binance_tiers_are_not_public(capsys, tmp_path):
    db = str(tmp_path / "j.sqlite3")
    assert main(["journal", "account", "add", "b", "--exchange", "binanceusdm",
                 "--db", db]) == 0
    assert main(["journal", "add", "--account", "b", "BTCUSDT", "long", "1", "60000",
                 "--leverage", "10", "--db", db]) == 0
    capsys.readouterr()
    assert main(["journal", "tiers", "b", "--fetch", "--db", db]) == 2
    assert "signed requests; the bundled snapshot is used" in capsys.readouterr().err


def test_a_multi_assets_binance_account_pools_its_btc_and_matches_the_exchange(
        journal, port, capsys):
    """Multi-Assets mode detected from the account reply, the rates from assetIndex: the
    BTC long's price counts the BTC held falling with it; every price and the pooled
    margin balance agree with the exchange's (as inferred, see binance_multi_asset_book)."""
    book = [BookPosition("BTCUSDT", D("1.2"), D("88400"), D("91850")),
            BookPosition("ETHUSDT", D("-8"), D("3240"), D("3120"))]
    index = {"USDT": (D("0.9998"), D(0)), "BTC": (D("91830"), D("0.05")),
             "USDC": (D("0.9999"), D("0.0001"))}
    held = {"BTC": D("0.25"), "USDC": D("400")}
    data, reported = binance_multi_asset_book(book, D("300"), held, index)
    cfg, report = _sync("binanceusdm", data, journal, port)
    assert report.batch.collateral_mode is not None
    assert report.batch.collateral_mode.value == "multi"
    assert not any(r.flagged for r in report.reconciliation), report.reconciliation
    doc = _whatif_json(capsys, "--account", cfg.label)
    rows = _by_key(doc)
    assert set(rows) == set(reported)
    for key, exchange_lp in reported.items():
        assert _rel(Decimal(rows[key]["liquidation_price"]), exchange_lp) < REL, key
    pool = doc["account"]["collateral"]
    assert pool["mode"] == "multi" and {a["asset"] for a in pool["assets"]} == {"BTC", "USDC"}
    # the pool in USDT times USDT's index is the exchange's total margin balance in USD
    ours = Decimal(doc["account"]["margin_balance"]) * index["USDT"][0]
    assert _rel(ours, Decimal(data.balance["totalMarginBalance"])) < REL
    # the BTC held matters: the same account in single-asset mode liquidates far sooner
    capsys.readouterr()
    assert main(["journal", "account", "edit", cfg.label, "--multi-asset", "off"]) == 0
    single = _by_key(_whatif_json(capsys, "--account", cfg.label))
    assert Decimal(single["BTCUSDT|long"]["liquidation_price"]) > \
        Decimal(rows["BTCUSDT|long"]["liquidation_price"])


def test_a_bybit_unified_account_pools_its_btc_at_the_collateral_ratio(journal, port, capsys):
    """UTA cross margin (account info), BTC in the wallet at its USD value, its ratio from
    the tiered collateral table: the cross long's price is where USDT + BTC × ratio (the
    BTC moving with the contract) + uPnL = Bybit's MM (entry value × MMR − deduction),
    solved here by bisection; an isolated position keeps its own margin."""
    from tests.sync.books import _bybit_risk, bybit_book

    cross = BookPosition("BTCUSDT", D("0.8"), D("64210.5"), D("67010.5"))
    iso = BookPosition("LTCUSDT", D("-300"), D("68.40"), D("71.1"), isolated_wallet=D("2100"))
    wallet = D("5100")  # USDT, the isolated balance included
    data, reported = bybit_book([cross, iso], wallet)
    coins = data.balance["result"]["list"][0]["coin"]
    usdt = next(c for c in coins if c["coin"] == "USDT")
    usdt["usdValue"] = str(wallet * D("0.9999"))
    btc_usd = D("67000")
    coins[:] = [c for c in coins if c["coin"] in ("USDT", "ETH")]
    next(c for c in coins if c["coin"] == "ETH").update(collateralSwitch=False)  # not pooled
    coins.append({**usdt, "coin": "BTC", "walletBalance": "0.2", "equity": "0.2",
                  "unrealisedPnl": "0", "usdValue": str(D("0.2") * btc_usd)})
    data.balance["result"]["list"][0]["accountType"] = "UNIFIED"
    data.account_info = {"unifiedMarginStatus": 5, "marginMode": "REGULAR_MARGIN"}
    data.collateral_ratios = [{"currency": "BTC", "collateralRatioList": [
        {"minQty": "0", "maxQty": "100", "collateralRatio": "0.95"},
        {"minQty": "100", "maxQty": "", "collateralRatio": "0.5"}]}]
    cfg, report = _sync("bybit", data, journal, port)
    assert report.batch.collateral_mode is not None, report.batch.unsupported
    assert report.batch.collateral_mode.value == "multi"
    doc = _whatif_json(capsys, "--account", cfg.label)
    rows = _by_key(doc)
    btc_in_usdt = btc_usd / D("0.9999")
    mmr, ded = _bybit_risk("BTCUSDT", D("0.8") * D("64210.5"))
    mm = D("0.8") * D("64210.5") * mmr - ded

    def slack(x: Decimal) -> Decimal:
        held = D("0.2") * D("0.95") * btc_in_usdt * x / D("67010.5")
        return (wallet - D(2100)) + held + D("0.8") * (x - D("64210.5")) - mm

    lo, hi = D(1), D("67010.5")
    for _ in range(120):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if slack(mid) <= 0 else (lo, mid)
    assert _rel(Decimal(rows["BTCUSDT|long"]["liquidation_price"]), lo) < REL
    assert _rel(Decimal(rows["LTCUSDT|short"]["liquidation_price"]), reported["LTCUSDT|short"]) \
        < REL
    pool = doc["account"]["collateral"]
    assets = {a["asset"]: a for a in pool["assets"]}
    assert set(assets) == {"BTC", "ETH"} and assets["ETH"]["value"] == "0"  # switched off
    assert _rel(Decimal(assets["BTC"]["price"]), btc_in_usdt) < REL


def test_an_okx_multi_currency_account_is_detected_and_its_limit_said(journal, port, capsys):
    """acctLv 3 (multi-currency margin): the mode and each currency's discount (disEq /
    eqUsd, from the recorded balance) are stored; the recorded positions are inverse
    (coin-margined), which a pool does not hold: whatif --account says so, plainly."""
    data = recorded_data("okx")
    data.account_info = {"acctLv": "3"}
    cfg, report = _sync("okx", data, journal, port)
    assert report.batch.collateral_mode is not None
    assert report.batch.collateral_mode.value == "multi"
    rates = {r.asset: r for r in report.batch.collateral_rates}
    btc = next(d for d in data.balance["data"][0]["details"] if d["ccy"] == "BTC")
    assert rates["BTC"].ratio == Decimal(btc["disEq"]) / Decimal(btc["eqUsd"])
    assert all(r.problem and "inverse" in r.problem for r in report.reconciliation)
    capsys.readouterr()
    assert main(["whatif", "--account", cfg.label]) == 2
    err = capsys.readouterr().err
    assert "inverse contract" in err and "Traceback" not in err
