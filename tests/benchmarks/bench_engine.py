"""Margin-engine benchmarks (printed figures; not part of the test suite).

Run: python3 tests/benchmarks/bench_engine.py

* all liquidation prices of a 10,000-position cross account (Decimal, exact);
* a 1,000-position × 2,001-point shock sweep (numpy) including the exact cascade;
* the time ratio between 1,000 and 10,000 positions (≈ 10 means O(N)).

Positions use the real Binance USDⓈ-M brackets in tests/fixtures/tiers.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from crossmargin.domain import AccountState, MarginMode, Position, PositionId, RuleSet, Side
from crossmargin.margin import (
    ShockProfile,
    evaluate,
    liquidation_prices,
    sweep,
    tiers_from_ccxt,
)

TIERS = (
    Path(__file__).resolve().parents[1] / "fixtures" / "tiers" / "binance_usdm_leverage_tiers.json"
)


def load_tiers(limit: int = 300) -> dict[str, tuple]:
    raw = json.loads(TIERS.read_text())
    data = raw.get("data", raw) if isinstance(raw, dict) else raw
    out = {}
    for symbol, rows in data.items():
        if not symbol.endswith(":USDT"):
            continue
        out[symbol] = tiers_from_ccxt(rows, exchange=symbol)
        if len(out) >= limit:
            break
    return out


def make_account(
    n: int, tiers: dict[str, tuple], seed: int = 7, isolated_share: float = 0.0, hedged: bool = True
) -> AccountState:
    """``n`` positions on ``n // 2`` symbols: every symbol is a hedge pair (long + short).

    Real accounts hold one position per symbol (two in hedge mode), so a large
    book has many symbols; symbol k reuses the real bracket table k mod 300.
    """
    rng = random.Random(seed)
    real = list(tiers)
    n_symbols = max(1, n // 2) if hedged else n
    symbols = [f"S{k}/USDT:USDT" for k in range(n_symbols)]
    table = {s: tiers[real[k % len(real)]] for k, s in enumerate(symbols)}
    marks = {s: Decimal(str(round(rng.uniform(0.05, 70000), 4))) for s in symbols}
    positions = []
    for i in range(n):
        s = symbols[i % n_symbols]
        side = Side.LONG if i < n_symbols else Side.SHORT
        mark = marks[s]
        entry = (mark * Decimal(str(round(rng.uniform(0.9, 1.1), 4)))).quantize(Decimal("0.0001"))
        size = (Decimal(str(round(rng.uniform(200, 5000), 2))) / mark).quantize(Decimal("0.000001"))
        if size <= 0:
            size = Decimal("0.000001")
        mode = MarginMode.ISOLATED if rng.random() < isolated_share else MarginMode.CROSS
        positions.append(
            Position(
                PositionId(f"p{i}"),
                s,
                side,
                size,
                entry,
                mark,
                Decimal(rng.choice([3, 5, 10, 20])),
                mode,
            )
        )
    wallet = Decimal(n * 600)
    return AccountState(RuleSet.BINANCE, "USDT", wallet, tuple(positions), table)


def timeit(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    tiers = load_tiers()
    acc10k = make_account(10_000, tiers)
    acc1k = make_account(1_000, tiers)
    one_way = make_account(10_000, tiers, hedged=False)
    t_ow = timeit(lambda: liquidation_prices(one_way))
    print(f"liquidation prices, 10,000 one-way positions:       {t_ow * 1000:8.1f} ms")
    t10k = timeit(lambda: liquidation_prices(acc10k))
    t1k = timeit(lambda: liquidation_prices(acc1k))
    tfull = timeit(lambda: evaluate(acc10k), repeat=3)
    print(
        f"liquidation prices, 10,000 positions (hedge pairs): {t10k * 1000:8.1f} ms"
        " (target <= 20 ms)"
    )
    print(f"liquidation prices,  1,000 positions (hedge pairs): {t1k * 1000:8.1f} ms")
    print(f"ratio 10,000 / 1,000 positions:                    {t10k / t1k:8.2f}   (O(N) => ~10)")
    print(f"full evaluate() of 10,000 positions (all figures):  {tfull * 1000:8.1f} ms")
    mixed = make_account(1_000, tiers, isolated_share=0.3)
    grid = np.linspace(-0.5, 0.5, 2001)
    tsw = timeit(lambda: sweep(mixed, ShockProfile.uniform(), grid), repeat=3)
    print(
        f"shock sweep 1,000 positions x 2,001 points:         {tsw * 1000:8.1f} ms"
        " (target <= 100 ms; exact cascade incl.)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
