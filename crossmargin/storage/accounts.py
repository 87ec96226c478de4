"""Journal accounts: create, edit, delete, read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    delete,
    select,
)
from sqlalchemy import update as sa_update

from crossmargin.domain import (
    ZERO,
    MarginMode,
    RuleSet,
)
from crossmargin.storage.records import (
    Account,
    AccountKind,
    OpChanges,
    PositionMode,
)
from crossmargin.storage.rows import (
    AccountRef,
    account_from_row,
    account_row,
    inserted_id,
    utc_now,
)
from crossmargin.storage.schema import (
    account_t,
    fill_t,
    funding_t,
    position_t,
)
from crossmargin.storage.store import Store
from crossmargin.storage.validation import account_values, check_label_free
from crossmargin.tier_snapshots import rules_for_exchange


def create_account(store: Store,
    label: str,
    *,
    kind: AccountKind | str = AccountKind.MANUAL,
    rules: RuleSet | str = RuleSet.GENERIC,
    settle: str = "USDT",
    exchange_id: str | None = None,
    margin_mode_default: MarginMode | str = MarginMode.CROSS,
    position_mode: PositionMode | str = PositionMode.ONE_WAY,
    taker_fee_rate: Decimal = ZERO,
    notes: str = "",
    default_leverage: Decimal | None = None,
    collateral_mode: str = "single",
) -> OpChanges:
    """Add an account (labels are unique). Never pass secrets: keys live in the keyring.

    ``exchange_id`` (a ccxt id) names the exchange a hand-logged account trades on:
    its rules, bundled tier tables and public mark prices are then that exchange's
    (``rules`` defaults to the exchange's rule set). ``default_leverage`` is the
    leverage of positions logged without one. ``collateral_mode`` ``multi``: every
    collateral asset backs the cross positions (its rates: :func:`set_collateral_rates`).
    """
    if exchange_id is not None and rules == RuleSet.GENERIC:
        rules = rules_for_exchange(str(exchange_id))
    values = account_values(
        label=label,
        kind=kind,
        rules=rules,
        settle=settle,
        exchange_id=exchange_id,
        margin_mode_default=margin_mode_default,
        position_mode=position_mode,
        taker_fee_rate=taker_fee_rate,
        notes=notes,
        default_leverage=default_leverage,
        collateral_mode=collateral_mode,
    )
    with store.tx() as conn:
        check_label_free(conn, values["label"])
        values["created_at"] = utc_now()
        new_id = inserted_id(conn.execute(account_t.insert().values(**values)))
    return OpChanges(accounts=True, account_ids=frozenset({new_id}), id=new_id)


def update_account(store: Store, account: AccountRef, **changes: Any) -> OpChanges:
    """Change account fields (label, kind, rules, settle, exchange_id, margin_mode_default,
    position_mode, taker_fee_rate, notes, default_leverage, collateral_mode)."""
    values = account_values(**changes)
    with store.tx() as conn:
        acct = account_row(conn, account)
        if "label" in values:
            check_label_free(conn, values["label"], other_than=acct.id)
        if values:
            conn.execute(sa_update(account_t).where(account_t.c.id == acct.id).values(**values))
    return OpChanges(accounts=True, account_ids=frozenset({acct.id}))


def delete_account(store: Store, account: AccountRef) -> OpChanges:
    """Delete an account and everything stored under it (positions, fills, history)."""
    with store.tx() as conn:
        acct = account_row(conn, account)
        pids = {
            r[0]
            for r in conn.execute(
                select(position_t.c.id).where(position_t.c.account_id == acct.id)
            )
        }
        for t in (fill_t, funding_t):
            conn.execute(delete(t).where(t.c.account_id == acct.id))
        conn.execute(delete(position_t).where(position_t.c.account_id == acct.id))
        conn.execute(delete(account_t).where(account_t.c.id == acct.id))
    return OpChanges.everything(
        account_ids=frozenset({acct.id}), position_ids=frozenset(pids)
    )


def account(store: Store, ref: AccountRef) -> Account:
    """An account by id, label (case-insensitive) or Account; InputError if unknown."""
    with store.read() as conn:
        return account_row(conn, ref)


def accounts(store: Store) -> list[Account]:
    """Every account, by label."""
    with store.read() as conn:
        rows = conn.execute(select(account_t).order_by(account_t.c.label)).all()
    return [account_from_row(r) for r in rows]
