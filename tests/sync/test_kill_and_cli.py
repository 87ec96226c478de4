"""The CLI end to end (accounts add/list/test/remove, sync --once, status), and a sync
subprocess killed with SIGKILL mid-cycle that, re-run, ends with the same journal as an
uninterrupted sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crossmargin.cli.main import main
from tests.sync.conftest import HISTORY_START, KEYS, server_for
from tests.sync.replay_server import generate_history, recorded_data

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"


def _env(home: Path, exchange: str = "binanceusdm") -> dict[str, str]:
    c = KEYS[exchange]
    env = dict(os.environ)
    env.update({
        "CROSSMARGIN_HOME": str(home), "CROSSMARGIN_SECRETS_PASSPHRASE": PASSPHRASE,
        "CROSSMARGIN_API_KEY": c.api_key, "CROSSMARGIN_API_SECRET": c.secret,
        "CROSSMARGIN_API_PASSPHRASE": c.password or "", "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT),
    })
    return env


def _add_account(home: Path, srv, label: str, exchange: str = "binanceusdm") -> None:
    """``crossmargin accounts add`` in a subprocess-free way (same code path)."""
    from crossmargin.sync.config import AccountRegistry

    env = _env(home, exchange)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        rc = main(["accounts", "add", label, "--exchange", exchange, "--endpoint",
                   srv.base_url, "--secrets", "file", "--keys-from-env", "--timeout", "3000"])
        assert rc == 0
        # the first sync reaches back to the recorded rows of 2023
        reg = AccountRegistry()
        reg.add(reg.get(label).with_(history_start=HISTORY_START, rate_limit=False),
                replace_existing=True)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _journal_content(home: Path, label: str) -> dict:
    from crossmargin.storage.journal import Journal

    j = Journal.open(home / "data" / "journal.sqlite3", create=False)
    try:
        fills = j.fills(account=label, limit=1_000_000).items
        cursors = j.sync_cursors(label)
        return {
            "fills": sorted((f.trade_id, f.symbol, f.side, f.price, f.amount, f.fee, f.time)
                            for f in fills),
            "funding": sorted((g.exchange_id, g.amount, g.time)
                              for g in j.funding_payments(account=label)),
            "positions": j.exchange_positions(label),
            "journal_positions": sorted(
                (p.symbol, p.side.value, p.status.value, p.contracts, p.entry_price,
                 p.realized_pnl, p.fees, p.fill_count)
                for p in j.positions(account=label, limit=1_000_000).items
            ) if _has_positions_query(j) else None,
            "id_cursors": {k: v for k, v in cursors.items() if k.startswith("fills:")},
            "cursor_keys": sorted(cursors),
            "latest_wallet": j.latest_balance(label, "USDT").wallet_balance,
            "tiers": j.tiers(label),
        }
    finally:
        j.close()


def _has_positions_query(j) -> bool:
    import inspect

    try:
        return "account" in inspect.signature(j.positions).parameters
    except (TypeError, ValueError):
        return False


def _run_sync(home: Path, label: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crossmargin.cli.main", "sync", "--once", "--account", label],
        cwd=ROOT, env=_env(home), capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.slow
def test_sigkill_mid_cycle_then_rerun_equals_uninterrupted(tmp_path):
    data = generate_history(recorded_data("binanceusdm"), fills=3000, funding=200, days=15)
    label = "bn kill"
    with server_for("binanceusdm", data) as srv:
        # reference: one uninterrupted sync
        ref_home = tmp_path / "ref"
        _add_account(ref_home, srv, label)
        done = _run_sync(ref_home, label)
        assert done.returncode == 0, done.stdout + done.stderr
        reference = _journal_content(ref_home, label)
        assert len(reference["fills"]) == 3001

        kill_home = tmp_path / "killed"
        _add_account(kill_home, srv, label)
        kills = 0
        # 1) killed while fetching (the 3rd fills page hangs), 2) killed right as the
        # cycle starts writing the journal
        for when in ("fetching", "storing"):
            if when == "fetching":
                srv.inject(path="/fapi/v1/userTrades", kind="delay", delay=30, skip=2)
            proc = subprocess.Popen(
                [sys.executable, "-m", "crossmargin.cli.main", "sync", "--once", "--account",
                 label], cwd=ROOT, env=_env(kill_home), stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True,
            )
            deadline = time.monotonic() + 60
            assert proc.stdout is not None
            if when == "fetching":  # the hanging request has started
                while srv.faults and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert not srv.faults, "sync never reached the kill point"
                time.sleep(0.1)
            else:
                for line in proc.stdout:
                    if line.strip().endswith(": storing"):
                        break
                    assert time.monotonic() < deadline, "sync never reached the kill point"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            assert proc.returncode == -signal.SIGKILL
            kills += 1
            srv.clear_faults()
        assert kills == 2
        # the re-run recovers the journal after the unclean shutdown and completes
        again = _run_sync(kill_home, label)
        assert again.returncode == 0, again.stdout + again.stderr
        assert _journal_content(kill_home, label) == reference
        # and a further re-run adds nothing
        third = _run_sync(kill_home, label)
        assert third.returncode == 0
        assert "nothing new" in third.stdout
        assert _journal_content(kill_home, label) == reference


def test_cli_accounts_sync_status(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    for k, v in _env(home, "okx").items():
        monkeypatch.setenv(k, v)
    with server_for("okx") as srv:
        rc = main(["accounts", "add", "okx main", "--exchange", "okx", "--endpoint",
                   srv.base_url, "--secrets", "file", "--keys-from-env", "--poll", "30"])
        out = capsys.readouterr().out
        assert rc == 0 and "READ-ONLY" in out
        enc = (home / "config" / "secrets.enc").read_bytes()
        assert KEYS["okx"].secret.encode() not in enc and KEYS["okx"].api_key.encode() not in enc
        assert oct((home / "config" / "secrets.enc").stat().st_mode & 0o777) == "0o600"
        # a duplicate label is refused with a clear message
        assert main(["accounts", "add", "okx main", "--exchange", "okx", "--secrets", "file",
                     "--keys-from-env"]) == 2
        assert "already exists" in capsys.readouterr().err
        assert main(["accounts", "list"]) == 0
        out = capsys.readouterr().out
        assert "okx main: okx settle=USDT poll=30s keys=file" in out and "not synced yet" in out
        assert main(["accounts", "test", "okx main"]) == 0
        assert "okx main: OK (3 markets; wallet 0.000258796 USDT)" in capsys.readouterr().out
        assert main(["sync", "--once", "--account", "okx main"]) == 0
        out = capsys.readouterr().out
        assert "okx main: ok:" in out and "liquidation BTC/USD:BTC long" in out
        assert main(["status"]) == 0
        assert "okx main (okx): ok (synced " in capsys.readouterr().out
        # a wrong passphrase never unlocks the key file
        monkeypatch.setenv("CROSSMARGIN_SECRETS_PASSPHRASE", "not the passphrase")
        assert main(["accounts", "test", "okx main"]) == 2
        assert "wrong passphrase" in capsys.readouterr().err
        monkeypatch.setenv("CROSSMARGIN_SECRETS_PASSPHRASE", PASSPHRASE)
        # the exchange refuses the key: exit 1, status says what to do
        srv.api_key = "rotated"
        assert main(["sync", "--once"]) == 1
        assert "FAILED: balance: authentication refused" in capsys.readouterr().out
        assert main(["status"]) == 1
        assert "needs attention: balance: authentication refused" in capsys.readouterr().out
        assert main(["accounts", "remove", "okx main"]) == 0
        assert main(["accounts", "list"]) == 0
        assert "No exchange accounts yet" in capsys.readouterr().out


def test_cli_rejects_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CROSSMARGIN_HOME", str(tmp_path))
    monkeypatch.delenv("CROSSMARGIN_SECRETS_PASSPHRASE", raising=False)
    assert main(["accounts", "add", "x", "--exchange", "nosuchexchange", "--secrets", "memory",
                 "--keys-from-env"]) == 2
    assert "unknown ccxt exchange id 'nosuchexchange'" in capsys.readouterr().err
    assert main(["accounts", "add", "x", "--exchange", "bybit", "--endpoint", "ftp://x",
                 "--secrets", "memory", "--keys-from-env"]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err
    # headless machine: no usable keyring backend
    assert main(["accounts", "add", "x", "--exchange", "bybit", "--secrets", "keyring",
                 "--keys-from-env"]) == 2
    err = capsys.readouterr().err
    assert "no usable OS keyring" in err and "--secrets file" in err
    assert main(["sync", "--once"]) == 2
    assert "no exchange accounts" in capsys.readouterr().err
    assert main(["accounts", "add", "x", "--exchange", "bybit", "--option", "oops",
                 "--secrets", "memory", "--keys-from-env"]) == 2
    assert "--option 'oops': use KEY=VALUE" in capsys.readouterr().err
    monkeypatch.setenv("CROSSMARGIN_API_KEY", "k")
    monkeypatch.setenv("CROSSMARGIN_API_SECRET", "s")
    assert main(["accounts", "add", "classic", "--exchange", "bybit", "--secrets", "memory",
                 "--keys-from-env", "--option", "enableUnifiedAccount=false",
                 "--option", 'categories=["linear","inverse"]']) == 0
    from crossmargin.sync.config import AccountRegistry

    opts = AccountRegistry().get("classic").options
    assert opts == {"enableUnifiedAccount": False, "categories": ["linear", "inverse"]}
    assert main(["accounts", "test", "ghost"]) == 2
    assert "account 'ghost' not found" in capsys.readouterr().err
