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

from crossmargin.scenario.fields import FORMAT, format_decimal
from crossmargin.scenario.reading import load_scenario, loads_scenario, parse_scenario
from crossmargin.scenario.writing import (
    dump_scenario,
    dumps_scenario,
    save_scenario,
    validate_state,
)

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
