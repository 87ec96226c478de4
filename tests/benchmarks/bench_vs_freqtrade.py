"""Side by side with freqtrade: 2,000 cross liquidation prices (printed; not in the suite).

Run::

    python3 tests/benchmarks/bench_vs_freqtrade.py [N]        # default 2000

freqtrade is optional. To compare, install its wheel and the few modules its Binance
class imports (no TA-Lib, no exchange access)::

    pip install --no-deps freqtrade==2026.9
    pip install cachetools humanize schedule pandas python-rapidjson

The book: N cross positions, one per symbol (one-way mode), marks at the entry prices
(freqtrade's backtest reading of the others' marks), each symbol with the first bracket of
a real Binance USDⓈ-M table as its only tier, so both tools read the same rule and must
give the same prices (the largest relative difference is printed). freqtrade's
``Binance.dry_run_liquidation_price`` is called once per position with every open trade,
as its backtesting does (its cost grows as N²); its exchange object is built without
``__init__`` (no markets, no network) with the tiers and modes set directly.

Printed: CrossMargin end to end (``crossmargin whatif FILE --json`` in a new process,
best of 3), the engine alone (exact Decimal ``liquidation_prices``, best of 5), freqtrade's loop,
and the ratios. Target: >= 50x freqtrade end to end at 2,000 positions.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
TIERS = ROOT / "tests" / "fixtures" / "tiers" / "binance_usdm_leverage_tiers.json"


def book(n: int, seed: int = 5) -> dict:
    raw = json.loads(TIERS.read_text())
    real = [s for s in raw if s.endswith("/USDT:USDT")][:50]
    rnd = random.Random(seed)
    positions, tables = [], {}
    for i in range(n):
        symbol = f"S{i:05d}/USDT:USDT"
        first = raw[real[i % len(real)]][0]
        tables[symbol] = [{"min_notional": "0", "max_notional": None,
                           "maintenance_margin_rate": str(first["maintenanceMarginRate"]),
                           "maintenance_amount": "0"}]
        price = round(rnd.uniform(0.5, 60_000), 2)
        positions.append({
            "id": f"p{i}", "symbol": symbol, "side": "long" if i % 3 else "short",
            "contracts": str(round(rnd.uniform(50, 500) / price, 6)),
            "entry_price": str(price), "mark_price": str(price),
            "leverage": str(rnd.choice((5, 10, 20))), "margin_mode": "cross",
        })
    return {"format": "crossmargin.scenario/1", "rules": "binance", "settle": "USDT",
            "wallet_balance": str(n * 30),
            "positions": positions, "tiers": tables}


def crossmargin_end_to_end(path: Path) -> tuple[float, dict[str, float]]:
    best, out = 1e9, b""
    for _ in range(3):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "crossmargin.cli.main", "whatif",
                              str(path), "--json"], capture_output=True, check=True).stdout
        best = min(best, time.perf_counter() - t)
    doc = json.loads(out)
    prices = {p["id"]: float(p["liquidation_price"]) for p in doc["positions"]
              if p.get("liquidation_price") is not None}
    return best, prices


def engine_alone(path: Path) -> float:
    from crossmargin.margin import liquidation_prices
    from crossmargin.scenario import load_scenario

    state = load_scenario(path)
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        liquidation_prices(state)
        best = min(best, time.perf_counter() - t)
    return best


def freqtrade_loop(doc: dict) -> tuple[float, dict[str, float]] | None:
    try:
        from freqtrade.enums import MarginMode, TradingMode
        from freqtrade.exchange.binance import Binance
    except ImportError:
        return None
    ex = Binance.__new__(Binance)
    ex._exchange_ws = None  # read by its __del__
    ex._config = {"runmode": "backtest"}
    ex.margin_mode = MarginMode.CROSS
    ex.trading_mode = TradingMode.FUTURES
    ex._leverage_tiers = {
        s: [{"minNotional": 0.0, "maxNotional": None,
             "maintenanceMarginRate": float(t[0]["maintenance_margin_rate"]),
             "maintAmt": 0.0}] for s, t in doc["tiers"].items()}
    trades = []
    for p in doc["positions"]:
        amount = float(p["contracts"])
        rate = float(p["entry_price"])
        trade = SimpleNamespace(  # the fields freqtrade's LocalTrade has (plain attributes)
            id=p["id"], pair=p["symbol"], open_rate=rate, amount=amount,
            is_short=p["side"] == "short", leverage=float(p["leverage"]),
            stake_amount=amount * rate / float(p["leverage"]))
        trades.append(trade)
    wallet = float(doc["wallet_balance"])
    t = time.perf_counter()
    prices = {}
    for tr in trades:
        lp = ex.dry_run_liquidation_price(tr.pair, tr.open_rate, tr.is_short, tr.amount,
                                          tr.stake_amount, tr.leverage, wallet, trades)
        if lp is not None and lp > 0:
            prices[tr.id] = lp
    return time.perf_counter() - t, prices


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    doc = book(n)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "book.json"
        path.write_text(json.dumps(doc))
        t_cli, ours = crossmargin_end_to_end(path)
        t_engine = engine_alone(path)
    print(f"{n} cross positions, one per symbol, marks at entry")
    print(f"  crossmargin whatif --json, end to end: {t_cli:7.3f} s")
    print(f"  engine alone (exact Decimal):          {t_engine:7.3f} s")
    theirs = freqtrade_loop(doc)
    if theirs is None:
        print("  freqtrade: not installed (see the module docstring to compare)")
        return
    t_ft, ft_prices = theirs
    common = sorted(set(ours) & set(ft_prices))
    worst = max((abs(ours[k] - ft_prices[k]) / ft_prices[k] for k in common), default=0.0)
    print(f"  freqtrade Binance.dry_run_liquidation_price x {n}: {t_ft:7.3f} s")
    print(f"  end to end {t_ft / t_cli:6.1f}x faster (target >= 50x); engine alone "
          f"{t_ft / t_engine:7.1f}x")
    print(f"  same answers: {len(common)} prices compared, largest relative difference "
          f"{worst:.2e}")
    if Decimal(str(worst)) > Decimal("1e-9"):
        print("  WARNING: the two disagree beyond float rounding")


if __name__ == "__main__":
    main()
