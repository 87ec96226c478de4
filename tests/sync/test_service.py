"""SyncService (worker threads, polling, observers, one ccxt instance per account),
MarkFeed, the client factory and the Decimal conversion."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from crossmargin.errors import InputError
from crossmargin.sync.client import apply_endpoint, create_exchange
from crossmargin.sync.config import AccountConfig, AccountRegistry
from crossmargin.sync.cycle import AccountClient
from crossmargin.sync.exchanges import dec
from crossmargin.sync.faults import FaultKind, SyncError
from crossmargin.sync.service import MarkFeed, SyncService
from crossmargin.sync.status import StatusBoard, SyncState
from tests.sync.conftest import FAST, KEYS, config_for, server_for
from tests.sync.replay_server import generate_history, recorded_data


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def _add(self, kind: str, label: str, extra: str = "") -> None:
        with self.lock:
            self.events.append((kind, label, extra))
            self.threads.add(threading.current_thread().name)

    def sync_started(self, label):
        self._add("started", label)

    def sync_progress(self, label, message):
        self._add("progress", label, message)

    def sync_finished(self, label, report):
        self._add("finished", label, report.summary())

    def sync_failed(self, label, error):
        self._add("failed", label, str(error))

    def status_changed(self, status):
        self._add("status", status.label, status.state.value)


def test_three_accounts_in_parallel_with_observers(port, journal):
    servers = {ex: server_for(ex).start() for ex in ("binanceusdm", "bybit", "okx")}
    try:
        for srv in servers.values():
            srv.inject(kind="delay", delay=0.05, count=1000)  # every request is slow
        svc = SyncService(port, credentials=lambda c: KEYS[c.exchange], policy=FAST,
                          status=StatusBoard(persist=False), max_workers=3)
        rec = Recorder()
        svc.subscribe(rec)
        for ex, srv in servers.items():
            svc.add_account(config_for(ex, srv, history_start=int(time.time() * 1000)
                                       - 3 * 86_400_000))
        t0 = time.monotonic()
        futures = svc.sync_now()
        # asking again while running returns the running cycles (no second instance use)
        assert svc.sync_now() == futures
        reports = [f.result(timeout=60) for f in futures]
        elapsed = time.monotonic() - t0
        assert all(reports)
        labels = {c.label for c in svc.accounts()}
        assert {lb for k, lb, _ in rec.events if k == "finished"} == labels
        assert all(t.startswith("cm-sync") for t in rec.threads)  # callbacks on workers
        assert all(svc.status.get(lb).state is SyncState.OK for lb in labels)
        # the progress names the steps
        steps = {m for k, _, m in rec.events if k == "progress"}
        assert {"balances", "positions", "storing"} <= steps
        serial = sum(r.timings["total"] for r in reports)
        assert elapsed < serial  # they overlapped
        svc.stop()
    finally:
        for srv in servers.values():
            srv.stop()


def test_one_ccxt_instance_never_used_by_two_threads(port):
    with server_for("binanceusdm") as srv:
        cfg = config_for("binanceusdm", srv)
        active = {"n": 0, "max": 0}
        lock = threading.Lock()

        class Guarded(AccountClient):
            def __init__(self, config, creds):
                super().__init__(config, creds)
                inner = self.exchange.fetch

                def fetch(*a, **k):
                    with lock:
                        active["n"] += 1
                        active["max"] = max(active["max"], active["n"])
                    try:
                        time.sleep(0.002)
                        return inner(*a, **k)
                    finally:
                        with lock:
                            active["n"] -= 1

                self.exchange.fetch = fetch

        svc = SyncService(port, credentials=lambda c: KEYS[c.exchange], policy=FAST,
                          status=StatusBoard(persist=False), client_factory=Guarded)
        svc.add_account(cfg)
        for _ in range(4):
            futs = [f for _ in range(3) for f in svc.sync_now(cfg.label)]
            for f in futs:
                assert f.result(timeout=30) is not None
        assert active["max"] == 1
        svc.stop()


def test_periodic_polling_and_stop(port):
    with server_for("okx") as srv:
        cfg = config_for("okx", srv, poll_seconds=1)
        now = {"t": 0.0}
        svc = SyncService(port, credentials=lambda c: KEYS[c.exchange], policy=FAST,
                          status=StatusBoard(persist=False), clock=lambda: now["t"])
        done = threading.Event()
        count = {"n": 0}

        class L:
            def sync_finished(self, label, report):
                count["n"] += 1
                done.set()

        svc.subscribe(L())
        svc.add_account(cfg)
        svc.start()
        assert done.wait(10)
        done.clear()
        time.sleep(0.2)
        assert count["n"] == 1  # not due again until the clock moves one interval
        now["t"] += 1.0
        svc._wake.set()
        assert done.wait(10)
        assert count["n"] == 2
        svc.stop()
        n = len(srv.log)
        now["t"] += 10
        time.sleep(0.2)
        assert len(srv.log) == n  # stopped: no more polling


def test_missing_keys_needs_attention(port):
    with server_for("bybit") as srv:
        svc = SyncService(port, credentials=lambda c: None, policy=FAST,
                          status=StatusBoard(persist=False))
        cfg = config_for("bybit", srv)
        svc.add_account(cfg)
        (f,) = svc.sync_now()
        assert f.result(timeout=10) is None
        st = svc.status.get(cfg.label)
        assert st.state is SyncState.NEEDS_ATTENTION and "no API keys" in st.message
        assert srv.log == []
        svc.stop()


def test_status_survives_in_the_status_file(tmp_path):
    board = StatusBoard(tmp_path / "s.json")
    board.update("a", state=SyncState.STALE, message="network")
    again = StatusBoard(tmp_path / "s.json")
    assert again.get("a").state is SyncState.STALE
    assert again.get("a").describe() == "stale since never: network"


def test_mark_feed_polls_public_marks():
    for ex, sym, want in (("binanceusdm", "BTC/USDT:USDT", "67502.68519858"),
                          ("bybit", "LTC/USDT:USDT", "71.1"),
                          ("okx", "BTC/USD:BTC", "92057.4")):
        with server_for(ex) as srv:
            cfg = config_for(ex, srv)
            feed = MarkFeed(interval=0.05, policy=FAST)
            got: list = []
            feed.subscribe(lambda label, marks, at, got=got: got.append((label, marks)))
            feed.watch(cfg, [sym])
            feed.start()
            deadline = time.monotonic() + 10
            while len(got) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            feed.stop()
            assert got[0] == (cfg.label, {sym: Decimal(want)})
            # public endpoints only: the feed holds no keys
            assert all(st == 200 for _, _, _, st in srv.log)
            srv.data.marks = {k: "1.5" for k in srv.data.marks}
            assert feed.poll_once()[cfg.label] == {sym: Decimal("1.5")}


def test_mark_feed_reports_errors():
    with server_for("okx") as srv:
        cfg = config_for("okx", srv)
        feed = MarkFeed(policy=FAST)
        errors = []
        feed.subscribe(lambda *a: None, on_error=lambda label, err: errors.append(err))
        feed.watch(cfg, ["BTC/USD:BTC"])
        srv.inject(path="/api/v5/public/mark-price", kind="garbage", count=10)
        assert feed.poll_once() == {}
        assert errors and errors[0].kind is FaultKind.BAD_REPLY
        feed.stop()


def test_endpoint_override_per_section_and_testnet():
    cfg = AccountConfig("a", "binanceusdm",
                        endpoint={"fapiPrivate": "http://127.0.0.1:9/fapi/v1"}).validate()
    ex = create_exchange(cfg, None)
    assert ex.urls["api"]["fapiPrivate"] == "http://127.0.0.1:9/fapi/v1"
    assert ex.urls["api"]["fapiPublic"] == "https://fapi.binance.com/fapi/v1"
    with pytest.raises(InputError, match="unknown API sections"):
        apply_endpoint(ex, {"nosuch": "http://x"})
    ex = create_exchange(AccountConfig("a", "bybit", network="testnet").validate(), None)
    assert "api-testnet" in ex.urls["api"]["private"]
    ex = create_exchange(AccountConfig("a", "okx", network="testnet").validate(), None)
    assert ex.headers.get("x-simulated-trading") == "1"
    ex = create_exchange(AccountConfig("a", "okx", endpoint="https://eea.example:8443/base")
                         .validate(), None)
    assert ex.urls["api"]["rest"] == "https://eea.example:8443/base"


def test_registry_roundtrip_and_validation(tmp_path):
    reg = AccountRegistry(tmp_path / "acc.json")
    cfg = AccountConfig("main", "bybit", endpoint={"private": "http://h:1"}, poll_seconds=15)
    reg.add(cfg)
    assert reg.get("main") == cfg.validate()
    assert "secret" not in (tmp_path / "acc.json").read_text().lower().replace(
        "secret_store", "")
    with pytest.raises(InputError) as err:
        AccountConfig("", "nope", network="moon", poll_seconds=0).validate()
    assert len(err.value.problems) == 4


def test_decimal_parsing_is_exact_and_rejects_junk():
    assert dec("0.10000000") == Decimal("0.10000000")
    assert dec(0.1) == Decimal("0.1")  # a float goes through its shortest repr
    assert dec(1e-06) == Decimal("0.000001")
    assert dec("") is None and dec(None) is None
    for junk in ("abc", "NaN", "Infinity", True):
        with pytest.raises(SyncError) as err:
            dec(junk, "x")
        assert err.value.kind is FaultKind.BAD_REPLY


def test_history_generation_is_paged_by_the_server():
    data = generate_history(recorded_data("bybit"), fills=250, days=3)
    with server_for("bybit", data) as srv:
        cfg = config_for("bybit", srv, history_start=int(time.time() * 1000) - 4 * 86_400_000)
        from crossmargin.sync.exchanges import BybitFetcher
        from crossmargin.sync.faults import Caller

        client = AccountClient(cfg, KEYS["bybit"])
        f = BybitFetcher(client.exchange, cfg, Caller(client.exchange, FAST), {})
        f.load_markets()
        fills, cursors = f.fills()
        assert len(fills) == 250 and len({x.trade_id for x in fills}) == 250
        cursor_params = [q.get("cursor") for _, p, q, _ in srv.log if p == "/v5/execution/list"]
        assert sum(1 for c in cursor_params if c) >= 2  # followed nextPageCursor
        assert int(cursors["fills"]) >= max(x.timestamp for x in fills)
