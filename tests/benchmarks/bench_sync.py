"""Benchmark: sync 20,000 fills over pagination from the replay server.

    python3 tests/benchmarks/bench_sync.py [--fills 20000] [--exchange binanceusdm|bybit|okx|all]

The replay server runs in a separate process (so it does not compete with the client
for the GIL); the client is the real ccxt class and the journal a fresh SQLite file.
Prints fills/s and how the cycle's time splits between the HTTP round trips (server,
socket, JSON decoding), ccxt's parsing into unified structures, our conversion to
Decimal records, the engine reconciliation and the journal transaction (storage).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

KEY, SECRET, PASSPHRASE = "bench-key", "bench-secret", "bench-pass"


def _serve(exchange: str, fills: int, queue: mp.Queue, stop: mp.Event) -> None:  # type: ignore[type-arg]
    from tests.sync.replay_server import ReplayServer, generate_history, recorded_data

    data = generate_history(recorded_data(exchange), fills=fills, funding=fills // 100,
                            days=20)
    with ReplayServer(exchange, data, api_key=KEY, secret=SECRET, passphrase=PASSPHRASE) as srv:
        queue.put(srv.base_url)
        stop.wait()
        queue.put(len(srv.log))


def bench(exchange: str, fills: int, rate_limit: bool = False) -> dict[str, float]:
    from crossmargin.storage.journal import Journal
    from crossmargin.sync.config import AccountConfig, Credentials
    from crossmargin.sync.cycle import AccountClient, run_cycle
    from crossmargin.sync.faults import RetryPolicy
    from crossmargin.sync.journal_port import JournalAdapter

    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    stop = mp.Event()
    proc = mp.Process(target=_serve, args=(exchange, fills, queue, stop), daemon=True)
    proc.start()
    base = queue.get(timeout=120)
    home = tempfile.mkdtemp(prefix="cm-bench-")
    os.environ["CROSSMARGIN_HOME"] = home
    journal = Journal.open()
    try:
        cfg = AccountConfig(f"bench-{exchange}", exchange, endpoint=base, rate_limit=rate_limit,
                            timeout_ms=30_000,
                            history_start=int(time.time() * 1000) - 21 * 86_400_000).validate()
        client = AccountClient(cfg, Credentials(KEY, SECRET, PASSPHRASE))
        client.exchange.load_markets()  # markets are not part of the measurement
        client.markets_loaded = True
        t0 = time.perf_counter()
        report = run_cycle(client, JournalAdapter(journal), policy=RetryPolicy())
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        again = run_cycle(client, JournalAdapter(journal), policy=RetryPolicy())
        rerun = time.perf_counter() - t1
    finally:
        journal.close()
        stop.set()
    requests = queue.get(timeout=30)
    proc.join(timeout=10)
    n = len(report.batch.fills)
    t = report.timings
    return {"fills": n, "new": report.inserted.get("fills", 0), "wall": wall,
            "requests": requests, "rerun": rerun, "rerun_new": again.inserted.get("fills", 0),
            **t}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fills", type=int, default=20_000)
    ap.add_argument("--rate-limit", action="store_true",
                    help="as a user runs it: the app's pacing on (Binance: the venue's own "
                         "weight count; the others: ccxt's throttle)")
    ap.add_argument("--exchange", default="binanceusdm",
                    choices=("binanceusdm", "bybit", "okx", "all"))
    args = ap.parse_args()
    exchanges = ("binanceusdm", "bybit", "okx") if args.exchange == "all" else (args.exchange,)
    import ccxt

    print(f"ccxt {ccxt.__version__}, Python {sys.version.split()[0]}, {args.fills} fills")
    for ex in exchanges:
        r = bench(ex, args.fills, args.rate_limit)
        total = r["total"]
        parts = {k: r[k] for k in ("http", "ccxt", "convert", "reconcile", "storage")}
        other = max(0.0, total - sum(parts.values()))
        print(f"== {ex}: {r['fills']} fills fetched ({r['new']} new) in {r['wall']:.2f}s "
              f"= {r['fills'] / r['wall']:,.0f} fills/s; "
              f"{r['requests']} requests incl. the re-run")
        for k, v in [*parts.items(), ("other", other)]:
            print(f"   {k:<10} {v:7.3f}s  {100 * v / total:5.1f}%")
        print(f"   ccxt parsing vs storage: {r['ccxt']:.2f}s vs {r['storage']:.2f}s "
              f"({100 * r['ccxt'] / total:.0f}% vs {100 * r['storage'] / total:.0f}% of the cycle)")
        print(f"   re-run (nothing new): {r['rerun']:.2f}s, {r['rerun_new']} new fills")
    return 0


if __name__ == "__main__":
    sys.exit(main())
