"""Schema versions: the oldest kept file opens (and upgrades), newer files are refused,
upgrades back up first and are all-or-nothing."""

from __future__ import annotations

import shutil
import sqlite3
from decimal import Decimal as D
from pathlib import Path

import pytest

from crossmargin.storage import (
    Journal,
    MigrationError,
    NotAJournalError,
    PositionStatus,
    SchemaTooNewError,
    migrations,
    schema,
)
from crossmargin.storage import db as dbmod

from .helpers import DATA

OLDEST = DATA / "journal_v1.sqlite3"


def copy_oldest(tmp_path: Path) -> Path:
    dest = tmp_path / "journal.sqlite3"
    shutil.copyfile(OLDEST, dest)
    return dest


def version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_kept_file_is_schema_v1() -> None:
    assert version(OLDEST) == 1


def test_oldest_kept_file_opens_and_upgrades(tmp_path: Path) -> None:
    path = copy_oldest(tmp_path)
    j = Journal.open(path)
    try:
        if schema.SCHEMA_VERSION > 1:
            assert j.info.migrated_from == 1 and j.info.migration_backup.is_file()
            assert version(j.info.migration_backup) == 1
        else:
            assert j.info.migrated_from is None
        assert version(path) == schema.SCHEMA_VERSION
        assert [a.label for a in j.accounts()] == ["Exchange", "Manual"]
        btc = next(p for p in j.positions().items if p.symbol == "BTCUSDT")
        assert btc.status is PositionStatus.CLOSED and btc.contracts == 0
        assert btc.entry_price == D("1000000.12345678") and btc.max_contracts == D("1E-8")
        assert btc.tags == ("tiny", "v1") and btc.notes == "smallest size" and btc.rating == 3
        assert btc.fees == D("0.0000000001") * D("1000000.12345678")
        eth = [p for p in j.positions().items if p.symbol == "ETHUSDT"]
        assert {p.side.value for p in eth} == {"long", "short"}
        closed = next(p for p in eth if p.status is PositionStatus.CLOSED)
        still_open = next(p for p in eth if p.status is PositionStatus.OPEN)
        assert closed.realized_pnl == D("109.450") and closed.funding == 0
        assert still_open.funding == D("-0.125") and still_open.contracts == D("1.10")
        assert j.tiers("Manual")["ETHUSDT"][1].maintenance_amount == 75
        assert j.sync_cursor("Exchange", "fills") == "1709269200000"
        assert j.exchange_positions("Exchange")[0].liquidation_price == 290
        state = j.build_scenario("Exchange")
        assert state.wallet_balance == D("2500.75") and len(state.positions) == 1
        assert j.integrity_check() == []
        # the upgraded file takes new writes
        j.add_position("Manual", "XRPUSDT", "long", D(10), D("0.5"))
    finally:
        j.close()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = copy_oldest(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNewError, match="newer CrossMargin") as e:
        Journal.open(path)
    assert "Update CrossMargin" in str(e.value)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*backup*"))
    # and the lock was released: after fixing the version the file opens
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
    conn.close()
    Journal.open(path).close()


def _add_rating_note(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE position ADD COLUMN review TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE position SET review = 'migrated' WHERE rating IS NOT NULL")


def test_upgrade_step_runs_after_a_backup(tmp_path: Path, monkeypatch) -> None:
    """A next schema step through Journal.open: backup first, one step, version bumped."""
    path = copy_oldest(tmp_path)
    current = schema.SCHEMA_VERSION
    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(migrations.STEPS, current, _add_rating_note)
    j = Journal.open(path)
    try:
        assert j.info.migrated_from == current
        backup = j.info.migration_backup
        assert backup is not None and backup.is_file() and f".v{current}-backup-" in backup.name
        assert version(backup) == current
        assert j.position(1).notes == "smallest size"
    finally:
        j.close()
    assert version(path) == current + 1
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT review FROM position WHERE rating = 3").fetchone() == ("migrated",)
    conn.close()


def test_failed_upgrade_leaves_the_file_at_its_old_version(tmp_path: Path, monkeypatch) -> None:
    path = copy_oldest(tmp_path)
    current = schema.SCHEMA_VERSION

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE position ADD COLUMN half_done TEXT")
        raise RuntimeError("step exploded")

    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 2)
    monkeypatch.setitem(migrations.STEPS, current, _add_rating_note)
    monkeypatch.setitem(migrations.STEPS, current + 1, broken)
    with pytest.raises(MigrationError, match="left unchanged") as e:
        Journal.open(path)
    assert "step exploded" in str(e.value) and "backup" in str(e.value)
    assert version(path) == current
    conn = sqlite3.connect(path)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(position)")}
    conn.close()
    assert "review" not in cols and "half_done" not in cols
    monkeypatch.setattr(schema, "SCHEMA_VERSION", current)
    Journal.open(path).close()  # still opens with this version


def test_missing_step_is_reported(tmp_path: Path) -> None:
    path = copy_oldest(tmp_path)
    conn = dbmod.connect(path)
    try:
        with pytest.raises(MigrationError, match="no upgrade path"):
            dbmod.migrate(conn, path, target=schema.SCHEMA_VERSION + 3, steps={})
    finally:
        conn.close()
    assert version(path) == schema.SCHEMA_VERSION


def test_files_that_are_not_journals(tmp_path: Path) -> None:
    text = tmp_path / "notes.sqlite3"
    text.write_text("hello, this is not a database" * 100)
    with pytest.raises(NotAJournalError, match="not a CrossMargin journal"):
        Journal.open(text)
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(NotAJournalError):
        Journal.open(other)
