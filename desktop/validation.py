"""Parsing what users type into forms (numbers with separators), with one-line problems."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_decimal_field(
    text: str, name: str, *, required: bool = True, positive: bool = True,
    below_one: bool = False,
) -> tuple[Decimal | None, str | None]:
    """``(value, None)`` or ``(None, problem)`` for a typed number (``1,234.5`` accepted)."""
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("\u2212", "-")
    if not cleaned:
        return None, (f"{name}: required" if required else None)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None, f"{name}: “{text.strip()}” is not a number"
    if not value.is_finite():
        return None, f"{name}: must be a finite number"
    if positive and value <= 0:
        return None, f"{name}: must be greater than 0, got {value}"
    if below_one and value >= 1:
        return None, f"{name}: must be a fraction below 1 (0.005 = 0.5 %), got {value}"
    return value, None
