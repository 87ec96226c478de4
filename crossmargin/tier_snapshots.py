"""Which rules and tier tables an exchange's account follows when the journal has none.

* :func:`rules_for_exchange`: the margin rule set of a ccxt exchange id.
* :func:`bundled_tiers`: the dated public tier snapshot shipped in
  ``resources/tiers/<exchange>.json`` (see its README), loaded lazily and cached.

A journal account that names its exchange (``crossmargin journal account add LABEL
--exchange binanceusdm``) is evaluated with that exchange's rules; a symbol without a
stored tier table takes the snapshot's, and every caller says so (its date included):
no maintenance rate is ever made up.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from crossmargin.domain import RuleSet, Tier

_RULES = {
    "binanceusdm": RuleSet.BINANCE, "binancecoinm": RuleSet.BINANCE, "binance": RuleSet.BINANCE,
    "bybit": RuleSet.BYBIT, "okx": RuleSet.OKX, "gate": RuleSet.GATE, "gateio": RuleSet.GATE,
    "hyperliquid": RuleSet.HYPERLIQUID,
}

#: Exchange ids a journal account may name (first-class), with their display names.
EXCHANGE_NAMES = {
    "binanceusdm": "Binance USDS-M", "binancecoinm": "Binance COIN-M", "bybit": "Bybit",
    "okx": "OKX", "gate": "Gate", "hyperliquid": "Hyperliquid",
}


def exchange_name(exchange_id: str | None) -> str:
    """A display name: ``Binance USDⓈ-M`` for ``binanceusdm``, the id itself otherwise."""
    return EXCHANGE_NAMES.get((exchange_id or "").lower(), exchange_id or "")


def rules_for_exchange(exchange_id: str) -> RuleSet:
    """The rule set of a ccxt exchange id (``generic`` for exchanges without their own)."""
    return _RULES.get(exchange_id.strip().lower(), RuleSet.GENERIC)


@dataclass(frozen=True, slots=True)
class TierSnapshot:
    """One exchange's bundled tier tables: ``tables[unified symbol]``, lowest tier first."""

    exchange: str
    name: str
    as_of: str
    source: str
    tables: MappingProxyType[str, tuple[Tier, ...]]

    def describe(self) -> str:
        return f"{self.name} tiers bundled with CrossMargin (as of {self.as_of})"


_cache: dict[str, TierSnapshot | None] = {}
_lock = threading.Lock()


def bundled_tiers(exchange_id: str | None) -> TierSnapshot | None:
    """The snapshot for ``exchange_id``, or None when none is bundled."""
    if not exchange_id:
        return None
    key = exchange_id.strip().lower()
    with _lock:
        if key not in _cache:
            _cache[key] = _load(key)
        return _cache[key]


def _load(exchange_id: str) -> TierSnapshot | None:
    from crossmargin.resources import resources_dir

    try:
        path = resources_dir() / "tiers" / f"{exchange_id}.json"
    except FileNotFoundError:
        return None
    if not path.is_file():
        return None
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    tables = {}
    for symbol, rows in doc["tiers"].items():
        tables[symbol] = tuple(
            Tier(Decimal(lo), Decimal(hi), Decimal(mmr), Decimal(cum), Decimal(lev))
            for lo, hi, mmr, cum, lev in rows
        )
    return TierSnapshot(doc["exchange"], doc["name"], doc["as_of"], doc["source"],
                        MappingProxyType(tables))


__all__ = ["EXCHANGE_NAMES", "TierSnapshot", "bundled_tiers", "exchange_name",
           "rules_for_exchange"]
