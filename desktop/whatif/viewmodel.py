"""What-if view-model: the book being explored, the user's plan, and the latest answer.

Qt-light (``QObject``, signals, one ``QTimer``); all numbers come from the engine
through :mod:`desktop.whatif.compute`. Lives on the GUI thread.

* Every edit updates the plan synchronously (so the table shows the toggle at
  once), is validated with :func:`crossmargin.margin.apply_whatif` (a cheap O(N)
  state transform; an invalid edit is refused with a message and changes nothing),
  then schedules a recompute.
* Recomputes are debounced (``DEBOUNCE_MS``) and submitted to the one task runner
  under one key, so a newer request supersedes an older one (latest wins) and the
  GUI thread never waits for the engine.
* The book being explored is either the live account (``set_live``; marks update
  often) or an opened scenario file, which then stops following live updates
  until "Reset to live".
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from crossmargin.domain import (
    AccountState,
    Collateral,
    CollateralMode,
    MarginMode,
    Position,
    PositionId,
)
from crossmargin.errors import CrossMarginError, InputError
from crossmargin.margin import apply_whatif, evaluate
from crossmargin.scenario import validate_state

from .compute import (
    DEFAULT_POINTS,
    BookAnswer,
    Superseded,
    WhatIfSnapshot,
    shock_axis,
    whatif_snapshot,
)
from .messages import field_of, same_position
from .plan import (
    MAX_BETA,
    MAX_MOVE,
    PositionEdit,
    ShockMode,
    WhatIfPlan,
    book_symbols,
    default_weights,
    parse_decimal,
    parse_positive,
)

log = logging.getLogger(__name__)

DEBOUNCE_MS = 35
_keys = itertools.count(1)


class TaskSubmitter(Protocol):
    """The part of :class:`desktop.tasks.TaskRunner` the view-model uses."""

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int: ...


class WhatIfViewModel(QObject):
    """State and commands of the What-if tab (GUI thread).

    Signals: ``plan_changed`` (edits, shock or mode changed; synchronous),
    ``rows_changed`` (positions added/removed: tables reset), ``snapshot_ready``
    (a new :class:`~desktop.whatif.compute.WhatIfSnapshot`), ``compute_failed(str)``
    (the engine refused the plan for the current book), ``source_changed(str)``.
    """

    plan_changed = Signal()
    rows_changed = Signal()
    snapshot_ready = Signal(object)
    compute_failed = Signal(str)
    source_changed = Signal(str)

    def __init__(
        self,
        *,
        tasks: TaskSubmitter,
        points: int = DEFAULT_POINTS,
        debounce_ms: int = DEBOUNCE_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._axes = {mode: shock_axis(mode, points) for mode in ShockMode}
        self._key = f"whatif-{next(_keys)}"
        self._live: AccountState | None = None
        self._scenario: AccountState | None = None
        self._source = "Live book"
        self._plan = WhatIfPlan()
        #: each account's what-if, kept for the session when another account is shown
        self._plans: dict[tuple[str, str, str], WhatIfPlan] = {}
        self._snapshot: WhatIfSnapshot | None = None
        self._seq = 0
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._submit)

    # -- reading ---------------------------------------------------------------
    @property
    def base(self) -> AccountState | None:
        """The book the plan applies to: an opened scenario, else the live account."""
        return self._scenario if self._scenario is not None else self._live

    @property
    def plan(self) -> WhatIfPlan:
        return self._plan

    @property
    def snapshot(self) -> WhatIfSnapshot | None:
        """The newest answer, or ``None`` before the first one arrives."""
        return self._snapshot

    @property
    def source(self) -> str:
        return self._source

    @property
    def is_scenario(self) -> bool:
        return self._scenario is not None

    @property
    def axis(self) -> np.ndarray:
        """The current mode's shock axis (fractions of ``t``)."""
        return self._axes[self._plan.shock_mode]

    def shock_limits(self) -> tuple[Decimal, Decimal]:
        """Where the slider may go: the mode's axis, with every price kept above 0."""
        base = self.base
        if base is None:
            return self._plan.shock_mode.axis_range
        return self._plan.shock_limits(base)

    @property
    def busy(self) -> bool:
        """True while a recompute is scheduled or running."""
        return self._pending or self._timer.isActive()

    def rows(self) -> list[tuple[Position, bool]]:
        """``(position, hypothetical)`` in display order: the book, then added ones."""
        base = self.base
        live = [(p, False) for p in base.positions] if base is not None else []
        return live + [(p, True) for p in self._plan.added]

    def symbols(self) -> list[str]:
        base = self.base
        return book_symbols(base, self._plan.added) if base is not None else []

    def weight(self, symbol: str) -> Decimal:
        """The shock weight (per-symbol mode) or beta (beta mode) of ``symbol``."""
        if symbol in self._plan.weights:
            return self._plan.weights[symbol]
        base = self.base
        if base is None:
            return Decimal(1)
        return default_weights(base, self._plan.shock_mode, self._plan.added).get(
            symbol, Decimal(1)
        )

    def whatif_state(self) -> AccountState:
        """The book after the plan (what a saved scenario holds); betas as edited."""
        base = self._require_base()
        state = apply_whatif(base, self._plan.ops(base))
        if self._plan.shock_mode is ShockMode.BETA:
            betas = dict(state.betas)
            betas.update({s: self.weight(s) for s in self.symbols()})
            state = state.with_(betas=betas)
        return state

    # -- the book --------------------------------------------------------------
    def set_live(self, state: AccountState) -> None:
        """New live book. Marks tick often: the plan is kept for positions still open.
        Another account (label, rules or settlement currency differ) brings back the plan
        it had earlier in the session (or a fresh one); the one left is kept for it."""
        rows_before = [p.id for p, _ in self.rows()]
        previous, self._live = self._live, state
        if self._scenario is not None:
            return
        kept = None
        if previous is None or _account_key(previous) != _account_key(state):
            kept = self._plans.pop(_account_key(state), None)
        if previous is not None and _account_key(previous) != _account_key(state):
            self._plans[_account_key(previous)] = self._plan
            self._plan = (kept.restricted_to(state) if kept is not None
                          else WhatIfPlan(shock_mode=self._plan.shock_mode))
            self.rows_changed.emit()
            self.plan_changed.emit()
        elif kept is not None:  # back after a book the engine refused
            self._plan = kept.restricted_to(state)
            self.rows_changed.emit()
            self.plan_changed.emit()
        else:
            self._plan = self._plan.restricted_to(state)
            if rows_before != [p.id for p, _ in self.rows()]:
                self.rows_changed.emit()
        self._schedule()

    def open_state(self, state: AccountState, source: str) -> None:
        """Explore ``state`` (an opened scenario) instead of the live book; clears the plan."""
        self._scenario = state
        self._plan = WhatIfPlan(shock_mode=self._plan.shock_mode)
        self._set_source(source)
        self.rows_changed.emit()
        self.plan_changed.emit()
        self._schedule()

    def clear_live(self) -> None:
        """No live book (the selected account could not be evaluated): nothing is shown
        rather than another account's numbers; its what-if is kept for when it returns."""
        if self._live is not None:
            self._plans[_account_key(self._live)] = self._plan
        self._live = None
        self._plan = WhatIfPlan(shock_mode=self._plan.shock_mode)
        self._seq += 1  # an answer still on its way is for the old book
        if self._scenario is None:
            self._snapshot = None
            self.rows_changed.emit()
            self.plan_changed.emit()

    def reset_to_live(self) -> None:
        """Forget every edit and the shock; follow the live book again."""
        self._scenario = None
        self._plan = WhatIfPlan(shock_mode=self._plan.shock_mode)
        self._set_source("Live book")
        self.rows_changed.emit()
        self.plan_changed.emit()
        self._schedule()

    # -- edits (each returns an error message, or None when applied) ------------
    def set_mode(self, position_id: PositionId, mode: MarginMode) -> str | None:
        """What-if margin mode of a position (a hypothetical one changes in place)."""
        added = self._added(position_id)
        if added is not None:
            return self._try(self._plan.with_added_replaced(added.with_(margin_mode=mode)))
        live = self._book_position(position_id)
        if isinstance(live, str):
            return live
        edit = self._plan.edit(position_id)
        new_mode = None if mode is live.margin_mode else mode
        margin = edit.margin if mode is MarginMode.ISOLATED else None
        new = PositionEdit(mode=new_mode, margin=margin, close=edit.close)
        return self._try(self._plan.with_edit(position_id, new))

    def set_margin_text(self, position_id: PositionId, text: str) -> str | None:
        """Wanted isolated margin typed by the user (settlement currency, > 0)."""
        base = self._require_base()
        try:
            value = parse_positive(text, f"Isolated margin ({base.settle})")
        except ValueError as exc:
            return str(exc)
        return self.set_margin(position_id, value)

    def set_margin(self, position_id: PositionId, value: Decimal) -> str | None:
        if value <= 0:
            return f"Isolated margin: must be greater than 0, got {value}"
        added = self._added(position_id)
        if added is not None:
            if added.margin_mode is not MarginMode.ISOLATED:
                return "Isolated margin: switch the position to isolated first"
            return self._try(self._plan.with_added_replaced(added.with_(isolated_margin=value)))
        live = self._book_position(position_id)
        if isinstance(live, str):
            return live
        edit = self._plan.edit(position_id)
        mode = edit.mode or live.margin_mode
        if mode is not MarginMode.ISOLATED:
            return "Isolated margin: switch the position to isolated first"
        margin = None if (edit.mode is None and value == live.own_margin) else value
        new = PositionEdit(mode=edit.mode, margin=margin, close=edit.close)
        return self._try(self._plan.with_edit(position_id, new))

    def set_close(self, position_id: PositionId, close: bool) -> str | None:
        """Close (``True``) or keep a book position in the what-if."""
        if self._added(position_id) is not None:
            return "A hypothetical position is removed, not closed"
        live = self._book_position(position_id)
        if isinstance(live, str):
            return live
        edit = self._plan.edit(position_id)
        new = PositionEdit(mode=edit.mode, margin=edit.margin, close=close)
        return self._try(self._plan.with_edit(position_id, new))

    # -- pooled collateral ---------------------------------------------------------
    def set_collateral_mode(self, mode: CollateralMode) -> str | None:
        """Pool every asset (multi) or count only the settlement currency (single)."""
        base = self._require_base()
        return self._try(self._plan.with_collateral_mode(
            None if mode is base.collateral_mode else mode))

    def set_collateral_text(self, asset: str, text: str) -> str | None:
        """The balance of a collateral asset typed by the user (0 or more)."""
        base = self._require_base()
        live = base.collateral_of(asset)
        if live is None:
            return f"{asset}: not a collateral asset of this account"
        try:
            value = parse_decimal(text, f"{asset} balance")
        except ValueError as exc:
            return str(exc)
        if value < 0:
            return f"{asset} balance: must be 0 or more, got {value}"
        plan = self._plan.with_sold(asset, None)
        return self._try(plan.with_collateral(asset, None if value == live.amount else value))

    def sell_collateral(self, asset: str) -> str | None:
        """Sell the whole what-if balance of ``asset`` for the settlement currency."""
        base = self._require_base()
        live = base.collateral_of(asset)
        if live is None:
            return f"{asset}: not a collateral asset of this account"
        amount = self._plan.collateral.get(asset, live.amount) + self._plan.sold.get(asset, 0)
        if amount <= 0:
            return f"{asset}: nothing to sell"
        return self._try(self._plan.with_sold(asset, amount))

    def collateral_rows(self) -> list[tuple[Collateral, Decimal]]:
        """Each collateral asset of the book with its what-if balance."""
        base = self.base
        if base is None:
            return []
        plan = self._plan
        return [(c, plan.collateral.get(c.asset, c.amount) - plan.sold.get(c.asset, 0))
                for c in base.collateral]

    def add_position(self, position: Position) -> list[str]:
        """Add a hypothetical position; returns the problems (empty list = added)."""
        base = self._require_base()
        ids = {p.id for p, _ in self.rows()}
        if position.id in ids:
            return [f"Position id '{position.id}' is already in the book"]
        clash = next((p for p, _ in self.rows() if p.symbol == position.symbol
                      and p.side == position.side and p.margin_mode == position.margin_mode
                      and not self._plan.edit(p.id).close), None)
        if clash is not None:
            return [same_position(clash)]
        plan = self._plan.with_added(position)
        try:
            after = apply_whatif(base, plan.ops(base))
            mine = f"positions[{len(after.positions) - 1}]"
            problems = [line for line in validate_state(after) if mine in line]
            if problems:
                return [field_of(line, position.symbol) for line in problems]
            evaluate(after)
        except InputError as exc:
            return exc.problems
        except (CrossMarginError, ArithmeticError, ValueError, KeyError) as exc:
            return [str(exc) or type(exc).__name__]
        self._commit(plan, rows=True)
        return []

    def remove_added(self, position_id: PositionId) -> None:
        if self._added(position_id) is None:
            return
        self._commit(self._plan.without_added(position_id), rows=True)

    def new_position_id(self) -> PositionId:
        ids = {p.id for p, _ in self.rows()}
        for n in itertools.count(1):
            candidate = PositionId(f"whatif-{n}")
            if candidate not in ids:
                return candidate
        raise AssertionError("unreachable")  # pragma: no cover

    # -- shock -------------------------------------------------------------------
    def set_shock(self, shock: Decimal) -> None:
        """The slider's ``t`` (clamped to :meth:`shock_limits`)."""
        lo, hi = self.shock_limits()
        plan = self._plan.with_shock(min(hi, max(lo, shock)))
        if plan != self._plan:
            self._commit(plan)

    def set_shock_mode(self, mode: ShockMode) -> None:
        """Change how the slider moves prices; weights restart from the mode's defaults.

        Entering per-symbol mode applies the typed moves in full (``t = 1``)."""
        if mode is self._plan.shock_mode:
            return
        shock = Decimal(1) if mode is ShockMode.PER_SYMBOL else Decimal(0)
        plan = WhatIfPlan(self._plan.edits, self._plan.added, mode, {}, Decimal(0))
        self._plan = plan
        lo, hi = self.shock_limits()
        self._commit(plan.with_shock(min(hi, max(lo, shock))))

    def set_weight_text(self, symbol: str, text: str) -> str | None:
        """A beta (beta mode, −20…20) or a per-symbol move in percent (per-symbol mode,
        above −100 %) typed by the user."""
        mode = self._plan.shock_mode
        if mode is ShockMode.BETA:
            try:
                value = parse_decimal(text.replace("×", ""), f"Beta of {symbol}")
            except ValueError as exc:
                return str(exc)
            if abs(value) > MAX_BETA:
                return f"Beta of {symbol}: must be between -{MAX_BETA} and {MAX_BETA}, got {value}"
        elif mode is ShockMode.PER_SYMBOL:
            try:
                pct = parse_decimal(text.replace("%", ""), f"Move of {symbol} (%)")
            except ValueError as exc:
                return str(exc)
            value = pct / 100
            if value <= -1 or value > MAX_MOVE:
                return (
                    f"Move of {symbol} (%): must be above -100 and at most "
                    f"{MAX_MOVE * 100:.0f}, got {pct}"
                )
        else:
            return "Uniform shocks move every symbol alike; pick per-symbol or beta mode"
        plan = self._plan.with_weight(symbol, value)
        base = self._require_base()
        lo, hi = plan.shock_limits(base)
        return self._try(plan.with_shock(min(hi, max(lo, plan.shock))))

    # -- scheduling ----------------------------------------------------------------
    def recompute_now(self) -> None:
        """Submit the recompute immediately instead of after the debounce (tests, benches)."""
        self._timer.stop()
        self._submit()

    def _schedule(self) -> None:
        if self.base is not None:
            self._timer.start()

    def _submit(self) -> None:
        base = self.base
        if base is None:
            return
        self._seq += 1
        cached: BookAnswer | None = self._snapshot.book if self._snapshot else None
        self._pending = True
        self._tasks.submit(
            whatif_snapshot,
            base,
            self._plan,
            self.axis,
            seq=self._seq,
            cached=cached,
            key=self._key,
            with_context=True,
            on_success=self._on_snapshot,
            on_error=self._on_error,
        )

    def _on_snapshot(self, snapshot: WhatIfSnapshot) -> None:
        if snapshot.seq != self._seq:
            return  # an older answer that slipped through: latest wins
        self._pending = False
        self._snapshot = snapshot
        self.snapshot_ready.emit(snapshot)

    def _on_error(self, exc: BaseException) -> None:
        if isinstance(exc, Superseded):
            return  # a newer request is on its way
        self._pending = False
        if isinstance(exc, InputError):
            message = "; ".join(exc.problems)
        elif isinstance(exc, CrossMarginError | ArithmeticError | ValueError):
            message = str(exc) or type(exc).__name__
        else:
            log.error("what-if recompute failed", exc_info=exc)
            message = f"The what-if could not be computed ({type(exc).__name__}: {exc})"
        self.compute_failed.emit(message)

    # -- helpers -------------------------------------------------------------------
    def _require_base(self) -> AccountState:
        base = self.base
        if base is None:
            raise InputError("No account is loaded: open a scenario or select an account")
        return base

    def _book_position(self, position_id: PositionId) -> Position | str:
        """The book's position, or a message saying why it is not there."""
        try:
            return self._require_base().position(position_id)
        except InputError as exc:
            return "; ".join(exc.problems)
        except KeyError:
            where = f"the scenario {self._source.partition('· ')[2] or 'file'}" if (
                self.is_scenario
            ) else "the book"
            hint = " (use Reset to live to come back to the live book)" if self.is_scenario else ""
            return f"Position {position_id} is not in {where} shown in the What-if tab{hint}"

    def _added(self, position_id: PositionId) -> Position | None:
        for p in self._plan.added:
            if p.id == position_id:
                return p
        return None

    def _try(self, plan: WhatIfPlan) -> str | None:
        """Apply ``plan`` if the engine accepts it for the book; else return why not."""
        base = self._require_base()
        try:
            apply_whatif(base, plan.ops(base))
        except InputError as exc:
            return "; ".join(exc.problems)
        except (CrossMarginError, ArithmeticError, ValueError) as exc:
            return str(exc) or type(exc).__name__
        self._commit(plan)
        return None

    def _commit(self, plan: WhatIfPlan, *, rows: bool = False) -> None:
        self._plan = plan
        if rows:
            self.rows_changed.emit()
        self.plan_changed.emit()
        self._schedule()

    def _set_source(self, source: str) -> None:
        if source != self._source:
            self._source = source
            self.source_changed.emit(source)


def _account_key(state: AccountState) -> tuple[str, str, str]:
    """What tells one account from another across live updates."""
    return (state.label, state.rules.value, state.settle)
