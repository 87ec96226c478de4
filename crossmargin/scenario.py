"""Scenario files: one margin account as JSON (format ``crossmargin.scenario/1``).

A scenario is an :class:`~crossmargin.domain.AccountState` written down: the CLI
reads it, the desktop app opens and saves it, synced accounts export to it.

Format
------
::

    {"format": "crossmargin.scenario/1", "label": "main account",
     "rules": "binance", "settle": "USDT", "wallet_balance": "10000",
     "taker_fee_rate": "0.0005",
     "positions": [{"id": "btc", "symbol": "BTC/USDT:USDT", "side": "long",
        "contracts": "0.5", "contract_size": "1", "inverse": false,
        "entry_price": "60000", "mark_price": "61000", "leverage": "10",
        "margin_mode": "cross", "isolated_margin": null}],
     "tiers": {"BTC/USDT:USDT": [{"min_notional": "0", "max_notional": "50000",
        "maintenance_margin_rate": "0.004", "maintenance_amount": "0",
        "max_leverage": "125"}]},
     "betas": {"ETH/USDT:USDT": "1.2"}}

* Numbers are decimal strings (``"0.004"``); plain JSON numbers are accepted too
  and read exactly (never through ``float``). :func:`dumps_scenario` always writes
  strings, in plain positional notation.
* Amounts (wallet, isolated margins, tier bounds for linear contracts) are in the
  settlement currency ``settle``; inverse contracts settle in their base coin.
* ``isolated_margin`` is an isolated position's own wallet; ``null`` means the
  initial margin at entry (contracts × contract size × entry price / leverage,
  or ÷ entry price for inverse contracts).
* Hedge mode is two positions with the same symbol and opposite sides.
* Every symbol needs a tier table, except under the ``generic`` rules for a
  position that carries its own ``maintenance_margin_rate`` (and under the
  ``hyperliquid`` rules for a position with its own ``max_leverage``). Tiers are
  ordered and contiguous from 0; only the last may have ``max_notional: null``.
  Bounds are notional in the settlement currency, except under the ``okx`` rules,
  where they are position sizes (contracts × contract size; see
  :func:`crossmargin.sync.tier_tables.okx_tiers`). A missing ``maintenance_amount`` is
  derived with Binance's recursion.

Loading validates everything and reports *all* problems at once, one line each,
naming the field path (``positions[2].leverage: must be > 0, got -5``), by raising
:class:`~crossmargin.errors.InputError`.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from crossmargin.domain import (
    ONE,
    ZERO,
    AccountState,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Side,
    Tier,
)
from crossmargin.errors import InputError
from crossmargin.inputs import JSON_LIMIT, read_text
from crossmargin.numbers import NumberError, check_bounds, plain, show

__all__ = [
    "FORMAT",
    "dump_scenario",
    "dumps_scenario",
    "format_decimal",
    "load_scenario",
    "loads_scenario",
    "parse_scenario",
    "save_scenario",
    "validate_state",
]

FORMAT = "crossmargin.scenario/1"
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


# --------------------------------------------------------------------------- reading


def _decode_json(text: str, source: str) -> object:
    """Parse JSON exactly (numbers as Decimal); report syntax errors and duplicate keys."""
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(key)
            out[key] = value
        return out

    prefix = f"{source}: " if source else ""
    try:
        data = json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=Decimal,
            object_pairs_hook=pairs,
        )
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{prefix}not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InputError(f"{prefix}not valid JSON: nested too deeply") from None
    if duplicates:
        raise InputError(
            [
                f"{prefix}key {key!r} appears twice in one object (remove one of them)"
                for key in dict.fromkeys(duplicates)
            ]
        )
    return data


def loads_scenario(text: str | bytes, *, source: str = "") -> AccountState:
    """Parse a scenario from JSON text; ``source`` names it in syntax-error messages.

    Raises :class:`InputError` listing every problem.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            prefix = f"{source}: " if source else ""
            raise InputError(
                f"{prefix}not a text file in UTF-8 (bad byte at offset {exc.start}); "
                "scenario files are UTF-8 JSON"
            ) from None
    return parse_scenario(_decode_json(text, source))


def load_scenario(path: str | os.PathLike[str]) -> AccountState:
    """Read and validate the scenario file at ``path``.

    Raises :class:`InputError` (file missing or unreadable, malformed JSON, invalid fields).
    """
    p = Path(path)
    return loads_scenario(read_text(p, limit=JSON_LIMIT, what="scenario file"), source=str(p))


def parse_scenario(data: object) -> AccountState:
    """Build an :class:`AccountState` from decoded JSON (numbers as Decimal, str or int).

    Validates every field and every cross-field rule; raises :class:`InputError`
    with one line per problem.
    """
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise InputError(f"a scenario must be a JSON object, got {_show(data)}")

    fmt = data.get("format")
    if fmt is None:
        problems.add("format", f'missing (expected "{FORMAT}")')
    elif fmt != FORMAT:
        if isinstance(fmt, str) and fmt.startswith(_FORMAT_PREFIX):
            problems.add(
                "format",
                f"{_show(fmt)} is a newer or unknown version; this CrossMargin reads "
                f'"{FORMAT}" (update CrossMargin to open it)',
            )
        else:
            problems.add("format", f'expected "{FORMAT}", got {_show(fmt)}')
        # A file of another kind: field-by-field complaints would only be noise.
        raise InputError(problems.lines)

    problems.unknown_keys(data, "", _TOP_KEYS)
    label = problems.string(data, "label", "", required=False, non_empty=False)
    rules_name = problems.choice(data, "rules", "", [r.value for r in RuleSet], what="rule set")
    settle = problems.string(data, "settle", "")
    wallet = problems.number(data, "wallet_balance", "", _NON_NEGATIVE)
    fee = problems.number(
        data, "taker_fee_rate", "", _RATE, required=False, default=ZERO
    )

    betas = _parse_betas(problems, data.get("betas"))
    raw_tiers = data.get("tiers")
    tiers, tables_given = _parse_tiers(problems, raw_tiers, rules_name)

    positions: list[Position] = []
    parsed_fields: list[tuple[int, dict[str, Any]]] = []
    raw_positions = data.get("positions")
    if raw_positions is None:
        problems.add("positions", "missing (use [] for an account with no positions)")
    elif not isinstance(raw_positions, list):
        problems.add("positions", f"must be a list, got {_show(raw_positions)}")
    else:
        for i, raw in enumerate(raw_positions):
            position, fields = _parse_position(problems, i, raw)
            parsed_fields.append((i, fields))
            if position is not None:
                positions.append(position)

    _check_account(
        problems,
        rules=RuleSet(rules_name) if rules_name is not None else None,
        settle=settle,
        positions=parsed_fields,
        tables_given=tables_given,
        tiers_readable=isinstance(raw_tiers, Mapping) or raw_tiers is None,
    )

    if problems.lines:
        raise InputError(problems.lines)
    assert rules_name is not None and settle is not None and wallet is not None
    assert fee is not None and label is not None
    return AccountState(
        rules=RuleSet(rules_name),
        settle=settle,
        wallet_balance=wallet,
        positions=tuple(positions),
        tiers=tiers,
        taker_fee_rate=fee,
        betas=betas,
        label=label,
    )


def _parse_betas(problems: _Problems, raw_betas: object) -> dict[str, Decimal]:
    betas: dict[str, Decimal] = {}
    if raw_betas is None:
        return betas
    if not isinstance(raw_betas, Mapping):
        problems.add("betas", f"must be an object {{symbol: beta}}, got {_show(raw_betas)}")
        return betas
    for symbol, raw in raw_betas.items():
        value = problems.number_at(raw, f"betas[{_quote(symbol)}]")
        if value is not None:
            betas[symbol] = value
    return betas


def _parse_tiers(problems: _Problems, raw_tiers: object, rules_name: str | None
                 ) -> tuple[dict[str, tuple[Tier, ...]], set[str]]:
    """The tier tables by symbol, and the symbols given a table (readable or not)."""
    tiers: dict[str, tuple[Tier, ...]] = {}
    if raw_tiers is None:
        return tiers, set()
    if not isinstance(raw_tiers, Mapping):
        problems.add("tiers", f"must be an object {{symbol: [tier, ...]}}, got {_show(raw_tiers)}")
        return tiers, set()
    for symbol, table in raw_tiers.items():
        parsed = _parse_tier_table(problems, symbol, table)
        if parsed is None:
            continue
        tiers[symbol] = parsed
        if rules_name == RuleSet.HYPERLIQUID.value:
            for j, tier in enumerate(parsed):
                if tier.max_leverage is None:
                    problems.add(
                        f"{_tier_path(symbol)}[{j}].max_leverage",
                        "missing: the hyperliquid rules take maintenance from the max "
                        "leverage (half the initial margin at max leverage)",
                    )
    return tiers, set(raw_tiers)


def _quote(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _tier_path(symbol: str) -> str:
    return f"tiers[{_quote(symbol)}]"


def _parse_tier_table(problems: _Problems, symbol: str, table: object) -> tuple[Tier, ...] | None:
    path = _tier_path(symbol)
    if not isinstance(table, list):
        problems.add(path, f"must be a list of tiers, got {_show(table)}")
        return None
    if not table:
        problems.add(path, "must list at least one tier")
        return None
    out: list[Tier] = []
    ok = True
    for j, raw in enumerate(table):
        where = f"{path}[{j}]"
        if not isinstance(raw, Mapping):
            problems.add(where, f"must be an object, got {_show(raw)}")
            ok = False
            continue
        n_before = len(problems.lines)
        problems.unknown_keys(raw, where, _TIER_KEYS)
        lo = problems.number(raw, "min_notional", where, _NON_NEGATIVE)
        hi = problems.number(raw, "max_notional", where, _POSITIVE, required=False)
        mmr = problems.number(raw, "maintenance_margin_rate", where, _RATE)
        amount = problems.number(raw, "maintenance_amount", where, _NON_NEGATIVE, required=False)
        lev = problems.number(raw, "max_leverage", where, _POSITIVE, required=False)
        if len(problems.lines) != n_before or lo is None or mmr is None:
            ok = False
            continue
        out.append(Tier(lo, hi, mmr, amount, lev))
    if not ok:
        return None
    checked = _check_tier_table(problems, path, out)
    return checked or None


def _check_tier_table(problems: _Problems, path: str, table: Sequence[Tier]) -> tuple[Tier, ...]:
    """Ordered, contiguous brackets starting at 0; only the last may be open-ended."""
    n_before = len(problems.lines)
    for j, tier in enumerate(table):
        where = f"{path}[{j}]"
        if j == 0 and tier.min_notional != 0:
            problems.add(
                f"{where}.min_notional",
                f"the first tier must start at 0, got {_show(tier.min_notional)}",
            )
        if tier.max_notional is not None and tier.max_notional <= tier.min_notional:
            problems.add(
                f"{where}.max_notional",
                f"must be > min_notional ({_show(tier.min_notional)}), "
                f"got {_show(tier.max_notional)}",
            )
        if j + 1 < len(table):
            nxt = table[j + 1]
            if tier.max_notional is None:
                problems.add(
                    f"{where}.max_notional",
                    "only the last tier may be open-ended (null); "
                    f"set it to the next tier's min_notional ({_show(nxt.min_notional)})",
                )
            elif nxt.min_notional != tier.max_notional:
                problems.add(
                    f"{path}[{j + 1}].min_notional",
                    f"tiers must be ordered and contiguous: expected {_show(tier.max_notional)} "
                    f"(the previous tier's max_notional), got {_show(nxt.min_notional)}",
                )
    return tuple(table) if len(problems.lines) == n_before else ()


def _parse_position(
    problems: _Problems, i: int, raw: object
) -> tuple[Position | None, dict[str, Any]]:
    """One position: the :class:`Position` (``None`` if any field is bad) and the fields
    that did parse (so the cross-field rules still run on a partly bad position)."""
    path = f"positions[{i}]"
    if not isinstance(raw, Mapping):
        problems.add(path, f"must be an object, got {_show(raw)}")
        return None, {}
    n_before = len(problems.lines)
    problems.unknown_keys(raw, path, _POSITION_KEYS)
    side = problems.choice(raw, "side", path, [s.value for s in Side], what="side")
    mode = problems.choice(
        raw,
        "margin_mode",
        path,
        [m.value for m in MarginMode],
        required=False,
        default=MarginMode.CROSS.value,
        what="margin mode",
    )
    f: dict[str, Any] = {
        "id": problems.string(raw, "id", path),
        "symbol": problems.string(raw, "symbol", path),
        "side": Side(side) if side is not None else None,
        "contracts": problems.number(raw, "contracts", path, _POSITIVE),
        "contract_size": problems.number(
            raw, "contract_size", path, _POSITIVE, required=False, default=ONE
        ),
        "inverse": problems.boolean(raw, "inverse", path, default=False),
        "entry_price": problems.number(raw, "entry_price", path, _POSITIVE),
        "mark_price": problems.number(raw, "mark_price", path, _POSITIVE),
        "leverage": problems.number(raw, "leverage", path, _POSITIVE),
        "margin_mode": MarginMode(mode) if mode is not None else None,
        "isolated_margin": _isolated_margin(problems, raw, path, mode),
        "maintenance_margin_rate": problems.number(
            raw, "maintenance_margin_rate", path, _RATE, required=False
        ),
        "max_leverage": problems.number(raw, "max_leverage", path, _POSITIVE, required=False),
        "exchange_liquidation_price": _number_or_null(
            problems, raw, "exchange_liquidation_price", path,
            hint="use null when the exchange reports none",
        ),
    }
    given = {k for k, v in raw.items() if v is not None}
    if len(problems.lines) != n_before:
        partial = {k: v for k, v in f.items() if v is not None}
        partial["_given"] = given
        return None, partial
    f["id"] = PositionId(f["id"])
    position = Position(**f)
    f["_given"] = given
    return position, f


def _isolated_margin(
    problems: _Problems, raw: Mapping[str, Any], path: str, mode: str | None
) -> Decimal | None:
    key = "isolated_margin"
    if raw.get(key) is None:
        return None
    value = _to_decimal(raw[key])
    if value is not None and value.is_finite() and value <= 0:
        if mode == MarginMode.ISOLATED.value:
            problems.add(
                f"{path}.{key}",
                f"an isolated position needs margin > 0, got {_show(value)} "
                "(null means the initial margin at entry)",
            )
        else:
            problems.add(
                f"{path}.{key}",
                f"must be > 0, got {_show(value)} (null means the initial margin at entry)",
            )
        return None
    return problems.number(raw, key, path, _POSITIVE, required=False)


def _number_or_null(
    problems: _Problems, raw: Mapping[str, Any], key: str, path: str, *, hint: str
) -> Decimal | None:
    value = _to_decimal(raw.get(key))
    if value is not None and value.is_finite() and value <= 0:
        problems.add(f"{path}.{key}", f"must be > 0, got {_show(value)} ({hint})")
        return None
    return problems.number(raw, key, path, _POSITIVE, required=False)


# --------------------------------------------------------------------------- cross-field rules


def _split_symbol(symbol: str) -> tuple[str, str | None, str | None]:
    """``BASE/QUOTE:SETTLE[-EXPIRY]`` (ccxt unified) → (base, quote, settle); parts may be
    None (a symbol not in ccxt's form, e.g. ``BTCUSDT``, has no quote or settle)."""
    main, _, settle = symbol.partition(":")
    base, _, quote = main.partition("/")
    settle = settle.partition("-")[0]
    return base, (quote or None), (settle or None)


def _check_account(
    problems: _Problems,
    *,
    rules: RuleSet | None,
    settle: str | None,
    positions: Sequence[tuple[int, Mapping[str, Any]]],
    tables_given: set[str],
    tiers_readable: bool,
) -> None:
    """Rules between fields: ids, hedge legs, marks, settlement, tier tables.

    ``positions`` holds (index, the fields that parsed) so that a position with one bad
    field still takes part; a rule needing a missing field is skipped for it.
    """
    seen_ids: dict[str, int] = {}
    legs: dict[tuple[str, Side, object], int] = {}
    first_of_symbol: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for i, p in positions:
        path = f"positions[{i}]"
        pid, symbol, side = p.get("id"), p.get("symbol"), p.get("side")
        if pid is not None:
            if pid in seen_ids:
                problems.add(
                    f"{path}.id",
                    f"duplicate id {_show(pid)} (also positions[{seen_ids[pid]}]); "
                    "ids must be unique",
                )
            else:
                seen_ids[pid] = i
        if symbol is None:
            continue

        if side is not None:
            # OKX holds a cross and an isolated position on one instrument and side
            key = (symbol, side, p.get("margin_mode"))
            if key in legs:
                problems.add(
                    path,
                    f"a second {side.value} position on {symbol} (positions[{legs[key]}] is "
                    "one already); merge them into one position — hedge mode allows one long "
                    "and one short leg per symbol (one cross and one isolated of each where "
                    "the exchange allows it)",
                )
            else:
                legs[key] = i

        if symbol in first_of_symbol:
            j, q = first_of_symbol[symbol]
            for name, what in (
                ("mark_price", "one symbol has one mark price"),
                ("inverse", "one symbol is either linear or inverse"),
                ("contract_size", "one symbol has one contract size"),
            ):
                mine, theirs = p.get(name), q.get(name)
                if mine is not None and theirs is not None and mine != theirs:
                    problems.add(
                        f"{path}.{name}",
                        f"{_show(mine)} differs from positions[{j}].{name} "
                        f"({_show(theirs)}) on {symbol}; {what}",
                    )
        else:
            first_of_symbol[symbol] = (i, p)

        base, quote, sym_settle = _split_symbol(symbol)
        inverse = p.get("inverse")
        if settle is None:
            pass  # reported already; the settlement rules need it
        elif sym_settle is not None and sym_settle != settle:
            problems.add(
                f"{path}.symbol",
                f"{symbol} settles in {sym_settle}, but this account settles in {settle} "
                "(one scenario is one settlement currency)",
            )
        if inverse and quote is not None and settle is not None and base != settle:
            problems.add(
                f"{path}.inverse",
                f"an inverse contract settles in its base coin ({base}), but this account "
                f"settles in {settle}",
            )
        if inverse is False and sym_settle is not None and base == sym_settle:
            problems.add(
                f"{path}.inverse",
                f"{symbol} settles in its base coin, so it is an inverse contract: "
                'set "inverse": true',
            )

        if symbol not in tables_given and tiers_readable and rules is not None:
            if rules is RuleSet.HYPERLIQUID and "max_leverage" in p.get("_given", ()):
                pass  # maintenance = notional / (2 × the position's max leverage)
            elif rules is RuleSet.GENERIC:
                if "maintenance_margin_rate" not in p.get("_given", ()):
                    problems.add(
                        f"{path}.maintenance_margin_rate",
                        "missing: the generic rules need a maintenance_margin_rate on the "
                        f"position or a tier table for {symbol} in tiers",
                    )
            else:
                problems.add(
                    "tiers",
                    f"no tier table for {symbol} (used by {path}); add "
                    f"{_tier_path(symbol)} (the {rules.value} brackets)",
                )


def validate_state(state: AccountState) -> list[str]:
    """Every problem of an :class:`AccountState` built in code (forms, sync, journal).

    Returns the same lines :func:`parse_scenario` would report for the equivalent
    file (an empty list when the state is valid). Round-trips through the JSON form,
    so the two can never disagree.
    """
    try:
        parse_scenario(_decode_json(dumps_scenario(state), ""))
    except InputError as exc:
        return exc.problems
    return []


# --------------------------------------------------------------------------- writing


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value)


def dump_scenario(state: AccountState) -> dict[str, Any]:
    """The JSON-ready dict of ``state``: numbers as decimal strings, ``None`` as null.

    Optional position fields (``maintenance_margin_rate``, ``max_leverage``,
    ``exchange_liquidation_price``) and optional tier fields are written only when set.
    """
    out: dict[str, Any] = {"format": FORMAT}
    if state.label:
        out["label"] = state.label
    out["rules"] = state.rules.value
    out["settle"] = state.settle
    out["wallet_balance"] = format_decimal(state.wallet_balance)
    out["taker_fee_rate"] = format_decimal(state.taker_fee_rate)
    positions = []
    for p in state.positions:
        item: dict[str, Any] = {
            "id": str(p.id),
            "symbol": p.symbol,
            "side": p.side.value,
            "contracts": format_decimal(p.contracts),
            "contract_size": format_decimal(p.contract_size),
            "inverse": p.inverse,
            "entry_price": format_decimal(p.entry_price),
            "mark_price": format_decimal(p.mark_price),
            "leverage": format_decimal(p.leverage),
            "margin_mode": p.margin_mode.value,
            "isolated_margin": _num(p.isolated_margin),
        }
        for key in ("maintenance_margin_rate", "max_leverage", "exchange_liquidation_price"):
            value = getattr(p, key)
            if value is not None:
                item[key] = format_decimal(value)
        positions.append(item)
    out["positions"] = positions
    tiers: dict[str, list[dict[str, Any]]] = {}
    for symbol, table in state.tiers.items():
        rows = []
        for t in table:
            row: dict[str, Any] = {
                "min_notional": format_decimal(t.min_notional),
                "max_notional": _num(t.max_notional),
                "maintenance_margin_rate": format_decimal(t.maintenance_margin_rate),
            }
            if t.maintenance_amount is not None:
                row["maintenance_amount"] = format_decimal(t.maintenance_amount)
            if t.max_leverage is not None:
                row["max_leverage"] = format_decimal(t.max_leverage)
            rows.append(row)
        tiers[symbol] = rows
    out["tiers"] = tiers
    out["betas"] = {symbol: format_decimal(beta) for symbol, beta in state.betas.items()}
    return out


def dumps_scenario(state: AccountState, *, indent: int | None = 2) -> str:
    """``state`` as scenario JSON text (UTF-8 safe, ends with a newline)."""
    return json.dumps(dump_scenario(state), indent=indent, ensure_ascii=False) + "\n"


def save_scenario(state: AccountState, path: str | os.PathLike[str]) -> None:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, then rename).

    The state is validated first; an invalid state raises :class:`InputError` and
    leaves any existing file untouched.
    """
    problems = validate_state(state)
    if problems:
        raise InputError(problems)
    target = Path(path)
    text = dumps_scenario(state)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
