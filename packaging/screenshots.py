"""Render every tab of the desktop app, light and dark, at 1280×800 and 1920×1080.

Usage::

    python3 packaging/screenshots.py [OUTPUT_DIR]      # default ./screenshots

Runs offscreen on the demo account (fixed random seed, a private temporary
settings folder, so your real settings are never read or written) and writes
``<tab>-<theme>-<width>x<height>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

SIZES = ((1280, 800), (1920, 1080))
THEMES = ("light", "dark")


def _prepare_environment(tmp: Path) -> None:
    os.environ["CROSSMARGIN_HOME"] = str(tmp / "home")
    if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
        screen = tmp / "screen.json"
        screen.write_text(json.dumps({"screens": [{
            "name": "screenshots", "x": 0, "y": 0, "width": 2560, "height": 1600,
            "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1,
        }]}))
        os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen}"


def _spin(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def render(out: Path) -> list[Path]:
    from desktop.app import build_services, create_application
    from desktop.main_window import MainWindow
    from desktop.theme import resolve_theme

    app = create_application()
    services = build_services(app)
    services.demo_seed = 11
    app.setWindowIcon(services.icon)
    window = MainWindow(services=services, start_demo=True)
    window.show()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        window.session.snapshot is None or len(window.session.history) < 100
    ):
        _spin(app, 0.05)
    _spin(app, 2.5)  # a few live ticks
    if window.feed is not None:
        window.feed.stop()
    written: list[Path] = []
    from desktop.theme import apply_theme

    for theme_name in THEMES:
        theme = resolve_theme(theme_name)
        apply_theme(app, theme)
        window.apply_theme(theme)
        for width, height in SIZES:
            window.resize(width, height)
            for i in range(window.tabs.count()):
                window.tabs.setCurrentIndex(i)
                _spin(app, 0.4)
                window.dashboard.redraw()
                _spin(app, 0.1)
                name = window.tabs.tabText(i).lower().replace("-", "").replace(" ", "_")
                path = out / f"{name}-{theme_name}-{width}x{height}.png"
                window.grab().save(str(path))
                written.append(path)
    window.close()
    services.tasks.shutdown()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", default="screenshots", type=Path,
                        help="folder for the PNG files (default: ./screenshots)")
    args = parser.parse_args(argv)
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crossmargin-shots-") as tmp:
        _prepare_environment(Path(tmp))
        written = render(out)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    repo = Path(__file__).resolve().parent.parent
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    sys.exit(main())
