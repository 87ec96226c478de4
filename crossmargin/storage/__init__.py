"""The journal: CrossMargin's local SQLite store (Qt-free).

Use :class:`Journal` (``Journal.open(path)``); everything it takes and returns is in
:mod:`crossmargin.storage.records`. See :mod:`crossmargin.storage.journal` for the API,
:mod:`crossmargin.storage.db` for the file-safety rules, :mod:`crossmargin.storage.ledger`
for how positions are derived from fills.

Exchange sync writes one cycle with ``journal.apply_sync_batch(account, SyncBatch(...))``
(all-or-nothing; fills deduplicated by exchange trade id) and resumes from
``journal.sync_cursor(account, endpoint)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crossmargin.storage.db import (
    JournalCorruptError,
    JournalError,
    JournalLockedError,
    MigrationError,
    NotAJournalError,
    SchemaTooNewError,
    StorageError,
    backup_file,
)
from crossmargin.storage.records import (
    Account,
    AccountKind,
    BalanceIn,
    BalanceSnapshot,
    CollateralRate,
    EquityIn,
    EquitySnapshot,
    ExchangePosition,
    Fill,
    FundingPayment,
    ImportReport,
    Instrument,
    JournalPosition,
    NewFill,
    NewFunding,
    NewTransfer,
    OpChanges,
    Page,
    PositionFilter,
    PositionMode,
    PositionStatus,
    RejectedRow,
    Statistics,
    SyncBatch,
    TradeResult,
    Transfer,
)

if TYPE_CHECKING:
    from crossmargin.storage.journal import Journal, OpenInfo


def __getattr__(name: str) -> Any:
    """``Journal`` and ``OpenInfo`` load SQLAlchemy: imported on first use only, so the
    CLI's parser, ``whatif`` on a file and the readers stay fast (PEP 562)."""
    if name in ("Journal", "OpenInfo"):
        from crossmargin.storage import journal

        return getattr(journal, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Account",
    "AccountKind",
    "BalanceIn",
    "BalanceSnapshot",
    "CollateralRate",
    "EquityIn",
    "EquitySnapshot",
    "ExchangePosition",
    "Fill",
    "FundingPayment",
    "ImportReport",
    "Instrument",
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "JournalLockedError",
    "JournalPosition",
    "MigrationError",
    "NewFill",
    "NewFunding",
    "NewTransfer",
    "NotAJournalError",
    "OpChanges",
    "OpenInfo",
    "Page",
    "PositionFilter",
    "PositionMode",
    "PositionStatus",
    "RejectedRow",
    "SchemaTooNewError",
    "Statistics",
    "StorageError",
    "SyncBatch",
    "TradeResult",
    "Transfer",
    "backup_file",
]
