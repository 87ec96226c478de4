"""Entry point of ``crossmargin-desktop``: build the app, its services and the main window.

Nothing happens at import time; :func:`main` does everything in order
(:mod:`desktop.startup`): parse arguments, create the :class:`QApplication` (names,
icon, High-DPI policy), apply the light or dark theme following the system, build the
services once, inject them into :class:`MainWindow` and run the event loop.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

from desktop import logs
from desktop.startup import (
    APPLICATION,
    ORGANIZATION,
    app_icon,
    build_services,
    build_window,
    create_application,
    parse_args,
)

__all__ = [
    "APPLICATION",
    "ORGANIZATION",
    "app_icon",
    "build_services",
    "build_window",
    "create_application",
    "main",
    "parse_args",
    "run_event_loop",
]


def run_event_loop(app: QApplication) -> int:
    """``app.exec()``: separate so tests can drive the loop themselves (after ``exec``
    returns Qt refuses to run any further event loop in the process)."""
    return app.exec()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app; returns the process exit code."""
    args = parse_args(argv)
    if args.self_test:  # smoke test of a build: offscreen, private home, exit code 0/1
        from desktop.selftest import run_self_test
        return run_self_test()
    log_file, handlers = logs.start()
    logging.getLogger(__name__).info("CrossMargin desktop starting; log file %s", log_file)
    try:
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
    finally:
        logs.stop(handlers)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
