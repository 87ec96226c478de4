"""The price-shock grid in numpy: uPnL and maintenance margin of a whole book over many
shocks at once, for :func:`crossmargin.margin.shock.sweep` (float64) and for picking where
the exact (Decimal) cascade refines. One algorithm, kept apart from the exact one so each
can be checked against the other (``tests/margin/test_properties.py``).
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np

from crossmargin.domain import ONE
from crossmargin.margin.risk import ENGINE_CONTEXT
from crossmargin.margin.rules import Leg


def x_at(leg: Leg, mark: Decimal, w: Decimal, t: Decimal) -> Decimal:
    price = mark * (ONE + w * t)
    return ONE / price if leg.position.inverse else price


class GridBook:
    """Every leg as numpy arrays; sums uPnL and maintenance over legs on a grid of shocks.

    Nothing is evaluated per (leg, shock). Along the shock axis a leg's ``x`` is
    ``m·(1 + w·t)`` (linear, ``m`` the mark) or ``h_w(t) / m`` with
    ``h_w = 1 / (1 + w·t)`` (inverse), so its uPnL is ``α + β·t`` or
    ``α + γ·φ_w(t)`` with ``φ_w = h_w − 1 = −w·t / (1 + w·t)``; its maintenance
    margin is ``rate(t)·Q·x(t) − amount(t)`` where ``rate``/``amount`` are step
    functions: the bracket index is ``Σ_j [notional(t) ≥ floor_j]`` and each
    term switches on at one shock ``t*`` (a prefix or a suffix of the sorted
    grid, as the notional falls or rises with ``t``). Sums over legs are then
    difference arrays over the sorted grid: O(legs × tiers + grid × distinct
    inverse weights) instead of O(legs × grid). A grid point within rounding of
    a ``t*`` has its bracket decided in Decimal, exactly as :func:`shock_point`.
    """

    def __init__(self, legs: list[Leg], weights: list[Decimal]) -> None:
        n = len(legs)
        self.n = n
        self.legs = legs
        self.dec_w = weights
        self.q = np.array([float(leg.q) for leg in legs])
        self.sigma = np.array([float(leg.sigma) for leg in legs])
        self.x_e = np.array([float(leg.x_e) for leg in legs])
        self.mark = np.array([float(leg.position.mark_price) for leg in legs])
        self.w = np.array([float(w) for w in weights])
        self.inverse = np.array([leg.position.inverse for leg in legs], dtype=bool)
        self.isolated = np.array([leg.isolated for leg in legs], dtype=bool)
        self.margin = np.array([float(leg.margin) for leg in legs])
        self.const = np.array([leg.kind == "const" for leg in legs], dtype=bool)
        self.mm_const = np.array([float(leg.mm_const) for leg in legs])
        # the bracket in force at no notional (rate incl. fee, amount); legs whose
        # bracket never moves (fixed rate, by size, unmoved symbol) keep theirs
        base_rate = np.zeros(n)
        base_amount = np.zeros(n)
        moving: list[int] = []
        for i, leg in enumerate(legs):
            if leg.kind == "const":
                continue
            table = leg.table
            if table is None or leg.by_size or len(table) < 2 or weights[i] == 0:
                rate, amount = leg.bracket_at(leg.x_mark)
            else:
                rate, amount = table.rates[0] + leg.fee, table.amounts[0]
                moving.append(i)
            base_rate[i] = float(rate)
            base_amount[i] = float(amount)
        self.base_rate = base_rate
        self.base_amount = base_amount
        # thresholds (leg, tier j >= 1) of the moving legs, padded with +inf floors
        tables: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        width = max((len(legs[i].table) for i in moving), default=1) - 1  # type: ignore[arg-type]
        self.moving = np.array(moving, dtype=np.intp)
        self.floors = np.full((len(moving), width), np.inf)
        self.d_rate = np.zeros((len(moving), width))
        self.d_amount = np.zeros((len(moving), width))
        for row, i in enumerate(moving):
            table = legs[i].table
            assert table is not None
            got = tables.get(id(table))
            if got is None:
                rates = np.array([float(r) for r in table.rates])
                amounts = np.array([float(a) for a in table.amounts])
                got = (
                    np.array([float(f) for f in table.floors[1:]]),
                    np.diff(rates),
                    np.diff(amounts),
                )
                tables[id(table)] = got
            m = got[0].size
            self.floors[row, :m], self.d_rate[row, :m], self.d_amount[row, :m] = got
        inv_w = self.w[self.inverse]
        self.inv_weights = np.unique(inv_w)

    # -- evaluation ----------------------------------------------------------------
    def sums(
        self, ts: np.ndarray, alive: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(isolated equity, cross uPnL, cross maintenance)`` at each shock of ``ts``.

        Isolated equity sums ``margin + uPnL`` of the isolated legs, each only on
        its alive range ``alive = (start, end)`` of the *sorted* grid (all of it when
        ``None``). Any order of ``ts`` is accepted; results follow ``ts``.
        """
        ts = np.asarray(ts, dtype=np.float64)
        order = np.argsort(ts, kind="stable")
        t_s = ts[order]
        k = t_s.size
        n_inv = self.inv_weights.size
        kinds = 2 + 2 * n_inv  # 1, t, then h_w and φ_w per distinct inverse weight
        funcs = np.empty((kinds, k))
        funcs[0] = 1.0
        funcs[1] = t_s
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for g, w in enumerate(self.inv_weights):
                den = 1.0 + w * t_s
                funcs[2 + 2 * g] = 1.0 / den
                funcs[3 + 2 * g] = -w * t_s / den
        acc = RangeSums(3, kinds, k)
        self._add_upnl(acc, alive)
        self._add_maintenance(acc, t_s)
        with np.errstate(invalid="ignore", over="ignore"):
            out = acc.total(funcs)
        result = np.empty_like(out)
        result[:, order] = out
        return result[0], result[1], result[2]

    def _kind_h(self, legs: np.ndarray) -> np.ndarray:
        """Kind index of ``h_w`` for inverse legs (``φ_w`` is the next one)."""
        return 2 + 2 * np.searchsorted(self.inv_weights, self.w[legs])

    def _add_upnl(self, acc: RangeSums, alive: tuple[np.ndarray, np.ndarray] | None) -> None:
        n, k = self.n, acc.k
        inv = self.inverse
        start = np.zeros(n, dtype=np.intp)
        end = np.full(n, k, dtype=np.intp)
        if alive is not None:
            iso_idx = np.nonzero(self.isolated)[0]
            start[iso_idx], end[iso_idx] = alive
        target = np.where(self.isolated, 0, 1)
        sq = self.sigma * self.q
        with np.errstate(divide="ignore", invalid="ignore"):
            x0 = np.where(inv, 1.0 / self.mark, self.mark)
        alpha = sq * (x0 - self.x_e) + np.where(self.isolated, self.margin, 0.0)
        acc.add(target, 0, start, end, alpha)
        lin = np.nonzero(~inv)[0]
        acc.add(target[lin], 1, start[lin], end[lin], (sq * self.mark * self.w)[lin])
        inv_i = np.nonzero(inv)[0]
        if inv_i.size:
            acc.add(
                target[inv_i], self._kind_h(inv_i) + 1, start[inv_i], end[inv_i],
                sq[inv_i] / self.mark[inv_i],
            )

    def _add_maintenance(self, acc: RangeSums, t_s: np.ndarray) -> None:
        k = acc.k
        cross = np.nonzero(~self.isolated)[0]
        if not cross.size:
            return
        inv = self.inverse
        zero = np.zeros(cross.size, dtype=np.intp)
        full = np.full(cross.size, k, dtype=np.intp)
        const = self.const[cross]
        acc.add(2, 0, zero, full, np.where(const, self.mm_const[cross], -self.base_amount[cross]))
        # rate × Q × x: Q·m·(1 + w·t) for linear legs, (Q / m)·h_w(t) for inverse legs
        qm = self.q * self.mark
        with np.errstate(divide="ignore"):
            q_over_m = self.q / self.mark
        lin = cross[~const & ~inv[cross]]
        acc.add(2, 0, zero[: lin.size], full[: lin.size], (self.base_rate * qm)[lin])
        acc.add(2, 1, zero[: lin.size], full[: lin.size], (self.base_rate * qm * self.w)[lin])
        inv_c = cross[~const & inv[cross]]
        if inv_c.size:
            acc.add(
                2, self._kind_h(inv_c), zero[: inv_c.size], full[: inv_c.size],
                (self.base_rate * q_over_m)[inv_c],
            )
        # the bracket steps of the moving cross legs
        rows = np.nonzero(~self.isolated[self.moving])[0]
        if not rows.size or not self.floors.shape[1]:
            return
        legs = self.moving[rows]
        floors = self.floors[rows]
        w = self.w[legs][:, None]
        inverse = self.inverse[legs][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(inverse, q_over_m[legs][:, None] / floors, floors / qm[legs][:, None])
            t_star = (ratio - 1.0) / w
        rising = np.broadcast_to((w > 0) != inverse, floors.shape)  # notional grows with t
        use = np.isfinite(floors)
        r_i, j_i = np.nonzero(use)
        t_star = t_star[r_i, j_i]
        rising = rising[r_i, j_i]
        # suffix [B, K) where t >= t* (rising), prefix [0, B) where t <= t* (falling)
        b = np.where(
            rising,
            np.searchsorted(t_s, t_star, side="left"),
            np.searchsorted(t_s, t_star, side="right"),
        )
        self._settle_ambiguous(b, t_s, t_star, rising, legs[r_i], j_i)
        start = np.where(rising, b, 0)
        end = np.where(rising, k, b)
        leg_of = legs[r_i]
        d_rate = self.d_rate[rows][r_i, j_i]
        d_amount = self.d_amount[rows][r_i, j_i]
        acc.add(2, 0, start, end, -d_amount)
        lin_t = ~self.inverse[leg_of]
        acc.add(2, 0, start[lin_t], end[lin_t], (d_rate * qm[leg_of])[lin_t])
        acc.add(2, 1, start[lin_t], end[lin_t], (d_rate * qm[leg_of] * self.w[leg_of])[lin_t])
        inv_t = ~lin_t
        if inv_t.any():
            acc.add(
                2, self._kind_h(leg_of[inv_t]), start[inv_t], end[inv_t],
                (d_rate * q_over_m[leg_of])[inv_t],
            )

    def _settle_ambiguous(
        self,
        b: np.ndarray,
        t_s: np.ndarray,
        t_star: np.ndarray,
        rising: np.ndarray,
        leg_of: np.ndarray,
        tier_of: np.ndarray,
    ) -> None:
        """Grid points within rounding of a threshold: decide the bracket in Decimal."""
        k = t_s.size
        if not k:
            return
        tol = 1e-10 * (1.0 + np.abs(t_star))
        lo = np.clip(b - 1, 0, k - 1)
        hi = np.clip(b, 0, k - 1)
        near = (np.abs(t_s[lo] - t_star) <= tol) | (np.abs(t_s[hi] - t_star) <= tol)
        for m in np.nonzero(near)[0].tolist():
            i = int(leg_of[m])
            leg = self.legs[i]
            table = leg.table
            assert table is not None
            floor = table.floors[int(tier_of[m]) + 1]

            def reached(idx: int, leg: Leg = leg, floor: Decimal = floor, i: int = i) -> bool:
                t = Decimal(repr(float(t_s[idx])))
                x = x_at(leg, leg.position.mark_price, self.dec_w[i], t)
                return leg.q * x >= floor

            def close(idx: int, m: int = m) -> bool:
                return abs(float(t_s[idx]) - float(t_star[m])) <= float(tol[m])

            with localcontext(ENGINE_CONTEXT):
                cut = int(b[m])
                # walk the cut over every grid point within rounding of t*
                if rising[m]:  # the step is on from index cut
                    while cut > 0 and close(cut - 1) and reached(cut - 1):
                        cut -= 1
                    while cut < k and close(cut) and not reached(cut):
                        cut += 1
                else:  # the step is on up to index cut (excluded)
                    while cut < k and close(cut) and reached(cut):
                        cut += 1
                    while cut > 0 and close(cut - 1) and not reached(cut - 1):
                        cut -= 1
                b[m] = cut

    def bad_prices(self, ts: np.ndarray) -> np.ndarray:
        """Shocks that push some mark to <= 0 (``mark·(1 + w·t) <= 0``)."""
        if not self.n:
            return np.zeros(ts.shape, dtype=bool)
        # fl(1 + w·t) is monotone in w: the extreme weights decide for every leg
        w_lo, w_hi = float(self.w.min()), float(self.w.max())
        return ((1.0 + w_lo * ts) <= 0) | ((1.0 + w_hi * ts) <= 0)


class RangeSums:
    """Sums of ``value × F_kind(t)`` over index ranges ``[start, end)`` of a grid.

    Each term is recorded as a difference pair; :meth:`total` turns them into
    per-grid-point coefficients with one ``bincount`` and one ``cumsum``.
    """

    def __init__(self, targets: int, kinds: int, k: int) -> None:
        self.targets = targets
        self.kinds = kinds
        self.k = k
        self.index: list[np.ndarray] = []
        self.value: list[np.ndarray] = []

    def add(
        self,
        target: np.ndarray | int,
        kind: np.ndarray | int,
        start: np.ndarray,
        end: np.ndarray,
        value: np.ndarray,
    ) -> None:
        base = (np.asarray(target) * self.kinds + np.asarray(kind)) * (self.k + 1)
        self.index += [base + start, base + end]
        self.value += [value, -value]

    def total(self, funcs: np.ndarray) -> np.ndarray:
        """``(targets, k)``: for each target, ``Σ_kind coefficient(t) × F_kind(t)``."""
        size = self.targets * self.kinds * (self.k + 1)
        index = np.concatenate([np.broadcast_to(i, np.shape(v)) for i, v in zip(
            self.index, self.value, strict=True)]) if self.index else np.zeros(0, np.intp)
        value = np.concatenate(self.value) if self.value else np.zeros(0)
        diff = np.bincount(index, weights=value, minlength=size)
        coef = np.cumsum(diff.reshape(self.targets, self.kinds, self.k + 1), axis=2)
        coef = coef[:, :, : self.k]
        # skip the h/φ columns where no coefficient was ever set (avoids inf × 0)
        out = np.zeros((self.targets, self.k))
        for kind in range(self.kinds):
            c = coef[:, kind, :]
            if c.any():
                out += c * funcs[kind]
        return out
