"""Pooled collateral in the engine (multi-asset accounts).

A holding of coin ``B`` that counts ``e`` units (its effective amount, after the tiered
collateral value ratio; see :mod:`crossmargin.domain.collateral`) at price ``P`` adds
``e·P`` to the pool and moves with ``B``'s price. To the solver that is a constant in the
wallet plus a *long position of e B entered at P*, with no maintenance margin: when the
price of ``B`` goes to ``P'`` the pool changes by ``e·(P' − P)``, exactly.

* **Liquidation prices.** A position's price is solved with every other mark fixed, as
  before, except that the coin it is on moves as collateral too: a BTC holding moves with
  ``BTC/USDT:USDT`` in proportion (``P' = P × x / mark``), so the condition
  ``margin balance = maintenance margin`` gains one affine term per holding of that coin
  and the solver stays exact, piece by piece.
* **Shocks.** A coin's holding moves with the shock weight of the first cross position
  on that coin, else with the weight of the coin's own name (``"BTC"``; uniform shocks
  move it 1:1, BTC-beta shocks as BTC unless a beta is given). Stablecoins do not move.

Rules checked here: multi-asset pools hold linear contracts only (an inverse contract's
PnL is in its own coin: its pool is the coin itself); Binance's Multi-Assets mode is cross
only (no isolated positions).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crossmargin.domain import (
    ONE,
    ZERO,
    AccountState,
    Collateral,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Side,
)
from crossmargin.errors import InputError
from crossmargin.margin.rules import Leg


def base_of(symbol: str) -> str:
    """``BTC/USDT:USDT`` → ``BTC`` (the coin a contract moves with)."""
    return symbol.split("/", 1)[0].split(":", 1)[0].upper()


def check_pool(state: AccountState) -> None:
    """InputError naming every rule a multi-asset account breaks."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, c in enumerate(state.collateral):
        where = f"collateral[{i}]"
        if c.asset in seen:
            problems.append(f"{where}.asset: {c.asset} is listed twice; give one balance")
        seen.add(c.asset)
        if c.asset == state.settle:
            problems.append(f"{where}.asset: {c.asset} is the settlement currency; its "
                            "balance is wallet_balance")
        if c.price <= 0:
            problems.append(f"{where}.price: must be > 0, got {c.price}")
        for k, tier in enumerate(c.ratios):
            if not ZERO <= tier.ratio <= ONE:
                problems.append(f"{where}.ratios[{k}].ratio: must be between 0 and 1, got "
                                f"{tier.ratio}")
    for i, p in enumerate(state.positions):
        where = f"positions[{i}]"
        if p.inverse:
            problems.append(
                f"{where}: {p.symbol} is an inverse contract; multi-asset pools hold linear "
                "contracts only (an inverse contract's margin is its own coin)")
        if p.settle and p.settle != state.settle and state.collateral_of(p.settle) is None:
            problems.append(
                f"{where}.settle: {p.settle} has no price in the collateral list; add it "
                f"(amount 0 if you hold none) so its PnL can be counted in {state.settle}")
        if p.margin_mode is MarginMode.ISOLATED and state.rules is RuleSet.BINANCE:
            problems.append(
                f"{where}: Binance Multi-Assets mode is cross margin only; switch {p.id} to "
                "cross, or the account to single-asset mode")
    if problems:
        raise InputError(problems)


def pool_value(state: AccountState) -> Decimal:
    """What the collateral adds to the pool now (counted value; 0 in single mode)."""
    if not state.multi_asset:
        return ZERO
    return sum((c.value for c in state.collateral), ZERO)


def moving(state: AccountState) -> list[Collateral]:
    """The holdings whose value moves with a price (not stablecoins, not zero)."""
    if not state.multi_asset:
        return []
    return [c for c in state.collateral if not c.stable and c.effective_amount != 0]


def shock_symbol(state: AccountState, c: Collateral) -> str:
    """The symbol whose shock weight moves holding ``c``."""
    coin = c.asset.upper()
    for p in state.positions:
        if p.margin_mode is MarginMode.CROSS and base_of(p.symbol) == coin:
            return p.symbol
    for symbol in state.betas:  # a beta given for one of the coin's contracts
        if base_of(symbol) == coin:
            return symbol
    return coin


def holding_leg(c: Collateral, symbol: str, mark: Decimal) -> Leg:
    """Holding ``c`` as a leg priced in ``symbol`` (whose mark is ``mark``): long (short
    for a debt) ``|e|·P/mark`` entered at ``mark``, no maintenance margin."""
    e = c.effective_amount
    q = abs(e) * c.price / mark
    side = Side.LONG if e > 0 else Side.SHORT
    leg = Leg()
    leg.position = Position(
        id=PositionId(f"collateral:{c.asset}"), symbol=symbol, side=side, contracts=q,
        entry_price=mark, mark_price=mark, leverage=ONE,
    )
    leg.id = leg.position.id
    leg.symbol = symbol
    leg.q = q
    leg.sigma = side.sign
    leg.x_e = mark
    leg.x_mark = mark
    leg.isolated = False
    leg.margin = ZERO
    leg.kind = "mark"
    return leg


def with_marks(state: AccountState, marks: dict[str, Decimal] | Any) -> AccountState:
    """``state`` with every position of a symbol in ``marks`` at that mark, and each coin
    held as collateral moved in proportion with the first of its contracts that moved
    (a live tick on BTC/USDT moves the BTC held too). Stablecoins stay."""
    if not marks:
        return state
    old = {p.symbol: p.mark_price for p in state.positions}
    positions = tuple(p.with_(mark_price=marks[p.symbol]) if p.symbol in marks else p
                      for p in state.positions)
    collateral = state.collateral
    if collateral:
        factor: dict[str, Decimal] = {}
        for symbol, price in marks.items():
            coin = base_of(symbol)
            if symbol in old and coin not in factor and old[symbol] > 0:
                factor[coin] = price / old[symbol]
        collateral = tuple(
            c.with_price(c.price * factor[c.asset.upper()])
            if c.asset.upper() in factor and not c.stable else c
            for c in collateral)
    return state.with_(positions=positions, collateral=collateral)


def is_holding(leg_id: str) -> bool:
    return leg_id.startswith("collateral:")


__all__ = ["base_of", "check_pool", "holding_leg", "is_holding", "moving", "pool_value",
           "shock_symbol", "with_marks"]
