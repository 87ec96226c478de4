"""Opening a journal file safely: one process at a time, WAL, versioned schema, backups.

* **One process per file.** An exclusive OS lock on ``<journal>.lock`` (``fcntl.flock``
  on POSIX, ``msvcrt.locking`` on Windows) is held for as long as the journal is
  open; a second process gets :class:`JournalLockedError` ("already open in another
  window") instead of a shared, corruptible file. The OS drops the lock when a
  process dies, so a crash never leaves the file locked.
* **Unclean shutdown.** The lock file says ``state=open`` while the journal is open and
  ``state=closed`` after a clean close. Finding ``state=open`` on the next open means
  the last run crashed: ``PRAGMA integrity_check`` runs and a failure raises
  :class:`JournalCorruptError` naming the backup to restore.
* **Schema versions.** ``PRAGMA user_version`` is the schema version. Older files are
  copied first (``<name>.v<N>-backup-<UTC time>.sqlite3``) with the SQLite online backup
  API, then upgraded one step at a time inside one exclusive transaction (all steps
  or none). A file from a newer CrossMargin is refused untouched
  (:class:`SchemaTooNewError`).
* Connections use WAL, ``synchronous=FULL`` (a committed write survives power loss),
  foreign keys on, a 30 s busy timeout, and ``isolation_level=None`` so the journal
  issues ``BEGIN IMMEDIATE``/``COMMIT`` itself (one transaction per multi-row write).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from crossmargin.errors import CrossMarginError

MigrationStep = Callable[[sqlite3.Connection], None]


class JournalError(CrossMarginError):
    """A journal file problem the user must act on (message says how)."""


class JournalLockedError(JournalError):
    """Another CrossMargin window or command already has this journal open."""


class SchemaTooNewError(JournalError):
    """The file was written by a newer CrossMargin than this one."""


class NotAJournalError(JournalError):
    """The file is not a CrossMargin journal (or not an SQLite database at all)."""


class JournalCorruptError(JournalError):
    """``PRAGMA quick_check``/``integrity_check`` failed. ``path``: the damaged file;
    ``problems``: SQLite's lines. The message says what was refused, never which command
    to type (the CLI and the app each add their own way out)."""

    def __init__(self, message: str, *, path: Path | None = None,
                 problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.problems = problems


class MigrationError(JournalError):
    """A schema upgrade failed; the file was left at its old version."""


class StorageError(JournalError):
    """SQLite refused a read or write the journal's own checks did not foresee (a full
    disk, a busy file, a constraint): the operation was rolled back, nothing was changed."""


def storage_error(exc: BaseException, writing: bool) -> StorageError:
    """A :class:`StorageError` with a message a user can act on, for an SQLAlchemy/SQLite
    exception (``exc.orig`` is the driver's error when there is one)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    low = text.lower()
    done = "nothing was changed" if writing else "nothing was read"
    if "locked" in low or "busy" in low:
        return StorageError(
            f"the journal is busy (another operation held it for 30 s: {text}); {done}; "
            "try again in a moment"
        )
    if "full" in low or "disk i/o" in low or "readonly" in low or "read-only" in low:
        return StorageError(
            f"the journal file could not be written ({text}); {done}; free disk space or "
            "check the folder's permissions, then try again"
        )
    if "constraint" in low or isinstance(orig, sqlite3.IntegrityError):
        return StorageError(
            f"the journal refused this change ({text}); {done}; the input conflicts with "
            "what is stored"
        )
    return StorageError(f"the journal could not complete the operation ({text}); {done}")


def _lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class FileLock:
    """An exclusive, non-blocking OS lock on ``<db>.lock`` holding a small state text."""

    def __init__(self, db_path: Path) -> None:
        self.path = _lock_path(db_path)
        self._fh: IO[str] | None = None
        self.previous_state = ""

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(
                f"cannot open the journal's lock file {self.path} ({exc.strerror}); check that "
                "the folder exists and is writable, or choose another file with --db"
            ) from None
        fh = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            _os_lock(fh)
        except OSError:
            try:
                fh.seek(0)
                holder = fh.read().strip()
            except OSError:  # Windows: the holder's locked region cannot be read
                holder = ""
            fh.close()
            pid = _field(holder, "pid")
            who = f" (process {pid})" if pid else ""
            raise JournalLockedError(
                f"this journal is already open in another CrossMargin window{who}: "
                f"{self.path.parent}; switch to that window, or close it first"
            ) from None
        fh.seek(0)
        self.previous_state = fh.read().strip()
        self._fh = fh
        self.write("open")

    def write(self, state: str) -> None:
        if self._fh is None:
            return
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"state={state} pid={os.getpid()}\n")
        self._fh.flush()
        with contextlib.suppress(OSError):
            os.fsync(self._fh.fileno())

    @property
    def last_shutdown_unclean(self) -> bool:
        """The last session did not close cleanly: its lock file still says ``open``, or
        there is no lock file but a non-empty WAL (a session that never checkpointed)."""
        if self.previous_state:
            return _field(self.previous_state, "state") == "open"
        wal = self.path.with_name(self.path.name.removesuffix(".lock") + "-wal")
        try:
            return wal.stat().st_size > 0
        except OSError:
            return False

    def release(self, clean: bool = True) -> None:
        if self._fh is None:
            return
        if clean:
            self.write("closed")
        with contextlib.suppress(OSError):
            _os_unlock(self._fh)
        self._fh.close()
        self._fh = None


class NoLock:
    """What a shared (non-exclusive) opener holds: nothing. It never sees the window's
    lock, so it reports a clean last shutdown (``quick_check`` runs at every open)."""

    def __init__(self, db_path: Path) -> None:
        self.path = _lock_path(db_path)
        self.previous_state = ""

    def acquire(self) -> None:
        return None

    def write(self, state: str) -> None:
        return None

    @property
    def last_shutdown_unclean(self) -> bool:
        return False

    def release(self, clean: bool = True) -> None:
        return None


def _field(text: str, name: str) -> str:
    for part in text.split():
        key, _, value = part.partition("=")
        if key == name:
            return value
    return ""


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _os_lock(fh: IO[str]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1 << 20)

    def _os_unlock(fh: IO[str]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1 << 20)

else:
    import fcntl

    def _os_lock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _os_unlock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def configure_connection(conn: sqlite3.Connection) -> None:
    """Pragmas every journal connection uses (see the module docstring)."""
    conn.isolation_level = None
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A raw configured connection (``readonly`` opens with ``mode=ro``)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30,
                               check_same_thread=False)
        conn.isolation_level = None
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn
    try:
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
    except sqlite3.Error as exc:
        raise JournalError(
            f"cannot open {path} ({exc}); choose a journal file (not a folder) in a folder "
            "you can write to, with --db"
        ) from None
    try:
        configure_connection(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise NotAJournalError(
            f"{path} is not a CrossMargin journal (SQLite says: {exc}); "
            "choose the right file with --db"
        ) from None
    return conn


def _pragma_int(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def read_versions(conn: sqlite3.Connection, path: Path) -> tuple[int, int, bool]:
    """(application_id, user_version, has_tables) of a database, or NotAJournalError."""
    try:
        app_id = _pragma_int(conn, "application_id")
        version = _pragma_int(conn, "user_version")
        has_tables = (
            conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] > 0
        )
    except sqlite3.DatabaseError as exc:
        raise NotAJournalError(
            f"{path} cannot be read as a CrossMargin journal: it is damaged or another kind "
            f"of file (SQLite says: {exc})"
        ) from None
    return app_id, version, has_tables


def quick_problems(conn: sqlite3.Connection, limit: int = 5) -> list[str]:
    """Lines from ``PRAGMA quick_check`` (empty when sound): the O(N) check run at every
    open (it skips the index-content cross-check of ``integrity_check``)."""
    try:
        rows = [r[0] for r in conn.execute(f"PRAGMA quick_check({int(limit)})")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def integrity_problems(conn: sqlite3.Connection, limit: int = 20) -> list[str]:
    """Lines from ``PRAGMA integrity_check`` (empty when the file is sound); a file too
    damaged to be checked gives SQLite's error as the one line."""
    try:
        rows = [r[0] for r in conn.execute(f"PRAGMA integrity_check({int(limit)})")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def backup_to(source: sqlite3.Connection, dest: Path) -> Path:
    """Copy a live database to ``dest`` with the SQLite online backup API (consistent).

    ``dest`` is written to a temporary name and renamed into place, so a failed backup
    never leaves a half-written file under the final name. Owner-only permissions.
    """
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".partial")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        os.replace(tmp, dest)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise JournalError(f"cannot write the backup {dest} ({exc}); nothing was changed") from None
    return dest


def backup_file(db_path: Path, dest: Path) -> Path:
    """Back up a journal file, even while another process has it open (read-only access)."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise JournalError(f"no journal at {db_path}; check the path given with --db")
    src = connect(db_path, readonly=True)
    try:
        app_id, _version, has_tables = read_versions(src, db_path)
        from crossmargin.storage.schema import APPLICATION_ID

        if app_id != APPLICATION_ID or not has_tables:
            raise NotAJournalError(f"{db_path} is not a CrossMargin journal")
        damage = quick_problems(src)
        if damage:
            raise JournalCorruptError(
                f"{db_path} is damaged ({'; '.join(damage[:2])}); a backup of it would copy "
                "the damage, so none was written; restore a backup from before the damage",
                path=db_path, problems=tuple(damage))
        return backup_to(src, dest)
    finally:
        src.close()


@dataclass(frozen=True, slots=True)
class MigrationOutcome:
    from_version: int
    to_version: int
    backup: Path | None


def migration_backup_path(db_path: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return db_path.with_name(f"{db_path.stem}.v{version}-backup-{stamp}{db_path.suffix}")


def migrate(
    conn: sqlite3.Connection,
    db_path: Path,
    *,
    target: int,
    steps: Mapping[int, MigrationStep],
) -> MigrationOutcome:
    """Bring the file at ``conn`` to schema ``target`` (steps[n] upgrades n → n+1).

    Refuses newer files and damaged ones (an upgrade would spread the damage), backs up
    before changing anything, and runs every step in one ``BEGIN EXCLUSIVE`` transaction so
    a failure leaves the old version intact.
    """
    _app_id, version, _has_tables = read_versions(conn, db_path)
    if version > target:
        raise SchemaTooNewError(
            f"{db_path} was written by a newer CrossMargin (journal schema v{version}; this "
            f"version understands up to v{target}). Update CrossMargin to open it; the file "
            "was not changed."
        )
    if version == target:
        return MigrationOutcome(version, version, None)
    missing = [v for v in range(version, target) if v not in steps]
    if missing:
        raise MigrationError(
            f"{db_path}: no upgrade path from journal schema v{version} to v{target} "
            f"(missing step from v{missing[0]}); the file was not changed"
        )
    damage = integrity_problems(conn, limit=3)
    if damage:
        raise JournalCorruptError(
            f"{db_path} is damaged ({'; '.join(damage)}); it was not upgraded to schema "
            f"v{target} and was not changed; restore a backup from before the damage",
            path=db_path, problems=tuple(damage),
        )
    backup = backup_to(conn, migration_backup_path(db_path, version))
    conn.execute("BEGIN EXCLUSIVE")
    if _pragma_int(conn, "user_version") != version:  # another process upgraded meanwhile
        conn.execute("COMMIT")
        return MigrationOutcome(version, target, backup)
    try:
        for v in range(version, target):
            steps[v](conn)
            conn.execute(f"PRAGMA user_version = {v + 1}")
        problems = [r[0] for r in conn.execute("PRAGMA foreign_key_check")]
        if problems:
            raise sqlite3.IntegrityError(f"foreign key check failed after upgrade: {problems}")
    except Exception as exc:
        conn.execute("ROLLBACK")
        raise MigrationError(
            f"upgrading {db_path} from schema v{version} to v{target} failed ({exc}); "
            f"the file was left unchanged; a copy was saved at {backup}"
        ) from exc
    conn.execute("COMMIT")
    return MigrationOutcome(version, target, backup)
