"""The journal's backups, newest first, each checked: what a user picks from to restore.

Backups live in ``<journal folder>/backups/`` (``crossmargin backup``, the copies kept
before a restore) and beside the journal (``journal.v<N>-backup-<time>.sqlite3``, kept
before a schema upgrade). Each is opened read-only and checked with ``quick_check``, so
the list can say which ones are sound.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crossmargin.storage import db as dbmod
from crossmargin.storage import schema


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """One backup file: when it was written (UTC), its size in bytes, its journal schema
    version (None when unreadable) and whether it is sound (``problem`` says why not)."""

    path: Path
    written_at: datetime
    size: int
    schema_version: int | None
    sound: bool
    problem: str = ""

    @property
    def restorable(self) -> bool:
        return self.sound and self.schema_version is not None \
            and self.schema_version <= schema.SCHEMA_VERSION


def backup_files(journal_path: Path) -> list[Path]:
    """Every backup file of the journal at ``journal_path`` (any order)."""
    folder = journal_path.parent
    found = list((folder / "backups").glob("*.sqlite3")) if (folder / "backups").is_dir() else []
    found += folder.glob(f"{journal_path.stem}.v*-backup-*.sqlite3")
    return [p for p in found if p.is_file() and p.resolve() != journal_path.resolve()]


def check_backup(path: Path) -> BackupInfo:
    """``path`` described and checked (read-only; never raises for a bad file)."""
    stat = path.stat()
    written = datetime.fromtimestamp(stat.st_mtime, UTC)
    version: int | None = None
    try:
        conn = dbmod.connect(path, readonly=True)
    except (OSError, sqlite3.Error) as exc:
        return BackupInfo(path, written, stat.st_size, None, False, f"cannot be opened ({exc})")
    try:
        try:
            app_id, version, has_tables = dbmod.read_versions(conn, path)
        except dbmod.NotAJournalError:
            return BackupInfo(path, written, stat.st_size, None, False, "damaged or not a journal")
        if app_id != schema.APPLICATION_ID or not has_tables:
            return BackupInfo(path, written, stat.st_size, None, False, "not a journal")
        problems = dbmod.quick_problems(conn, limit=2)
        if problems:
            return BackupInfo(path, written, stat.st_size, version, False,
                              f"damaged ({'; '.join(problems)})")
        if version > schema.SCHEMA_VERSION:
            return BackupInfo(path, written, stat.st_size, version, True,
                              f"from a newer CrossMargin (schema v{version})")
    finally:
        conn.close()
    return BackupInfo(path, written, stat.st_size, version, True)


def list_backups(journal_path: Path) -> list[BackupInfo]:
    """The journal's backups, newest first, each checked (see :func:`check_backup`)."""
    return sorted((check_backup(p) for p in backup_files(Path(journal_path))),
                  key=lambda b: b.written_at, reverse=True)


__all__ = ["BackupInfo", "backup_files", "check_backup", "list_backups"]
