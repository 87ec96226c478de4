"""Restoring a backup into the open journal, safely: the backup is checked and upgraded
on a private copy first, the journal as it was is saved, and the swap is one SQLite
backup transaction (all or nothing).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from crossmargin import paths
from crossmargin.errors import InputError
from crossmargin.storage import db as dbmod
from crossmargin.storage import migrations, schema
from crossmargin.storage.derivation import finish_upgrade
from crossmargin.storage.records import OpChanges
from crossmargin.storage.store import Store


def restore(store: Store, source: Path | str) -> OpChanges:
    """Replace this journal's content with a backup file (checked first).

    The current content is backed up next to the journal before it is overwritten
    (``OpChanges.saved_copy``). Backups from an older schema are upgraded; newer ones
    are refused. Works on a journal opened with ``allow_damaged`` (that is what it is
    for), and clears its damaged state.

    Nothing touches the live journal until the candidate has passed every check on a
    private copy: it is an SQLite file of CrossMargin's, not from a newer version, sound
    (``integrity_check``), and its upgrade to this version's schema has been run for real
    on the copy. Only then is the live journal saved (``backups/…-before-restore-…``) and
    its content replaced in one transaction (SQLite's backup API into the live file), so a
    refused or failed restore leaves the journal byte for byte as it was.
    """
    source = Path(source).expanduser()
    if not source.is_file():
        raise InputError(f"{source}: backup file not found")
    if source.resolve() == store.path:
        raise InputError(f"{source} is the open journal itself; choose a backup file")
    work = Path(tempfile.mkdtemp(prefix=".restore-", dir=store.path.parent))
    try:
        candidate = _rehearse_restore(source, work / "candidate.sqlite3")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backups = paths.ensure(store.path.parent / "backups")
        safety = store.backup(backups / f"{store.path.stem}-before-restore-{stamp}.sqlite3",
                                allow_damaged=True)
        with store.write_lock:
            src = dbmod.connect(candidate, readonly=True)
            dest = dbmod.connect(store.path)
            try:
                src.backup(dest)  # one write transaction on the live file: all or nothing
                dest.execute("PRAGMA journal_mode = WAL")
            except Exception as exc:
                raise dbmod.JournalError(
                    f"restoring {source} failed ({exc}); your journal was not changed; a copy "
                    f"of it as it was is saved at {safety}"
                ) from exc
            finally:
                dest.close()
                src.close()
        store.info = replace(store.info, damage=())
        finish_upgrade(store)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return OpChanges.everything(saved_copy=str(safety))


def _rehearse_restore(source: Path, candidate: Path) -> Path:
    """Copy ``source`` to ``candidate`` and bring the copy to this version's schema, or
    raise a JournalError saying why the backup cannot be restored ("nothing was
    restored": the live journal is not touched here)."""
    refused = "; nothing was restored and your journal was not changed"
    try:
        src = dbmod.connect(source, readonly=True)
    except (OSError, sqlite3.Error, UnicodeDecodeError) as exc:
        raise dbmod.NotAJournalError(f"{source} cannot be read as a journal ({exc}){refused}") \
            from None
    try:
        try:
            app_id, version, has_tables = dbmod.read_versions(src, source)
        except dbmod.NotAJournalError:
            raise dbmod.NotAJournalError(
                f"{source} is not a CrossMargin journal backup (or is too damaged to tell)"
                f"{refused}") from None
        if app_id != schema.APPLICATION_ID or not has_tables:
            raise dbmod.NotAJournalError(f"{source} is not a CrossMargin journal backup{refused}")
        if version > schema.SCHEMA_VERSION:
            raise dbmod.SchemaTooNewError(
                f"{source} comes from a newer CrossMargin (schema v{version}; this version "
                f"understands up to v{schema.SCHEMA_VERSION}){refused}"
            )
        problems = dbmod.integrity_problems(src)
        if problems:
            raise dbmod.JournalCorruptError(
                f"{source} is damaged ({'; '.join(problems[:3])}){refused}"
            )
        dbmod.backup_to(src, candidate)
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise dbmod.JournalCorruptError(f"{source} cannot be read ({exc}){refused}") from None
    finally:
        src.close()
    conn = dbmod.connect(candidate)
    try:
        dbmod.migrate(conn, candidate, target=schema.SCHEMA_VERSION, steps=migrations.STEPS)
        problems = dbmod.integrity_problems(conn)
        if problems:
            raise dbmod.JournalCorruptError(
                f"{source} upgraded to schema v{schema.SCHEMA_VERSION} is not sound "
                f"({'; '.join(problems[:3])}){refused}")
    except dbmod.MigrationError as exc:
        raise dbmod.MigrationError(
            f"{source} (schema v{version}) cannot be brought to this version's schema "
            f"v{schema.SCHEMA_VERSION}: {str(exc).split('; ')[0]}{refused}") from None
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise dbmod.JournalCorruptError(f"{source} cannot be upgraded ({exc}){refused}") \
            from None
    finally:
        conn.close()
    return candidate
