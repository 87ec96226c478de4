"""The rules between a scenario's fields: ids, hedge legs, marks, settlement, tier
tables (also for states built in code: :func:`validate_state`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crossmargin.domain import (
    RuleSet,
    Side,
)
from crossmargin.scenario.fields import _Problems, _show, _tier_path

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
