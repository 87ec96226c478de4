"""The scenario format's keys, and reading its values with one named problem each
(numbers as exact decimals, strings, choices)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from crossmargin.domain import (
    ONE,
    ZERO,
    RuleSet,
)
from crossmargin.numbers import NumberError, check_bounds, plain, show

FORMAT = "crossmargin.scenario/2"
#: Versions this CrossMargin reads (/1 has no collateral and no per-position settle).
READABLE = ("crossmargin.scenario/1", FORMAT)
_FORMAT_PREFIX = "crossmargin.scenario/"

_TOP_KEYS = (
    "format",
    "label",
    "rules",
    "settle",
    "wallet_balance",
    "taker_fee_rate",
    "positions",
    "tiers",
    "betas",
    "collateral_mode",
    "collateral",
)
_POSITION_KEYS = (
    "id",
    "symbol",
    "side",
    "contracts",
    "contract_size",
    "inverse",
    "entry_price",
    "mark_price",
    "leverage",
    "margin_mode",
    "isolated_margin",
    "maintenance_margin_rate",
    "max_leverage",
    "exchange_liquidation_price",
    "settle",
)
_TIER_KEYS = (
    "min_notional",
    "max_notional",
    "maintenance_margin_rate",
    "maintenance_amount",
    "max_leverage",
)
_RULE_NAMES = ", ".join(r.value for r in RuleSet)


# --------------------------------------------------------------------------- numbers


def format_decimal(value: Decimal) -> str:
    """``value`` as a plain decimal string (``"0.0000001"``, never ``"1E-7"``)."""
    text = format(value, "f")
    return "0" if text in {"-0", "-0.0"} and value.is_zero() else text


def _show(value: object) -> str:
    """How a bad value is quoted back to the user (never expanded to a billion digits,
    never longer than a line)."""
    if isinstance(value, Decimal):
        return plain(value) if value.is_finite() else str(value)
    if isinstance(value, str):
        return show(value, 40)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


# A bound check: (predicate, "must be ..." text).
_Check = tuple[Callable[[Decimal], bool], str]
_POSITIVE: _Check = (lambda d: d > 0, "must be > 0")
_NON_NEGATIVE: _Check = (lambda d: d >= 0, "must be >= 0")
_RATE: _Check = (lambda d: ZERO <= d < ONE, "must be in [0, 1)")
_ANY: _Check = (lambda d: True, "")


class _Problems:
    """Collects problem lines; each line starts with the field path."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{path}: {message}" if path else message)

    def number(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        check: _Check = _ANY,
        *,
        required: bool = True,
        default: Decimal | None = None,
    ) -> Decimal | None:
        """Read a decimal (string or JSON number); report missing/invalid/out-of-range."""
        where = f"{path}.{key}" if path else key
        if obj.get(key) is None:
            if required:
                self.add(where, "missing")
            return default
        return self.number_at(obj[key], where, check)

    def number_at(self, raw: object, where: str, check: _Check = _ANY) -> Decimal | None:
        """Check one decimal value found at ``where`` (``None`` if it is not valid)."""
        value = _to_decimal(raw)
        if value is None:
            self.add(where, f"must be a number (a decimal string like \"1.5\"), got {_show(raw)}")
            return None
        if not value.is_finite():
            self.add(where, f"must be a finite number, got {_show(raw)}")
            return None
        try:
            check_bounds(value, _show(value))
        except NumberError as exc:
            self.add(where, str(exc))
            return None
        predicate, text = check
        if not predicate(value):
            self.add(where, f"{text}, got {_show(value)}")
            return None
        return value

    def string(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = True,
        default: str = "",
        non_empty: bool = True,
    ) -> str | None:
        where = f"{path}.{key}" if path else key
        if obj.get(key) is None:
            if required:
                self.add(where, "missing")
            return default
        raw = obj[key]
        if not isinstance(raw, str):
            self.add(where, f"must be a string, got {_show(raw)}")
            return None
        if non_empty and not raw.strip():
            self.add(where, "must not be empty")
            return None
        return raw

    def choice(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        options: Iterable[str],
        *,
        required: bool = True,
        default: str | None = None,
        what: str = "value",
    ) -> str | None:
        options = tuple(options)
        where = f"{path}.{key}" if path else key
        raw = self.string(obj, key, path, required=required, default=default or "")
        if raw is None or (raw == "" and not required and default is None):
            return None
        if raw not in options:
            self.add(
                where,
                f"unknown {what} {_show(raw)} (expected one of {', '.join(options)})",
            )
            return None
        return raw

    def boolean(
        self, obj: Mapping[str, Any], key: str, path: str, *, default: bool
    ) -> bool | None:
        where = f"{path}.{key}" if path else key
        if key not in obj or obj[key] is None:
            return default
        raw = obj[key]
        if not isinstance(raw, bool):
            self.add(where, f"must be true or false, got {_show(raw)}")
            return None
        return raw

    def unknown_keys(self, obj: Mapping[str, Any], path: str, known: Sequence[str]) -> None:
        for key in obj:
            if key in known:
                continue
            where = f"{path}.{key}" if path else str(key)
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.add(where, f"unknown field{hint}")


def _to_decimal(raw: object) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return None


def _quote(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _tier_path(symbol: str) -> str:
    return f"tiers[{_quote(symbol)}]"
