"""Fixtures of the sync tests: replay servers, account settings, a real journal."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from crossmargin.sync.config import AccountConfig, Credentials
from crossmargin.sync.faults import RetryPolicy
from tests.sync.replay_server import ReplayServer, recorded_data

# requests honours proxy variables: make sure none can hijack 127.0.0.1
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

#: Tiny backoff so fault tests take milliseconds, not minutes.
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, rate_limit_delay=0.02,
                   ban_delay=0.04)

#: Before every recorded fixture row (Nov 2023), so the first sync fetches them all.
HISTORY_START = 1_699_000_000_000

KEYS = {
    "binanceusdm": Credentials("bn-key-123", "bn-secret-456"),
    "binancecoinm": Credentials("bc-key-123", "bc-secret-456"),
    "bybit": Credentials("by-key-123", "by-secret-456"),
    "okx": Credentials("ok-key-123", "ok-secret-456", "ok-pass-789"),
}


def server_for(exchange: str, data=None, creds: Credentials | None = None) -> ReplayServer:
    c = creds or KEYS[exchange]
    return ReplayServer(exchange, data or recorded_data(exchange), api_key=c.api_key,
                        secret=c.secret, passphrase=c.password)


def config_for(exchange: str, srv: ReplayServer, label: str | None = None,
               **kw: object) -> AccountConfig:
    params: dict[str, object] = {
        "settle": "USDT", "endpoint": srv.base_url, "rate_limit": False, "timeout_ms": 2000,
        "history_start": HISTORY_START, "secret_store": "memory",
    }
    params.update(kw)
    return AccountConfig(label or f"{exchange}-main", exchange, **params).validate()  # type: ignore[arg-type]


@pytest.fixture
def journal(_isolated_home) -> Iterator[object]:
    from crossmargin.storage.journal import Journal

    j = Journal.open()
    try:
        yield j
    finally:
        j.close()


@pytest.fixture
def port(journal):
    from crossmargin.sync.journal_port import JournalAdapter

    return JournalAdapter(journal)
