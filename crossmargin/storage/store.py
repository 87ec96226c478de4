"""The journal file: opening (creation, upgrade, integrity checks, locks), transactions,
the outside-change probe, backup and close. The modules beside it do the rest through
a :class:`Store`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from crossmargin import paths
from crossmargin.storage import db as dbmod
from crossmargin.storage import migrations, schema
from crossmargin.storage.rows import utc_now
from crossmargin.storage.schema import (
    meta_t,
)


@dataclass(frozen=True, slots=True)
class OpenInfo:
    """How the last :meth:`Journal.open` went (shown once by the GUI, logged by the CLI)."""

    created: bool
    migrated_from: int | None
    migration_backup: Path | None
    unclean_shutdown: bool
    integrity_checked: bool
    #: what ``PRAGMA quick_check`` found at open (only when opened with ``allow_damaged``)
    damage: tuple[str, ...] = ()


def create_schema(p: Path) -> None:
    from crossmargin import __version__

    engine = create_engine(f"sqlite:///{p}", poolclass=NullPool)
    event.listen(engine, "connect", lambda c, _r: dbmod.configure_connection(c))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                schema.SQLModel.metadata.create_all(conn, tables=list(schema.JOURNAL_TABLES))
                conn.execute(
                    meta_t.insert(),
                    [
                        {"key": "created_by", "value": f"crossmargin {__version__}"},
                        {"key": "created_at", "value": utc_now().isoformat()},
                    ],
                )
                conn.exec_driver_sql(f"PRAGMA application_id = {schema.APPLICATION_ID}")
                conn.exec_driver_sql(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
    finally:
        engine.dispose()


class Store:
    """An open journal file: its engine, write lock and transactions.

    :class:`crossmargin.storage.journal.Journal` is a Store with the journal's
    operations on it; the operation modules take a Store (``store.tx()`` for one write
    transaction, ``store.read()`` for one consistent read).
    """

    def __init__(self, path: Path, engine: Engine, lock: dbmod.FileLock | dbmod.NoLock,
                 info: OpenInfo) -> None:
        self.path = path
        self._engine = engine
        self._lock = lock
        self.write_lock = threading.RLock()
        self.info = info
        self._closed = False
        # Held open for the journal's lifetime: SQLite checkpoints and deletes the WAL when
        # the last connection closes, which would otherwise happen after every operation
        # (connections are not pooled); the WAL is checkpointed at close() instead.
        self._keeper = dbmod.connect(path, readonly=True)
        self._keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()  # maps the WAL
        # PRAGMA data_version on the keeper moves with every commit by another connection:
        # ours (noted right after each commit) or another process's (outside_change)
        self._keeper_lock = threading.Lock()
        self._seen_version = self._data_version()
        self._own_version = self._seen_version

    @classmethod
    def open(cls, path: Path | str | None = None, *, create: bool = True,
             allow_damaged: bool = False, exclusive: bool = False) -> Self:
        """Open (or create) a journal; see :mod:`crossmargin.storage.db` for the safety rules.

        Every open runs ``PRAGMA quick_check``: a damaged journal raises
        JournalCorruptError, or with ``allow_damaged`` opens for reading and restoring
        only (``info.damage`` lists what SQLite found; every write but :meth:`restore` is
        refused, so the damage never spreads).

        ``exclusive`` (the desktop app): one window per journal: a second exclusive open,
        in this or another process, raises JournalLockedError; the window's lock also
        tells the next session whether this one closed cleanly (then it runs the full
        integrity check). Without it (the CLI, scripts) any number of processes share the
        journal, the app's window included: SQLite serialises their writes (each waits up
        to 30 s for the others) and WAL keeps every read consistent, so nothing is ever
        half-written. Raises JournalLockedError (open in another window),
        SchemaTooNewError, NotAJournalError, JournalCorruptError, MigrationError — all
        :class:`CrossMarginError` with a message that says what to do.
        """
        p = Path(path) if path is not None else paths.default_journal_path()
        p = p.expanduser().resolve()
        if not p.exists() and not create:
            raise dbmod.JournalError(f"no journal at {p}; check the path given with --db")
        lock = dbmod.FileLock(p) if exclusive else dbmod.NoLock(p)
        if not p.exists():
            try:
                paths.ensure(p.parent)
            except OSError as exc:
                raise dbmod.JournalError(
                    f"cannot create the folder {p.parent} ({exc.strerror}); choose another "
                    "place with --db"
                ) from None
        lock.acquire()
        try:
            if not p.exists():  # a new journal is private to its owner from the first byte
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            info = cls._prepare_file(p, lock.last_shutdown_unclean, allow_damaged)
            engine = create_engine(
                f"sqlite:///{p}",
                poolclass=NullPool,
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            event.listen(engine, "connect", lambda c, _r: dbmod.configure_connection(c))
            journal = cls(p, engine, lock, info)
            try:
                journal._after_open()
            except BaseException:
                journal._keeper.close()
                engine.dispose()
                raise
            return journal
        except BaseException:
            lock.release(clean=not lock.last_shutdown_unclean)
            raise

    def _after_open(self) -> None:
        """Run once an open has the file ready (the Journal finishes upgrades here)."""

    @staticmethod
    def _prepare_file(p: Path, unclean: bool, allow_damaged: bool = False) -> OpenInfo:
        conn = dbmod.connect(p)
        try:
            app_id, version, has_tables = dbmod.read_versions(conn, p)
            if not has_tables:
                if app_id not in (0, schema.APPLICATION_ID) or version not in (0,):
                    raise dbmod.NotAJournalError(f"{p} is not a CrossMargin journal")
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":  # pragma: no cover - e.g. network drives
                    raise dbmod.JournalError(f"{p}: cannot use WAL mode here ({mode})")
                create_schema(p)
                return OpenInfo(True, None, None, unclean, False)
            if app_id != schema.APPLICATION_ID:
                raise dbmod.NotAJournalError(
                    f"{p} is an SQLite file but not a CrossMargin journal; choose the journal "
                    "file with --db"
                )
            checked = unclean
            problems = (dbmod.integrity_problems(conn) if unclean
                        else dbmod.quick_problems(conn))
            if problems:
                when = " after an unclean shutdown" if unclean else ""
                if not allow_damaged:
                    raise dbmod.JournalCorruptError(
                        f"{p} is damaged{when} ({'; '.join(problems[:3])}); nothing was read "
                        "from or written to it; restore a backup from before the damage",
                        path=p, problems=tuple(problems),
                    )
                return OpenInfo(False, None, None, unclean, checked, tuple(problems))
            conn.execute("PRAGMA journal_mode = WAL")
            outcome = dbmod.migrate(conn, p, target=schema.SCHEMA_VERSION, steps=migrations.STEPS)
            return OpenInfo(
                False,
                outcome.from_version if outcome.backup is not None else None,
                outcome.backup,
                unclean,
                checked,
            )
        finally:
            conn.close()

    def _data_version(self) -> int:
        with self._keeper_lock:
            return int(self._keeper.execute("PRAGMA data_version").fetchone()[0])

    def outside_change(self) -> bool:
        """True once for each batch of commits made by another process (the CLI while the
        app runs, say) since the last call; this process's own writes do not count. Cheap
        (one PRAGMA): a window polls it on a timer and refreshes what it shows."""
        if self._closed:
            return False
        version = self._data_version()
        if version == self._seen_version:
            return False
        self._seen_version = version
        return version != self._own_version

    def close(self) -> None:
        """Checkpoint the WAL and release the file (marks the shutdown as clean). Any
        thread may close the journal (the app closes it at quit, on the GUI thread)."""
        if self._closed:
            return
        self._closed = True
        try:
            with self.write_lock, self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._keeper.close()
            self._engine.dispose()
            self._lock.release(clean=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on any error).

        Inputs are validated before the transaction (InputError naming the field); an
        SQLAlchemy/SQLite error that still happens (full disk, busy file, a constraint the
        checks missed) is rolled back and raised as :class:`~.db.StorageError`, never raw.
        """
        if self._closed:
            raise dbmod.JournalError("the journal is closed")
        if self.info.damage:
            raise dbmod.JournalCorruptError(
                f"{self.path} is damaged ({'; '.join(self.info.damage[:2])}); writes are "
                "refused so the damage cannot spread; restore a backup from before the damage",
                path=self.path, problems=self.info.damage,
            )
        try:
            with self.write_lock, self._engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
                own = self._data_version()
                if self._seen_version == self._own_version:
                    self._seen_version = own  # nothing from outside was pending: ours only
                self._own_version = own
        except SQLAlchemyError as exc:
            raise dbmod.storage_error(exc, writing=True) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent read snapshot (deferred transaction); SQL errors → StorageError."""
        if self._closed:
            raise dbmod.JournalError("the journal is closed")
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("BEGIN")
                try:
                    yield conn
                finally:
                    conn.exec_driver_sql("COMMIT")
        except SQLAlchemyError as exc:
            raise dbmod.storage_error(exc, writing=False) from exc

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check`` lines (empty list = sound)."""
        if self._closed:
            raise dbmod.JournalError("the journal is closed")
        try:
            with self._engine.connect() as conn:
                rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check(20)")]
        except SQLAlchemyError as exc:
            return [str(getattr(exc, "orig", None) or exc)]
        return [] if rows == ["ok"] else rows

    def backup(self, dest: Path | str | None = None, *, allow_damaged: bool = False) -> Path:
        """A consistent copy of the journal (SQLite online backup; safe while in use).

        Default destination: ``<data dir>/backups/journal-<UTC time>.sqlite3``. The journal
        is checked first (``quick_check``): a damaged one is not copied (a backup of damage
        would pass for a good one later), unless ``allow_damaged`` (the copy kept before a
        restore replaces a damaged journal: its name says ``damaged``).
        """
        with self.write_lock:
            src = dbmod.connect(self.path, readonly=True)
            try:
                damage = dbmod.quick_problems(src)
                if damage and not allow_damaged:
                    raise dbmod.JournalCorruptError(
                        f"{self.path} is damaged ({'; '.join(damage[:2])}); a backup of it "
                        "would copy the damage, so none was written; restore a backup from "
                        "before the damage", path=self.path, problems=tuple(damage))
                if dest is None:
                    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                    dest = paths.ensure(self.path.parent / "backups") / (
                        f"{self.path.stem}-{stamp}.sqlite3")
                if damage:
                    dest = Path(dest).with_name(f"{Path(dest).stem}-damaged.sqlite3")
                return dbmod.backup_to(src, Path(dest))
            finally:
                src.close()

    def meta(self) -> dict[str, str]:
        """Facts about the file (created_by, created_at)."""
        with self.read() as conn:
            return {k: v for k, v in conn.execute(select(meta_t.c.key, meta_t.c.value))}

