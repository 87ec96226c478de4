"""The Journal facade: positions by hand, edits, queries, statistics, sync, what-if, safety."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from crossmargin.domain import MarginMode, RuleSet, Side, Tier
from crossmargin.errors import InputError
from crossmargin.storage import (
    BalanceIn,
    EquityIn,
    ExchangePosition,
    Instrument,
    Journal,
    JournalLockedError,
    NewFunding,
    NewTransfer,
    PositionFilter,
    PositionStatus,
    SyncBatch,
)

from .helpers import at, fill


def test_hand_logged_position_lifecycle(journal: Journal, acct: int) -> None:
    ch = journal.add_position(
        acct, "BTCUSDT", "long", D("0.5"), D("40000"), time=at(0), fee=D("8"),
        fee_currency="USDT", leverage=D(10), stop_price=D("38000"), target_price=D("45000"),
        tags=["Breakout", "btc"], setup="range break", notes="first", rating=4,
    )
    pid = ch.id
    assert ch.positions and ch.fills and pid in ch.position_ids
    p = journal.position(pid)
    assert (p.side, p.contracts, p.entry_price, p.leverage) == (Side.LONG, D("0.5"), D(40000), 10)
    assert p.tags == ("breakout", "btc") and p.rating == 4 and p.setup == "range break"
    with pytest.raises(InputError, match="already has an open BTC/USDT:USDT long"):
        journal.add_position(acct, "BTCUSDT", "short", D(1), D(1), time=at(1))
    journal.close_position(pid, D("41000"), contracts=D("0.2"), time=at(1))
    assert journal.position(pid).contracts == D("0.3")
    with pytest.raises(InputError, match=r"more than the 0\.3 still open"):
        journal.close_position(pid, D("41000"), contracts=D("1"), time=at(2))
    journal.close_position(pid, D("42000"), time=at(2), fee=D("4"), fee_currency="USDT")
    p = journal.position(pid)
    assert p.status is PositionStatus.CLOSED and p.closed_at == at(2)
    assert p.realized_pnl == D("200") + D("600")
    assert p.net_pnl == D(788)
    assert p.initial_risk == D(1000)
    assert p.r_multiple == D("0.788")
    # notes survive edits of fills
    f_open = journal.fills(position_id=pid).items[-1]
    journal.edit_fill(f_open.id, price=D("39000"))
    p = journal.position(pid)
    assert p.notes == "first" and p.realized_pnl == D(1300) and p.tags == ("breakout", "btc")
    with pytest.raises(InputError, match="already closed"):
        journal.close_position(pid, D(1))


def test_edit_position_validates_and_tags(journal: Journal, acct: int) -> None:
    pid = journal.add_position(acct, "ETHUSDT", Side.SHORT, D(2), D(3000), time=at(0)).id
    with pytest.raises(InputError) as e:
        journal.edit_position(pid, leverage=D(-1), rating=9, size=D(3))
    assert len(e.value.problems) == 3
    journal.edit_position(pid, margin_mode="isolated", isolated_margin=D(600), leverage=D(10))
    journal.add_tags(pid, ["Scalp", "scalp", "news"])
    journal.remove_tags(pid, ["NEWS"])
    p = journal.position(pid)
    assert p.margin_mode is MarginMode.ISOLATED and p.isolated_margin == 600
    assert p.tags == ("scalp",)
    assert journal.tags() == ["scalp"]


def test_size_entry_and_open_time_edit_the_opening_fill(journal: Journal, acct: int) -> None:
    """Editing a position's size, entry or open time writes its one opening fill and
    rebuilds the position (same id, same notes); the closing fills stay as they were."""
    pid = journal.add_position(acct, "ETHUSDT", Side.LONG, D(2), D(3000), time=at(1)).id
    journal.close_position(pid, D(3100), contracts=D(1), time=at(2))
    journal.edit_position(pid, notes="kept")
    ch = journal.edit_position(pid, opening_size=D(3), entry_price=D(2950), opened_at=at(0))
    assert ch.fills and pid in ch.position_ids
    p = journal.position(pid)
    assert (p.max_contracts, p.contracts, p.entry_price, p.opened_at) == (D(3), D(2), D(2950),
                                                                          at(0))
    assert p.realized_pnl == D(150) and p.notes == "kept"  # (3100 − 2950) × 1
    assert journal.opening_fill(pid).amount == D(3)
    # a bad value names the position's field and writes nothing
    with pytest.raises(InputError, match=r"^opening_size: ") as e:
        journal.edit_position(pid, opening_size=D(-1), notes="lost")
    assert journal.position(pid).notes == "kept" and len(e.value.problems) == 1
    # scaled in: the fills are named, nothing is changed
    journal.add_fill(acct, fill(3, "buy", "3050", "1", symbol="ETHUSDT"))
    with pytest.raises(InputError, match=r"2 opening fills \(#\d+, #\d+\)"):
        journal.edit_position(pid, entry_price=D(1))
    assert journal.position(pid).max_contracts == D(3)


def test_a_flipped_in_position_sends_size_edits_to_its_fill(journal: Journal, acct: int) -> None:
    journal.add_fills(acct, [fill(0, "buy", "100", "1"), fill(1, "sell", "110", "3")])
    short = journal.positions().items[0]
    with pytest.raises(InputError, match="also closed the position before it"):
        journal.edit_position(short.id, opening_size=D(5))
    with pytest.raises(InputError, match="also closed"):
        journal.opening_fill(short.id)


def test_delete_position_opened_by_a_flip_keeps_the_previous_one(
    journal: Journal, acct: int
) -> None:
    journal.add_fills(acct, [fill(0, "buy", "100", "1", fee="0.3", fee_currency="USDT"),
                             fill(1, "sell", "110", "3", fee="0.3", fee_currency="USDT")])
    short, long_ = journal.positions().items
    before = journal.position(long_.id)
    journal.edit_position(long_.id, notes="keep me")
    ch = journal.delete_position(short.id)
    assert short.id in ch.position_ids
    assert [p.id for p in journal.positions().items] == [long_.id]
    after = journal.position(long_.id)
    assert after.realized_pnl == before.realized_pnl and after.fees == before.fees
    assert after.status is PositionStatus.CLOSED and after.notes == "keep me"
    assert journal.fills().items[0].amount == 1


def test_delete_fill_and_paging_filters(journal: Journal, acct: int) -> None:
    other = journal.create_account("Second", settle="USDT").id
    for i in range(30):
        journal.add_fills(acct if i % 2 else other, [
            fill(i * 10, "buy", "100", "1", symbol="BTCUSDT" if i % 3 else "ETHUSDT"),
            fill(i * 10 + 1, "sell", str(100 + (i % 5) - 2), "1",
                 symbol="BTCUSDT" if i % 3 else "ETHUSDT"),
        ])
    page = journal.positions(PositionFilter(account="main"), limit=4)
    assert page.total == 15 and len(page.items) == 4 and page.has_more
    assert page.items[0].opened_at > page.items[-1].opened_at
    rest = journal.positions(PositionFilter(account=acct), offset=12, limit=4)
    assert len(rest.items) == 3 and not rest.has_more
    eth = journal.positions(PositionFilter(symbol="ETHUSDT"), limit=100)
    assert eth.total == 10
    window = journal.positions(PositionFilter(since=at(100), until=at(200)), limit=100)
    assert all(at(100) <= p.closed_at < at(200) for p in window.items) and window.total == 10
    pid = page.items[0].id
    journal.edit_position(pid, tags=["x"])
    assert journal.positions(PositionFilter(tag="X")).total == 1
    f = journal.fills(position_id=pid).items[0]
    journal.delete_fill(f.id)
    assert journal.position(pid).fill_count == 1
    with pytest.raises(InputError, match=r"naive|aware"):
        journal.positions(PositionFilter(since=datetime(2024, 1, 1)))
    with pytest.raises(InputError, match="not found"):
        journal.position(99999)
    with pytest.raises(InputError, match="accounts: Main, Second"):
        journal.positions(PositionFilter(account="nope"))


def test_statistics(journal: Journal, acct: int) -> None:
    # nets: +10, -5, +20, -15, -5, +5  (fees 0)
    prices = [("100", "110"), ("100", "95"), ("100", "120"), ("100", "85"), ("100", "95"),
              ("100", "105")]
    for i, (o, c) in enumerate(prices):
        journal.add_fills(acct, [fill(i * 10, "buy", o, "1"), fill(i * 10 + 1, "sell", c, "1")])
    journal.edit_position(journal.positions().items[-1].id, stop_price=D(90))  # first trade
    journal.add_position(acct, "ETHUSDT", "long", D(1), D(10), time=at(100))
    (s,) = journal.statistics()
    assert (s.trades, s.wins, s.losses, s.breakeven) == (6, 3, 3, 0)
    assert s.win_rate == D("0.5")
    assert s.gross_profit == 35 and s.gross_loss == -25
    assert s.profit_factor == D("1.4")
    assert s.net_pnl == 10 and s.expectancy == D(10) / 6
    assert s.max_drawdown == 20  # peak 25 after trade 3, trough 5 after trade 5
    assert (s.longest_win_streak, s.longest_loss_streak) == (1, 2)
    assert s.average_r == D(1) and s.r_trades == 1  # +10 on a 10 risk
    assert s.open_positions == 1
    assert journal.statistics(PositionFilter(symbol="XRPUSDT")) == []


def test_transfers_balances_equity(journal: Journal, acct: int) -> None:
    ch = journal.add_transfers(acct, [NewTransfer(at(0), "usdt", D("1000"), "deposit", "d1"),
                                      NewTransfer(at(5), "USDT", D("-50"), "withdrawal", "w1")])
    assert ch.inserted["transfers"] == 2
    assert journal.add_transfers(acct, [NewTransfer(at(0), "USDT", D(1000), "deposit", "d1")]
                                 ).duplicates == 1
    journal.record_balance(acct, D("950.12345678"), time=at(6))
    journal.record_balance(acct, D("960"), time=at(7), available=D("900"))
    journal.record_equity(acct, D("970.5"), time=at(7), margin_ratio=D("0.01"))
    assert journal.latest_balance(acct).wallet_balance == 960
    assert [b.wallet_balance for b in journal.balance_history(acct)] == [D("950.12345678"), 960]
    assert journal.equity_history(acct)[0].equity == D("970.5")
    assert [t.amount for t in journal.transfers(acct)] == [1000, -50]


def test_build_scenario_from_journal(journal: Journal, acct: int) -> None:
    tiers = (Tier(D(0), D(50000), D("0.004"), D(0), D(125)),
             Tier(D(50000), None, D("0.005"), D(50), D(100)))
    journal.set_tiers(acct, "BTCUSDT", tiers)
    journal.set_instrument(acct, Instrument("BTCUSDT", "BTC", "USDT", "USDT", beta=D(1)))
    a = journal.add_position(acct, "BTCUSDT", "long", D("0.1"), D(40000), time=at(0),
                             leverage=D(20)).id
    journal.add_position(acct, "ETHUSDT", "short", D(1), D(2000), time=at(1), leverage=D(5),
                         margin_mode="isolated", isolated_margin=D(400))
    with pytest.raises(InputError, match="no wallet balance"):
        journal.build_scenario(acct)
    journal.record_balance(acct, D(5000), time=at(2))
    journal.edit_position(a, mark_price=D(41000))
    # ETH has no stored tiers and the account names no exchange: refused, never made up
    with pytest.raises(InputError, match=r"ETH/USDT:USDT: no maintenance-margin tiers.*"
                                         r"--exchange binanceusdm"):
        journal.build_scenario(acct)
    journal.update_account(acct, exchange_id="binanceusdm")
    inputs = journal.account_inputs("Main", marks={"ETHUSDT": D(2100)})
    state = inputs.state
    # the recorded balance is the whole USDT wallet; ETH's isolated 400 are not cross
    assert state.rules is RuleSet.BINANCE and state.wallet_balance == 5000 - 400
    assert [p.symbol for p in state.positions] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    btc, eth = state.positions
    assert btc.mark_price == 41000 and btc.leverage == 20 and btc.id == str(a)
    assert eth.mark_price == 2100 and eth.margin_mode is MarginMode.ISOLATED
    assert eth.isolated_margin == 400
    assert state.tiers["BTC/USDT:USDT"] == tiers and state.betas == {"BTC/USDT:USDT": 1}
    # ETH's tiers are the bundled Binance snapshot's, and the sources say so with its date
    assert state.tiers["ETH/USDT:USDT"][0].maintenance_margin_rate == D("0.004")
    assert any("ETH/USDT:USDT from the Binance USDS-M tiers bundled with CrossMargin "
               "(as of 2026-09)" in line for line in inputs.sources), inputs.sources
    assert any(line.startswith("tiers: BTC/USDT:USDT from the journal")
               for line in inputs.sources)
    journal.edit_position(a, leverage=None)
    with pytest.raises(InputError, match=f"position #{a} .*leverage unknown"):
        journal.build_scenario(acct)


def _batch(**kw) -> SyncBatch:
    base = dict(fetched_at=at(10))
    base.update(kw)
    return SyncBatch(**base)


def test_apply_sync_batch_is_atomic_and_idempotent(journal: Journal) -> None:
    acct = journal.create_account("Bin", kind="exchange", exchange_id="binanceusdm",
                                  rules="binance").id
    tiers = {"BTC/USDT:USDT": (Tier(D(0), None, D("0.004"), D(0)),)}
    batch = _batch(
        balances=[BalanceIn("USDT", D("1000.5"), available=D(900))],
        positions=[ExchangePosition("BTC/USDT:USDT", Side.LONG, D("0.2"), D(40000), D(41000),
                                    D(10), liquidation_price=D(30000))],
        fills=[fill(1, "buy", "40000", "0.2", symbol="BTC/USDT:USDT", trade_id="t1",
                    fee="0.0001", fee_currency="BTC")],
        funding=[NewFunding("BTC/USDT:USDT", at(2), D("-0.3"), "USDT", exchange_id="fu1")],
        instruments=[Instrument("BTC/USDT:USDT", "BTC", "USDT", "USDT")],
        tiers=tiers, equity=EquityIn("USDT", D("1200.5")),
        cursors={"fills": "1700000000000", "funding": "abc"},
    )
    ch = journal.apply_sync_batch(acct, batch)
    assert ch.fills and ch.positions and ch.exchange_positions and ch.cursors and ch.tiers
    assert ch.inserted == {"fills": 1, "funding": 1, "transfers": 0}
    (pos,) = journal.open_positions(acct)
    assert pos.mark_price == 41000 and pos.leverage == 10
    assert pos.exchange_liquidation_price == 30000
    assert pos.fees == D("4.0000") and pos.funding == D("-0.3")
    assert journal.sync_cursor(acct, "fills") == "1700000000000"
    assert journal.tiers(acct) == tiers
    # same batch again: nothing new
    again = journal.apply_sync_batch(acct, batch)
    assert again.inserted["fills"] == 0 and again.duplicates == 2
    assert journal.fills(account=acct).total == 1
    # a bad record anywhere → nothing written at all
    bad = _batch(
        fills=[fill(3, "sell", "41000", "0.1", symbol="BTC/USDT:USDT", trade_id="t2"),
               fill(4, "sell", "-1", "0.1", symbol="BTC/USDT:USDT", trade_id="t3")],
        cursors={"fills": "NEW"},
    )
    with pytest.raises(InputError, match=r"batch.fills\[1\].price: must be > 0"):
        journal.apply_sync_batch(acct, bad)
    assert journal.fills(account=acct).total == 1
    assert journal.sync_cursor(acct, "fills") == "1700000000000"
    # a failure inside the transaction (unknown account id is checked inside) rolls back too
    with pytest.raises(InputError, match="not found"):
        journal.apply_sync_batch(999, _batch(cursors={"x": "1"}))
    # exchange positions feed the scenario for a synced exchange account
    state = journal.build_scenario(acct)
    assert state.wallet_balance == D("1000.5")
    (p,) = state.positions
    assert p.id == "BTC/USDT:USDT:long" and p.exchange_liquidation_price == 30000
    # a user-set beta survives a sync that sends the instrument without one
    journal.set_instrument(acct, Instrument("BTC/USDT:USDT", "BTC", "USDT", "USDT", beta=D(2)))
    journal.apply_sync_batch(acct, _batch(instruments=[Instrument("BTC/USDT:USDT", "BTC", "USDT",
                                                                  "USDT")]))
    assert journal.instruments(acct)[0].beta == 2
    # positions=() replaces the set; None keeps it
    journal.apply_sync_batch(acct, _batch(positions=None))
    assert len(journal.exchange_positions(acct)) == 1
    journal.apply_sync_batch(acct, _batch(positions=()))
    assert journal.exchange_positions(acct) == []


def test_a_second_window_is_refused_but_not_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    window = Journal.open(path, exclusive=True)
    try:
        with pytest.raises(JournalLockedError, match="already open in another CrossMargin"):
            Journal.open(path, exclusive=True)  # same process, second window: refused
        with Journal.open(path) as cli:  # the CLI beside the window: shares the file
            cli.create_account("From the CLI")
        assert [a.label for a in window.accounts()] == ["From the CLI"]
        assert window.outside_change() and not window.outside_change()
        window.create_account("From the window")
        assert not window.outside_change()  # its own writes are not "outside"
    finally:
        window.close()
    window = Journal.open(path, exclusive=True)
    journal = window
    code = (
        "import sys\n"
        "from crossmargin.storage import Journal\n"
        "from crossmargin.errors import CrossMarginError\n"
        "try:\n"
        f"    Journal.open({str(journal.path)!r}, exclusive=True)\n"
        "except CrossMarginError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 3, r.stderr
    assert "already open in another CrossMargin window" in r.stdout and "process" in r.stdout
    window.close()


def test_unclean_shutdown_runs_integrity_check(tmp_path: Path) -> None:
    """A window (the exclusive opener) that crashed: the next window runs the full check."""
    path = tmp_path / "j.sqlite3"
    code = (
        "import os\n"
        "from decimal import Decimal\n"
        "from crossmargin.storage import Journal\n"
        f"j = Journal.open({str(path)!r}, exclusive=True)\n"
        "j.create_account('A')\n"
        "os._exit(0)\n"  # no close(): like a crash
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in tmp_path.glob("j.sqlite3*"):
        if not f.name.endswith(".lock"):  # a copy without its lock file: the WAL tells
            (copy / f.name).write_bytes(f.read_bytes())
    with Journal.open(copy / "j.sqlite3", exclusive=True) as c:
        assert c.info.unclean_shutdown and c.info.integrity_checked
        assert [a.label for a in c.accounts()] == ["A"]
    j = Journal.open(path, exclusive=True)
    try:
        assert j.info.unclean_shutdown and j.info.integrity_checked
        assert [a.label for a in j.accounts()] == ["A"]
    finally:
        j.close()
    j = Journal.open(path, exclusive=True)
    assert not j.info.unclean_shutdown and not j.info.integrity_checked
    j.close()


def test_naive_times_and_non_finite_values_are_refused(journal: Journal, acct: int) -> None:
    from crossmargin.storage import NewFill

    bad = [
        NewFill("BTCUSDT", "buy", D(1), D(1), datetime(2024, 1, 1)),
        NewFill("BTCUSDT", "hold", D("NaN"), D(0), datetime(2024, 1, 1, tzinfo=UTC)),
    ]
    with pytest.raises(InputError) as e:
        journal.add_fills(acct, bad)
    text = "\n".join(e.value.problems)
    assert "fills[0].time" in text and "fills[1].side" in text and "fills[1].price" in text
    assert "fills[1].amount" in text
    assert journal.fills().total == 0


def test_accounts_crud(journal: Journal) -> None:
    a = journal.create_account(
        "Alpha", rules="bybit", settle="usdc", margin_mode_default="isolated"
    )
    with pytest.raises(InputError, match="already exists"):
        journal.create_account("alpha ".upper().strip().title())
    with pytest.raises(InputError, match=r"account\.rules"):
        journal.create_account("Beta", rules="ftx")
    acc = journal.account("ALPHA")
    assert acc.settle == "USDC" and acc.margin_mode_default is MarginMode.ISOLATED
    pid = journal.add_position(a.id, "BTCUSDC", "long", D(1), D(10), time=at(0)).id
    assert journal.position(pid).margin_mode is MarginMode.ISOLATED
    journal.update_account(a.id, label="Gamma", notes="n")
    assert journal.account(a.id).label == "Gamma"
    ch = journal.delete_account("Gamma")
    assert pid in ch.position_ids
    assert journal.accounts() == [] and journal.fills().total == 0


def test_pooled_equity_carries_each_account_forward(journal: Journal, acct: int) -> None:
    other = journal.create_account("Other").id
    journal.record_equity(acct, D(100), time=at(0))
    journal.record_equity(other, D(50), time=at(1))
    journal.record_equity(acct, D(120), time=at(2))
    journal.record_equity(other, D(40), time=at(2))
    journal.record_equity(other, D(7), time=at(3), currency="BTC")
    assert journal.pooled_equity() == [(at(0), D(100)), (at(1), D(150)), (at(2), D(160))]
    assert journal.pooled_equity(since=at(1), until=at(2)) == [(at(1), D(150))]
    assert journal.pooled_equity(accounts=["Other"]) == [(at(1), D(50)), (at(2), D(40))]
    assert journal.pooled_equity("btc") == [(at(3), D(7))]


def test_statistics_by_group(journal: Journal, acct: int) -> None:
    a = journal.add_position(acct, "BTCUSDT", "long", D(1), D(100), time=at(0), setup="break",
                             tags=["x", "y"]).id
    journal.close_position(a, D(110), time=at(1))
    b = journal.add_position(acct, "ETHUSDT", "short", D(1), D(100), time=at(2),
                             setup="fade").id
    journal.close_position(b, D(104), time=at(24 * 40))  # closes in April
    journal.add_position(acct, "ETHUSDT", "long", D(1), D(100), time=at(24 * 41),
                         setup="fade", tags=["y"])
    by_setup = journal.statistics_by("setup")
    assert [k for k in by_setup] == ["break", "fade"]
    assert by_setup["break"][0].net_pnl == 10 and by_setup["fade"][0].net_pnl == -4
    assert by_setup["fade"][0].open_positions == 1
    by_tag = journal.statistics_by("tag")
    assert set(by_tag) == {"", "x", "y"} and by_tag["y"][0].trades == 1
    assert by_tag["y"][0].open_positions == 1 and by_tag[""][0].net_pnl == -4
    by_month = journal.statistics_by("month")
    assert set(by_month) == {"2024-03", "2024-04", "open"}
    assert journal.statistics_by("account")["Main"][0].trades == 2
    assert journal.statistics_by("symbol", PositionFilter(side=Side.SHORT)).keys() == {
        "ETH/USDT:USDT"}
    with pytest.raises(InputError, match="choose one of"):
        journal.statistics_by("moon phase")


def test_delete_middle_position_between_two_flips(journal: Journal, acct: int) -> None:
    journal.add_fills(acct, [
        fill(0, "buy", "100", "1", fee="1", fee_currency="USDT"),
        fill(1, "sell", "110", "3", fee="3", fee_currency="USDT"),  # closes 1, opens 2 short
        fill(2, "buy", "90", "5", fee="5", fee_currency="USDT"),  # closes 2, opens 3 long
        fill(3, "sell", "95", "1"),
    ])
    last, middle, first = journal.positions().items
    before_first, before_last = journal.position(first.id), journal.position(last.id)
    journal.edit_position(last.id, notes="keep")
    journal.delete_position(middle.id)
    ids = [p.id for p in journal.positions().items]
    assert ids == [last.id, first.id]
    a, b = journal.position(first.id), journal.position(last.id)
    for x, y in ((a, before_first), (b, before_last)):
        assert (x.side, x.contracts, x.entry_price, x.realized_pnl, x.fees, x.status) == (
            y.side, y.contracts, y.entry_price, y.realized_pnl, y.fees, y.status)
    assert b.notes == "keep" and b.fill_count == 2
    assert sorted(f.amount for f in journal.fills().items) == [1, 1, 1, 3]


def test_op_changes_merge() -> None:
    from crossmargin.storage import OpChanges

    a = OpChanges(fills=True, position_ids=frozenset({1}), inserted={"fills": 2}, duplicates=1)
    b = OpChanges(funding=True, position_ids=frozenset({2}), id=7, inserted={"fills": 1})
    m = a.merge(b)
    assert m.fills and m.funding and not m.accounts and m.any
    assert m.position_ids == {1, 2} and m.id == 7 and m.inserted == {"fills": 3}
    assert m.duplicates == 1 and not OpChanges().any
