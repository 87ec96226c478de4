"""Render every tab of the desktop app, light and dark, at 1024×700, 1280×800 and 1920×1080.

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

SIZES = ((1024, 700), (1280, 800), (1920, 1080))
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


def seed_journal() -> None:
    """A small manual journal account (open and closed trades) for the Journal shots."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal as D

    from crossmargin.storage import Instrument, Journal

    journal = Journal.open()
    try:
        acct = journal.create_account("Manual book", settle="USDT").id
        journal.record_balance(acct, D("25000"))
        start = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
        trades = [
            ("BTC/USDT:USDT", "long", "0.2", "58200", "61850", "breakout", 4),
            ("ETH/USDT:USDT", "short", "3", "3410", "3290", "range fade", 3),
            ("SOL/USDT:USDT", "long", "40", "148.2", "139.6", "pullback", 2),
            ("BTC/USDT:USDT", "short", "0.15", "63100", "61900", "range fade", 4),
            ("DOGE/USDT:USDT", "long", "20000", "0.1612", "0.1733", "momentum", 5),
            ("ETH/USDT:USDT", "long", "2", "3180", "3105", "breakout", 2),
        ]
        for symbol, _side, *_ in trades:
            base = symbol.split("/")[0]
            journal.set_instrument(acct, Instrument(symbol, base, "USDT", "USDT",
                                                    maintenance_margin_rate=D("0.005")))
        for i, (symbol, side, size, entry, exit_, setup, rating) in enumerate(trades):
            opened = start + timedelta(days=9 * i)
            pid = journal.add_position(acct, symbol, side, D(size), D(entry), time=opened,
                                       fee=D("1.2"), leverage=D("10"), setup=setup,
                                       rating=rating, tags=["swing"]).id
            journal.close_position(pid, D(exit_), time=opened + timedelta(days=3), fee=D("1.2"))
        journal.add_position(acct, "BTC/USDT:USDT", "long", D("0.3"), D("94100"),
                             time=start + timedelta(days=70), leverage=D("10"),
                             mark_price=D("97250.1"), setup="trend", notes="add below 92k")
        journal.add_position(acct, "ETH/USDT:USDT", "short", D("4"), D("3320"),
                             time=start + timedelta(days=75), leverage=D("8"),
                             margin_mode="isolated", mark_price=D("3388.4"), setup="range fade")
    finally:
        journal.close()


def render(out: Path, sizes=SIZES, themes=THEMES) -> list[Path]:
    from desktop.app import build_services, create_application
    from desktop.main_window import MainWindow
    from desktop.theme import resolve_theme

    seed_journal()
    app = create_application()
    services = build_services(app)
    services.demo_seed = 11
    app.setWindowIcon(services.icon)
    window = MainWindow(services=services, start_demo=True)
    window.show()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        window.session.snapshot is None or len(window.session.history) < 100
        or window.accounts_model.row_of("journal:1") < 0
    ):
        _spin(app, 0.05)
    _spin(app, 2.5)  # a few live ticks
    window.marks.stop_all()  # still pictures from here on
    written: list[Path] = []
    from desktop.theme import apply_theme

    for theme_name in themes:
        theme = resolve_theme(theme_name)
        apply_theme(app, theme)
        window.apply_theme(theme)
        for width, height in sizes:
            window.resize(width, height)
            for i in range(window.tabs.count()):
                journal_tab = window.tabs.widget(i) is window.journal_view
                window.select_account("journal:1" if journal_tab else "demo")
                window.tabs.setCurrentIndex(i)
                _spin(app, 1.2 if journal_tab else 0.4)
                window.marks.stop_all()  # still pictures
                window.dashboard.redraw()
                _spin(app, 0.1)
                name = window.tabs.tabText(i).lower().replace("-", "").replace(" ", "_")
                path = out / f"{name}-{theme_name}-{width}x{height}.png"
                window.grab().save(str(path))
                written.append(path)
                if journal_tab:  # the fills table of the Journal tab too
                    window.journal_view.tables.setCurrentWidget(window.journal_view.fills_table)
                    _spin(app, 0.3)
                    path = out / f"journal_fills-{theme_name}-{width}x{height}.png"
                    window.grab().save(str(path))
                    written.append(path)
                    window.journal_view.tables.setCurrentWidget(window.journal_view.table)
                if name == "whatif":  # as on a first run: with the demo banner
                    window.banner.setVisible(True)
                    _spin(app, 0.4)
                    path = out / f"whatif_first_run-{theme_name}-{width}x{height}.png"
                    window.grab().save(str(path))
                    written.append(path)
                    window.banner.setVisible(False)
    window.close()
    services.tasks.shutdown()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", default="screenshots", type=Path,
                        help="folder for the PNG files (default: ./screenshots)")
    parser.add_argument("--size", action="append", metavar="WxH",
                        help="only this window size, e.g. 1024x700 (repeatable; default "
                             + ", ".join(f"{w}x{h}" for w, h in SIZES) + ")")
    parser.add_argument("--theme", action="append", choices=THEMES,
                        help="only this theme (repeatable; default both)")
    args = parser.parse_args(argv)
    try:
        sizes = tuple(tuple(int(v) for v in text.lower().split("x", 1)) for text in args.size) \
            if args.size else SIZES
    except ValueError:
        parser.error("--size: WIDTHxHEIGHT, e.g. 1024x700")
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crossmargin-shots-") as tmp:
        _prepare_environment(Path(tmp))
        written = render(out, sizes, tuple(args.theme or THEMES))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    repo = Path(__file__).resolve().parent.parent
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    sys.exit(main())
