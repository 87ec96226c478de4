"""Collateral held in other assets than the settlement currency, and how much of it
counts: the exchanges' pooled (multi-asset) cross margin.

* **Binance USDⓈ-M Multi-Assets mode** (FAQ "What Is Multi-Assets Mode and What Assets Does
  It Support"; live table: binance.com/en/futures/trading-rules/perpetual/multi-asset-info):
  cross only; every margin asset counts at its index price × its *collateral value ratio*
  (one ratio per asset); USDT- and USDC-margined contracts share the pool, each contract's
  PnL in its own settlement asset.
* **Bybit Unified Trading Account, cross margin** ("Understanding Collateral Value Ratios in
  Unified Trading Account", bybit.com help centre, updated 2025-09-18): margin balance =
  Σ asset × USD index price × collateral value ratio + perpetual and futures uPnL; the ratio
  is *tiered by quantity* (e.g. BTC 0–10: 0.98, >10–20: 0.95, …); a negative balance counts
  at 100 %. Liquidation when the account maintenance margin reaches the margin balance.
* **OKX multi-currency margin**: each currency's equity counts at its discount rate (tiered
  by amount); the same model is used, an approximation (OKX also counts pending orders,
  borrowing interest and liquidation fees, which are not modelled).

Because the ratio is tiered by *quantity*, a holding's counted value is
``price × effective_amount`` with ``effective_amount`` fixed while the price moves: a coin
held as collateral is, to the margin engine, a long position in that coin (see
:mod:`crossmargin.margin.collateral`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

_ZERO = Decimal(0)
_ONE = Decimal(1)

#: Assets that do not move with a crypto price shock (their price stays as given).
STABLE_ASSETS = frozenset({"USD", "USDT", "USDC", "FDUSD", "BUSD", "DAI", "TUSD", "USDE",
                           "USDP", "PYUSD", "BFUSD"})


class CollateralMode(StrEnum):
    """``single``: only the settlement currency backs the cross positions (collateral in
    other assets is listed but not counted). ``multi``: every asset counts, at its
    collateral value ratio (Binance Multi-Assets mode, Bybit UTA cross margin, OKX
    multi-currency margin)."""

    SINGLE = "single"
    MULTI = "multi"

    @property
    def other(self) -> CollateralMode:
        return CollateralMode.MULTI if self is CollateralMode.SINGLE else CollateralMode.SINGLE


@dataclass(frozen=True, slots=True)
class ValueRatioTier:
    """The collateral value ratio for quantities up to ``up_to`` (coin units; ``None``:
    no limit) above the previous tier's ``up_to``."""

    up_to: Decimal | None
    ratio: Decimal


@dataclass(frozen=True, slots=True)
class Collateral:
    """A balance in ``asset`` (negative: owed) worth ``price`` settlement-currency units
    each (the exchange's index price), counted at ``ratios`` (lowest tier first; one tier
    with ``up_to=None`` is a flat ratio; empty: counted whole)."""

    asset: str
    amount: Decimal
    price: Decimal
    ratios: tuple[ValueRatioTier, ...] = ()

    @property
    def market_value(self) -> Decimal:
        """``amount × price``: the value before any haircut."""
        return self.amount * self.price

    @property
    def effective_amount(self) -> Decimal:
        """The quantity that counts: each tier's share at its ratio; a debt counts whole."""
        if self.amount <= 0 or not self.ratios:
            return self.amount
        left = self.amount
        floor = _ZERO
        counted = _ZERO
        for tier in self.ratios:
            top = tier.up_to
            portion = left if top is None else min(left, top - floor)
            if portion > 0:
                counted += portion * tier.ratio
                left -= portion
            if top is not None:
                floor = top
            if left <= 0:
                break
        return counted  # beyond the last tier: not counted

    @property
    def value(self) -> Decimal:
        """What counts as margin: ``price × effective_amount``."""
        return self.effective_amount * self.price

    @property
    def flat_ratio(self) -> Decimal | None:
        """The one ratio of a flat table (``None`` when tiered or empty)."""
        if len(self.ratios) == 1 and self.ratios[0].up_to is None:
            return self.ratios[0].ratio
        return None

    @property
    def stable(self) -> bool:
        return self.asset.upper() in STABLE_ASSETS

    def with_amount(self, amount: Decimal) -> Collateral:
        return Collateral(self.asset, amount, self.price, self.ratios)

    def with_price(self, price: Decimal) -> Collateral:
        return Collateral(self.asset, self.amount, price, self.ratios)


def flat(ratio: Decimal | str) -> tuple[ValueRatioTier, ...]:
    """A one-tier table: every unit counts at ``ratio``."""
    return (ValueRatioTier(None, Decimal(ratio)),)


__all__ = ["STABLE_ASSETS", "Collateral", "CollateralMode", "ValueRatioTier", "flat"]
