"""The selected account: its state, marks, latest risk figures and chart history.

:class:`AccountSession` is the one place the views get numbers from. It keeps the
account's :class:`AccountState`, applies mark updates, and re-evaluates the book
through the engine (``crossmargin.margin.evaluate`` and
``switched_liquidation_prices``) on a worker via :class:`desktop.tasks.TaskRunner`
with *latest wins*, then broadcasts one :class:`RiskSnapshot` to every view.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from crossmargin.domain import AccountState, PositionId
from crossmargin.margin import AccountRisk, evaluate, switched_liquidation_prices
from desktop.demo import History, SeriesBuffer
from desktop.errors import problems_of
from desktop.tasks import TaskRunner


class EntryKind(StrEnum):
    DEMO = "demo"
    SCENARIO = "scenario"
    JOURNAL = "journal"
    EXCHANGE = "exchange"


class EntryStatus(StrEnum):
    LIVE = "live"  # simulated or synced feed running
    STATIC = "static"  # a file: marks as saved
    STALE = "stale"
    ATTENTION = "attention"


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """One row of the accounts list. ``key`` is unique (``demo``, ``scenario:<path>``...)."""

    key: str
    kind: EntryKind
    label: str
    status: EntryStatus = EntryStatus.STATIC
    status_text: str = ""
    path: Path | None = None

    @property
    def journal_id(self) -> int | None:
        """The journal account id of a journal or exchange row (``None`` otherwise)."""
        kind, _, rest = self.key.partition(":")
        return int(rest) if kind == "journal" and rest.isdigit() else None


def journal_key(account_id: int) -> str:
    """The accounts-list key of journal account ``account_id`` (``journal:<id>``)."""
    return f"journal:{int(account_id)}"


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """The engine's answer for one state, computed on a worker thread.

    ``switched`` maps each position id to its liquidation price if it alone were
    switched to the other margin mode (``None`` = never liquidated). ``at`` is the
    UNIX time (UTC seconds) the marks refer to.
    """

    state: AccountState
    risk: AccountRisk
    switched: Mapping[PositionId, Decimal | None] = field(default_factory=dict)
    at: float = 0.0


def risk_snapshot(state: AccountState, at: float) -> RiskSnapshot:
    """Evaluate ``state`` (pure; runs on a worker thread)."""
    risk = evaluate(state)
    switched = switched_liquidation_prices(state) if state.positions else {}
    return RiskSnapshot(state=state, risk=risk,
                        switched={PositionId(k): v for k, v in switched.items()}, at=at)


def with_marks(state: AccountState, marks: Mapping[str, Decimal]) -> AccountState:
    """``state`` with every position of a symbol in ``marks`` moved to that mark (and the
    coins held as collateral with their contracts: :func:`crossmargin.margin.collateral.
    with_marks`)."""
    from crossmargin.margin.collateral import with_marks as moved

    return moved(state, dict(marks))


def ratio_float(value: Decimal | None) -> float:
    return math.nan if value is None else float(value)


class AccountSession(QObject):
    """State and figures of the account shown in the main window (GUI thread).

    Signals: ``state_changed(AccountState | None)`` when a new book is loaded (None: an
    account whose book could not be built);
    ``snapshot_ready(RiskSnapshot)`` after each evaluation; ``history_changed()``
    when the chart history was replaced (a new account or its history arrived);
    ``failed(str)`` when the engine rejected the book.
    """

    state_changed = Signal(object)
    snapshot_ready = Signal(object)
    history_changed = Signal()
    failed = Signal(str)

    def __init__(self, *, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.entry: AccountEntry | None = None
        self.state: AccountState | None = None
        self.snapshot: RiskSnapshot | None = None
        # columns: t (UNIX s), equity (settle ccy), margin ratio (fraction, NaN = none)
        self.history = SeriesBuffer(3)
        self.history_revision = 0  # bumps on every change, charts redraw when it moved
        self.transfers: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))
        self._generation = 0

    def load(
        self, entry: AccountEntry, state: AccountState, history: History | None = None,
        snapshot: RiskSnapshot | None = None,
    ) -> None:
        """Show ``state`` as account ``entry``: with its ``snapshot`` when the worker that
        built the book evaluated it too (one round trip), else evaluated now on a worker."""
        self._generation += 1
        self.entry = entry
        self.state = state
        self.snapshot = None
        self.history.clear()
        if history is not None and len(history.t):
            self.history.extend(history.t, history.equity, history.margin_ratio)
        self.transfers = ((history.transfer_t, history.transfer_amount) if history is not None
                          else (np.empty(0), np.empty(0)))
        self.history_revision += 1
        self.history_changed.emit()
        self.state_changed.emit(state)
        if snapshot is not None and snapshot.state is state:
            self._on_snapshot(snapshot, self._generation)
        else:
            self.refresh()

    def clear_to(self, entry: AccountEntry) -> None:
        """Select ``entry`` without a book (it could not be built); views show nothing."""
        self._generation += 1
        self.entry = entry
        self.state = None
        self.snapshot = None
        self.history.clear()
        self.history_revision += 1
        self.history_changed.emit()
        self.state_changed.emit(None)

    def set_history(self, history: History, generation: int | None = None) -> None:
        """Put ``history`` before the live ticks gathered so far (demo history arrives late)."""
        if generation is not None and generation != self._generation:
            return
        live = [self.history.view(i).copy() for i in range(3)]
        self.history.clear()
        self.history.extend(history.t, history.equity, history.margin_ratio)
        if len(live[0]):
            keep = live[0] > (history.t[-1] if len(history.t) else -math.inf)
            self.history.extend(live[0][keep], live[1][keep], live[2][keep])
        self.history_revision += 1
        self.history_changed.emit()

    @property
    def generation(self) -> int:
        """Bumps when another account is loaded (to drop late results for the old one)."""
        return self._generation

    def apply_marks(self, marks: Mapping[str, Decimal]) -> None:
        """New mark prices (quote per base unit) for some symbols; re-evaluates."""
        if self.state is None:
            return
        self.state = with_marks(self.state, marks)
        self.refresh()

    def refresh(self) -> None:
        """Re-evaluate the current state on a worker (latest wins)."""
        if self.state is None:
            return
        generation = self._generation
        self._tasks.submit(
            risk_snapshot,
            self.state,
            time.time(),
            key="session.evaluate",
            on_success=lambda snap: self._on_snapshot(snap, generation),
            on_error=self._on_error,
        )

    def _on_snapshot(self, snap: RiskSnapshot, generation: int) -> None:
        if generation != self._generation:
            return
        self.snapshot = snap
        risk = snap.risk
        self.history.append(snap.at, float(risk.equity), ratio_float(risk.margin_ratio))
        self.history_revision += 1
        self.snapshot_ready.emit(snap)

    def _on_error(self, exc: BaseException) -> None:
        self.failed.emit("; ".join(problems_of(exc)))
