"""The bridge from a sync :class:`~crossmargin.sync.model.FetchedCycle` to the journal.

:class:`JournalAdapter` implements :class:`~crossmargin.sync.cycle.JournalPort` over
:class:`crossmargin.storage.journal.Journal`: it creates the exchange account on first
use (label, exchange id, rule set, settlement currency; never secrets), converts the
batch into the journal's own ``SyncBatch`` (aware UTC datetimes, Decimal everywhere)
and applies it in one transaction with ``Journal.apply_sync_batch``. Every open position
is stored, including a cross and an isolated one on the same instrument and side (OKX).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crossmargin.domain import ONE, Tier
from crossmargin.errors import InputError
from crossmargin.sync.config import AccountConfig
from crossmargin.sync.model import FetchedCycle, SnapshotCompleteness


def ms_to_dt(ms: int) -> datetime:
    """Milliseconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_journal_batch(batch: FetchedCycle) -> Any:
    """The journal's ``SyncBatch`` for ``batch`` (imports storage records lazily)."""
    from crossmargin.domain.collateral import flat
    from crossmargin.storage.records import (
        BalanceIn,
        CollateralRate,
        EquityIn,
        ExchangePosition,
        Instrument,
        NewFill,
        NewFunding,
        NewTransfer,
    )
    from crossmargin.storage.records import SyncBatch as JournalBatch  # the journal's

    positions = None
    if batch.positions_complete is SnapshotCompleteness.FULL:
        # every position, cross and isolated side by side (the journal keys exchange
        # positions by symbol, side and margin mode since schema v2)
        positions = tuple(
            ExchangePosition(
                symbol=p.symbol, side=p.side, contracts=p.contracts,
                entry_price=p.entry_price,
                mark_price=batch.marks.get(p.symbol) or p.mark_price or p.entry_price,
                leverage=p.leverage if p.leverage and p.leverage > 0 else ONE,
                margin_mode=p.margin_mode, isolated_margin=p.isolated_margin,
                contract_size=p.contract_size, inverse=p.inverse,
                liquidation_price=p.liquidation_price, unrealized_pnl=p.unrealized_pnl,
            )
            for p in batch.positions
        )
    settle = batch.settle_balance
    equity = None
    if settle is not None:
        upnl = settle.unrealized_pnl
        margin = settle.margin_balance
        if margin is None:
            margin = settle.wallet_balance + (upnl or Decimal(0))
        equity = EquityIn(currency=settle.currency, equity=margin,
                          wallet_balance=settle.wallet_balance, unrealized_pnl=upnl,
                          margin_ratio=batch.margin_ratio)
    return JournalBatch(
        fetched_at=ms_to_dt(batch.fetched_at),
        balances=tuple(
            BalanceIn(currency=b.currency, wallet_balance=b.wallet_balance, available=b.free,
                      unrealized_pnl=b.unrealized_pnl)
            for b in batch.balances
        ),
        positions=positions,
        fills=tuple(
            NewFill(symbol=f.symbol, side=f.side, price=f.price, amount=f.amount,
                    time=ms_to_dt(f.timestamp), fee=f.fee, fee_currency=f.fee_currency or "",
                    trade_id=f.trade_id, order_id=f.order_id, leg=f.leg,
                    realized_pnl=f.realized_pnl)
            for f in batch.fills
        ),
        funding=tuple(
            NewFunding(symbol=g.symbol, time=ms_to_dt(g.timestamp), amount=g.amount,
                       currency=g.currency, exchange_id=g.funding_id)
            for g in batch.funding
        ),
        transfers=tuple(
            NewTransfer(time=ms_to_dt(t.timestamp), currency=t.currency, amount=t.amount,
                        kind=t.kind, exchange_id=t.transfer_id, note=t.note)
            for t in batch.transfers
        ),
        instruments=tuple(
            Instrument(symbol=i.symbol, base=i.base, quote=i.quote, settle=i.settle,
                       contract_size=i.contract_size, inverse=i.inverse)
            for i in batch.instruments if i.base and i.quote and i.settle
        ),
        tiers={t.symbol: t.tiers for t in batch.tiers if t.tiers},
        collateral_mode=batch.collateral_mode,
        collateral_rates=tuple(
            CollateralRate(r.asset, r.price, flat(r.ratio)) for r in batch.collateral_rates),
        equity=equity,
        cursors=dict(batch.cursors),
    )


class JournalAdapter:
    """:class:`~crossmargin.sync.cycle.JournalPort` over the real journal (thread-safe:
    the journal serialises its own writes)."""

    def __init__(self, journal: Any) -> None:
        self.journal = journal

    def account_id(self, config: AccountConfig) -> int:
        from crossmargin.storage.records import AccountKind

        for a in self.journal.accounts():
            if a.label.lower() == config.label.lower():
                if a.exchange_id and a.exchange_id != config.exchange:
                    raise InputError(
                        f"account {config.label!r}: the journal has it on {a.exchange_id}, "
                        f"not {config.exchange}; use another label"
                    )
                return int(a.id)
        changes = self.journal.create_account(
            config.label, kind=AccountKind.EXCHANGE, rules=config.rules,
            settle=config.settle, exchange_id=config.exchange,
        )
        return int(changes.id)

    def cursors(self, account_id: int) -> Mapping[str, str]:
        return self.journal.sync_cursors(account_id)

    def tiers(self, account_id: int, symbols: Sequence[str]) -> Mapping[str, Sequence[Tier]]:
        stored = self.journal.tiers(account_id)
        return {s: stored[s] for s in symbols if s in stored}

    def wallet_ledger(self, account_id: int, currency: str) -> tuple[Decimal | None, Decimal]:
        last = self.journal.latest_balance(account_id, currency)
        explained = self.journal.wallet_explained(account_id, currency)
        return (None if last is None else last.wallet_balance), explained

    def apply(self, account_id: int, batch: FetchedCycle) -> Mapping[str, int]:
        if any(f.leg != "net" for f in batch.fills):
            from crossmargin.storage.records import PositionMode

            acct = self.journal.account(account_id)
            if acct.position_mode is not PositionMode.HEDGE:
                # the exchange reports dual-side (hedge-mode) legs: keep them apart
                self.journal.update_account(account_id, position_mode=PositionMode.HEDGE)
        changes = self.journal.apply_sync_batch(account_id, to_journal_batch(batch))
        return dict(changes.inserted)
