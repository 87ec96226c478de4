"""Exports (CSV per kind, the whole journal as JSON) and restoring a backup.

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
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select

from crossmargin import paths
from crossmargin.errors import InputError
from crossmargin.storage import db as dbmod
from crossmargin.storage import migrations, schema
from crossmargin.storage.records import OpChanges, PositionFilter

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
    with _atomic_text(dest) as fh, journal._read() as conn:
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
    with _atomic_text(dest) as fh, journal._read() as conn:
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


def restore_into(journal: Journal, source: Path) -> OpChanges:
    """Replace the journal's content with the backup ``source`` (see Journal.restore).

    Nothing touches the live journal until the candidate has passed every check on a
    private copy: it is an SQLite file of CrossMargin's, not from a newer version, sound
    (``integrity_check``), and its upgrade to this version's schema has been run for real
    on the copy. Only then is the live journal saved (``backups/…-before-restore-…``) and
    its content replaced in one transaction (SQLite's backup API into the live file), so a
    refused or failed restore leaves the journal byte for byte as it was.
    """
    source = Path(source).expanduser()
    if not source.is_file():
        raise InputError(f"{source}: backup file not found")
    if source.resolve() == journal.path:
        raise InputError(f"{source} is the open journal itself; choose a backup file")
    work = Path(tempfile.mkdtemp(prefix=".restore-", dir=journal.path.parent))
    try:
        candidate = _rehearse_restore(source, work / "candidate.sqlite3")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backups = paths.ensure(journal.path.parent / "backups")
        safety = journal.backup(backups / f"{journal.path.stem}-before-restore-{stamp}.sqlite3",
                                allow_damaged=True)
        with journal._write_lock:
            src = dbmod.connect(candidate, readonly=True)
            dest = dbmod.connect(journal.path)
            try:
                src.backup(dest)  # one write transaction on the live file: all or nothing
                dest.execute("PRAGMA journal_mode = WAL")
            except Exception as exc:
                raise dbmod.JournalError(
                    f"restoring {source} failed ({exc}); your journal was not changed; a copy "
                    f"of it as it was is saved at {safety}"
                ) from exc
            finally:
                dest.close()
                src.close()
        journal.info = replace(journal.info, damage=())
        journal._finish_upgrade()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return OpChanges.everything(saved_copy=str(safety))


def _rehearse_restore(source: Path, candidate: Path) -> Path:
    """Copy ``source`` to ``candidate`` and bring the copy to this version's schema, or
    raise a JournalError saying why the backup cannot be restored ("nothing was
    restored": the live journal is not touched here)."""
    refused = "; nothing was restored and your journal was not changed"
    try:
        src = dbmod.connect(source, readonly=True)
    except (OSError, sqlite3.Error, UnicodeDecodeError) as exc:
        raise dbmod.NotAJournalError(f"{source} cannot be read as a journal ({exc}){refused}") \
            from None
    try:
        try:
            app_id, version, has_tables = dbmod.read_versions(src, source)
        except dbmod.NotAJournalError:
            raise dbmod.NotAJournalError(
                f"{source} is not a CrossMargin journal backup (or is too damaged to tell)"
                f"{refused}") from None
        if app_id != schema.APPLICATION_ID or not has_tables:
            raise dbmod.NotAJournalError(f"{source} is not a CrossMargin journal backup{refused}")
        if version > schema.SCHEMA_VERSION:
            raise dbmod.SchemaTooNewError(
                f"{source} comes from a newer CrossMargin (schema v{version}; this version "
                f"understands up to v{schema.SCHEMA_VERSION}){refused}"
            )
        problems = dbmod.integrity_problems(src)
        if problems:
            raise dbmod.JournalCorruptError(
                f"{source} is damaged ({'; '.join(problems[:3])}){refused}"
            )
        dbmod.backup_to(src, candidate)
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise dbmod.JournalCorruptError(f"{source} cannot be read ({exc}){refused}") from None
    finally:
        src.close()
    conn = dbmod.connect(candidate)
    try:
        dbmod.migrate(conn, candidate, target=schema.SCHEMA_VERSION, steps=migrations.STEPS)
        problems = dbmod.integrity_problems(conn)
        if problems:
            raise dbmod.JournalCorruptError(
                f"{source} upgraded to schema v{schema.SCHEMA_VERSION} is not sound "
                f"({'; '.join(problems[:3])}){refused}")
    except dbmod.MigrationError as exc:
        raise dbmod.MigrationError(
            f"{source} (schema v{version}) cannot be brought to this version's schema "
            f"v{schema.SCHEMA_VERSION}: {str(exc).split('; ')[0]}{refused}") from None
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise dbmod.JournalCorruptError(f"{source} cannot be upgraded ({exc}){refused}") \
            from None
    finally:
        conn.close()
    return candidate
