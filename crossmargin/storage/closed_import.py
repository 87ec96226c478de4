"""Reading a closed-P&L export (one row per closed position) as closed positions.

The exchanges' position-history exports hold one row per closed position, or per
closing order: symbol, direction, average entry and exit price, the closed size and the
exchange's PnL. The journal derives positions from fills, so each row becomes the two
fills that give exactly that position: an opening fill at the entry price (at the open
time, or at the close time when the file has none) and a closing fill at the exit price
(at the close time). The net PnL of the journal's position is the file's PnL to the
last digit: when the file has no fee column, the difference between the price PnL and
the file's PnL (the exchange's fees, and any funding it counted) is stored as the
closing fill's fee and said so in its note.

Where the columns come from (names compared ignoring case and spacing):

* Bybit closed P&L (``GET /v5/position/closed-pnl``, recorded in
  ``tests/fixtures/ccxt/bybit.response.subset.json``; the web export names the same
  fields ``Contracts``, ``Qty``, ``Entry Price``, ``Exit Price``, ``Closed P&L``,
  ``Trade Time``). Bybit's ``side`` is the *closing* order's side: ``Sell`` closed a
  long (ccxt reads the recorded row as a long). ``closedPnl`` is net of the opening and
  closing fees (the recorded row: (55563 − 55937.5) × 0.001 − 0.055 % of both values =
  −0.43582528).
* Binance Position History (USDⓈ-M and COIN-M; fields as its FAQ lists them: Symbol,
  Margin Mode, Side (Long/Short), Open Time, Close Time, Entry Price, Average Closing
  Price, Max Open Interest, Closed Vol., Closing PNL).
* OKX position history (``GET /api/v5/account/positions-history`` field names:
  ``instId``, ``direction``, ``openAvgPx``, ``closeAvgPx``, ``closeTotalPos``,
  ``realizedPnl``, ``fee``, ``cTime``, ``uTime``).

These column names are taken from the exchanges' API fields and help pages, not from a
downloaded export file; a file that names a column differently is read with ``--map
FIELD=COLUMN`` (fields below). Each row is its own closed position: two rows for two
partial closes of one exchange position are two journal positions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from crossmargin.errors import InputError
from crossmargin.storage.records import NewFill, RejectedRow
from crossmargin.symbols import SymbolError, canonical

#: Fields of a closed-position row; the first alias present in the header wins.
CLOSED_ALIASES: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol", "contracts", "contract", "instrument", "instid", "pair"),
    "side": ("side", "direction", "closing direction", "trade type", "position side",
             "posside"),
    "entry_price": ("entry price", "avg. entry price", "avg entry price",
                    "average entry price", "avgentryprice", "openavgpx", "open avg price",
                    "avg. open price", "open price"),
    "exit_price": ("exit price", "avg. exit price", "avg exit price", "avgexitprice",
                   "average closing price", "avg. closing price", "avg. close price",
                   "avg close price", "closeavgpx", "closing price", "close price"),
    "size": ("closed size", "closedsize", "closed vol.", "closed vol", "closed volume",
             "closed qty", "closed quantity", "closetotalpos", "closed position size", "qty",
             "quantity", "size", "max open interest"),
    "pnl": ("closed p&l", "closedpnl", "closed pnl", "closing pnl", "closing p&l",
            "realized pnl", "realizedpnl", "realized p&l", "realised pnl", "pnl"),
    "fee": ("fee", "fees", "trading fee", "cumexecfee", "total fee"),
    "open_time": ("open time", "open time(utc)", "opened", "opened at", "ctime"),
    "close_time": ("close time", "close time(utc)", "closed at", "trade time(utc+0)",
                   "trade time(utc)", "trade time", "updatedtime", "utime", "time",
                   "date(utc)", "createdtime"),
    "order_id": ("order id", "orderid", "position id", "posid", "id"),
}
CLOSED_REQUIRED = ("symbol", "side", "entry_price", "exit_price", "size", "pnl", "close_time")


def looks_closed(normalized_headers: Sequence[str]) -> bool:
    """A header with an entry price, an exit price and a PnL column: a closed-P&L export."""
    names = set(normalized_headers)
    return all(names & set(CLOSED_ALIASES[f]) for f in ("entry_price", "exit_price", "pnl"))


def closed_columns(normalized: Sequence[str], headers: Sequence[str],
                   mapping: Mapping[str, str] | None) -> dict[str, int]:
    """Field → column index, or InputError naming each missing field."""
    out: dict[str, int] = {}
    problems: list[str] = []
    for name, column in (mapping or {}).items():
        if name not in CLOSED_ALIASES:
            problems.append(f"--map {name}=...: not a field of a closed-P&L file; fields are "
                            f"{', '.join(CLOSED_ALIASES)}")
        elif " ".join(column.strip().lower().split()) not in normalized:
            problems.append(f"--map {name}={column}: no such column; the file has: "
                            f"{', '.join(headers)}")
        else:
            out[name] = list(normalized).index(" ".join(column.strip().lower().split()))
    for name, aliases in CLOSED_ALIASES.items():
        if name in out:
            continue
        for alias in aliases:
            if alias in normalized and list(normalized).index(alias) not in out.values():
                out[name] = list(normalized).index(alias)
                break
    for name in CLOSED_REQUIRED:
        if name not in out:
            problems.append(f"closed-P&L file: no column for '{name}' (looked for: "
                            f"{', '.join(CLOSED_ALIASES[name])}); the file has: "
                            f"{', '.join(headers)}; pick it with --map {name}=COLUMN")
    if problems:
        raise InputError(problems)
    return out


#: A row's direction → the position's side. Bare buy/sell is the closing order's side
#: (Bybit's closed P&L): a sell closed a long.
_DIRECTIONS = {"long": "long", "short": "short", "close long": "long",
               "close short": "short", "sell": "long", "buy": "short",
               "close buy": "short", "close sell": "long"}


@dataclass(frozen=True, slots=True)
class ClosedRow:
    """One row read: the opening and closing fill of its position."""

    opening: NewFill
    closing: NewFill


Number = Callable[[str, str], tuple[Decimal, str]]
Time = Callable[[str], datetime]


def read_closed_row(row: Sequence[str], cols: Mapping[str, int], number: Number,
                    read_time: Time, fee_paid_is_negative: bool = False) -> ClosedRow:
    """The two fills of one row; ValueError naming every bad cell."""
    cell = {name: (row[i].strip() if i < len(row) else "") for name, i in cols.items()}
    problems: list[str] = []
    side = _DIRECTIONS.get(" ".join(cell["side"].lower().split()))
    if side is None:
        problems.append(f"side: expected long/short (or the closing order's buy/sell), got "
                        f"{cell['side']!r}")
    symbol = cell["symbol"]
    try:
        symbol = canonical(symbol) if symbol else ""
        if not symbol:
            problems.append("symbol: empty")
    except SymbolError as exc:
        problems.append(f"symbol: {exc}")
    values: dict[str, Decimal] = {}
    for name in ("entry_price", "exit_price", "size", "pnl", "fee"):
        text = cell.get(name, "")
        if not text:
            if name != "fee":
                problems.append(f"{name}: empty")
            continue
        try:
            values[name] = number(text, name)[0]
        except ValueError as exc:
            problems.append(str(exc))
    for name in ("entry_price", "exit_price"):
        if name in values and values[name] <= 0:
            problems.append(f"{name}: must be > 0, got {values[name]}")
    if "size" in values and values["size"] == 0:
        problems.append("size: must not be 0")
    times: dict[str, datetime] = {}
    for name in ("open_time", "close_time"):
        text = cell.get(name, "")
        if not text:
            if name == "close_time":
                problems.append("close_time: empty")
            continue
        try:
            times[name] = read_time(text)
        except (ValueError, OverflowError) as exc:
            problems.append(f"{name}: cannot read {text!r} as a date/time ({exc})")
    if problems:
        raise ValueError("; ".join(problems))
    closed = times["close_time"]
    opened = times.get("open_time", closed)
    if opened > closed:
        raise ValueError(f"open_time: {opened.isoformat()} is after the close time "
                         f"{closed.isoformat()}")
    size = abs(values["size"])
    entry, exit_ = values["entry_price"], values["exit_price"]
    direction = 1 if side == "long" else -1
    gross = (exit_ - entry) * size * direction
    pnl = values["pnl"]
    order = cell.get("order_id") or None
    if "fee" in values:
        fee = -values["fee"] if fee_paid_is_negative else values["fee"]
        note = "from a closed-P&L export"
    else:
        fee = gross - pnl  # what the exchange charged: its PnL is net of it
        note = "from a closed-P&L export; fee = price PnL − the exchange's PnL"
    open_side, close_side = ("buy", "sell") if side == "long" else ("sell", "buy")
    opening = NewFill(symbol=symbol, side=open_side, price=entry, amount=size, time=opened,
                      trade_id=f"{order}:open" if order else None, order_id=order,
                      note="from a closed-P&L export")
    closing = NewFill(symbol=symbol, side=close_side, price=exit_, amount=size,
                      time=closed,
                      fee=fee, trade_id=f"{order}:close" if order else None, order_id=order,
                      note=note, realized_pnl=None)
    return ClosedRow(opening, closing)


def read_closed_rows(body: Sequence[tuple[int, list[str]]], cols: Mapping[str, int],
                     number: Number, read_time: Time, fee_paid_is_negative: bool = False,
                     ) -> tuple[list[tuple[int, NewFill]], list[RejectedRow]]:
    """Every row's two fills (with the row's line number), and the rejected rows."""
    good: list[tuple[int, NewFill]] = []
    bad: list[RejectedRow] = []
    for line, row in body:
        try:
            read = read_closed_row(row, cols, number, read_time, fee_paid_is_negative)
        except ValueError as exc:
            bad.append(RejectedRow(line, str(exc)))
            continue
        good.extend(((line, read.opening), (line, read.closing)))
    return good, bad


#: Header names that say whose closed-P&L export a file is (normalised).
_WHOSE = {
    "bybit": ("closed p&l", "closedpnl", "avgentryprice", "avgexitprice", "closedsize"),
    "binance": ("closing pnl", "average closing price", "closed vol.", "max open interest"),
    "okx": ("openavgpx", "closeavgpx", "instid", "closetotalpos", "realizedpnl"),
}


def closed_reason(normalized: Sequence[str]) -> tuple[str, bool]:
    """(what the import preview says it read, whether fees are written negative)."""
    names = set(normalized)
    scores = {ex: sorted(names & set(sig)) for ex, sig in _WHOSE.items()}
    best = max(scores, key=lambda ex: len(scores[ex]))
    whose = f"{best} " if scores[best] else ""
    return (f"closed positions ({whose}closed-P&L export): each row becomes one closed "
            "position, an opening and a closing fill", best == "okx" and bool(scores[best]))
