"""Reading a scenario file: JSON decoding with duplicate keys refused, then every
field, with all problems reported at once."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
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
from crossmargin.scenario.collateral import parse_collateral
from crossmargin.scenario.fields import (
    _FORMAT_PREFIX,
    _NON_NEGATIVE,
    _POSITION_KEYS,
    _POSITIVE,
    _RATE,
    _TIER_KEYS,
    _TOP_KEYS,
    FORMAT,
    READABLE,
    _Problems,
    _quote,
    _show,
    _tier_path,
    _to_decimal,
)
from crossmargin.scenario.rules import _check_account

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
    elif fmt not in READABLE:
        if isinstance(fmt, str) and fmt.startswith(_FORMAT_PREFIX):
            problems.add(
                "format",
                f"{_show(fmt)} is a newer or unknown version; this CrossMargin reads "
                f"{' and '.join(repr(v) for v in READABLE)} (update CrossMargin to open it)",
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
    collateral_mode, collateral = parse_collateral(problems, data, settle)
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
    state = AccountState(
        rules=RuleSet(rules_name),
        settle=settle,
        wallet_balance=wallet,
        positions=tuple(positions),
        tiers=tiers,
        taker_fee_rate=fee,
        betas=betas,
        label=label,
        collateral=collateral,
        collateral_mode=collateral_mode,
    )
    if state.multi_asset:  # the pool's own rules (cross only on Binance, linear only...)
        from crossmargin.margin.collateral import check_pool

        check_pool(state)
    return state


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
        "settle": problems.string(raw, "settle", path, required=False, default=""),
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


