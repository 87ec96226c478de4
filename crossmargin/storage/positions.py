"""Positions: log, close, edit, tag, delete (through their fills) and read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    select,
)
from sqlalchemy import update as sa_update

from crossmargin.domain import (
    ZERO,
    MarginMode,
    Side,
)
from crossmargin.errors import InputError
from crossmargin.storage.derivation import insert_fills, rebuild, rederived
from crossmargin.storage.fills import update_fill
from crossmargin.storage.keys import canon, canonical_or_same
from crossmargin.storage.ledger import (
    replay,
)
from crossmargin.storage.opening import OPENING_FIELDS, opening_fill_id, renamed
from crossmargin.storage.records import (
    AccountId,
    JournalPosition,
    JournalPositionId,
    NewFill,
    OpChanges,
    Page,
    PositionFilter,
    PositionStatus,
)
from crossmargin.storage.rows import (
    MAX_PAGE,
    AccountRef,
    account_row,
    aware,
    chunks,
    insert_tags,
    ledger_fill,
    page_rows,
    parse_other_fees,
    position_row,
    spec_of,
    specs_of,
    utc_now,
)
from crossmargin.storage.schema import (
    fill_t,
    position_t,
    position_tag_t,
)
from crossmargin.storage.store import Store
from crossmargin.storage.validation import (
    annotation_values,
    check_paging,
    clean_tags,
    validate_fill,
)


def add_position(store: Store,
    account: AccountRef,
    symbol: str,
    side: Side | str,
    contracts: Decimal,
    entry_price: Decimal,
    *,
    time: datetime | None = None,
    fee: Decimal = ZERO,
    fee_currency: str = "",
    leg: str = "net",
    tags: Iterable[str] = (),
    **annotations: Any,
) -> OpChanges:
    """Log a new position by hand: stores its opening fill; ``OpChanges.id`` = position id.

    Refused when the account already has an open position on that symbol and leg (add a
    fill to scale in, or close it first). ``annotations``: leverage, margin_mode,
    isolated_margin, stop_price, target_price, mark_price, setup, notes, rating.
    """
    try:
        side = Side(side)
    except ValueError:
        raise InputError(f"side: must be 'long' or 'short', got {side!r}") from None
    if annotations.get("margin_mode", "") is None:
        del annotations["margin_mode"]  # None: the position's default (cross)
    fill = NewFill(
        symbol=symbol.strip() if isinstance(symbol, str) else symbol,
        side="buy" if side is Side.LONG else "sell",
        price=entry_price,
        amount=contracts,
        time=time or utc_now(),
        fee=fee,
        fee_currency=fee_currency or "",
        leg=leg,
    )
    problems: list[str] = []
    fill = replace(fill, symbol=canon(fill.symbol, "position", problems))
    validate_fill(fill, "position", problems)
    values = annotation_values(annotations, problems)
    tag_list = clean_tags(tags, problems)
    if problems:
        raise InputError([p.replace("position.amount", "position.contracts") for p in problems])
    with store.tx() as conn:
        acct = account_row(conn, account)
        clash = conn.execute(
            select(position_t.c.id, position_t.c.side).where(
                position_t.c.account_id == acct.id,
                position_t.c.symbol == fill.symbol,
                position_t.c.leg == leg,
                position_t.c.status == PositionStatus.OPEN.value,
            )
        ).first()
        if clash is not None:
            raise InputError(
                f"{acct.label} already has an open {fill.symbol} {clash.side} position "
                f"(#{clash.id}); add a fill to it or close it first"
            )
        ids, _dups, touched = insert_fills(conn, acct, [fill], "manual")
        if not ids:
            raise InputError("an identical fill is already stored; nothing was added")
        pid = int(
            conn.execute(select(fill_t.c.position_id).where(fill_t.c.id == ids[0])).scalar_one()
        )
        if values:
            conn.execute(sa_update(position_t).where(position_t.c.id == pid).values(**values))
        insert_tags(conn, pid, tag_list)
    return OpChanges(
        positions=True,
        fills=True,
        account_ids=frozenset({acct.id}),
        position_ids=frozenset(touched | {pid}),
        id=pid,
        inserted={"fills": 1},
    )


def close_position(store: Store,
    position_id: int,
    price: Decimal,
    *,
    contracts: Decimal | None = None,
    time: datetime | None = None,
    fee: Decimal = ZERO,
    fee_currency: str = "",
) -> OpChanges:
    """Close an open position (or ``contracts`` of it) at ``price`` with a reducing fill."""
    with store.tx() as conn:
        pos = position_row(conn, position_id)
        if pos.status != PositionStatus.OPEN.value:
            raise InputError(f"position #{position_id} is already closed")
        amount = pos.contracts if contracts is None else contracts
        problems: list[str] = []
        if isinstance(amount, Decimal) and amount.is_finite() and amount > pos.contracts:
            problems.append(
                f"contracts: {amount} is more than the {pos.contracts} still open on "
                f"#{position_id}"
            )
        when = time or utc_now()
        if time is not None and time.tzinfo is not None and time < pos.opened_at:
            problems.append(
                f"time: {time.isoformat()} is before the position opened "
                f"({pos.opened_at.isoformat()})"
            )
        fill = NewFill(
            symbol=pos.symbol,
            side="sell" if pos.side == Side.LONG.value else "buy",
            price=price,
            amount=amount,
            time=when,
            fee=fee,
            fee_currency=fee_currency or "",
            leg=pos.leg,
        )
        validate_fill(fill, "close", problems)
        if problems:
            raise InputError([p.replace("close.amount", "close.contracts") for p in problems])
        acct = account_row(conn, pos.account_id)
        ids, _d, touched = insert_fills(conn, acct, [fill], "manual")
        if not ids:
            raise InputError("an identical fill is already stored; nothing was changed")
    return OpChanges(
        positions=True,
        fills=True,
        account_ids=frozenset({acct.id}),
        position_ids=frozenset(touched | {position_id}),
        id=ids[0],
        inserted={"fills": 1},
    )


def edit_position(store: Store, position_id: int, **changes: Any) -> OpChanges:
    """Change a position's own fields: leverage, margin_mode, isolated_margin, stop_price,
    target_price, mark_price, exchange_liquidation_price, setup, notes, rating, tags.

    ``opening_size`` (contracts), ``entry_price`` and ``opened_at`` are its opening
    fill's amount, price and time: they are written to that fill and the position is
    re-derived (refused, naming the fills, when several fills opened it or it was opened
    by a flip: edit those fills with :meth:`edit_fill`). All in one transaction.
    """
    problems: list[str] = []
    opening = {OPENING_FIELDS[k]: changes.pop(k) for k in list(changes) if k in OPENING_FIELDS}
    tags = changes.pop("tags", None)
    if "margin_mode" in changes and changes["margin_mode"] is None:
        problems.append("margin_mode: must be cross or isolated, got None")
        del changes["margin_mode"]
    values = annotation_values(changes, problems)
    tag_list = clean_tags(tags, problems) if tags is not None else None
    if problems:
        raise InputError(problems)
    touched: set[int] = set()
    with store.tx() as conn:
        pos = position_row(conn, position_id)
        if opening:
            fill_id = opening_fill_id(conn, pos)
            try:
                _a, touched = update_fill(conn, fill_id, opening)
            except InputError as exc:  # name the position's fields, not the fill's
                names = {f"fill.{v}": k for k, v in OPENING_FIELDS.items()}
                raise InputError([renamed(p, names) for p in exc.problems]) from None
        if values:
            conn.execute(
                sa_update(position_t).where(position_t.c.id == pos.id).values(**values)
            )
        if tag_list is not None:
            conn.execute(delete(position_tag_t).where(position_tag_t.c.position_id == pos.id))
            insert_tags(conn, pos.id, tag_list)
    if opening:
        return rederived(pos.account_id, touched | {pos.id})
    return OpChanges(
        positions=True,
        account_ids=frozenset({pos.account_id}),
        position_ids=frozenset({pos.id}),
    )


def add_tags(store: Store, position_id: int, tags: Iterable[str]) -> OpChanges:
    """Add tags to a position (existing ones are kept)."""
    current = position(store, position_id).tags
    return edit_position(store, position_id, tags=(*current, *tags))


def remove_tags(store: Store, position_id: int, tags: Iterable[str]) -> OpChanges:
    """Remove tags from a position (case-insensitive; absent ones are ignored)."""
    drop = {t.strip().lower() for t in tags}
    current = position(store, position_id).tags
    return edit_position(store, position_id, tags=[t for t in current if t not in drop])


def delete_position(store: Store, position_id: int) -> OpChanges:
    """Delete a position and its fills.

    Fills shared with a neighbour through a flip are cut, not deleted: the fill that
    flipped into this position keeps the part that closed the previous position, the
    fill that flipped out of it keeps the part that opened the next one (fees pro rata),
    so the neighbouring positions stay exactly as they were.
    """
    with store.tx() as conn:
        pos = position_row(conn, position_id)
        acct = account_row(conn, pos.account_id)
        spec = spec_of(conn, acct.id, pos.symbol)
        rows = conn.execute(
            select(fill_t).where(
                fill_t.c.account_id == acct.id,
                fill_t.c.symbol == pos.symbol,
                fill_t.c.leg == pos.leg,
            )
        ).all()
        result = replay([ledger_fill(r) for r in rows], spec)
        k = next(
            (
                i
                for i, seg in enumerate(result.segments)
                if seg.open_fill_id == pos.open_fill_id
            ),
            None,
        )
        doomed = [r.id for r in rows if pos.id in (r.position_id, r.next_position_id)]
        if k is not None:
            doomed = []
            for r in rows:
                a, b = result.placement[r.id]
                if (a, b) == (k, None):
                    doomed.append(r.id)
                    continue
                if b == k:  # flipped in: keep the part that closed the previous position
                    keep = result.flip_close[r.id]
                elif a == k and b is not None:  # flipped out: keep what opened the next one
                    keep = r.amount - result.flip_close[r.id]
                else:
                    continue
                conn.execute(
                    sa_update(fill_t)
                    .where(fill_t.c.id == r.id)
                    .values(amount=keep, fee=r.fee * keep / r.amount)
                )
        for chunk in chunks(doomed, 500):
            conn.execute(delete(fill_t).where(fill_t.c.id.in_(chunk)))
        conn.execute(delete(position_t).where(position_t.c.id == pos.id))
        _p, touched = rebuild(conn, acct, {(pos.symbol, pos.leg)})
    return rederived(acct.id, touched | {pos.id})


def position(store: Store, position_id: int) -> JournalPosition:
    """One position by id (InputError if unknown)."""
    with store.read() as conn:
        row = position_row(conn, position_id)
        return to_positions(conn, [row])[0]


def positions(store: Store, filt: PositionFilter | None = None, *, offset: int = 0, limit: int = 100
) -> Page[JournalPosition]:
    """Positions matching ``filt``, newest opened first, one page at a time."""
    filt = filt or PositionFilter()
    check_paging(offset, limit, MAX_PAGE)
    with store.read() as conn:
        where = position_where(conn, filt)
        total, rows = page_rows(
            conn,
            position_t,
            where,
            (position_t.c.opened_at.desc(), position_t.c.id.desc()),
            offset,
            limit,
        )
        items = to_positions(conn, rows)
    return Page(tuple(items), total, offset, limit)


def open_positions(store: Store, account: AccountRef) -> list[JournalPosition]:
    """The account's open positions, newest first."""
    page = positions(store,
        PositionFilter(account=account, status=PositionStatus.OPEN), limit=MAX_PAGE
    )
    return list(page.items)


def position_where(conn: Connection, filt: PositionFilter) -> list[Any]:
    where: list[Any] = []
    problems: list[str] = []
    aware(filt.since, "since", problems)
    aware(filt.until, "until", problems)
    if filt.status is not None and filt.status not in tuple(PositionStatus):
        problems.append(f"status: must be open or closed, got {filt.status!r}")
    if filt.side is not None and filt.side not in tuple(Side):
        problems.append(f"side: must be long or short, got {filt.side!r}")
    if problems:
        raise InputError(problems)
    if filt.account is not None:
        where.append(position_t.c.account_id == account_row(conn, filt.account).id)
    if filt.symbol:
        where.append(position_t.c.symbol == canonical_or_same(filt.symbol))
    if filt.status is not None:
        where.append(position_t.c.status == PositionStatus(filt.status).value)
    if filt.side is not None:
        where.append(position_t.c.side == Side(filt.side).value)
    if filt.since is not None:
        where.append(position_t.c.activity_at >= filt.since)
    if filt.until is not None:
        where.append(position_t.c.activity_at < filt.until)
    if filt.tag:
        where.append(
            position_t.c.id.in_(
                select(position_tag_t.c.position_id).where(
                    position_tag_t.c.tag == filt.tag.strip().lower()
                )
            )
        )
    return where


def to_positions(conn: Connection, rows: Sequence[Any]) -> list[JournalPosition]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    tags: dict[int, list[str]] = {}
    for chunk in chunks(ids, 500):
        for pid, tag in conn.execute(
            select(position_tag_t.c.position_id, position_tag_t.c.tag)
            .where(position_tag_t.c.position_id.in_(chunk))
            .order_by(position_tag_t.c.tag)
        ):
            tags.setdefault(pid, []).append(tag)
    specs = specs_of(conn, ((r.account_id, r.symbol) for r in rows))
    out = []
    for r in rows:
        spec = specs[(r.account_id, r.symbol)]
        out.append(
            JournalPosition(
                id=JournalPositionId(r.id),
                account_id=AccountId(r.account_id),
                symbol=r.symbol,
                leg=r.leg,
                side=Side(r.side),
                status=PositionStatus(r.status),
                opened_at=r.opened_at,
                closed_at=r.closed_at,
                contracts=r.contracts,
                max_contracts=r.max_contracts,
                closed_contracts=r.closed_contracts,
                entry_price=r.entry_price,
                exit_price=r.exit_price,
                realized_pnl=r.realized_pnl,
                fees=r.fees,
                other_fees=parse_other_fees(r.other_fees),
                funding=r.funding,
                fill_count=r.fill_count,
                settle=spec.settle,
                contract_size=spec.contract_size,
                inverse=spec.inverse,
                leverage=r.leverage,
                margin_mode=MarginMode(r.margin_mode),
                isolated_margin=r.isolated_margin,
                stop_price=r.stop_price,
                target_price=r.target_price,
                mark_price=r.mark_price,
                exchange_liquidation_price=r.exchange_liquidation_price,
                setup=r.setup,
                notes=r.notes,
                rating=r.rating,
                tags=tuple(tags.get(r.id, ())),
                computed_pnl=r.computed_pnl,
            )
        )
    return out


def symbols(store: Store, account: AccountRef) -> list[str]:
    """Every symbol the account has fills on (sorted)."""
    with store.read() as conn:
        acct = account_row(conn, account)
        return [
            r[0]
            for r in conn.execute(
                select(fill_t.c.symbol)
                .where(fill_t.c.account_id == acct.id)
                .distinct()
                .order_by(fill_t.c.symbol)
            )
        ]


def tags(store: Store) -> list[str]:
    """Every tag in use, sorted."""
    with store.read() as conn:
        return [
            r[0]
            for r in conn.execute(
                select(position_tag_t.c.tag).distinct().order_by(position_tag_t.c.tag)
            )
        ]
