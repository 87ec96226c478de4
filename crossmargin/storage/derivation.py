"""Positions derived from fills: re-deriving an (account, symbol, leg) key after fills
change, matching the new positions to the stored ones (keeping notes, tags, stop and
target), and attributing funding payments to the position open at each payment.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    func,
    or_,
    select,
)

from crossmargin.domain import (
    ZERO,
)
from crossmargin.storage.coltypes import datetime_to_micros, decimal_to_text
from crossmargin.storage.keys import existing_keys, known_keys, numbered_keys, split_new
from crossmargin.storage.ledger import (
    ContractSpec,
    LedgerFill,
    Segment,
    replay,
)
from crossmargin.storage.records import (
    Account,
    NewFill,
    OpChanges,
    PositionStatus,
)
from crossmargin.storage.rows import (
    DERIVED,
    LEGS,
    POSITION_INSERT,
    POSITION_UPDATE,
    account_row,
    chunks,
    ledger_fill,
    spec_of,
    specs_of,
)
from crossmargin.storage.schema import (
    fill_t,
    funding_t,
    meta_t,
    position_t,
)
from crossmargin.storage.store import Store


def rebuild(conn: Connection,
    acct: Account,
    keys: set[tuple[str, str]],
    pending: Mapping[tuple[str, str], Sequence[LedgerFill]] | None = None,
) -> tuple[dict[int, tuple[int, int | None]], set[int]]:
    """Re-derive the positions of each (symbol, leg) key from its fills.

    ``pending`` fills (ids allocated, not yet inserted) take part in the replay; their
    placement (position id, flip position id) is returned for the caller's insert.
    Position rows keep their id (and so their notes and tags) when they still exist
    after the replay: matched through the previous position of their fills.
    Returns (placement of pending fills, ids of positions created/changed/deleted).
    """
    pending = pending or {}
    placement_out: dict[int, tuple[int, int | None]] = {}
    touched: set[int] = set()
    next_pid = (conn.exec_driver_sql("SELECT max(id) FROM position").scalar() or 0) + 1
    funding_since: dict[str, datetime | None] = {}
    # one lookup per symbol (its legs and its funding share the spec)
    specs = specs_of(conn, ((acct.id, symbol) for symbol, _leg in sorted(keys)))
    for symbol, leg in sorted(keys):
        spec = specs[(acct.id, symbol)]
        new = list(pending.get((symbol, leg), ()))
        key_where = and_(
            fill_t.c.account_id == acct.id, fill_t.c.symbol == symbol, fill_t.c.leg == leg
        )
        pos_where = and_(
            position_t.c.account_id == acct.id,
            position_t.c.symbol == symbol,
            position_t.c.leg == leg,
        )
        window = append_window(conn, acct.id, symbol, leg, new)
        fsel = select(
            fill_t.c.id,
            fill_t.c.time,
            fill_t.c.side,
            fill_t.c.price,
            fill_t.c.amount,
            fill_t.c.fee,
            fill_t.c.fee_currency,
            fill_t.c.realized_pnl,
            fill_t.c.position_id,
            fill_t.c.next_position_id,
        ).where(key_where)
        psel = select(position_t).where(pos_where)
        if window is not None:
            start, last_pid = window
            if start is None:  # flat: only the new fills matter
                fsel = fsel.where(False)  # type: ignore[arg-type]
                psel = psel.where(False)  # type: ignore[arg-type]
            else:
                fsel = fsel.where(fill_t.c.position_id == last_pid)
                psel = psel.where(position_t.c.id == last_pid)
        rows = conn.execute(fsel).all()
        old = {r.id: (r.position_id, r.next_position_id) for r in rows}
        result = replay([*map(ledger_fill, rows), *new], spec)
        existing = {r.id: r for r in conn.execute(psel).all()}
        used: set[int] = set()
        seg_ids: list[int] = []
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        head = (acct.id, symbol, leg, "0", acct.margin_mode_default.value, "", "")
        for idx, seg in enumerate(result.segments):
            pid = match_position(seg, idx, result.placement, old, existing, used)
            if pid is None:
                pid = next_pid
                next_pid += 1
                inserts.append((pid, *head, *derived_sql(seg)))
                touched.add(pid)
            else:
                row = existing[pid]
                values = derived_values(seg)
                if any(getattr(row, k) != v for k, v in values.items()):
                    updates.append((*derived_sql(seg), pid))
                    touched.add(pid)
            used.add(pid)
            seg_ids.append(pid)
        if inserts:
            conn.exec_driver_sql(POSITION_INSERT, inserts)
        if updates:
            conn.exec_driver_sql(POSITION_UPDATE, updates)
        fill_updates = []
        for r in rows:
            a, b = result.placement[r.id]
            new_place = (seg_ids[a], seg_ids[b] if b is not None else None)
            if old[r.id] != new_place:
                fill_updates.append((new_place[0], new_place[1], r.id))
        for f in new:
            a, b = result.placement[f.id]
            placement_out[f.id] = (seg_ids[a], seg_ids[b] if b is not None else None)
        if fill_updates:
            conn.exec_driver_sql(
                "UPDATE fill SET position_id = ?, next_position_id = ? WHERE id = ?",
                fill_updates,
            )
        obsolete = set(existing) - used
        if obsolete:
            conn.execute(delete(position_t).where(position_t.c.id.in_(obsolete)))
            touched |= obsolete
        if result.segments or obsolete:
            since = None
            if window is not None:
                since = result.segments[0].opened_at if result.segments else None
            prev = funding_since.get(symbol, since) if symbol in funding_since else since
            funding_since[symbol] = None if prev is None or since is None else min(prev, since)
    for symbol, since in funding_since.items():
        touched |= attribute_funding(
            conn, acct, symbol, since, specs[(acct.id, symbol)]
        )
    return placement_out, touched


def match_position(
    seg: Segment,
    idx: int,
    placement: Mapping[int, tuple[int, int | None]],
    old: Mapping[int, tuple[int | None, int | None]],
    existing: Mapping[int, Any],
    used: set[int],
) -> int | None:
    def ok(pid: int | None) -> bool:
        return pid is not None and pid in existing and pid not in used

    first = old.get(seg.open_fill_id)
    if first is not None:
        flipped_in = placement[seg.open_fill_id][1] == idx
        cand = first[1] if flipped_in else first[0]
        if ok(cand):
            return cand
    for fid in seg.fill_ids:
        prev = old.get(fid)
        if prev is not None:
            for cand in prev:
                if ok(cand):
                    return cand
    return None


def append_window(
    conn: Connection, account_id: int, symbol: str, leg: str, new: Sequence[LedgerFill]
) -> tuple[datetime | None, int | None] | None:
    """When new fills only append after every stored fill of the key, the replay can
    start at the last position instead of the first: returns (start, last position id)
    or (None, None) when the key is flat; None means "replay everything"."""
    if not new:
        return None
    last = conn.execute(
        select(func.max(fill_t.c.time)).where(
            fill_t.c.account_id == account_id, fill_t.c.symbol == symbol, fill_t.c.leg == leg
        )
    ).scalar()
    if last is None:
        return (None, None)
    if min(f.time for f in new) <= last:
        return None
    row = conn.execute(
        select(
            position_t.c.id,
            position_t.c.status,
            position_t.c.opened_at,
            position_t.c.open_fill_id,
        )
        .where(
            position_t.c.account_id == account_id,
            position_t.c.symbol == symbol,
            position_t.c.leg == leg,
        )
        .order_by(position_t.c.opened_at.desc(), position_t.c.id.desc())
        .limit(1)
    ).first()
    if row is None or row.status == PositionStatus.CLOSED.value:
        return (None, None)
    flip = conn.execute(
        select(fill_t.c.next_position_id).where(fill_t.c.id == row.open_fill_id)
    ).scalar()
    if flip is not None:
        return None  # opened by a flip: its first fill also closed the previous one
    return (row.opened_at, row.id)


def attribute_funding(conn: Connection,
    acct: Account,
    symbol: str,
    since: datetime | None,
    spec: ContractSpec | None = None,
) -> set[int]:
    """Point each funding payment of ``symbol`` (at or after ``since``) at the position
    open when it was paid, and refresh the positions' funding sums (``spec``: the
    symbol's contract spec when the caller already has it)."""
    if spec is None:
        spec = spec_of(conn, acct.id, symbol)
    fsel = select(
        funding_t.c.id, funding_t.c.time, funding_t.c.leg, funding_t.c.position_id
    ).where(funding_t.c.account_id == acct.id, funding_t.c.symbol == symbol)
    psel = select(
        position_t.c.id,
        position_t.c.leg,
        position_t.c.opened_at,
        position_t.c.closed_at,
        position_t.c.funding,
    ).where(position_t.c.account_id == acct.id, position_t.c.symbol == symbol)
    if since is not None:
        fsel = fsel.where(funding_t.c.time >= since)
        psel = psel.where(
            or_(position_t.c.closed_at.is_(None), position_t.c.closed_at >= since)
        )
    funds = conn.execute(fsel).all()
    if not funds:
        # nothing to attribute: only positions still showing funding need a reset
        psel = psel.where(position_t.c.funding != Decimal(0))
    positions = conn.execute(psel.order_by(position_t.c.opened_at, position_t.c.id)).all()
    by_leg: dict[str, list[Any]] = {}
    for p in positions:
        by_leg.setdefault(p.leg, []).append(p)
    opens = {leg: [p.opened_at for p in ps] for leg, ps in by_leg.items()}
    changes: list[tuple[int | None, int]] = []
    affected: set[int] = set()
    for f in funds:
        target: int | None = None
        for leg in [f.leg] if f.leg else list(LEGS):
            ps = by_leg.get(leg)
            if not ps:
                continue
            i = bisect.bisect_right(opens[leg], f.time) - 1
            if i >= 0 and (ps[i].closed_at is None or f.time < ps[i].closed_at):
                target = ps[i].id
                break
        if target != f.position_id:
            changes.append((target, f.id))
            if f.position_id is not None:
                affected.add(f.position_id)
            if target is not None:
                affected.add(target)
    if changes:
        conn.exec_driver_sql("UPDATE funding SET position_id = ? WHERE id = ?", changes)
    if since is None:
        affected |= {p.id for p in positions if p.funding != 0}
    if not affected:
        return set()
    sums: dict[int, Decimal] = dict.fromkeys(affected, ZERO)
    settle = spec.settle
    for chunk in chunks(sorted(affected), 500):
        for pid, amount, currency in conn.execute(
            select(funding_t.c.position_id, funding_t.c.amount, funding_t.c.currency).where(
                funding_t.c.position_id.in_(chunk)
            )
        ):
            if not currency or currency.upper() == settle:
                sums[pid] += amount
    current = {
        r.id: r.funding
        for r in conn.execute(
            select(position_t.c.id, position_t.c.funding).where(position_t.c.id.in_(affected))
        )
    }
    ups = [
        (decimal_to_text(v), pid)
        for pid, v in sums.items()
        if pid in current and current[pid] != v
    ]
    if ups:
        conn.exec_driver_sql("UPDATE position SET funding = ? WHERE id = ?", ups)
    return {pid for _, pid in ups}


def rederived(account_id: int, touched: set[int], *, main_id: int | None = None) -> OpChanges:
    """What editing or deleting stored fills changed: fills, the ``touched`` positions
    re-derived from them and their funding."""
    return OpChanges(
        fills=True,
        positions=True,
        funding=True,
        account_ids=frozenset({account_id}),
        position_ids=frozenset(touched),
        id=main_id,
    )


def fill_changes(
    account_id: int, new_ids: Sequence[int], dups: int, touched: set[int], main_id: int | None
) -> OpChanges:
    """What storing fills changed: the fills, and the positions (and their funding)
    re-derived from them; ``main_id`` becomes ``OpChanges.id``."""
    return OpChanges(
        fills=bool(new_ids),
        positions=bool(touched),
        funding=bool(touched),
        account_ids=frozenset({account_id}),
        position_ids=frozenset(touched),
        id=main_id,
        inserted={"fills": len(new_ids)},
        duplicates=dups,
    )


def derived_values(seg: Segment) -> dict[str, Any]:
    """A position's fill-derived columns (as Python values), in ``DERIVED`` order."""
    return dict(zip(DERIVED, derived_python(seg), strict=True))


def derived_python(seg: Segment) -> tuple[Any, ...]:
    return (
        seg.side.value,
        PositionStatus.OPEN.value if seg.is_open else PositionStatus.CLOSED.value,
        seg.open_fill_id,
        seg.opened_at,
        seg.closed_at,
        seg.closed_at or seg.opened_at,
        seg.contracts,
        seg.max_contracts,
        seg.closed_contracts,
        seg.entry_price,
        seg.exit_price,
        seg.realized_pnl,
        seg.fees,
        seg.other_fees_text(),
        len(seg.fill_ids),
        seg.computed_pnl,
    )


def derived_sql(seg: Segment) -> tuple[Any, ...]:
    """The same values as SQL parameters (exact text for Decimals, UTC micros for times)."""
    closed = None if seg.closed_at is None else datetime_to_micros(seg.closed_at)
    opened = datetime_to_micros(seg.opened_at)
    return (
        seg.side.value,
        PositionStatus.OPEN.value if closed is None else PositionStatus.CLOSED.value,
        seg.open_fill_id,
        opened,
        closed,
        opened if closed is None else closed,
        str(seg.contracts),
        str(seg.max_contracts),
        str(seg.closed_contracts),
        str(seg.entry_price),
        None if seg.exit_price is None else str(seg.exit_price),
        str(seg.realized_pnl),
        str(seg.fees),
        seg.other_fees_text(),
        len(seg.fill_ids),
        None if seg.computed_pnl is None else str(seg.computed_pnl),
    )


def insert_fills(conn: Connection,
    acct: Account,
    fills: Sequence[NewFill],
    source: str,
    import_id: int | None = None,
    existing: set[str] | None = None,
) -> tuple[list[int], int, set[int]]:
    """Dedupe, derive positions, insert; returns (new ids, duplicates, touched positions)."""
    if not fills:
        return [], 0, set()
    if len(fills) > 1 and fills[0].time > fills[-1].time:
        fills = fills[::-1]  # newest-first exports: keep same-time fills in trade order
    fills = sorted(fills, key=lambda f: f.time)  # ids follow time (stable for ties)
    candidates = numbered_keys(fills)
    if existing is not None:
        keys = existing
    elif len(fills) <= 5000:  # a sync cycle or a hand entry: look the keys up
        keys = known_keys(conn, acct.id, [k for k, _ in candidates])
    else:  # a big import: one scan of the account's keys is cheaper
        keys = existing_keys(conn, acct.id)
    fresh, dups = split_new(candidates, keys)
    if not fresh:
        return [], dups, set()
    first_id = (conn.exec_driver_sql("SELECT max(id) FROM fill").scalar() or 0) + 1
    pending: dict[tuple[str, str], list[LedgerFill]] = {}
    for i, (_key, f) in enumerate(fresh):
        pending.setdefault((f.symbol, f.leg), []).append(
            LedgerFill(first_id + i, f.time, f.side, f.price, f.amount, f.fee, f.fee_currency,
                       f.realized_pnl)
        )
    placement, touched = rebuild(conn, acct, set(pending), pending)
    rows = []
    for i, (key, f) in enumerate(fresh):
        fid = first_id + i
        pos, nxt = placement[fid]
        rows.append(
            (
                fid,
                acct.id,
                f.symbol,
                f.leg,
                datetime_to_micros(f.time),
                f.side,
                str(f.price),  # validated finite Decimals: str() is their exact text
                str(f.amount),
                str(f.fee),
                f.fee_currency.upper(),
                None if f.realized_pnl is None else str(f.realized_pnl),
                f.trade_id,
                f.order_id,
                key,
                source,
                import_id,
                pos,
                nxt,
                f.note,
            )
        )
    conn.exec_driver_sql(
        "INSERT INTO fill (id, account_id, symbol, leg, time, side, price, amount, fee, "
        "fee_currency, realized_pnl, trade_id, order_id, dedupe_key, source, import_id, "
        "position_id, next_position_id, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    return [first_id + i for i in range(len(fresh))], dups, touched


def finish_upgrade(store: Store) -> None:
    """Re-derive the positions an upgrade step left in ``meta.rederive`` (keys where two
    names of one contract met: see :func:`.migrations.canonicalize_symbols`), in one
    transaction, once (at open, and after a restore)."""
    with store.read() as conn:
        row = conn.execute(select(meta_t.c.value).where(meta_t.c.key == "rederive")).first()
    if row is None:
        return
    with store.tx() as conn:
        by_account: dict[int, set[tuple[str, str]]] = {}
        for account_id, symbol, leg in json.loads(row.value):
            by_account.setdefault(int(account_id), set()).add((symbol, leg))
        for account_id, keys in by_account.items():
            rebuild(conn, account_row(conn, account_id), keys)
        conn.execute(delete(meta_t).where(meta_t.c.key == "rederive"))
