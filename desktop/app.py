"""Entry point of ``crossmargin-desktop``: build the app, its services and the main window.

Nothing happens at import time; :func:`main` does everything in order:
parse arguments, create the :class:`QApplication` (names, icon, High-DPI policy),
apply the light or dark theme following the system, build the services once,
inject them into :class:`MainWindow` and run the event loop.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from crossmargin import __version__
from crossmargin.resources import resource_path
from desktop.main_window import MainWindow
from desktop.qtcompat import protect_none
from desktop.services import Services
from desktop.settings import Preferences, open_settings
from desktop.tasks import TaskRunner
from desktop.theme import Theme, apply_theme, resolve_theme
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
    protect_none()  # PySide6 6.12 + CPython 3.11 refcount defect, see desktop/qtcompat.py
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
    return app


class ThemeController:
    """Applies the chosen theme and follows the system scheme when the choice is ``system``."""

    def __init__(self, app: QApplication) -> None:
        self.app = app
        self.choice = "system"
        self.theme: Theme | None = None
        self.windows: list[MainWindow] = []
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)
        # the main window asks for a new theme through this hook (Preferences dialog)
        app.crossmargin_apply_theme = self.apply  # type: ignore[attr-defined]

    def apply(self, choice: str) -> None:
        self.choice = choice
        theme = resolve_theme(choice)
        if theme is not self.theme:
            self.theme = theme
            apply_theme(self.app, theme)
        for window in self.windows:
            window.apply_theme(theme)

    def _on_scheme_changed(self, *_: object) -> None:
        if self.choice == "system":
            self.apply("system")


def build_services(app: QApplication, *, demo_path: Path | None = None) -> Services:
    settings = open_settings()
    return Services(
        tasks=TaskRunner(parent=app),
        settings=settings,
        preferences=Preferences.load(settings),
        icon=app_icon(),
        demo_path=demo_path,
    )


def build_window(app: QApplication, args: argparse.Namespace, services: Services) -> MainWindow:
    """Theme + main window (shown by the caller)."""
    controller = ThemeController(app)
    theme_choice = args.theme or services.preferences.theme
    # style the application before any widget exists: restyling a built window
    # re-polishes every widget (~0.5 s each time)
    controller.apply(theme_choice)
    window = MainWindow(services=services, start_demo=args.demo)
    controller.windows.append(window)
    window.apply_theme(controller.theme)
    window._theme_controller = controller  # type: ignore[attr-defined]  # keep it alive
    return window


def run_event_loop(app: QApplication) -> int:
    """``app.exec()``: separate so tests can drive the loop themselves (after ``exec``
    returns Qt refuses to run any further event loop in the process)."""
    return app.exec()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.self_test:  # smoke test of a build: offscreen, private home, exit code 0/1
        from desktop.selftest import run_self_test
        return run_self_test()
    app = create_application()
    services = build_services(app)
    app.setWindowIcon(services.icon)
    window = build_window(app, args, services)
    window.show()
    try:
        return run_event_loop(app)
    finally:
        window.close()
        services.tasks.shutdown()
        app.crossmargin_apply_theme = None  # type: ignore[attr-defined]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
