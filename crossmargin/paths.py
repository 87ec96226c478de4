"""Where CrossMargin keeps its files.

One place decides every path. ``CROSSMARGIN_HOME`` overrides the per-user
folders (portable installs, tests): everything then lives under that folder.
Nothing here creates a folder at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "CrossMargin"
HOME_ENV = "CROSSMARGIN_HOME"

_dirs = PlatformDirs(APP_NAME, appauthor=False)


def _override() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """The folder holding the journal database and its backups."""
    root = _override()
    return root / "data" if root else Path(_dirs.user_data_dir)


def config_dir() -> Path:
    """The folder holding user preferences (never secrets in plain text)."""
    root = _override()
    return root / "config" if root else Path(_dirs.user_config_dir)


def log_dir() -> Path:
    root = _override()
    return root / "logs" if root else Path(_dirs.user_log_dir)


def default_journal_path() -> Path:
    return data_dir() / "journal.sqlite3"


def ensure(path: Path) -> Path:
    """Create ``path`` (a folder) with owner-only permissions; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
