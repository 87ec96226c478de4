"""Journal tab with years of history: first page, incremental loading, repaint.

Run: python3 tests/benchmarks/bench_gui_journal.py

Builds a journal (private temporary CROSSMARGIN_HOME) with 100,000 fills on one
manual account: 50,000 round trips on 20 symbols, one every 30 minutes (~6 years).
Timed (wall clock, median of 5 unless noted):

* ``journal_page``: what the tab reads after every change (first 500 positions and
  fills, statistics), worker side; then ``pnl_curve`` (the cumulative-PnL curve of every
  closed position), which the tab reads in a separate, cancellable task;
* ``fills_page`` / ``positions_page`` deep in history (offset 90,000 / 45,000);
* ``append_page`` of 500 rows into the Qt model plus the repaint of the shown table;
* scrolling a shown fills table to the end of 5,000 loaded rows page by page.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

N_FILLS = 100_000
SYMBOLS = [f"C{i:02d}/USDT:USDT" for i in range(20)]


def _median(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def build(journal) -> int:
    from crossmargin.domain import RuleSet
    from crossmargin.storage import AccountKind, Instrument, NewFill

    acct = journal.create_account("bench", kind=AccountKind.MANUAL, rules=RuleSet.GENERIC,
                                  settle="USDT").id
    for s in SYMBOLS:
        base = s.split("/")[0]
        journal.set_instrument(acct, Instrument(s, base, "USDT", "USDT",
                                                maintenance_margin_rate=Decimal("0.005")))
    start = datetime(2020, 1, 1, tzinfo=UTC)
    batch = []
    for i in range(N_FILLS):
        trip, leg = divmod(i, 2)
        symbol = SYMBOLS[trip % len(SYMBOLS)]
        price = Decimal(100 + (trip % 97)) + (Decimal(trip % 7) if leg else 0)
        batch.append(NewFill(symbol=symbol, side="buy" if leg == 0 else "sell", price=price,
                             amount=Decimal(1), time=start + timedelta(minutes=30 * i),
                             fee=Decimal("0.05"), fee_currency="USDT", trade_id=f"b{i}"))
        if len(batch) == 10_000:
            journal.add_fills(acct, batch)
            batch = []
    if batch:
        journal.add_fills(acct, batch)
    return int(acct)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cm-bench-journal-") as tmp:
        os.environ["CROSSMARGIN_HOME"] = tmp
        from PySide6.QtWidgets import QTableView

        from crossmargin.storage import Journal
        from desktop import journal_ops as ops
        from desktop.app import create_application
        from desktop.models.journal import FillsTableModel

        app = create_application()
        journal = Journal.open(Path(tmp) / "bench.db")
        t0 = time.perf_counter()
        acct = build(journal)
        print(f"built {N_FILLS:,} fills / {N_FILLS // 2:,} positions in "
              f"{time.perf_counter() - t0:.1f} s")

        print(f"journal_page (first pages + statistics):        "
              f"{_median(lambda: ops.journal_page(journal, acct), 3):8.1f} ms")
        print(f"pnl_curve (every closed position, own task):    "
              f"{_median(lambda: ops.pnl_curve(journal, acct), 3):8.1f} ms")
        print(f"fills_page at offset 90,000:                    "
              f"{_median(lambda: ops.fills_page(journal, acct, 90_000)):8.1f} ms")
        print(f"positions_page at offset 45,000:                "
              f"{_median(lambda: ops.positions_page(journal, acct, 45_000)):8.1f} ms")

        pages = [ops.fills_page(journal, acct, off).items for off in range(0, 5000, 500)]
        model = FillsTableModel()
        view = QTableView()
        view.setModel(model)
        view.resize(1200, 700)
        view.show()
        app.processEvents()
        model.set_rows(pages[0], N_FILLS)
        app.processEvents()
        times = []
        for k, page in enumerate(pages[1:], start=1):
            t0 = time.perf_counter()
            model.append_page(page, 500 * k, N_FILLS)
            view.scrollToBottom()
            view.viewport().repaint()
            times.append((time.perf_counter() - t0) * 1000)
        print(f"append 500 rows + scroll + repaint (median of 9): "
              f"{statistics.median(times):6.1f} ms (max {max(times):.1f} ms)")
        journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
