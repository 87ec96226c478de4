"""Writing a scenario: decimal strings, atomic saves."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from crossmargin.domain import (
    AccountState,
)
from crossmargin.errors import InputError
from crossmargin.scenario.collateral import dump_collateral
from crossmargin.scenario.fields import FORMAT, format_decimal
from crossmargin.scenario.reading import _decode_json, parse_scenario

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
        if p.settle and p.settle != state.settle:
            item["settle"] = p.settle
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
    if state.collateral or state.multi_asset:
        out.update(dump_collateral(state.collateral_mode, state.collateral))
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


