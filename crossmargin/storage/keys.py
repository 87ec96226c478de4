"""Dedupe keys and canonical symbols: what makes a re-sync or a re-import idempotent (a
fill, funding payment or transfer already stored is recognised and skipped).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
)

from crossmargin.storage.coltypes import datetime_to_micros
from crossmargin.storage.records import (
    ExchangePosition,
    Instrument,
    NewFill,
    NewFunding,
    NewTransfer,
)
from crossmargin.symbols import SymbolError, canonical

T = TypeVar("T")
S = TypeVar("S", NewFill, NewFunding, Instrument, ExchangePosition)


def existing_keys(conn: Connection, account_id: int, table: str = "fill") -> set[str]:
    """Every dedupe key stored in ``table`` (fill, funding or transfer) for the account."""
    return {
        r[0]
        for r in conn.exec_driver_sql(
            f"SELECT dedupe_key FROM {table} WHERE account_id = ?", (account_id,)
        )
    }


def known_keys(conn: Connection, account_id: int, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" for _ in chunk)
        found.update(
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT dedupe_key FROM fill WHERE account_id = ? AND dedupe_key IN ({marks})",
                (account_id, *chunk),
            )
        )
    return found


def canonical_or_same(symbol: Any) -> Any:
    """The canonical (ccxt unified) name of ``symbol``, or ``symbol`` itself when it is not
    text or not a symbol (validation reports those)."""
    if not isinstance(symbol, str):
        return symbol
    try:
        return canonical(symbol)
    except SymbolError:
        return symbol


def canon(symbol: Any, where: str, problems: list[str]) -> Any:
    """``symbol`` in canonical form; a problem (and ``symbol`` unchanged) when unreadable."""
    if not isinstance(symbol, str) or not symbol.strip():
        return symbol  # the field validators say "empty"
    try:
        return canonical(symbol)
    except SymbolError as exc:
        problems.append(f"{where}.symbol: {exc}")
        return symbol


def canon_all(items: Sequence[S], where: str, problems: list[str]) -> list[S]:
    """``items`` with canonical symbols (one contract, one name: BTCUSDT = BTC/USDT:USDT)."""
    out = []
    for i, item in enumerate(items):
        sym = canon(item.symbol, f"{where}[{i}]", problems)
        out.append(item if sym == item.symbol else replace(item, symbol=sym))
    return out


def num_key(d: Decimal) -> str:
    n = d.normalize()
    return format(n, "f") if n == n.to_integral_value() or -30 < n.adjusted() < 30 else str(n)


def fill_dedupe_key(fill: NewFill) -> str:
    """``t:<symbol>:<trade id>`` when the exchange gave one, else a content hash."""
    if fill.trade_id:
        return f"t:{fill.symbol}:{fill.trade_id}"
    text = "|".join(
        (
            fill.symbol,
            fill.leg,
            str(datetime_to_micros(fill.time)),
            fill.side,
            num_key(fill.price),
            num_key(fill.amount),
            num_key(fill.fee),
            fill.fee_currency.upper(),
            fill.order_id or "",
        )
    )
    return "h:" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def numbered_keys(fills: Sequence[NewFill]) -> list[tuple[str, NewFill]]:
    """Each fill with its dedupe key; identical id-less fills in one batch get #0, #1, ..."""
    seen: dict[str, int] = {}
    out = []
    for f in fills:
        key = fill_dedupe_key(f)
        if not f.trade_id:
            n = seen.get(key, 0)
            seen[key] = n + 1
            key = f"{key}#{n}"
        out.append((key, f))
    return out


def funding_key(p: NewFunding) -> str:
    """``x:<symbol>:<exchange id>`` when the exchange gave one, else the payment's content."""
    if p.exchange_id:
        return f"x:{p.symbol}:{p.exchange_id}"
    return (
        f"h:{p.symbol}:{p.leg or ''}:{datetime_to_micros(p.time)}:"
        f"{num_key(p.amount)}:{p.currency.upper()}"
    )


def transfer_key(t: NewTransfer) -> str:
    """``x:<exchange id>`` when the exchange gave one, else the transfer's content."""
    if t.exchange_id:
        return f"x:{t.exchange_id}"
    return f"h:{datetime_to_micros(t.time)}:{t.currency.upper()}:{num_key(t.amount)}:{t.kind}"


def split_new(
    keyed: Iterable[tuple[str, T]], keys: set[str]
) -> tuple[list[tuple[str, T]], int]:
    """The (key, item) pairs whose key is not in ``keys`` yet (first occurrence wins) and
    how many were duplicates; ``keys`` gains every new key."""
    fresh: list[tuple[str, T]] = []
    dups = 0
    for key, item in keyed:
        if key in keys:
            dups += 1
            continue
        keys.add(key)
        fresh.append((key, item))
    return fresh, dups
