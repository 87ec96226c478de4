"""Make ``data/journal_v3.sqlite3``: a journal written by schema v3, kept for upgrade tests.

Written by the build that last had schema v3 (before the v4 step existed), with the same
content as the v2 file plus what v3 added (an account default leverage, an exchange's
realised PnL on a fill, a BTC balance beside the USDT one). Never regenerate it after the
schema has changed. Checked by ``test_migrations.py::test_kept_v3_file_upgrades``.
"""

from __future__ import annotations

import sys
from decimal import Decimal as D
from pathlib import Path

from crossmargin.storage import Journal, NewFill
from tests.storage.make_journal_v1 import at
from tests.storage.make_journal_v2 import build as build_v2


def build(path: Path) -> None:
    build_v2(path)
    j = Journal.open(path)
    try:
        acct = j.create_account("Binance", kind="exchange", exchange_id="binanceusdm",
                                rules="binance", settle="USDT", default_leverage=D(10)).id
        j.add_fills(acct, [
            NewFill("BTC/USDT:USDT", "buy", D("90000"), D("0.1"), at(20), trade_id="v3a",
                    realized_pnl=D(0)),
            NewFill("BTC/USDT:USDT", "sell", D("91000"), D("0.1"), at(21), trade_id="v3b",
                    realized_pnl=D("100")),
        ])
        j.record_balance(acct, D("5000"), currency="USDT", time=at(22))
        j.record_balance(acct, D("0.25"), currency="BTC", time=at(22))
    finally:
        j.close()
    for suffix in ("-wal", "-shm", ".lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path(__file__).resolve().parent / "data" / "journal_v3.sqlite3"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    build(out)
    print(f"wrote {out}")
