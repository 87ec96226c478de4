"""Journal benchmarks (printed figures; not part of the test suite).

Run: python3 tests/benchmarks/bench_journal.py [ROWS]

1. import 100,000 fills from a CSV file into a fresh journal (target <= 5 s);
2. open that journal and list the newest 500 positions (target <= 100 ms);
3. statistics over all of it (target <= 500 ms);
plus re-importing the same file (everything a duplicate) and one small append.

Fills are random walks on 20 symbols with exchange trade ids, sized so that positions
open, scale in, reduce, close and flip (about 4-5 fills per position).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path


def make_csv(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    symbols = [f"C{i:02d}USDT" for i in range(20)]
    net = dict.fromkeys(symbols, 0)
    price = {s: rng.randint(10, 60_000) for s in symbols}
    t0 = 1_700_000_000_000
    with path.open("w", encoding="utf-8") as fh:
        fh.write("time,symbol,side,price,amount,fee,fee_currency,trade_id\n")
        for i in range(rows):
            s = symbols[rng.randrange(20)]
            n = net[s]
            if n == 0:
                q = rng.randint(1, 10)
                side = rng.choice((1, -1))
            elif rng.random() < 0.35:  # close completely, sometimes flipping
                q = abs(n) + (rng.randint(1, 5) if rng.random() < 0.2 else 0)
                side = -1 if n > 0 else 1
            else:
                q = rng.randint(1, 10)
                side = rng.choice((1, -1))
            net[s] = n + side * q
            price[s] = max(1, price[s] + rng.randint(-50, 50))
            fee = Decimal(q) * price[s] * Decimal("0.0004")
            fh.write(
                f"{t0 + i * 250},{s},{'buy' if side > 0 else 'sell'},{price[s]}.{i % 100:02d},"
                f"{q}e-3,{fee:.8f},USDT,{i}\n"
            )


def timed(fn, repeat: int = 1):
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return result, times


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CROSSMARGIN_HOME"] = tmp
        from crossmargin.storage import Journal, NewFill

        csv_path = Path(tmp) / "fills.csv"
        make_csv(csv_path, rows)
        db = Path(tmp) / "journal.sqlite3"

        j = Journal.open(db)
        j.create_account("Bench", rules="binance")
        report, t_import = timed(lambda: j.import_fills_csv("Bench", csv_path))
        assert report.new == rows and not report.rejected, report
        again, t_again = timed(lambda: j.import_fills_csv("Bench", csv_path))
        assert again.new == 0 and again.duplicates == rows
        n_pos = j.positions(limit=1).total
        last = datetime.fromtimestamp(1_700_000_000 + rows, UTC)
        small = [NewFill("C00USDT", "buy", Decimal("100"), Decimal("0.001"),
                         last + timedelta(seconds=k), trade_id=f"x{k}") for k in range(10)]
        _ch, t_append = timed(lambda: j.add_fills("Bench", small))
        j.close()
        print(f"rows: {rows} fills -> {n_pos} positions, file {db.stat().st_size / 1e6:.1f} MB")
        print(f"import {rows} fills from CSV:      {t_import[0]:7.3f} s   (target <= 5 s)")
        print(f"re-import (all duplicates):       {t_again[0]:7.3f} s")
        print(f"append 10 fills (one sync cycle): {t_append[0] * 1000:7.1f} ms")

        def open_and_list():
            jj = Journal.open(db)
            t = time.perf_counter()
            page = jj.positions(limit=500)
            t_list = time.perf_counter() - t
            jj.close()
            assert len(page.items) == 500
            return t_list

        list_only, total = timed(open_and_list, repeat=5)
        print(f"open + list newest 500 positions: {statistics.median(total) * 1000:7.1f} ms "
              f"median of 5 (list alone {list_only * 1000:.1f} ms; target <= 100 ms)")

        import sqlite3

        def quick_check() -> None:
            conn = sqlite3.connect(db)
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            conn.close()

        _q, t_check = timed(quick_check, repeat=5)
        print(f"PRAGMA quick_check (run at every open): {statistics.median(t_check) * 1000:7.1f}"
              " ms median of 5 (included in open + list above)")

        jj = Journal.open(db)
        stats, t_stats = timed(jj.statistics, repeat=5)
        jj.close()
        s = stats[0]
        print(f"statistics over {rows} fills:       {statistics.median(t_stats) * 1000:7.1f} ms "
              f"median of 5 (target <= 500 ms; {s.trades} closed trades, net {s.net_pnl:.2f})")


if __name__ == "__main__":
    main()
