"""Desktop cold start: process launch to the first painted main window (target <= 1.5 s).

Run: python3 tests/benchmarks/bench_gui_startup.py [RUNS]

Each run is a fresh Python process (offscreen Qt, a private CROSSMARGIN_HOME) doing
what ``crossmargin-desktop --demo`` does. Printed per run: first paint of the main
window, and first figures (the engine's answer for the demo book on screen).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from desktop import app as desktop_app

marks = {}

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and "paint" not in marks:
            marks["paint"] = time.time()
        return False

app = desktop_app.create_application()
args = desktop_app.parse_args(["--demo"])
services = desktop_app.build_services(app)
window = desktop_app.build_window(app, args, services)
spy = FirstPaint()
window.installEventFilter(spy)

def first_figures(_snap):
    marks.setdefault("figures", time.time())

window.session.snapshot_ready.connect(first_figures)
window.show()

def check():
    if "paint" in marks and "figures" in marks:
        print(f"{marks['paint']:.6f} {marks['figures']:.6f}", flush=True)
        os._exit(0)

timer = QTimer()
timer.timeout.connect(check)
timer.start(5)
QTimer.singleShot(20000, lambda: os._exit(3))
app.exec()
"""


def run_once() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, CROSSMARGIN_HOME=home, QT_QPA_PLATFORM="offscreen",
                   PYTHONPATH=str(REPO))
        start = time.time()
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                             text=True, check=True, cwd=REPO)
        paint, figures = (float(x) for x in out.stdout.split()[-2:])
        return paint - start, figures - start


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    run_once()  # warm the OS file cache (imports), as a user's second launch would be
    paints, figures = [], []
    for i in range(runs):
        paint, fig = run_once()
        paints.append(paint)
        figures.append(fig)
        print(f"run {i + 1}: first paint {paint * 1000:7.0f} ms   "
              f"first figures {fig * 1000:7.0f} ms")
    print(f"median: first paint {statistics.median(paints) * 1000:7.0f} ms "
          f"(target <= 1500 ms), first figures {statistics.median(figures) * 1000:7.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
