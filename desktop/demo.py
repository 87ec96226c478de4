"""The demo account: a bundled scenario, a simulated mark feed and a synthetic history.

* :func:`load_demo_state` reads ``resources/scenarios/demo.json`` through
  :mod:`crossmargin.scenario` (the same loader as "Open scenario file").
* :class:`SimulatedMarkFeed` moves the marks on a :class:`QTimer` (GUI thread): a
  random walk per symbol, correlated with BTC through the account's betas, weakly
  pulled back toward the starting marks so a long session does not drift into
  liquidation; prices are :class:`Decimal` rounded to each symbol's tick.
* :func:`synthetic_history` builds a year of hourly equity and margin-ratio
  snapshots that end at the current figures (numpy float64: chart data only).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from crossmargin.domain import AccountState
from crossmargin.resources import resource_path

DEMO_LABEL = "Demo account"

# Per-tick (about 1 s) volatility of the log price, by base asset; others use DEFAULT_VOL.
TICK_VOL: Mapping[str, float] = {"BTC": 0.0006, "ETH": 0.0008, "SOL": 0.0012, "BNB": 0.0007}
DEFAULT_VOL = 0.0013
PULL_BACK = 0.003  # mean reversion per tick toward the starting mark (fraction of log gap)


def demo_scenario_path() -> Path:
    return resource_path("scenarios", "demo.json")


def load_demo_state(path: Path | None = None) -> AccountState:
    """The demo book (raises :class:`crossmargin.errors.InputError` if the file is bad)."""
    from crossmargin.scenario import load_scenario

    state = load_scenario(path or demo_scenario_path())
    if not state.label:
        state = state.with_(label=DEMO_LABEL)
    return state


def base_asset(symbol: str) -> str:
    """``BTC/USDT:USDT`` or ``BTCUSDT`` -> ``BTC`` (best effort, for volatility defaults)."""
    head = symbol.split("/", maxsplit=1)[0].split(":", maxsplit=1)[0].upper()
    for quote in ("USDT", "USDC", "USD", "BUSD"):
        if head.endswith(quote) and len(head) > len(quote):
            return head[: -len(quote)]
    return head


def tick_of(price: Decimal) -> Decimal:
    """The price increment implied by how ``price`` is written (``97250.1`` -> ``0.1``)."""
    exponent = price.normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 2
    if decimals == 0 and price >= 1000:
        decimals = 1
    return Decimal(1).scaleb(-min(decimals, 8))


class SimulatedMarkFeed(QObject):
    """Simulated mark prices for the demo account (runs on the GUI thread).

    ``marks_changed`` carries ``dict[symbol, Decimal]`` (quote currency per base
    unit, rounded to the symbol's tick) after every tick. ``step()`` advances one
    tick synchronously (used by the timer and by tests).
    """

    marks_changed = Signal(object)

    def __init__(
        self,
        marks: Mapping[str, Decimal],
        *,
        betas: Mapping[str, Decimal] | None = None,
        interval_ms: int = 1000,
        seed: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._start = {s: float(p) for s, p in marks.items() if p > 0}
        self._log = {s: math.log(p) for s, p in self._start.items()}
        self._ticks = {s: tick_of(p) for s, p in marks.items()}
        self._betas = {s: float(b) for s, b in (betas or {}).items()}
        self._btc = next((s for s in self._start if base_asset(s) == "BTC"), None)
        self._rng = random.Random(seed)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.step)

    def set_interval(self, interval_ms: int) -> None:
        self._timer.setInterval(interval_ms)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def is_running(self) -> bool:
        return self._timer.isActive()

    def current(self) -> dict[str, Decimal]:
        return {s: self._round(s, math.exp(v)) for s, v in self._log.items()}

    def _round(self, symbol: str, price: float) -> Decimal:
        tick = self._ticks[symbol]
        value = Decimal(repr(price)).quantize(tick, rounding=ROUND_HALF_EVEN)
        return max(value, tick)

    def step(self) -> dict[str, Decimal]:
        """Advance every mark by one tick; emit and return the new marks."""
        btc_vol = TICK_VOL["BTC"]
        z_btc = self._rng.gauss(0.0, 1.0)
        for symbol, logp in self._log.items():
            vol = TICK_VOL.get(base_asset(symbol), DEFAULT_VOL)
            if symbol == self._btc:
                ret = btc_vol * z_btc
            else:
                beta = self._betas.get(symbol, 0.8 if self._btc else 0.0)
                systematic = beta * btc_vol
                idio = math.sqrt(max(vol * vol - systematic * systematic, (0.3 * vol) ** 2))
                ret = systematic * z_btc + idio * self._rng.gauss(0.0, 1.0)
            pull = -PULL_BACK * (logp - math.log(self._start[symbol]))
            self._log[symbol] = logp + ret + pull
        marks = self.current()
        self.marks_changed.emit(marks)
        return marks


@dataclass(frozen=True, slots=True)
class History:
    """Equity and margin-ratio snapshots (chart data, numpy float64).

    ``t``: UNIX seconds (UTC); ``equity``: settlement currency; ``margin_ratio``:
    fraction (1 = liquidation), NaN where the account had no cross position.
    """

    t: np.ndarray
    equity: np.ndarray
    margin_ratio: np.ndarray
    #: deposits (> 0) and withdrawals (< 0): UNIX seconds and amounts (settlement currency),
    #: drawn as markers on the equity chart (money moved in or out is not PnL)
    transfer_t: np.ndarray = field(default_factory=lambda: np.empty(0))
    transfer_amount: np.ndarray = field(default_factory=lambda: np.empty(0))

    @classmethod
    def empty(cls) -> History:
        z = np.empty(0, dtype=np.float64)
        return cls(z, z.copy(), z.copy())


def synthetic_history(
    equity_now: float,
    margin_ratio_now: float | None,
    *,
    hours: int = 365 * 24,
    end: float | None = None,
    seed: int = 7,
) -> History:
    """A plausible year of hourly snapshots ending exactly at the current figures.

    Equity follows a geometric random walk (about 45 % annualised volatility, a
    few deposits); the margin ratio a mean-reverting walk that stays below 95 %.
    Pure numpy; safe to run on a worker thread. Demo data only: never stored.
    """
    rng = np.random.default_rng(seed)
    end = time.time() if end is None else end
    t = end - 3600.0 * np.arange(hours - 1, -1, -1, dtype=np.float64)
    hourly_vol = 0.45 / math.sqrt(365 * 24)
    steps = rng.normal(0.00002, hourly_vol, hours)
    steps[0] = 0.0
    path = np.cumsum(steps)
    equity = np.exp(path - path[-1]) * equity_now
    # a few deposits, older history smaller (the trader topped the account up)
    for frac, size in ((0.15, 0.25), (0.45, 0.2), (0.7, 0.1)):
        idx = int(hours * frac)
        equity[:idx] *= 1.0 - size
    equity *= equity_now / equity[-1]
    if margin_ratio_now is None or not math.isfinite(margin_ratio_now):
        ratio = np.full(hours, np.nan)
    else:
        target = max(1e-4, margin_ratio_now)
        x = np.empty(hours)
        x[-1] = math.log(target)
        mean = math.log(max(1e-4, target * 0.8))
        noise = rng.normal(0.0, 0.03, hours)
        for i in range(hours - 1, 0, -1):  # walk backwards from "now"
            x[i - 1] = x[i] + 0.01 * (mean - x[i]) + noise[i]
        ratio = np.minimum(np.exp(x), 0.95)
        ratio[-1] = margin_ratio_now
    return History(t, equity, ratio)


class SeriesBuffer:
    """Append-only (t, value...) columns with amortised O(1) appends (GUI thread).

    Charts read :meth:`view` (no copy) and pass the arrays to ``setData``.
    """

    def __init__(self, columns: int, capacity: int = 1024) -> None:
        self._data = np.empty((columns, max(16, capacity)), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def extend(self, *cols: np.ndarray) -> None:
        n = len(cols[0])
        self._reserve(self._n + n)
        for i, col in enumerate(cols):
            self._data[i, self._n : self._n + n] = col
        self._n += n

    def append(self, *values: float) -> None:
        self._reserve(self._n + 1)
        self._data[:, self._n] = values
        self._n += 1

    def _reserve(self, size: int) -> None:
        if size > self._data.shape[1]:
            grown = np.empty((self._data.shape[0], max(size, 2 * self._data.shape[1])))
            grown[:, : self._n] = self._data[:, : self._n]
            self._data = grown

    def view(self, column: int) -> np.ndarray:
        return self._data[column, : self._n]

    def clear(self) -> None:
        self._n = 0
