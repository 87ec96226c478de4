"""The collateral section of a scenario (format /2): which assets back the account and
how much of each counts.

::

    "collateral_mode": "multi",
    "collateral": [
      {"asset": "BTC", "amount": "0.5", "price": "90000", "ratio": "0.95"},
      {"asset": "ETH", "amount": "12", "price": "3100",
       "ratios": [{"up_to": "10", "ratio": "0.98"}, {"up_to": null, "ratio": "0.9"}]},
      {"asset": "USDC", "amount": "2500", "price": "0.9998", "ratio": "0.9999"}]

``price`` is one unit's value in the account's ``settle`` currency (the exchange's index
price); ``ratio`` is a flat collateral value ratio, ``ratios`` a table tiered by quantity
(Bybit); neither: counted whole. ``collateral_mode`` is ``single`` (the default: only
``settle`` backs the positions; the list is kept but not counted) or ``multi``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from crossmargin.domain import ONE, ZERO, Collateral, CollateralMode, ValueRatioTier
from crossmargin.scenario.fields import _POSITIVE, _Problems, _show, format_decimal

_KEYS = ("asset", "amount", "price", "ratio", "ratios")
_RATIO: tuple = (lambda d: ZERO <= d <= ONE, "must be between 0 and 1")


def parse_collateral(problems: _Problems, data: Mapping[str, Any], settle: str | None
                     ) -> tuple[CollateralMode, tuple[Collateral, ...]]:
    mode_name = problems.choice(data, "collateral_mode", "", [m.value for m in CollateralMode],
                                required=False, default=CollateralMode.SINGLE.value,
                                what="collateral mode")
    mode = CollateralMode(mode_name) if mode_name else CollateralMode.SINGLE
    raw = data.get("collateral")
    if raw is None:
        return mode, ()
    if not isinstance(raw, list):
        problems.add("collateral", f"must be a list of holdings, got {_show(raw)}")
        return mode, ()
    out: list[Collateral] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"collateral[{i}]"
        if not isinstance(item, Mapping):
            problems.add(path, f"must be an object, got {_show(item)}")
            continue
        n = len(problems.lines)
        problems.unknown_keys(item, path, _KEYS)
        asset = problems.string(item, "asset", path)
        amount = problems.number(item, "amount", path)
        price = problems.number(item, "price", path, _POSITIVE)
        ratios = _ratios(problems, item, path)
        if asset is not None:
            if asset in seen:
                problems.add(f"{path}.asset", f"{asset} is listed twice; give one balance")
            if settle and asset == settle:
                problems.add(f"{path}.asset", f"{asset} is the settlement currency; its "
                             "balance is wallet_balance")
            seen.add(asset)
        if len(problems.lines) == n and asset and amount is not None and price is not None:
            out.append(Collateral(asset, amount, price, ratios))
    return mode, tuple(out)


def _ratios(problems: _Problems, item: Mapping[str, Any], path: str
            ) -> tuple[ValueRatioTier, ...]:
    if item.get("ratio") is not None and item.get("ratios") is not None:
        problems.add(path, "give ratio (flat) or ratios (tiered), not both")
        return ()
    if item.get("ratio") is not None:
        ratio = problems.number(item, "ratio", path, _RATIO)
        return (ValueRatioTier(None, ratio),) if ratio is not None else ()
    raw = item.get("ratios")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        problems.add(f"{path}.ratios", f"must be a non-empty list, got {_show(raw)}")
        return ()
    tiers: list[ValueRatioTier] = []
    last: Decimal | None = ZERO
    for k, tier in enumerate(raw):
        where = f"{path}.ratios[{k}]"
        if not isinstance(tier, Mapping):
            problems.add(where, f"must be an object, got {_show(tier)}")
            continue
        problems.unknown_keys(tier, where, ("up_to", "ratio"))
        up_to = problems.number(tier, "up_to", where, _POSITIVE, required=False)
        ratio = problems.number(tier, "ratio", where, _RATIO)
        if last is None:
            problems.add(where, "comes after a tier without up_to (the last must be open)")
        elif up_to is not None and up_to <= last:
            problems.add(f"{where}.up_to", f"must be above the previous tier's ({last}), "
                         f"got {up_to}")
        last = up_to
        if ratio is not None:
            tiers.append(ValueRatioTier(up_to, ratio))
    return tuple(tiers)


def dump_collateral(mode: CollateralMode, collateral: tuple[Collateral, ...]
                    ) -> dict[str, Any]:
    out: dict[str, Any] = {"collateral_mode": mode.value}
    rows = []
    for c in collateral:
        row: dict[str, Any] = {"asset": c.asset, "amount": format_decimal(c.amount),
                               "price": format_decimal(c.price)}
        if c.flat_ratio is not None:
            row["ratio"] = format_decimal(c.flat_ratio)
        elif c.ratios:
            row["ratios"] = [{"up_to": None if t.up_to is None else format_decimal(t.up_to),
                              "ratio": format_decimal(t.ratio)} for t in c.ratios]
        rows.append(row)
    out["collateral"] = rows
    return out
