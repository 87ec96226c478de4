"""Fixtures for journal tests: a fresh journal per test, closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crossmargin.storage import Journal


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.open(tmp_path / "journal.sqlite3")
    try:
        yield j
    finally:
        j.close()


@pytest.fixture
def acct(journal: Journal) -> int:
    ch = journal.create_account("Main", rules="binance", settle="USDT")
    assert ch.id is not None
    return ch.id
