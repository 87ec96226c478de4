"""Streamed marks: tick → re-evaluated liquidation distances (printed; not in the suite).

Run: python3 tests/benchmarks/bench_stream.py [TICKS]      (default 300)

A local websocket replay (127.0.0.1) pushes Binance markPriceUpdate frames every 20 ms
to real ccxt.pro; each tick, as it arrives on the stream's thread, re-evaluates a
200-position cross account with that mark (the desktop's path: the session's
``risk_snapshot``, exact Decimal, all liquidation prices and distances). Printed, p50 and
p95 in milliseconds:

* send → callback: from the server writing the frame to CrossMargin's callback (loopback,
  ccxt.pro parsing, the asyncio thread);
* evaluation: the 200-position book's figures at the new mark;
* send → evaluated: the two together.

The desktop then repaints from its display timer (250 ms), so a repainted distance is at
most one timer period behind the evaluated one; that period is not included here.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def book(n: int = 200):
    import json

    from crossmargin.scenario import loads_scenario
    from tests.benchmarks.bench_vs_freqtrade import book as make

    doc = make(n)
    doc["positions"][0]["symbol"] = "BTC/USDT:USDT"
    doc["tiers"]["BTC/USDT:USDT"] = doc["tiers"].pop("S00000/USDT:USDT")
    doc["positions"][0].update(mark_price="70000", entry_price="69000")
    return loads_scenario(json.dumps(doc))


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 2 else values[0]


def main() -> None:
    from crossmargin.sync.stream import MarkStream
    from desktop.session import risk_snapshot, with_marks
    from tests.sync.conftest import config_for, server_for
    from tests.sync.ws_replay import WsReplay

    ticks = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    state = book()
    arrived: list[tuple[float, str]] = []
    evaluated: list[float] = []
    done = threading.Event()

    def on_marks(_label, marks, _at) -> None:
        t = time.monotonic()
        mark = marks["BTC/USDT:USDT"]
        arrived.append((t, str(mark)))
        t0 = time.perf_counter()
        risk_snapshot(with_marks(state, {"BTC/USDT:USDT": Decimal(mark)}), time.time())
        evaluated.append((time.perf_counter() - t0) * 1000)
        if len(arrived) >= ticks:
            done.set()

    with server_for("binanceusdm") as rest, WsReplay(interval=0.02) as ws:
        ws.prices = {"BTCUSDT": 70000.0}
        ws.step = {"BTCUSDT": 0.01}
        cfg = config_for("binanceusdm", rest, options={"ws_endpoint": ws.url})
        stream = MarkStream(cfg, ["BTC/USDT:USDT"], on_marks=on_marks, stall_seconds=5)
        stream.start()
        done.wait(120)
        stream.stop()
        sent = {}
        for t, _sym, text in ws.sent:
            sent.setdefault(str(Decimal(text)), t)
    lat = [(t - sent[m]) * 1000 for t, m in arrived if m in sent]
    total = [a + b for a, b in zip(lat, evaluated, strict=False)]
    print(f"{len(arrived)} ticks, 200-position cross book")
    for name, values in (("send -> callback", lat), ("evaluation", evaluated),
                         ("send -> evaluated", total)):
        print(f"  {name:18s} p50 {pct(values, 50):7.2f} ms   p95 {pct(values, 95):7.2f} ms")


if __name__ == "__main__":
    main()
