"""Number formatting for display: per-instrument price and size precision.

Money stays :class:`~decimal.Decimal` everywhere; this module only *rounds for
display* (ROUND_HALF_EVEN on a copy). Precision per instrument is learnt from
the prices and sizes the account actually carries (a BTC mark quoted as
``97250.1`` shows one decimal, a DOGE mark ``0.38214`` five), with a floor based
on the price's magnitude so tiny or huge numbers never show as ``0`` or noise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

DASH = "—"
STABLE_COINS = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD", "DAI", "USDE", "TUSD"})
MAX_DECIMALS = 8


def decimals_of(value: Decimal) -> int:
    """Number of decimals ``value`` is written with (``Decimal("97250.10")`` -> 2)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN / Infinity
        return 0
    return max(0, -exponent)


def magnitude_decimals(price: Decimal) -> int:
    """Decimals needed to show ~5 significant digits of a price (min 1, max 8)."""
    price = abs(price)
    if price == 0 or not price.is_finite():
        return 2
    adjusted = price.adjusted()  # exponent of the leading digit: 97250 -> 4, 0.38 -> -1
    return min(MAX_DECIMALS, max(1, 4 - adjusted))


def quantize(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def group(value: Decimal, decimals: int, *, sign: bool = False) -> str:
    """``value`` rounded to ``decimals`` with thousands separators (``12,345.67``)."""
    if not value.is_finite():
        return DASH
    q = quantize(value, decimals)
    text = f"{q:,.{decimals}f}"
    if sign and q > 0:
        text = "+" + text
    if text.startswith("-"):
        text = "\u2212" + text[1:]  # typographic minus
    return text


def settle_decimals(settle: str) -> int:
    """Display decimals of an amount in the settlement currency (USDT 2, BTC 6, ...)."""
    code = settle.upper()
    if code in STABLE_COINS:
        return 2
    if code == "BTC":
        return 6
    if code == "ETH":
        return 5
    return 4


@dataclass
class InstrumentFormats:
    """Price/size display precision per symbol, learnt from observed values."""

    price_decimals: dict[str, int] = field(default_factory=dict)
    size_decimals: dict[str, int] = field(default_factory=dict)

    def learn(self, symbol: str, prices: Iterable[Decimal], sizes: Iterable[Decimal] = ()) -> None:
        """Widen ``symbol``'s precision to fit ``prices`` and ``sizes`` (never narrows).

        ``prices`` should be quotes (entry, mark), not computed values such as a
        liquidation price, whose exact Decimal has ~40 digits.
        """
        pdec = self.price_decimals.get(symbol, 0)
        for price in prices:
            if price is not None and price.is_finite():
                # as written, and at least ~5 significant digits (exchange tick sizes)
                pdec = max(pdec, decimals_of(price.normalize()), magnitude_decimals(price))
        self.price_decimals[symbol] = min(MAX_DECIMALS, pdec)
        sdec = self.size_decimals.get(symbol, 0)
        for size in sizes:
            if size is not None and size.is_finite():
                sdec = max(sdec, min(MAX_DECIMALS, decimals_of(size.normalize())))
        self.size_decimals[symbol] = sdec

    def price(self, symbol: str, value: Decimal | None) -> str:
        """A price of ``symbol`` in its quote currency; ``None`` -> an em dash."""
        if value is None:
            return DASH
        decimals = self.price_decimals.get(symbol)
        if decimals is None:
            decimals = magnitude_decimals(value)
        return group(value, decimals)

    def size(self, symbol: str, value: Decimal) -> str:
        return group(value, self.size_decimals.get(symbol, decimals_of(value.normalize())))


def short_symbol(symbol: str) -> str:
    """``BTC/USDT:USDT`` -> ``BTC/USDT`` (the settle suffix when it repeats the quote)."""
    head, sep, settle = symbol.partition(":")
    if sep and "/" in head and head.split("/")[1] == settle:
        return head
    return symbol


def coin_label(symbol: str) -> str:
    """Compact label for charts: ``BTC/USDT:USDT`` -> ``BTC``; a dated future keeps its
    expiry (``BTC/USD:BTC-270326`` -> ``BTC-270326``); ``BTCUSDT`` stays. Full symbols
    go in tooltips."""
    base, _, rest = symbol.partition("/")
    if not rest:
        return symbol.split(":", 1)[0]
    expiry = rest.partition(":")[2].partition("-")[2]
    return f"{base}-{expiry}" if expiry else base


def money(value: Decimal | None, settle: str, *, sign: bool = False, unit: bool = False) -> str:
    """An amount in the settlement currency, e.g. ``12,345.67`` or ``+0.001234 BTC``."""
    if value is None:
        return DASH
    text = group(value, settle_decimals(settle), sign=sign)
    return f"{text} {settle}" if unit else text


def percent(fraction: Decimal | None, *, decimals: int = 2, sign: bool = False) -> str:
    """A fraction as a percentage: ``Decimal("0.1234")`` -> ``12.34 %``."""
    if fraction is None or not fraction.is_finite():
        return DASH
    return group(fraction * 100, decimals, sign=sign) + "\u202f%"


def leverage(value: Decimal) -> str:
    """``Decimal("20")`` -> ``20×``; ``12.5`` -> ``12.5×``."""
    text = format(value.normalize(), "f")
    return f"{text}\u00d7"
