"""Collateral on a journal account (schema v4): what each asset is worth as collateral
(price in the account's settlement currency and collateral value ratios, kept by a sync
or typed by the user), and the pool the engine gets for a multi-asset account.

The balances are the balance snapshots already kept per currency; this module adds the
rates and puts the two together (:func:`pool_inputs`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from crossmargin.domain import Account, Collateral, ValueRatioTier
from crossmargin.errors import InputError
from crossmargin.numbers import plain
from crossmargin.storage.records import CollateralRate
from crossmargin.storage.rows import AccountRef, account_row, utc_now
from crossmargin.storage.schema import balance_t, collateral_rate_t
from crossmargin.storage.store import Store


def _dump_ratios(ratios: Sequence[ValueRatioTier]) -> str:
    return json.dumps([{"up_to": None if t.up_to is None else plain(t.up_to),
                        "ratio": plain(t.ratio)} for t in ratios])


def _load_ratios(text: str) -> tuple[ValueRatioTier, ...]:
    return tuple(ValueRatioTier(None if r["up_to"] is None else Decimal(r["up_to"]),
                                Decimal(r["ratio"])) for r in json.loads(text or "[]"))


def check_rates(rates: Iterable[CollateralRate], settle: str) -> list[CollateralRate]:
    """The rates, each checked (InputError naming every bad one)."""
    out, problems = [], []
    for i, r in enumerate(rates):
        where = f"collateral[{i}] ({r.asset})"
        asset = r.asset.strip().upper()
        if not asset.isalnum():
            problems.append(f"{where}: asset must be letters and digits, e.g. BTC")
        elif asset == settle.upper():
            problems.append(f"{where}: {asset} is the account's settlement currency")
        if not r.price.is_finite() or r.price <= 0:
            problems.append(f"{where}: price must be > 0, got {r.price}")
        if any(not (0 <= t.ratio <= 1) for t in r.ratios):
            problems.append(f"{where}: every ratio must be between 0 and 1")
        out.append(CollateralRate(asset, r.price, tuple(r.ratios), r.updated_at))
    if problems:
        raise InputError(problems)
    return out


def write_rates(conn: Connection, acct: Account, rates: Sequence[CollateralRate],
                when: datetime) -> None:
    """Upsert ``rates`` (already checked) inside the caller's transaction."""
    for r in rates:
        values = {"price": r.price, "ratios": _dump_ratios(r.ratios),
                  "updated_at": r.updated_at or when}
        done = conn.execute(collateral_rate_t.update().where(
            collateral_rate_t.c.account_id == acct.id, collateral_rate_t.c.asset == r.asset
        ).values(**values))
        if not done.rowcount:
            conn.execute(collateral_rate_t.insert().values(account_id=acct.id, asset=r.asset,
                                                           **values))


def set_collateral_rates(store: Store, account: AccountRef,
                         rates: Sequence[CollateralRate]) -> None:
    """Store what each asset is worth as collateral on ``account`` (others are kept)."""
    with store.tx() as conn:
        acct = account_row(conn, account)
        write_rates(conn, acct, check_rates(rates, acct.settle), utc_now())


def collateral_rates(store: Store, account: AccountRef) -> list[CollateralRate]:
    with store.read() as conn:
        return read_rates(conn, account_row(conn, account))


def read_rates(conn: Connection, acct: Account) -> list[CollateralRate]:
    rows = conn.execute(select(collateral_rate_t).where(
        collateral_rate_t.c.account_id == acct.id).order_by(collateral_rate_t.c.asset)).all()
    return [CollateralRate(r.asset, r.price, _load_ratios(r.ratios), r.updated_at)
            for r in rows]


def latest_balances(conn: Connection, acct: Account) -> dict[str, Any]:
    """The latest balance snapshot row of every currency of the account."""
    newest = select(balance_t.c.currency, func.max(balance_t.c.time).label("t")).where(
        balance_t.c.account_id == acct.id).group_by(balance_t.c.currency).subquery()
    rows = conn.execute(select(balance_t).join(
        newest, (balance_t.c.currency == newest.c.currency) & (balance_t.c.time == newest.c.t)
    ).where(balance_t.c.account_id == acct.id).order_by(balance_t.c.id)).all()
    return {r.currency: r for r in rows}


def pool_inputs(conn: Connection, acct: Account, settle: str, problems: list[str],
                sources: list[str]) -> tuple[Collateral, ...]:
    """The collateral of a multi-asset account: every other currency with a balance (or a
    rate), at its stored rate; a balance without a rate is a problem saying how to fix it."""
    rates = {r.asset: r for r in read_rates(conn, acct)}
    balances = latest_balances(conn, acct)
    out: list[Collateral] = []
    for asset in sorted(set(balances) | set(rates)):
        if asset == settle:
            continue
        row = balances.get(asset)
        amount = row.wallet_balance if row is not None else Decimal(0)
        rate = rates.get(asset)
        if rate is None:
            if amount != 0:
                problems.append(
                    f"account {acct.label}: {plain(amount)} {asset} is held but its value as "
                    f"collateral is unknown; sync the account, or give it with `crossmargin "
                    f"journal collateral {acct.label} {asset} --price P --ratio R`")
            continue
        out.append(Collateral(asset, amount, rate.price, rate.ratios))
        ratio = ", ".join(plain(t.ratio) for t in rate.ratios) or "1"
        when = f" ({rate.updated_at:%Y-%m-%d %H:%M} UTC)" if rate.updated_at else ""
        sources.append(f"collateral: {plain(amount)} {asset} at {plain(rate.price)} {settle}, "
                       f"value ratio {ratio}{when}")
    return tuple(out)


__all__ = ["CollateralRate", "collateral_rates", "pool_inputs", "set_collateral_rates"]
