"""Time series: balance and equity snapshots, recorded marks, pooled equity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy import update as sa_update

from crossmargin.domain import (
    ZERO,
)
from crossmargin.errors import InputError
from crossmargin.storage.keys import canon
from crossmargin.storage.records import (
    AccountId,
    BalanceSnapshot,
    EquitySnapshot,
    OpChanges,
    PositionStatus,
)
from crossmargin.storage.rows import (
    AccountRef,
    account_row,
    aware,
    balance_from_row,
    latest_balance_row,
    snapshot_row,
    time_window,
    utc_now,
)
from crossmargin.storage.schema import (
    balance_t,
    equity_t,
    position_t,
)
from crossmargin.storage.store import Store
from crossmargin.storage.validation import (
    check_range,
    currency_or_none,
    dec_or_none,
    dec_required,
)


def record_marks(store: Store, account: AccountRef, marks: Mapping[str, Decimal]) -> OpChanges:
    """Set the last known mark price (quote currency) of the account's open positions
    on each symbol in ``marks`` (e.g. from a live public feed), so the account is
    evaluated at them when no feed is running."""
    problems: list[str] = []
    clean: dict[str, Decimal] = {}
    for symbol, mark in marks.items():
        if not isinstance(mark, Decimal) or not mark.is_finite() or mark <= 0:
            problems.append(f"marks[{symbol!r}]: must be a Decimal > 0, got {mark!r}")
            continue
        clean[canon(symbol, f"marks[{symbol!r}]", problems)] = mark
    if problems:
        raise InputError(problems)
    touched: set[int] = set()
    with store.tx() as conn:
        acct = account_row(conn, account)
        for symbol, mark in clean.items():
            ids = [r.id for r in conn.execute(
                select(position_t.c.id).where(
                    position_t.c.account_id == acct.id, position_t.c.symbol == symbol,
                    position_t.c.status == PositionStatus.OPEN.value))]
            if ids:
                conn.execute(sa_update(position_t).where(position_t.c.id.in_(ids))
                             .values(mark_price=mark))
                touched |= set(ids)
    return OpChanges(positions=bool(touched), account_ids=frozenset({acct.id}),
                     position_ids=frozenset(touched))


def record_balance(store: Store,
    account: AccountRef,
    wallet_balance: Decimal,
    *,
    currency: str | None = None,
    time: datetime | None = None,
    available: Decimal | None = None,
    unrealized_pnl: Decimal | None = None,
) -> OpChanges:
    """Record the wallet balance (excl. uPnL) of one currency (default: settle).

    It is the currency's whole wallet, isolated positions' wallets included, as the
    exchanges report it; :meth:`build_scenario` derives the cross wallet from it.
    """
    acct_id = record_snapshot(store,
        balance_t,
        account,
        time,
        currency,
        ("wallet_balance", wallet_balance),
        {"available": available, "unrealized_pnl": unrealized_pnl},
    )
    return OpChanges(balances=True, account_ids=frozenset({acct_id}))


def record_equity(store: Store,
    account: AccountRef,
    equity: Decimal,
    *,
    time: datetime | None = None,
    currency: str | None = None,
    wallet_balance: Decimal | None = None,
    unrealized_pnl: Decimal | None = None,
    margin_ratio: Decimal | None = None,
) -> OpChanges:
    """Append one point of the equity time series (settle ccy unless ``currency``)."""
    acct_id = record_snapshot(store,
        equity_t,
        account,
        time,
        currency,
        ("equity", equity),
        {
            "wallet_balance": wallet_balance,
            "unrealized_pnl": unrealized_pnl,
            "margin_ratio": margin_ratio,
        },
    )
    return OpChanges(equity=True, account_ids=frozenset({acct_id}))


def record_snapshot(store: Store,
    table: Any,
    account: AccountRef,
    time: datetime | None,
    currency: str | None,
    main: tuple[str, Any],
    optional: Mapping[str, Any],
) -> int:
    """Validate and insert one balance or equity row; returns the account id.

    ``main`` is the (column, value) that must be a Decimal; ``optional`` the Decimal
    columns that may be None (all signs allowed). Problems are listed in the order
    main, currency, optional columns, time.
    """
    problems: list[str] = []
    dec_required(main[1], main[0], problems, positive=False)
    currency_or_none(currency, "currency", problems)
    for name, value in optional.items():
        dec_or_none(value, name, problems, positive=False)
    aware(time, "time", problems)
    if problems:
        raise InputError(problems)
    with store.tx() as conn:
        acct = account_row(conn, account)
        conn.execute(
            table.insert().values(
                **snapshot_row(acct, time or utc_now(), currency, {main[0]: main[1], **optional})
            )
        )
    return acct.id


def balance_history(store: Store,
    account: AccountRef,
    *,
    currency: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[BalanceSnapshot]:
    """Balance snapshots, oldest first."""
    check_range(since, until, currency)
    with store.read() as conn:
        acct = account_row(conn, account)
        where = [balance_t.c.account_id == acct.id]
        if currency:
            where.append(balance_t.c.currency == currency.upper())
        where += time_window(balance_t.c.time, since, until)
        rows = conn.execute(
            select(balance_t).where(*where).order_by(balance_t.c.time, balance_t.c.id)
        ).all()
    return [balance_from_row(r) for r in rows]


def latest_balance(store: Store, account: AccountRef, currency: str | None = None
) -> BalanceSnapshot | None:
    """The newest balance snapshot of ``currency`` (default: settle), or None."""
    with store.read() as conn:
        acct = account_row(conn, account)
        return latest_balance_row(conn, acct, currency)


def equity_history(store: Store,
    account: AccountRef | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[EquitySnapshot]:
    """Equity snapshots (all accounts when ``account`` is None), oldest first."""
    check_range(since, until)
    with store.read() as conn:
        where: list[Any] = []
        if account is not None:
            where.append(equity_t.c.account_id == account_row(conn, account).id)
        where += time_window(equity_t.c.time, since, until)
        rows = conn.execute(
            select(equity_t).where(*where).order_by(equity_t.c.time, equity_t.c.id)
        ).all()
    return [
        EquitySnapshot(
            AccountId(r.account_id),
            r.time,
            r.currency,
            r.equity,
            r.wallet_balance,
            r.unrealized_pnl,
            r.margin_ratio,
        )
        for r in rows
    ]


def pooled_equity(store: Store,
    currency: str = "USDT",
    *,
    accounts: Sequence[AccountRef] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[datetime, Decimal]]:
    """The pooled-equity curve: at each snapshot time, the sum over accounts of each
    account's latest equity snapshot in ``currency`` (carried forward; an account counts
    from its first snapshot on). Oldest first; ``since``/``until`` bound the times."""
    check_range(since, until, currency, currency_required=True)
    cur = currency.upper()
    with store.read() as conn:
        where: list[Any] = [equity_t.c.currency == cur]
        if accounts is not None:
            ids = [account_row(conn, a).id for a in accounts]
            where.append(equity_t.c.account_id.in_(ids))
        # ``since`` is applied after the carry-forward sum, not in SQL
        where += time_window(equity_t.c.time, None, until)
        rows = conn.execute(
            select(equity_t.c.time, equity_t.c.account_id, equity_t.c.equity)
            .where(*where)
            .order_by(equity_t.c.time, equity_t.c.id)
        ).all()
    latest: dict[int, Decimal] = {}
    total = ZERO
    out: list[tuple[datetime, Decimal]] = []
    for t, account_id, equity in rows:
        total += equity - latest.get(account_id, ZERO)
        latest[account_id] = equity
        if since is not None and t < since:
            continue
        if out and out[-1][0] == t:
            out[-1] = (t, total)
        else:
            out.append((t, total))
    return out
