"""Fills: add, edit, delete, read, and the CSV import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    or_,
)
from sqlalchemy import update as sa_update

from crossmargin.errors import InputError
from crossmargin.storage.csv_import import parse_fills_csv
from crossmargin.storage.derivation import (
    fill_changes,
    insert_fills,
    rebuild,
    rederived,
)
from crossmargin.storage.keys import (
    canon,
    canon_all,
    canonical_or_same,
    existing_keys,
    numbered_keys,
    split_new,
)
from crossmargin.storage.records import (
    Fill,
    ImportReport,
    NewFill,
    OpChanges,
    Page,
)
from crossmargin.storage.rows import (
    FILL_EDITABLE,
    SOURCES,
    AccountRef,
    account_row,
    fill_from_row,
    fill_row,
    inserted_id,
    page_rows,
    time_window,
    utc_now,
)
from crossmargin.storage.schema import (
    fill_t,
    import_batch_t,
)
from crossmargin.storage.store import Store
from crossmargin.storage.validation import check_paging, check_range, validate_fill


def add_fill(
    store: Store, account: AccountRef, fill: NewFill, *, source: str = "manual"
) -> OpChanges:
    """Store one fill (a duplicate of a stored one is skipped: ``duplicates == 1``)."""
    return add_fills(store, account, [fill], source=source)


def add_fills(store: Store, account: AccountRef, fills: Sequence[NewFill], *, source: str = "manual"
) -> OpChanges:
    """Store many fills in one transaction; duplicates (trade id or content) are skipped.

    ``OpChanges.id`` is the first new fill's id; ``inserted["fills"]`` the count.
    """
    problems: list[str] = []
    if source not in SOURCES:
        problems.append(f"source: must be one of {', '.join(SOURCES)}, got {source!r}")
    fills = canon_all(fills, "fills", problems)
    for i, f in enumerate(fills):
        validate_fill(f, f"fills[{i}]", problems)
    if problems:
        raise InputError(problems)
    with store.tx() as conn:
        acct = account_row(conn, account)
        new_ids, dups, touched = insert_fills(conn, acct, fills, source)
    return fill_changes(acct.id, new_ids, dups, touched, new_ids[0] if new_ids else None)


def edit_fill(store: Store, fill_id: int, **changes: Any) -> OpChanges:
    """Change a fill (time, side, price, amount, fee, fee_currency, symbol, leg, note,
    order_id); the positions of the old and new key are re-derived. The fill keeps its
    duplicate-detection key, so re-importing the row it came from does not bring the
    unedited version back."""
    with store.tx() as conn:
        account_id, touched = update_fill(conn, fill_id, changes)
    return rederived(account_id, touched, main_id=fill_id)


def update_fill(conn: Connection, fill_id: int, changes: Mapping[str, Any]
                ) -> tuple[int, set[int]]:
    """:func:`edit_fill` inside the caller's transaction: ``(account id, re-derived
    position ids)``; raises InputError (nothing written) on a bad value."""
    unknown = set(changes) - set(FILL_EDITABLE)
    if unknown:
        raise InputError([f"fill.{k}: cannot be edited" for k in sorted(unknown)])
    row = fill_row(conn, fill_id)
    merged = NewFill(
        **{k: changes.get(k, getattr(row, k)) for k in FILL_EDITABLE},
        trade_id=row.trade_id,
    )
    problems: list[str] = []
    merged = replace(merged, symbol=canon(merged.symbol, "fill", problems))
    validate_fill(merged, "fill", problems)
    if problems:
        raise InputError(problems)
    acct = account_row(conn, row.account_id)
    values = {k: getattr(merged, k) for k in FILL_EDITABLE}
    values["fee_currency"] = merged.fee_currency.upper()
    conn.execute(sa_update(fill_t).where(fill_t.c.id == fill_id).values(**values))
    _p, touched = rebuild(conn, acct, {(row.symbol, row.leg), (merged.symbol, merged.leg)})
    return acct.id, touched


def delete_fill(store: Store, fill_id: int) -> OpChanges:
    """Delete one fill; its positions are re-derived."""
    with store.tx() as conn:
        row = fill_row(conn, fill_id)
        acct = account_row(conn, row.account_id)
        conn.execute(delete(fill_t).where(fill_t.c.id == fill_id))
        _p, touched = rebuild(conn, acct, {(row.symbol, row.leg)})
    return rederived(acct.id, touched)


def fills(store: Store,
    *,
    account: AccountRef | None = None,
    position_id: int | None = None,
    symbol: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 1000,
) -> Page[Fill]:
    """Fills, newest first. ``position_id`` also matches a fill that flipped into it."""
    check_paging(offset, limit, 1_000_000)
    check_range(since, until)
    with store.read() as conn:
        where: list[Any] = []
        if account is not None:
            where.append(fill_t.c.account_id == account_row(conn, account).id)
        if position_id is not None:
            where.append(
                or_(
                    fill_t.c.position_id == position_id,
                    fill_t.c.next_position_id == position_id,
                )
            )
        if symbol:
            where.append(fill_t.c.symbol == canonical_or_same(symbol))
        where += time_window(fill_t.c.time, since, until)
        total, rows = page_rows(
            conn, fill_t, where, (fill_t.c.time.desc(), fill_t.c.id.desc()), offset, limit
        )
    items = tuple(fill_from_row(r) for r in rows)
    return Page(items, total, offset, limit)


def fill(store: Store, fill_id: int) -> Fill:
    """One fill by id (InputError if unknown)."""
    with store.read() as conn:
        return fill_from_row(fill_row(conn, fill_id))


def import_fills_csv(store: Store,
    account: AccountRef,
    file: Path | str,
    *,
    preset: str = "auto",
    mapping: Mapping[str, str] | None = None,
    dry_run: bool = False,
    preview_rows: int = 10,
    strict: bool = False,
    naive_tz: tzinfo = UTC,
    decimal: str | None = None,
) -> ImportReport:
    """Import fills from a CSV file in one transaction (see :mod:`.csv_import`).

    ``decimal``: the file's decimal separator ('.' or ','); None detects it once for
    the whole file (a number that could be read both ways is never guessed).

    Bad rows are reported (line + reason) and skipped; duplicates (already stored, by
    exchange trade id or content) are counted and skipped, so re-importing a file adds
    nothing. ``dry_run`` parses and checks against the journal but writes nothing.
    ``strict``: any rejected row aborts the import (InputError listing every bad
    line) and nothing is written. ``naive_tz``: the zone of times written without one
    (default UTC, which is what Binance and Bybit exports use).
    """
    parsed = parse_fills_csv(file, preset=preset, mapping=mapping, naive_tz=naive_tz,
                             decimal=decimal)
    name = Path(file).name
    if strict and parsed.rejected and not dry_run:
        raise InputError(
            [f"{name}: line {r.line}: {r.reason}" for r in parsed.rejected]
            + [f"{name}: nothing imported; fix these rows or skip them explicitly"]
        )
    fills = [f for _line, f in parsed.fills]
    preview = tuple(fills[:preview_rows])
    with store.read() as conn:
        acct = account_row(conn, account)
    if dry_run:
        with store.read() as conn:
            keys = existing_keys(conn, acct.id)
        fresh, dup = split_new(numbered_keys(fills), keys)
        return ImportReport(
            name, parsed.preset, parsed.rows, len(fresh), dup, parsed.rejected, preview,
            True, decimal=parsed.decimal, decimal_reason=parsed.decimal_reason,
            preset_reason=parsed.preset_reason,
        )
    with store.tx() as conn:
        acct = account_row(conn, acct.id)
        batch_id = inserted_id(
            conn.execute(
                import_batch_t.insert().values(
                    account_id=acct.id,
                    file_name=name,
                    preset=parsed.preset,
                    imported_at=utc_now(),
                    rows_total=parsed.rows,
                    rows_inserted=0,
                    rows_duplicate=0,
                    rows_rejected=len(parsed.rejected),
                )
            )
        )
        new_ids, dups, touched = insert_fills(conn, acct, fills, "import", batch_id)
        conn.execute(
            sa_update(import_batch_t)
            .where(import_batch_t.c.id == batch_id)
            .values(
                rows_inserted=len(new_ids),
                rows_duplicate=dups,
            )
        )
    changes = fill_changes(acct.id, new_ids, dups, touched, batch_id)
    return ImportReport(
        name, parsed.preset, parsed.rows, len(new_ids), dups, parsed.rejected, preview,
        False, changes, decimal=parsed.decimal, decimal_reason=parsed.decimal_reason,
        preset_reason=parsed.preset_reason,
    )
