"""``crossmargin whatif`` end to end on large books (printed figures; not in the suite).

Run: python3 tests/benchmarks/bench_cli_whatif.py [N ...]   (default 1000 2000 10000)

Each book is a Binance account of N cross and isolated positions over 50 symbols with
real bracket tables; every command runs as a user would (a new process). Targets:
``crossmargin --help`` <= 0.3 s; ``whatif FILE`` on 2,000 positions <= 0.5 s; ``--json``
O(N) in time and size (1k -> 10k ratio <= 12).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def book(n: int, seed: int = 3) -> dict:
    """N positions on N/2 symbols (a long and a short leg each, hedge mode); each symbol
    takes the real Binance bracket table of one of 50 listed contracts."""
    tiers = json.loads((ROOT / "tests/fixtures/tiers/binance_usdm_leverage_tiers.json")
                       .read_text())
    real = [s for s in tiers if s.endswith("/USDT:USDT")][:50]
    rnd = random.Random(seed)
    positions = []
    tables = {}
    for i in range(n):
        k = i // 2
        s = f"S{k:05d}/USDT:USDT"
        if s not in tables:
            tables[s] = [{"min_notional": str(r["minNotional"]),
                          "max_notional": str(r["maxNotional"]),
                          "maintenance_margin_rate": str(r["maintenanceMarginRate"]),
                          "maintenance_amount": str(r["info"]["cum"])}
                         for r in tiers[real[k % len(real)]]]
        mark = round(10 + (k * 7919) % 50_000 + 0.5, 2)
        positions.append({
            "id": f"p{i}", "symbol": s, "side": "long" if i % 2 else "short",
            "contracts": str(round(rnd.uniform(100, 2000) / mark, 6)),
            "entry_price": str(round(mark * rnd.uniform(0.95, 1.05), 2)),
            "mark_price": str(mark), "leverage": str(rnd.choice((5, 10, 20))),
            "margin_mode": "isolated" if k % 10 == 0 else "cross",
        })
    return {
        "format": "crossmargin.scenario/1", "rules": "binance", "settle": "USDT",
        "wallet_balance": str(n * 400), "positions": positions, "tiers": tables,
    }


def timed(argv: list[str], repeat: int = 3) -> tuple[float, int]:
    best, size = 1e9, 0
    for _ in range(repeat):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "crossmargin.cli.main", *argv],
                             capture_output=True, check=True)
        best = min(best, time.perf_counter() - t)
        size = len(out.stdout)
    return best, size


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 2000, 10000]
    t_help, _ = timed(["--help"])
    print(f"crossmargin --help: {t_help:.3f} s (target <= 0.3 s)")
    results = {}
    with tempfile.TemporaryDirectory() as d:
        for n in sizes:
            path = Path(d) / f"book{n}.json"
            path.write_text(json.dumps(book(n)))
            t_table, _ = timed(["whatif", str(path)])
            t_json, size = timed(["whatif", str(path), "--json"], repeat=2)
            results[n] = t_json
            print(f"{n:6d} positions: whatif {t_table:6.3f} s   --json {t_json:6.3f} s, "
                  f"{size / 1e6:6.2f} MB")
    if 1000 in results and 10000 in results:
        print(f"--json time ratio 10k/1k: {results[10000] / results[1000]:.1f} (target <= 12)")


if __name__ == "__main__":
    main()
