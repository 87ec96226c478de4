"""Building the app: arguments, the :class:`QApplication`, the services and the main
window, in that order (used by :func:`desktop.app.main` and by the self-test)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from crossmargin import __version__
from crossmargin.resources import resource_path
from desktop import qtcompat
from desktop.controllers.theme import ThemeController
from desktop.gc_guard import MainThreadCollector
from desktop.main_window import MainWindow
from desktop.services import Services
from desktop.settings import Preferences, open_settings
from desktop.tasks import TaskRunner
from desktop.validation import use_locale_separators

ORGANIZATION = "CrossMargin"
APPLICATION = "CrossMargin"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="crossmargin-desktop",
        description="CrossMargin desktop: live margin monitor, journal and what-if scenarios.",
    )
    parser.add_argument("--demo", action="store_true",
                        help="start on the demo account (simulated prices)")
    parser.add_argument("--theme", choices=("system", "light", "dark"),
                        help="override the colour theme for this run")
    parser.add_argument("--version", action="version", version=f"crossmargin-desktop {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation offscreen, print a report and exit")
    args, _qt_args = parser.parse_known_args(list(argv) if argv is not None else sys.argv[1:])
    return args


def app_icon() -> QIcon:
    """The application icon (SVG plus PNG renders for platforms without SVG icons)."""
    icon = QIcon()
    folder = resource_path("icons")
    for size in (16, 32, 48, 64, 128, 256, 512):
        png = folder / f"crossmargin-{size}.png"
        if png.is_file():
            icon.addFile(str(png))
    svg = folder / "crossmargin.svg"
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    return icon


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (reuses an existing one, e.g. under pytest-qt)."""
    qtcompat.guard()  # PySide6 6.12.0 + CPython 3.11 refcount defect, see desktop/qtcompat.py
    locale = QLocale.system()  # typed numbers follow the user's separators
    use_locale_separators(locale.decimalPoint(), locale.groupSeparator())
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication([sys.argv[0] if sys.argv else "crossmargin-desktop",
                        *(argv or [])])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("crossmargin-desktop")
    # Qt objects are only ever collected here, never on a worker (see desktop.gc_guard)
    MainThreadCollector(app)  # owned by the application
    return app


def build_services(app: QApplication, *, demo_path: Path | None = None) -> Services:
    """The services of one run: tasks, settings, preferences, icon and theme."""
    settings = open_settings()
    return Services(
        tasks=TaskRunner(parent=app),
        settings=settings,
        preferences=Preferences.load(settings),
        icon=app_icon(),
        demo_path=demo_path,
        themes=ThemeController(app),
    )


def build_window(app: QApplication, args: argparse.Namespace, services: Services) -> MainWindow:
    """Theme + main window (shown by the caller)."""
    themes = services.themes or ThemeController(app)
    services.themes = themes
    # style the application before any widget exists: restyling a built window
    # re-polishes every widget (~0.5 s each time)
    themes.apply(args.theme or services.preferences.theme)
    window = MainWindow(services=services, start_demo=args.demo)
    themes.register(window)
    return window
