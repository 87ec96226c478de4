"""Numbers as people type and read them: one parser for decimals, one plain formatter.

Used by the CLI, the desktop's forms and the file readers, so ``250,5`` means the same
(or is refused the same way) everywhere. Nothing here rounds: formatting only chooses
how an exact :class:`~decimal.Decimal` is written.

Reading
-------
:func:`parse_decimal` reads ``1234.5``, ``-0.001``, ``1,234.5`` (comma thousands
groups *with* a decimal point) and ``1e-8``. A number whose reading depends on a guess
is refused with the reason, never reinterpreted: ``250,5`` or ``1,234`` with no
decimal point could be a decimal comma or a thousands comma, so the caller must say
which separator the text uses (``decimal=","`` reads ``250,5`` and ``1.234,5``). A
caller that knows the user's grouping (the desktop, from the system locale) passes
``thousands``: then ``10,000`` is ten thousand; ``250,5`` is still refused, since no
thousands group has one digit.
Every accepted value is finite and within :data:`MAX_DIGITS` significant digits and
exponents of ±:data:`MAX_EXPONENT`, so no later arithmetic or message can blow up.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: Most significant digits accepted in one number (exchange figures have < 30).
MAX_DIGITS = 40
#: Largest |exponent| (adjusted) accepted: 1e-30 … 1e30 covers every price and amount.
MAX_EXPONENT = 30
#: Longest text looked at; longer input is refused before it is parsed.
MAX_TEXT = 80

_GROUPED = {".": re.compile(r"^[+-]?\d{1,3}(,\d{3})+\.\d*$"),
            ",": re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d*$")}
_GROUPED_INT = {".": re.compile(r"^[+-]?\d{1,3}(,\d{3})+$"),
                ",": re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")}
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class NumberError(ValueError):
    """Why a text is not a number this program accepts (a sentence for the user)."""


def show(text: object, most: int = 24) -> str:
    """``text`` for a message: quoted and cut to ``most`` characters."""
    s = str(text)
    return repr(s if len(s) <= most else s[:most] + "…")


def parse_decimal(text: str, *, decimal: str = ".", thousands: str | None = None) -> Decimal:
    """The exact Decimal ``text`` writes, with ``decimal`` as its decimal separator
    (``thousands``: the other separator, when the user's grouping is known).

    Raises :class:`NumberError` saying what is wrong and how to write it instead.
    """
    if decimal not in _GROUPED:
        raise ValueError(f"decimal separator must be '.' or ',', got {decimal!r}")
    if not isinstance(text, str):
        raise NumberError(f"expected a number as text, got {type(text).__name__}")
    s = text.strip().replace("\u2212", "-").replace("\u00a0", "").replace("\u202f", "")
    if not s:
        raise NumberError("empty: type a number")
    if len(s) > MAX_TEXT:
        raise NumberError(f"{show(s)} is {len(s)} characters long; not a number")
    other = "," if decimal == "." else "."
    if thousands is not None and thousands != other:
        raise ValueError(f"thousands separator must be {other!r} with decimal {decimal!r}")
    if _GROUPED[decimal].match(s) or (thousands and _GROUPED_INT[decimal].match(s)):
        s = s.replace(other, "")
    elif other in s:
        if decimal == ".":
            raise NumberError(
                f"{show(s)} is ambiguous (a comma may be a decimal or a thousands "
                "separator): use a dot for decimals, e.g. 250.5"
            )
        raise NumberError(
            f"{show(s)} is ambiguous here: this input reads ',' as the decimal separator; "
            "write 250,5 (and 1.234,5 for thousands)"
        )
    if decimal == ",":
        s = s.replace(",", ".")
    if s.lstrip("+-").lower() in ("inf", "infinity", "nan", "snan"):
        raise NumberError(f"{show(text)} is not a finite number")
    if not _PLAIN.match(s):
        raise NumberError(f"{show(text)} is not a number")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise NumberError(f"{show(text)} is not a number") from None
    check_bounds(value, show(text))
    return value


def check_bounds(value: Decimal, what: str = "the number") -> Decimal:
    """``value`` if it is finite and within the digit and exponent limits, else NumberError."""
    if not value.is_finite():
        raise NumberError(f"{what} is not a finite number")
    if value.is_zero():
        return value
    digits = len(value.as_tuple().digits)
    if digits > MAX_DIGITS:
        raise NumberError(f"{what} has {digits} significant digits (at most {MAX_DIGITS})")
    if abs(value.adjusted()) > MAX_EXPONENT:
        raise NumberError(
            f"{what} is out of range: magnitude 1e{value.adjusted()}, "
            f"accepted 1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT}"
        )
    return value


def plain(value: Decimal) -> str:
    """Exact, without exponent or trailing zeros: ``Decimal('7.50000000')`` → ``7.5``.

    Values outside the accepted range are written in scientific form (never expanded to
    a billion digits)."""
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        return "0"
    if abs(value.adjusted()) > MAX_EXPONENT + 10:
        return f"{value:.6e}"
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def signed(value: Decimal) -> str:
    """:func:`plain` with an explicit sign: ``+7.5``, ``-0.1``, ``0``."""
    text = plain(value)
    return text if text.startswith("-") or text == "0" else "+" + text


__all__ = ["MAX_DIGITS", "MAX_EXPONENT", "NumberError", "check_bounds", "parse_decimal",
           "plain", "show", "signed"]
