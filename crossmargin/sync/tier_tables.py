"""Leverage-tier tables as exchanges and ccxt publish them, read into :class:`Tier`s.

The margin engine (:mod:`crossmargin.margin.tiers`) only sees the result; the shapes of
ccxt's ``LeverageTier`` dicts and of OKX's raw position tiers live here, with the rest
of the exchange code. Every number is checked (finite, in bounds) and named in the
error when it is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from crossmargin.domain import ZERO, Tier
from crossmargin.errors import InputError
from crossmargin.numbers import NumberError, check_bounds, show


def _dec(value: Any, where: str) -> Decimal:
    if value is None or isinstance(value, bool):
        raise InputError(f"{where}: missing")
    text = str(value)
    try:
        result = Decimal(text) if len(text) <= 80 else Decimal("NaN")
    except Exception as exc:  # decimal.InvalidOperation and friends
        raise InputError(f"{where}: not a number: {show(text)}") from exc
    if not result.is_finite():
        raise InputError(f"{where}: must be a finite number, got {show(text)}")
    try:
        return check_bounds(result, show(text))
    except NumberError as exc:
        raise InputError(f"{where}: {exc}") from None


def _opt_dec(value: Any, where: str) -> Decimal | None:
    return None if value is None or value == "" else _dec(value, where)


def tiers_from_ccxt(rows: Iterable[Mapping[str, Any]], *, exchange: str = "") -> tuple[Tier, ...]:
    """Convert ccxt ``LeverageTier`` dicts (one symbol) into :class:`Tier` objects.

    The maintenance amount comes from ``info.cum`` (Binance) or
    ``info.mmDeduction`` (Bybit v5) when present. OKX tiers are in contracts; use
    :func:`okx_tiers` for them instead.
    """
    out: list[Tier] = []
    for i, row in enumerate(rows):
        where = f"{exchange or 'tiers'}[{i}]"
        info = row.get("info") or {}
        amount = None
        for key in ("cum", "mmDeduction", "maintAmt"):
            if info.get(key) not in (None, ""):
                amount = _dec(info[key], f"{where}.info.{key}")
                break
        out.append(
            Tier(
                min_notional=_dec(row.get("minNotional", 0), f"{where}.minNotional"),
                max_notional=_opt_dec(row.get("maxNotional"), f"{where}.maxNotional"),
                maintenance_margin_rate=_dec(
                    row.get("maintenanceMarginRate"), f"{where}.maintenanceMarginRate"
                ),
                maintenance_amount=amount,
                max_leverage=_opt_dec(row.get("maxLeverage"), f"{where}.maxLeverage"),
            )
        )
    return tuple(out)


def okx_tiers(rows: Iterable[Mapping[str, Any]], contract_size: Decimal) -> tuple[Tier, ...]:
    """OKX position tiers (bounds in contracts) as size-based tiers.

    OKX publishes ``minSz``/``maxSz`` in contracts (ccxt stores them, misleadingly,
    as ``minNotional``/``maxNotional``). Multiplying by the contract value gives the
    position size ``Q`` the ``okx`` rule set looks brackets up by. OKX has no
    maintenance amount: maintenance margin is size × mark × MMR (+ fee).
    Accepts either raw OKX rows (``minSz``, ``maxSz``, ``mmr``, ``maxLever``) or
    ccxt LeverageTier dicts.

    OKX's sizes are whole contracts, so tier n+1 starting at ``maxSz_n + 1`` contract
    means "above ``maxSz_n``": the bounds are made contiguous (each tier starts where
    the previous one ends, the first at 0) so every size has exactly one tier.
    """
    out: list[Tier] = []
    previous_max: Decimal | None = ZERO
    for i, row in enumerate(rows):
        where = f"okx tiers[{i}]"
        lo = row.get("minSz", row.get("minNotional", 0))
        hi = row.get("maxSz", row.get("maxNotional"))
        rate = row.get("mmr", row.get("maintenanceMarginRate"))
        lev = row.get("maxLever", row.get("maxLeverage"))
        hi_d = _opt_dec(hi, f"{where}.maxSz")
        lo_d = _dec(lo, f"{where}.minSz") * contract_size
        if previous_max is not None and previous_max <= lo_d <= previous_max + contract_size:
            lo_d = previous_max
        previous_max = None if hi_d is None else hi_d * contract_size
        out.append(
            Tier(
                min_notional=lo_d,
                max_notional=None if hi_d is None else hi_d * contract_size,
                maintenance_margin_rate=_dec(rate, f"{where}.mmr"),
                maintenance_amount=ZERO,
                max_leverage=_opt_dec(lev, f"{where}.maxLever"),
            )
        )
    return tuple(out)
