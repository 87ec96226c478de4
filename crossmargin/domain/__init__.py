"""Domain types shared by the engine, the journal, sync and the desktop app: the book
the engine evaluates (:mod:`.book`) and the journal's records (:mod:`.records`).

Everything here is plain data: frozen dataclasses and string enums, no I/O.
Money and sizes are :class:`decimal.Decimal`, never ``float``.
"""

from __future__ import annotations

from crossmargin.domain.book import (
    ONE,
    ZERO,
    AccountState,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Side,
    Tier,
)
from crossmargin.domain.collateral import (
    STABLE_ASSETS,
    Collateral,
    CollateralMode,
    ValueRatioTier,
)
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

__all__ = [
    "ONE",
    "STABLE_ASSETS",
    "ZERO",
    "Account",
    "AccountId",
    "AccountKind",
    "AccountState",
    "BalanceSnapshot",
    "Collateral",
    "CollateralMode",
    "EquitySnapshot",
    "ExchangePosition",
    "Fill",
    "FillId",
    "FundingPayment",
    "Instrument",
    "JournalPosition",
    "JournalPositionId",
    "MarginMode",
    "Position",
    "PositionId",
    "PositionMode",
    "PositionStatus",
    "RuleSet",
    "Side",
    "Statistics",
    "Tier",
    "Transfer",
    "ValueRatioTier",
]
