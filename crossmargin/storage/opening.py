"""The opening fill of a position: the one fill whose amount, price and time are the
position's size, entry and open time, so that editing those edits that fill."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, or_, select

from crossmargin.domain import Side
from crossmargin.errors import InputError
from crossmargin.storage.records import Fill
from crossmargin.storage.rows import fill_from_row, fill_row, position_row
from crossmargin.storage.schema import fill_t
from crossmargin.storage.store import Store

#: Position fields that belong to its opening fill: editing one edits that fill.
OPENING_FIELDS = {"opening_size": "amount", "entry_price": "price", "opened_at": "time"}



def opening_fill(store: Store, position_id: int) -> Fill:
    """The one fill that opened a position, whose amount, price and time are the
    position's size, entry and open time (InputError, saying why, when there is none:
    several fills opened it, or a flip did)."""
    with store.read() as conn:
        return fill_from_row(fill_row(conn, opening_fill_id(conn, position_row(conn, position_id))))


def renamed(problem: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        if problem.startswith(old):
            return new + problem[len(old):]
    return problem


def opening_fill_id(conn: Connection, pos: Any) -> int:
    """The one fill that opened ``pos`` (its size, entry and open time are that fill's);
    InputError naming the fills when several opened it or a flip did."""
    open_side = "buy" if pos.side == Side.LONG.value else "sell"
    rows = conn.execute(
        select(fill_t.c.id, fill_t.c.next_position_id).where(
            fill_t.c.account_id == pos.account_id,
            fill_t.c.symbol == pos.symbol,
            fill_t.c.leg == pos.leg,
            or_(and_(fill_t.c.position_id == pos.id, fill_t.c.side == open_side),
                fill_t.c.next_position_id == pos.id),
        ).order_by(fill_t.c.time, fill_t.c.id)
    ).all()
    flip = [r.id for r in rows if r.next_position_id == pos.id]
    if flip:
        raise InputError(
            f"position #{pos.id} was opened by fill #{flip[0]}, which also closed the "
            "position before it: edit that fill instead (Journal tab → Fills), so both "
            "positions stay consistent")
    if len(rows) != 1:
        listed = ", ".join(f"#{r.id}" for r in rows)
        raise InputError(
            f"the size, entry and open time of position #{pos.id} come from its "
            f"{len(rows)} opening fills ({listed}): edit those fills instead "
            "(Journal tab → Fills)")
    return int(rows[0].id)
