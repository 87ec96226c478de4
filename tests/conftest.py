"""Shared test set-up: no test touches the user's real folders or the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed, reproducible set of examples (a red CI
# then always means a real regression); local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Qt runs offscreen everywhere in the suite (must be set before Qt is imported).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES = TESTS_DIR / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own CROSSMARGIN_HOME, so nothing lands in the real data folder."""
    home = tmp_path_factory.mktemp("cmhome")
    monkeypatch.setenv("CROSSMARGIN_HOME", str(home))
    return home


#: The suite's scrypt cost for the encrypted key file: the lowest the file format accepts
#: (the real default, RFC 7914's N=2**20, costs ~3 s and 1 GiB per unlock; it is checked
#: by tests/sync/test_secrets.py and measured by tests/benchmarks/bench_secrets.py).
TEST_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    from crossmargin.sync import secrets

    monkeypatch.setattr(secrets, "_SCRYPT", dict(TEST_SCRYPT))


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
