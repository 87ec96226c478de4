"""Schema upgrade steps: ``STEPS[n]`` upgrades a journal from schema ``n`` to ``n + 1``.

Rules for a new step (calibre style): bump :data:`crossmargin.storage.schema.SCHEMA_VERSION`,
add the step here as plain SQL on the raw :class:`sqlite3.Connection` (it runs inside the
single exclusive upgrade transaction that :func:`crossmargin.storage.db.migrate` opens after
backing the file up; never COMMIT in a step), keep the previous *released* schema's database
file under ``tests/storage/data/`` (made by ``tests/storage/make_journal_v<N>.py``) and let
``tests/storage/test_migrations.py`` upgrade it. Steps must be written against the *old*
tables as they were, never by importing the current models: a step is frozen history.

Version history
---------------
* v1 (CrossMargin 0.1): accounts, instruments, tiers, positions, tags, fills, funding,
  transfers, balance/equity snapshots, exchange positions, sync cursors, import batches,
  meta. Kept file: ``tests/storage/data/journal_v1.sqlite3``.
* v2: ``exchange_position`` is unique on (account, symbol, side, **margin_mode**) instead of
  (account, symbol, side), so OKX's cross and isolated positions on one instrument are both
  stored. SQLite cannot change a UNIQUE constraint in place: the table is rebuilt
  (:func:`rebuild_table`). No kept file yet: v2 is what this build creates; freeze one
  (``make_journal_v2.py``) when v2 ships, before any v3 step is written. Kept file:
  ``tests/storage/data/journal_v2.sqlite3``.
* v3: the exchange's own realised PnL per fill (``fill.realized_pnl``, NULL when the
  exchange gave none) and, per position, the PnL recomputed from the fills when the
  shown ``realized_pnl`` is the exchange's (``position.computed_pnl``, else NULL). Two
  nullable columns added in place; existing rows keep their recomputed PnL (NULL in both
  new columns) until a re-sync brings the exchange's figures.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from crossmargin.storage.db import MigrationStep


def rebuild_table(
    conn: sqlite3.Connection, table: str, create_sql: str, columns: Sequence[str]
) -> None:
    """Replace ``table`` by one made with ``create_sql`` (SQLite's documented 12-step rebuild).

    ``create_sql`` must create ``<table>__new`` with the new definition; ``columns`` are
    copied row for row (ids included, values untouched: Decimal text stays text). The
    table's explicit indexes and triggers are recreated from their stored SQL after the
    rename. Runs inside the caller's transaction. ``PRAGMA foreign_keys`` cannot be
    switched off inside a transaction, so only a table that no other table references may
    be rebuilt this way (checked: dropping a parent would cascade into its children).
    """
    new = f"{table}__new"
    referenced_by = [
        name
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if name != table
        and any(
            fk[2] == table
            for fk in conn.execute(f'PRAGMA foreign_key_list("{name}")')
        )
    ]
    if referenced_by:
        raise sqlite3.OperationalError(
            f"cannot rebuild {table}: referenced by {', '.join(referenced_by)}"
        )
    extras = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
            "AND sql IS NOT NULL",
            (table,),
        )
    ]
    before = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    conn.execute(create_sql)
    cols = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f'INSERT INTO "{new}" ({cols}) SELECT {cols} FROM "{table}"')
    after = conn.execute(f'SELECT count(*) FROM "{new}"').fetchone()[0]
    if after != before:  # pragma: no cover - INSERT ... SELECT copies every row or raises
        raise sqlite3.IntegrityError(f"{table}: copied {after} of {before} rows")
    conn.execute(f'DROP TABLE "{table}"')
    conn.execute(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    for sql in extras:
        conn.execute(sql)


_EXCHANGE_POSITION_COLUMNS = (
    "id",
    "account_id",
    "symbol",
    "side",
    "contracts",
    "entry_price",
    "mark_price",
    "leverage",
    "margin_mode",
    "isolated_margin",
    "contract_size",
    "inverse",
    "liquidation_price",
    "unrealized_pnl",
    "updated_at",
)


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """exchange_position: UNIQUE (account_id, symbol, side) → (…, side, margin_mode)."""
    rebuild_table(
        conn,
        "exchange_position",
        """CREATE TABLE exchange_position__new (
            id INTEGER NOT NULL,
            account_id INTEGER NOT NULL,
            symbol VARCHAR NOT NULL,
            side VARCHAR NOT NULL,
            contracts VARCHAR NOT NULL,
            entry_price VARCHAR NOT NULL,
            mark_price VARCHAR NOT NULL,
            leverage VARCHAR NOT NULL,
            margin_mode VARCHAR NOT NULL,
            isolated_margin VARCHAR,
            contract_size VARCHAR NOT NULL,
            inverse BOOLEAN NOT NULL,
            liquidation_price VARCHAR,
            unrealized_pnl VARCHAR,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (id),
            UNIQUE (account_id, symbol, side, margin_mode),
            FOREIGN KEY(account_id) REFERENCES account (id) ON DELETE CASCADE
        )""",
        _EXCHANGE_POSITION_COLUMNS,
    )


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """fill.realized_pnl and position.computed_pnl (both nullable Decimal text)."""
    conn.execute("ALTER TABLE fill ADD COLUMN realized_pnl VARCHAR")
    conn.execute("ALTER TABLE position ADD COLUMN computed_pnl VARCHAR")


STEPS: dict[int, MigrationStep] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
}
