"""The app's log: a rotating file in the log folder (see the README's table) and the
terminal. Secrets never reach it: nothing logs keys, and sync errors are redacted
before they are raised (:mod:`crossmargin.sync.faults`)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from crossmargin import paths

FILE_NAME = "crossmargin-desktop.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def start() -> tuple[Path | None, list[logging.Handler]]:
    """Log INFO and above to ``<log folder>/crossmargin-desktop.log`` (1 MB × 4 files)
    and to stderr; returns the file (None if the folder cannot be written: then the
    terminal only, and a warning says why) and the handlers, for :func:`stop`."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    path: Path | None = None
    problem = ""
    try:
        target = paths.ensure(paths.log_dir()) / FILE_NAME
        handlers.append(logging.handlers.RotatingFileHandler(
            target, maxBytes=1_000_000, backupCount=3, encoding="utf-8"))
        path = target
    except OSError as exc:
        problem = f"{paths.log_dir()}: {exc.strerror or exc}"
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    if problem:
        logging.getLogger(__name__).warning("no log file (%s); logging to the terminal only",
                                            problem)
    return path, handlers


def stop(handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()
