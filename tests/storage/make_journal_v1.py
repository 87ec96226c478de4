"""Make ``data/journal_v1.sqlite3``: a journal written by schema v1, kept for upgrade tests.

Run once per released schema (``python3 tests/storage/make_journal_v1.py``) and commit the
file; never regenerate an old one after its schema has changed — its whole point is to be
what users of that version have on disk. The content is checked by
``test_migrations.py::test_oldest_kept_file_opens_and_upgrades``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from crossmargin.domain import Side, Tier
from crossmargin.storage import (
    BalanceIn,
    EquityIn,
    ExchangePosition,
    Instrument,
    Journal,
    NewFill,
    NewFunding,
    NewTransfer,
    SyncBatch,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def at(h: float) -> datetime:
    return T0 + timedelta(hours=h)


def build(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    j = Journal.open(path)
    try:
        manual = j.create_account("Manual", rules="binance", settle="USDT").id
        pid = j.add_position(
            manual, "BTCUSDT", "long", D("0.00000001"), D("1000000.12345678"), time=at(0),
            fee=D("0.0000000001"), fee_currency="BTC", leverage=D(20), stop_price=D("990000"),
            tags=["v1", "tiny"], setup="dust", notes="smallest size", rating=3,
        ).id
        j.close_position(pid, D("1000100"), time=at(1))
        j.add_fills(manual, [
            NewFill("ETHUSDT", "buy", D("3000.5"), D("1.10"), at(2), D("0.33"), "USDT", "e1"),
            NewFill("ETHUSDT", "sell", D("3100"), D("2.20"), at(3), D("0.66"), "USDT", "e2"),
        ])
        j.add_funding(manual, [NewFunding("ETHUSDT", at(3.5), D("-0.125"), "USDT", "fu1")])
        j.add_transfers(manual, [NewTransfer(at(-1), "USDT", D("10000"), "deposit", "d1")])
        j.record_balance(manual, D("10000.00"), time=at(-1))
        j.set_tiers(manual, "ETHUSDT", (Tier(D(0), D(50000), D("0.005"), D(0), D(100)),
                                        Tier(D(50000), None, D("0.0065"), D(75), D(75))))
        ex = j.create_account("Exchange", kind="exchange", exchange_id="bybit", rules="bybit",
                              settle="USDT").id
        j.apply_sync_batch(ex, SyncBatch(
            fetched_at=at(5),
            balances=[BalanceIn("USDT", D("2500.75"), D("2000"))],
            positions=[ExchangePosition("SOL/USDT:USDT", Side.SHORT, D(10), D("150.25"),
                                        D("149"), D(5), liquidation_price=D("290"))],
            fills=[NewFill("SOL/USDT:USDT", "sell", D("150.25"), D(10), at(4), D("0.75"),
                           "USDT", "s1")],
            instruments=[Instrument("SOL/USDT:USDT", "SOL", "USDT", "USDT", D(1))],
            equity=EquityIn("USDT", D("2513.25")),
            cursors={"fills": "1709269200000"},
        ))
    finally:
        j.close()
    for suffix in ("-wal", "-shm", ".lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path(__file__).resolve().parent / "data" / "journal_v1.sqlite3"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    build(out)
    print(f"wrote {out}")
