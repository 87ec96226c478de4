"""How long the v1 → v2 journal upgrade takes on a big journal (printed; not a test).

Run: python3 tests/benchmarks/bench_journal_upgrade.py [ROWS]

Builds a journal of ROWS fills (default 100,000, the same random walks as
``bench_journal.py``) with 200 synced exchange positions, turns a copy of it back into
schema v1 (the v1 ``exchange_position`` table, ``user_version = 1``) and times
``Journal.open`` on that copy: integrity check, online backup, the table rebuild and the
foreign-key check, all in the upgrade transaction. Also times the integrity check alone
and a plain open of the upgraded file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_journal import make_csv

V1_EXCHANGE_POSITION = """CREATE TABLE exchange_position__v1 (
    id INTEGER NOT NULL, account_id INTEGER NOT NULL, symbol VARCHAR NOT NULL,
    side VARCHAR NOT NULL, contracts VARCHAR NOT NULL, entry_price VARCHAR NOT NULL,
    mark_price VARCHAR NOT NULL, leverage VARCHAR NOT NULL, margin_mode VARCHAR NOT NULL,
    isolated_margin VARCHAR, contract_size VARCHAR NOT NULL, inverse BOOLEAN NOT NULL,
    liquidation_price VARCHAR, unrealized_pnl VARCHAR, updated_at BIGINT NOT NULL,
    PRIMARY KEY (id), UNIQUE (account_id, symbol, side),
    FOREIGN KEY(account_id) REFERENCES account (id) ON DELETE CASCADE)"""


def to_v1(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(V1_EXCHANGE_POSITION)
    conn.execute("INSERT INTO exchange_position__v1 SELECT * FROM exchange_position")
    conn.execute("DROP TABLE exchange_position")
    conn.execute("ALTER TABLE exchange_position__v1 RENAME TO exchange_position")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("COMMIT")
    conn.close()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CROSSMARGIN_HOME"] = tmp
        from crossmargin.domain import Side
        from crossmargin.storage import ExchangePosition, Journal, SyncBatch
        from crossmargin.storage import db as dbmod

        csv_path = Path(tmp) / "fills.csv"
        make_csv(csv_path, rows)
        db = Path(tmp) / "journal.sqlite3"
        with Journal.open(db) as j:
            j.create_account("Bench", rules="binance", kind="exchange")
            j.import_fills_csv("Bench", csv_path)
            j.apply_sync_batch("Bench", SyncBatch(
                fetched_at=datetime.now(UTC),
                positions=[ExchangePosition(f"S{i:03d}USDT", side, Decimal(1), Decimal(100),
                                            Decimal(101), Decimal(10))
                           for i in range(100) for side in (Side.LONG, Side.SHORT)],
            ))
        old = Path(tmp) / "v1.sqlite3"
        shutil.copyfile(db, old)
        to_v1(old)
        size = old.stat().st_size / 1e6

        conn = dbmod.connect(old)
        t = time.perf_counter()
        assert dbmod.integrity_problems(conn) == []
        t_check = time.perf_counter() - t
        conn.close()

        t = time.perf_counter()
        j = Journal.open(old)
        t_upgrade = time.perf_counter() - t
        assert j.info.migrated_from == 1 and len(j.exchange_positions("Bench")) == 200
        j.close()
        t = time.perf_counter()
        Journal.open(old).close()
        t_open = time.perf_counter() - t
        print(f"v1 journal: {rows} fills, {size:.1f} MB")
        print(f"open with v1 -> v2 upgrade:   {t_upgrade * 1000:8.1f} ms "
              "(integrity check + backup + rebuild, one transaction)")
        print(f"  of which integrity check:   {t_check * 1000:8.1f} ms")
        print(f"open the upgraded file again: {t_open * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
