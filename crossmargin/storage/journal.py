"""The Journal: the one facade the GUI, the CLI and exchange sync use for stored data.

Open it once at start-up and pass it in (``Journal.open(path)`` / ``with Journal.open()
as j``). Reads return domain objects (:mod:`crossmargin.storage.records`), never rows;
every write returns an :class:`~crossmargin.storage.records.OpChanges` describing what
changed so each view can refresh only what concerns it. Every write runs in one
``BEGIN IMMEDIATE`` transaction: it happens completely or not at all.

Threads: the object may be shared by threads (e.g. a GUI worker pool); writes are
serialised by an internal lock, reads run concurrently (WAL).

Positions are derived from fills (:mod:`.derivation`, :mod:`.ledger`): adding, editing
or deleting a fill re-derives the positions of its (account, symbol, leg) and
re-attributes the funding paid on that symbol, keeping each position's notes, tags,
stop and target. Hand-logged positions are fills too (``add_position`` stores the
opening fill, ``close_position`` a closing one), so both follow the same rules.

Exchange sync (``crossmargin.sync``) writes one cycle at a time with
:meth:`Journal.apply_sync_batch` (``SyncBatch``: balances, the full open-position set,
new fills/funding/transfers deduplicated by exchange ids, instruments, tiers, equity,
cursors), all-or-nothing, and reads its resume points with :meth:`Journal.sync_cursor`.

What-if: :meth:`Journal.build_scenario` turns an account's open positions, stored
instruments and tiers and latest wallet balance into a
:class:`crossmargin.domain.AccountState` for :mod:`crossmargin.margin`.

This class holds no logic of its own: the file, its transactions and its lifecycle are
:class:`.store.Store`; each operation is a function of one module below, taking the
store as its first argument, bound here as a method:

============================  =====================================================
:mod:`.accounts`              accounts
:mod:`.instruments`           contract specs and leverage tiers
:mod:`.fills`                 fills and the CSV import
:mod:`.positions`             logging, closing, editing and reading positions
:mod:`.cashflows`             funding, transfers, the wallet ledger
:mod:`.snapshots`             balance/equity snapshots, marks, pooled equity
:mod:`.sync_apply`            one exchange sync cycle, resume points
:mod:`.stat_queries`          statistics
:mod:`.scenario_inputs`       what-if inputs
:mod:`.derivation`            positions re-derived from fills (internal)
:mod:`.validation`, :mod:`.rows`  input checks; row converters and keys (internal)
============================  =====================================================
"""

from __future__ import annotations

from crossmargin.storage import accounts as _accounts
from crossmargin.storage import cashflows as _cashflows
from crossmargin.storage import collateral as _collateral
from crossmargin.storage import fills as _fills
from crossmargin.storage import instruments as _instruments
from crossmargin.storage import opening as _opening
from crossmargin.storage import positions as _positions
from crossmargin.storage import restore as _restore
from crossmargin.storage import scenario_inputs as _scenario_inputs
from crossmargin.storage import snapshots as _snapshots
from crossmargin.storage import stat_queries as _stat_queries
from crossmargin.storage import sync_apply as _sync_apply
from crossmargin.storage.derivation import finish_upgrade
from crossmargin.storage.keys import canonical_or_same, fill_dedupe_key
from crossmargin.storage.rows import LEGS, AccountRef, exchange_position_id
from crossmargin.storage.scenario_inputs import AccountInputs
from crossmargin.storage.store import OpenInfo, Store
from crossmargin.storage.validation import check_account_fields

__all__ = [
    "LEGS",
    "AccountInputs",
    "AccountRef",
    "Journal",
    "OpenInfo",
    "canonical_or_same",
    "exchange_position_id",
    "fill_dedupe_key",
]


class Journal(Store):
    """A journal file, open for reading and writing.

    Create with :meth:`Journal.open`; close with :meth:`close` (or use ``with``).
    """

    def _after_open(self) -> None:
        finish_upgrade(self)

    restore = _restore.restore

    # accounts
    create_account = _accounts.create_account
    check_account_fields = staticmethod(check_account_fields)
    update_account = _accounts.update_account
    delete_account = _accounts.delete_account
    account = _accounts.account
    accounts = _accounts.accounts

    # contract specs and leverage tiers
    set_instrument = _instruments.set_instrument
    instruments = _instruments.instruments
    set_tiers = _instruments.set_tiers
    replace_tiers = _instruments.replace_tiers
    tiers = _instruments.tiers

    # fills
    add_fill = _fills.add_fill
    add_fills = _fills.add_fills
    edit_fill = _fills.edit_fill
    delete_fill = _fills.delete_fill
    fill = _fills.fill
    import_fills_csv = _fills.import_fills_csv
    fills = _fills.fills

    # positions
    add_position = _positions.add_position
    close_position = _positions.close_position
    edit_position = _positions.edit_position
    opening_fill = _opening.opening_fill
    add_tags = _positions.add_tags
    remove_tags = _positions.remove_tags
    delete_position = _positions.delete_position
    position = _positions.position
    open_positions = _positions.open_positions
    symbols = _positions.symbols
    tags = _positions.tags
    positions = _positions.positions

    # funding, transfers, the wallet ledger
    add_funding = _cashflows.add_funding
    funding_payments = _cashflows.funding_payments
    add_transfers = _cashflows.add_transfers
    transfers = _cashflows.transfers
    wallet_explained = _cashflows.wallet_explained
    wallet_ledger = _cashflows.wallet_ledger

    # collateral (multi-asset accounts)
    set_collateral_rates = _collateral.set_collateral_rates
    collateral_rates = _collateral.collateral_rates

    # balance and equity snapshots, marks
    record_marks = _snapshots.record_marks
    record_balance = _snapshots.record_balance
    record_equity = _snapshots.record_equity
    balance_history = _snapshots.balance_history
    latest_balance = _snapshots.latest_balance
    equity_history = _snapshots.equity_history
    pooled_equity = _snapshots.pooled_equity

    # exchange sync
    exchange_positions = _sync_apply.exchange_positions
    sync_cursor = _sync_apply.sync_cursor
    sync_cursors = _sync_apply.sync_cursors
    apply_sync_batch = _sync_apply.apply_sync_batch

    # statistics and what-if inputs
    statistics = _stat_queries.statistics
    statistics_by = _stat_queries.statistics_by
    trade_results = _stat_queries.trade_results
    build_scenario = _scenario_inputs.build_scenario
    account_inputs = _scenario_inputs.account_inputs
    settlements = _scenario_inputs.settlements
