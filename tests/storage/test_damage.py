"""A damaged journal is noticed at open: the CLI refuses to answer from it or write into
it and says how to restore; `backup` never copies damage; the damaged journal can still be
restored, after which it works again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from crossmargin.cli.main import main
from crossmargin.storage import Journal
from crossmargin.storage.backups import list_backups
from crossmargin.storage.db import JournalCorruptError


def _flip_middle(path: Path, n: int = 16 * 1024) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    for i in range(mid - n // 2, mid + n // 2):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def damaged(tmp_path: Path, capsys) -> tuple[Path, Path]:
    """(a damaged journal with a few hundred fills, a sound backup made before)."""
    db = tmp_path / "journal.sqlite3"
    csv = tmp_path / "fills.csv"
    lines = ["time,symbol,side,price,amount,fee,trade_id"]
    for i in range(600):
        lines.append(f"2024-03-01T{i // 60 % 24:02d}:{i % 60:02d}:00Z,BTCUSDT,"
                     f"{'buy' if i % 2 else 'sell'},{60000 + i},0.01,0.1,t{i}")
    csv.write_text("\n".join(lines) + "\n")
    assert main(["journal", "account", "add", "Main", "--db", str(db)]) == 0
    assert main(["import", str(csv), "--account", "Main", "--db", str(db)]) == 0
    assert main(["backup", "--db", str(db)]) == 0
    (good,) = (tmp_path / "backups").glob("*.sqlite3")
    Journal.open(db).close()
    _flip_middle(db)
    capsys.readouterr()
    return db, good


@pytest.mark.parametrize("argv", [
    ["journal", "list"], ["journal", "stats"], ["journal", "show", "1"],
    ["journal", "transfer", "Main", "5"], ["export", "positions", "OUT"],
    ["whatif", "--account", "Main"],
])
def test_commands_refuse_a_damaged_journal_and_say_how_to_restore(damaged, capsys, argv,
                                                                  tmp_path):
    db, _good = damaged
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    argv = [str(tmp_path / "out.csv") if a == "OUT" else a for a in argv]
    assert main([*argv, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "not a CrossMargin journal" not in err
    assert "crossmargin restore --list" in err and "Traceback" not in err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_backup_never_copies_damage(damaged, capsys, tmp_path):
    db, _good = damaged
    out = tmp_path / "copy.sqlite3"
    assert main(["backup", str(out), "--db", str(db)]) == 2
    assert "would copy the damage" in capsys.readouterr().err
    assert not out.exists()


def test_restore_mends_a_damaged_journal(damaged, capsys):
    db, good = damaged
    assert main(["restore", "--list", "--db", str(db)]) == 0
    listing = capsys.readouterr().out
    assert str(good) in listing and "sound" in listing
    (info,) = [b for b in list_backups(db) if b.path == good]
    assert info.restorable
    assert main(["restore", str(good), "--yes", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "damaged" in out  # the damaged content is kept aside, named as such
    with Journal.open(db) as j:
        assert j.fills(limit=1).total == 600 and not j.info.damage
    # the copy of the damaged journal is listed, and not offered as sound
    states = {b.path.name: b.sound for b in list_backups(db)}
    assert any("damaged" in name and not ok for name, ok in states.items()), states


def test_allow_damaged_opens_for_restore_only(damaged):
    db, _good = damaged
    with pytest.raises(JournalCorruptError) as e:
        Journal.open(db)
    assert e.value.path == db.resolve()
    with Journal.open(db, allow_damaged=True) as j:
        assert j.info.damage
        with pytest.raises(JournalCorruptError, match="writes are refused"):
            j.create_account("Other")
