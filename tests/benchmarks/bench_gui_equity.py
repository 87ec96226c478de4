"""Equity chart with 1,000,000 points: pan and zoom frame times (target <= 16 ms per frame).

Run: python3 tests/benchmarks/bench_gui_equity.py

One frame = set the visible time window (what a pan/zoom gesture does) and paint
the chart synchronously (``repaint``), with clip-to-view and peak downsampling on,
at 1280×400 offscreen. Prints median, 95th percentile and worst frame for a zoom-in
sequence (all -> 1 day), a pan across the whole history at 1-week zoom, and the
"All" view.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from desktop.app import create_application
from desktop.charts.timeseries import TimeSeriesChart

N = 1_000_000


def frames(chart: TimeSeriesChart, app, windows: list[tuple[float, float]]) -> list[float]:
    times = []
    for lo, hi in windows:
        t0 = time.perf_counter()
        chart.view_box.setXRange(lo, hi, padding=0)
        chart.plot_widget.viewport().repaint()
        times.append(time.perf_counter() - t0)
        app.processEvents()
    return times


def report(name: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(f"{name:<34} frames {len(ms):4d}  median {statistics.median(ms):6.2f} ms  "
          f"p95 {p95:6.2f} ms  worst {ms[-1]:6.2f} ms")


def main() -> int:
    app = create_application()
    rng = np.random.default_rng(1)
    end = 1_790_000_000.0
    t = end - 60.0 * np.arange(N - 1, -1, -1, dtype=np.float64)  # one point a minute, ~1.9 years
    equity = 20_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0006, N)))
    chart = TimeSeriesChart("Pooled equity", unit="USDT")
    chart.resize(1280, 400)
    chart.show()
    t0 = time.perf_counter()
    chart.set_series(t, equity)
    chart.plot_widget.viewport().repaint()
    print(f"load {N:,} points and first paint: {(time.perf_counter() - t0) * 1000:.1f} ms")
    app.processEvents()

    span_all = t[-1] - t[0]
    zoom = [(t[-1] - span_all / (1.12 ** k), t[-1]) for k in range(60)]  # all -> ~1 day
    report("zoom in (All -> 1 day)", frames(chart, app, zoom))
    week = 7 * 86_400.0
    pan = [(t[0] + s, t[0] + s + week) for s in np.linspace(0, span_all - week, 120)]
    report("pan at 1-week zoom", frames(chart, app, pan))
    wobble = [(t[0] + d, t[-1] + d) for d in np.linspace(0, 86_400.0 * 20, 30)]
    report("pan at All (1M points in view)", frames(chart, app, wobble))
    chart.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
