"""Positions table with 10,000 rows: sort times (target <= 200 ms) and a live mark update.

Run: python3 tests/benchmarks/bench_gui_positions.py

The book is bench_engine's 10,000-position hedge-mode account on real Binance
brackets (5,000 symbols, 20 % isolated). The engine answer (``evaluate`` plus
``switched_liquidation_prices``) is computed once, outside the timings. Timed:
filling the model, sorting the shown QTableView (proxy -> model, Decimal raw
values) by each numeric column both ways including the repaint, and a tick that
moves every mark (``set_positions`` diff -> ``dataChanged``) plus its repaint.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import load_tiers, make_account
from PySide6.QtCore import Qt

from crossmargin.margin import evaluate, switched_liquidation_prices
from desktop.app import create_application
from desktop.models.positions import PositionColumn
from desktop.session import AccountSession, RiskSnapshot, with_marks
from desktop.tasks import TaskRunner
from desktop.views.positions import PositionsView

N = 10_000


def main() -> int:
    app = create_application()
    t0 = time.perf_counter()
    state = make_account(N, load_tiers(), isolated_share=0.2)
    risk = evaluate(state)
    switched = switched_liquidation_prices(state)
    print(f"engine answer for {N:,} positions (not part of the GUI figures): "
          f"{time.perf_counter() - t0:.2f} s")

    tasks = TaskRunner()
    session = AccountSession(tasks=tasks)
    view = PositionsView(session=session)
    view.resize(1600, 900)
    view.show()
    app.processEvents()

    t0 = time.perf_counter()
    view._on_snapshot(RiskSnapshot(state, risk, switched))
    view.table.viewport().repaint()
    print(f"fill the table with {N:,} rows (first paint):                  "
          f"{(time.perf_counter() - t0) * 1000:7.1f} ms")

    sort_times: list[tuple[str, float]] = []
    for column in PositionColumn:
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            t0 = time.perf_counter()
            view.table.sortByColumn(int(column), order)
            view.table.viewport().repaint()
            sort_times.append((f"{column.name.lower()} {order.name[:-5].lower()}",
                               time.perf_counter() - t0))
            app.processEvents()
    ms = [t * 1000 for _, t in sort_times]
    worst_name, worst = max(sort_times, key=lambda x: x[1])
    print(f"sort by a column ({len(ms)} sorts, incl. repaint): "
          f"median {statistics.median(ms):6.1f} ms  worst {worst * 1000:6.1f} ms "
          f"({worst_name})   target <= 200 ms")

    view.table.sortByColumn(int(PositionColumn.LIQUIDATION), Qt.SortOrder.AscendingOrder)
    moved = with_marks(state, {p.symbol: p.mark_price * Decimal("1.001") for p in state.positions})
    risk2 = evaluate(moved)
    switched2 = switched_liquidation_prices(moved)
    t0 = time.perf_counter()
    view._on_snapshot(RiskSnapshot(moved, risk2, switched2))
    view.table.viewport().repaint()
    print(f"live tick moving every mark (diff, dataChanged, re-sort, repaint): "
          f"{(time.perf_counter() - t0) * 1000:7.1f} ms")
    view.proxy.set_query("long isolated")
    t0 = time.perf_counter()
    view.proxy.set_query("short cross")
    view.table.viewport().repaint()
    print(f"filter {N:,} rows:                                              "
          f"{(time.perf_counter() - t0) * 1000:7.1f} ms")
    tasks.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
