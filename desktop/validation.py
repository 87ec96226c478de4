"""Reading what users type into forms, with one-line problems.

Numbers go through :func:`crossmargin.numbers.parse_decimal`, the reading the CLI and the
file readers use: ``1,234.5`` is accepted, ``250,5`` is refused as ambiguous (never read
as 2505), huge exponents are refused.
"""

from __future__ import annotations

from decimal import Decimal

from crossmargin.numbers import NumberError, parse_decimal, show

#: The user's separators, set once at start-up from the system locale
#: (:func:`use_locale_separators`); '.' and ',' until then, as in the CLI.
SEPARATORS: dict[str, str | None] = {"decimal": ".", "thousands": None}


def use_locale_separators(decimal: str, group: str) -> None:
    """Read typed numbers with the locale's decimal point and thousands grouping
    (only the two unambiguous pairs '.'/',' and ','/'.' are taken; any other locale
    keeps the CLI's strict reading)."""
    if (decimal, group) in ((".", ","), (",", ".")):
        SEPARATORS.update(decimal=decimal, thousands=group)


def read_number(text: str) -> Decimal:
    """``text`` as the user's locale writes numbers; raises NumberError."""
    return parse_decimal(text, decimal=SEPARATORS["decimal"] or ".",
                         thousands=SEPARATORS["thousands"])


def parse_decimal_field(
    text: str, name: str, *, required: bool = True, positive: bool = True,
    below_one: bool = False,
) -> tuple[Decimal | None, str | None]:
    """``(value, None)`` or ``(None, problem)`` for a typed number."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        return None, (f"{name}: required" if required else None)
    try:
        value = read_number(cleaned)
    except NumberError as exc:
        return None, f"{name}: {exc}"
    if positive and value <= 0:
        return None, f"{name}: must be greater than 0, got {show(cleaned)}"
    if below_one and value >= 1:
        return None, f"{name}: must be a fraction below 1 (0.005 = 0.5 %), got {show(cleaned)}"
    return value, None
