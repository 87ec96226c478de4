"""Exports (CSV, JSON), backups (online API, also while another process holds the file)
and restore."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from crossmargin.errors import InputError
from crossmargin.storage import (
    Journal,
    NewFunding,
    NotAJournalError,
    PositionFilter,
    SchemaTooNewError,
    backup_file,
)
from crossmargin.storage.export import (
    export_fills_csv,
    export_funding_csv,
    export_json,
    export_positions_csv,
)

from .helpers import at, fill


def _populate(j: Journal, acct: int) -> None:
    j.add_fills(acct, [
        fill(0, "buy", "100.10", "0.00000001", fee="0.5", fee_currency="USDT", trade_id="a"),
        fill(1, "sell", "1000000", "0.00000003", trade_id="b"),
        fill(2, "buy", "120", "1", symbol="ETHUSDT", trade_id="c"),
    ])
    j.add_funding(acct, [NewFunding("ETHUSDT", at(3), D("-0.01"), "USDT", "f")])
    j.edit_position(j.positions().items[0].id, tags=["x", "y"], notes='quote "and", comma')


def test_csv_exports_and_fills_reimport(journal: Journal, acct: int, tmp_path: Path) -> None:
    _populate(journal, acct)
    n = export_positions_csv(journal, tmp_path / "pos.csv", PositionFilter(account=acct))
    rows = list(csv.DictReader((tmp_path / "pos.csv").open()))
    assert n == len(rows) == 3
    eth = next(r for r in rows if r["symbol"] == "ETH/USDT:USDT")
    assert eth["tags"] == "x;y" and eth["notes"] == 'quote "and", comma'
    assert eth["funding"] == "-0.01"
    first = next(r for r in rows if r["side"] == "long" and r["symbol"] == "BTC/USDT:USDT")
    assert first["entry_price"] == "100.10" and first["opened_at"].endswith("+00:00")
    assert export_funding_csv(journal, tmp_path / "fund.csv") == 1
    assert export_fills_csv(journal, tmp_path / "fills.csv", account="Main") == 3
    # the fills file is importable as is: same positions in another account
    other = journal.create_account("Copy").id
    report = journal.import_fills_csv(other, tmp_path / "fills.csv")
    assert report.new == 3 and not report.rejected

    def key(a: int):
        return sorted((p.symbol, p.side, p.contracts, p.entry_price, p.realized_pnl, p.fees)
                      for p in journal.positions(PositionFilter(account=a)).items)

    assert key(other) == key(acct)


def test_json_export_is_exact(journal: Journal, acct: int, tmp_path: Path) -> None:
    _populate(journal, acct)
    counts = export_json(journal, tmp_path / "all.json")
    doc = json.loads((tmp_path / "all.json").read_text())
    assert doc["format"] == "crossmargin-journal" and doc["schema_version"] >= 1
    assert counts["fill"] == 3 and len(doc["tables"]["fill"]) == 3
    prices = {f["trade_id"]: f["amount"] for f in doc["tables"]["fill"]}
    assert prices["a"] == "1E-8" and prices["b"] == "3E-8"
    assert doc["tables"]["account"][0]["label"] == "Main"
    assert not (tmp_path / "all.json.partial").exists()


def test_backup_and_restore(journal: Journal, acct: int, tmp_path: Path) -> None:
    _populate(journal, acct)
    dest = journal.backup(tmp_path / "b" / "copy.sqlite3")
    assert dest.is_file()
    journal.add_fill(acct, fill(9, "sell", "1", "1", symbol="XRPUSDT"))
    journal.delete_account("Main")
    assert journal.accounts() == []
    changes = journal.restore(dest)
    assert changes.positions and changes.accounts
    assert [a.label for a in journal.accounts()] == ["Main"]
    assert journal.fills().total == 3 and journal.integrity_check() == []
    safety = list((journal.path.parent / "backups").glob("*before-restore*"))
    assert len(safety) == 1
    # writes still work after a restore
    journal.add_position("Main", "DOGEUSDT", "long", D(1), D("0.1"))
    with pytest.raises(InputError, match="not found"):
        journal.restore(tmp_path / "nope.sqlite3")
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_bytes(b"x" * 4096)
    with pytest.raises(NotAJournalError):
        journal.restore(bogus)


def test_restore_refuses_a_newer_backup(journal: Journal, acct: int, tmp_path: Path) -> None:
    import sqlite3

    dest = journal.backup(tmp_path / "copy.sqlite3")
    conn = sqlite3.connect(dest)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(SchemaTooNewError):
        journal.restore(dest)
    assert [a.label for a in journal.accounts()] == ["Main"]


def test_backup_file_works_while_another_process_has_it_open(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite3"
    with Journal.open(db) as j:
        j.create_account("Main")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time\nfrom crossmargin.storage import Journal\n"
         f"j = Journal.open({str(db)!r})\nj.add_position('Main','BTCUSDT','long',"
         "__import__('decimal').Decimal(1), __import__('decimal').Decimal(2))\n"
         "print('ready', flush=True)\ntime.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        out = backup_file(db, tmp_path / "snap.sqlite3")
    finally:
        holder.kill()
        holder.wait()
    with Journal.open(out) as snap:
        assert snap.fills().total == 1


def test_new_journal_is_private_and_unwritable_targets_are_clear(tmp_path: Path) -> None:
    import os
    import stat

    db = tmp_path / "p" / "j.sqlite3"
    with Journal.open(db) as j:
        j.create_account("Main")
        assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(InputError, match="cannot write"):
            export_json(j, blocker / "sub" / "out.json")
        from crossmargin.storage import JournalError

        with pytest.raises(JournalError, match="cannot write the backup"):
            j.backup(blocker / "sub" / "b.sqlite3")
    with pytest.raises(JournalError, match=r"lock file|cannot create"):
        Journal.open(blocker / "x.sqlite3")
