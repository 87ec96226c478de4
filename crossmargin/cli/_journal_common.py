"""Shared helpers of the journal CLI commands (``journal``, ``import``, ``export``, ``backup``).

Times typed on the command line without a zone are the user's local time; everything
is shown in local time and stored in UTC. Numbers are parsed as exact Decimals.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from crossmargin.errors import InputError


def db_parent() -> argparse.ArgumentParser:
    """A parent parser adding ``--db PATH`` to a leaf command."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--db", metavar="PATH", type=Path, default=None,
        help="journal file (default: journal.sqlite3 in the CrossMargin data folder)",
    )
    return p


#: The largest id SQLite stores (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def record_id(text: str) -> int:
    """An argparse ``type`` for position and fill ids: a whole number from 1 to 2**63-1."""
    s = text.strip()
    if not s.isdigit() or len(s) > 19 or not 1 <= int(s) <= MAX_ID:
        shown = s if len(s) <= 24 else s[:24] + "…"
        raise argparse.ArgumentTypeError(
            f"{shown!r} is not an id (a whole number such as 12; `crossmargin journal list` "
            "shows them)")
    return int(s)


def count_arg(text: str) -> int:
    """An argparse ``type`` for page sizes and page numbers: 1 to 1,000,000."""
    s = text.strip()
    if not s.isdigit() or len(s) > 7 or not 1 <= int(s) <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{s[:24]!r}: a whole number from 1 to 1000000")
    return int(s)


def open_journal(args: argparse.Namespace, *, create: bool = False) -> Any:
    from crossmargin.storage import Journal

    return Journal.open(args.db, create=create)


def dec(text: str | None, name: str, *, positive: bool = False, allow_none: bool = True
        ) -> Decimal | None:
    """An exact Decimal from a CLI value (:func:`crossmargin.numbers.parse_decimal`: the
    same reading as the app's forms), or InputError naming the option."""
    from crossmargin.numbers import NumberError, parse_decimal, show

    if text is None:
        if allow_none:
            return None
        raise InputError(f"{name}: required")
    try:
        value = parse_decimal(text.replace("_", ""))
    except NumberError as exc:
        raise InputError(f"{name}: {exc}") from None
    if positive and value <= 0:
        raise InputError(f"{name}: must be > 0, got {show(text)}")
    return value


def when(text: str | None, name: str) -> datetime | None:
    """ISO date/time (:func:`crossmargin.times.parse_time`); without a zone it is local
    time. ``None`` stays None."""
    from crossmargin.times import TimeError, parse_time

    if text is None:
        return None
    if isinstance(text, list):  # argparse hands `--from=--` over as ['--']
        text = " ".join(map(str, text))
    try:
        return parse_time(text)
    except TimeError as exc:
        raise InputError(f"{name}: {exc}") from None


def num(value: Decimal | None, places: int = 8) -> str:
    """Display form: at most ``places`` decimals, trailing zeros trimmed, never 1E+3."""
    if value is None:
        return "-"
    q = Decimal(1).scaleb(-places)
    if value.as_tuple().exponent < -places:  # type: ignore[operator]
        value = value.quantize(q, rounding=ROUND_HALF_EVEN)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_FIAT = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD", "TUSD", "DAI", "USDE", "EUR"})


def money(value: Decimal | None, currency: str) -> str:
    if value is None:
        return "-"
    places = 2 if currency.upper() in _FIAT else 8
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")


def local(dt: datetime | None) -> str:
    if dt is None:
        return "-"
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: set[int] | None = None
          ) -> str:
    rows = [list(r) for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    right = right or set()

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: _jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in obj]
    return obj


def dump_json(obj: Any) -> str:
    return json.dumps(_jsonable(obj), indent=2, ensure_ascii=False)
