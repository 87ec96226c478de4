"""Crash safety: a writer killed with SIGKILL in the middle of a large import, 20 times.

Afterwards the file passes ``PRAGMA integrity_check``, no partial import is visible (the
fill count is 0 or all of them, never in between), the next open notices the unclean
shutdown, and re-running the import completes with no duplicates.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crossmargin.storage import Journal

ROWS = 20_000
RUNS = 20

WRITER = r"""
import sys, time
from crossmargin.storage import Journal
j = Journal.open(sys.argv[1], exclusive=True)
print("begin", flush=True)
t = time.perf_counter()
report = j.import_fills_csv("Main", sys.argv[2])
print("done", report.new, time.perf_counter() - t, flush=True)
j.close()
"""


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    lines = ["time,symbol,side,price,amount,fee,fee_currency,trade_id"]
    for i in range(rows):
        sym = ("BTCUSDT", "ETHUSDT", "SOLUSDT")[i % 3]
        lines.append(
            f"{1_700_000_000_000 + i * 1000},{sym},{rng.choice(('buy', 'sell'))},"
            f"{rng.randint(900, 1100)}.{rng.randint(0, 99):02d},{rng.randint(1, 500)}e-3,"
            f"0.{rng.randint(1, 999):03d},USDT,{i}"
        )
    path.write_text("\n".join(lines) + "\n")


def run_writer(db: Path, csv_path: Path, kill_after: float | None) -> tuple[int, str]:
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(csv_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "begin", proc.stderr.read() if proc.stderr else line
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


def raw_state(db: Path) -> tuple[list[str], int, int]:
    conn = sqlite3.connect(db)
    try:
        check = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        fills = conn.execute("SELECT count(*) FROM fill").fetchone()[0]
        batches = conn.execute("SELECT count(*) FROM import_batch").fetchone()[0]
    finally:
        conn.close()
    return check, fills, batches


@pytest.mark.slow
def test_sigkill_during_import_never_leaves_partial_data(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    csv_path = tmp_path / "big.csv"
    make_csv(csv_path, ROWS)
    with Journal.open(db) as j:
        j.create_account("Main", rules="binance")
    # calibrate: how long does a full import take in a child process?
    calib = tmp_path / "calib.sqlite3"
    with Journal.open(calib) as j:
        j.create_account("Main")
    code, out = run_writer(calib, csv_path, None)
    assert code == 0 and f"done {ROWS}" in out, out
    duration = float(out.split()[2])  # seconds the import itself took

    base = tmp_path / "base.sqlite3"
    shutil.copyfile(db, base)
    rng = random.Random(2026)
    killed_mid_import = attempts = 0
    code = 0
    while killed_mid_import < RUNS:
        attempts += 1
        assert attempts <= 3 * RUNS, f"only {killed_mid_import} kills landed mid-import"
        code, _out = run_writer(db, csv_path, rng.uniform(0.02, 0.8) * duration)
        check, fills, batches = raw_state(db)
        assert check == ["ok"]
        assert fills in (0, ROWS), f"partial import visible: {fills} fills"
        assert (fills == 0) == (batches == 0)
        if fills == 0:
            assert code == -signal.SIGKILL
            killed_mid_import += 1
        else:  # the kill came after the commit: start the next round from the base again,
            duration *= 0.7  # and aim earlier (the machine is faster than when calibrated)
            for suffix in ("-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            shutil.copyfile(base, db)
    print(f"{killed_mid_import} kills mid-import in {attempts} runs; import takes {duration:.2f} s")

    with Journal.open(db, exclusive=True) as j:
        if code == -signal.SIGKILL:
            assert j.info.unclean_shutdown and j.info.integrity_checked
        report = j.import_fills_csv("Main", csv_path)
        assert report.new + report.duplicates == ROWS and not report.rejected
        assert j.fills(limit=1).total == ROWS
        again = j.import_fills_csv("Main", csv_path)
        assert again.new == 0 and again.duplicates == ROWS
        assert j.integrity_check() == []
        # every fill sits in a position, and the open size per symbol is the fills' net
        with Journal.open(calib) as reference:
            ref = {(p.symbol, p.side, p.contracts, p.entry_price, p.realized_pnl)
                   for p in reference.positions(limit=10_000).items}
        got = {(p.symbol, p.side, p.contracts, p.entry_price, p.realized_pnl)
               for p in j.positions(limit=10_000).items}
        assert got == ref
