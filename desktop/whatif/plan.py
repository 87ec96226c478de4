"""The user's what-if as plain immutable data (no Qt, no engine calls).

A :class:`WhatIfPlan` says, for the book it is applied to, which positions change
margin mode, which isolated margins change, which positions are closed, which
hypothetical positions are added, and how prices are shocked. :meth:`WhatIfPlan.ops`
turns it into the engine's what-if operations, :meth:`WhatIfPlan.profile` into a
:class:`crossmargin.margin.ShockProfile`.

Units: margins are in the account's settlement currency. ``shock`` is the
engine's ``t``: a symbol's mark moves to ``mark × (1 + weight × t)``.

* uniform: weight 1, ``t`` is the move (``-0.12`` = every mark 12 % lower);
* beta: weight = the symbol's beta, ``t`` is BTC's move;
* per-symbol: weight = the symbol's own move typed by the user (``-0.25`` = 25 %
  down), ``t`` is the share of those moves applied (``1`` = as typed, ``-1`` = the
  opposite way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from crossmargin import numbers
from crossmargin.domain import AccountState, CollateralMode, MarginMode, Position, PositionId
from crossmargin.margin import (
    AddPosition,
    AdjustMargin,
    ClosePosition,
    ConvertCollateral,
    SetCollateral,
    SetCollateralMode,
    ShockProfile,
    SwitchMode,
    WhatIfOp,
)
from desktop.validation import read_number

SHOCK_MIN = Decimal("-0.5")
SHOCK_MAX = Decimal("0.5")
#: Largest beta accepted.
MAX_BETA = Decimal(20)
#: Largest per-symbol move accepted (fraction: 10 = +1000 %).
MAX_MOVE = Decimal(10)
#: Default per-symbol move (times the symbol's beta) when entering per-symbol mode.
DEFAULT_MOVE = Decimal("-0.10")
#: The slider never moves a price below this fraction of its mark.
MIN_PRICE_FRACTION = Decimal("0.01")


class ShockMode(StrEnum):
    """How one slider value moves every symbol's mark price.

    ``uniform``: every mark moves by the shock. ``per_symbol``: each symbol moves by
    ``weight × shock`` (weight 1 = with the slider, -1 = against it, 0 = pinned).
    ``beta``: the slider is BTC's move; each symbol moves by ``beta × shock``.
    """

    UNIFORM = "uniform"
    PER_SYMBOL = "per_symbol"
    BETA = "beta"

    @property
    def label(self) -> str:
        return {"uniform": "Uniform", "per_symbol": "Per symbol", "beta": "BTC beta"}[self.value]

    @property
    def axis_range(self) -> tuple[Decimal, Decimal]:
        """The shock axis of the chart and the slider (fractions of ``t``)."""
        if self is ShockMode.PER_SYMBOL:
            return Decimal(-1), Decimal(1)
        return SHOCK_MIN, SHOCK_MAX

    @property
    def axis_title(self) -> str:
        return {
            "uniform": "Shock, all symbols (%)",
            "per_symbol": "Share of the moves (%)",
            "beta": "BTC move (%)",
        }[self.value]


@dataclass(frozen=True, slots=True)
class PositionEdit:
    """The what-if for one existing position.

    ``mode`` is the wanted margin mode (``None`` = as live). ``margin`` is the wanted
    isolated margin in the settlement currency (``None`` = the engine's default: the
    position's own margin, or the initial margin at entry after a switch). ``close``
    closes the position at its mark (its uPnL is realised into the cross wallet).
    """

    mode: MarginMode | None = None
    margin: Decimal | None = None
    close: bool = False

    @property
    def is_noop(self) -> bool:
        return self.mode is None and self.margin is None and not self.close


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class WhatIfPlan:
    """Everything the user changed in the What-if tab (immutable; edits return copies)."""

    edits: Mapping[PositionId, PositionEdit] = field(default_factory=dict)
    added: tuple[Position, ...] = ()
    shock_mode: ShockMode = ShockMode.UNIFORM
    weights: Mapping[str, Decimal] = field(default_factory=dict)
    shock: Decimal = Decimal(0)
    #: pooled collateral: the wanted mode (None = as live), balances typed per asset,
    #: and amounts of assets sold for the settlement currency (in that order)
    collateral_mode: CollateralMode | None = None
    collateral: Mapping[str, Decimal] = field(default_factory=dict)
    sold: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "edits", _frozen(self.edits))
        object.__setattr__(self, "weights", _frozen(self.weights))
        object.__setattr__(self, "added", tuple(self.added))
        object.__setattr__(self, "collateral", _frozen(self.collateral))
        object.__setattr__(self, "sold", _frozen(self.sold))

    # -- copies -------------------------------------------------------------
    def with_edit(self, position_id: PositionId, edit: PositionEdit) -> WhatIfPlan:
        edits = dict(self.edits)
        if edit.is_noop:
            edits.pop(position_id, None)
        else:
            edits[position_id] = edit
        return replace(self, edits=edits)

    def edit(self, position_id: PositionId) -> PositionEdit:
        return self.edits.get(position_id, PositionEdit())

    def with_added(self, position: Position) -> WhatIfPlan:
        return replace(self, added=(*self.added, position))

    def with_added_replaced(self, position: Position) -> WhatIfPlan:
        return replace(
            self, added=tuple(position if p.id == position.id else p for p in self.added)
        )

    def without_added(self, position_id: PositionId) -> WhatIfPlan:
        return replace(self, added=tuple(p for p in self.added if p.id != position_id))

    def with_shock(self, shock: Decimal) -> WhatIfPlan:
        lo, hi = self.shock_mode.axis_range
        return replace(self, shock=min(hi, max(lo, shock)))

    def with_weight(self, symbol: str, weight: Decimal) -> WhatIfPlan:
        weights = dict(self.weights)
        weights[symbol] = weight
        return replace(self, weights=weights)

    def restricted_to(self, state: AccountState) -> WhatIfPlan:
        """Drop edits of positions no longer in ``state`` (closed on the exchange), and
        of collateral the account no longer lists."""
        ids = {p.id for p in state.positions}
        assets = {c.asset for c in state.collateral}
        plan = self
        if not all(pid in ids for pid in self.edits):
            plan = replace(plan, edits={k: v for k, v in self.edits.items() if k in ids})
        if not all(a in assets for a in (*self.collateral, *self.sold)):
            plan = replace(plan, collateral={k: v for k, v in self.collateral.items()
                                             if k in assets},
                           sold={k: v for k, v in self.sold.items() if k in assets})
        return plan

    def with_collateral_mode(self, mode: CollateralMode | None) -> WhatIfPlan:
        return replace(self, collateral_mode=mode)

    def with_collateral(self, asset: str, amount: Decimal | None) -> WhatIfPlan:
        """The balance of ``asset`` in the what-if (``None``: as live)."""
        amounts = dict(self.collateral)
        if amount is None:
            amounts.pop(asset, None)
        else:
            amounts[asset] = amount
        return replace(self, collateral=amounts)

    def with_sold(self, asset: str, amount: Decimal | None) -> WhatIfPlan:
        """Sell ``amount`` of ``asset`` for the settlement currency (``None``: keep it)."""
        sold = dict(self.sold)
        if amount is None or amount <= 0:
            sold.pop(asset, None)
        else:
            sold[asset] = amount
        return replace(self, sold=sold)

    @property
    def has_book_changes(self) -> bool:
        """True when the plan changes the book (not only the shock)."""
        return bool(self.edits) or bool(self.added) or self.has_collateral_changes

    @property
    def has_collateral_changes(self) -> bool:
        return self.collateral_mode is not None or bool(self.collateral) or bool(self.sold)

    # -- engine inputs -------------------------------------------------------
    def added_positions(self, state: AccountState) -> tuple[Position, ...]:
        """Hypothetical positions, their marks following the live mark of their symbol."""
        marks = {p.symbol: p.mark_price for p in state.positions}
        return tuple(
            p.with_(mark_price=marks[p.symbol]) if p.symbol in marks else p for p in self.added
        )

    def ops(self, state: AccountState) -> tuple[WhatIfOp, ...]:
        """The engine operations for ``state``: closes, then switches/margins, then adds."""
        closes: list[WhatIfOp] = []
        changes: list[WhatIfOp] = []
        for p in state.positions:
            edit = self.edits.get(p.id)
            if edit is None:
                continue
            if edit.close:
                closes.append(ClosePosition(p.id))
                continue
            target = edit.mode or p.margin_mode
            if target is not p.margin_mode:
                margin = edit.margin if target is MarginMode.ISOLATED else None
                changes.append(SwitchMode(p.id, margin))
            elif (
                target is MarginMode.ISOLATED
                and edit.margin is not None
                and edit.margin != p.own_margin
            ):
                changes.append(AdjustMargin(p.id, edit.margin - p.own_margin))
        adds = [AddPosition(p) for p in self.added_positions(state)]
        pool: list[WhatIfOp] = []
        if self.collateral_mode is not None and self.collateral_mode is not \
                state.collateral_mode:
            pool.append(SetCollateralMode(self.collateral_mode))
        pool.extend(SetCollateral(asset, amount) for asset, amount in self.collateral.items())
        pool.extend(ConvertCollateral(asset, amount, state.settle)
                    for asset, amount in self.sold.items())
        return (*pool, *closes, *changes, *adds)

    def profile(self, state: AccountState) -> ShockProfile:
        """The shock profile; symbols without a weight move with the slider (weight 1)."""
        if self.shock_mode is ShockMode.UNIFORM:
            return ShockProfile.uniform()
        weights = self.all_weights(state)
        if self.shock_mode is ShockMode.BETA:
            return ShockProfile.beta(weights)
        return ShockProfile.per_symbol(weights)

    def all_weights(self, state: AccountState) -> dict[str, Decimal]:
        """Every book symbol's weight: the user's, else the mode's default."""
        weights = default_weights(state, self.shock_mode, self.added)
        weights.update({k: v for k, v in self.weights.items() if k in weights})
        return weights

    def shock_limits(self, state: AccountState) -> tuple[Decimal, Decimal]:
        """The slider's range: the mode's axis, narrowed so every price stays above
        ``MIN_PRICE_FRACTION`` of its mark (``1 + w·t >= 0.01`` for every weight)."""
        lo, hi = self.shock_mode.axis_range
        if self.shock_mode is ShockMode.UNIFORM:
            return lo, hi
        floor = MIN_PRICE_FRACTION - 1
        for w in self.all_weights(state).values():
            if w > 0:
                lo = max(lo, floor / w)
            elif w < 0:
                hi = min(hi, floor / w)
        return lo, hi


def book_symbols(state: AccountState, added: tuple[Position, ...] = ()) -> list[str]:
    """Symbols of the book plus hypothetical positions, in first-seen order."""
    seen: dict[str, None] = {}
    for p in (*state.positions, *added):
        seen.setdefault(p.symbol, None)
    return list(seen)


def default_weights(
    state: AccountState, mode: ShockMode, added: tuple[Position, ...] = ()
) -> dict[str, Decimal]:
    """Starting weights: the scenario's betas (beta mode), ``DEFAULT_MOVE × beta``
    (per-symbol mode), 1 (uniform); a symbol without a beta has beta 1."""
    symbols = book_symbols(state, added)
    betas = {s: Decimal(state.betas.get(s, Decimal(1))) for s in symbols}
    if mode is ShockMode.BETA:
        return betas
    if mode is ShockMode.PER_SYMBOL:
        return {s: DEFAULT_MOVE * b for s, b in betas.items()}
    return {s: Decimal(1) for s in symbols}


# -- user input ---------------------------------------------------------------


def parse_decimal(text: str, what: str) -> Decimal:
    """Parse a number typed by the user (``1234.5``, ``1,234.5``, ``1_234.5``) with
    :func:`crossmargin.numbers.parse_decimal`, the CLI's reading.

    Raises ``ValueError`` with a message naming ``what`` and how to fix it. A lone
    comma (``250,5``) is refused rather than guessed: it could be a decimal comma.
    """
    raw = text.strip().replace(" ", "").replace("_", "")
    if not raw:
        raise ValueError(f"{what}: enter a number")
    try:
        return read_number(raw)
    except numbers.NumberError as exc:
        raise ValueError(f"{what}: {exc}") from None


def parse_positive(text: str, what: str, *, upper: Decimal | None = None) -> Decimal:
    """Parse a number that must be > 0 (and <= ``upper`` when given)."""
    value = parse_decimal(text, what)
    if value <= 0:
        raise ValueError(f"{what}: must be greater than 0, got {value}")
    if upper is not None and value > upper:
        raise ValueError(f"{what}: must be at most {upper}, got {value}")
    return value
