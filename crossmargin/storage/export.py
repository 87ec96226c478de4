"""Exports: CSV per kind, and the whole journal as JSON (restoring a backup is :mod:`.restore`).

Every file is written to a temporary name and renamed into place, so a failed export
never leaves a truncated file under the requested name. Decimals are written exactly
(``str(Decimal)``), times as ISO 8601 in UTC (``2024-05-01T12:00:00+00:00``).

The fills CSV uses the column names of the ``generic`` import preset, so a fills export
can be imported again (into another journal or account) with the same result.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select

from crossmargin.errors import InputError
from crossmargin.storage import schema
from crossmargin.storage.records import PositionFilter

if TYPE_CHECKING:
    from crossmargin.storage.journal import Journal

POSITION_COLUMNS = (
    "id",
    "account",
    "symbol",
    "leg",
    "side",
    "status",
    "opened_at",
    "closed_at",
    "contracts",
    "max_contracts",
    "entry_price",
    "exit_price",
    "realized_pnl",
    "fees",
    "other_fees",
    "funding",
    "net_pnl",
    "settle",
    "leverage",
    "margin_mode",
    "isolated_margin",
    "stop_price",
    "target_price",
    "r_multiple",
    "setup",
    "tags",
    "rating",
    "notes",
)
FILL_COLUMNS = (
    "id",
    "account",
    "time",
    "symbol",
    "leg",
    "side",
    "price",
    "amount",
    "fee",
    "fee_currency",
    "trade_id",
    "order_id",
    "position_id",
    "next_position_id",
    "source",
    "note",
)
FUNDING_COLUMNS = (
    "id",
    "account",
    "time",
    "symbol",
    "amount",
    "currency",
    "exchange_id",
    "position_id",
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str):  # StrEnum
        return value.value
    return str(value)


@contextmanager
def _atomic_text(dest: Path) -> Iterator[IO[str]]:
    dest = Path(dest)
    if dest.is_dir():
        raise InputError(f"{dest} is a folder; give a file name, e.g. {dest / 'export.csv'}")
    tmp = dest.with_name(dest.name + ".partial")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fh_ = open(tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{dest}: cannot write ({exc.strerror or exc})") from None
    try:
        with fh_ as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise InputError(f"{dest}: cannot write ({exc.strerror or exc}); nothing was written") \
            from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def export_positions_csv(journal: Journal, dest: Path, filt: PositionFilter | None = None) -> int:
    """Write positions matching ``filt`` (newest first); returns the row count."""
    labels = {a.id: a.label for a in journal.accounts()}
    n = 0
    with _atomic_text(dest) as fh:
        w = csv.writer(fh)
        w.writerow(POSITION_COLUMNS)
        offset = 0
        while True:
            page = journal.positions(filt, offset=offset, limit=5000)
            for p in page.items:
                row = {
                    **{c: getattr(p, c, None) for c in POSITION_COLUMNS},
                    "account": labels.get(p.account_id, p.account_id),
                    "other_fees": ";".join(f"{k}={v}" for k, v in p.other_fees.items()),
                    "net_pnl": p.net_pnl,
                    "r_multiple": p.r_multiple,
                    "tags": ";".join(p.tags),
                }
                w.writerow([_text(row[c]) for c in POSITION_COLUMNS])
                n += 1
            if not page.has_more:
                break
            offset += len(page.items)
    return n


def export_fills_csv(journal: Journal, dest: Path, account: int | str | None = None) -> int:
    """Write fills (oldest first) in the generic import format; returns the row count."""
    acct_id = journal.account(account).id if account is not None else None
    labels = {a.id: a.label for a in journal.accounts()}
    n = 0
    with _atomic_text(dest) as fh, journal.read() as conn:
        w = csv.writer(fh)
        w.writerow(FILL_COLUMNS)
        t = schema.fill_t
        q = select(t).order_by(t.c.time, t.c.id)
        if acct_id is not None:
            q = q.where(t.c.account_id == acct_id)
        for r in conn.execute(q):
            m = r._mapping
            w.writerow(
                [_text(labels.get(r.account_id) if c == "account" else m[c]) for c in FILL_COLUMNS]
            )
            n += 1
    return n


def export_funding_csv(journal: Journal, dest: Path, account: int | str | None = None) -> int:
    """Write funding payments (oldest first; amount > 0 received); returns the row count."""
    labels = {a.id: a.label for a in journal.accounts()}
    pays = journal.funding_payments(account=account)
    with _atomic_text(dest) as fh:
        w = csv.writer(fh)
        w.writerow(FUNDING_COLUMNS)
        for p in pays:
            w.writerow(
                [
                    _text(labels.get(p.account_id) if c == "account" else getattr(p, c))
                    for c in FUNDING_COLUMNS
                ]
            )
    return len(pays)


def export_json(journal: Journal, dest: Path) -> dict[str, int]:
    """Write every table to one JSON document; returns rows per table.

    ``{"format": "crossmargin-journal", "schema_version": N, "exported_at": ISO,
    "tables": {name: [{column: value}]}}`` with Decimals and times as strings.
    """
    counts: dict[str, int] = {}
    with _atomic_text(dest) as fh, journal.read() as conn:
        fh.write('{"format": "crossmargin-journal", ')
        fh.write(f'"schema_version": {schema.SCHEMA_VERSION}, ')
        fh.write(f'"exported_at": {json.dumps(datetime.now(UTC).isoformat())}, "tables": {{')
        for ti, table in enumerate(schema.JOURNAL_TABLES):
            fh.write(("" if ti == 0 else ", ") + json.dumps(table.name) + ": [")
            n = 0
            order = [c for c in table.primary_key.columns]
            for r in conn.execute(select(table).order_by(*order)):
                obj = {k: _json_value(v) for k, v in r._mapping.items()}
                fh.write(("" if n == 0 else ", ") + json.dumps(obj, ensure_ascii=False))
                n += 1
            fh.write("]")
            counts[table.name] = n
        fh.write("}}\n")
    return counts


def _json_value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    return _text(v)
