"""Bad input to any journal write is refused by name, before anything is written; an SQL
error the checks did not foresee still reaches the caller as a JournalError, never raw."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc

from crossmargin.domain import MarginMode, Side, Tier
from crossmargin.errors import CrossMarginError, InputError
from crossmargin.storage import (
    BalanceIn,
    EquityIn,
    ExchangePosition,
    Instrument,
    Journal,
    JournalError,
    NewFill,
    NewFunding,
    NewTransfer,
    PositionFilter,
    StorageError,
    SyncBatch,
)
from crossmargin.storage import db as dbmod

from .helpers import at, fill

NAIVE = datetime(2024, 3, 1)


def fingerprint(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read beside the open journal (WAL readers see commits)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY rowid').fetchall() for n in names}
    finally:
        conn.close()


def _ep(symbol: str = "BTC/USDT:USDT", side: Any = Side.LONG, mode: Any = MarginMode.CROSS,
        contracts: Any = D(1)) -> ExchangePosition:
    return ExchangePosition(symbol, side, contracts, D(100), D(101), D(10), mode)


def _batch(**kw: Any) -> SyncBatch:
    return SyncBatch(fetched_at=kw.pop("fetched_at", at(10)), **kw)


@pytest.fixture
def seeded(journal: Journal, acct: int) -> tuple[Journal, int, int, int]:
    """A journal with one position (and its fill), a synced exchange position and cursor,
    and a second account."""
    journal.create_account("Other")
    pid = journal.add_position(acct, "BTCUSDT", "long", D(1), D(100), time=at(0)).id
    fid = journal.fills(account=acct).items[0].id
    journal.apply_sync_batch(acct, _batch(positions=[_ep()], cursors={"fills": "A"},
                                          balances=[BalanceIn("USDT", D(1000))]))
    return journal, acct, pid, fid


# (what, call(journal, account, position id, fill id), expected problem text)
CASES: list[tuple[str, Callable[[Journal, int, int, int], object], str]] = [
    # -- sync batches: one record per key, required values, types
    ("duplicate position", lambda j, a, p, f: j.apply_sync_batch(a, _batch(positions=[
        _ep(), _ep(mode=MarginMode.ISOLATED), _ep(contracts=D(2))])),
     "batch.positions[2]: a second BTC/USDT:USDT long cross position (the first is "
     "batch.positions[0])"),
    ("position side", lambda j, a, p, f: j.apply_sync_batch(a, _batch(positions=[
        _ep(side="up")])), "batch.positions[0].side: must be 'long' or 'short', got 'up'"),
    ("position mode", lambda j, a, p, f: j.apply_sync_batch(a, _batch(positions=[
        _ep(mode="portfolio")])), "batch.positions[0].margin_mode: must be 'cross' or"),
    ("position contracts", lambda j, a, p, f: j.apply_sync_batch(a, _batch(positions=[
        _ep(contracts=None)])), "batch.positions[0].contracts: required, got None"),
    ("duplicate instrument", lambda j, a, p, f: j.apply_sync_batch(a, _batch(instruments=[
        Instrument("X/USDT:USDT", "X", "USDT", "USDT"),
        Instrument("X/USDT:USDT", "X", "USDT", "USDT", D(10))])),
     "batch.instruments[1]: X/USDT:USDT is listed twice (first at batch.instruments[0])"),
    ("duplicate balance", lambda j, a, p, f: j.apply_sync_batch(a, _batch(balances=[
        BalanceIn("USDT", D(1)), BalanceIn("usdt", D(2))])),
     "batch.balances[1]: a second USDT balance (first at batch.balances[0])"),
    ("balance currency", lambda j, a, p, f: j.apply_sync_batch(a, _batch(balances=[
        BalanceIn(None, D(1))])), "batch.balances[0].currency: must be a currency code"),
    ("balance amount", lambda j, a, p, f: j.apply_sync_batch(a, _batch(balances=[
        BalanceIn("USDT", None)])), "batch.balances[0].wallet_balance: required, got None"),
    ("no fetch time", lambda j, a, p, f: j.apply_sync_batch(a, _batch(fetched_at=None, balances=[
        BalanceIn("USDT", D(1))])), "batch.fetched_at: must be a datetime, got None"),
    ("equity amount", lambda j, a, p, f: j.apply_sync_batch(a, _batch(
        equity=EquityIn("USDT", None))), "batch.equity.equity: required, got None"),
    ("equity float", lambda j, a, p, f: j.apply_sync_batch(a, _batch(
        equity=EquityIn("USDT", D(1), wallet_balance=1.5))),
     "batch.equity.wallet_balance: must be a finite Decimal, got 1.5"),
    ("tier rate", lambda j, a, p, f: j.apply_sync_batch(a, _batch(
        tiers={"X": [Tier(D(0), None, None)]})),
     "batch.tiers[X/USDT:USDT][0].maintenance_margin_rate: required, got None"),
    ("cursor endpoint", lambda j, a, p, f: j.apply_sync_batch(a, _batch(cursors={5: "x"})),
     "batch.cursors[5]: endpoint and text value required"),
    ("transfer kind", lambda j, a, p, f: j.apply_sync_batch(a, _batch(
        transfers=[NewTransfer(at(1), "USDT", D(1), kind=None)])),
     "batch.transfers[0].kind: must be deposit, withdrawal or transfer"),
    # -- the other write paths
    ("account label case", lambda j, a, p, f: j.create_account("MAIN"),
     "account 'Main' already exists (labels ignore case)"),
    ("account label type", lambda j, a, p, f: j.create_account(None),
     "account.label: must be text, got None"),
    ("rename onto another", lambda j, a, p, f: j.update_account("Other", label="main"),
     "account 'Main' already exists (labels ignore case)"),
    ("instrument size", lambda j, a, p, f: j.set_instrument(a, Instrument(
        "X", "X", "USDT", "USDT", None)), "instruments[0].contract_size: required, got None"),
    ("instrument base", lambda j, a, p, f: j.set_instrument(a, Instrument(
        "X", 5, "USDT", "USDT")), "instruments[0].base: must be text, got 5"),
    ("tier start", lambda j, a, p, f: j.set_tiers(a, "X", [Tier(None, None, D("0.01"))]),
     "tiers[X/USDT:USDT][0].min_notional: required, got None"),
    ("tier type", lambda j, a, p, f: j.set_tiers(a, "X", [(0, None, 1)]),
     "tiers[X/USDT:USDT][0]: must be a Tier, got tuple"),
    ("tier symbol", lambda j, a, p, f: j.set_tiers(a, "", [Tier(D(0), None, D("0.01"))]),
     "tiers: a symbol must be non-empty text"),
    ("fill note", lambda j, a, p, f: j.add_fill(a, NewFill("BTCUSDT", "buy", D(1), D(1), at(1),
                                                            note=None)),
     "fills[0].note: must be text, got None"),
    ("fill fee currency", lambda j, a, p, f: j.add_fill(a, NewFill(
        "BTCUSDT", "buy", D(1), D(1), at(1), fee_currency=None)),
     "fills[0].fee_currency: must be text, got None"),
    ("fill order id", lambda j, a, p, f: j.add_fill(a, NewFill(
        "BTCUSDT", "buy", D(1), D(1), at(1), order_id=7)),
     "fills[0].order_id: must be text or None, got 7"),
    ("fill source", lambda j, a, p, f: j.add_fills(a, [fill(1, "buy", "1", "1")], source=None),
     "source: must be one of manual, import, sync, got None"),
    ("position symbol", lambda j, a, p, f: j.add_position(a, None, "long", D(1), D(1)),
     "position.symbol: empty"),
    ("margin mode None", lambda j, a, p, f: j.edit_position(p, margin_mode=None),
     "margin_mode: must be cross or isolated, got None"),
    ("rating bool", lambda j, a, p, f: j.edit_position(p, rating=True),
     "rating: must be a whole number 0..5, got True"),
    ("edit fill note", lambda j, a, p, f: j.edit_fill(f, note=None),
     "fill.note: must be text, got None"),
    ("edit fill fee currency", lambda j, a, p, f: j.edit_fill(f, fee_currency=None),
     "fill.fee_currency: must be text, got None"),
    ("funding amount", lambda j, a, p, f: j.add_funding(a, [NewFunding(
        "BTCUSDT", at(1), None, "USDT")]), "funding[0].amount: required, got None"),
    ("funding currency", lambda j, a, p, f: j.add_funding(a, [NewFunding(
        "BTCUSDT", at(1), D(1), 5)]), "funding[0].currency: must be a currency code"),
    ("transfer amount", lambda j, a, p, f: j.add_transfers(a, [NewTransfer(
        at(1), "USDT", None)]), "transfers[0].amount: required, got None"),
    ("transfer note", lambda j, a, p, f: j.add_transfers(a, [NewTransfer(
        at(1), "USDT", D(1), note=None)]), "transfers[0].note: must be text, got None"),
    ("balance", lambda j, a, p, f: j.record_balance(a, None), "wallet_balance: required"),
    ("balance currency", lambda j, a, p, f: j.record_balance(a, D(1), currency=5),
     "currency: must be a currency code such as USDT, got 5"),
    ("equity", lambda j, a, p, f: j.record_equity(a, None), "equity: required, got None"),
]


@pytest.mark.parametrize(("what", "call", "problem"), CASES, ids=[c[0] for c in CASES])
def test_bad_write_is_refused_by_name_and_writes_nothing(seeded, what, call, problem) -> None:
    journal, acct, pid, fid = seeded
    before = fingerprint(journal.path)
    with pytest.raises(InputError) as e:
        call(journal, acct, pid, fid)
    assert any(problem in line for line in e.value.problems), e.value.problems
    assert fingerprint(journal.path) == before
    # nothing half-done: the same journal keeps working
    journal.apply_sync_batch(acct, _batch(cursors={"fills": "B"}))
    assert journal.sync_cursor(acct, "fills") == "B"


@pytest.mark.parametrize("call", [
    lambda j: j.positions(PositionFilter(status="weird")),
    lambda j: j.positions(PositionFilter(side="up")),
    lambda j: j.balance_history("Main", since=NAIVE),
    lambda j: j.equity_history("Main", until=NAIVE),
    lambda j: j.pooled_equity("USDT", since=NAIVE),
    lambda j: j.pooled_equity(None),
    lambda j: j.positions(offset="10"),
    lambda j: j.positions(limit=0),
    lambda j: j.fills(limit=None),
], ids=["status", "side", "balance since", "equity until", "pooled since", "pooled currency",
        "offset text", "limit 0", "limit None"])
def test_bad_query_is_refused_by_name(journal: Journal, acct: int, call) -> None:
    with pytest.raises(InputError):
        call(journal)


def test_a_single_tag_string_is_one_tag(journal: Journal, acct: int) -> None:
    pid = journal.add_position(acct, "BTCUSDT", "long", D(1), D(100), tags="breakout").id
    assert journal.position(pid).tags == ("breakout",)


def test_unforeseen_sql_error_is_a_journal_error_and_rolls_back(journal: Journal,
                                                                 acct: int) -> None:
    """A constraint the checks cannot know about (here a trigger) surfaces as StorageError,
    the whole batch is rolled back, and the journal stays usable."""
    conn = sqlite3.connect(journal.path)
    conn.execute("CREATE TRIGGER no_big_transfer BEFORE INSERT ON transfer "
                 "WHEN CAST(NEW.amount AS REAL) > 1000000 "
                 "BEGIN SELECT RAISE(ABORT, 'transfer too large'); END")
    conn.close()
    before = fingerprint(journal.path)
    batch = _batch(fills=[fill(1, "buy", "100", "1", trade_id="t1")],
                   transfers=[NewTransfer(at(1), "USDT", D(5_000_000), "deposit", "x1")],
                   cursors={"fills": "Z"})
    with pytest.raises(StorageError) as e:
        journal.apply_sync_batch(acct, batch)
    assert isinstance(e.value, JournalError) and isinstance(e.value, CrossMarginError)
    assert not isinstance(e.value.__cause__, CrossMarginError)
    msg = str(e.value)
    assert "transfer too large" in msg and "nothing was changed" in msg
    assert "SQL:" not in msg and "Traceback" not in msg
    assert fingerprint(journal.path) == before
    journal.add_transfers(acct, [NewTransfer(at(2), "USDT", D(10), "deposit", "x2")])
    assert len(journal.transfers(acct)) == 1


@pytest.mark.parametrize(("driver_message", "expected"), [
    ("database is locked", "the journal is busy"),
    ("database or disk is full", "free disk space"),
    ("attempt to write a readonly database", "check the folder's permissions"),
    ("UNIQUE constraint failed: fill.account_id, fill.dedupe_key", "refused this change"),
    ("no such table: fill", "could not complete the operation"),
])
def test_storage_error_messages(driver_message: str, expected: str) -> None:
    exc = sqlalchemy.exc.OperationalError("INSERT ...", (), sqlite3.OperationalError(
        driver_message))
    err = dbmod.storage_error(exc, writing=True)
    assert expected in str(err) and driver_message in str(err)
    assert "nothing was changed" in str(err) and "INSERT" not in str(err)
    assert "nothing was read" in str(dbmod.storage_error(exc, writing=False))


def test_opening_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "journal.sqlite3"
    folder.mkdir()
    with pytest.raises(JournalError, match="not a folder"):
        Journal.open(folder)
    Journal.open(tmp_path / "other.sqlite3").close()  # nothing left locked or broken


def test_closed_journal_refuses_reads_and_checks(journal: Journal) -> None:
    journal.close()
    for call in (journal.accounts, journal.integrity_check,
                 lambda: journal.create_account("X")):
        with pytest.raises(JournalError, match="closed"):
            call()


def test_fills_time_filters_must_be_datetimes(tmp_path) -> None:
    from crossmargin.errors import InputError
    from crossmargin.storage import Journal

    with Journal.open(tmp_path / "j.sqlite3") as journal:
        with pytest.raises(InputError, match="since: must be a datetime"):
            journal.fills(since="2026-01-01")
        with pytest.raises(InputError, match="until"):
            journal.fills(until=12)
