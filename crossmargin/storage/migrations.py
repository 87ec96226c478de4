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
  new columns) until a re-sync brings the exchange's figures. The account's default
  leverage (``account.default_leverage``, nullable). And one contract, one symbol:
  every stored symbol becomes its canonical (ccxt unified) name
  (:func:`canonicalize_symbols`); where two names of one contract meet (an imported
  ``BTCUSDT`` and a hand-logged ``BTC/USDT:USDT``) the positions of that key are
  re-derived from their fills at the next open (``meta.rederive``).
  Kept file: ``tests/storage/data/journal_v3.sqlite3``.
* v4: pooled multi-asset collateral: ``account.collateral_mode`` (``single`` for every
  existing account) and the ``collateral_rate`` table (an asset's price and collateral
  value ratios per account). Balances of the other assets are the existing balance
  snapshots.
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


def _canon(symbol: str) -> str:
    from crossmargin.symbols import SymbolError, canonical

    try:
        return canonical(symbol)
    except SymbolError:
        return symbol  # not a contract name we read: kept as it was


def _fill_hash_key(symbol: str, leg: str, micros: int, side: str, price: str, amount: str,
                   fee: str, fee_currency: str, order_id: str | None) -> str:
    """The v3 content key of an id-less fill (the same recipe as ``fill_dedupe_key``)."""
    import hashlib
    from decimal import Decimal

    def num(text: str) -> str:
        n = Decimal(text).normalize()
        return format(n, "f") if n == n.to_integral_value() or -30 < n.adjusted() < 30 else str(n)

    text = "|".join((symbol, leg, str(micros), side, num(price), num(amount), num(fee),
                     fee_currency.upper(), order_id or ""))
    return "h:" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def canonicalize_symbols(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """Rename every stored symbol to its canonical name; returns the (account, symbol,
    leg) keys whose positions must be re-derived (two names met, or a duplicate trade
    stored under both names was dropped)."""
    rederive: set[tuple[int, str, str]] = set()
    names = {s for (s,) in conn.execute(
        "SELECT symbol FROM fill UNION SELECT symbol FROM position UNION SELECT symbol FROM "
        "funding UNION SELECT symbol FROM instrument UNION SELECT symbol FROM tier UNION "
        "SELECT symbol FROM exchange_position")}
    renames = {s: _canon(s) for s in names if _canon(s) != s}
    if not renames:
        return []
    # keys where a second name of the same contract already exists
    for table in ("fill", "position"):
        rows = conn.execute(f"SELECT DISTINCT account_id, symbol, leg FROM {table}").fetchall()
        seen: dict[tuple[int, str, str], set[str]] = {}
        for acct, sym, leg in rows:
            seen.setdefault((acct, _canon(sym), leg), set()).add(sym)
        rederive |= {k for k, v in seen.items() if len(v) > 1}
    # fills: new symbol and dedupe key; a key taken already is the same trade twice
    keys = {(a, k) for a, k in conn.execute("SELECT account_id, dedupe_key FROM fill")}
    for old, new in renames.items():
        for fid, acct, leg, key, micros, side, price, amount, fee, fcur, oid in conn.execute(
            "SELECT id, account_id, leg, dedupe_key, time, side, price, amount, fee, "
            "fee_currency, order_id FROM fill WHERE symbol = ?", (old,)
        ).fetchall():
            if key.startswith("t:"):
                new_key = "t:" + new + key[len("t:" + old):]
            else:
                suffix = key[key.index("#"):] if "#" in key else ""
                new_key = _fill_hash_key(new, leg, micros, side, price, amount, fee, fcur,
                                         oid) + suffix
            if (acct, new_key) in keys:
                conn.execute("DELETE FROM fill WHERE id = ?", (fid,))
                rederive.add((acct, new, leg))
                continue
            keys.discard((acct, key))
            keys.add((acct, new_key))
            conn.execute("UPDATE fill SET symbol = ?, dedupe_key = ? WHERE id = ?",
                         (new, new_key, fid))
        conn.execute("UPDATE position SET symbol = ? WHERE symbol = ?", (new, old))
        fkeys = {(a, k) for a, k in conn.execute("SELECT account_id, dedupe_key FROM funding")}
        for gid, acct, key in conn.execute(
            "SELECT id, account_id, dedupe_key FROM funding WHERE symbol = ?", (old,)
        ).fetchall():
            new_key = key[:2] + new + key[2 + len(old):] if key[2:].startswith(old) else key
            if (acct, new_key) in fkeys:
                conn.execute("DELETE FROM funding WHERE id = ?", (gid,))
                continue
            conn.execute("UPDATE funding SET symbol = ?, dedupe_key = ? WHERE id = ?",
                         (new, new_key, gid))
        # specs and tiers: the canonical name's own rows win over a second name's
        for table in ("instrument", "tier"):
            conn.execute(
                f"DELETE FROM {table} WHERE symbol = ? AND account_id IN "
                f"(SELECT account_id FROM {table} WHERE symbol = ?)", (old, new))
            conn.execute(f"UPDATE {table} SET symbol = ? WHERE symbol = ?", (new, old))
        conn.execute("DELETE FROM exchange_position WHERE symbol = ? AND EXISTS (SELECT 1 FROM "
                     "exchange_position e WHERE e.symbol = ? AND e.account_id = "
                     "exchange_position.account_id AND e.side = exchange_position.side AND "
                     "e.margin_mode = exchange_position.margin_mode)", (old, new))
        conn.execute("UPDATE exchange_position SET symbol = ? WHERE symbol = ?", (new, old))
    return sorted(rederive)


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """fill.realized_pnl, position.computed_pnl, account.default_leverage (nullable Decimal
    text); canonical symbols everywhere, with the keys to re-derive left in ``meta``."""
    import json

    conn.execute("ALTER TABLE fill ADD COLUMN realized_pnl VARCHAR")
    conn.execute("ALTER TABLE position ADD COLUMN computed_pnl VARCHAR")
    conn.execute("ALTER TABLE account ADD COLUMN default_leverage VARCHAR")
    rederive = canonicalize_symbols(conn)
    if rederive:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rederive', ?)",
                     (json.dumps(rederive),))


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """account.collateral_mode (every existing account: single-asset, as it was
    evaluated) and the collateral_rate table (empty until a sync or the user fills it)."""
    conn.execute("ALTER TABLE account ADD COLUMN collateral_mode VARCHAR")  # NULL: single
    conn.execute(
        "CREATE TABLE collateral_rate ("
        " id INTEGER NOT NULL PRIMARY KEY,"
        " account_id INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE,"
        " asset VARCHAR NOT NULL,"
        " price VARCHAR NOT NULL,"
        " ratios VARCHAR NOT NULL,"
        " updated_at BIGINT NOT NULL,"
        " UNIQUE (account_id, asset))")


STEPS: dict[int, MigrationStep] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
}
