"""The journal's records: accounts, instruments, positions derived from fills, fills,
funding, transfers, snapshots and statistics. Plain frozen dataclasses (what the
journal returns, what the views show), defined here so the layers above storage (the
desktop's models and views) need not import storage to name them.

Units and signs
---------------
* Times are timezone-aware UTC :class:`~datetime.datetime` (convert to local time only
  for display).
* Money, prices and sizes are :class:`~decimal.Decimal`, exactly as stored.
* ``contracts``/``amount`` are positive numbers of exchange contracts; the direction is
  ``side`` (:class:`~crossmargin.domain.Side` for positions, ``"buy"``/``"sell"`` for fills).
* Position money (``realized_pnl``, ``fees``, ``funding``, ``net_pnl``) is in the account's
  settlement currency (``settle``). ``fees`` > 0 is a cost; ``funding`` > 0 was received.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import NewType

from crossmargin.domain.book import ONE, MarginMode, RuleSet, Side
from crossmargin.domain.collateral import CollateralMode

AccountId = NewType("AccountId", int)


JournalPositionId = NewType("JournalPositionId", int)


FillId = NewType("FillId", int)


class AccountKind(StrEnum):
    MANUAL = "manual"
    EXCHANGE = "exchange"


class PositionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PositionMode(StrEnum):
    """One-way (one net position per symbol) or hedge (a long and a short leg)."""

    ONE_WAY = "one_way"
    HEDGE = "hedge"


@dataclass(frozen=True, slots=True)
class Account:
    id: AccountId
    label: str
    kind: AccountKind
    exchange_id: str | None
    rules: RuleSet
    settle: str
    margin_mode_default: MarginMode
    position_mode: PositionMode
    taker_fee_rate: Decimal
    notes: str
    created_at: datetime
    positions_synced_at: datetime | None
    default_leverage: Decimal | None = None
    #: multi: the account pools every collateral asset (Binance Multi-Assets mode, Bybit
    #: UTA cross margin, OKX multi-currency margin); single: only ``settle`` counts
    collateral_mode: CollateralMode = CollateralMode.SINGLE


@dataclass(frozen=True, slots=True)
class Instrument:
    """Contract spec of one symbol. ``contract_size``: base units (linear) or USD (inverse)."""

    symbol: str
    base: str
    quote: str
    settle: str
    contract_size: Decimal = ONE
    inverse: bool = False
    maintenance_margin_rate: Decimal | None = None
    max_leverage: Decimal | None = None
    beta: Decimal | None = None


@dataclass(frozen=True, slots=True)
class JournalPosition:
    """A position from open to flat, derived from its fills, plus the trader's notes.

    ``entry_price``/``exit_price`` are averages (harmonic for inverse contracts);
    ``realized_pnl`` is the gross price PnL of the closed part: the exchange's own
    figure when it reported one for every closing fill (then ``computed_pnl`` holds the
    PnL recomputed from the fills, as a check), else the recomputed one; ``net_pnl`` =
    realised − fees + funding. ``other_fees`` are fees in a third currency (e.g. BNB),
    not in ``fees``. ``contracts`` is what is still open (0 once closed).
    """

    id: JournalPositionId
    account_id: AccountId
    symbol: str
    leg: str
    side: Side
    status: PositionStatus
    opened_at: datetime
    closed_at: datetime | None
    contracts: Decimal
    max_contracts: Decimal
    closed_contracts: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    realized_pnl: Decimal
    fees: Decimal
    other_fees: Mapping[str, Decimal]
    funding: Decimal
    fill_count: int
    settle: str
    contract_size: Decimal
    inverse: bool
    leverage: Decimal | None = None
    margin_mode: MarginMode = MarginMode.CROSS
    isolated_margin: Decimal | None = None
    stop_price: Decimal | None = None
    target_price: Decimal | None = None
    mark_price: Decimal | None = None
    exchange_liquidation_price: Decimal | None = None
    setup: str = ""
    notes: str = ""
    rating: int | None = None
    tags: tuple[str, ...] = ()
    computed_pnl: Decimal | None = None

    @property
    def is_open(self) -> bool:
        return self.status is PositionStatus.OPEN

    @property
    def pnl_source(self) -> str:
        """Where ``realized_pnl`` comes from: ``"exchange"`` or ``"fills"``."""
        return "fills" if self.computed_pnl is None else "exchange"

    @property
    def net_pnl(self) -> Decimal:
        """Realised PnL net of fees and funding (settlement currency)."""
        return self.realized_pnl - self.fees + self.funding

    @property
    def initial_risk(self) -> Decimal | None:
        """Loss at the stop for the largest size held (settle ccy, > 0), or None without stop."""
        if self.stop_price is None or self.stop_price <= 0:
            return None
        q = self.max_contracts * self.contract_size
        if self.inverse:
            risk = q * abs(ONE / self.stop_price - ONE / self.entry_price)
        else:
            risk = q * abs(self.entry_price - self.stop_price)
        return risk if risk > 0 else None

    @property
    def r_multiple(self) -> Decimal | None:
        """``net_pnl`` in units of the initial risk (closed positions with a stop only)."""
        risk = self.initial_risk
        if risk is None or self.is_open:
            return None
        return self.net_pnl / risk


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: ``amount`` contracts (> 0) bought or sold at ``price``.

    ``fee`` > 0 is paid, in ``fee_currency``. ``position_id`` is the position this fill
    belongs to; ``next_position_id`` is set when the fill flipped through zero and its
    remainder opened that position.
    """

    id: FillId
    account_id: AccountId
    symbol: str
    leg: str
    time: datetime
    side: str
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    trade_id: str | None
    order_id: str | None
    source: str
    position_id: JournalPositionId | None
    next_position_id: JournalPositionId | None
    note: str = ""
    realized_pnl: Decimal | None = None  # the exchange's figure (settle currency), if any


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """``amount`` > 0 received, < 0 paid, in ``currency``; attributed to ``position_id``."""

    id: int
    account_id: AccountId
    symbol: str
    time: datetime
    amount: Decimal
    currency: str
    exchange_id: str | None
    position_id: JournalPositionId | None


@dataclass(frozen=True, slots=True)
class Transfer:
    """``amount`` > 0 came into the account, < 0 left it."""

    id: int
    account_id: AccountId
    time: datetime
    currency: str
    amount: Decimal
    kind: str
    exchange_id: str | None
    note: str


@dataclass(frozen=True, slots=True)
class BalanceSnapshot:
    account_id: AccountId
    time: datetime
    currency: str
    wallet_balance: Decimal
    available: Decimal | None
    unrealized_pnl: Decimal | None


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    account_id: AccountId
    time: datetime
    currency: str
    equity: Decimal
    wallet_balance: Decimal | None
    unrealized_pnl: Decimal | None
    margin_ratio: Decimal | None


@dataclass(frozen=True, slots=True)
class ExchangePosition:
    """The exchange's own view of one open position (synced; replaces the previous set).

    ``side`` long/short; ``contracts`` > 0; prices in quote currency; ``isolated_margin``
    and ``unrealized_pnl`` in the settlement currency. An account holds at most one per
    (symbol, side, margin mode).
    """

    symbol: str
    side: Side
    contracts: Decimal
    entry_price: Decimal
    mark_price: Decimal
    leverage: Decimal
    margin_mode: MarginMode = MarginMode.CROSS
    isolated_margin: Decimal | None = None
    contract_size: Decimal = ONE
    inverse: bool = False
    liquidation_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Statistics:
    """Performance of the closed positions in one settlement currency.

    Money in ``currency``; ``net_pnl`` = realised − fees + funding. ``win_rate`` is a
    fraction (0..1). ``profit_factor`` = gross profit / |gross loss| (None without losing
    trades). ``expectancy`` = mean net PnL per trade. ``average_r`` over ``r_trades``
    (closed positions that had a stop). ``max_drawdown`` is the largest peak-to-trough fall
    of cumulative net PnL in close order (≥ 0, currency units).

    ``other_fees``: fees the closed positions paid in a third currency (e.g. BNB on
    Binance), per fee currency, positive = paid. They are **not** in ``fees`` nor in
    ``net_pnl`` (or any figure derived from it): the journal stores no conversion rate,
    so they are reported apart for the user to net by hand.
    """

    currency: str
    trades: int
    wins: int
    losses: int
    breakeven: int
    win_rate: Decimal | None
    gross_profit: Decimal
    gross_loss: Decimal
    profit_factor: Decimal | None
    expectancy: Decimal | None
    average_win: Decimal | None
    average_loss: Decimal | None
    average_r: Decimal | None
    r_trades: int
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    net_pnl: Decimal
    max_drawdown: Decimal
    longest_win_streak: int
    longest_loss_streak: int
    open_positions: int
    other_fees: Mapping[str, Decimal] = field(default_factory=dict)
