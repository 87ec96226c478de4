"""All liquidation prices at once, in float64 with numpy: the live-view fast path.

:func:`crossmargin.margin.risk.liquidation_prices` is the exact answer (Decimal,
40 digits). This module computes the *same* quantity for every position of an
account with numpy arrays instead of per-leg Python objects, for views that
recompute on every mark tick (the desktop app's positions table and chart).
The answers are float64, agree with the Decimal path to ~1e-12 relative (see
``tests/margin/test_vectorised.py``) and are for display and triage only:
anything stored, exported or reported as a figure comes from the Decimal path.

Semantics (identical to :mod:`crossmargin.margin.solver`)
--------------------------------------------------------
Every position is solved in the price variable ``x`` (``x = price`` for
linear, ``1 / price`` for inverse contracts; see :mod:`crossmargin.margin.rules`).
A *group* is what shares one liquidation price: the cross legs of one symbol
(a hedge pair is two legs), or one isolated position. Its margin function
``f(x) = K + Σ_legs (uPnL − MM)`` is affine between the union of its legs'
bracket boundaries (``floor / Q``), so per piece ``f = a·x + b`` with
``a = Σ (σ·Q − Q·(MMR + fee))`` and ``b = K + Σ (amount − σ·Q·x_e)``. The
answer is the sign change of ``f`` nearest the mark: scanning the pieces
outward from the piece holding the mark, either the root ``−b / a`` inside a
piece or, when ``f`` jumps across 0 at a boundary, the boundary itself. One-sided
groups scan in the one direction ``f`` can change sign; hedge groups scan both
ways and keep the crossing nearer in price. ``K`` is the isolated margin, or
for cross groups ``wallet + Σ_{other cross groups} (uPnL − MM)`` at the marks.

Cost and caching
----------------
Tier tables are padded to a common width with ``+inf`` floors (unreachable
brackets), so every group of ``k`` legs becomes a row of ``k·(T−1) + 1`` pieces
and the whole account is a handful of ``(groups × pieces)`` array operations.
:class:`VectorBook` does the mark-independent work once per account state
(reading the positions, tier lookups, per-piece slopes and intercepts);
:meth:`VectorBook.update_marks` + :meth:`VectorBook.liquidation_prices` then
only redo the mark-dependent part. Build a new book whenever anything but the
marks changes (a fill, a margin transfer, a mode switch, new tiers).

Threads: a book is plain data with no locks; build, update and read one book
on one thread (e.g. the worker that recomputes on mark ticks).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping
from decimal import Decimal, localcontext

import numpy as np

from crossmargin.domain import AccountState, MarginMode, Position, PositionId, RuleSet, Side
from crossmargin.errors import InputError
from crossmargin.margin.risk import ENGINE_CONTEXT
from crossmargin.margin.rules import _FEE_IN_MM, _HAS_AMOUNT, _hyperliquid_table, to_x
from crossmargin.margin.tiers import TierTable

__all__ = ["VectorBook", "liquidation_prices_array"]


def _floats(values: list[Decimal]) -> np.ndarray:
    return np.fromiter(map(float, values), dtype=np.float64, count=len(values))


def _flags(values: list[bool]) -> np.ndarray:
    return np.fromiter(values, dtype=bool, count=len(values))


def _merge_legs(
    legs: np.ndarray, leg_a: np.ndarray, leg_b: np.ndarray, bps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces of groups of ``k`` legs: ``(union of breakpoints, a, b0)`` per group.

    On piece ``p`` (``[ubps[p-1], ubps[p])``) each leg is in the bracket given by
    the number of its own boundaries ``<= ubps[p-1]``. So ``a`` and ``b0`` start
    from every leg's first bracket and add, boundary by boundary along the sorted
    union, the step of the leg that owns it; the running sum is read at the end
    of each run of equal values, so that legs breaking at the same ``x`` switch
    together (the empty piece between equal boundaries is then harmless).
    """
    g, k = legs.shape
    width = bps.shape[1]
    m = k * width
    merged = bps[legs].reshape(g, m)
    order = np.argsort(merged, axis=1, kind="stable")
    ubps = np.take_along_axis(merged, order, axis=1)
    a = np.empty((g, m + 1))
    b = np.empty((g, m + 1))
    a[:, 0] = leg_a[legs, 0].sum(axis=1)
    b[:, 0] = leg_b[legs, 0].sum(axis=1)
    if not m:
        return ubps, a, b
    ties = ubps[:, :-1] == ubps[:, 1:]
    ties &= np.isfinite(ubps[:, 1:])  # the +inf padding ties harmlessly
    run_end = None
    if ties.any():
        cand = np.where(ties, m - 1, np.arange(m - 1)[None, :])
        cand = np.concatenate([cand, np.full((g, 1), m - 1)], axis=1)
        run_end = np.minimum.accumulate(cand[:, ::-1], axis=1)[:, ::-1]
    for coef, out in ((leg_a, a), (leg_b, b)):
        steps = np.diff(coef[legs], axis=2).reshape(g, m)  # leg by leg, bracket by bracket
        # padded brackets repeat the last one: their steps are 0 (and sit at +inf anyway)
        total = np.cumsum(np.take_along_axis(steps, order, axis=1), axis=1)
        if run_end is not None:
            total = np.take_along_axis(total, run_end, axis=1)
        out[:, 1:] = out[:, :1] + total
    return ubps, a, b


def _price_or_nan(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan


class _Bucket:
    """Groups of the same leg count ``k``, as ``(G, …)`` arrays (mark-independent).

    ``legs`` (G, k) leg indices; ``ubps`` (G, M) sorted union of breakpoints in
    ``x`` (padded with +inf); pieces ``p`` span ``[lo[p], hi[p])`` with
    ``lo[0] = 0`` and ``hi[-1] = +inf``; ``a``/``b0`` (G, P) the slope and the
    intercept without ``K`` of ``f`` on each piece.
    """

    __slots__ = (
        "a",
        "b0",
        "cross",
        "hi",
        "inverse",
        "leg0",
        "legs",
        "lo",
        "margin",
        "mono_up",
        "monotone",
        "rows",
        "ubps",
    )

    def __init__(
        self,
        legs: np.ndarray,
        cross: np.ndarray,
        margin: np.ndarray,
        book: VectorBook,
    ) -> None:
        g, k = legs.shape
        self.legs = legs
        self.leg0 = legs[:, 0]
        self.cross = cross
        self.margin = margin
        self.rows = np.arange(g)
        self.inverse = book._inverse[self.leg0]
        sig = book._sigma[legs]
        self.monotone = (sig == sig[:, :1]).all(axis=1)
        # a one-sided f increases with x when its legs have σ > 0
        self.mono_up = sig[:, 0] > 0
        bps = book._bps  # (N, T-1)
        if k == 1:
            ubps = bps[self.leg0]
            self.a = book._a[self.leg0]
            self.b0 = book._b[self.leg0]
        else:
            ubps, self.a, self.b0 = _merge_legs(legs, book._a, book._b, bps)
        self.ubps = ubps
        self.lo = np.concatenate([np.zeros((g, 1)), ubps], axis=1)
        self.hi = np.concatenate([ubps, np.full((g, 1), np.inf)], axis=1)

    def at_mark(self, xm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(j, g)``: the piece holding each group's mark and ``Σ(uPnL − MM)`` there."""
        j = (self.ubps <= xm[:, None]).sum(axis=1)
        g = self.a[self.rows, j] * xm + self.b0[self.rows, j]
        return j, g


def _scan_down(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, xm: np.ndarray, j: np.ndarray,
    positive: np.ndarray,
) -> np.ndarray:
    """First sign change of ``f`` at or below the mark (NaN when none): ``solver._scan_down``.

    Pieces ``j, j−1, …, 0``; in piece ``p`` the root (in ``[lo[p], hi[p]]``,
    ``hi[j]`` = the mark) comes first, then the jump at ``lo[p]``. Every test is
    done at once and the first event in scanning order wins (each test assumes
    only "no sign change so far", which holds up to the first event).
    """
    g, n_pieces = a.shape
    rows = np.arange(g)
    valid = np.arange(n_pieces)[None, :] <= j[:, None]
    hi_d = hi.copy()
    hi_d[rows, j] = xm
    events = np.zeros((g, n_pieces, 2), dtype=bool)  # [jump at lo[p], root in p]
    r = -b / a
    events[:, :, 1] = valid & (a != 0) & (lo <= r) & (r <= hi_d) & (r > 0)
    f_left = a[:, :-1] * lo[:, 1:] + b[:, :-1]
    events[:, 1:, 0] = valid[:, 1:] & (((f_left > 0) != positive[:, None]) | (f_left == 0))
    flat = events.reshape(g, 2 * n_pieces)[:, ::-1]
    back = flat.argmax(axis=1)
    key = 2 * n_pieces - 1 - back  # 2p + 1: root in p, 2p: jump at lo[p]
    p = key // 2
    x = np.where(key % 2 == 1, r[rows, p], lo[rows, p])
    x[~flat[rows, back]] = np.nan
    return x


def _scan_up(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, xm: np.ndarray, j: np.ndarray,
    positive: np.ndarray,
) -> np.ndarray:
    """First sign change of ``f`` at or above the mark (NaN when none): ``solver._scan_up``.

    Pieces ``j, j+1, …``; in piece ``p`` the root (in ``[lo[p], hi[p])``,
    ``lo[j]`` = the mark) comes first, then the jump at ``hi[p]`` (finite only).
    """
    g, n_pieces = a.shape
    rows = np.arange(g)
    valid = np.arange(n_pieces)[None, :] >= j[:, None]
    lo_u = lo.copy()
    lo_u[rows, j] = xm
    events = np.zeros((g, n_pieces, 2), dtype=bool)  # [root in p, jump at hi[p]]
    r = -b / a
    events[:, :, 0] = valid & (a != 0) & (r >= lo_u) & (r < hi)
    f_right = a[:, 1:] * hi[:, :-1] + b[:, 1:]
    events[:, :-1, 1] = (
        valid[:, :-1]
        & np.isfinite(hi[:, :-1])
        & (((f_right > 0) != positive[:, None]) | (f_right == 0))
    )
    flat = events.reshape(g, 2 * n_pieces)
    key = flat.argmax(axis=1)  # 2p: root in p, 2p + 1: jump at hi[p]
    p = key // 2
    x = np.where(key % 2 == 0, r[rows, p], hi[rows, p])
    x[~flat[rows, key]] = np.nan
    return x


def _scan(
    a: np.ndarray,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    xm: np.ndarray,
    j: np.ndarray,
    positive: np.ndarray,
    need_down: np.ndarray,
    need_up: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(x_down, x_up)`` for the rows that need each direction (NaN elsewhere)."""
    out = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for need, scan in ((need_down, _scan_down), (need_up, _scan_up)):
            x = np.full(xm.size, np.nan)
            if need.all():
                x = scan(a, b, lo, hi, xm, j, positive)
            elif need.any():
                sel = np.nonzero(need)[0]
                x[sel] = scan(a[sel], b[sel], lo[sel], hi[sel], xm[sel], j[sel], positive[sel])
            out.append(x)
    return out[0], out[1]


class VectorBook:
    """An account state as numpy arrays, ready to solve all liquidation prices.

    Build it once per account state (O(N): ~15–25 ms for 10,000 positions on a
    laptop-class core); then, on every mark tick, call :meth:`update_marks` and
    :meth:`liquidation_prices` (O(N): ~2–4 ms for 10,000 positions; see
    ``tests/benchmarks/bench_engine.py``). ``ids`` lists the positions in the
    state's order, the order of every returned array; ``symbols`` lists the
    symbols in order of first appearance (the order of :meth:`update_mark_array`).
    Marks are in the quote currency (USD price for inverse contracts too).
    Raises :class:`~crossmargin.errors.InputError` exactly where
    :func:`~crossmargin.margin.risk.liquidation_prices` would (missing tier
    table, legs of one symbol with different marks, …).
    """

    def __init__(self, state: AccountState) -> None:
        with localcontext(ENGINE_CONTEXT):
            self._build(state)

    # -- construction ------------------------------------------------------------
    def _build(self, state: AccountState) -> None:
        ps = state.positions
        n = len(ps)
        rules = state.rules
        self.rules = rules
        self.ids: list[PositionId] = [p.id for p in ps]
        sym_names = [p.symbol for p in ps]
        sym_index: dict[str, int] = {}
        sym_of = np.fromiter(
            (sym_index.setdefault(s, len(sym_index)) for s in sym_names), dtype=np.intp, count=n
        )
        self.symbols: tuple[str, ...] = tuple(sym_index)
        self._sym_index = sym_index
        self._sym_of = sym_of

        q = _floats([p.contracts for p in ps])
        sizes = [p.contract_size for p in ps]
        if len(set(map(id, sizes))) > 1:
            q *= _floats(sizes)
        elif sizes:  # one shared object (the default ONE, typically)
            q *= float(sizes[0])
        inverse = _flags([p.inverse for p in ps])
        is_long, is_isolated = Side.LONG, MarginMode.ISOLATED
        long = _flags([p.side is is_long for p in ps])
        isolated = _flags([p.margin_mode is is_isolated for p in ps])
        entry = _floats([p.entry_price for p in ps])
        marks = [p.mark_price for p in ps]
        mark = _floats(marks)
        sigma = np.where(long != inverse, 1.0, -1.0)  # σ = side, flipped for inverse
        sq = sigma * q
        with np.errstate(divide="ignore"):
            x_e = np.where(inverse, 1.0 / entry, entry)

        tables, leg_tab = self._tables(state, sym_index, sym_of)
        fee = float(state.taker_fee_rate) if rules in _FEE_IN_MM else 0.0
        leverage = None
        if rules is RuleSet.BYBIT:
            leverage = _floats([p.leverage for p in ps])

        # -- the per-leg pieces: slope A and intercept B (without K) per bracket --------
        n_tiers = max((len(t) for t in tables), default=1)
        floors = np.full((max(len(tables), 1), n_tiers), np.inf)
        rates = np.zeros_like(floors)
        amounts = np.zeros_like(floors)
        if tables:
            lengths = np.array([len(t) for t in tables])
            filled = np.arange(n_tiers)[None, :] < lengths[:, None]
            floors[filled] = _floats([v for t in tables for v in t.floors])
            rates[filled] = _floats([v for t in tables for v in t.rates])
            amounts[filled] = _floats([v for t in tables for v in t.amounts])
            # brackets past a table's end are never reached (their floors are +inf)
            last = np.arange(len(tables)), lengths - 1
            rates[~filled] = np.broadcast_to(rates[last][:, None], rates.shape)[~filled]
            amounts[~filled] = np.broadcast_to(amounts[last][:, None], amounts.shape)[~filled]
        tab = np.maximum(leg_tab, 0)
        problems: list[tuple[int, str]] = list(self._table_problems)
        if rules is RuleSet.BYBIT:
            missing = np.nonzero(leg_tab < 0)[0]
            problems += [
                (int(i), f"{ps[i].id}: no tier table for {ps[i].symbol}; add its risk-limit tiers")
                for i in missing
            ]
            self._raise_first(problems)
            value = q * x_e
            idx = self._lookup(floors[tab], value, tables, tab, ps, by_size=False)
            rate = rates[tab, idx]
            amount = amounts[tab, idx]
            assert leverage is not None
            bust = 1.0 - sigma / leverage
            close_fee = np.where(bust > 0, float(state.taker_fee_rate) * value * bust, 0.0)
            mm_const = value * rate - amount + close_fee
            a = np.repeat(sq[:, None], n_tiers, axis=1)
            b = np.repeat((-sq * x_e - mm_const)[:, None], n_tiers, axis=1)
            bps = np.full((n, n_tiers - 1), np.inf)
        else:
            by_table = leg_tab >= 0
            fixed_rate = np.zeros(n)
            fixed_amount = np.zeros(n)
            fixed = np.zeros(n, dtype=bool)
            if rules is RuleSet.HYPERLIQUID:
                for i, p in enumerate(ps):
                    if p.max_leverage is not None:
                        fixed[i] = True
                        fixed_rate[i] = float(1 / (2 * p.max_leverage))
            no_table = np.nonzero(~by_table & ~fixed)[0].tolist()
            for i in no_table:
                p = ps[i]
                if rules is RuleSet.GENERIC and p.maintenance_margin_rate is not None:
                    fixed[i] = True
                    fixed_rate[i] = float(p.maintenance_margin_rate)
                else:
                    problems.append(
                        (
                            int(i),
                            f"{p.id}: no tier table for {p.symbol}; add tiers for it "
                            "(or use generic rules with a maintenance_margin_rate on the position)",
                        )
                    )
            self._raise_first(problems)
            if rules is RuleSet.OKX:
                # brackets by size: fixed for the position, looked up once
                sized = np.nonzero(by_table & ~fixed)[0]
                if sized.size:
                    t_s = tab[sized]
                    idx = self._lookup(floors[t_s], q[sized], tables, t_s, ps, by_size=True,
                                       legs=sized)
                    fixed[sized] = True
                    fixed_rate[sized] = rates[t_s, idx]
                    fixed_amount[sized] = amounts[t_s, idx]
            noted = ~fixed
            rate = np.where(noted[:, None], rates[tab], fixed_rate[:, None]) + fee
            amount = np.where(noted[:, None], amounts[tab], fixed_amount[:, None])
            a = sq[:, None] - q[:, None] * rate
            b = amount - (sq * x_e)[:, None]
            with np.errstate(divide="ignore"):
                bps = np.where(noted[:, None], floors[tab, 1:] / q[:, None], np.inf)

        self._check_marks(ps, sym_of, marks)

        margin = np.zeros(n)
        iso_idx = np.nonzero(isolated)[0]
        if iso_idx.size:
            given = [ps[i].isolated_margin for i in iso_idx]
            own = np.array([np.nan if m is None else float(m) for m in given])
            default = np.isnan(own)
            if default.any():
                lev = _floats([ps[i].leverage for i in iso_idx[default]])
                sel = iso_idx[default]
                own[default] = q[sel] * x_e[sel] / lev
            margin[iso_idx] = own

        self._inverse = inverse
        self._sigma = sigma
        self._a = a
        self._b = b
        self._bps = bps
        self.wallet = float(state.wallet_balance)
        self._sym_mark = np.zeros(len(sym_index))
        self._sym_mark[sym_of] = mark
        self._x_mark = np.zeros(n)
        self._dirty = True
        self._buckets = self._make_buckets(isolated, sym_of, margin)

    def _tables(
        self, state: AccountState, sym_index: dict[str, int], sym_of: np.ndarray
    ) -> tuple[list[TierTable], np.ndarray]:
        """One :class:`TierTable` per distinct tier tuple; each leg's table (-1: none)."""
        rules = state.rules
        symbols = list(sym_index)
        found = list(map(state.tiers.get, symbols))
        keys = list(map(id, found))
        # symbols numbered by first appearance: symbol k first shows up where the
        # running maximum of sym_of steps up
        prev_max = np.maximum.accumulate(np.r_[-1, sym_of[:-1]]) if sym_of.size else sym_of
        first_leg = np.flatnonzero(sym_of > prev_max)
        tables: list[TierTable] = []
        by_key: dict[int, int] = {}
        problems: list[tuple[int, str]] = []
        for k, key in enumerate(keys):
            if key in by_key:
                continue
            tiers = found[k]
            by_key[key] = -1
            if not tiers:
                continue
            try:
                if rules is RuleSet.HYPERLIQUID:
                    table = _hyperliquid_table(tiers, symbols[k])
                else:
                    table = TierTable(tiers, derive_amounts=rules in _HAS_AMOUNT)
            except InputError as exc:
                problems.append((int(first_leg[k]), str(exc)))
                continue
            by_key[key] = len(tables)
            tables.append(table)
        sym_tab = np.fromiter(map(by_key.__getitem__, keys), dtype=np.intp, count=len(keys))
        self._table_problems = problems
        return tables, sym_tab[sym_of]

    @staticmethod
    def _raise_first(problems: list[tuple[int, str]]) -> None:
        """Raise the problem of the earliest position, as the Decimal builder would."""
        if problems:
            raise InputError(min(problems, key=lambda item: item[0])[1])

    @staticmethod
    def _lookup(
        floors: np.ndarray,
        values: np.ndarray,
        tables: list[TierTable],
        tab: np.ndarray,
        ps: tuple[Position, ...],
        *,
        by_size: bool,
        legs: np.ndarray | None = None,
    ) -> np.ndarray:
        """Bracket index per row; values within rounding of a floor are looked up in Decimal."""
        idx = (floors <= values[:, None]).sum(axis=1) - 1
        np.maximum(idx, 0, out=idx)
        near = (np.abs(floors - values[:, None]) <= 1e-12 * np.abs(values)[:, None]).any(axis=1)
        for row in np.nonzero(near)[0]:
            leg = int(row if legs is None else legs[row])
            p = ps[leg]
            exact = p.size if by_size else p.size * to_x(p.entry_price, p.inverse)
            idx[row] = tables[int(tab[row])].lookup(exact)
        return idx

    def _check_marks(
        self, ps: tuple[Position, ...], sym_of: np.ndarray, marks: list[Decimal]
    ) -> None:
        """Legs of one symbol must carry the same mark (checked exactly, in Decimal)."""
        if not sym_of.size:
            return
        counts = np.bincount(sym_of)
        shared = np.nonzero(counts[sym_of] > 1)[0].tolist()
        if not shared:
            return
        first_of: dict[str, Decimal] = {}
        for i in reversed(shared):  # ends with each symbol's first leg
            first_of[ps[i].symbol] = marks[i]
        mine = [marks[i] for i in shared]
        firsts = [first_of[ps[i].symbol] for i in shared]
        if not any(map(operator.ne, mine, firsts)):
            return
        for i, m, first in zip(shared, mine, firsts, strict=True):
            if m != first:
                p = ps[i]
                raise InputError(
                    f"{p.id}.mark_price: {m} differs from {first} on another "
                    f"{p.symbol} position; one symbol has one mark price"
                )

    def _make_buckets(
        self, isolated: np.ndarray, sym_of: np.ndarray, margin: np.ndarray
    ) -> list[_Bucket]:
        cross_idx = np.nonzero(~isolated)[0]
        iso_idx = np.nonzero(isolated)[0]
        order = cross_idx[np.argsort(sym_of[cross_idx], kind="stable")]
        syms = sym_of[order]
        starts = np.flatnonzero(np.r_[True, syms[1:] != syms[:-1]]) if order.size else order
        sizes = np.diff(np.r_[starts, order.size])
        buckets: list[_Bucket] = []
        singles = order[starts[sizes == 1]]
        one = np.concatenate([singles, iso_idx])
        if one.size:
            cross = np.zeros(one.size, dtype=bool)
            cross[: singles.size] = True
            buckets.append(_Bucket(one[:, None], cross, margin[one], self))
        for k in np.unique(sizes[sizes > 1]):
            first = starts[sizes == k]
            legs = order[first[:, None] + np.arange(k)[None, :]]
            g = legs.shape[0]
            buckets.append(_Bucket(legs, np.ones(g, dtype=bool), np.zeros(g), self))
        return buckets

    # -- marks -------------------------------------------------------------------
    def update_marks(self, marks: Mapping[str, Decimal | float]) -> None:
        """Set new mark prices by symbol (quote currency per unit; > 0).

        Symbols the account does not hold are ignored (a live feed ticks more
        symbols than an account holds); symbols not given keep their mark.
        """
        if not marks:
            return
        index = np.fromiter(
            map(self._sym_index.get, marks, itertools.repeat(-1)), dtype=np.intp, count=len(marks)
        )
        try:
            values = np.fromiter(map(float, marks.values()), dtype=np.float64, count=len(marks))
        except (TypeError, ValueError):
            values = np.array([_price_or_nan(v) for v in marks.values()])
        bad = (index >= 0) & ~(np.isfinite(values) & (values > 0))
        if bad.any():
            symbol, value = list(marks.items())[int(np.argmax(bad))]
            raise InputError(f"marks[{symbol}]: must be a finite price > 0, got {value!r}")
        held = index >= 0
        self._sym_mark[index[held]] = values[held]
        self._dirty = True

    def update_mark_array(self, marks: np.ndarray) -> None:
        """Set every mark at once, aligned with :attr:`symbols` (fastest tick path)."""
        values = np.asarray(marks, dtype=np.float64)
        if values.shape != self._sym_mark.shape:
            raise InputError(
                f"marks: expected {self._sym_mark.size} prices (one per symbol), got {values.size}"
            )
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            k = int(np.argmax(bad))
            raise InputError(
                f"marks[{self.symbols[k]}]: must be a finite price > 0, got {values[k]}"
            )
        self._sym_mark[:] = values
        self._dirty = True

    @property
    def marks(self) -> np.ndarray:
        """Current mark per symbol, aligned with :attr:`symbols` (a copy)."""
        return self._sym_mark.copy()

    # -- solving -----------------------------------------------------------------
    def liquidation_prices(self) -> np.ndarray:
        """Liquidation price of every position (order of :attr:`ids`); NaN = never.

        Same meaning as :func:`~crossmargin.margin.risk.liquidation_prices`: with
        every other mark fixed, the price nearest the mark where the position's
        margin balance meets its maintenance margin (for a position already past
        it, the price it would have to get back to).
        """
        n = len(self.ids)
        out = np.full(n, np.nan)
        if not n:
            return out
        if self._dirty:
            price = self._sym_mark[self._sym_of]
            self._x_mark = np.where(self._inverse, 1.0 / price, price)
            self._dirty = False
        x_mark = self._x_mark
        at_mark = []
        total = self.wallet
        for bucket in self._buckets:
            xm = x_mark[bucket.leg0]
            j, g = bucket.at_mark(xm)
            at_mark.append((xm, j, g))
            total += float(g[bucket.cross].sum())
        for bucket, (xm, j, g) in zip(self._buckets, at_mark, strict=True):
            cross = bucket.cross
            k = np.where(cross, total - g, bucket.margin)
            f_mark = np.where(cross, total, bucket.margin + g)
            positive = f_mark > 0
            # a one-sided f can only change sign on one side of the mark
            one_way_down = bucket.mono_up == positive
            x_down, x_up = _scan(
                bucket.a, bucket.b0 + k[:, None], bucket.lo, bucket.hi, xm, j, positive,
                ~bucket.monotone | one_way_down, ~bucket.monotone | ~one_way_down,
            )
            x = self._choose(bucket, xm, f_mark, x_down, x_up)
            with np.errstate(divide="ignore", invalid="ignore"):
                price = np.where(bucket.inverse, 1.0 / x, x)
            price[~(x > 0)] = np.nan
            for col in range(bucket.legs.shape[1]):
                out[bucket.legs[:, col]] = price
        return out

    @staticmethod
    def _choose(
        bucket: _Bucket, xm: np.ndarray, f_mark: np.ndarray, x_down: np.ndarray, x_up: np.ndarray
    ) -> np.ndarray:
        positive = f_mark > 0
        # one-sided: f moves one way, so only one direction can change its sign
        x = np.where(bucket.mono_up == positive, x_down, x_up)
        hedge = ~bucket.monotone
        if hedge.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = bucket.inverse
                d_down = np.where(inv, np.abs(1.0 / x_down - 1.0 / xm), xm - x_down)
                d_up = np.where(inv, np.abs(1.0 / x_up - 1.0 / xm), x_up - xm)
            nearer = np.where(
                np.isnan(x_down), x_up, np.where(np.isnan(x_up) | (d_down <= d_up), x_down, x_up)
            )
            x = np.where(hedge, nearer, x)
        return np.where(f_mark == 0, xm, x)


def liquidation_prices_array(state: AccountState) -> tuple[list[PositionId], np.ndarray]:
    """``(ids, prices)``: every position's liquidation price in float64 (NaN = never).

    The vectorised twin of :func:`~crossmargin.margin.risk.liquidation_prices`
    (same semantics, ~1e-12 relative agreement), for live views. Prices are in
    the quote currency. To recompute on every mark tick, keep a
    :class:`VectorBook` instead of calling this again.
    """
    book = VectorBook(state)
    return list(book.ids), book.liquidation_prices()
