"""One contract, one symbol: :class:`Symbol` reads every way a derivative contract is
written and gives one canonical name, ccxt's unified symbol.

Read:

* ccxt unified symbols: ``BTC/USDT:USDT`` (linear perpetual), ``BTC/USD:BTC`` (inverse),
  ``BTC/USDT:USDT-240628`` (dated future);
* exchange ids: Binance/Bybit ``BTCUSDT``, ``1000PEPEUSDT``, ``ETHUSDC``, COIN-M
  ``BTCUSD_PERP`` and ``BTCUSD_240628``, Bybit inverse ``BTCUSD``, OKX ``BTC-USDT-SWAP``,
  ``BTC-USD-SWAP``, ``BTC-USDT-240628``;
* what people type: ``btc`` (the USDT perpetual), ``eth/usdc``, ``btc-usdt``.

A USD-quoted exchange id (``BTCUSD``, ``BTCUSD_PERP``, ``BTC-USD-SWAP``) is the
coin-settled (inverse) contract, which is what it means on Binance COIN-M, Bybit and
OKX. Used by the journal (every stored symbol is canonical), CSV import, sync, the CLI
and the desktop, so an imported ``BTCUSDT`` and a hand-logged ``BTC/USDT:USDT`` are the
same contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: Quote currencies recognised at the end of a concatenated exchange id, longest first.
QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDE", "USD", "EUR", "BTC", "ETH")
#: The quote a bare base (``btc``) trades against.
DEFAULT_QUOTE = "USDT"

_PART = re.compile(r"^[A-Z0-9]{1,20}$")
_EXPIRY = re.compile(r"^\d{6}$")


class SymbolError(ValueError):
    """Why a text is not a contract symbol (a sentence for the user)."""


@dataclass(frozen=True, slots=True, order=True)
class Symbol:
    """A derivative contract: ``base``/``quote``, settled in ``settle``; ``expiry``
    (``YYMMDD``) for a dated future, empty for a perpetual."""

    base: str
    quote: str
    settle: str
    expiry: str = ""

    @property
    def inverse(self) -> bool:
        """Coin-settled: settles in the base currency."""
        return self.settle == self.base and self.base != self.quote

    @property
    def unified(self) -> str:
        """ccxt's unified symbol, the canonical name: ``BTC/USDT:USDT``."""
        tail = f"-{self.expiry}" if self.expiry else ""
        return f"{self.base}/{self.quote}:{self.settle}{tail}"

    @property
    def short(self) -> str:
        """Compact display name: ``BTCUSDT``, ``BTCUSD`` (inverse), ``BTCUSDT-240628``."""
        tail = f"-{self.expiry}" if self.expiry else ""
        return f"{self.base}{self.quote}{tail}"

    def __str__(self) -> str:
        return self.unified

    @classmethod
    def parse(cls, text: str) -> Symbol:
        """Read ``text`` (see the module docstring); raises :class:`SymbolError`."""
        if not isinstance(text, str):
            raise SymbolError(f"expected a symbol as text, got {type(text).__name__}")
        raw = text.strip()
        shown = repr(raw if len(raw) <= 30 else raw[:30] + "…")
        s = raw.upper()
        if not s:
            raise SymbolError("empty: type a symbol such as BTCUSDT or BTC/USDT:USDT")
        if len(s) > 60:
            raise SymbolError(f"{shown} is too long for a symbol")
        try:
            if "/" in s:
                out = _unified(s)
            elif "-" in s:
                out = _dashed(s)
            else:
                out = _concatenated(s)
        except SymbolError as exc:
            raise SymbolError(f"{shown}: {exc}") from None
        for part in (out.base, out.quote, out.settle):
            if not _PART.match(part):
                raise SymbolError(f"{shown} is not a contract symbol (e.g. BTCUSDT, "
                                  "BTC/USDT:USDT, BTC-USDT-SWAP)")
        if out.base == out.quote:
            raise SymbolError(f"{shown}: base and quote are both {out.base}")
        return out


@lru_cache(maxsize=4096)
def canonical(text: str) -> str:
    """``Symbol.parse(text).unified``: the name the journal stores (cached: an import
    names the same few contracts on every row)."""
    return Symbol.parse(text).unified


def _linear(base: str, quote: str, expiry: str = "") -> Symbol:
    return Symbol(base, quote, quote, expiry)


def _usd_or_linear(base: str, quote: str, expiry: str = "") -> Symbol:
    return Symbol(base, quote, base if quote == "USD" else quote, expiry)


def _unified(s: str) -> Symbol:
    pair, _, settle_part = s.partition(":")
    base, _, quote = pair.partition("/")
    if not base or not quote:
        raise SymbolError("expected BASE/QUOTE or BASE/QUOTE:SETTLE")
    settle, _, expiry = settle_part.partition("-")
    if expiry and not _EXPIRY.match(expiry):
        raise SymbolError(f"expiry {expiry!r} is not YYMMDD")
    if not settle:
        return _usd_or_linear(base, quote, expiry)
    return Symbol(base, quote, settle, expiry)


def _dashed(s: str) -> Symbol:
    parts = s.split("-")
    if len(parts) == 2:  # BTC-USDT (typed), OKX spot-style family name
        return _usd_or_linear(parts[0], parts[1])
    if len(parts) == 3:
        base, quote, kind = parts
        if kind in ("SWAP", "PERP", "PERPETUAL"):
            return _usd_or_linear(base, quote)
        if _EXPIRY.match(kind):
            return _usd_or_linear(base, quote, kind)
    raise SymbolError("expected BASE-QUOTE-SWAP or BASE-QUOTE-YYMMDD")


def _concatenated(s: str) -> Symbol:
    core, _, suffix = s.partition("_")
    expiry = ""
    if suffix:
        if suffix in ("PERP", "PERPETUAL"):
            pass
        elif _EXPIRY.match(suffix):
            expiry = suffix
        else:
            raise SymbolError(f"unknown contract suffix _{suffix}")
    for q in QUOTES:
        if core.endswith(q) and len(core) > len(q):
            return _usd_or_linear(core[: -len(q)], q, expiry)
    if suffix:
        raise SymbolError("no quote currency (e.g. BTCUSD_PERP)")
    return _linear(core, DEFAULT_QUOTE)  # a bare base: its USDT perpetual


__all__ = ["DEFAULT_QUOTE", "QUOTES", "Symbol", "SymbolError", "canonical"]
