"""Benchmark: What-if recompute + redraw for a 200-position book when the slider moves.

Run:  python3 tests/benchmarks/bench_gui_whatif.py [--positions 200] [--moves 60]

Measures, offscreen, on a 200-position mixed cross/isolated Binance book:

* slider move: ``set_shock`` → engine on the task runner's worker (exact Decimal
  point + cascade-aware figures, the sweep reused) → snapshot delivered on the GUI
  thread → table, chart line, ladder and summary updated → the panel repainted
  (``QWidget.repaint``, synchronous). The debounce timer is bypassed
  (``recompute_now``) and reported separately: the user sees debounce + this.
* book edit (a cross position switched to isolated): full recompute (compare_whatif,
  two sweeps with cascades) + redraw, for reference.

Target (issue 5): slider move ≤ 50 ms. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "gui"))

from desktop.qtcompat import protect_none  # noqa: E402

protect_none()

from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from test_whatif_books import make_book  # noqa: E402

from crossmargin.domain import MarginMode  # noqa: E402
from desktop.tasks import TaskRunner  # noqa: E402
from desktop.theme import LIGHT, apply_theme  # noqa: E402
from desktop.whatif.panel import WhatIfPanel  # noqa: E402
from desktop.whatif.viewmodel import DEBOUNCE_MS  # noqa: E402


def wait_for(app: QApplication, panel: WhatIfPanel, timeout: float = 30.0) -> None:
    vm = panel.viewmodel
    end = time.perf_counter() + timeout
    while vm.busy:
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("no answer from the engine")
        time.sleep(0.0002)


class PaintCounter(QObject):
    """Counts paint events of the widgets a slider move must redraw."""

    def __init__(self, widgets) -> None:
        super().__init__()
        self.count = 0
        for w in widgets:
            w.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def timed(app: QApplication, panel: WhatIfPanel, action, *, full: bool = False) -> float:
    """Milliseconds from the input to the answer painted on screen.

    The answer arrives through the task runner (queued signal); the repaint Qt
    schedules for it is then flushed by one more ``processEvents`` (or, with
    ``--full-repaint``, the whole panel is repainted synchronously).
    """
    start = time.perf_counter()
    action()
    panel.viewmodel.recompute_now()
    wait_for(app, panel)
    if full:
        panel.repaint()
    else:
        app.processEvents()
    return (time.perf_counter() - start) * 1000.0


def summarize(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    print(
        f"{name:<44} n={len(samples):<3} median {statistics.median(samples):6.1f} ms   "
        f"p95 {p95:6.1f} ms   max {samples[-1]:6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=200)
    parser.add_argument("--moves", type=int, default=60)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument(
        "--full-repaint", action="store_true",
        help="repaint the whole panel after each answer (pessimistic) instead of "
        "flushing the repaint Qt scheduled",
    )
    args = parser.parse_args()
    full = args.full_repaint

    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app, LIGHT)
    tasks = TaskRunner()
    panel = WhatIfPanel(tasks=tasks)
    width, height = (int(v) for v in args.size.split("x"))
    panel.resize(width, height)
    state = make_book(args.positions)
    start = time.perf_counter()
    panel.set_account_state(state)
    panel.show()
    panel.viewmodel.recompute_now()
    wait_for(app, panel)
    panel.repaint()
    first = (time.perf_counter() - start) * 1000.0
    vm = panel.viewmodel

    # warm-up
    for value in (-10, 10, 0):
        timed(app, panel, lambda v=value: panel.slider.setValue(v), full=full)

    painted = PaintCounter([
        panel.book_view.viewport(),
        panel.shock_chart.layout_widget.viewport(),
        panel.ladder_chart.plot_widget.viewport(),
        panel.summary,
    ])
    moves: list[float] = []
    for i in range(args.moves):
        value = int(-400 + (800 * i) / max(1, args.moves - 1))  # −40 % … +40 %
        moves.append(timed(app, panel, lambda v=value: panel.slider.setValue(v), full=full))

    paints_per_move = painted.count / max(1, len(moves))
    cross = [p for p in state.positions if p.margin_mode is MarginMode.CROSS]
    edits: list[float] = []
    for p in cross[:10]:
        edits.append(timed(app, panel, lambda p=p: vm.set_mode(p.id, MarginMode.ISOLATED)))

    moves_after_edits: list[float] = []
    for i in range(args.moves // 2):
        value = int(300 - (600 * i) / max(1, args.moves // 2 - 1))
        moves_after_edits.append(
            timed(app, panel, lambda v=value: panel.slider.setValue(v), full=full)
        )

    snap = vm.snapshot
    print(f"What-if benchmark: {args.positions} positions, {len(vm.axis)} shock points, "
          f"{len(snap.book.cascade)} cascade events, panel {args.size}, offscreen")
    print(f"{'first answer (full compute + paint)':<44} {first:6.1f} ms")
    summarize("slider move: recompute + redraw", moves)
    summarize("slider move with 10 positions switched", moves_after_edits)
    summarize("book edit (switch to isolated): full", edits)
    print(f"paint events per slider move (table, chart, ladder, summary): {paints_per_move:.1f}"
          f"{' (full panel repaint forced)' if full else ''}")
    print(f"debounce before a recompute starts: {DEBOUNCE_MS} ms (not included above)")
    verdict = "OK" if statistics.median(moves) <= 50 else "OVER"
    print(f"target slider move <= 50 ms: {verdict} (median {statistics.median(moves):.1f} ms)")
    tasks.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
