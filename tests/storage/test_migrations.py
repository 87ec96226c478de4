"""Schema versions: the oldest kept file opens (and upgrades for real, every row intact),
newer files are refused, upgrades back up first and are all-or-nothing."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from crossmargin.domain import MarginMode, Side, Tier
from crossmargin.errors import InputError
from crossmargin.storage import (
    ExchangePosition,
    Journal,
    JournalCorruptError,
    MigrationError,
    NewFill,
    NotAJournalError,
    PositionFilter,
    PositionStatus,
    SchemaTooNewError,
    SyncBatch,
    migrations,
    schema,
)
from crossmargin.storage import db as dbmod

from .helpers import DATA, at

OLDEST = DATA / "journal_v1.sqlite3"
KEPT_V2 = DATA / "journal_v2.sqlite3"
KEPT_V3 = DATA / "journal_v3.sqlite3"


def copy_oldest(tmp_path: Path) -> Path:
    dest = tmp_path / "journal.sqlite3"
    shutil.copyfile(OLDEST, dest)
    return dest


def current_file(tmp_path: Path) -> Path:
    """The kept file brought to this build's schema (and its upgrade backup removed)."""
    path = copy_oldest(tmp_path)
    Journal.open(path).close()
    for b in tmp_path.glob("*backup*"):
        b.unlink()
    assert version(path) == schema.SCHEMA_VERSION
    return path


def version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def raw_dump(path: Path) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """Every table's columns (name, declared type, not null, default, pk) and every row with
    its raw SQLite values and storage classes, in rowid order."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            cols = [tuple(c[1:]) for c in conn.execute(f'PRAGMA table_info("{name}")')]
            typed = ", ".join(f'"{c[0]}", typeof("{c[0]}")' for c in cols)
            rows = conn.execute(f'SELECT {typed} FROM "{name}" ORDER BY rowid').fetchall()
            out[name] = (cols, rows)
        return out
    finally:
        conn.close()


#: Columns added by upgrade steps after v1 (table -> names): NULL in every upgraded row.
ADDED_SINCE_V1 = {"fill": ("realized_pnl",), "position": ("computed_pnl",),
                  "account": ("default_leverage", "collateral_mode")}
#: Columns v3 rewrites (canonical symbols and the dedupe keys built on them): checked
#: apart by check_canonical_symbols.
RENAMED_IN_V3 = {t: ("symbol",) for t in ("position", "instrument", "tier", "exchange_position")}
RENAMED_IN_V3 |= {"fill": ("symbol", "dedupe_key"), "funding": ("symbol", "dedupe_key")}


def _drop(dump, columns, check_null: bool):
    out = {}
    for name, (cols, rows) in dump.items():
        drop = [i for i, c in enumerate(cols) if c[0] in columns.get(name, ())]
        if check_null:
            for row in rows:
                for i in drop:
                    assert row[2 * i] is None and row[2 * i + 1] == "null", (name, cols[i], row)
        keep = [i for i in range(len(cols)) if i not in drop]
        out[name] = ([cols[i] for i in keep],
                     [tuple(v for i in keep for v in row[2 * i:2 * i + 2]) for row in rows])
    return out


#: Tables added by upgrade steps after v1: empty right after the upgrade.
TABLES_SINCE_V1 = ("collateral_rate",)


def without_added(dump: dict[str, tuple[list[tuple], list[tuple]]],
                  added: dict[str, tuple[str, ...]] = ADDED_SINCE_V1):
    """``dump`` without the ``added`` columns (after checking they hold only NULLs), the
    added tables (after checking they are empty) and the columns v3 renames (compare
    ``before`` through :func:`unrenamed`)."""
    dump = dict(dump)
    for table in TABLES_SINCE_V1:
        if table in dump:
            assert dump.pop(table)[1] == [], table
    return _drop(_drop(dump, added, True), RENAMED_IN_V3, False)


def unrenamed(dump):
    """An old file's dump without the columns v3 rewrites (symbols, dedupe keys)."""
    return _drop(dump, RENAMED_IN_V3, False)


def check_canonical_symbols(path: Path) -> None:
    """Every stored symbol is canonical and every fill's dedupe key is the one this build
    computes for it (so re-importing an old file adds nothing)."""
    from crossmargin.storage.journal import fill_dedupe_key
    from crossmargin.symbols import canonical

    conn = sqlite3.connect(path)
    try:
        for table in ("fill", "position", "funding", "instrument", "tier", "exchange_position"):
            for (sym,) in conn.execute(f"SELECT symbol FROM {table}"):
                assert sym == canonical(sym), (table, sym)
        for row in conn.execute("SELECT symbol, leg, time, side, price, amount, fee, "
                                "fee_currency, order_id, trade_id, dedupe_key FROM fill"):
            sym, leg, micros, side, price, amount, fee, fcur, oid, tid, key = row
            fill = NewFill(sym, side, D(price), D(amount),
                           datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros),
                           D(fee), fcur, tid, oid, leg)
            assert key.split("#")[0] == fill_dedupe_key(fill), row
    finally:
        conn.close()


def structure(path: Path) -> dict[str, object]:
    """Tables, columns, foreign keys and indexes (with their columns and uniqueness)."""
    conn = sqlite3.connect(path)
    try:
        out: dict[str, object] = {}
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            cols = [tuple(c[1:]) for c in conn.execute(f'PRAGMA table_info("{name}")')]
            fks = sorted(tuple(f[2:]) for f in conn.execute(f'PRAGMA foreign_key_list("{name}")'))
            idx = sorted(
                (
                    ix[1] if not ix[1].startswith("sqlite_autoindex") else "auto",
                    ix[2],
                    tuple(c[2] for c in conn.execute(f'PRAGMA index_info("{ix[1]}")')),
                )
                for ix in conn.execute(f'PRAGMA index_list("{name}")')
            )
            out[name] = (cols, fks, idx)
        return out
    finally:
        conn.close()


def test_kept_file_is_schema_v1() -> None:
    assert version(OLDEST) == 1
    assert version(KEPT_V2) == 2


def test_kept_v2_file_upgrades(tmp_path: Path) -> None:
    """v2 → v3 adds the exchange-PnL columns in place; every v2 row is kept exactly."""
    path = tmp_path / "journal.sqlite3"
    shutil.copyfile(KEPT_V2, path)
    before = raw_dump(path)
    with Journal.open(path) as j:
        assert j.info.migrated_from == 2 and version(path) == 4
        assert without_added(raw_dump(path)) == unrenamed(before)
        check_canonical_symbols(path)
        assert all(f.realized_pnl is None for f in j.fills(limit=100).items)
        assert all(p.pnl_source == "fills" for p in j.positions().items)
        okx = j.exchange_positions("OKX")
        assert [p.margin_mode for p in okx] == [MarginMode.CROSS, MarginMode.ISOLATED]
        # a re-sync's exchange figure now lands: the position shows it, the check beside it
        acct = j.create_account("Fresh", rules="binance").id
        j.add_fills(acct, [
            NewFill("BTCUSDT", "buy", D("100"), D("1"), at(10), trade_id="a", realized_pnl=D(0)),
            NewFill("BTCUSDT", "sell", D("110"), D("1"), at(11), trade_id="b",
                    realized_pnl=D("9.99999999")),
        ])
        (pos,) = j.positions(PositionFilter(account=acct)).items
        assert pos.realized_pnl == D("9.99999999") and pos.computed_pnl == 10
        assert pos.pnl_source == "exchange"


def test_kept_v3_file_upgrades(tmp_path: Path) -> None:
    """v3 → v4 adds the collateral mode (NULL: single-asset, as before) and an empty
    collateral_rate table; every v3 row is kept exactly, and the account can pool its BTC."""
    from crossmargin.domain import CollateralMode
    from crossmargin.domain.collateral import flat
    from crossmargin.storage import CollateralRate

    path = tmp_path / "journal.sqlite3"
    shutil.copyfile(KEPT_V3, path)
    before = raw_dump(path)
    with Journal.open(path) as j:
        assert j.info.migrated_from == 3 and version(path) == 4
        after = raw_dump(path)
        assert after.pop("collateral_rate")[1] == []
        assert _drop(after, {"account": ("collateral_mode",)}, True) == before
        acct = j.account("Binance")
        assert acct.collateral_mode is CollateralMode.SINGLE
        j.update_account(acct.id, collateral_mode="multi")
        j.set_collateral_rates(acct.id, [CollateralRate("BTC", D(90000), flat("0.95"))])
        state = j.build_scenario(acct.id)
        assert state.multi_asset and state.collateral[0].amount == D("0.25")
        assert state.collateral[0].value == D("0.25") * 90000 * D("0.95")


def test_oldest_kept_file_opens_and_upgrades(tmp_path: Path) -> None:
    path = copy_oldest(tmp_path)
    before = raw_dump(path)
    j = Journal.open(path)
    try:
        assert schema.SCHEMA_VERSION == 4  # a new version needs its step tested here too
        assert j.info.migrated_from == 1 and j.info.migration_backup.is_file()
        assert version(j.info.migration_backup) == 1
        assert raw_dump(j.info.migration_backup) == before  # the backup is the old file
        assert version(path) == schema.SCHEMA_VERSION
        # every table, column and row survived the upgrade exactly: same raw values and
        # storage classes (Decimals still TEXT such as '1000000.12345678' and '1E-8', times
        # still INTEGER microseconds), same ids; the columns added since are all NULL
        assert without_added(raw_dump(path)) == unrenamed(before)
        check_canonical_symbols(path)
        assert [a.label for a in j.accounts()] == ["Exchange", "Manual"]
        btc = next(p for p in j.positions().items if p.symbol == "BTC/USDT:USDT")
        assert btc.status is PositionStatus.CLOSED and btc.contracts == 0
        assert btc.entry_price == D("1000000.12345678") and btc.max_contracts == D("1E-8")
        assert btc.tags == ("tiny", "v1") and btc.notes == "smallest size" and btc.rating == 3
        assert btc.fees == D("0.0000000001") * D("1000000.12345678")
        eth = [p for p in j.positions().items if p.symbol == "ETH/USDT:USDT"]
        assert {p.side.value for p in eth} == {"long", "short"}
        closed = next(p for p in eth if p.status is PositionStatus.CLOSED)
        still_open = next(p for p in eth if p.status is PositionStatus.OPEN)
        assert closed.realized_pnl == D("109.450") and closed.funding == 0
        assert still_open.funding == D("-0.125") and still_open.contracts == D("1.10")
        assert j.tiers("Manual")["ETH/USDT:USDT"][1].maintenance_amount == 75
        assert j.sync_cursor("Exchange", "fills") == "1709269200000"
        assert j.exchange_positions("Exchange")[0].liquidation_price == 290
        with pytest.raises(InputError, match="SOL/USDT:USDT: no maintenance-margin tiers"):
            j.build_scenario("Exchange")  # never a made-up rate
        j.set_tiers("Exchange", "SOLUSDT", (Tier(D(0), None, D("0.01"), D(0)),))
        state = j.build_scenario("Exchange")
        assert state.wallet_balance == D("2500.75") and len(state.positions) == 1
        assert j.integrity_check() == []
        # the upgraded file takes new writes
        j.add_position("Manual", "XRPUSDT", "long", D(10), D("0.5"))
    finally:
        j.close()


def test_v1_exchange_position_row_is_kept_exactly(tmp_path: Path) -> None:
    path = copy_oldest(tmp_path)
    Journal.open(path).close()
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(
            "SELECT id, account_id, symbol, side, contracts, typeof(contracts), entry_price, "
            "mark_price, leverage, margin_mode, isolated_margin, contract_size, inverse, "
            "liquidation_price, typeof(liquidation_price), unrealized_pnl, updated_at, "
            "typeof(updated_at) FROM exchange_position"
        ).fetchall()
    finally:
        conn.close()
    assert row == [(1, 2, "SOL/USDT:USDT", "short", "10", "text", "150.25", "149", "5", "cross",
                    None, "1", 0, "290", "text", None, 1_709_269_200_000_000, "integer")]


def test_upgraded_file_has_exactly_the_new_schema(tmp_path: Path) -> None:
    """v1 + the upgrade steps == a journal created by this build (tables, columns, keys,
    indexes and unique constraints)."""
    upgraded = copy_oldest(tmp_path)
    Journal.open(upgraded).close()
    fresh = tmp_path / "fresh.sqlite3"
    Journal.open(fresh).close()
    assert structure(upgraded) == structure(fresh)
    ep = structure(fresh)["exchange_position"][2]
    assert ("auto", 1, ("account_id", "symbol", "side", "margin_mode")) in ep


def _pair(margin_mode_2: MarginMode = MarginMode.ISOLATED) -> list[ExchangePosition]:
    return [
        ExchangePosition("BTC/USD:BTC", Side.LONG, D(100), D("60000.5"), D("61000"), D(10),
                         MarginMode.CROSS, contract_size=D(100), inverse=True,
                         liquidation_price=D("89.11")),
        ExchangePosition("BTC/USD:BTC", Side.LONG, D(3), D("69000"), D("61000"), D(20),
                         margin_mode_2, isolated_margin=D("0.0002"), contract_size=D(100),
                         inverse=True, liquidation_price=D("69536.61")),
    ]


def test_upgraded_file_stores_cross_and_isolated_on_one_symbol(tmp_path: Path) -> None:
    path = copy_oldest(tmp_path)
    with Journal.open(path) as j:
        j.apply_sync_batch("Exchange", SyncBatch(fetched_at=at(6), positions=_pair()))
        got = j.exchange_positions("Exchange")
        assert [(p.symbol, p.margin_mode, p.contracts, p.isolated_margin, p.liquidation_price)
                for p in got] == [
            ("BTC/USD:BTC", MarginMode.CROSS, D(100), None, D("89.11")),
            ("BTC/USD:BTC", MarginMode.ISOLATED, D(3), D("0.0002"), D("69536.61")),
        ]
        j.set_tiers("Exchange", "BTC-USD-SWAP", (Tier(D(0), None, D("0.004"), D(0)),))
        state = j.build_scenario("Exchange", settle="BTC", wallet_balance=D(1))
        assert sorted(p.id for p in state.positions) == ["BTC/USD:BTC:long",
                                                         "BTC/USD:BTC:long:isolated"]
        # the same (symbol, side, margin mode) twice is still refused, naming the record
        with pytest.raises(InputError, match=r"batch.positions\[1\]"):
            j.apply_sync_batch("Exchange", SyncBatch(fetched_at=at(7),
                                                     positions=_pair(MarginMode.CROSS)))
        assert j.exchange_positions("Exchange") == got
    # and it reopens at v2 without a second upgrade
    with Journal.open(path) as j:
        assert j.info.migrated_from is None and len(j.exchange_positions("Exchange")) == 2


def test_failed_upgrade_undoes_the_table_rebuild(tmp_path: Path, monkeypatch) -> None:
    """The real v1→v2 rebuild runs, then a later step fails: the file is v1 again, with its
    v1 table definition, no leftover table, and every row."""
    path = copy_oldest(tmp_path)
    before_rows = raw_dump(path)
    before_sql = _table_sql(path, "exchange_position")
    current = schema.SCHEMA_VERSION

    def broken(conn: sqlite3.Connection) -> None:
        assert "margin_mode)" in _table_sql_conn(conn, "exchange_position")  # v2 step ran
        raise RuntimeError("step exploded")

    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(migrations.STEPS, current, broken)
    with pytest.raises(MigrationError, match="left unchanged"):
        Journal.open(path)
    assert version(path) == 1
    assert _table_sql(path, "exchange_position") == before_sql
    assert raw_dump(path) == before_rows


def _table_sql_conn(conn: sqlite3.Connection, name: str) -> str:
    return conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]


def _table_sql(path: Path, name: str) -> str:
    conn = sqlite3.connect(path)
    try:
        return _table_sql_conn(conn, name)
    finally:
        conn.close()


def test_rebuild_keeps_indexes_and_refuses_a_referenced_table() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY, a TEXT, b TEXT, UNIQUE (a))")
    conn.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                 "parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE)")
    conn.execute("CREATE INDEX ix_parent_b ON parent (b)")
    conn.execute("INSERT INTO parent VALUES (1, 'x', '1.10'), (2, 'y', '1E-8')")
    with pytest.raises(sqlite3.OperationalError, match="referenced by child"):
        migrations.rebuild_table(conn, "parent", "CREATE TABLE parent__new (id INTEGER "
                                 "PRIMARY KEY, a TEXT, b TEXT, UNIQUE (a, b))", ["id", "a", "b"])
    conn.execute("DROP TABLE child")
    migrations.rebuild_table(conn, "parent", "CREATE TABLE parent__new (id INTEGER "
                             "PRIMARY KEY, a TEXT, b TEXT, UNIQUE (a, b))", ["id", "a", "b"])
    assert conn.execute("SELECT * FROM parent ORDER BY id").fetchall() == [
        (1, "x", "1.10"), (2, "y", "1E-8")]
    names = {r[1] for r in conn.execute("PRAGMA index_list(parent)")}
    assert "ix_parent_b" in names
    conn.execute("INSERT INTO parent VALUES (3, 'x', '2')")  # (a) alone is no longer unique
    conn.close()


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
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    Journal.open(path).close()


def _add_rating_note(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE position ADD COLUMN review TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE position SET review = 'migrated' WHERE rating IS NOT NULL")


def test_upgrade_step_runs_after_a_backup(tmp_path: Path, monkeypatch) -> None:
    """A next schema step through Journal.open: backup first, one step, version bumped."""
    path = current_file(tmp_path)
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
    path = current_file(tmp_path)
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
    path = current_file(tmp_path)
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


def test_restoring_a_v1_backup_upgrades_it(tmp_path: Path) -> None:
    """A backup made by schema v1 restored into an open v2 journal is upgraded in place
    (the same real step), every row intact, and takes a cross + isolated pair."""
    source = copy_oldest(tmp_path)
    before = raw_dump(source)
    with Journal.open(tmp_path / "current.sqlite3") as j:
        j.create_account("Scratch")
        j.restore(source)
        assert [a.label for a in j.accounts()] == ["Exchange", "Manual"]
        assert version(j.path) == schema.SCHEMA_VERSION
        assert without_added(raw_dump(j.path)) == unrenamed(before)
        check_canonical_symbols(j.path)
        j.apply_sync_batch("Exchange", SyncBatch(fetched_at=at(6), positions=_pair()))
        assert len(j.exchange_positions("Exchange")) == 2


def _damage(path: Path) -> None:
    """Overwrite part of the file's pages (past the header) with junk."""
    data = bytearray(path.read_bytes())
    data[8192:12000] = b"Z" * (12000 - 8192)
    path.write_bytes(bytes(data))


def test_damaged_old_file_is_not_upgraded(tmp_path: Path) -> None:
    path = copy_oldest(tmp_path)
    _damage(path)
    before = path.read_bytes()
    with pytest.raises(JournalCorruptError, match="nothing was read from or written") as e:
        Journal.open(path)  # the check at open finds it before any upgrade step
    assert "restore a backup from before the damage" in str(e.value)
    assert e.value.path == path.resolve() and e.value.problems
    assert path.read_bytes() == before and version(path) == 1
    assert not list(tmp_path.glob("*backup*"))


def test_damaged_backup_is_not_restored(tmp_path: Path) -> None:
    source = copy_oldest(tmp_path)
    _damage(source)
    with Journal.open(tmp_path / "current.sqlite3") as j:
        j.create_account("Kept")
        with pytest.raises(JournalCorruptError, match="nothing was restored"):
            j.restore(source)
        assert [a.label for a in j.accounts()] == ["Kept"]


def test_two_names_of_one_contract_become_one(tmp_path: Path) -> None:
    """A v2 journal holding ETHUSDT (hand-logged) and ETH/USDT:USDT (synced later, one
    trade of them twice) opens at v3 with one contract: the duplicate trade dropped and
    the positions re-derived from all the fills, notes kept."""
    path = tmp_path / "journal.sqlite3"
    shutil.copyfile(KEPT_V2, path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE position SET notes = 'my ETH trade' WHERE id = 2")
        for fid, tid, side, amount, micros in ((6, "e2", "sell", "2.20", 1709262000000000),
                                               (7, "e3", "buy", "1.10", 1709270000000000)):
            conn.execute(
                "INSERT INTO fill (id, account_id, symbol, leg, time, side, price, amount, fee, "
                "fee_currency, trade_id, order_id, dedupe_key, source, import_id, position_id, "
                "next_position_id, note) VALUES (?, 1, 'ETH/USDT:USDT', 'net', ?, ?, '3050', ?, "
                "'0', 'USDT', ?, NULL, ?, 'sync', NULL, NULL, NULL, '')",
                (fid, micros, side, amount, tid, f"t:ETH/USDT:USDT:{tid}"))
    conn.close()
    with Journal.open(path) as j:
        eth = j.positions(PositionFilter(symbol="ETHUSDT")).items
        assert {p.symbol for p in eth} == {"ETH/USDT:USDT"}
        assert [f.trade_id for f in j.fills(symbol="ETHUSDT").items] == ["e3", "e2", "e1"]
        assert all(not p.is_open for p in eth)  # e3 closed the short the flip opened
        assert next(p for p in eth if p.side is Side.LONG).notes == "my ETH trade"
        assert j.meta().get("rederive") is None
    check_canonical_symbols(path)
    with Journal.open(path) as j:  # reopening re-derives nothing more
        assert len(j.positions(PositionFilter(symbol="ETH/USDT:USDT")).items) == 2
