"""Run the margin engine for a what-if plan; return what the views draw (no Qt).

Runs on a worker thread of :class:`desktop.tasks.TaskRunner`; everything it
returns is immutable (frozen dataclasses, numpy arrays nobody writes to), so the
GUI thread can read it without locks.

Two layers, so the slider stays fast:

* :func:`compute_book` — depends on the live book and the plan's book edits and
  shock profile, not on the slider: :func:`crossmargin.margin.compare_whatif`,
  a :func:`~crossmargin.margin.sweep` of the current and of the what-if book over
  the whole shock axis, and both liquidation cascades.
* :func:`whatif_snapshot` — reuses a :class:`BookAnswer` when only the slider
  moved, and evaluates both books at the slider's shock with
  :func:`~crossmargin.margin.shock_point` (Decimal, exact, cascade-aware, O(N)).

Signs and units: a shock is a fraction of the reference price (``-0.12`` = 12 %
down); chart x values are percent; prices in quote currency (linear) or USD per
coin (inverse); every amount in the settlement currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from types import MappingProxyType
from typing import Protocol

import numpy as np

from crossmargin.domain import AccountState, MarginMode, PositionId, Side
from crossmargin.margin import (
    ENGINE_CONTEXT,
    Cascade,
    PositionRisk,
    ShockProfile,
    SweepResult,
    WhatIfResult,
    compare_whatif,
    shock_point,
    sweep,
)
from desktop.formatting import coin_label

from .plan import ShockMode, WhatIfPlan

DEFAULT_POINTS = 1001


def shock_axis(mode: ShockMode = ShockMode.UNIFORM, points: int = DEFAULT_POINTS) -> np.ndarray:
    """The mode's shock axis as fractions of ``t`` (``points`` samples, read-only):
    −50 %…+50 % for uniform and beta shocks, −100 %…+100 % of the per-symbol moves."""
    lo, hi = mode.axis_range
    axis = np.linspace(float(lo), float(hi), int(points))
    axis.setflags(write=False)
    return axis


@dataclass(frozen=True, slots=True)
class CascadeRow:
    """One step of the what-if book's liquidation cascade.

    ``shock`` is where it happens (fraction); ``shock_now`` is where the same
    positions die in the current book (``None``: they do not, in −50 %…+50 %).
    """

    order: int
    shock: Decimal
    direction: str
    kind: str
    position_ids: tuple[PositionId, ...]
    label: str
    shock_now: Decimal | None
    detail: str = ""
    #: a pooled account's cross event: the collateral value lost on the way (settle)
    collateral_loss: Decimal | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Markers:
    """Scatter points where positions liquidate: x in percent, y = equity there."""

    x: np.ndarray
    y: np.ndarray
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Curves:
    """Chart series against the shock axis (x in percent); NaN = not defined there."""

    x: np.ndarray
    equity_now: np.ndarray
    equity_whatif: np.ndarray
    ratio_now: np.ndarray
    ratio_whatif: np.ndarray
    markers_now: Markers
    markers_whatif: Markers
    ratio_top: float


@dataclass(frozen=True, slots=True, eq=False)
class BookAnswer:
    """The engine's slider-independent answer for (live book, plan without shock)."""

    live: AccountState
    plan_key: WhatIfPlan
    axis: np.ndarray
    profile: ShockProfile
    whatif: WhatIfResult
    sweep_now: SweepResult
    sweep_whatif: SweepResult
    curves: Curves
    cascade: tuple[CascadeRow, ...]
    events_now: Mapping[PositionId, tuple[tuple[Decimal, str], ...]]
    events_whatif: Mapping[PositionId, tuple[tuple[Decimal, str], ...]]

    def matches(self, live: AccountState, plan: WhatIfPlan, axis: np.ndarray) -> bool:
        return (
            self.live is live
            and self.axis is axis
            and self.plan_key == _book_key(plan)
        )


@dataclass(frozen=True, slots=True)
class PositionView:
    """One row of the book, current vs what-if.

    ``mark_live`` is today's mark, ``mark`` the mark at the slider's shock.
    ``lp_*`` are today's liquidation prices (``None``: never liquidated, or not in
    that book) and ``distance_*`` their distance from the mark (fraction).
    ``liquidated_*``: liquidated by the cascade at the slider's shock.
    ``dies_at_*``: the nearest shock (``t``) at which the cascade liquidates it.
    ``margin_*``: the isolated wallet (``None`` in cross mode).
    """

    id: PositionId
    symbol: str
    side: Side
    contracts: Decimal
    mark_live: Decimal
    mark: Decimal
    hypothetical: bool
    closed: bool
    mode_now: MarginMode | None
    mode_whatif: MarginMode | None
    margin_now: Decimal | None
    margin_whatif: Decimal | None
    lp_now: Decimal | None
    lp_whatif: Decimal | None
    distance_now: Decimal | None
    distance_whatif: Decimal | None
    liquidated_now: bool
    liquidated_whatif: bool
    dies_at_now: Decimal | None
    dies_at_whatif: Decimal | None


@dataclass(frozen=True, slots=True)
class LadderRung:
    """One position on its symbol's ladder (prices; ``None`` = no liquidation price)."""

    position_id: PositionId
    label: str
    lp_now: Decimal | None
    lp_whatif: Decimal | None
    hypothetical: bool
    closed: bool


@dataclass(frozen=True, slots=True)
class Ladder:
    """A symbol's liquidation ladder: its live and shocked mark and every position's LPs."""

    symbol: str
    mark_live: Decimal
    mark_shocked: Decimal
    rungs: tuple[LadderRung, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """Account figures, current vs what-if, in the settlement currency.

    Equity, margin balance and margin ratio are at the slider's ``shock`` with the
    cascade applied (``None`` ratio/balance: no cross position left, or the cross
    account is liquidated); ``available_*`` is at today's marks; ratio 1 = liquidation.
    """

    shock: Decimal
    equity_now: Decimal
    equity_whatif: Decimal
    ratio_now: Decimal | None
    ratio_whatif: Decimal | None
    margin_balance_now: Decimal | None
    margin_balance_whatif: Decimal | None
    available_now: Decimal
    available_whatif: Decimal
    liquidated_count_now: int
    liquidated_count_whatif: int


@dataclass(frozen=True, slots=True, eq=False)
class WhatIfSnapshot:
    """Everything the What-if views draw for one (live book, plan) pair."""

    seq: int
    plan: WhatIfPlan
    book: BookAnswer
    shock: Decimal
    summary: Summary
    positions: Mapping[PositionId, PositionView]
    ladders: Mapping[str, Ladder]
    liquidated_at_once: tuple[PositionId, ...]
    at_once_labels: tuple[str, ...] = field(default=())


def _book_key(plan: WhatIfPlan) -> WhatIfPlan:
    return replace(plan, shock=Decimal(0))


def display_symbol(symbol: str) -> str:
    """Table label: the ccxt symbol without a perpetual's ``:SETTLE`` suffix
    (``BTC/USDT:USDT`` -> ``BTC/USDT``); dated futures keep theirs."""
    head, sep, tail = symbol.partition(":")
    return head if sep and "-" not in tail else symbol


def _label(symbol: str, side: Side) -> str:
    return f"{coin_label(symbol)} {side.value}"


def _events_by_position(cascade: Cascade) -> dict[PositionId, tuple[tuple[Decimal, str], ...]]:
    """Each position's cascade events as ``(shock, direction)``, nearest first."""
    out: dict[PositionId, list[tuple[Decimal, str]]] = {}
    for event in cascade.events:
        for pid in event.position_ids:
            out.setdefault(PositionId(pid), []).append((event.shock, event.direction))
    return {pid: tuple(events) for pid, events in out.items()}


def _markers(sw: SweepResult, labels_of: Mapping[PositionId, str]) -> Markers:
    events = sw.cascade.events
    if not events:
        empty = np.empty(0)
        return Markers(empty, empty, ())
    x = np.array([float(e.shock) * 100.0 for e in events])
    equity = np.asarray(sw.equity, dtype=float)
    shocks = np.asarray(sw.shocks, dtype=float) * 100.0
    finite = np.isfinite(equity)
    if finite.any():
        y = np.interp(x, shocks[finite], equity[finite])
    else:
        y = np.zeros_like(x)
    labels = tuple(
        f"#{e.order} {float(e.shock) * 100:+.1f} % · "
        + ", ".join(labels_of.get(PositionId(pid), pid) for pid in e.position_ids)
        + f" ({e.kind})"
        for e in events
    )
    return Markers(x, y, labels)


def _ratio_top(*series: np.ndarray) -> float:
    """Upper y limit of the margin-ratio plot (fraction): room above the highest
    ratio, at least 5 %, at most 150 % (a ratio spiking at liquidation is capped)."""
    peak = 0.0
    for s in series:
        finite = s[np.isfinite(s)]
        if finite.size:
            peak = max(peak, float(finite.max()))
    if peak >= 0.8:
        return 1.15 if peak <= 1.05 else 1.5
    return float(max(peak * 1.25, 0.05))


class Superseded(Exception):
    """Raised inside a recompute whose answer nobody will see any more (latest wins)."""


class Cancellable(Protocol):
    @property
    def cancelled(self) -> bool: ...


def _check(ctx: Cancellable | None) -> None:
    if ctx is not None and ctx.cancelled:
        raise Superseded


def compute_book(
    live: AccountState,
    plan: WhatIfPlan,
    axis: np.ndarray,
    *,
    cached: BookAnswer | None = None,
    ctx: Cancellable | None = None,
) -> BookAnswer:
    """The slider-independent part: what-if, sweeps and cascades (worker thread).

    The current book's sweep is reused from ``cached`` when the live book, the
    shock profile and the axis are the same (a what-if edit does not change it).
    Between steps, a superseded request (``ctx.cancelled``) stops early.
    """
    ops = plan.ops(live)
    profile = plan.profile(live)
    result = compare_whatif(live, ops)
    _check(ctx)
    if (
        cached is not None
        and cached.live is live
        and cached.axis is axis
        and cached.profile == profile
    ):
        sweep_now = cached.sweep_now
    else:
        sweep_now = sweep(live, profile, axis)
        _check(ctx)
    sweep_whatif = sweep(result.state, profile, axis)
    _check(ctx)
    every = (*live.positions, *result.state.positions)
    labels_of = {p.id: _label(p.symbol, p.side) for p in every}
    full_of = {p.id: f"{p.symbol} {p.side.value} {p.margin_mode.value}" for p in every}
    x = np.asarray(sweep_now.shocks, dtype=float) * 100.0
    ratio_now = np.asarray(sweep_now.margin_ratio, dtype=float)
    ratio_whatif = np.asarray(sweep_whatif.margin_ratio, dtype=float)
    curves = Curves(
        x=x,
        equity_now=np.asarray(sweep_now.equity, dtype=float),
        equity_whatif=np.asarray(sweep_whatif.equity, dtype=float),
        ratio_now=ratio_now,
        ratio_whatif=ratio_whatif,
        markers_now=_markers(sweep_now, labels_of),
        markers_whatif=_markers(sweep_whatif, labels_of),
        ratio_top=_ratio_top(ratio_now, ratio_whatif),
    )
    events_now = _events_by_position(sweep_now.cascade)
    events_whatif = _events_by_position(sweep_whatif.cascade)
    rows: list[CascadeRow] = []
    for event in sweep_whatif.cascade.events:
        ids = tuple(PositionId(pid) for pid in event.position_ids)
        now = [events_now[pid][0][0] for pid in ids if pid in events_now]
        rows.append(
            CascadeRow(
                order=event.order,
                shock=event.shock,
                direction=event.direction,
                kind=event.kind,
                position_ids=ids,
                label=", ".join(labels_of.get(pid, pid) for pid in ids),
                shock_now=min(now, key=abs) if now else None,
                detail="\n".join(f"{full_of.get(pid, pid)} [{pid}]" for pid in ids),
                collateral_loss=event.collateral_loss,
            )
        )
    return BookAnswer(
        live=live,
        plan_key=_book_key(plan),
        axis=axis,
        profile=profile,
        whatif=result,
        sweep_now=sweep_now,
        sweep_whatif=sweep_whatif,
        curves=curves,
        cascade=tuple(rows),
        events_now=MappingProxyType(events_now),
        events_whatif=MappingProxyType(events_whatif),
    )


def _hit(events: tuple[tuple[Decimal, str], ...], t: Decimal) -> bool:
    """True when one of a position's cascade events has happened by shock ``t``."""
    return any(
        direction == "now"
        or (direction == "down" and t <= shock)
        or (direction == "up" and t >= shock)
        for shock, direction in events
    )


def whatif_snapshot(
    live: AccountState,
    plan: WhatIfPlan,
    axis: np.ndarray,
    *,
    seq: int = 0,
    cached: BookAnswer | None = None,
    ctx: Cancellable | None = None,
) -> WhatIfSnapshot:
    """Everything the views draw; reuses ``cached`` when only the shock changed.

    Liquidation prices are the engine's for both books as they are now (``t = 0``,
    exactly :func:`compare_whatif`'s); what depends on the slider is exact and
    cascade-aware (:func:`crossmargin.margin.shock_point`): equity and margin ratio
    at ``t``, each symbol's shocked mark and who is liquidated by then.
    """
    if cached is not None and cached.matches(live, plan, axis):
        book = cached
    else:
        book = compute_book(live, plan, axis, cached=cached, ctx=ctx)
    result = book.whatif
    t = plan.shock
    profile = plan.profile(live)
    point_now = shock_point(live, profile, t, book.sweep_now.cascade)
    point_whatif = shock_point(result.state, profile, t, book.sweep_whatif.cascade)

    now_by_id = {r.id: r for r in result.before.positions}
    whatif_by_id = {r.id: r for r in result.after.positions}
    added_ids = {p.id for p in plan.added}
    views: dict[PositionId, PositionView] = {}
    order = [p.id for p in live.positions] + [p.id for p in plan.added]
    with localcontext(ENGINE_CONTEXT):
        for pid in order:
            now = now_by_id.get(pid)
            wi = whatif_by_id.get(pid)
            ref = wi or now
            if ref is None:  # pragma: no cover - every row is in one of the books
                continue
            dies_now = book.events_now.get(pid, ())
            dies_whatif = book.events_whatif.get(pid, ())
            views[pid] = PositionView(
                id=pid,
                symbol=ref.symbol,
                side=ref.side,
                contracts=ref.contracts,
                mark_live=ref.mark_price,
                mark=ref.mark_price * (1 + profile.weight(ref.symbol) * t),
                hypothetical=pid in added_ids,
                closed=wi is None,
                mode_now=now.margin_mode if now else None,
                mode_whatif=wi.margin_mode if wi else None,
                margin_now=_own_margin(now),
                margin_whatif=_own_margin(wi),
                lp_now=now.liquidation_price if now else None,
                lp_whatif=wi.liquidation_price if wi else None,
                distance_now=now.liquidation_distance if now else None,
                distance_whatif=wi.liquidation_distance if wi else None,
                liquidated_now=now is not None and _hit(dies_now, t),
                liquidated_whatif=wi is not None and _hit(dies_whatif, t),
                dies_at_now=dies_now[0][0] if dies_now else None,
                dies_at_whatif=dies_whatif[0][0] if dies_whatif else None,
            )

    ladders: dict[str, Ladder] = {}
    for v in views.values():
        rung = LadderRung(
            position_id=v.id,
            label=_label(v.symbol, v.side) + (" (new)" if v.hypothetical else ""),
            lp_now=v.lp_now,
            lp_whatif=v.lp_whatif,
            hypothetical=v.hypothetical,
            closed=v.closed,
        )
        ladder = ladders.get(v.symbol)
        if ladder is None:
            ladders[v.symbol] = Ladder(v.symbol, v.mark_live, v.mark, (rung,))
        else:
            ladders[v.symbol] = replace(ladder, rungs=(*ladder.rungs, rung))

    labels = {pid: _label(v.symbol, v.side) for pid, v in views.items()}
    at_once = tuple(PositionId(pid) for pid in result.liquidated_at_once)
    summary = Summary(
        shock=t,
        equity_now=point_now.equity,
        equity_whatif=point_whatif.equity,
        ratio_now=point_now.margin_ratio,
        ratio_whatif=point_whatif.margin_ratio,
        margin_balance_now=point_now.margin_balance,
        margin_balance_whatif=point_whatif.margin_balance,
        available_now=result.before.available_balance,
        available_whatif=result.after.available_balance,
        liquidated_count_now=sum(v.liquidated_now for v in views.values()),
        liquidated_count_whatif=sum(v.liquidated_whatif for v in views.values()),
    )
    return WhatIfSnapshot(
        seq=seq,
        plan=plan,
        book=book,
        shock=t,
        summary=summary,
        positions=MappingProxyType(views),
        ladders=MappingProxyType(ladders),
        liquidated_at_once=at_once,
        at_once_labels=tuple(labels.get(pid, pid) for pid in at_once),
    )


def _own_margin(risk: PositionRisk | None) -> Decimal | None:
    if risk is None or risk.margin_mode is not MarginMode.ISOLATED:
        return None
    return risk.margin
