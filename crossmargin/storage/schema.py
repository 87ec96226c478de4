"""The journal's tables (SQLModel), schema version 2 (history in :mod:`.migrations`).

Conventions
-----------
* Every money, price and size column is :class:`~crossmargin.storage.coltypes.DecimalText`
  (exact TEXT); every time is :class:`~crossmargin.storage.coltypes.UTCMicros`
  (integer microseconds since the epoch, UTC).
* Amounts are in the account's settlement currency unless a ``currency`` /
  ``fee_currency`` column says otherwise. Signs: fills carry ``side`` (buy/sell) and a
  positive ``amount`` in contracts; ``funding.amount`` and ``transfer.amount`` are
  positive when money came INTO the account, negative when it left.
* ``position`` rows are *derived* from fills by :mod:`crossmargin.storage.ledger`
  (size, average entry/exit, realised PnL, fees, funding); their user columns
  (stop, target, leverage, notes, setup, rating, tags) survive every rebuild.
* No table ever holds an API key or secret.

The code talks to the tables through SQLAlchemy core (``Model.__table__``) for
speed; SQLModel gives one declarative definition with types and indexes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from crossmargin.storage.coltypes import DecimalText, UTCMicros

SCHEMA_VERSION = 4
"""The ``PRAGMA user_version`` this code writes; older files are migrated step by step."""

APPLICATION_ID = 0x434D4A31  # "CMJ1": marks a CrossMargin journal file (PRAGMA application_id)


def _dec(nullable: bool = False) -> Column:  # type: ignore[type-arg, unused-ignore]
    return Column(DecimalText(), nullable=nullable)


def _time(nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg, unused-ignore]
    return Column(UTCMicros(), nullable=nullable, index=index)


def _fk(target: str, ondelete: str = "CASCADE", nullable: bool = False) -> Column:  # type: ignore[type-arg, unused-ignore]
    return Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable)


class AccountRow(SQLModel, table=True):
    """A margin account: hand-logged (``manual``) or mirrored from an exchange."""

    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(sa_column=Column(String, nullable=False, unique=True))
    kind: str = Field(default="manual")  # manual | exchange
    exchange_id: str | None = None  # ccxt id, e.g. "binanceusdm"; never credentials
    rules: str = Field(default="generic")  # crossmargin.domain.RuleSet value
    settle: str = Field(default="USDT")
    margin_mode_default: str = Field(default="cross")
    position_mode: str = Field(default="one_way")  # one_way | hedge
    taker_fee_rate: Decimal = Field(default=Decimal(0), sa_column=_dec())
    notes: str = Field(default="")
    created_at: datetime = Field(sa_column=_time())
    positions_synced_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    # v3 (added last): leverage of the account's positions unless a position says otherwise
    default_leverage: Decimal | None = Field(default=None, sa_column=_dec(True))
    # v4 (added last): single | multi (pooled multi-asset collateral: Binance
    # Multi-Assets mode, Bybit UTA cross margin, OKX multi-currency margin)
    collateral_mode: str | None = Field(default="single")  # NULL (upgraded rows): single


class InstrumentRow(SQLModel, table=True):
    """Contract specification of one symbol on one account (so what-if works offline)."""

    __tablename__ = "instrument"
    __table_args__ = (UniqueConstraint("account_id", "symbol"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    symbol: str
    base: str
    quote: str
    settle: str
    contract_size: Decimal = Field(default=Decimal(1), sa_column=_dec())
    inverse: bool = False
    maintenance_margin_rate: Decimal | None = Field(default=None, sa_column=_dec(True))
    max_leverage: Decimal | None = Field(default=None, sa_column=_dec(True))
    beta: Decimal | None = Field(default=None, sa_column=_dec(True))


class TierRow(SQLModel, table=True):
    """One maintenance-margin bracket of a symbol on an account (lowest ``ordinal`` first)."""

    __tablename__ = "tier"
    __table_args__ = (UniqueConstraint("account_id", "symbol", "ordinal"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    symbol: str
    ordinal: int
    min_notional: Decimal = Field(sa_column=_dec())
    max_notional: Decimal | None = Field(default=None, sa_column=_dec(True))
    maintenance_margin_rate: Decimal = Field(sa_column=_dec())
    maintenance_amount: Decimal | None = Field(default=None, sa_column=_dec(True))
    max_leverage: Decimal | None = Field(default=None, sa_column=_dec(True))


class PositionRow(SQLModel, table=True):
    """A position from open to flat, derived from its fills, plus the trader's notes."""

    __tablename__ = "position"
    __table_args__ = (
        Index("ix_position_account_opened", "account_id", "opened_at"),
        Index("ix_position_key", "account_id", "symbol", "leg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    symbol: str = Field(index=True)
    leg: str = Field(default="net")  # net (one-way) | long | short (hedge-mode legs)
    side: str  # long | short
    status: str = Field(index=True)  # open | closed
    open_fill_id: int | None = None
    opened_at: datetime = Field(sa_column=_time(index=True))
    closed_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    activity_at: datetime = Field(sa_column=_time(index=True))  # closed_at, else opened_at
    contracts: Decimal = Field(sa_column=_dec())  # still open (0 once closed)
    max_contracts: Decimal = Field(sa_column=_dec())
    closed_contracts: Decimal = Field(sa_column=_dec())
    entry_price: Decimal = Field(sa_column=_dec())  # average entry (VWAP; harmonic for inverse)
    exit_price: Decimal | None = Field(default=None, sa_column=_dec(True))  # average exit
    realized_pnl: Decimal = Field(sa_column=_dec())  # gross price PnL, settle ccy
    fees: Decimal = Field(sa_column=_dec())  # paid (positive = cost), settle ccy
    other_fees: str = Field(default="")  # fees in a third currency: "BNB=0.01;..."
    funding: Decimal = Field(sa_column=_dec())  # + received, - paid, settle ccy
    fill_count: int = 0
    leverage: Decimal | None = Field(default=None, sa_column=_dec(True))
    margin_mode: str = Field(default="cross")
    isolated_margin: Decimal | None = Field(default=None, sa_column=_dec(True))
    stop_price: Decimal | None = Field(default=None, sa_column=_dec(True))
    target_price: Decimal | None = Field(default=None, sa_column=_dec(True))
    mark_price: Decimal | None = Field(default=None, sa_column=_dec(True))
    exchange_liquidation_price: Decimal | None = Field(default=None, sa_column=_dec(True))
    setup: str = ""
    notes: str = ""
    rating: int | None = None
    # v3 (added last, as ALTER TABLE does): the PnL recomputed from the fills when
    # realized_pnl is the exchange's own figure, else NULL
    computed_pnl: Decimal | None = Field(default=None, sa_column=_dec(True))


class PositionTagRow(SQLModel, table=True):
    __tablename__ = "position_tag"

    position_id: int = Field(
        sa_column=Column(Integer, ForeignKey("position.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(sa_column=Column(String, primary_key=True, index=True))


class FillRow(SQLModel, table=True):
    """One execution. ``amount`` is in contracts (> 0); ``side`` is buy or sell."""

    __tablename__ = "fill"
    __table_args__ = (
        UniqueConstraint("account_id", "dedupe_key"),
        Index("ix_fill_key_time", "account_id", "symbol", "leg", "time"),
        Index("ix_fill_position", "position_id"),
        Index("ix_fill_next_position", "next_position_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    symbol: str
    leg: str = "net"
    time: datetime = Field(sa_column=_time(index=True))
    side: str  # buy | sell
    price: Decimal = Field(sa_column=_dec())
    amount: Decimal = Field(sa_column=_dec())
    fee: Decimal = Field(default=Decimal(0), sa_column=_dec())  # positive = paid
    fee_currency: str = ""
    trade_id: str | None = None  # exchange trade id
    order_id: str | None = None
    dedupe_key: str  # "t:<trade id>" or "h:<content hash>#n"
    source: str = "manual"  # manual | import | sync
    import_id: int | None = None
    position_id: int | None = Field(default=None, sa_column=_fk("position.id", "SET NULL", True))
    next_position_id: int | None = Field(
        default=None, sa_column=_fk("position.id", "SET NULL", True)
    )  # set when this fill flips through zero: the remainder opened this position
    note: str = ""
    # v3 (added last, as ALTER TABLE does): the exchange's realised PnL of this fill
    realized_pnl: Decimal | None = Field(default=None, sa_column=_dec(True))


class FundingRow(SQLModel, table=True):
    """A funding payment: ``amount`` > 0 received, < 0 paid, in ``currency``."""

    __tablename__ = "funding"
    __table_args__ = (
        UniqueConstraint("account_id", "dedupe_key"),
        Index("ix_funding_key_time", "account_id", "symbol", "time"),
        Index("ix_funding_position", "position_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    symbol: str
    leg: str | None = None
    time: datetime = Field(sa_column=_time())
    amount: Decimal = Field(sa_column=_dec())
    currency: str
    exchange_id: str | None = None
    dedupe_key: str
    position_id: int | None = Field(default=None, sa_column=_fk("position.id", "SET NULL", True))


class TransferRow(SQLModel, table=True):
    """Deposit, withdrawal or internal transfer: ``amount`` > 0 in, < 0 out."""

    __tablename__ = "transfer"
    __table_args__ = (UniqueConstraint("account_id", "dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    time: datetime = Field(sa_column=_time(index=True))
    currency: str
    amount: Decimal = Field(sa_column=_dec())
    kind: str = "transfer"  # deposit | withdrawal | transfer
    exchange_id: str | None = None
    dedupe_key: str
    note: str = ""


class BalanceSnapshotRow(SQLModel, table=True):
    """Wallet balance of one currency at one time (isolated wallets included, excluding uPnL)."""

    __tablename__ = "balance_snapshot"
    __table_args__ = (Index("ix_balance_account_time", "account_id", "time"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    time: datetime = Field(sa_column=_time())
    currency: str
    wallet_balance: Decimal = Field(sa_column=_dec())
    available: Decimal | None = Field(default=None, sa_column=_dec(True))
    unrealized_pnl: Decimal | None = Field(default=None, sa_column=_dec(True))


class CollateralRateRow(SQLModel, table=True):
    """What one asset is worth as collateral on one account (v4): its index price in the
    account's settlement currency and its collateral value ratio table (JSON list of
    ``{"up_to": quantity | null, "ratio": "0.95"}``, lowest first; ``[]``: counted whole)."""

    __tablename__ = "collateral_rate"
    __table_args__ = (UniqueConstraint("account_id", "asset"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    asset: str
    price: Decimal = Field(sa_column=_dec())
    ratios: str = Field(default="[]")
    updated_at: datetime = Field(sa_column=_time())


class EquitySnapshotRow(SQLModel, table=True):
    """Account equity (wallet + isolated margins + uPnL) at one time: the equity chart."""

    __tablename__ = "equity_snapshot"
    __table_args__ = (Index("ix_equity_account_time", "account_id", "time"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    time: datetime = Field(sa_column=_time())
    currency: str
    equity: Decimal = Field(sa_column=_dec())
    wallet_balance: Decimal | None = Field(default=None, sa_column=_dec(True))
    unrealized_pnl: Decimal | None = Field(default=None, sa_column=_dec(True))
    margin_ratio: Decimal | None = Field(default=None, sa_column=_dec(True))


class ExchangePositionRow(SQLModel, table=True):
    """The exchange's own view of an open position (replaced on every positions sync).

    One row per (account, symbol, side, margin mode): OKX lets a cross and an isolated
    position on the same instrument and side coexist (schema v2; v1 keyed without the mode).
    """

    __tablename__ = "exchange_position"
    __table_args__ = (UniqueConstraint("account_id", "symbol", "side", "margin_mode"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    symbol: str
    side: str
    contracts: Decimal = Field(sa_column=_dec())
    entry_price: Decimal = Field(sa_column=_dec())
    mark_price: Decimal = Field(sa_column=_dec())
    leverage: Decimal = Field(sa_column=_dec())
    margin_mode: str = "cross"
    isolated_margin: Decimal | None = Field(default=None, sa_column=_dec(True))
    contract_size: Decimal = Field(default=Decimal(1), sa_column=_dec())
    inverse: bool = False
    liquidation_price: Decimal | None = Field(default=None, sa_column=_dec(True))
    unrealized_pnl: Decimal | None = Field(default=None, sa_column=_dec(True))
    updated_at: datetime = Field(sa_column=_time())


class SyncCursorRow(SQLModel, table=True):
    """Where the last successful sync of (account, endpoint) stopped (opaque text)."""

    __tablename__ = "sync_cursor"

    account_id: int = Field(
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    )
    endpoint: str = Field(sa_column=Column(String, primary_key=True))
    value: str
    updated_at: datetime = Field(sa_column=_time())


class ImportBatchRow(SQLModel, table=True):
    """One CSV import (an audit trail; fills point back to it)."""

    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("account.id"))
    file_name: str
    preset: str
    imported_at: datetime = Field(sa_column=_time())
    rows_total: int
    rows_inserted: int
    rows_duplicate: int
    rows_rejected: int


class MetaRow(SQLModel, table=True):
    """Key/value facts about the file (creating app version, clean-shutdown flag...)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


TABLES = SQLModel.metadata.tables
account_t: Table = AccountRow.__table__  # type: ignore[attr-defined]
instrument_t: Table = InstrumentRow.__table__  # type: ignore[attr-defined]
tier_t: Table = TierRow.__table__  # type: ignore[attr-defined]
position_t: Table = PositionRow.__table__  # type: ignore[attr-defined]
position_tag_t: Table = PositionTagRow.__table__  # type: ignore[attr-defined]
fill_t: Table = FillRow.__table__  # type: ignore[attr-defined]
funding_t: Table = FundingRow.__table__  # type: ignore[attr-defined]
transfer_t: Table = TransferRow.__table__  # type: ignore[attr-defined]
balance_t: Table = BalanceSnapshotRow.__table__  # type: ignore[attr-defined]
collateral_rate_t: Table = CollateralRateRow.__table__  # type: ignore[attr-defined]
equity_t: Table = EquitySnapshotRow.__table__  # type: ignore[attr-defined]
exchange_position_t: Table = ExchangePositionRow.__table__  # type: ignore[attr-defined]
sync_cursor_t: Table = SyncCursorRow.__table__  # type: ignore[attr-defined]
import_batch_t: Table = ImportBatchRow.__table__  # type: ignore[attr-defined]
meta_t: Table = MetaRow.__table__  # type: ignore[attr-defined]

JOURNAL_TABLES = (
    account_t,
    instrument_t,
    tier_t,
    position_t,
    position_tag_t,
    fill_t,
    funding_t,
    transfer_t,
    balance_t,
    collateral_rate_t,
    equity_t,
    exchange_position_t,
    sync_cursor_t,
    import_batch_t,
    meta_t,
)
