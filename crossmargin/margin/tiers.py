"""Maintenance-margin tier tables.

A table is a list of brackets, lowest first. A bracket applies from its
``min_notional`` (inclusive) to the next bracket's ``min_notional``; the lookup
rule is "the last tier whose floor is <= the value" (the rule exchanges and
freqtrade use). When a bracket's maintenance amount is missing it is derived
with Binance's recursion ``cum_n = floor_n × (MMR_n − MMR_{n−1}) + cum_{n−1}``,
which makes maintenance margin continuous across bracket boundaries.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal

from crossmargin.domain import ZERO, Tier
from crossmargin.errors import InputError


def derive_maintenance_amounts(tiers: Sequence[Tier]) -> tuple[Tier, ...]:
    """Fill in every missing ``maintenance_amount`` with the cum recursion.

    The first bracket's missing amount is 0. Given amounts are kept as they are.
    """
    out: list[Tier] = []
    prev_rate = ZERO
    prev_cum = ZERO
    for i, tier in enumerate(tiers):
        if tier.maintenance_amount is None:
            cum = ZERO if i == 0 else tier.min_notional * (
                tier.maintenance_margin_rate - prev_rate
            ) + prev_cum
            filled = Tier(
                tier.min_notional,
                tier.max_notional,
                tier.maintenance_margin_rate,
                cum,
                tier.max_leverage,
            )
        else:
            filled = tier
        out.append(filled)
        prev_rate = filled.maintenance_margin_rate
        prev_cum = filled.maintenance_amount if filled.maintenance_amount is not None else ZERO
    return tuple(out)


def validate_tiers(tiers: Sequence[Tier], where: str = "tiers") -> list[str]:
    """Problems with a tier table, one line each (empty list = fine)."""
    problems: list[str] = []
    if not tiers:
        return [f"{where}: needs at least one tier"]
    prev: Tier | None = None
    for i, t in enumerate(tiers):
        here = f"{where}[{i}]"
        if t.min_notional < 0:
            problems.append(f"{here}.min_notional: must be >= 0, got {t.min_notional}")
        if t.max_notional is not None and t.max_notional <= t.min_notional:
            problems.append(
                f"{here}.max_notional: must be above min_notional {t.min_notional}, "
                f"got {t.max_notional}"
            )
        if not ZERO <= t.maintenance_margin_rate < 1:
            problems.append(
                f"{here}.maintenance_margin_rate: must be in [0, 1), "
                f"got {t.maintenance_margin_rate}"
            )
        if t.max_leverage is not None and t.max_leverage <= 0:
            problems.append(f"{here}.max_leverage: must be > 0, got {t.max_leverage}")
        if prev is not None:
            if t.min_notional <= prev.min_notional:
                problems.append(
                    f"{here}.min_notional: tiers must be in increasing order, "
                    f"{t.min_notional} follows {prev.min_notional}"
                )
            elif prev.max_notional is not None and prev.max_notional != t.min_notional:
                problems.append(
                    f"{here}.min_notional: must equal the previous tier's max_notional "
                    f"{prev.max_notional} (gap or overlap), got {t.min_notional}"
                )
        prev = t
    return problems


class TierTable:
    """A bracket table ready for fast lookups.

    ``floors``, ``rates``, ``amounts`` and ``max_leverages`` are parallel tuples.
    ``lookup(value)`` returns the index of the bracket holding ``value``.
    """

    __slots__ = ("amounts", "floors", "max_leverages", "rates", "tiers")

    def __init__(self, tiers: Sequence[Tier], *, derive_amounts: bool = True) -> None:
        if not tiers:
            raise InputError("tier table is empty")
        full = derive_maintenance_amounts(tiers) if derive_amounts else tuple(tiers)
        self.tiers: tuple[Tier, ...] = full
        self.floors: tuple[Decimal, ...] = tuple(t.min_notional for t in full)
        self.rates: tuple[Decimal, ...] = tuple(t.maintenance_margin_rate for t in full)
        self.amounts: tuple[Decimal, ...] = tuple(
            t.maintenance_amount if t.maintenance_amount is not None else ZERO for t in full
        )
        self.max_leverages: tuple[Decimal | None, ...] = tuple(t.max_leverage for t in full)

    def __len__(self) -> int:
        return len(self.floors)

    def lookup(self, value: Decimal) -> int:
        """Index of the bracket for ``value`` (the last floor <= value; 0 below all)."""
        i = bisect_right(self.floors, value) - 1
        return i if i > 0 else 0

    def bracket(self, value: Decimal) -> tuple[Decimal, Decimal]:
        """``(maintenance_margin_rate, maintenance_amount)`` for ``value``."""
        i = self.lookup(value)
        return self.rates[i], self.amounts[i]

    def maintenance_margin(self, value: Decimal) -> Decimal:
        """``value × MMR − amount`` with the bracket picked by ``value``."""
        rate, amount = self.bracket(value)
        return value * rate - amount
