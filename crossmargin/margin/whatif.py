"""What-if operations on an account state. Pure: the input state is never changed.

Margin moves between the cross wallet and isolated positions exactly as on the
exchange: switching to isolated takes the position's margin out of the cross
wallet; switching back (or closing) returns it. Closing realises the position's
uPnL at the mark into the cross wallet. No trading fees are charged by what-if
operations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, localcontext

from crossmargin.domain import (
    AccountState,
    Collateral,
    CollateralMode,
    MarginMode,
    Position,
    PositionId,
)
from crossmargin.domain.collateral import flat
from crossmargin.errors import InputError
from crossmargin.margin.collateral import with_marks
from crossmargin.margin.risk import ENGINE_CONTEXT, AccountRisk, evaluate


@dataclass(frozen=True, slots=True)
class SwitchMode:
    """Switch one position to the other margin mode.

    ``margin`` is the isolated margin to assign when going isolated (default:
    the initial margin at entry at the position's leverage). Ignored going cross.
    """

    position_id: str
    margin: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AdjustMargin:
    """Add (``delta > 0``) or remove (``delta < 0``) isolated margin, from/to the wallet."""

    position_id: str
    delta: Decimal


@dataclass(frozen=True, slots=True)
class AddPosition:
    """Add a hypothetical position (isolated ones take their margin from the wallet)."""

    position: Position


@dataclass(frozen=True, slots=True)
class ClosePosition:
    """Close a position at its mark: its uPnL (and isolated margin) go to the wallet."""

    position_id: str


@dataclass(frozen=True, slots=True)
class SetMarks:
    """Move the mark price of some symbols (all legs of a symbol move together)."""

    marks: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetCollateral:
    """Set the balance of one collateral asset (``price`` too when given; a new asset
    needs its price and, for a haircut, its ``ratio``)."""

    asset: str
    amount: Decimal
    price: Decimal | None = None
    ratio: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ConvertCollateral:
    """Sell ``amount`` of ``sell`` for ``buy`` at their prices ("sell 1 BTC for USDT");
    buying the settlement currency adds to the wallet. No fee or slippage."""

    sell: str
    amount: Decimal
    buy: str


@dataclass(frozen=True, slots=True)
class SetCollateralMode:
    """Switch the account between single-asset and multi-asset (pooled) margin."""

    mode: CollateralMode


WhatIfOp = (SwitchMode | AdjustMargin | AddPosition | ClosePosition | SetMarks | SetCollateral
            | ConvertCollateral | SetCollateralMode)


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    """Before/after figures of a what-if and who it liquidates at once."""

    before: AccountRisk
    after: AccountRisk
    state: AccountState
    liquidated_at_once: tuple[PositionId, ...]


def _upnl(p: Position) -> Decimal:
    with localcontext(ENGINE_CONTEXT):
        if p.inverse:
            return p.side.sign * p.size * (1 / p.entry_price - 1 / p.mark_price)
        return p.side.sign * p.size * (p.mark_price - p.entry_price)


def _initial_margin(p: Position) -> Decimal:
    """Initial margin at entry, divided at engine precision."""
    with localcontext(ENGINE_CONTEXT):
        return p.entry_initial_margin


def _own_margin(p: Position) -> Decimal:
    return p.isolated_margin if p.isolated_margin is not None else _initial_margin(p)


def _index(positions: list[Position], position_id: str, where: str) -> int:
    for i, p in enumerate(positions):
        if p.id == position_id:
            return i
    raise InputError(f"{where}: no position with id {position_id!r}")


#: Wallet arithmetic is done at a precision wide enough to be exact for sums of
#: engine-precision numbers, so moving margin out and back restores the wallet.
_WALLET_CONTEXT = Context(prec=200)


def apply_whatif(state: AccountState, ops: Sequence[WhatIfOp]) -> AccountState:
    """The account after ``ops``, applied in order."""
    with localcontext(_WALLET_CONTEXT):
        positions = list(state.positions)
        wallet = state.wallet_balance
        collateral = list(state.collateral)
        mode = state.collateral_mode
        for n, op in enumerate(ops):
            where = f"what-if[{n}]"
            if isinstance(op, SetCollateral | ConvertCollateral | SetCollateralMode):
                wallet, mode = _collateral_op(state.settle, collateral, wallet, mode, op,
                                              where)
            elif isinstance(op, SwitchMode):
                i = _index(positions, op.position_id, where)
                p = positions[i]
                if p.margin_mode is MarginMode.CROSS:
                    margin = op.margin if op.margin is not None else _initial_margin(p)
                    if margin <= 0:
                        raise InputError(f"{where}.margin: must be > 0, got {margin}")
                    wallet -= margin
                    positions[i] = p.with_(margin_mode=MarginMode.ISOLATED, isolated_margin=margin)
                else:
                    wallet += _own_margin(p)
                    positions[i] = p.with_(margin_mode=MarginMode.CROSS, isolated_margin=None)
            elif isinstance(op, AdjustMargin):
                i = _index(positions, op.position_id, where)
                p = positions[i]
                if p.margin_mode is not MarginMode.ISOLATED:
                    raise InputError(
                        f"{where}: {p.id} is in cross mode; only isolated positions have "
                        "their own margin to add or remove"
                    )
                new_margin = _own_margin(p) + op.delta
                if new_margin <= 0:
                    raise InputError(
                        f"{where}.delta: would leave {p.id} with margin {new_margin}; "
                        f"less than {_own_margin(p)} can be removed"
                    )
                wallet -= op.delta
                positions[i] = p.with_(isolated_margin=new_margin)
            elif isinstance(op, AddPosition):
                new = op.position
                if any(q.id == new.id for q in positions):
                    raise InputError(f"{where}: a position with id {new.id!r} already exists")
                if new.margin_mode is MarginMode.ISOLATED:
                    new = new.with_(isolated_margin=_own_margin(new))
                    wallet -= _own_margin(new)
                positions.append(new)
            elif isinstance(op, ClosePosition):
                i = _index(positions, op.position_id, where)
                p = positions.pop(i)
                wallet += _upnl(p)
                if p.margin_mode is MarginMode.ISOLATED:
                    wallet += _own_margin(p)
            elif isinstance(op, SetMarks):
                for symbol, price in op.marks.items():
                    if price <= 0:
                        raise InputError(f"{where}.marks[{symbol}]: must be > 0, got {price}")
                moved = with_marks(state.with_(positions=tuple(positions),
                                               collateral=tuple(collateral)), op.marks)
                positions, collateral = list(moved.positions), list(moved.collateral)
            else:  # pragma: no cover - guarded by the type
                raise InputError(f"{where}: unknown what-if operation {op!r}")
        return state.with_(positions=tuple(positions), wallet_balance=wallet,
                           collateral=tuple(collateral), collateral_mode=mode)


def _collateral_op(settle: str, collateral: list[Collateral], wallet: Decimal,
                   mode: CollateralMode,
                   op: SetCollateral | ConvertCollateral | SetCollateralMode, where: str,
                   ) -> tuple[Decimal, CollateralMode]:
    """Apply one collateral what-if to ``collateral`` (in place); the new wallet and mode."""
    if isinstance(op, SetCollateralMode):
        return wallet, op.mode
    index = {c.asset: i for i, c in enumerate(collateral)}
    if isinstance(op, SetCollateral):
        if op.asset == settle:
            return op.amount, mode  # the settlement currency's balance is the wallet
        if op.price is not None and op.price <= 0:
            raise InputError(f"{where}.price: must be > 0, got {op.price}")
        if op.ratio is not None and not 0 <= op.ratio <= 1:
            raise InputError(f"{where}.ratio: must be between 0 and 1, got {op.ratio}")
        if op.asset in index:
            c = collateral[index[op.asset]]
            c = Collateral(c.asset, op.amount, op.price or c.price,
                           flat(op.ratio) if op.ratio is not None else c.ratios)
            collateral[index[op.asset]] = c
        else:
            if op.price is None:
                raise InputError(f"{where}: {op.asset} is new to the account; give its price "
                                 f"in {settle}")
            collateral.append(Collateral(op.asset, op.amount, op.price,
                                         flat(op.ratio) if op.ratio is not None else ()))
        return wallet, mode
    # convert
    if op.amount <= 0:
        raise InputError(f"{where}.amount: must be > 0, got {op.amount}")
    if op.sell == op.buy:
        raise InputError(f"{where}: selling {op.sell} for {op.buy} changes nothing")

    def price_of(asset: str) -> Decimal:
        if asset == settle:
            return Decimal(1)
        if asset not in index:
            raise InputError(f"{where}: the account holds no {asset} and has no price for "
                             f"it; add it first (amount 0 and its price)")
        return collateral[index[asset]].price

    proceeds = op.amount * price_of(op.sell) / price_of(op.buy)
    if op.sell == settle:
        wallet -= op.amount
    else:
        c = collateral[index[op.sell]]
        collateral[index[op.sell]] = c.with_amount(c.amount - op.amount)
    if op.buy == settle:
        wallet += proceeds
    else:
        c = collateral[index[op.buy]]
        collateral[index[op.buy]] = c.with_amount(c.amount + proceeds)
    return wallet, mode


def compare_whatif(state: AccountState, ops: Sequence[WhatIfOp]) -> WhatIfResult:
    """Figures before and after ``ops``; ``liquidated_at_once`` lists positions that
    are healthy now but at or past liquidation right after the what-if."""
    before = evaluate(state)
    if not ops:  # nothing to try: the account after is the account now (one evaluation)
        return WhatIfResult(before=before, after=before, state=state, liquidated_at_once=())
    after_state = apply_whatif(state, ops)
    after = evaluate(after_state)
    was_liquidated = {p.id for p in before.positions if p.liquidated}
    hit = tuple(p.id for p in after.positions if p.liquidated and p.id not in was_liquidated)
    return WhatIfResult(before=before, after=after, state=after_state, liquidated_at_once=hit)


__all__ = [
    "AddPosition",
    "AdjustMargin",
    "ClosePosition",
    "ConvertCollateral",
    "SetCollateral",
    "SetCollateralMode",
    "SetMarks",
    "SwitchMode",
    "WhatIfOp",
    "WhatIfResult",
    "apply_whatif",
    "compare_whatif",
]
