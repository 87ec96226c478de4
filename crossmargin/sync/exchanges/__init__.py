"""Per-exchange fetching: ccxt calls, pagination, and conversion to :mod:`..model`
records, one module per exchange (:mod:`.binance`, :mod:`.bybit`, :mod:`.okx`) over the
generic :class:`~.base.Fetcher` that any other ccxt exchange uses.
"""

from __future__ import annotations

from crossmargin.sync.exchanges.base import CURSOR_LAG_MS, DAY_MS, WEEK_MS, Fetcher, History, dec
from crossmargin.sync.exchanges.binance import BinanceFetcher
from crossmargin.sync.exchanges.bybit import BybitFetcher
from crossmargin.sync.exchanges.okx import OkxFetcher

__all__ = [
    "CURSOR_LAG_MS",
    "DAY_MS",
    "WEEK_MS",
    "BinanceFetcher",
    "BybitFetcher",
    "Fetcher",
    "History",
    "OkxFetcher",
    "dec",
    "fetcher_for",
]


def fetcher_for(exchange_id: str) -> type[Fetcher]:
    """The fetcher class for a ccxt exchange id (generic for the others)."""
    if exchange_id in ("binanceusdm", "binancecoinm"):
        return BinanceFetcher
    if exchange_id == "bybit":
        return BybitFetcher
    if exchange_id == "okx":
        return OkxFetcher
    return Fetcher
