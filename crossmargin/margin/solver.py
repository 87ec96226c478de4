"""Liquidation and bankruptcy prices: roots of a piecewise-affine margin function.

For one symbol, with every other mark held fixed, the quantity that triggers
liquidation is ``f(x) = K + Σ_legs (uPnL_l(x) − MM_l(x))`` where ``K`` collects
the wallet and the other positions (see :mod:`crossmargin.margin.rules` for the
price variable ``x``). Between two bracket boundaries every leg is affine in
``x``, so each piece has one closed-form root. The solver walks the pieces
outward from the current mark and returns the first ``x`` where ``f`` changes
sign — the bracket is therefore the one in force *at the solved price*
(Binance's COIN-M note), never the entry bracket. A jump across a boundary
(possible only with tables whose maintenance amounts are inconsistent) makes
the boundary itself the answer.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal

from crossmargin.domain import ZERO
from crossmargin.margin.rules import Leg

TWO = Decimal(2)


def _coeffs(legs: Sequence[Leg], k: Decimal, x: Decimal, with_mm: bool) -> tuple[Decimal, Decimal]:
    a = ZERO
    b = k
    for leg in legs:
        la, lb = leg.coefficients(x, with_mm=with_mm)
        a += la
        b += lb
    return a, b


def _rep(bps: Sequence[Decimal], j: int) -> Decimal:
    """A point strictly inside piece ``j`` (pieces: (0,b0), [b0,b1), …, [b_last, ∞))."""
    n = len(bps)
    if n == 0:
        raise ValueError("no pieces")
    if j == 0:
        return bps[0] / TWO
    if j == n:
        return bps[-1] * TWO
    return (bps[j - 1] + bps[j]) / TWO


def _scan_down(
    legs: Sequence[Leg], k: Decimal, x_mark: Decimal, bps: Sequence[Decimal], positive: bool,
    with_mm: bool,
) -> Decimal | None:
    j = bisect_right(bps, x_mark)
    hi = x_mark
    a, b = _coeffs(legs, k, x_mark, with_mm)
    while True:
        lo = bps[j - 1] if j > 0 else ZERO
        if a != 0:
            r = -b / a
            if lo <= r <= hi and r > 0:
                return r
        if j == 0:
            return None
        a2, b2 = _coeffs(legs, k, _rep(bps, j - 1), with_mm)
        f_left = a2 * lo + b2
        if (f_left > 0) != positive or f_left == 0:
            return lo
        a, b, hi, j = a2, b2, lo, j - 1


def _scan_up(
    legs: Sequence[Leg], k: Decimal, x_mark: Decimal, bps: Sequence[Decimal], positive: bool,
    with_mm: bool,
) -> Decimal | None:
    n = len(bps)
    j = bisect_right(bps, x_mark)
    lo = x_mark
    a, b = _coeffs(legs, k, x_mark, with_mm)
    while True:
        hi = bps[j] if j < n else None
        if a != 0:
            r = -b / a
            if r >= lo and (hi is None or r < hi):
                return r
        if hi is None:
            return None
        a2, b2 = _coeffs(legs, k, _rep(bps, j + 1), with_mm)
        f_right = a2 * hi + b2
        if (f_right > 0) != positive or f_right == 0:
            return hi
        a, b, lo, j = a2, b2, hi, j + 1


def solve(
    legs: Sequence[Leg], k: Decimal, x_mark: Decimal, *, with_mm: bool = True
) -> Decimal | None:
    """The ``x`` nearest the mark where ``k + Σ(uPnL − MM)`` changes sign.

    ``with_mm=False`` drops maintenance margin (the bankruptcy price). Returns
    ``None`` when no positive ``x`` exists (never liquidated). When the sign at
    the mark is already non-positive (liquidated now) the returned root is the
    price the position would have to get back to.
    """
    if with_mm:
        bps = sorted({bp for leg in legs for bp in leg.breakpoints()})
    else:
        bps = []
    a, b = _coeffs(legs, k, x_mark, with_mm)
    f_mark = a * x_mark + b
    if f_mark == 0:
        return x_mark
    positive = f_mark > 0
    sigmas = {leg.sigma for leg in legs}
    if len(sigmas) == 1:
        # Every leg's uPnL − MM moves the same way (MMR + fee < 1): f is monotone.
        increasing = next(iter(sigmas)) > 0
        if increasing == positive:
            return _scan_down(legs, k, x_mark, bps, positive, with_mm)
        return _scan_up(legs, k, x_mark, bps, positive, with_mm)
    down = _scan_down(legs, k, x_mark, bps, positive, with_mm)
    up = _scan_up(legs, k, x_mark, bps, positive, with_mm)
    if down is None:
        return up
    if up is None:
        return down
    # Hedge legs: the nearer crossing, measured in price.
    inverse = legs[0].position.inverse
    if inverse:
        d_down = abs(1 / down - 1 / x_mark)
        d_up = abs(1 / up - 1 / x_mark)
    else:
        d_down = x_mark - down
        d_up = up - x_mark
    return down if d_down <= d_up else up
