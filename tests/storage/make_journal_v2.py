"""Make ``data/journal_v2.sqlite3``: a journal written by schema v2, kept for upgrade tests.

Written by the build that last had schema v2 (before the v3 step existed), with the same
content as the v1 file plus what v2 added (a cross and an isolated exchange position on
one instrument and side). Never regenerate it after the schema has changed: its point
is to be what users of v2 have on disk. Checked by
``test_migrations.py::test_kept_v2_file_upgrades``.
"""

from __future__ import annotations

import sys
from decimal import Decimal as D
from pathlib import Path

from crossmargin.domain import MarginMode, Side
from crossmargin.storage import ExchangePosition, Journal, SyncBatch
from tests.storage.make_journal_v1 import at
from tests.storage.make_journal_v1 import build as build_v1


def build(path: Path) -> None:
    build_v1(path)
    j = Journal.open(path)
    try:
        okx = j.create_account("OKX", kind="exchange", exchange_id="okx", rules="okx",
                               settle="BTC").id
        j.apply_sync_batch(okx, SyncBatch(fetched_at=at(6), positions=[
            ExchangePosition("BTC/USD:BTC", Side.LONG, D(100), D("60000.5"), D("61000"), D(10),
                             MarginMode.CROSS, contract_size=D(100), inverse=True,
                             liquidation_price=D("89.11")),
            ExchangePosition("BTC/USD:BTC", Side.LONG, D(3), D("69000"), D("61000"), D(20),
                             MarginMode.ISOLATED, isolated_margin=D("0.0002"),
                             contract_size=D(100), inverse=True,
                             liquidation_price=D("69536.61")),
        ]))
    finally:
        j.close()
    for suffix in ("-wal", "-shm", ".lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path(__file__).resolve().parent / "data" / "journal_v2.sqlite3"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    build(out)
    print(f"wrote {out}")
