"""The adapter from a sync batch to the real journal (no exchange, no network)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from crossmargin.domain import MarginMode, Side
from crossmargin.errors import InputError
from crossmargin.sync.config import AccountConfig
from crossmargin.sync.journal_port import JournalAdapter, to_journal_batch
from crossmargin.sync.model import (
    BalanceRecord,
    FetchedCycle,
    FillRecord,
    PositionRecord,
    SnapshotCompleteness,
)

T = 1_700_000_000_000  # ms


def _pos(mode: MarginMode, contracts: str, liq: str, side: Side = Side.LONG) -> PositionRecord:
    return PositionRecord(
        key=f"BTC-USD-SWAP:{side.value}:{mode.value}", symbol="BTC/USD:BTC", side=side,
        margin_mode=mode, contracts=D(contracts), contract_size=D(100),
        entry_price=D("60000.5"), mark_price=D("61000"), leverage=D(10),
        liquidation_price=D(liq), unrealized_pnl=D("0.001"), settle="BTC", inverse=True,
        isolated_margin=D("0.0005") if mode is MarginMode.ISOLATED else None,
    )


def _batch(*positions: PositionRecord, complete: SnapshotCompleteness = SnapshotCompleteness.FULL,
           fills: tuple[FillRecord, ...] = (), cursors: dict[str, str] | None = None,
           ) -> FetchedCycle:
    return FetchedCycle(
        account="okx-main", exchange="okx", fetched_at=T, settle="BTC",
        balances=(BalanceRecord("BTC", D("1.5")),), positions=positions,
        positions_complete=complete, fills=fills, cursors=cursors or {},
    )


@pytest.fixture
def adapter(journal) -> JournalAdapter:
    return JournalAdapter(journal)


@pytest.fixture
def account(adapter: JournalAdapter) -> int:
    return adapter.account_id(AccountConfig("okx-main", "okx", settle="BTC"))


def test_cross_and_isolated_on_one_instrument_are_both_stored(adapter, account, journal):
    cross = _pos(MarginMode.CROSS, "100", "89.11")
    iso = _pos(MarginMode.ISOLATED, "3", "69536.61")
    jb = to_journal_batch(_batch(cross, iso))
    assert [(p.margin_mode, p.contracts) for p in jb.positions] == [
        (MarginMode.CROSS, D(100)), (MarginMode.ISOLATED, D(3))]
    out = adapter.apply(account, _batch(cross, iso))
    assert "positions_not_stored" not in out
    stored = journal.exchange_positions(account)
    assert [(p.margin_mode, p.contracts, p.liquidation_price, p.isolated_margin)
            for p in stored] == [
        (MarginMode.CROSS, D(100), D("89.11"), None),
        (MarginMode.ISOLATED, D(3), D("69536.61"), D("0.0005")),
    ]
    # the next full snapshot replaces the pair; an unusable reply keeps it
    adapter.apply(account, _batch(iso, complete=SnapshotCompleteness.UNKNOWN))
    assert len(journal.exchange_positions(account)) == 2
    adapter.apply(account, _batch(iso))
    assert [p.margin_mode for p in journal.exchange_positions(account)] == [MarginMode.ISOLATED]


def test_pair_matching_one_journal_position_gets_only_common_figures(adapter, account, journal):
    """Fills build one journal position per symbol and leg; a cross + isolated pair on it
    must not leave the journal position with one of them's liquidation price."""
    fill = FillRecord("t1", "o1", "BTC/USD:BTC", "buy", D(103), D("60000.5"), D("0.00001"),
                      "BTC", T - 1000)
    adapter.apply(account, _batch(_pos(MarginMode.CROSS, "103", "89.11"), fills=(fill,)))
    (pos,) = journal.open_positions(account)
    assert pos.exchange_liquidation_price == D("89.11") and pos.margin_mode is MarginMode.CROSS
    adapter.apply(account, _batch(_pos(MarginMode.CROSS, "100", "89.11"),
                                  _pos(MarginMode.ISOLATED, "3", "69536.61")))
    (pos,) = journal.open_positions(account)
    assert pos.mark_price == D(61000) and pos.leverage == D(10)
    assert pos.exchange_liquidation_price is None


def test_duplicate_position_is_refused_by_name_and_nothing_is_written(adapter, account, journal):
    adapter.apply(account, _batch(_pos(MarginMode.CROSS, "1", "80"), cursors={"fills": "A"}))
    before = (journal.exchange_positions(account), journal.balance_history(account))
    dup = _batch(_pos(MarginMode.CROSS, "1", "80"), _pos(MarginMode.ISOLATED, "2", "70"),
                 _pos(MarginMode.CROSS, "5", "81"), cursors={"fills": "B"})
    with pytest.raises(InputError) as e:
        adapter.apply(account, dup)
    assert e.value.problems == [
        "batch.positions[2]: a second BTC/USD:BTC long cross position (the first is "
        "batch.positions[0]); an account holds at most one per symbol, side and margin "
        "mode, so the exchange reply is inconsistent; nothing was stored"
    ]
    assert (journal.exchange_positions(account), journal.balance_history(account)) == before
    assert journal.sync_cursor(account, "fills") == "A"
