"""Domain types shared by the engine, the journal, sync and the desktop app.

Everything here is plain data: frozen dataclasses and string enums, no I/O.
Money and sizes are :class:`decimal.Decimal`, never ``float``.

Units and signs
---------------
* ``contracts`` is the absolute position size in exchange contracts (always > 0);
  the direction is carried by :class:`Side`.
* ``contract_size`` converts contracts to the *size* ``Q`` used in formulas:
  base units for linear contracts (``0.001`` BTC per contract, or ``1``),
  quote (USD) value per contract for inverse contracts (``100`` USD on BTCUSD).
* Linear contracts settle in the quote currency: notional = ``Q × price``.
  Inverse contracts settle in the base coin: notional = ``Q / price`` (coin).
* Prices are mark prices unless the name says otherwise (``entry_price``).
* Every account amount (wallet, margins, PnL) is in the settlement currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import NewType

from crossmargin.domain.collateral import Collateral, CollateralMode

PositionId = NewType("PositionId", str)

ZERO = Decimal(0)
ONE = Decimal(1)


class Side(StrEnum):
    """Direction of a position. ``sign`` is +1 for long, -1 for short."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is Side.LONG else -1

    @property
    def opposite(self) -> Side:
        return Side.SHORT if self is Side.LONG else Side.LONG


class MarginMode(StrEnum):
    """Cross: backed by the pooled wallet. Isolated: backed by its own margin."""

    CROSS = "cross"
    ISOLATED = "isolated"

    @property
    def other(self) -> MarginMode:
        return MarginMode.ISOLATED if self is MarginMode.CROSS else MarginMode.CROSS


class RuleSet(StrEnum):
    """Which exchange's margin rules an account follows."""

    BINANCE = "binance"
    BYBIT = "bybit"
    OKX = "okx"
    GATE = "gate"
    HYPERLIQUID = "hyperliquid"
    GENERIC = "generic"


@dataclass(frozen=True, slots=True)
class Tier:
    """One maintenance-margin bracket.

    A tier applies from ``min_notional`` (inclusive) up to the next tier's
    ``min_notional``; ``max_notional`` is ``None`` for the open-ended last tier.
    ``maintenance_amount`` is Binance's ``cum`` / Bybit's "MM deduction"; when it
    is ``None`` the table derives it (see :func:`crossmargin.margin.tiers.TierTable`).
    """

    min_notional: Decimal
    max_notional: Decimal | None
    maintenance_margin_rate: Decimal
    maintenance_amount: Decimal | None = None
    max_leverage: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """One open position (or one leg of a hedge-mode pair).

    ``isolated_margin`` is the position's own wallet in isolated mode (``None``
    means "the initial margin at entry": contracts × contract size × entry /
    leverage for linear, ÷ entry for inverse). It is ignored in cross mode.
    ``maintenance_margin_rate`` is only used by the ``generic`` rule set when the
    symbol has no tier table. ``max_leverage`` overrides the tier's for Hyperliquid.
    ``exchange_liquidation_price`` is what an exchange reported (synced positions).
    """

    id: PositionId
    symbol: str
    side: Side
    contracts: Decimal
    entry_price: Decimal
    mark_price: Decimal
    leverage: Decimal
    margin_mode: MarginMode = MarginMode.CROSS
    contract_size: Decimal = ONE
    inverse: bool = False
    isolated_margin: Decimal | None = None
    maintenance_margin_rate: Decimal | None = None
    max_leverage: Decimal | None = None
    exchange_liquidation_price: Decimal | None = None
    settle: str = ""  # its settlement currency when not the account's (multi-asset pools)

    @property
    def size(self) -> Decimal:
        """``Q``: base units (linear) or USD value (inverse); always positive."""
        return self.contracts * self.contract_size

    @property
    def entry_initial_margin(self) -> Decimal:
        """Initial margin at entry, in the settlement currency."""
        if self.inverse:
            return self.size / self.entry_price / self.leverage
        return self.size * self.entry_price / self.leverage

    @property
    def own_margin(self) -> Decimal:
        """The isolated wallet (explicit margin, or the initial margin at entry)."""
        if self.isolated_margin is not None:
            return self.isolated_margin
        return self.entry_initial_margin

    def with_(self, **changes: object) -> Position:
        return replace(self, **changes)  # type: ignore[arg-type]


def _frozen_mapping(value: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True)
class AccountState:
    """One margin account: the input of the engine.

    ``wallet_balance`` is the *cross* wallet in ``settle``: deposits and realised PnL,
    excluding the isolated positions' margins and every unrealised PnL. ``tiers`` maps a
    symbol to its bracket table (lowest first). ``betas`` maps a symbol to its
    move per unit of BTC move for beta shocks. ``collateral`` lists balances in other
    assets, priced in ``settle``; they back the cross positions only in
    ``collateral_mode`` ``multi`` (see :mod:`crossmargin.domain.collateral`), where
    positions may also settle in another listed asset (``Position.settle``).
    A scenario file is this, as JSON.
    """

    rules: RuleSet
    settle: str
    wallet_balance: Decimal
    positions: tuple[Position, ...] = ()
    tiers: Mapping[str, tuple[Tier, ...]] = field(default_factory=dict)
    taker_fee_rate: Decimal = ZERO
    betas: Mapping[str, Decimal] = field(default_factory=dict)
    label: str = ""
    collateral: tuple[Collateral, ...] = ()
    collateral_mode: CollateralMode = CollateralMode.SINGLE

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", tuple(self.positions))
        object.__setattr__(self, "collateral", tuple(self.collateral))
        object.__setattr__(
            self, "tiers", _frozen_mapping({k: tuple(v) for k, v in self.tiers.items()})
        )
        object.__setattr__(self, "betas", _frozen_mapping(self.betas))

    def position(self, position_id: str) -> Position:
        for p in self.positions:
            if p.id == position_id:
                return p
        raise KeyError(position_id)

    def collateral_of(self, asset: str) -> Collateral | None:
        for c in self.collateral:
            if c.asset == asset:
                return c
        return None

    @property
    def multi_asset(self) -> bool:
        return self.collateral_mode is CollateralMode.MULTI

    def with_(self, **changes: object) -> AccountState:
        return replace(self, **changes)  # type: ignore[arg-type]
