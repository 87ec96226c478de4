"""Reading fills from CSV files: column-mapping presets, validation with line numbers.

Pure parsing (no database): :func:`parse_fills_csv` returns the valid fills with their
line numbers and a :class:`~crossmargin.storage.records.RejectedRow` for every bad row;
:meth:`crossmargin.storage.journal.Journal.import_fills_csv` stores them.

Fields and what each preset looks for (header match ignores case and spacing; the first
alias present wins; ``mapping`` overrides any field with an exact column name):

* required: ``time``, ``symbol``, ``side``, ``price``, ``amount`` (contracts);
* optional: ``fee`` (> 0 paid), ``fee_currency``, ``trade_id``, ``order_id``, ``leg``
  (hedge-mode position side: LONG/SHORT/BOTH).

Presets: ``generic`` (common names: time, symbol, side, price, amount/qty, fee, ...),
``binance`` (USDⓈ-M/COIN-M "Trade History" export: ``Date(UTC)``, ``Symbol``, ``Side``,
``Price``, ``Quantity``, ``Fee``/``Fee Coin``; Binance's ``Amount`` column is the quote
value and is *not* used as size), ``bybit`` (derivatives trade history: ``Contracts``,
``Filled Price``, ``Filled Qty``/``Qty``, ``Trading Fee``, ``Transaction ID``,
``Order No.``, ``Trade Time(UTC)``), ``okx`` (trade history: ``Instrument``, ``Action``,
``Price``, ``Amount``/``Fill size``, ``Fee``, ``Fee unit``, ``Trade ID``; OKX writes fees
paid as negative numbers, so this preset flips the sign). Exchanges rename columns from
time to time; when a preset does not match, the error lists the file's headers and
``--map field=Column`` (``mapping=``) fixes it without code.

A closed-P&L export (one row per closed position: entry price, exit price and PnL
columns) is detected from its header and read by :mod:`.closed_import` (preset
``closed``): each row becomes one closed position, an opening and a closing fill.

Values: times in ISO 8601 (``2024-05-01T12:00:00Z``, ``2024-05-01 12:00:00``; no zone
means UTC) or epoch seconds/milliseconds; numbers may carry a currency suffix
(``0.0123 USDT``, ``0.001BTC``: the suffix becomes the fee currency); sides
``buy``/``sell`` or ``open long``/``close long``/``open short``/``close short`` (which
also set the hedge leg).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path

from crossmargin.errors import InputError
from crossmargin.numbers import MAX_TEXT, NumberError, check_bounds, parse_decimal, show
from crossmargin.storage.closed_import import (
    closed_columns,
    closed_reason,
    looks_closed,
    read_closed_rows,
)
from crossmargin.storage.records import NewFill, RejectedRow
from crossmargin.symbols import SymbolError, canonical

FIELDS = (
    "time",
    "symbol",
    "side",
    "price",
    "amount",
    "fee",
    "fee_currency",
    "trade_id",
    "order_id",
    "leg",
    "realized_pnl",
)
REQUIRED = ("time", "symbol", "side", "price", "amount")


@dataclass(frozen=True, slots=True)
class Preset:
    """Column aliases per field (first present wins) and how the exchange signs fees."""

    name: str
    aliases: Mapping[str, tuple[str, ...]]
    fee_paid_is_negative: bool = False
    description: str = ""


_GENERIC = {
    "time": ("time", "date", "datetime", "timestamp", "date(utc)", "time(utc)", "trade time"),
    "symbol": ("symbol", "pair", "market", "instrument", "contract", "contracts"),
    "side": ("side", "direction", "action"),
    "price": ("price", "fill price", "filled price", "exec price", "avg price"),
    # a size, never a quote value: "amount" only when no size column exists (Binance's
    # "Amount" is price × quantity); see resolve_columns
    "amount": ("quantity", "qty", "size", "filled qty", "filled quantity", "filled",
               "executed", "amount"),
    "fee": ("fee", "fees", "commission", "trading fee"),
    "fee_currency": (
        "fee_currency",
        "fee currency",
        "fee coin",
        "fee asset",
        "commission asset",
        "fee unit",
        "fee ccy",
    ),
    "trade_id": ("trade_id", "trade id", "tradeid", "exec id", "transaction id", "fill id", "id"),
    "order_id": ("order_id", "order id", "orderid", "order no.", "order no"),
    "leg": ("leg", "position side", "positionside", "position_side"),
    "realized_pnl": ("realized_pnl", "realized pnl", "realized profit", "realizedpnl",
                     "closed pnl", "fill pnl"),
}

PRESETS: dict[str, Preset] = {
    "generic": Preset("generic", _GENERIC, description="time,symbol,side,price,amount,fee,..."),
    "binance": Preset(
        "binance",
        {
            "time": ("date(utc)", "time(utc)", "date", "time"),
            "symbol": ("symbol", "pair"),
            "side": ("side",),
            "price": ("price",),
            "amount": ("quantity", "executed", "qty", "size"),
            "fee": ("fee", "commission"),
            "fee_currency": ("fee coin", "fee asset", "commission asset", "fee currency"),
            "trade_id": ("trade id", "tradeid", "id"),
            "order_id": ("order id", "orderid", "order no"),
            "leg": ("position side", "positionside"),
            "realized_pnl": ("realized profit", "realized pnl", "realizedpnl"),
        },
        description="Binance futures 'Trade History' export (Date(UTC), Symbol, Side, ...)",
    ),
    "bybit": Preset(
        "bybit",
        {
            "time": (
                "trade time(utc)",
                "trade time(utc+0)",
                "trade time",
                "filled time",
                "transaction time",
                "exec time",
                "timestamp (utc)",
                "update time",
                "create time",
                "date(utc)",
                "time",
            ),
            "symbol": ("contracts", "symbol", "pair"),
            "side": ("side", "direction", "trade type"),
            "price": ("filled price", "exec price", "trade price", "avg. fill price",
                      "avg fill price", "price"),
            "amount": ("filled qty", "filled quantity", "exec qty", "qty", "quantity"),
            "fee": ("trading fee", "exec fee", "fees", "fee"),
            "fee_currency": ("fee currency", "fee asset", "fee coin"),
            "trade_id": ("transaction id", "exec id", "trade id"),
            "order_id": ("order no.", "order id", "order number"),
            "leg": ("position side",),
        },
        description="Bybit derivatives trade history (Contracts, Filled Price, Filled Qty, ...)",
    ),
    "okx": Preset(
        "okx",
        {
            "time": ("time", "fill time", "trade time"),
            "symbol": ("instrument", "instrument id", "symbol"),
            "side": ("action", "side"),
            "price": ("fill price", "filled price", "price"),
            "amount": ("fill size", "filled", "amount", "size", "quantity"),
            "fee": ("fee", "trading fee"),
            "fee_currency": ("fee unit", "fee currency", "fee ccy"),
            "trade_id": ("trade id", "fill id"),
            "order_id": ("order id",),
            "leg": ("position side", "posside"),
        },
        fee_paid_is_negative=True,
        description="OKX trade history (Instrument, Action, Price, Amount, Fee, Fee unit, ...)",
    ),
}

#: Every ``preset`` a file can be read with: the fill presets, and ``closed`` for a
#: closed-P&L export (one row per closed position; :mod:`.closed_import`).
PRESET_NAMES = (*PRESETS, "closed")

_SIDES = {
    "buy": ("buy", None),
    "sell": ("sell", None),
    "b": ("buy", None),
    "s": ("sell", None),
    "open long": ("buy", "long"),
    "close long": ("sell", "long"),
    "open short": ("sell", "short"),
    "close short": ("buy", "short"),
    "buy/open long": ("buy", "long"),
    "sell/close long": ("sell", "long"),
    "sell/open short": ("sell", "short"),
    "buy/close short": ("buy", "short"),
}
_ZERO = Decimal(0)
_LEGS = {"long": "long", "short": "short", "both": "net", "net": "net", "": "net"}
_NUM_SUFFIX = re.compile(r"^\s*([-+]?[0-9][0-9.,]*(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def _norm(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").strip().lower().split())


#: Header names only one exchange's export uses (normalised), for :func:`detect_preset`.
_SIGNATURES = {
    "binance": ("realized profit", "fee coin", "quote asset", "date(utc)", "quantity"),
    "bybit": ("contracts", "filled price", "filled qty", "exec fee", "avg. fill price",
              "filled quantity", "trade time(utc)", "order no.", "exec type"),
    "okx": ("instrument", "action", "fee unit", "fill price", "fill size", "instrument id"),
}


def detect_preset(headers: list[str]) -> tuple[str, str]:
    """(preset, why) for a file's header: the exchange whose export's own column names
    it carries most (at least two), else ``generic``."""
    names = {_norm(h) for h in headers}
    scores = {p: sorted(names & set(sig)) for p, sig in _SIGNATURES.items()}
    best = max(scores, key=lambda p: len(scores[p]))
    if len(scores[best]) >= 2:
        return best, f"{best} (its columns {', '.join(scores[best][:4])})"
    return "generic", "generic (no exchange's export columns recognised)"


def columns_note(preset: str, reason: str) -> str:
    """The sentence an import report shows about how the file's columns were read
    ("" when the user chose the preset)."""
    if not reason or reason == "given":
        return ""
    if preset == "closed":
        return f"Read as {reason.removeprefix('given: ')}."
    return f"Columns read as the {reason} export."


def resolve_columns(
    headers: list[str], preset: Preset, mapping: Mapping[str, str] | None
) -> dict[str, int]:
    """Field → column index for this file, or InputError naming what is missing."""
    normalized = [_norm(h) for h in headers]
    out: dict[str, int] = {}
    problems: list[str] = []
    for name, column in (mapping or {}).items():
        if name not in FIELDS:
            problems.append(f"--map {name}=...: unknown field; fields are {', '.join(FIELDS)}")
            continue
        key = _norm(column)
        if key not in normalized:
            problems.append(
                f"--map {name}={column}: no such column; the file has: {', '.join(headers)}"
            )
            continue
        out[name] = normalized.index(key)
    for name in FIELDS:
        if name in out or (mapping and name in mapping):
            continue
        for alias in preset.aliases.get(name, ()):
            if alias in normalized and normalized.index(alias) not in out.values():
                out[name] = normalized.index(alias)
                break

    for name in REQUIRED:
        if name not in out and not (mapping and name in mapping):
            problems.append(
                f"column for '{name}' not found with preset '{preset.name}' "
                f"(looked for: {', '.join(preset.aliases.get(name, ()))}); the file has: "
                f"{', '.join(headers)}; pick the column with --map {name}=COLUMN"
            )
    if problems:
        raise InputError(problems)
    return out


def parse_time(text: str, naive_tz: tzinfo = UTC) -> datetime:
    """ISO 8601 or epoch seconds / milliseconds / microseconds, returned in UTC.

    A time written without a zone is taken in ``naive_tz`` (UTC unless the export is in
    another zone, e.g. an OKX export in UTC+8)."""
    from crossmargin.times import parse_time as read_time  # TimeError is a ValueError

    if not text.strip():
        raise ValueError("empty")
    return read_time(text, naive=naive_tz).astimezone(UTC)


def parse_number(text: str, name: str, decimal: str = ".") -> tuple[Decimal, str]:
    """A decimal with an optional currency suffix ("0.01 USDT" → (0.01, "USDT")), read
    with ``decimal`` as the file's decimal separator (the other one may only group
    thousands): :func:`crossmargin.numbers.parse_decimal`, the CLI's and the app's reading.
    """
    m = _NUM_SUFFIX.match(text)
    if not m:
        raise ValueError(f"{name}: not a number: {show(text)}")
    digits, suffix = m.group(1), m.group(2).upper()
    try:
        value = parse_decimal(digits, decimal=decimal, thousands="," if decimal == "." else ".")
    except NumberError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return value, suffix


#: A number that can only be read with a decimal point / a decimal comma.
_DOT_ONLY = re.compile(r"^[-+]?(\d*\.\d{1,2}|\d*\.\d{4,}|\d{1,3}(,\d{3})+\.\d*|\d+\.\d+\.\d*)"
                       r"([eE][-+]?\d+)?$")
_COMMA_ONLY = re.compile(r"^[-+]?(\d*,\d{1,2}|\d*,\d{4,}|\d{1,3}(\.\d{3})+,\d*)$")


def detect_decimal(cells: Iterable[tuple[int, str]]) -> tuple[str | None, str]:
    """The decimal separator a file's number cells prove, once per file.

    ``cells``: (line, text). A cell proves '.' (``0.5``, ``1,234.56``, ``3000.1234``) or
    ',' (``0,5``, ``1.234,56``) when it can be read only one way; ``1,234`` or ``0.123``
    prove nothing. Returns (separator or None when nothing decides, how it was decided);
    raises InputError when cells prove both (naming a line of each)."""
    dot = comma = None
    for line, text in cells:
        m = _NUM_SUFFIX.match(text)
        digits = m.group(1) if m else text.strip()
        if dot is None and _DOT_ONLY.match(digits):
            dot = (line, digits)
        elif comma is None and _COMMA_ONLY.match(digits):
            comma = (line, digits)
        if dot and comma:
            raise InputError(
                f"the file mixes decimal separators: line {dot[0]} reads {dot[1]!r} with a "
                f"decimal point, line {comma[0]} reads {comma[1]!r} with a decimal comma; "
                "fix the file, or choose one with --decimal . or --decimal ,"
            )
    if dot:
        return ".", f"decimal point (line {dot[0]}: {dot[1]})"
    if comma:
        return ",", f"decimal comma (line {comma[0]}: {comma[1]})"
    return None, "no number in the file needs a decimal separator"


@dataclass(frozen=True, slots=True)
class ParsedCsv:
    """Valid fills (with their 1-based line numbers), rejected rows, and the row count."""

    fills: tuple[tuple[int, NewFill], ...]
    rejected: tuple[RejectedRow, ...]
    rows: int
    decimal: str = "."  # the decimal separator every cell was read with ("" if undecided)
    decimal_reason: str = ""  # how it was chosen (shown by the import preview)
    preset: str = ""  # the preset the columns were read with (auto: the one detected)
    preset_reason: str = ""  # "given", or what in the header picked it


def _number(text: str, name: str, decimal: str | None = ".") -> tuple[Decimal, str]:
    """One cell, read with the file's decimal separator (``None``: the file proves none,
    so a cell whose reading depends on it is refused rather than guessed). Fast path: a
    plain integer or dotted number is one Decimal() call."""
    if decimal is None:  # no cell decided: any separator here could be read two ways
        if "," in text or "." in text:
            raise ValueError(
                f"{name}: {show(text)} can be read with a decimal point or a decimal comma, "
                "and no other number in the file says which; give --decimal . or --decimal ,"
            )
        decimal = "."
    if decimal == "." and "," not in text and len(text) <= MAX_TEXT:
        try:
            value = Decimal(text)
        except InvalidOperation:
            return parse_number(text, name, decimal)
        if not value.is_finite():
            raise ValueError(f"{name}: not a finite number: {show(text)}")
        try:
            return check_bounds(value, show(text)), ""
        except NumberError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return parse_number(text, name, decimal)


def _row_to_fill(
    row: list[str],
    idx: tuple[int, ...],
    preset: Preset,
    naive_tz: tzinfo = UTC,
    decimal: str | None = ".",
) -> NewFill:
    n = len(row)
    (
        time_text,
        symbol,
        side_raw,
        price_text,
        amount_text,
        fee_text,
        fee_cur,
        trade_id,
        order_id,
        leg_raw,
        pnl_text,
    ) = [row[i].strip() if 0 <= i < n else "" for i in idx]
    texts = {"price": price_text, "amount": amount_text, "fee": fee_text, "realized_pnl": pnl_text}
    problems: list[str] = []
    try:
        time = parse_time(time_text, naive_tz)
    except (ValueError, OverflowError) as exc:
        problems.append(f"time: cannot read {time_text!r} as a date/time ({exc})")
        time = None
    if not symbol:
        problems.append("symbol: empty")
    else:
        try:
            symbol = canonical(symbol)  # one contract, one name: BTCUSDT = BTC/USDT:USDT
        except SymbolError as exc:
            problems.append(f"symbol: {exc}")
    side_leg = _SIDES.get(side_raw.lower()) or _SIDES.get(_norm(side_raw))
    if side_leg is None:
        problems.append(f"side: expected buy/sell (or open/close long/short), got {side_raw!r}")
    values: dict[str, Decimal] = {}
    suffixes: dict[str, str] = {}
    for name in ("price", "amount", "fee", "realized_pnl"):
        text = texts[name]
        if not text:
            if name in ("price", "amount"):
                problems.append(f"{name}: empty")
            continue
        try:
            values[name], suffixes[name] = _number(text, name, decimal)
        except ValueError as exc:
            problems.append(str(exc))
    price = values.get("price")
    amount = values.get("amount")
    if price is not None and price <= 0:
        problems.append(f"price: must be > 0, got {price}")
    if amount is not None and amount == 0:
        problems.append("amount: must not be 0")
    leg = _LEGS.get(leg_raw.lower()) if leg_raw else "net"
    if leg is None:
        problems.append(f"leg: expected LONG, SHORT or BOTH, got {leg_raw!r}")
    if problems:
        raise ValueError("; ".join(problems))
    assert time is not None and side_leg is not None and price is not None
    assert amount is not None and leg is not None
    side, side_implied_leg = side_leg
    if side_implied_leg is not None and leg == "net":
        leg = side_implied_leg
    fee = values.get("fee", _ZERO)
    if preset.fee_paid_is_negative:
        fee = -fee
    fee_currency = (fee_cur or suffixes.get("fee", "")).upper()
    return NewFill(
        symbol=symbol,
        side=side,
        price=price,
        amount=abs(amount),
        time=time,
        fee=fee,
        fee_currency=fee_currency,
        trade_id=trade_id or None,
        order_id=order_id or None,
        leg=leg,
        realized_pnl=values.get("realized_pnl"),
    )


#: The fields read as numbers (their cells decide the file's decimal separator).
_NUMERIC = ("price", "amount", "fee", "realized_pnl")


def parse_fills_rows(
    rows: Iterable[list[str]],
    *,
    preset: str = "auto",
    mapping: Mapping[str, str] | None = None,
    first_line: int = 1,
    naive_tz: tzinfo = UTC,
    decimal: str | None = None,
) -> ParsedCsv:
    """Parse rows (the first is the header) into fills and rejected rows.

    ``decimal``: the file's decimal separator ('.' or ','); ``None`` detects it once from
    the number cells (:func:`detect_decimal`). Every cell is then read with it; a cell
    that does not fit, or that could be read both ways when nothing decides, is a
    rejected row naming its line."""
    if preset not in ("auto", *PRESET_NAMES):
        raise InputError(f"--preset {preset}: unknown preset; choose auto or one of "
                         f"{', '.join(PRESET_NAMES)}")
    if decimal not in (None, ".", ","):
        raise InputError(f"--decimal: '.' or ',' (the file's decimal separator), got {decimal!r}")
    it = iter(rows)
    header = next(it, None)
    if header is None or not any(h.strip() for h in header):
        raise InputError("the CSV file is empty (no header row)")
    normalized = [_norm(h) for h in header]
    closed = preset == "closed" or (preset == "auto" and looks_closed(normalized))
    preset_reason = "given"
    if closed:
        cols = closed_columns(normalized, header, mapping)
        numeric = [cols[n] for n in ("entry_price", "exit_price", "size", "pnl", "fee")
                   if n in cols]
    else:
        if preset == "auto":
            preset, preset_reason = detect_preset(header)
        chosen = PRESETS[preset]
        cols = resolve_columns(header, chosen, mapping)
        idx = tuple(cols.get(name, -1) for name in FIELDS)
        numeric = [cols[n] for n in _NUMERIC if n in cols]
    body: list[tuple[int, list[str]]] = []
    line = first_line
    reader_line = getattr(rows, "line_num", None)
    for row in it:
        line = rows.line_num if reader_line is not None else line + 1  # type: ignore[attr-defined]
        if row and any(c.strip() for c in row):
            body.append((line, row))
    how = "given"
    if decimal is None:
        decimal, how = detect_decimal(
            (ln, row[i].strip()) for ln, row in body for i in numeric if i < len(row)
        )
    if closed:
        reason, fee_negative = closed_reason(normalized)
        sep = decimal
        good, bad = read_closed_rows(body, cols, lambda t, n: _number(t, n, sep),
                                     lambda t: parse_time(t, naive_tz), fee_negative)
        return ParsedCsv(tuple(good), tuple(bad), len(body), decimal or "", how, "closed",
                         reason if preset == "auto" else f"given: {reason}")
    good = []
    bad = []
    for ln, row in body:
        try:
            good.append((ln, _row_to_fill(row, idx, chosen, naive_tz, decimal)))
        except ValueError as exc:
            bad.append(RejectedRow(ln, str(exc)))
    return ParsedCsv(tuple(good), tuple(bad), len(body), decimal or "", how, preset,
                     preset_reason)


def parse_fills_csv(
    path: Path | str,
    *,
    preset: str = "auto",
    mapping: Mapping[str, str] | None = None,
    naive_tz: tzinfo = UTC,
    decimal: str | None = None,
) -> ParsedCsv:
    """Read a CSV file (UTF-8, BOM tolerated, at most :data:`~crossmargin.inputs.CSV_LIMIT`;
    delimiter sniffed among , ; tab; the decimal separator detected once for the whole
    file, or ``decimal``)."""
    from crossmargin.inputs import CSV_LIMIT, read_text

    p = Path(path)
    text = read_text(p, limit=CSV_LIMIT, what="CSV export")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return parse_fills_rows(reader, preset=preset, mapping=mapping, naive_tz=naive_tz,
                                decimal=decimal)
    except csv.Error as exc:
        raise InputError(f"{p}: line {reader.line_num}: malformed CSV ({exc})") from None


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["price=Avg Price", ...]`` → ``{"price": "Avg Price"}`` (CLI ``--map``)."""
    out: dict[str, str] = {}
    problems: list[str] = []
    for item in items:
        name, sep, column = item.partition("=")
        if not sep or not name.strip() or not column.strip():
            problems.append(f"--map {item}: expected FIELD=COLUMN, e.g. price='Avg Price'")
            continue
        out[name.strip().lower()] = column.strip()
    if problems:
        raise InputError(problems)
    return out


def parse_zone(text: str) -> tzinfo:
    """``UTC``, ``+08:00`` / ``-05:30`` or an IANA name (``Asia/Singapore``) → tzinfo."""
    t = text.strip()
    if t.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?", t, flags=re.IGNORECASE)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        if minutes > 14 * 60:
            raise InputError(f"--tz {text}: offset out of range (at most ±14:00)")
        return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(t)
    except (ValueError, KeyError, OSError):
        raise InputError(
            f"--tz {text}: unknown time zone; use UTC, an offset like +08:00, or a name like "
            "Asia/Singapore"
        ) from None
