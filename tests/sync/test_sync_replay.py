"""Sync of binanceusdm, bybit and okx against the replay server reproduces the recorded
ccxt fixtures in the journal; re-running adds nothing; long histories paginate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.domain import MarginMode, Side
from crossmargin.sync.cycle import AccountClient, run_cycle
from tests.sync.conftest import FAST, KEYS, config_for, server_for
from tests.sync.replay_server import generate_history, recorded_data


def _snapshot(journal, label: str) -> dict:
    """Everything a sync writes, in comparable form (no timestamps of the cycle)."""
    fills = journal.fills(account=label, limit=1_000_000).items
    return {
        "fills": sorted((f.symbol, f.trade_id, f.side, f.price, f.amount, f.fee,
                         f.fee_currency, f.time) for f in fills),
        "funding": sorted((g.symbol, g.exchange_id, g.amount, g.currency, g.time)
                          for g in journal.funding_payments(account=label)),
        "positions": sorted((p.symbol, p.side.value, p.contracts, p.entry_price,
                             p.liquidation_price, p.margin_mode.value)
                            for p in journal.exchange_positions(label)),
        "cursors": journal.sync_cursors(label),
        "tiers": journal.tiers(label),
    }


def _sync(exchange, port, srv, **kw):
    cfg = config_for(exchange, srv, **kw)
    client = AccountClient(cfg, KEYS[exchange])
    return cfg, client, run_cycle(client, port, policy=FAST)


def test_binanceusdm_reproduces_recorded(journal, port):
    with server_for("binanceusdm") as srv:
        cfg, _client, rep = _sync("binanceusdm", port, srv)
        bal = journal.latest_balance(cfg.label, "USDT")
        assert bal.wallet_balance == Decimal("31.02261200")
        (pos,) = journal.exchange_positions(cfg.label)
        assert (pos.symbol, pos.side, pos.contracts) == ("BTC/USDT:USDT", Side.LONG,
                                                         Decimal("0.009"))
        assert pos.entry_price == Decimal("67445.9")
        assert pos.liquidation_price == Decimal("64846.98753790")
        assert pos.unrealized_pnl == Decimal("0.51106678")
        assert pos.margin_mode is MarginMode.CROSS
        assert pos.leverage == Decimal(80)  # notional / initial margin (v3 has no leverage)
        (fill,) = journal.fills(account=cfg.label).items
        assert (fill.trade_id, fill.side, fill.price, fill.amount, fill.fee, fill.fee_currency) \
            == ("272536245", "buy", Decimal("36567.10"), Decimal("0.010"),
                Decimal("0.14626840"), "USDT")
        assert fill.time.timestamp() * 1000 == 1699972836419
        (fund,) = journal.funding_payments(account=cfg.label)
        assert (fund.exchange_id, fund.amount, fund.currency) == (
            "8082457372019390060", Decimal("-0.04618913"), "USDT")
        # tiers came from the signed /fapi/v1/leverageBracket
        tiers = journal.tiers(cfg.label)["BTC/USDT:USDT"]
        assert tiers[0].maintenance_margin_rate == Decimal("0.004")
        # the reconciliation compared the exchange's liquidation price with the engine's
        (row,) = rep.reconciliation
        assert row.exchange_liquidation_price == Decimal("64846.98753790")
        assert row.engine_liquidation_price is not None
        # signed requests only, to the real endpoints ccxt uses
        paths = set(srv.paths())
        assert {"/fapi/v3/account", "/fapi/v3/positionRisk", "/fapi/v1/userTrades",
                "/fapi/v1/income", "/fapi/v1/leverageBracket"} <= paths
        assert "/sapi/v1/capital/config/getall" not in paths  # no hidden calls


def test_bybit_reproduces_recorded(journal, port):
    with server_for("bybit") as srv:
        cfg, _client, _rep = _sync("bybit", port, srv)
        bal = {b.currency: b for b in journal.balance_history(cfg.label)}
        assert bal["USDT"].wallet_balance == Decimal("3322.25896609")
        assert bal["USDC"].wallet_balance == Decimal("5848.20013918")
        eq = journal.equity_history(cfg.label)[-1]
        # the margin balance (wallet + uPnL) is kept apart from the wallet
        assert eq.wallet_balance == Decimal("3322.25896609")
        assert eq.equity == Decimal("3322.25896609") + Decimal("-17.9613")
        (pos,) = journal.exchange_positions(cfg.label)
        assert (pos.symbol, pos.side, pos.contracts, pos.entry_price, pos.leverage) == (
            "LTC/USDT:USDT", Side.LONG, Decimal("1.2"), Decimal("64.59947917"), Decimal(6))
        assert pos.liquidation_price is None  # bybit reported "" (no liquidation price)
        fills = journal.fills(account=cfg.label).items
        # only execType=Trade rows are fills; the Funding execution is funding
        assert [f.trade_id for f in fills] == ["751c8dba-bdeb-5d0c-9dd3-dda6bf98cdaf"]
        assert (fills[0].price, fills[0].amount, fills[0].fee) == (
            Decimal("85.11"), Decimal("0.1"), Decimal("0.00468105"))
        funding = {g.exchange_id: g.amount for g in journal.funding_payments(account=cfg.label)}
        assert funding == {
            "89102b18-96c4-42d2-bc26-131699036635": Decimal("0.00708126"),
            "c88057b1-d3b3-4a19-861a-ae79a8762796": Decimal("-0.0007797"),
            "6dff7827-9774-4881-b275-d2b9eec1ce9b": Decimal("-0.00867"),
        }
        # execution windows never exceed the 7 days bybit allows (the server enforces it)
        assert all(s == 200 for _, p, _, s in srv.log if p == "/v5/execution/list")


def test_okx_reproduces_recorded(journal, port):
    data = generate_history(recorded_data("okx"), fills=150, funding=30)
    with server_for("okx", data) as srv:
        cfg, _client, rep = _sync("okx", port, srv)
        bal = {b.currency: b.wallet_balance for b in journal.balance_history(cfg.label)}
        assert bal == {"BTC": Decimal("1.06126645222"), "LTC": Decimal("10.29979"),
                       "USDT": Decimal("0.000258796")}
        # OKX holds cross and isolated on one instrument: the journal stores both
        stored = journal.exchange_positions(cfg.label)
        assert [(p.symbol, p.margin_mode, p.liquidation_price, p.contract_size)
                for p in stored] == [
            ("BTC/USD:BTC", MarginMode.CROSS, Decimal("89.11497615226264"), Decimal(100)),
            ("BTC/USD:BTC", MarginMode.ISOLATED, Decimal("69536.6125000014"), Decimal(100)),
        ]
        assert {(p.symbol, p.side, p.margin_mode) for p in stored} == {
            (p.symbol, p.side, p.margin_mode) for p in rep.batch.positions}
        iso_stored = stored[1]
        assert iso_stored.isolated_margin is not None and iso_stored.isolated_margin > 0
        assert "positions_not_stored" not in rep.inserted
        assert "not stored" not in rep.summary()
        # the what-if built from the synced account holds both, with distinct ids
        state = journal.build_scenario(cfg.label, settle="BTC")
        assert sorted(p.id for p in state.positions if p.symbol == "BTC/USD:BTC") == [
            f"BTC/USD:BTC:{stored[0].side.value}", f"BTC/USD:BTC:{stored[1].side.value}:isolated"]
        assert {r.exchange_liquidation_price for r in rep.reconciliation} == {
            Decimal("89.11497615226264"), Decimal("69536.6125000014")}
        iso = next(r for r in rep.reconciliation if r.engine_liquidation_price
                   and r.exchange_liquidation_price == Decimal("69536.6125000014"))
        assert abs(iso.difference) < Decimal("0.005") and not iso.flagged
        fills = journal.fills(account=cfg.label, limit=1000).items
        assert len(fills) == 150
        want = {r["tradeId"]: r for r in data.fills}
        for f in fills:
            raw = want[f.trade_id]
            assert (f.price, f.amount, f.fee) == (Decimal(raw["fillPx"]), Decimal(raw["fillSz"]),
                                                  -Decimal(raw["fee"]))
        funding = {g.exchange_id: g.amount for g in journal.funding_payments(account=cfg.label)}
        assert funding == {r["billId"]: Decimal(r["balChg"]) for r in data.funding}
        # 7-day windows oldest first (a break part-way keeps the whole windows before it);
        # within a window OKX pages newest first with `after` (see the 2,500-fill test)
        asks = [q for _m, path, q, _s in srv.log if path == "/api/v5/trade/fills-history"]
        starts = [int(q["begin"]) for q in asks]
        assert starts == sorted(starts) and all(
            int(q["end"]) - int(q["begin"]) < 7 * 86_400_000 for q in asks)


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit", "okx"])
def test_rerun_adds_nothing_and_history_paginates(exchange, journal, port):
    data = generate_history(recorded_data(exchange), fills=2500, funding=120, days=20)
    with server_for(exchange, data) as srv:
        cfg, client, first = _sync(exchange, port, srv)
        before = _snapshot(journal, cfg.label)
        n_recorded = len(recorded_data(exchange).fills)
        assert len(before["fills"]) == 2500 + n_recorded
        assert first.inserted["fills"] == 2500 + n_recorded
        want_funding = len([r for r in data.funding if r.get("incomeType", "FUNDING_FEE")
                            == "FUNDING_FEE"])
        assert len(before["funding"]) == want_funding
        # several pages were needed
        page_path = {"binanceusdm": "/fapi/v1/userTrades", "bybit": "/v5/execution/list",
                     "okx": "/api/v5/trade/fills-history"}[exchange]
        assert srv.paths().count(page_path) >= 3
        calls_before = len(srv.log)
        second = run_cycle(client, port, policy=FAST)
        assert second.inserted.get("fills", 0) == 0
        assert second.inserted.get("funding", 0) == 0
        after = _snapshot(journal, cfg.label)
        assert after["fills"] == before["fills"]
        assert after["funding"] == before["funding"]
        assert after["positions"] == before["positions"]
        # the second cycle starts at the cursors: a handful of requests, not the history
        assert len(srv.log) - calls_before < 15
        # new activity is picked up incrementally
        more = generate_history(recorded_data(exchange), fills=5, days=0, seed=99)
        new_rows = more.fills[n_recorded:]
        for i, row in enumerate(new_rows):
            _bump_ids(exchange, row, i)
        srv.data.fills.extend(new_rows)
        if exchange == "binanceusdm":  # every Binance trade also books a COMMISSION income
            srv.data.funding.extend(
                {"symbol": r["symbol"], "incomeType": "COMMISSION", "income": "-0.01",
                 "asset": "USDT", "time": r["time"], "info": "", "tranId": r["id"] + 7,
                 "tradeId": str(r["id"])}
                for r in new_rows
            )
        srv._index_data()
        third = run_cycle(client, port, policy=FAST)
        assert third.inserted["fills"] == 5


def _bump_ids(exchange: str, row: dict, i: int) -> None:
    import time

    now = int(time.time() * 1000) - 1000
    if exchange == "binanceusdm":
        row["id"] = 900_000_000 + i
        row["time"] = now
    elif exchange == "bybit":
        row["execId"] = f"late-{i}"
        row["execTime"] = str(now)
    else:
        row["tradeId"] = str(990_000_000 + i)
        row["billId"] = str(990_000_000_000 + i)
        row["ts"] = row["fillTime"] = str(now)


def test_hedge_mode_legs_switch_the_account_to_hedge(journal, port):
    from crossmargin.storage.records import PositionMode

    data = generate_history(recorded_data("binanceusdm"), fills=40, days=2)
    for i, row in enumerate(data.fills):
        row["positionSide"] = "LONG" if i % 2 else "SHORT"
    with server_for("binanceusdm", data) as srv:
        cfg, _client, rep = _sync("binanceusdm", port, srv)
        assert journal.account(cfg.label).position_mode is PositionMode.HEDGE
        legs = {f.leg for f in journal.fills(account=cfg.label).items}
        assert legs == {"long", "short"}
        assert rep.inserted["fills"] == 41


def test_importing_sync_does_not_import_ccxt():
    import subprocess
    import sys

    code = ("import sys, crossmargin.sync.service, crossmargin.sync.secrets, "
            "crossmargin.sync.journal_port, crossmargin.cli.sync, crossmargin.cli.accounts; "
            "print('ccxt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_binancecoinm_inverse_account(journal, port):
    """COIN-M: the recorded short BTCUSD_PERP (100 USD contracts), fills and funding in BTC."""
    data = generate_history(recorded_data("binancecoinm"), fills=1200, funding=40, days=10)
    with server_for("binancecoinm", data) as srv:
        cfg, _client, rep = _sync("binancecoinm", port, srv, settle="BTC")
        (pos,) = journal.exchange_positions(cfg.label)
        assert (pos.symbol, pos.side, pos.contracts, pos.contract_size, pos.inverse) == (
            "BTC/USD:BTC", Side.SHORT, Decimal(3), Decimal(100), True)
        assert (pos.entry_price, pos.leverage, pos.liquidation_price) == (
            Decimal("68911.00000037"), Decimal(20), Decimal("72491.16879818"))
        assert journal.latest_balance(cfg.label, "BTC").wallet_balance == Decimal("0.00023156")
        fills = journal.fills(account=cfg.label, limit=5000).items
        assert len(fills) == 1200 and {f.fee_currency for f in fills} == {"BTC"}
        assert srv.paths().count("/dapi/v1/userTrades") == 2  # 1000 per page
        funding = journal.funding_payments(account=cfg.label)
        assert len(funding) == 40 and {g.currency for g in funding} == {"BTC"}
        tiers = journal.tiers(cfg.label)["BTC/USD:BTC"]
        assert [t.maintenance_margin_rate for t in tiers] == [
            Decimal("0.004"), Decimal("0.005"), Decimal("0.01")]
        (row,) = rep.reconciliation
        # with the recorded collateral as wallet, the engine lands on Binance's own price
        assert abs(row.difference) < Decimal("0.000001") and not row.flagged
        again = run_cycle(_client, port, policy=FAST)
        assert again.inserted.get("fills", 0) == 0 and again.inserted.get("funding", 0) == 0


def test_generic_fetcher_syncs_what_ccxt_supports(journal, port, monkeypatch):
    """Exchanges without a dedicated fetcher go through ccxt's unified methods only."""
    import time

    from crossmargin.sync import cycle
    from crossmargin.sync.exchanges import Fetcher

    monkeypatch.setattr(cycle, "fetcher_for", lambda _id: Fetcher)
    data = generate_history(recorded_data("bybit"), fills=30, funding=5, days=3)
    with server_for("bybit", data) as srv:
        start = int(time.time() * 1000) - 5 * 86_400_000
        cfg, client, rep = _sync("bybit", port, srv, history_start=start)
        bal = {b.currency: b.wallet_balance for b in journal.balance_history(cfg.label)}
        assert bal["USDT"] == Decimal("3322.25896609")
        (pos,) = journal.exchange_positions(cfg.label)
        assert (pos.symbol, pos.contracts) == ("LTC/USDT:USDT", Decimal("1.2"))
        assert rep.inserted["fills"] > 0 and rep.inserted["funding"] > 0
        # the second cycle starts at the stored time cursors
        assert int(journal.sync_cursors(cfg.label)["fills"]) > start
        again = run_cycle(client, port, policy=FAST)
        assert again.inserted.get("fills", 0) == 0


def test_tiers_refresh_daily_or_for_new_symbols(journal, port):
    import time

    with server_for("bybit") as srv:
        cfg = config_for("bybit", srv)
        client = AccountClient(cfg, KEYS["bybit"])
        now = int(time.time() * 1000)
        run_cycle(client, port, policy=FAST, now_ms=lambda: now)
        assert srv.paths().count("/v5/market/risk-limit") == 1
        run_cycle(client, port, policy=FAST, now_ms=lambda: now + 3_600_000)
        assert srv.paths().count("/v5/market/risk-limit") == 1  # fresh enough
        run_cycle(client, port, policy=FAST, now_ms=lambda: now + 86_400_000 + 1)
        assert srv.paths().count("/v5/market/risk-limit") == 2  # a day old: refreshed
        # a position in a symbol without stored tiers triggers a refresh at once
        btc = dict(srv.data.positions[0], symbol="BTCUSDT", avgPrice="60000", size="0.01",
                   markPrice="61000", positionValue="600")
        srv.data.positions.append(btc)
        run_cycle(client, port, policy=FAST, now_ms=lambda: now + 86_400_000 + 2)
        assert srv.paths().count("/v5/market/risk-limit") == 4  # one call per symbol
        assert set(journal.tiers(cfg.label)) == {"LTC/USDT:USDT", "BTC/USDT:USDT"}


def test_reconciliation_flags_differences_over_half_a_percent():
    from dataclasses import replace

    from crossmargin.domain import RuleSet, Tier
    from crossmargin.sync.model import BalanceRecord, FetchedCycle, PositionRecord
    from crossmargin.sync.reconcile import reconcile

    pos = PositionRecord(
        key="k", symbol="BTC/USDT:USDT", side=Side.LONG, margin_mode=MarginMode.ISOLATED,
        contracts=Decimal("0.5"), contract_size=Decimal(1), entry_price=Decimal(60000),
        mark_price=Decimal(61000), leverage=Decimal(10), liquidation_price=None,
        unrealized_pnl=None, settle="USDT", isolated_margin=Decimal(3000),
    )
    tiers = {"BTC/USDT:USDT": (Tier(Decimal(0), None, Decimal("0.004"), Decimal(0)),)}
    batch = FetchedCycle(account="a", exchange="binanceusdm", fetched_at=0, settle="USDT",
                      balances=(BalanceRecord("USDT", Decimal(10000)),), positions=(pos,))
    (row,) = reconcile(batch, RuleSet.BINANCE, tiers)
    engine = row.engine_liquidation_price
    assert engine is not None and row.flagged  # the exchange reported none
    for factor, flagged in (("1.004", False), ("0.996", False), ("1.006", True),
                            ("0.994", True)):
        p2 = replace(pos, liquidation_price=engine * Decimal(factor))
        (r,) = reconcile(replace(batch, positions=(p2,)), RuleSet.BINANCE, tiers)
        assert r.flagged is flagged, (factor, r.describe())
        assert "FLAG" in r.describe() if flagged else "FLAG" not in r.describe()
