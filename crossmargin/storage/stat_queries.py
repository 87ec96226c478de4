"""Trading statistics read from the journal (the arithmetic is :mod:`.stats`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import (
    func,
    literal_column,
    select,
)

from crossmargin.errors import InputError
from crossmargin.storage.positions import position_where
from crossmargin.storage.records import (
    PositionFilter,
    PositionStatus,
    Statistics,
    TradeResult,
)
from crossmargin.storage.rows import STATS_COLS, specs_of
from crossmargin.storage.schema import (
    account_t,
    position_t,
    position_tag_t,
)
from crossmargin.storage.stats import compute_statistics
from crossmargin.storage.stats import trade_results as compute_trade_results
from crossmargin.storage.store import Store

_WEEKDAYS = {"0": "7 Sun", "1": "1 Mon", "2": "2 Tue", "3": "3 Wed", "4": "4 Thu",
             "5": "5 Fri", "6": "6 Sat"}


def _closed(fmt: str, *, local: bool = False) -> Any:
    """The close time as ``fmt`` (SQLite strftime; positions still open: "open")."""
    when = [literal_column("position.closed_at / 1000000"), "unixepoch"]
    if local:
        when.append("localtime")
    return func.coalesce(func.strftime(fmt, *when), "open")


def trade_results(store: Store, filt: PositionFilter | None = None) -> list[TradeResult]:
    """Each closed position matching ``filt`` in close order: its net PnL, fees, funding
    and R (for the R distribution, the daily calendar and the drawdown curve)."""
    filt = filt or PositionFilter()
    with store.read() as conn:
        where = position_where(conn, replace(filt, status=PositionStatus.CLOSED))
        raw: list[Any] = [literal_column(f"position.{c}") for c in STATS_COLS]
        rows = conn.execute(
            select(*raw, position_t.c.closed_at, position_t.c.id).where(*where)
            .order_by(position_t.c.closed_at, position_t.c.id)
        ).all()
        specs = specs_of(conn, {(r[0], r[1]) for r in rows})
    return compute_trade_results(rows, specs)


def statistics(store: Store, filt: PositionFilter | None = None) -> list[Statistics]:
    """Performance of the closed positions matching ``filt``, one entry per settlement
    currency (sorted by currency); open positions are only counted."""
    return statistics_by(store, None, filt).get("", [])


def statistics_by(store: Store, group_by: str | None, filt: PositionFilter | None = None
) -> dict[str, list[Statistics]]:
    """:meth:`statistics` per group: ``symbol``, ``setup``, ``tag`` (a position counts in
    each of its tags; untagged ones under ""), ``side``, ``account`` (label), ``month``
    (of the close, UTC, ``YYYY-MM``), or in this computer's local time ``weekday`` of the
    close (``1 Mon`` … ``7 Sun``), ``hour`` (``00`` … ``23``) or ``day`` (``YYYY-MM-DD``);
    open positions under "open". Keys sorted."""
    groups = {
        None: literal_column("''"),
        "symbol": position_t.c.symbol,
        "setup": position_t.c.setup,
        "side": position_t.c.side,
        "account": account_t.c.label,
        "tag": func.coalesce(position_tag_t.c.tag, ""),
        "month": _closed("%Y-%m"),
        "weekday": _closed("%w", local=True),
        "hour": _closed("%H", local=True),
        "day": _closed("%Y-%m-%d", local=True),
    }
    if group_by not in groups:
        names = ", ".join(str(k) for k in groups if k)
        raise InputError(f"group by {group_by!r}: choose one of {names}")
    key = groups[group_by].label("group_key")
    filt = filt or PositionFilter()
    source: Any = position_t
    if group_by == "account":
        source = source.join(account_t, account_t.c.id == position_t.c.account_id)
    if group_by == "tag":
        source = source.outerjoin(
            position_tag_t, position_tag_t.c.position_id == position_t.c.id
        )
    with store.read() as conn:
        where = position_where(conn, replace(filt, status=PositionStatus.CLOSED))
        raw: list[Any] = [literal_column(f"position.{c}") for c in STATS_COLS]
        rows = conn.execute(
            select(*raw, key)  # raw text columns: no per-row type processing
            .select_from(source)
            .where(*where)
            .order_by(position_t.c.closed_at, position_t.c.id)
        ).all()
        open_where = position_where(conn, replace(filt, status=PositionStatus.OPEN))
        open_rows = conn.execute(
            select(position_t.c.account_id, position_t.c.symbol, key)
            .select_from(source)
            .where(*open_where)
        ).all()
        specs = specs_of(conn, ((r[0], r[1]) for r in [*rows, *open_rows]))
    if group_by is None:  # one group: no regrouping pass over the rows
        stats = compute_statistics(rows, open_rows, specs)
        return {"": stats} if stats else {}
    closed_by: dict[str, list[Any]] = {}
    open_by: dict[str, list[Any]] = {}
    labels: dict[str, str] = _WEEKDAYS if group_by == "weekday" else {}
    for r in rows:
        closed_by.setdefault(labels.get(str(r[-1]), str(r[-1])), []).append(r[:-1])
    for o in open_rows:
        open_by.setdefault(labels.get(str(o[-1]), str(o[-1])), []).append(o[:-1])
    return {
        g: compute_statistics(closed_by.get(g, []), open_by.get(g, []), specs)
        for g in sorted(set(closed_by) | set(open_by))
    }
