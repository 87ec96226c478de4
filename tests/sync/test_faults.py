"""Every fault injected at least once: the journal stays intact, the status says what
happened, and the sync recovers when the fault clears."""

from __future__ import annotations

import json

import pytest

from crossmargin.sync.config import Credentials
from crossmargin.sync.cycle import AccountClient, run_cycle
from crossmargin.sync.faults import FaultKind, RetryPolicy, SyncError
from crossmargin.sync.service import SyncService
from crossmargin.sync.status import StatusBoard, SyncState
from tests.sync.conftest import FAST, KEYS, config_for, server_for
from tests.sync.replay_server import generate_history, recorded_data

BN = "binanceusdm"


def _state(journal, label: str) -> dict:
    """The journal's content for one account (fills, funding, positions, balances, cursors)."""
    try:
        journal.account(label)
    except Exception:
        return {}
    return {
        "fills": sorted(f.trade_id for f in journal.fills(account=label, limit=100_000).items),
        "funding": sorted(g.exchange_id for g in journal.funding_payments(account=label)),
        "positions": journal.exchange_positions(label),
        "balances": len(journal.balance_history(label)),
        "cursors": journal.sync_cursors(label),
    }


def _service(port, cfg, creds=None, policy=FAST):
    svc = SyncService(port, credentials=lambda c: creds or KEYS[c.exchange], policy=policy,
                      status=StatusBoard(persist=False))
    svc.add_account(cfg)
    return svc


def _sync(svc, label):
    (fut,) = svc.sync_now(label)
    return fut.result(timeout=60)


# fault → (path it hits, inject kwargs, exchange, the FaultKind retried)
TRANSIENT = {
    "http 500 -1001": (BN, "/fapi/v3/account",
                       {"kind": "status", "status": 500,
                        "body": json.dumps({"code": -1001, "msg": "Internal error"})},
                       FaultKind.NETWORK),
    "http 502 html": (BN, "/fapi/v3/positionRisk",
                      {"kind": "status", "status": 502, "body": "<html>Bad Gateway</html>"},
                      FaultKind.NETWORK),
    "http 503 empty": (BN, "/fapi/v1/userTrades", {"kind": "status", "status": 503},
                       FaultKind.NETWORK),
    "http 503 -1008 overloaded": (BN, "/fapi/v1/income",
                                  {"kind": "status", "status": 503,
                                   "body": json.dumps({"code": -1008, "msg": "Server is "
                                                       "currently overloaded with other "
                                                       "requests. Please try again in a few "
                                                       "minutes."})},
                                  FaultKind.NETWORK),
    "http 429": (BN, "/fapi/v1/income",
                 {"kind": "status", "status": 429,
                  "body": json.dumps({"code": -1003, "msg": "Too many requests"})},
                 FaultKind.RATE_LIMIT),
    "http 418 ban": (BN, "/fapi/v3/account",
                     {"kind": "status", "status": 418,
                      "body": json.dumps({"code": -1003, "msg": "IP banned"})},
                     FaultKind.RATE_LIMIT),
    "bybit retCode 10006": ("bybit", "/v5/position/list",
                            {"kind": "status", "status": 200,
                             "body": json.dumps({"retCode": 10006, "retMsg": "Too many visits!",
                                                 "result": {}, "time": 0})},
                            FaultKind.RATE_LIMIT),
    "bybit retCode 10016": ("bybit", "/v5/account/wallet-balance",
                            {"kind": "status", "status": 200,
                             "body": json.dumps({"retCode": 10016,
                                                 "retMsg": "System error. Please try again later.",
                                                 "result": {}, "time": 0})},
                            FaultKind.NETWORK),
    "timeout": (BN, "/fapi/v3/positionRisk", {"kind": "delay", "delay": 1.2},
                FaultKind.NETWORK),
    "dropped connection": ("okx", "/api/v5/account/positions", {"kind": "drop"},
                           FaultKind.NETWORK),
    "garbage 200": (BN, "/fapi/v3/positionRisk", {"kind": "garbage"}, FaultKind.BAD_REPLY),
    "empty 200": ("okx", "/api/v5/account/balance", {"kind": "empty"}, FaultKind.BAD_REPLY),
    "wrong envelope 200": ("bybit", "/v5/position/list", {"kind": "envelope"},
                           FaultKind.BAD_REPLY),
    "okx 50013 busy": ("okx", "/api/v5/trade/fills-history",
                       {"kind": "status", "status": 200,
                        "body": json.dumps({"code": "50013", "data": [],
                                            "msg": "System is busy, please try again later"})},
                       FaultKind.NETWORK),
}


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_transient_fault_is_retried_and_recovers(name, journal, port):
    exchange, path, kw, kind = TRANSIENT[name]
    with server_for(exchange) as srv:
        cfg = config_for(exchange, srv, timeout_ms=1000)
        srv.inject(path=path, count=2, **kw)
        svc = _service(port, cfg)
        retries = []
        svc.subscribe(type("L", (), {"sync_retrying": lambda self, lb, ev: retries.append(ev)})())
        report = _sync(svc, cfg.label)
        svc.stop()
        assert report is not None, svc.status.get(cfg.label).message
        assert [ev.kind for ev in retries] == [kind, kind]
        if "418" in name:
            assert retries[0].delay == FAST.ban_delay  # an IP ban backs off longest
        elif kind is FaultKind.RATE_LIMIT:
            assert retries[0].delay == FAST.rate_limit_delay
        st = svc.status.get(cfg.label)
        assert st.state is SyncState.OK
        assert journal.exchange_positions(cfg.label)  # data arrived after the retries
        assert not srv.faults


@pytest.mark.parametrize("name", ["garbage 200", "empty 200", "wrong envelope 200",
                                  "http 503 empty", "dropped connection"])
def test_persistent_fault_keeps_journal_and_goes_stale(name, journal, port):
    """A fault outlasting the retries: nothing stored (positions not wiped), status stale."""
    exchange, path, kw, kind = TRANSIENT[name]
    with server_for(exchange) as srv:
        cfg = config_for(exchange, srv)
        svc = _service(port, cfg)
        assert _sync(svc, cfg.label) is not None
        good = _state(journal, cfg.label)
        assert good["positions"]
        srv.inject(path=path, count=FAST.attempts, **kw)
        assert _sync(svc, cfg.label) is None
        st = svc.status.get(cfg.label)
        assert st.state is SyncState.STALE
        assert st.describe().startswith("stale since ")
        assert st.fault == kind.value
        assert _state(journal, cfg.label) == good  # positions kept, nothing half-written
        # the fault clears: the next cycle succeeds
        assert _sync(svc, cfg.label) is not None
        assert svc.status.get(cfg.label).state is SyncState.OK
        svc.stop()


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit", "okx"])
def test_clock_skew_resyncs_and_recovers(exchange, port):
    with server_for(exchange) as srv:
        srv.clock_skew_ms = 45_000  # the exchange's clock runs 45 s ahead of ours
        cfg = config_for(exchange, srv)
        svc = _service(port, cfg)
        kinds = []
        svc.subscribe(type("L", (), {"sync_retrying": lambda s, lb, ev: kinds.append(ev.kind)})())
        assert _sync(svc, cfg.label) is not None
        assert kinds and kinds[0] is FaultKind.CLOCK
        time_paths = {"/fapi/v1/time", "/v5/market/time", "/api/v5/public/time"}
        assert time_paths & set(srv.paths())
        assert svc.status.get(cfg.label).state is SyncState.OK
        svc.stop()


@pytest.mark.parametrize("exchange,bad", [
    ("binanceusdm", Credentials("wrong-key", "bn-secret-456")),
    ("binanceusdm", Credentials("bn-key-123", "wrong-secret")),
    ("bybit", Credentials("by-key-123", "wrong-secret")),
    ("okx", Credentials("ok-key-123", "ok-secret-456", "wrong-passphrase")),
])
def test_auth_failure_stops_account_until_fixed(exchange, bad, journal, port):
    with server_for(exchange) as srv:
        cfg = config_for(exchange, srv)
        keys = {"creds": bad}
        svc = SyncService(port, credentials=lambda c: keys["creds"], policy=FAST,
                          status=StatusBoard(persist=False))
        svc.add_account(cfg)
        assert _sync(svc, cfg.label) is None
        st = svc.status.get(cfg.label)
        assert st.state is SyncState.NEEDS_ATTENTION
        assert st.describe().startswith("needs attention: ")
        assert "API key" in st.message
        assert bad.secret not in st.message and bad.api_key not in st.message
        # never retried: one refused request, then the account stops
        private = [s for _, p, _, s in srv.log if s in (400, 401) or (s == 200 and "v5/account"
                                                                         in p)]
        assert len(private) == 1
        assert _state(journal, cfg.label).get("fills", []) == []
        # the periodic scheduler leaves a paused account alone
        svc.start()
        n = len(srv.log)
        import time

        time.sleep(0.3)
        assert len(srv.log) == n
        # the user fixes the keys: resume, and the account syncs again
        keys["creds"] = KEYS[exchange]
        svc.resume(cfg.label)
        deadline = time.monotonic() + 10
        while svc.status.get(cfg.label).state is not SyncState.OK and time.monotonic() < deadline:
            time.sleep(0.05)
        assert svc.status.get(cfg.label).state is SyncState.OK
        svc.stop()


def test_bad_symbol_reloads_markets_once(journal, port):
    with server_for(BN) as srv:
        cfg = config_for(BN, srv)
        srv.inject(path="/fapi/v1/userTrades", kind="status", status=400,
                   body=json.dumps({"code": -1121, "msg": "Invalid symbol."}))
        client = AccountClient(cfg, KEYS[BN])
        report = run_cycle(client, port, policy=FAST)
        assert report.inserted["fills"] == 1
        assert srv.paths().count("/fapi/v1/exchangeInfo") == 2  # loaded, then reloaded once
        # twice in a row: reloaded once more, then the error surfaces (no endless loop)
        srv.inject(path="/fapi/v1/userTrades", kind="status", status=400, count=5,
                   body=json.dumps({"code": -1121, "msg": "Invalid symbol."}))
        srv.data.funding.append({"symbol": "ETHUSDT", "incomeType": "COMMISSION",
                                 "income": "-0.1", "asset": "USDT", "time": srv.now_ms() - 5,
                                 "info": "", "tranId": 1, "tradeId": "1"})
        with pytest.raises(SyncError) as err:
            run_cycle(client, port, policy=FAST)
        assert err.value.kind is FaultKind.BAD_SYMBOL
        assert srv.paths().count("/fapi/v1/exchangeInfo") == 3


def test_rate_limit_honours_retry_after(port):
    with server_for(BN) as srv:
        cfg = config_for(BN, srv)
        srv.inject(path="/fapi/v3/account", kind="status", status=429, headers={
            "Retry-After": "0.3"}, body=json.dumps({"code": -1003, "msg": "Too many requests"}))
        client = AccountClient(cfg, KEYS[BN])
        events = []
        policy = RetryPolicy(attempts=3, base_delay=0.01, rate_limit_delay=0.01, max_delay=1)
        run_cycle(client, port, policy=policy, on_retry=events.append)
        assert events[0].kind is FaultKind.RATE_LIMIT
        assert events[0].delay == pytest.approx(0.3)  # the server's hint beats our 0.01 s
        # a hint longer than max_delay is capped
        srv.inject(path="/fapi/v3/account", kind="status", status=429,
                   headers={"Retry-After": "3600"}, body="{}")
        events.clear()
        run_cycle(client, port, policy=policy, on_retry=events.append)
        assert events[0].delay == pytest.approx(1.0)


def test_unusable_settings_need_attention(port):
    svc = SyncService(port, credentials=lambda c: KEYS[c.exchange], policy=FAST,
                      status=StatusBoard(persist=False))
    from crossmargin.sync.config import AccountConfig

    cfg = AccountConfig("bad", "okx", network="demo", settle="USDT").validate()
    svc.add_account(cfg)
    (f,) = svc.sync_now()
    assert f.result(timeout=10) is None
    st = svc.status.get("bad")
    assert st.state is SyncState.NEEDS_ATTENTION and "no demo trading" in st.message
    svc.stop()


def test_storage_failure_leaves_cursor_and_goes_stale(journal, port, monkeypatch):
    with server_for(BN) as srv:
        cfg = config_for(BN, srv)
        svc = _service(port, cfg)

        def boom(*a, **k):
            raise OSError("disk I/O error (simulated)")

        monkeypatch.setattr(port, "apply", boom)
        assert _sync(svc, cfg.label) is None
        st = svc.status.get(cfg.label)
        assert st.state is SyncState.STALE and "journal" in st.message
        assert _state(journal, cfg.label)["cursors"] == {}
        monkeypatch.undo()
        assert _sync(svc, cfg.label) is not None
        assert _state(journal, cfg.label)["cursors"]
        svc.stop()


def test_inconsistent_reply_refused_by_the_journal_is_not_retried(journal, port, monkeypatch):
    """An InputError from the journal is not retried within the cycle; status says why."""
    from crossmargin.errors import InputError

    with server_for(BN) as srv:
        cfg = config_for(BN, srv)
        svc = _service(port, cfg)
        calls = []

        def refuse(*a, **k):
            calls.append(1)
            raise InputError("batch.positions[1]: a second BTC/USDT:USDT long cross position")

        monkeypatch.setattr(port, "apply", refuse)
        assert _sync(svc, cfg.label) is None
        st = svc.status.get(cfg.label)
        assert st.state is SyncState.STALE, st
        assert "could not be stored" in st.message and "positions[1]" in st.message
        assert len(calls) == 1
        assert _state(journal, cfg.label).get("cursors", {}) == {}
        svc.stop()


def test_cancel_stops_a_cycle_and_stores_nothing(journal, port):
    with server_for(BN) as srv:
        cfg = config_for(BN, srv)
        srv.inject(path="/fapi/v3/positionRisk", kind="delay", delay=0.5)
        svc = _service(port, cfg, policy=RetryPolicy(attempts=3, base_delay=5))
        (fut,) = svc.sync_now(cfg.label)
        import time

        deadline = time.monotonic() + 5
        while "/fapi/v3/account" not in srv.paths() and time.monotonic() < deadline:
            time.sleep(0.01)
        svc.cancel(cfg.label)
        assert fut.result(timeout=10) is None
        assert svc.status.get(cfg.label).message == "cancelled"
        assert _state(journal, cfg.label).get("cursors", {}) == {}
        svc.stop()


def test_binance_pauses_when_its_minute_weight_is_nearly_used(port):
    """No fixed pacing; a reply saying 2,300 of 2,400 weight is used makes the cycle wait
    for the next minute (capped by the policy here) and then carry on."""
    from dataclasses import replace as dc_replace

    with server_for(BN) as srv:
        cfg = config_for(BN, srv, rate_limit=True)
        client = AccountClient(cfg, KEYS[BN])
        assert client.exchange.enableRateLimit is False  # the venue's own count paces
        srv.inject(path="/fapi/v1/income", kind="delay", delay=0.0,
                   headers={"X-MBX-USED-WEIGHT-1M": "2300"})
        events = []
        report = run_cycle(client, port, policy=dc_replace(FAST, weight_pause=0.05),
                           on_retry=events.append)
        assert report is not None
        (pause,) = [e for e in events if "request weight" in e.message]
        assert pause.kind is FaultKind.RATE_LIMIT and pause.delay == pytest.approx(0.05)


def test_a_late_failure_keeps_the_symbols_already_fetched(journal, port):
    """A first sync that fails on its last symbol keeps the others (fills and cursors);
    the next cycle fetches only what is missing, and ends where an uninterrupted one does."""
    data = generate_history(recorded_data(BN), fills=1500, days=5)
    with server_for(BN, data) as srv:
        cfg = config_for(BN, srv)
        client = AccountClient(cfg, KEYS[BN])
        symbols = sorted({r["symbol"] for r in data.fills})
        srv.inject(path="/fapi/v1/userTrades", kind="status", status=500, count=1000,
                   skip=len(symbols) - 1,  # the first symbols go through (one page each)
                   body=json.dumps({"code": -1001, "msg": "Internal error"}))
        with pytest.raises(SyncError):
            run_cycle(client, port, policy=FAST)
        kept = journal.fills(account=cfg.label, limit=5000).items
        cursors = journal.sync_cursors(cfg.label)
        assert kept and any(k.startswith("fills:") for k in cursors)
        assert not journal.exchange_positions(cfg.label)  # positions came with no batch
        srv.clear_faults()
        before = srv.paths().count("/fapi/v1/userTrades")
        report = run_cycle(client, port, policy=FAST)
        again = srv.paths().count("/fapi/v1/userTrades") - before
        total = journal.fills(account=cfg.label, limit=5000).total
        assert total == len(data.fills) and report.inserted["fills"] == total - len(kept)
        assert again <= len(symbols) + 2, again  # resumed: done symbols ask one page each
        assert journal.exchange_positions(cfg.label)


@pytest.mark.parametrize(("exchange", "path", "body"), [
    ("bybit", "/v5/execution/list", {"retCode": 10016, "retMsg": "busy"}),
    ("okx", "/api/v5/trade/fills-history", {"code": "50001", "msg": "busy", "data": []}),
])
def test_a_late_failure_keeps_the_whole_weeks_already_fetched(exchange, path, body, journal,
                                                             port, tmp_path):
    """Bybit's and OKX's history comes in 7-day windows, oldest first: a first sync that
    breaks part-way keeps the weeks fetched whole (fills and a cursor after them); the
    next cycle asks for less than a full sync and ends with every fill once."""
    from crossmargin.storage.journal import Journal
    from crossmargin.sync.journal_port import JournalAdapter

    data = generate_history(recorded_data(exchange), fills=1500, days=40)
    with server_for(exchange, data) as srv:
        cfg = config_for(exchange, srv)
        client = AccountClient(cfg, KEYS[exchange])
        with Journal.open(tmp_path / "count.sqlite3") as other:  # an uninterrupted sync
            run_cycle(client, JournalAdapter(other), policy=FAST)
            full = other.fills(account=cfg.label, limit=5000).total
        pages = srv.paths().count(path)
        srv.inject(path=path, kind="status", status=500, count=10_000, skip=pages // 2,
                   body=json.dumps(body))
        with pytest.raises(SyncError):
            run_cycle(client, port, policy=FAST)
        kept = journal.fills(account=cfg.label, limit=5000).total
        assert 0 < kept < full
        assert "fills" in journal.sync_cursors(cfg.label)
        srv.clear_faults()
        before = srv.paths().count(path)
        report = run_cycle(client, port, policy=FAST)
        again = srv.paths().count(path) - before
        assert journal.fills(account=cfg.label, limit=5000).total == full
        assert report.inserted["fills"] == full - kept
        assert again < pages, (again, pages)  # resumed after the weeks it had (not all)
