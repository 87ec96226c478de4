"""Writing one exchange sync cycle (``SyncBatch``) all-or-nothing, and its resume points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    select,
)
from sqlalchemy import update as sa_update

from crossmargin.domain import (
    CollateralMode,
    MarginMode,
    Side,
)
from crossmargin.errors import InputError
from crossmargin.storage.cashflows import insert_funding, insert_transfers
from crossmargin.storage.collateral import check_rates, write_rates
from crossmargin.storage.derivation import insert_fills
from crossmargin.storage.instruments import upsert_instruments, write_tiers
from crossmargin.storage.keys import canon, canon_all
from crossmargin.storage.records import (
    Account,
    ExchangePosition,
    OpChanges,
    PositionMode,
    PositionStatus,
    SyncBatch,
)
from crossmargin.storage.rows import (
    AccountRef,
    account_row,
    exchange_positions_select,
    snapshot_row,
)
from crossmargin.storage.schema import (
    account_t,
    balance_t,
    equity_t,
    exchange_position_t,
    position_t,
    sync_cursor_t,
)
from crossmargin.storage.store import Store
from crossmargin.storage.validation import (
    currency_or_none,
    datetime_field,
    dec_or_none,
    dec_required,
    validate_exchange_positions,
    validate_fill,
    validate_funding,
    validate_instrument,
    validate_tiers,
    validate_transfer,
)


def exchange_positions(store: Store, account: AccountRef) -> list[ExchangePosition]:
    """The exchange's open positions as of the last positions sync."""
    with store.read() as conn:
        acct = account_row(conn, account)
        rows = conn.execute(exchange_positions_select(acct.id)).all()
    return [
        ExchangePosition(
            r.symbol,
            Side(r.side),
            r.contracts,
            r.entry_price,
            r.mark_price,
            r.leverage,
            MarginMode(r.margin_mode),
            r.isolated_margin,
            r.contract_size,
            bool(r.inverse),
            r.liquidation_price,
            r.unrealized_pnl,
        )
        for r in rows
    ]


def sync_cursor(store: Store, account: AccountRef, endpoint: str) -> str | None:
    """The cursor stored by the last committed batch for (account, endpoint), or None."""
    with store.read() as conn:
        acct = account_row(conn, account)
        return conn.execute(
            select(sync_cursor_t.c.value).where(
                sync_cursor_t.c.account_id == acct.id, sync_cursor_t.c.endpoint == endpoint
            )
        ).scalar()


def sync_cursors(store: Store, account: AccountRef) -> dict[str, str]:
    """Endpoint → cursor stored by the last committed batch."""
    with store.read() as conn:
        acct = account_row(conn, account)
        return {
            e: v
            for e, v in conn.execute(
                select(sync_cursor_t.c.endpoint, sync_cursor_t.c.value).where(
                    sync_cursor_t.c.account_id == acct.id
                )
            )
        }


def apply_sync_batch(store: Store, account: AccountRef, batch: SyncBatch) -> OpChanges:
    """Apply one sync cycle atomically (see :class:`SyncBatch`); returns what changed.

    Validation happens first: any bad record raises InputError naming it
    (``batch.fills[3].price: ...``) and nothing is written; so does a key repeated
    inside the batch (two positions with the same symbol, side and margin mode, two
    specs for one instrument, two balances of one currency). Then, in one transaction:
    instruments, tiers, fills (dedup by exchange trade id; positions re-derived),
    funding and transfers (dedup by exchange id), balance and equity snapshots at
    ``fetched_at``, the exchange's open positions (replacing the stored set and
    copying mark, leverage, margin mode, isolated margin and liquidation price onto
    the matching open journal positions; see ``replace_exchange_positions`` for a
    cross + isolated pair on one journal position) and finally the cursors.
    """
    batch = checked_batch(batch)
    at = batch.fetched_at
    with store.tx() as conn:
        acct = account_row(conn, account)
        touched: set[int] = set()
        if batch.instruments:
            touched |= upsert_instruments(
                conn, acct, batch.instruments, keep_optional=True
            )
        if batch.tiers:
            write_tiers(conn, acct.id, batch.tiers)
        new_fills, fill_dups, t2 = insert_fills(conn, acct, batch.fills, "sync")
        touched |= t2
        n_funding, fund_dups, t3 = insert_funding(conn, acct, batch.funding)
        touched |= t3
        n_transfers, tr_dups = insert_transfers(conn, acct, batch.transfers)
        if batch.balances:
            conn.execute(
                balance_t.insert(),
                [
                    snapshot_row(
                        acct,
                        at,
                        b.currency,
                        {
                            "wallet_balance": b.wallet_balance,
                            "available": b.available,
                            "unrealized_pnl": b.unrealized_pnl,
                        },
                    )
                    for b in batch.balances
                ],
            )
        if batch.equity is not None:
            e = batch.equity
            conn.execute(
                equity_t.insert().values(
                    **snapshot_row(
                        acct,
                        at,
                        e.currency,
                        {
                            "equity": e.equity,
                            "wallet_balance": e.wallet_balance,
                            "unrealized_pnl": e.unrealized_pnl,
                            "margin_ratio": e.margin_ratio,
                        },
                    )
                )
            )
        if batch.positions is not None:
            touched |= replace_exchange_positions(conn, acct, batch.positions, at)
        if batch.collateral_rates:
            write_rates(conn, acct, check_rates(batch.collateral_rates, acct.settle), at)
        if batch.collateral_mode is not None and batch.collateral_mode != acct.collateral_mode:
            conn.execute(account_t.update().where(account_t.c.id == acct.id).values(
                collateral_mode=CollateralMode(batch.collateral_mode).value))
        for endpoint, value in batch.cursors.items():
            conn.execute(
                delete(sync_cursor_t).where(
                    sync_cursor_t.c.account_id == acct.id, sync_cursor_t.c.endpoint == endpoint
                )
            )
            conn.execute(
                sync_cursor_t.insert().values(
                    account_id=acct.id, endpoint=endpoint, value=value, updated_at=at
                )
            )
    return OpChanges(
        accounts=batch.collateral_mode is not None,
        instruments=bool(batch.instruments),
        tiers=bool(batch.tiers),
        fills=bool(new_fills),
        positions=bool(touched),
        funding=bool(n_funding),
        transfers=bool(n_transfers),
        balances=bool(batch.balances),
        equity=batch.equity is not None,
        exchange_positions=batch.positions is not None,
        cursors=bool(batch.cursors),
        account_ids=frozenset({acct.id}),
        position_ids=frozenset(touched),
        inserted={"fills": len(new_fills), "funding": n_funding, "transfers": n_transfers},
        duplicates=fill_dups + fund_dups + tr_dups,
    )


def replace_exchange_positions(
    conn: Connection, acct: Account, positions: Sequence[ExchangePosition], at: datetime
) -> set[int]:
    conn.execute(delete(exchange_position_t).where(exchange_position_t.c.account_id == acct.id))
    if positions:
        conn.execute(
            exchange_position_t.insert(),
            [
                {
                    "account_id": acct.id,
                    "symbol": p.symbol,
                    "side": Side(p.side).value,
                    "contracts": p.contracts,
                    "entry_price": p.entry_price,
                    "mark_price": p.mark_price,
                    "leverage": p.leverage,
                    "margin_mode": MarginMode(p.margin_mode).value,
                    "isolated_margin": p.isolated_margin,
                    "contract_size": p.contract_size,
                    "inverse": p.inverse,
                    "liquidation_price": p.liquidation_price,
                    "unrealized_pnl": p.unrealized_pnl,
                    "updated_at": at,
                }
                for p in positions
            ],
        )
    conn.execute(
        sa_update(account_t).where(account_t.c.id == acct.id).values(positions_synced_at=at)
    )
    # The journal derives one position per (symbol, leg) from fills, so a cross and an
    # isolated exchange position on the same symbol and side (OKX) both match the same
    # journal position: it gets their common mark (and leverage when they agree) but no
    # exchange liquidation price, margin mode or isolated margin, which belong to one
    # of them only (the exchange positions themselves keep every figure).
    hedge = acct.position_mode is PositionMode.HEDGE
    matches: dict[int, list[ExchangePosition]] = {}
    open_ids: dict[tuple[str, str, str], int] = {}
    if positions:  # one query for the account's open positions, not one per position
        for r in conn.execute(
            select(position_t.c.id, position_t.c.symbol, position_t.c.leg, position_t.c.side)
            .where(
                position_t.c.account_id == acct.id,
                position_t.c.status == PositionStatus.OPEN.value,
            )
            .order_by(position_t.c.id)
        ):
            open_ids.setdefault((r.symbol, r.leg, r.side), r.id)
    for p in positions:
        side = Side(p.side).value
        pid = open_ids.get((p.symbol, side if hedge else "net", side))
        if pid is not None:
            matches.setdefault(pid, []).append(p)
    for pid, found in matches.items():
        if len(found) == 1:
            p = found[0]
            values: dict[str, Any] = {
                "mark_price": p.mark_price,
                "leverage": p.leverage,
                "margin_mode": MarginMode(p.margin_mode).value,
                "isolated_margin": p.isolated_margin
                if p.margin_mode == MarginMode.ISOLATED
                else None,
                "exchange_liquidation_price": p.liquidation_price,
            }
        else:
            values = {"mark_price": found[0].mark_price, "exchange_liquidation_price": None}
            if len({p.leverage for p in found}) == 1:
                values["leverage"] = found[0].leverage
        conn.execute(sa_update(position_t).where(position_t.c.id == pid).values(**values))
    return set(matches)


def checked_batch(batch: SyncBatch) -> SyncBatch:
    """``batch`` with canonical symbols, or InputError listing every bad record and every
    key repeated inside the batch (nothing is written then)."""
    problems: list[str] = []
    batch = replace(
        batch,
        fills=tuple(canon_all(batch.fills, "batch.fills", problems)),
        funding=tuple(canon_all(batch.funding, "batch.funding", problems)),
        instruments=tuple(canon_all(batch.instruments, "batch.instruments", problems)),
        tiers={canon(s, f"batch.tiers[{s!r}]", problems): t for s, t in batch.tiers.items()},
        positions=None if batch.positions is None
        else tuple(canon_all(batch.positions, "batch.positions", problems)),
    )
    datetime_field(batch.fetched_at, "batch.fetched_at", problems)
    for i, f in enumerate(batch.fills):
        validate_fill(f, f"batch.fills[{i}]", problems)
    for i, p in enumerate(batch.funding):
        validate_funding(p, f"batch.funding[{i}]", problems)
    for i, t in enumerate(batch.transfers):
        validate_transfer(t, f"batch.transfers[{i}]", problems)
    first_symbol: dict[str, int] = {}
    for i, ins in enumerate(batch.instruments):
        validate_instrument(ins, f"batch.instruments[{i}]", problems)
        if isinstance(ins.symbol, str) and ins.symbol in first_symbol:
            problems.append(
                f"batch.instruments[{i}]: {ins.symbol} is listed twice (first at "
                f"batch.instruments[{first_symbol[ins.symbol]}]); send one spec per symbol"
            )
        first_symbol.setdefault(ins.symbol, i)
    for symbol, table in batch.tiers.items():
        validate_tiers(symbol, table, problems, "batch.tiers")
    first_currency: dict[str, int] = {}
    for i, b in enumerate(batch.balances):
        w = f"batch.balances[{i}]"
        if currency_or_none(b.currency, f"{w}.currency", problems, required=True):
            cur = b.currency.strip().upper()
            if cur in first_currency:
                problems.append(
                    f"{w}: a second {cur} balance (first at "
                    f"batch.balances[{first_currency[cur]}]); one balance per currency"
                )
            first_currency.setdefault(cur, i)
        dec_required(b.wallet_balance, f"{w}.wallet_balance", problems, False)
        dec_or_none(b.available, f"{w}.available", problems, False)
        dec_or_none(b.unrealized_pnl, f"{w}.unrealized_pnl", problems, False)
    validate_exchange_positions(batch.positions or (), problems)
    if batch.equity is not None:
        e = batch.equity
        currency_or_none(e.currency, "batch.equity.currency", problems, required=True)
        dec_required(e.equity, "batch.equity.equity", problems, False)
        for name in ("wallet_balance", "unrealized_pnl", "margin_ratio"):
            dec_or_none(getattr(e, name), f"batch.equity.{name}", problems, False)
    for endpoint, value in batch.cursors.items():
        if not isinstance(endpoint, str) or not endpoint or not isinstance(value, str):
            problems.append(f"batch.cursors[{endpoint!r}]: endpoint and text value required")
    if problems:
        raise InputError(problems)
    return batch
