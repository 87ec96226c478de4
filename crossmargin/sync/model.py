"""Plain data produced by one sync cycle: what the journal stores, all in ``Decimal``.

Nothing here imports ccxt. Every amount was parsed from the exchange's own string
fields (ccxt's ``info``) or from ccxt's numbers through ``str()``, never kept as a
binary float.

Units and signs
---------------
* Amounts are in the currency named next to them (``currency``/``settle``).
* ``FillRecord.amount`` is the traded size in contracts (> 0); ``side`` is ``buy``/``sell``.
* ``FillRecord.fee`` is the fee *paid* (> 0 = cost, < 0 = rebate), in ``fee_currency``.
* ``FundingRecord.amount`` is signed from the account's point of view: > 0 received,
  < 0 paid.
* ``BalanceRecord.wallet_balance`` excludes unrealised PnL; ``margin_balance`` includes it
  (Binance's futures ``total`` is the margin balance, which is why both are kept).
* Timestamps are integer milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from crossmargin.domain import CollateralMode, MarginMode, Side, Tier


@dataclass(frozen=True, slots=True)
class BalanceRecord:
    """One currency's balance at the time of the cycle.

    ``wallet_balance``: deposits + realised PnL (no unrealised PnL).
    ``margin_balance``: wallet + unrealised PnL (``None`` when the exchange does not say).
    ``free``/``used``: ccxt's available and locked amounts (``None`` when unknown).
    ``unrealized_pnl``: the exchange's figure for this currency (``None`` when unknown).
    """

    currency: str
    wallet_balance: Decimal
    margin_balance: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    free: Decimal | None = None
    used: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CollateralRateRecord:
    """What one asset counts for as collateral in a multi-asset account: ``price`` of one
    unit in the account's settlement currency, ``ratio`` its collateral value ratio."""

    asset: str
    price: Decimal
    ratio: Decimal


@dataclass(frozen=True, slots=True)
class PositionRecord:
    """An open position as the exchange reports it.

    ``key`` is stable across cycles for the same position (symbol, side and margin mode,
    or the exchange's position id when it has one). ``contracts`` > 0, direction in
    ``side``. ``liquidation_price`` is the exchange's own figure (``None`` when it reports
    none). ``isolated_margin`` is the position's own wallet in isolated mode.
    """

    key: str
    symbol: str
    side: Side
    margin_mode: MarginMode
    contracts: Decimal
    contract_size: Decimal
    entry_price: Decimal
    mark_price: Decimal | None
    leverage: Decimal | None
    liquidation_price: Decimal | None
    unrealized_pnl: Decimal | None
    settle: str
    inverse: bool = False
    isolated_margin: Decimal | None = None
    maintenance_margin: Decimal | None = None
    initial_margin: Decimal | None = None
    notional: Decimal | None = None
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution (a trade of ours), deduplicated by ``trade_id`` per account."""

    trade_id: str
    order_id: str | None
    symbol: str
    side: str
    amount: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str | None
    timestamp: int
    taker: bool | None = None
    realized_pnl: Decimal | None = None
    leg: str = "net"  # "long"/"short" for hedge-mode (dual-side) positions


@dataclass(frozen=True, slots=True)
class FundingRecord:
    """One funding payment; ``amount`` > 0 received, < 0 paid, in ``currency``."""

    funding_id: str
    symbol: str
    currency: str
    amount: Decimal
    timestamp: int
    rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """Money that moved into (> 0) or out of (< 0) the account without trading.

    ``kind`` is ``deposit``/``withdrawal`` for transfers in and out (the exchange's
    TRANSFER rows), ``transfer`` for moves between the venue's own wallets, and
    ``other`` for the venue's other non-trading credits and debits (rebates, bonuses,
    insurance clearance), named in ``note``. Deduplicated by ``transfer_id``.
    """

    transfer_id: str
    currency: str
    amount: Decimal
    timestamp: int
    kind: str = "transfer"
    note: str = ""


@dataclass(frozen=True, slots=True)
class TierTableRecord:
    """One symbol's maintenance-margin brackets, lowest first, as the exchange publishes them."""

    symbol: str
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class InstrumentRecord:
    """Contract spec from ccxt's markets: ``contract_size`` in base units (linear) or
    quote currency per contract (inverse)."""

    symbol: str
    base: str
    quote: str
    settle: str
    contract_size: Decimal
    inverse: bool


class SnapshotCompleteness(StrEnum):
    """Whether the positions list can replace the stored open positions.

    ``full``: the exchange answered for every position (an empty list means flat).
    ``unknown``: the reply was unusable; the stored positions must be kept as they are.
    """

    FULL = "full"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class FetchedCycle:
    """Everything one successful cycle learnt about one account, as the exchange said it
    (epoch-ms times, its free balance and margin balance, whether the position list is
    complete, marks, what the venue does not offer). Reconciliation and the cycle report
    read it; :func:`crossmargin.sync.journal_port.to_journal_batch` turns it into the
    journal's :class:`crossmargin.storage.SyncBatch`, applied atomically.

    ``cursors`` maps a cursor name (e.g. ``fills:BTC/USDT:USDT``) to its new value; the
    journal stores them in the same transaction as the rows, so an interrupted cycle
    leaves both where they were. ``tiers`` is empty unless the daily refresh ran.
    ``marks`` maps a symbol to its latest mark price (quote currency, > 0).
    ``margin_ratio`` is the engine's cross margin ratio of the settle account (or ``None``).
    """

    account: str
    exchange: str
    fetched_at: int
    settle: str
    balances: tuple[BalanceRecord, ...] = ()
    positions: tuple[PositionRecord, ...] = ()
    positions_complete: SnapshotCompleteness = SnapshotCompleteness.FULL
    fills: tuple[FillRecord, ...] = ()
    funding: tuple[FundingRecord, ...] = ()
    transfers: tuple[TransferRecord, ...] = ()
    tiers: tuple[TierTableRecord, ...] = ()
    instruments: tuple[InstrumentRecord, ...] = ()
    marks: Mapping[str, Decimal] = field(default_factory=dict)
    cursors: Mapping[str, str] = field(default_factory=dict)
    unsupported: tuple[str, ...] = ()
    margin_ratio: Decimal | None = None
    #: the account's collateral mode as the exchange reports it (None: not known), and in
    #: multi-asset mode what each asset counts for
    collateral_mode: CollateralMode | None = None
    collateral_rates: tuple[CollateralRateRecord, ...] = ()

    def balance(self, currency: str) -> BalanceRecord | None:
        for b in self.balances:
            if b.currency == currency:
                return b
        return None

    @property
    def settle_balance(self) -> BalanceRecord | None:
        return self.balance(self.settle)

    def summary(self) -> str:
        """One line for logs and the CLI (never contains secrets)."""
        return (
            f"{len(self.balances)} balances, {len(self.positions)} positions, "
            f"{len(self.fills)} fills, {len(self.funding)} funding, "
            f"{len(self.transfers)} transfers, {len(self.tiers)} tier tables"
        )
