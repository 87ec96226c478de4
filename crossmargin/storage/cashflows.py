"""Money in and out of a wallet besides trading: funding payments and transfers, and the
wallet ledger that explains a balance from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)

from crossmargin.domain import (
    ZERO,
)
from crossmargin.errors import InputError
from crossmargin.storage.derivation import attribute_funding
from crossmargin.storage.keys import (
    canon_all,
    canonical_or_same,
    existing_keys,
    funding_key,
    split_new,
    transfer_key,
)
from crossmargin.storage.records import (
    Account,
    AccountId,
    FundingPayment,
    NewFunding,
    NewTransfer,
    OpChanges,
    Transfer,
)
from crossmargin.storage.rows import AccountRef, account_row, specs_of
from crossmargin.storage.schema import (
    funding_t,
    position_t,
    transfer_t,
)
from crossmargin.storage.store import Store
from crossmargin.storage.validation import validate_funding, validate_transfer


def add_funding(store: Store, account: AccountRef, payments: Sequence[NewFunding]) -> OpChanges:
    """Store funding payments (+ received, − paid); duplicates by exchange id are skipped."""
    problems: list[str] = []
    payments = canon_all(payments, "funding", problems)
    for i, p in enumerate(payments):
        validate_funding(p, f"funding[{i}]", problems)
    if problems:
        raise InputError(problems)
    with store.tx() as conn:
        acct = account_row(conn, account)
        n, dups, touched = insert_funding(conn, acct, payments)
    return OpChanges(
        funding=bool(n),
        positions=bool(touched),
        account_ids=frozenset({acct.id}),
        position_ids=frozenset(touched),
        inserted={"funding": n},
        duplicates=dups,
    )


def insert_funding(conn: Connection, acct: Account, payments: Sequence[NewFunding]
) -> tuple[int, int, set[int]]:
    if not payments:
        return 0, 0, set()
    keys = existing_keys(conn, acct.id, "funding")
    fresh, dups = split_new(((funding_key(p), p) for p in payments), keys)
    rows = []
    earliest: dict[str, datetime] = {}
    for key, p in fresh:
        rows.append(
            {
                "account_id": acct.id,
                "symbol": p.symbol,
                "leg": p.leg,
                "time": p.time,
                "amount": p.amount,
                "currency": p.currency.upper(),
                "exchange_id": p.exchange_id,
                "dedupe_key": key,
                "position_id": None,
            }
        )
        earliest[p.symbol] = min(earliest.get(p.symbol, p.time), p.time)
    if rows:
        conn.execute(funding_t.insert(), rows)
    touched: set[int] = set()
    for symbol, since in earliest.items():
        touched |= attribute_funding(conn, acct, symbol, since)
    return len(rows), dups, touched


def funding_payments(store: Store,
    *,
    account: AccountRef | None = None,
    position_id: int | None = None,
    symbol: str | None = None,
) -> list[FundingPayment]:
    """Funding payments, oldest first."""
    with store.read() as conn:
        where: list[Any] = []
        if account is not None:
            where.append(funding_t.c.account_id == account_row(conn, account).id)
        if position_id is not None:
            where.append(funding_t.c.position_id == position_id)
        if symbol:
            where.append(funding_t.c.symbol == canonical_or_same(symbol))
        rows = conn.execute(
            select(funding_t).where(*where).order_by(funding_t.c.time, funding_t.c.id)
        ).all()
    return [
        FundingPayment(
            r.id,
            AccountId(r.account_id),
            r.symbol,
            r.time,
            r.amount,
            r.currency,
            r.exchange_id,
            r.position_id,
        )
        for r in rows
    ]


def add_transfers(store: Store, account: AccountRef, transfers: Sequence[NewTransfer]) -> OpChanges:
    """Store deposits (+), withdrawals (−) and transfers; duplicates by exchange id skipped."""
    problems: list[str] = []
    for i, t in enumerate(transfers):
        validate_transfer(t, f"transfers[{i}]", problems)
    if problems:
        raise InputError(problems)
    with store.tx() as conn:
        acct = account_row(conn, account)
        n, dups = insert_transfers(conn, acct, transfers)
    return OpChanges(
        transfers=bool(n),
        account_ids=frozenset({acct.id}),
        inserted={"transfers": n},
        duplicates=dups,
    )


def insert_transfers(conn: Connection, acct: Account, transfers: Sequence[NewTransfer]
) -> tuple[int, int]:
    if not transfers:
        return 0, 0
    keys = existing_keys(conn, acct.id, "transfer")
    fresh, dups = split_new(((transfer_key(t), t) for t in transfers), keys)
    rows = [
        {
            "account_id": acct.id,
            "time": t.time,
            "currency": t.currency.upper(),
            "amount": t.amount,
            "kind": t.kind,
            "exchange_id": t.exchange_id,
            "dedupe_key": key,
            "note": t.note,
        }
        for key, t in fresh
    ]
    if rows:
        conn.execute(transfer_t.insert(), rows)
    return len(rows), dups


def transfers(store: Store, account: AccountRef) -> list[Transfer]:
    """Deposits, withdrawals and transfers, oldest first."""
    with store.read() as conn:
        acct = account_row(conn, account)
        rows = conn.execute(
            select(transfer_t)
            .where(transfer_t.c.account_id == acct.id)
            .order_by(transfer_t.c.time)
        ).all()
    return [
        Transfer(
            r.id,
            AccountId(r.account_id),
            r.time,
            r.currency,
            r.amount,
            r.kind,
            r.exchange_id,
            r.note,
        )
        for r in rows
    ]


def wallet_explained(store: Store, account: AccountRef, currency: str | None = None) -> Decimal:
    """What the journal says moved the ``currency`` wallet (default: the account's
    settlement currency), all time: Σ realised PnL − Σ fees of the positions settled
    in it, + Σ funding and Σ transfers in it. Between two syncs the wallet must move by
    exactly the change of this figure (``wallet = transfers + realised + fees +
    funding``); fees in a third currency (BNB) move that currency's wallet instead."""
    return sum(wallet_ledger(store, account, currency).values(), ZERO)


def wallet_ledger(store: Store, account: AccountRef, currency: str | None = None
                  ) -> dict[str, Decimal]:
    """:meth:`wallet_explained` by kind: ``transfers``, ``realized_pnl``, ``fees``
    (negative: paid) and ``funding`` (settlement currency unless ``currency``)."""
    out = {"transfers": ZERO, "realized_pnl": ZERO, "fees": ZERO, "funding": ZERO}
    with store.read() as conn:
        acct = account_row(conn, account)
        cur = (currency or acct.settle).strip().upper()
        rows = conn.execute(
            select(position_t.c.symbol, position_t.c.realized_pnl, position_t.c.fees)
            .where(position_t.c.account_id == acct.id)
        ).all()
        specs = specs_of(conn, ((acct.id, r.symbol) for r in rows))
        for r in rows:
            if specs[(acct.id, r.symbol)].settle.upper() == cur:
                out["realized_pnl"] += r.realized_pnl
                out["fees"] -= r.fees
        for key, table in (("funding", funding_t), ("transfers", transfer_t)):
            out[key] = sum(
                (a for (a,) in conn.execute(
                    select(table.c.amount).where(
                        table.c.account_id == acct.id, table.c.currency == cur
                    )
                )),
                ZERO,
            )
    return out
