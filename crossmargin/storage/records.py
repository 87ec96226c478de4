"""What the journal API takes and returns: plain frozen dataclasses, never database rows.

The records it returns (accounts, positions, fills, …) are defined in
:mod:`crossmargin.domain.records` and re-exported here; what it takes (``NewFill``,
``SyncBatch``, filters) and its change descriptor (``OpChanges``) live here.

Units and signs (every class below)
-----------------------------------
* Times are timezone-aware UTC :class:`~datetime.datetime` (convert to local time only
  for display).
* Money, prices and sizes are :class:`~decimal.Decimal`, exactly as stored.
* ``contracts``/``amount`` are positive numbers of exchange contracts; the direction is
  ``side`` (:class:`~crossmargin.domain.Side` for positions, ``"buy"``/``"sell"`` for fills).
* Position money (``realized_pnl``, ``fees``, ``funding``, ``net_pnl``) is in the account's
  settlement currency (``settle``). ``fees`` > 0 is a cost; ``funding`` > 0 was received.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from crossmargin.domain import ZERO, CollateralMode, Side, Tier, ValueRatioTier
from crossmargin.domain.records import (
    Account,
    AccountId,
    AccountKind,
    BalanceSnapshot,
    EquitySnapshot,
    ExchangePosition,
    Fill,
    FillId,
    FundingPayment,
    Instrument,
    JournalPosition,
    JournalPositionId,
    PositionMode,
    PositionStatus,
    Statistics,
    Transfer,
)

T = TypeVar("T")


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class NewFill:
    """A fill to store. ``time`` must be timezone-aware; ``amount`` > 0 contracts.

    ``leg`` is ``"net"`` on one-way accounts, ``"long"``/``"short"`` for hedge-mode legs.
    ``trade_id`` (the exchange's) makes re-imports and re-syncs idempotent; without it a
    content hash is used.
    """

    symbol: str
    side: str
    price: Decimal
    amount: Decimal
    time: datetime
    fee: Decimal = ZERO
    fee_currency: str = ""
    trade_id: str | None = None
    order_id: str | None = None
    leg: str = "net"
    note: str = ""
    realized_pnl: Decimal | None = None  # the exchange's figure for this fill, if it gave one


@dataclass(frozen=True, slots=True)
class NewFunding:
    """A funding payment to store: ``amount`` > 0 received, < 0 paid."""

    symbol: str
    time: datetime
    amount: Decimal
    currency: str
    exchange_id: str | None = None
    leg: str | None = None


@dataclass(frozen=True, slots=True)
class NewTransfer:
    """A deposit (> 0), withdrawal (< 0) or transfer."""

    time: datetime
    currency: str
    amount: Decimal
    kind: str = "transfer"
    exchange_id: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class BalanceIn:
    """One currency's balance in a sync cycle (time = the batch's ``fetched_at``).

    ``wallet_balance`` is the currency's whole wallet (isolated wallets included), excluding
    unrealised PnL, as exchanges report it.
    """

    currency: str
    wallet_balance: Decimal
    available: Decimal | None = None
    unrealized_pnl: Decimal | None = None


@dataclass(frozen=True, slots=True)
class EquityIn:
    """Account equity at the batch's ``fetched_at`` (settle ccy)."""

    currency: str
    equity: Decimal
    wallet_balance: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    margin_ratio: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SyncBatch:
    """Everything one sync cycle fetched for one account, applied all-or-nothing.

    * ``fetched_at``: aware UTC time of the cycle (balance/equity snapshot time).
    * ``positions``: the complete set of open positions on the exchange, replacing the
      previous set; ``None`` means "not fetched this cycle" (the stored set is kept),
      ``()`` means "no open position". At most one per (symbol, side, margin mode): a
      cross and an isolated position on one symbol (OKX) are both kept; a repeated key is
      refused (InputError naming ``batch.positions[i]``).
    * ``fills``/``funding``/``transfers``: new records; duplicates (same exchange trade id,
      funding id or transfer id) are skipped, so overlapping fetch windows are safe.
    * ``instruments``: upserted by symbol. ``tiers``: symbol → full bracket table,
      replacing that symbol's stored tiers (other symbols untouched).
    * ``cursors``: endpoint → opaque cursor text, stored only if the batch commits.
    * ``collateral_mode``: the account's mode as the exchange reports it (``None``: not
      fetched, kept); ``collateral_rates``: each asset's value as collateral, upserted.
    """

    fetched_at: datetime
    balances: Sequence[BalanceIn] = ()
    positions: Sequence[ExchangePosition] | None = None
    fills: Sequence[NewFill] = ()
    funding: Sequence[NewFunding] = ()
    transfers: Sequence[NewTransfer] = ()
    instruments: Sequence[Instrument] = ()
    tiers: Mapping[str, Sequence[Tier]] = field(default_factory=dict)
    equity: EquityIn | None = None
    cursors: Mapping[str, str] = field(default_factory=dict)
    collateral_mode: CollateralMode | None = None
    collateral_rates: Sequence[CollateralRate] = ()


@dataclass(frozen=True, slots=True)
class CollateralRate:
    """One asset's ``price`` (in the account's settlement currency) and collateral value
    ``ratios`` (lowest tier first; empty: counted whole) as of ``updated_at``."""

    asset: str
    price: Decimal
    ratios: tuple[ValueRatioTier, ...] = ()
    updated_at: datetime | None = None


# ---------------------------------------------------------------- queries and results


@dataclass(frozen=True, slots=True)
class PositionFilter:
    """Which positions a query or statistic covers (every field optional, all ANDed).

    ``since``/``until`` bound the position's activity time: its close time when closed,
    its open time when open (``since <= t < until``). ``account`` is an id or a label.
    """

    account: int | str | Account | None = None
    symbol: str | None = None
    status: PositionStatus | None = None
    tag: str | None = None
    side: Side | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a query: ``items`` (newest first), ``total`` matches overall."""

    items: tuple[T, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


#: what ``Journal.statistics_by`` groups by (weekday, hour and day in this computer's
#: local time, month in UTC)
STAT_GROUPS = ("symbol", "setup", "tag", "side", "account", "month", "weekday", "hour", "day")


@dataclass(frozen=True, slots=True)
class TradeResult:
    """One closed position's outcome, for distributions and calendars: ``net`` =
    realised − fees + funding in ``currency``; ``r`` = net / initial risk (None without a
    stop)."""

    position_id: int
    symbol: str
    closed_at: datetime
    currency: str
    net: Decimal
    fees: Decimal
    funding: Decimal
    r: Decimal | None


@dataclass(frozen=True, slots=True)
class OpChanges:
    """What a write changed, so each view refreshes only what concerns it (like Anki's).

    Boolean flags per kind of data, the ids touched, and ``id`` of the main object the
    operation created (position, fill, account...) when there is one. ``inserted`` counts
    new rows per kind; ``duplicates`` counts records skipped as already stored.
    """

    accounts: bool = False
    instruments: bool = False
    tiers: bool = False
    positions: bool = False
    fills: bool = False
    funding: bool = False
    transfers: bool = False
    balances: bool = False
    equity: bool = False
    exchange_positions: bool = False
    cursors: bool = False
    account_ids: frozenset[int] = frozenset()
    position_ids: frozenset[int] = frozenset()
    id: int | None = None
    inserted: Mapping[str, int] = field(default_factory=dict)
    duplicates: int = 0
    saved_copy: str | None = None  # where the operation saved the previous content (restore)

    @classmethod
    def everything(cls, **ids: Any) -> OpChanges:
        """Every kind of data flagged as changed (a restore, a deleted account); ``ids``:
        optional ``account_ids``/``position_ids``/``id``/``saved_copy``."""
        flags: dict[str, Any] = {f.name: True for f in fields(cls) if isinstance(f.default, bool)}
        return replace(cls(**ids), **flags)

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) is True for f in fields(self))

    def merge(self, other: OpChanges) -> OpChanges:
        flags = {
            f.name: getattr(self, f.name) or getattr(other, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), bool)
        }
        counts = dict(self.inserted)
        for k, v in other.inserted.items():
            counts[k] = counts.get(k, 0) + v
        return replace(
            self,
            **flags,
            account_ids=self.account_ids | other.account_ids,
            position_ids=self.position_ids | other.position_ids,
            id=self.id if self.id is not None else other.id,
            inserted=counts,
            duplicates=self.duplicates + other.duplicates,
        )


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A CSV row that was not imported: 1-based ``line`` in the file and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Outcome of a CSV import (or its dry run: nothing written, ``changes`` is None)."""

    file: str
    preset: str
    rows: int
    new: int
    duplicates: int
    rejected: tuple[RejectedRow, ...]
    preview: tuple[NewFill, ...]
    dry_run: bool
    changes: OpChanges | None = None
    decimal: str = "."  # the file's decimal separator, as every number was read
    decimal_reason: str = ""  # how it was decided (a line that proves it, or "given")
    preset_reason: str = ""  # "given", or what in the header picked ``preset`` (auto)

__all__ = [  # the records are re-exported: `from crossmargin.storage import Fill` stays
    "STAT_GROUPS",
    "Account",
    "AccountId",
    "AccountKind",
    "BalanceIn",
    "BalanceSnapshot",
    "CollateralRate",
    "EquityIn",
    "EquitySnapshot",
    "ExchangePosition",
    "Fill",
    "FillId",
    "FundingPayment",
    "ImportReport",
    "Instrument",
    "JournalPosition",
    "JournalPositionId",
    "NewFill",
    "NewFunding",
    "NewTransfer",
    "OpChanges",
    "Page",
    "PositionFilter",
    "PositionMode",
    "PositionStatus",
    "RejectedRow",
    "Statistics",
    "SyncBatch",
    "TradeResult",
    "Transfer",
]
