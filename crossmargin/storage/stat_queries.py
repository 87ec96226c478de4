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
)
from crossmargin.storage.rows import STATS_COLS, specs_of
from crossmargin.storage.schema import (
    account_t,
    position_t,
    position_tag_t,
)
from crossmargin.storage.stats import compute_statistics
from crossmargin.storage.store import Store


def statistics(store: Store, filt: PositionFilter | None = None) -> list[Statistics]:
    """Performance of the closed positions matching ``filt``, one entry per settlement
    currency (sorted by currency); open positions are only counted."""
    return statistics_by(store, None, filt).get("", [])


def statistics_by(store: Store, group_by: str | None, filt: PositionFilter | None = None
) -> dict[str, list[Statistics]]:
    """:meth:`statistics` per group: ``symbol``, ``setup``, ``tag`` (a position counts in
    each of its tags; untagged ones under ""), ``side``, ``account`` (label) or ``month``
    (of the close, UTC, ``YYYY-MM``; open positions under "open"). Keys sorted."""
    groups = {
        None: literal_column("''"),
        "symbol": position_t.c.symbol,
        "setup": position_t.c.setup,
        "side": position_t.c.side,
        "account": account_t.c.label,
        "tag": func.coalesce(position_tag_t.c.tag, ""),
        "month": func.coalesce(
            func.strftime("%Y-%m", literal_column("position.closed_at / 1000000"), "unixepoch"),
            "open",
        ),
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
    for r in rows:
        closed_by.setdefault(str(r[-1]), []).append(r[:-1])
    for o in open_rows:
        open_by.setdefault(str(o[-1]), []).append(o[:-1])
    return {
        g: compute_statistics(closed_by.get(g, []), open_by.get(g, []), specs)
        for g in sorted(set(closed_by) | set(open_by))
    }
