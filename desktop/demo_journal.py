"""A sample journal for the demo account: six weeks of made-up trades (three contracts,
setups, tags, stops, fees, a few notes) so the Journal tab's tables, Review figures and
PnL curve can be seen before the user has a trade of their own.

It is written to a private temporary folder for the session and thrown away at quit:
nothing of it reaches the user's journal. The trades are generated from a fixed seed,
so every run shows the same book.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from crossmargin.domain import Side
from crossmargin.storage import Journal

LABEL = "Demo journal"
WEEKS = 6
TRADES = 38
RISK_USDT = Decimal(100)
TAKER = Decimal("0.0004")
MARKETS = (  # symbol, price, price decimals, size decimals
    ("BTC/USDT:USDT", 64_000, 1, 3),
    ("ETH/USDT:USDT", 3_100, 2, 2),
    ("SOL/USDT:USDT", 150, 3, 1),
)
SETUPS = ("breakout", "pullback", "range fade")
TAGS = ("swing", "scalp", "news", "trend")
NOTES = ("waited for the retest", "moved the stop too early", "news spike, took half",
         "clean trend day", "")


def build(folder: Path | None = None, *, seed: int = 11, end: datetime | None = None
          ) -> tuple[Journal, int]:
    """Create the sample journal (in ``folder``, else a new temporary folder) and return
    it, open, with its account id. ``end``: the last close (default: yesterday)."""
    folder = folder or Path(tempfile.mkdtemp(prefix="crossmargin-demo-"))
    journal = Journal.open(folder / "demo-journal.sqlite3")
    try:
        account_id = _fill(journal, random.Random(seed),
                           end or datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    except BaseException:
        journal.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return journal, account_id


def discard(journal: Journal) -> None:
    """Close the sample journal and delete its folder."""
    journal.close()
    shutil.rmtree(journal.path.parent, ignore_errors=True)


def _fill(journal: Journal, rng: random.Random, end: datetime) -> int:
    created = journal.create_account(LABEL, settle="USDT", default_leverage=Decimal(10),
                                     notes="Sample trades for the demo; not kept.")
    assert created.id is not None
    account_id = created.id
    start = end - timedelta(weeks=WEEKS)
    step = (end - start) / TRADES
    prices = {symbol: float(price) for symbol, price, _pd, _sd in MARKETS}
    for i in range(TRADES):
        symbol, _p, price_dp, size_dp = MARKETS[rng.randrange(len(MARKETS))]
        side = Side.LONG if rng.random() < 0.55 else Side.SHORT
        prices[symbol] *= 1 + rng.gauss(0, 0.02)
        entry = _round(prices[symbol], price_dp)
        stop_dist = entry * Decimal(str(round(rng.uniform(0.006, 0.02), 4)))
        stop = _round(float(entry - side.sign * stop_dist), price_dp)
        risk_per_unit = abs(entry - stop)
        size = _round(float(RISK_USDT / risk_per_unit), size_dp)
        if size <= 0:
            continue
        r = rng.gauss(1.7, 0.9) if rng.random() < 0.48 else rng.uniform(-1.05, -0.3)
        exit_ = _round(float(entry + side.sign * Decimal(str(round(r, 3))) * risk_per_unit),
                       price_dp)
        if exit_ <= 0:
            continue
        opened = start + step * i + timedelta(minutes=rng.randrange(0, 240))
        # held under a day: the next trade (at least ~22 h later) never overlaps this one
        closed = opened + timedelta(minutes=rng.randrange(20, 60 * 20))
        tags = rng.sample(TAGS, rng.randrange(0, 3))
        pos = journal.add_position(
            account_id, symbol, side, size, entry, time=opened,
            fee=(size * entry * TAKER).quantize(Decimal("0.0001")), fee_currency="USDT",
            tags=tags, setup=rng.choice(SETUPS), stop_price=stop,
            rating=rng.randrange(1, 6), notes=rng.choice(NOTES),
        )
        assert pos.id is not None
        journal.close_position(pos.id, exit_, time=min(closed, end),
                               fee=(size * exit_ * TAKER).quantize(Decimal("0.0001")),
                               fee_currency="USDT")
    return account_id


def _round(value: float | Decimal, places: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
