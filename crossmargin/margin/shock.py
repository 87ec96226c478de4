"""Price shocks: moved marks, the liquidation cascade, and vectorised sweeps.

A shock profile gives each symbol a weight ``w_S``; a shock of size ``t`` moves
its mark to ``mark_S × (1 + w_S·t)``:

* uniform: ``w = 1`` for every symbol (``t = −0.15`` is "everything −15 %");
* BTC-beta: ``w_S = beta_S`` (user-given; symbols without a beta move like BTC,
  ``t`` is the BTC move);
* per-symbol: ``w_S`` is the symbol's own move and ``t`` scales it (``t = 1`` is
  the full shock the user typed, ``0.5`` half of it; unlisted symbols stay).

The cascade is exact (Decimal): each isolated position goes at its own
liquidation price; the cross account goes when its margin balance reaches its
maintenance margin, taking every cross position with it. An isolated
liquidation loses only that position's margin, so the events are independent
and are reported in the order a move away from today's marks would hit them.
Sweeps evaluate the same quantities on a grid with numpy (float64) and agree
with :func:`shock_point` (Decimal) to ~1e-12 relative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Literal

import numpy as np

from crossmargin.domain import ONE, ZERO, AccountState, Collateral
from crossmargin.errors import InputError
from crossmargin.margin.collateral import is_holding, shock_symbol
from crossmargin.margin.risk import ENGINE_CONTEXT, Book
from crossmargin.margin.shock_grid import GridBook, x_at

Direction = Literal["down", "up", "now"]


@dataclass(frozen=True, slots=True)
class ShockProfile:
    """How a shock ``t`` moves each symbol: ``mark × (1 + weight(symbol) × t)``."""

    kind: Literal["uniform", "beta", "per_symbol"] = "uniform"
    weights: Mapping[str, Decimal] = field(default_factory=dict)
    default_weight: Decimal = ONE

    @classmethod
    def uniform(cls) -> ShockProfile:
        return cls("uniform", {}, ONE)

    @classmethod
    def beta(cls, betas: Mapping[str, Decimal]) -> ShockProfile:
        return cls("beta", dict(betas), ONE)

    @classmethod
    def per_symbol(cls, moves: Mapping[str, Decimal]) -> ShockProfile:
        return cls("per_symbol", dict(moves), ZERO)

    def weight(self, symbol: str) -> Decimal:
        return self.weights.get(symbol, self.default_weight)


@dataclass(frozen=True, slots=True)
class CascadeEvent:
    """One liquidation along the shock axis.

    ``shock`` is ``t`` at which it happens (0 for "already now"); ``kind`` is
    ``isolated`` (one position, its margin lost) or ``cross`` (every cross
    position at once). ``order`` counts from 1 within the cascade.
    """

    order: int
    shock: Decimal
    kind: Literal["isolated", "cross"]
    position_ids: tuple[str, ...]
    direction: Direction
    prices: Mapping[str, Decimal] = field(default_factory=dict)
    #: cross events of a multi-asset pool: the counted collateral value lost between
    #: today's prices and this shock (> 0: the collateral fell with the market)
    collateral_loss: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Cascade:
    events: tuple[CascadeEvent, ...]
    lo: Decimal
    hi: Decimal

    def side(self, direction: Direction) -> tuple[CascadeEvent, ...]:
        return tuple(e for e in self.events if e.direction in (direction, "now"))


@dataclass(frozen=True, slots=True)
class ShockPoint:
    """Account figures at one shock, cascade-aware (liquidated parts are gone)."""

    shock: Decimal
    equity: Decimal
    margin_balance: Decimal | None
    maintenance_margin: Decimal | None
    margin_ratio: Decimal | None


@dataclass(frozen=True)
class SweepResult:
    """Float64 arrays over ``shocks`` (NaN where a figure does not exist)."""

    shocks: np.ndarray
    equity: np.ndarray
    margin_balance: np.ndarray
    maintenance_margin: np.ndarray
    margin_ratio: np.ndarray
    cascade: Cascade


def shock_state(state: AccountState, profile: ShockProfile, t: Decimal) -> AccountState:
    """The account with every mark moved by the shock ``t``."""
    with localcontext(ENGINE_CONTEXT):
        positions = []
        for i, p in enumerate(state.positions):
            mark = p.mark_price * (ONE + profile.weight(p.symbol) * t)
            if mark <= 0:
                raise InputError(
                    f"positions[{i}].mark_price: a shock of {t} moves {p.symbol} to "
                    f"{mark}; prices must stay above 0"
                )
            positions.append(p.with_(mark_price=mark))
        collateral = tuple(shocked_collateral(state, profile, t))
        return state.with_(positions=tuple(positions), collateral=collateral)


def shocked_collateral(state: AccountState, profile: ShockProfile, t: Decimal
                       ) -> list[Collateral]:
    """The collateral prices after shock ``t`` (stablecoins stay; each coin moves with
    :func:`~crossmargin.margin.collateral.shock_symbol`'s weight)."""
    out = []
    for i, c in enumerate(state.collateral):
        if c.stable:
            out.append(c)
            continue
        price = c.price * (ONE + profile.weight(shock_symbol(state, c)) * t)
        if price <= 0:
            raise InputError(f"collateral[{i}].price: a shock of {t} moves {c.asset} to "
                             f"{price}; prices must stay above 0")
        out.append(c.with_price(price))
    return out


class _Shocker:
    """Decimal evaluation of the cross account along the shock axis."""

    def __init__(self, book: Book, profile: ShockProfile) -> None:
        self.book = book
        self.profile = profile
        # the cross positions, then each moving collateral holding (multi-asset pools)
        self.cross = [leg for leg in book.legs if not leg.isolated] + book.holdings
        self.w = [profile.weight(leg.symbol) for leg in self.cross]
        self.marks = [leg.position.mark_price for leg in self.cross]

    def f(self, t: Decimal) -> Decimal:
        total = self.book.wallet
        for leg, w, mark in zip(self.cross, self.w, self.marks, strict=True):
            x = x_at(leg, mark, w, t)
            total += leg.upnl(x) - leg.maintenance(x)
        return total

    def brackets(self, t: Decimal) -> tuple[int, ...]:
        return tuple(
            leg.bracket_index(x_at(leg, mark, w, t))
            for leg, w, mark in zip(self.cross, self.w, self.marks, strict=True)
        )

    def limits(self, lo: Decimal, hi: Decimal) -> tuple[Decimal, Decimal]:
        """Shrink [lo, hi] so that every price stays > 0."""
        for w in self.w:
            if w > 0:
                lo = max(lo, -ONE / w * (ONE - Decimal("1e-12")))
            elif w < 0:
                hi = min(hi, -ONE / w * (ONE - Decimal("1e-12")))
        return lo, hi


def _refine(sh: _Shocker, a: Decimal, b: Decimal, fa: Decimal, fb: Decimal) -> Decimal:
    """Root of ``sh.f`` in [a, b] where fa > 0 >= fb (Illinois, then exact affine)."""
    side = 0
    tol = Decimal("1e-32")
    all_linear = not any(leg.position.inverse for leg in sh.cross)
    for _ in range(400):
        if fb == 0:
            return b
        if all_linear and sh.brackets(a) == sh.brackets(b):
            # f is affine on [a, b]: the secant is the exact root.
            return a - fa * (b - a) / (fb - fa)
        if abs(b - a) <= tol * max(ONE, abs(a)):
            return b
        c = a - fa * (b - a) / (fb - fa)
        if not (min(a, b) < c < max(a, b)):
            c = (a + b) / 2
        fc = sh.f(c)
        if (fc > 0) == (fa > 0) and fc != 0:
            a, fa = c, fc
            if side == -1:
                fb /= 2
            side = -1
        else:
            b, fb = c, fc
            if side == 1:
                fa /= 2
            side = 1
    return b


def _first_cross_root(
    sh: _Shocker, vec: _VecCross, end: Decimal, steps: int = 400
) -> Decimal | None:
    """First t between 0 and ``end`` (either sign) where the cross account fails."""
    if end == 0:
        return None
    prev_t = ZERO
    prev_f = sh.f(ZERO)
    grid = _coarse_grid(vec, end, steps)
    for t in grid:
        ft = sh.f(t)
        if ft <= 0:
            return _refine(sh, prev_t, t, prev_f, ft)
        prev_t, prev_f = t, ft
    return None


def _coarse_grid(vec: _VecCross, end: Decimal, steps: int) -> list[Decimal]:
    """Search points from 0 to ``end``: a float pre-scan picks where f may turn."""
    ts = np.linspace(0.0, float(end), steps + 1)[1:]
    values = vec.f(ts)
    bad = np.nonzero(~(values > 0))[0]
    points: list[Decimal] = []
    if bad.size:
        k = int(bad[0])
        lo_i = max(k - 1, 0)
        points = [Decimal(repr(float(ts[lo_i]))), Decimal(repr(float(ts[k])))]
        if lo_i == 0:
            points = points[1:]
    points.append(end)
    return points


class _VecCross:
    """float64 version of :meth:`_Shocker.f`, used to find where to refine."""

    def __init__(self, sh: _Shocker) -> None:
        self.vb = GridBook(sh.cross, sh.w)
        self.wallet = float(sh.book.wallet)

    def f(self, ts: np.ndarray) -> np.ndarray:
        _, upnl, mm = self.vb.sums(ts)
        return self.wallet + upnl - mm


def cascade(
    state: AccountState,
    profile: ShockProfile,
    lo: Decimal = Decimal("-0.5"),
    hi: Decimal = Decimal("0.5"),
) -> Cascade:
    """Every liquidation between shocks ``lo`` and ``hi``, in the order hit."""
    if lo > 0 or hi < 0:
        raise InputError(f"shock range must contain 0, got [{lo}, {hi}]")
    with localcontext(ENGINE_CONTEXT):
        book = Book(state)
        return _cascade(book, profile, lo, hi)


def _cascade(book: Book, profile: ShockProfile, lo: Decimal, hi: Decimal) -> Cascade:
    found: list[tuple[Decimal, str, tuple[str, ...], Direction]] = []
    for leg in book.legs:
        if not leg.isolated:
            continue
        p = leg.position
        if leg.margin + leg.upnl(leg.x_mark) - leg.maintenance(leg.x_mark) <= 0:
            found.append((ZERO, "isolated", (leg.id,), "now"))
            continue
        w = profile.weight(leg.symbol)
        x = book.isolated_liquidation_x(leg)
        if w == 0 or x is None or x <= 0:
            continue
        price = ONE / x if p.inverse else x
        t = (price / p.mark_price - ONE) / w
        if lo <= t <= hi:
            found.append((t, "isolated", (leg.id,), "down" if t < 0 else "up"))
    if book.cross_by_symbol:
        sh = _Shocker(book, profile)
        ids: tuple[str, ...] = tuple(leg.id for leg in sh.cross if not is_holding(leg.id))
        if sh.f(ZERO) <= 0:
            found.append((ZERO, "cross", ids, "now"))
        else:
            c_lo, c_hi = sh.limits(lo, hi)
            vec = _VecCross(sh)
            for end, direction in ((c_lo, "down"), (c_hi, "up")):
                root = _first_cross_root(sh, vec, end)
                if root is not None:
                    found.append((root, "cross", ids, direction))  # type: ignore[arg-type]
    found.sort(key=lambda e: (abs(e[0]), e[3] != "now", e[1] != "cross"))
    marks: dict[str, tuple[str, Decimal]] = {
        leg.id: (leg.symbol, leg.position.mark_price) for leg in book.legs
    }
    events = []
    for order, (t, kind, ids, direction) in enumerate(found, start=1):
        # the marks of the liquidated positions' symbols at that shock
        prices = {
            marks[i][0]: marks[i][1] * (ONE + profile.weight(marks[i][0]) * t) for i in ids
        }
        loss = None
        if kind == "cross" and book.holdings:
            loss = -sum((h.upnl(x_at(h, h.position.mark_price, profile.weight(h.symbol), t))
                         for h in book.holdings), ZERO)
        events.append(
            CascadeEvent(order, t, kind, ids, direction, prices,  # type: ignore[arg-type]
                         loss)
        )
    return Cascade(tuple(events), lo, hi)


def _dead_mask(events: tuple[CascadeEvent, ...], t: float) -> tuple[set[str], bool]:
    dead: set[str] = set()
    cross_dead = False
    for e in events:
        hit = e.direction == "now" or (
            (e.direction == "down" and t <= float(e.shock))
            or (e.direction == "up" and t >= float(e.shock))
        )
        if hit:
            if e.kind == "cross":
                cross_dead = True
            else:
                dead.update(e.position_ids)
    return dead, cross_dead


def shock_point(
    state: AccountState, profile: ShockProfile, t: Decimal, casc: Cascade | None = None
) -> ShockPoint:
    """Exact (Decimal) account figures at shock ``t``, with the cascade applied."""
    with localcontext(ENGINE_CONTEXT):
        book = Book(state)
        casc = casc if casc is not None else _cascade(book, profile, min(t, ZERO), max(t, ZERO))
        dead, cross_dead = _dead_mask(casc.events, float(t))
        equity = ZERO
        cross_upnl = ZERO
        cross_mm = ZERO
        has_cross = False
        for leg in book.legs:
            x = x_at(leg, leg.position.mark_price, profile.weight(leg.symbol), t)
            if leg.isolated:
                if leg.id not in dead:
                    equity += leg.margin + leg.upnl(x)
            else:
                has_cross = True
                cross_upnl += leg.upnl(x)
                cross_mm += leg.maintenance(x)
        for leg in book.holdings:  # collateral moving with the shock
            w = profile.weight(leg.symbol)
            cross_upnl += leg.upnl(x_at(leg, leg.position.mark_price, w, t))
        if has_cross and not cross_dead:
            mb = book.wallet + cross_upnl
            equity += mb
            ratio = cross_mm / mb if mb > 0 else None
            return ShockPoint(t, equity, mb, cross_mm, ratio)
        if not has_cross:
            equity += book.wallet + cross_upnl  # (only collateral holdings move)
        return ShockPoint(t, equity, None, None, None)


def sweep(state: AccountState, profile: ShockProfile, shocks: np.ndarray) -> SweepResult:
    """Equity, cross margin balance, maintenance and margin ratio over ``shocks``.

    Vectorised (float64); positions liquidated earlier along each side of the
    axis are removed as in :func:`cascade` (isolated: margin lost; cross: the
    whole cross wallet lost). Shocks that would push a price to <= 0 give NaN.
    Cost: O(positions × tiers + shocks × distinct inverse weights), not
    O(positions × shocks) (see ``GridBook``).
    """
    ts = np.asarray(shocks, dtype=float)
    if ts.ndim != 1:
        raise InputError(f"shocks: must be a flat list of numbers, got shape {ts.shape}")
    bad = np.flatnonzero(~np.isfinite(ts))
    if bad.size:
        raise InputError(f"shocks[{int(bad[0])}]: must be a finite number, got {ts[bad[0]]}")
    with localcontext(ENGINE_CONTEXT):
        book = Book(state)
        lo = Decimal(repr(float(min(ts.min(initial=0.0), 0.0))))
        hi = Decimal(repr(float(max(ts.max(initial=0.0), 0.0))))
        casc = _cascade(book, profile, lo, hi)
        legs = book.legs + book.holdings  # holdings: cross, no maintenance margin
        weights = [profile.weight(leg.symbol) for leg in legs]
        vb = GridBook(legs, weights)
    n_t = ts.size
    t_s = np.sort(ts)
    # each isolated leg is alive on one range [start, end) of the sorted grid
    iso_legs = [leg for leg in book.legs if leg.isolated]
    iso_index: dict[str, int] = {leg.id: r for r, leg in enumerate(iso_legs)}
    n_iso = len(iso_index)
    start = np.zeros(n_iso, dtype=np.intp)
    end = np.full(n_iso, n_t, dtype=np.intp)
    cross_alive = np.ones(n_t, dtype=bool)
    for e in casc.events:
        s = float(e.shock)
        if e.kind == "cross":
            if e.direction == "now":
                cross_alive[:] = False
            elif e.direction == "down":
                cross_alive &= ~(ts <= s)
            else:
                cross_alive &= ~(ts >= s)
            continue
        for pid in e.position_ids:
            r = iso_index[pid]
            if e.direction == "now":
                end[r] = start[r]
            elif e.direction == "down":  # gone at t <= s
                start[r] = max(start[r], int(np.searchsorted(t_s, s, side="right")))
            else:  # gone at t >= s
                end[r] = min(end[r], int(np.searchsorted(t_s, s, side="left")))
    end = np.maximum(end, start)
    if vb.n:
        iso_equity, cross_upnl, cross_mm = vb.sums(ts, (start, end))
    else:
        iso_equity = cross_upnl = cross_mm = np.zeros(n_t)
    has_cross = any(not leg.isolated for leg in book.legs)
    wallet = float(book.wallet)
    mb = wallet + cross_upnl
    if has_cross:
        equity = iso_equity + np.where(cross_alive, mb, 0.0)
        margin_balance = np.where(cross_alive, mb, np.nan)
        maintenance = np.where(cross_alive, cross_mm, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(cross_alive & (mb > 0), cross_mm / mb, np.nan)
    else:
        equity = iso_equity + wallet + cross_upnl  # (only collateral holdings move)
        margin_balance = maintenance = ratio = np.full(n_t, np.nan)
    bad_price = ~np.isfinite(equity) | vb.bad_prices(ts)
    for arr in (equity, margin_balance, maintenance, ratio):
        arr[bad_price] = np.nan
    return SweepResult(ts, equity, margin_balance, maintenance, ratio, casc)
