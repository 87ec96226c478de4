"""Journal work the desktop app runs on the serial task queue (never on the GUI thread).

Each function takes an open :class:`crossmargin.storage.Journal` and returns plain
domain objects, so the GUI never touches SQL (the journal's public API does). They
run on :class:`desktop.tasks.TaskRunner`'s serial worker, one at a time, which also
serialises every write.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from crossmargin.domain import AccountState, MarginMode, RuleSet, Side
from crossmargin.errors import CrossMarginError, InputError
from crossmargin.storage import (
    Account,
    AccountKind,
    Fill,
    Instrument,
    Journal,
    JournalPosition,
    NewFill,
    OpChanges,
    Page,
    PositionFilter,
    PositionStatus,
    Statistics,
    TradeResult,
)
from desktop.demo import History
from desktop.session import RiskSnapshot, risk_snapshot

log = logging.getLogger(__name__)


def canonical_symbol(text: str) -> str:
    """The journal's name for a typed symbol (or the text, which the journal then refuses
    with the reason)."""
    from crossmargin.symbols import SymbolError, canonical

    try:
        return canonical(text)
    except SymbolError:
        return text

def open_journal(path: Path) -> Journal:
    """Open (or create) the journal at ``path`` for this window (worker thread): one window
    per journal; the CLI may read and write beside it."""
    return Journal.open(path, exclusive=True)


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One journal account for the accounts list: the record and its open-position count."""

    account: Account
    open_positions: int


def list_accounts(journal: Journal) -> list[AccountSummary]:
    out = []
    for acct in journal.accounts():
        out.append(AccountSummary(acct, len(journal.open_positions(acct.id))))
    return out


@dataclass(frozen=True, slots=True)
class AccountBook:
    """What the main window shows for a journal account (built on a worker)."""

    account: Account
    state: AccountState
    history: History
    sources: tuple[str, ...] = ()  # where the inputs came from (Journal.account_inputs)
    #: the engine's figures for ``state``, computed by the same task (None: it refused
    #: the book; the session then evaluates again and says why)
    snapshot: RiskSnapshot | None = None


def load_account(journal: Journal, account_id: int) -> AccountBook:
    """The engine input and the equity history of one account (raises InputError)."""
    acct = journal.account(account_id)
    inputs = journal.account_inputs(account_id)
    state = inputs.state
    if not state.label:
        state = state.with_(label=acct.label)
    snaps = journal.equity_history(account_id)
    t = np.array([s.time.timestamp() for s in snaps], dtype=np.float64)
    equity = np.array([float(s.equity) for s in snaps], dtype=np.float64)
    ratio = np.array(
        [np.nan if s.margin_ratio is None else float(s.margin_ratio) for s in snaps],
        dtype=np.float64,
    )
    moves = [x for x in journal.transfers(account_id)
             if x.currency == state.settle and x.kind in ("deposit", "withdrawal", "transfer")]
    transfer_t = np.array([x.time.timestamp() for x in moves], dtype=np.float64)
    transfer_amount = np.array([float(x.amount) for x in moves], dtype=np.float64)
    try:
        snapshot: RiskSnapshot | None = risk_snapshot(state, time.time())
    except (CrossMarginError, ArithmeticError, ValueError):
        snapshot = None
    return AccountBook(acct, state, History(t, equity, ratio, transfer_t, transfer_amount),
                       inputs.sources, snapshot)


@dataclass(frozen=True, slots=True)
class NewAccountRequest:
    """A manual account created together with its first logged position."""

    label: str
    settle: str
    wallet_balance: Decimal
    exchange_id: str | None = None  # its rules, tiers and public marks; None = generic


@dataclass(frozen=True, slots=True)
class LogPositionRequest:
    """A position typed into the "Log a position" dialog (validated numbers).

    Prices in the quote currency, ``contracts`` > 0, ``isolated_margin`` and the
    wallet in the settlement currency. ``leverage`` None: the account's default.
    ``maintenance_margin_rate``: for an account on generic rules (no exchange named),
    the rate the user typed, stored as the symbol's instrument spec; accounts on a
    named exchange use its tier tables and never a typed or default rate.
    """

    account_id: int | None
    new_account: NewAccountRequest | None
    symbol: str
    side: Side
    contracts: Decimal
    entry_price: Decimal
    leverage: Decimal | None
    margin_mode: MarginMode
    isolated_margin: Decimal | None = None
    mark_price: Decimal | None = None
    stop_price: Decimal | None = None
    target_price: Decimal | None = None
    maintenance_margin_rate: Decimal | None = None
    opened_at: datetime | None = None  # None: now
    fee: Decimal | None = None  # the opening fee, settlement currency
    setup: str = ""
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def _split_symbol(symbol: str, settle: str) -> tuple[str, str, str]:
    main, _, sym_settle = symbol.partition(":")
    base, _, quote = main.partition("/")
    quote = quote or settle
    return base, quote, (sym_settle.partition("-")[0] or settle)


def log_position(journal: Journal, req: LogPositionRequest) -> int:
    """Store a hand-logged position (and its new account); return the account id.

    All or nothing from the user's point of view: when the position is refused, an
    account created for it in this call is deleted again.
    """
    created: int | None = None
    if req.new_account is not None:
        na = req.new_account
        changes = journal.create_account(
            na.label, kind=AccountKind.MANUAL, rules=RuleSet.GENERIC, settle=na.settle,
            exchange_id=na.exchange_id,
        )
        created = changes.id
        account_id = created
    else:
        account_id = req.account_id
    if account_id is None:
        raise InputError("account: choose an account or create a new one")
    try:
        acct = journal.account(account_id)
        if req.new_account is not None:
            journal.record_balance(account_id, req.new_account.wallet_balance)
        symbol = canonical_symbol(req.symbol)
        known = {i.symbol for i in journal.instruments(account_id)}
        if req.maintenance_margin_rate is not None and symbol not in known \
                and symbol not in journal.tiers(account_id):
            base, quote, settle = _split_symbol(symbol, acct.settle)
            journal.set_instrument(
                account_id,
                Instrument(symbol, base, quote, settle,
                           maintenance_margin_rate=req.maintenance_margin_rate),
            )
        annotations: dict[str, Any] = {
            "margin_mode": req.margin_mode,
            "setup": req.setup,
            "notes": req.notes,
        }
        for name in ("leverage", "isolated_margin", "mark_price", "stop_price", "target_price"):
            value = getattr(req, name)
            if value is not None:
                annotations[name] = value
        journal.add_position(
            account_id, req.symbol, req.side, req.contracts, req.entry_price,
            time=req.opened_at, fee=req.fee or Decimal(0), tags=req.tags, **annotations,
        )
    except BaseException:
        if created is not None:
            try:
                journal.delete_account(created)
            except Exception:  # pragma: no cover - best effort undo
                log.exception("could not remove the account created for a refused position")
        raise
    return account_id


def list_journal_backups(path: Path) -> list[Any]:
    """The journal's backups, newest first, each checked (worker thread)."""
    from crossmargin.storage.backups import list_backups

    return list_backups(path)


def restore_journal(path: Path, journal: Journal | None, backup: Path) -> tuple[Journal, str]:
    """Restore ``backup`` into the journal at ``path`` (opened for the restore if it could
    not be opened, e.g. damaged); returns the journal and where its old content was saved
    (serial worker)."""
    if journal is None:
        journal = Journal.open(path, allow_damaged=True, exclusive=True)
    changes = journal.restore(backup)
    return journal, changes.saved_copy or ""


def remember_marks(journal: Journal, account: str, marks: dict[str, Decimal]) -> None:
    """Store live marks on the account's open journal positions (worker thread)."""
    journal.record_marks(account, marks)


PAGE_SIZE = 500  # rows per page of the Journal tab's tables


@dataclass(frozen=True, slots=True)
class JournalPage:
    """The Journal tab's data for one account.

    ``positions``: the first page (newest opened first) of the positions matching
    ``status`` (None = all), ``total`` of them overall; ``fills`` the first page of the
    account's fills (newest first), ``fills_total`` overall. ``pnl_t``/``pnl``: the
    cumulative net PnL of every closed position in close order (UNIX seconds, settlement
    currency; starts at 0 when the first of them was opened).
    """

    account: Account
    positions: tuple[JournalPosition, ...]
    total: int
    statistics: tuple[Statistics, ...]
    loaded_at: datetime
    fills: tuple[Fill, ...] = ()
    fills_total: int = 0
    pnl_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pnl: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _position_filter(account_id: int, status: str | None) -> PositionFilter:
    return PositionFilter(account=account_id,
                          status=PositionStatus(status) if status else None)


def pnl_curve(journal: Journal, account_id: int, ctx: Any = None,
              ) -> tuple[np.ndarray, np.ndarray] | None:
    """Cumulative net PnL of every closed position, in close order (see JournalPage).

    Reads every closed position (about 1.5 s for 50,000), so the Journal tab asks for it
    in its own task after the first pages; ``ctx`` (a TaskContext) makes it stop early,
    returning None, when a newer request superseded it.
    """
    filt = _position_filter(account_id, "closed")
    closed: list[JournalPosition] = []
    offset = 0
    while True:
        if ctx is not None and ctx.cancelled:
            return None
        page = journal.positions(filt, offset=offset, limit=2000)
        closed.extend(page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    closed = sorted((p for p in closed if p.closed_at is not None),
                    key=lambda p: p.closed_at or datetime.min)
    if not closed:
        return np.zeros(0), np.zeros(0)
    t = np.array([min(p.opened_at.timestamp() for p in closed)]
                 + [p.closed_at.timestamp() for p in closed if p.closed_at], dtype=np.float64)
    pnl = np.concatenate([[0.0], np.cumsum([float(p.net_pnl) for p in closed])])
    return t, pnl


@dataclass(frozen=True, slots=True)
class Review:
    """What the Review tab shows for one account: statistics per group and every closed
    trade (close order) for the calendar, the R distribution and the drawdown."""

    group_by: str
    groups: dict[str, list[Statistics]]
    trades: tuple[TradeResult, ...]


def review(journal: Journal, account_id: int, group_by: str) -> Review:
    """Statistics of ``account_id`` grouped by ``group_by``, and its closed trades."""
    filt = PositionFilter(account=account_id)
    return Review(group_by, journal.statistics_by(group_by, filt),
                  tuple(journal.trade_results(filt)))


def journal_page(journal: Journal, account_id: int, limit: int = PAGE_SIZE,
                 status: str | None = None, fills_limit: int = PAGE_SIZE,
                 with_curve: bool = False) -> JournalPage:
    """First pages of positions and fills and the statistics (worker thread); the PnL
    curve too when ``with_curve`` (the tab reads it separately: see :func:`pnl_curve`)."""
    acct = journal.account(account_id)
    page = journal.positions(_position_filter(account_id, status), limit=limit)
    fills = journal.fills(account=account_id, limit=fills_limit)
    stats = journal.statistics(PositionFilter(account=account_id))
    curve = pnl_curve(journal, account_id) if with_curve else None
    t, pnl = curve if curve is not None else (np.zeros(0), np.zeros(0))
    return JournalPage(acct, page.items, page.total, tuple(stats), datetime.now(),
                       fills.items, fills.total, t, pnl)


def positions_page(journal: Journal, account_id: int, offset: int,
                   status: str | None = None, limit: int = PAGE_SIZE) -> Page[JournalPosition]:
    """Positions from ``offset`` on, newest opened first (incremental loading)."""
    return journal.positions(_position_filter(account_id, status), offset=offset, limit=limit)


def fills_page(journal: Journal, account_id: int, offset: int,
               limit: int = PAGE_SIZE) -> Page[Fill]:
    """Fills from ``offset`` on, newest first (incremental loading)."""
    return journal.fills(account=account_id, offset=offset, limit=limit)


FILL_EDITABLE = ("time", "side", "price", "amount", "fee", "fee_currency", "note")

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Written(Generic[V]):
    """A write's outcome: what undo needs (``value``) and what the journal says changed
    (``changes``, passed up to the views so each refreshes only what concerns it)."""

    value: V
    changes: OpChanges


def edit_fill(journal: Journal, fill_id: int, changes: dict[str, object]
              ) -> Written[dict[str, object]]:
    """Apply ``changes`` to a fill (its positions are re-derived); the value is the
    previous values of the changed fields (for undo)."""
    before = journal.fill(fill_id)
    previous = {name: getattr(before, name) for name in changes}
    return Written(previous, journal.edit_fill(fill_id, **changes))


def close_position(journal: Journal, position_id: int, values: dict[str, Any]
                   ) -> Written[int]:
    """Close (part of) a position with one reducing fill; the value is that fill's id
    (undo deletes it again)."""
    changes = journal.close_position(
        position_id, values["price"], contracts=values.get("contracts"),
        time=values.get("time"), fee=values.get("fee") or Decimal(0),
    )
    assert changes.id is not None
    return Written(int(changes.id), changes)


def add_fill_to(journal: Journal, position_id: int, values: dict[str, Any]) -> Written[int]:
    """Store one fill on a position's contract and leg (scale in or reduce); the value is
    its id."""
    pos = journal.position(position_id)
    changes = journal.add_fill(pos.account_id, NewFill(
        symbol=pos.symbol, side=values["side"], price=values["price"],
        amount=values["amount"], time=values["time"], fee=values.get("fee") or Decimal(0),
        leg=pos.leg,
    ))
    if changes.id is None:
        raise InputError("an identical fill is already stored; nothing was changed")
    return Written(int(changes.id), changes)


def delete_fill(journal: Journal, fill_id: int) -> Written[Fill]:
    """Delete a fill (its positions are re-derived); the value is the fill (undo stores it
    again)."""
    before = journal.fill(fill_id)
    return Written(before, journal.delete_fill(fill_id))


def restore_fill(journal: Journal, fill: Fill) -> Written[int]:
    """Store a deleted fill again (same fields, trade id and source); the value is its new
    id."""
    new = NewFill(symbol=fill.symbol, side=fill.side, price=fill.price, amount=fill.amount,
                  time=fill.time, fee=fill.fee, fee_currency=fill.fee_currency,
                  trade_id=fill.trade_id, order_id=fill.order_id, leg=fill.leg, note=fill.note)
    changes = journal.add_fill(fill.account_id, new, source=fill.source)
    if changes.id is None:
        raise InputError("the deleted fill could not be stored again: an identical fill "
                         "is already in the journal")
    return Written(int(changes.id), changes)


def export(journal: Journal, kind: str, dest: Path, account_id: int | None) -> str:
    """Write an export (atomic: a failure leaves no partial file); return a one-line summary.

    ``positions``/``fills``/``funding``: that account's rows as CSV (every account when
    ``account_id`` is None); ``journal``: the whole journal as JSON.
    """
    from crossmargin.storage import export as ex

    if kind == "positions":
        n = ex.export_positions_csv(journal, dest, PositionFilter(account=account_id))
        return f"Exported {n} positions to {dest}"
    if kind == "fills":
        n = ex.export_fills_csv(journal, dest, account_id)
        return f"Exported {n} fills to {dest}"
    if kind == "funding":
        n = ex.export_funding_csv(journal, dest, account_id)
        return f"Exported {n} funding payments to {dest}"
    if kind == "journal":
        counts = ex.export_json(journal, dest)
        parts = ", ".join(f"{v} {k}" for k, v in counts.items())
        return f"Exported the whole journal ({parts}) to {dest}"
    raise InputError(f"export: unknown kind {kind!r}")


EDITABLE = ("stop_price", "target_price", "setup", "notes", "rating", "tags")


def edit_position(journal: Journal, position_id: int, changes: dict[str, object]
                  ) -> Written[dict[str, object]]:
    """Apply ``changes`` to a position's own fields; the value is the previous values (for
    undo)."""
    before = journal.position(position_id)
    previous = {name: getattr(before, name) for name in changes if name not in OPENING}
    if "tags" in previous:
        previous["tags"] = list(before.tags)
    if OPENING.keys() & changes.keys():
        fill = journal.opening_fill(position_id)
        previous.update({name: getattr(fill, OPENING[name]) for name in changes
                         if name in OPENING})
    return Written(previous, journal.edit_position(position_id, **changes))


#: The position fields that are its opening fill's, and that fill's names for them.
OPENING = {"opening_size": "amount", "entry_price": "price", "opened_at": "time"}


def opening_fill(journal: Journal, position_id: int) -> tuple[Fill | None, str]:
    """The fill that opened a position (its size, entry and open time), or None and the
    reason it has no single one (several fills opened it, or a flip did)."""
    try:
        return journal.opening_fill(position_id), ""
    except InputError as exc:
        return None, exc.problems[0]


def preview_import(journal: Journal, account_id: int, path: Path, preset: str = "auto"):
    """Dry run of a CSV fills import (nothing written): an ImportReport with a preview."""
    return journal.import_fills_csv(account_id, path, preset=preset, dry_run=True,
                                    preview_rows=20)


def run_import(journal: Journal, account_id: int, path: Path, preset: str = "auto"):
    """Import a CSV of fills in one transaction; bad rows are skipped and reported."""
    return journal.import_fills_csv(account_id, path, preset=preset)
