"""Restore refuses every backup it cannot use, and then the live journal is byte for byte
what it was; a usable one replaces it and names the saved copy of the old content."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from crossmargin.cli.main import main
from crossmargin.storage import Journal

from .helpers import DATA


def _digest(path: Path) -> tuple[str, ...]:
    return tuple(
        hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "-"
        for p in (path, Path(f"{path}-wal"))
    )


@pytest.fixture
def live(tmp_path: Path, capsys) -> Path:
    db = tmp_path / "live" / "journal.sqlite3"
    db.parent.mkdir()
    for argv in (["journal", "account", "add", "Main", "--exchange", "binanceusdm"],
                 ["journal", "add", "--account", "Main", "BTCUSDT", "long", "0.5", "60000",
                  "--leverage", "10"],
                 ["journal", "transfer", "Main", "10000"]):
        assert main([*argv, "--db", str(db)]) == 0
    Journal.open(db).close()  # checkpointed: what a restore must leave untouched
    capsys.readouterr()
    return db


def _backup(live: Path, tmp_path: Path) -> Path:
    out = tmp_path / "good.sqlite3"
    with Journal.open(live) as j:
        j.backup(out)
    Journal.open(live).close()
    return out


def _flip(path: Path, at: int, n: int) -> None:
    data = bytearray(path.read_bytes())
    for i in range(at, min(at + n, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _version(path: Path, v: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {v}")
    conn.commit()
    conn.close()


def _make(kind: str, live: Path, tmp_path: Path) -> Path:
    bad = tmp_path / f"{kind}.sqlite3"
    if kind == "foreign":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE notes (x)")
        conn.commit()
        conn.close()
        return bad
    if kind == "text":
        bad.write_text("this is not a database\n" * 50)
        return bad
    if kind == "empty":
        bad.write_bytes(b"")
        return bad
    shutil.copyfile(_backup(live, tmp_path), bad)
    size = bad.stat().st_size
    if kind == "truncated":
        bad.write_bytes(bad.read_bytes()[: size // 2])
    elif kind == "flipped":
        _flip(bad, size // 2 - 8192, 16384)
    elif kind == "header":
        _flip(bad, 16, 80)
    elif kind == "newer":
        _version(bad, 99)
    elif kind == "no upgrade path":
        _version(bad, 0)
    return bad


@pytest.mark.parametrize("kind", ["truncated", "flipped", "header", "foreign", "text",
                                  "empty", "newer", "no upgrade path"])
def test_refused_restore_leaves_the_journal_byte_identical(live, tmp_path, capsys, kind):
    bad = _make(kind, live, tmp_path)
    before = _digest(live)
    rc = main(["restore", str(bad), "--yes", "--db", str(live)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "nothing was restored" in err or "not a CrossMargin journal" in err, err
    assert "Traceback" not in err
    assert _digest(live) == before
    # and it still works
    assert main(["journal", "list", "--db", str(live)]) == 0
    assert not list((live.parent).glob(".restore-*"))  # no rehearsal left behind


def test_older_backup_is_upgraded_and_the_old_content_named(tmp_path, capsys, live):
    old = tmp_path / "v1.sqlite3"
    shutil.copyfile(DATA / "journal_v1.sqlite3", old)
    assert main(["restore", str(old), "--yes", "--db", str(live)]) == 0
    out = capsys.readouterr().out
    saved = Path(out.split("is saved at ")[1].strip().rstrip("."))
    assert saved.is_file() and "before-restore" in saved.name
    with Journal.open(live) as j:
        assert [a.label for a in j.accounts()] == ["Exchange", "Manual"]
    with Journal.open(saved) as j:  # the replaced content is really there
        assert [a.label for a in j.accounts()] == ["Main"]
