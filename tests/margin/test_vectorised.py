"""The float64 liquidation prices agree with the exact Decimal solver.

Random accounts come from the same strategy as the engine's property tests
(every rule set, linear and inverse, cross and isolated, hedge pairs). The
only disagreements tolerated are the ones float64 cannot avoid: an answer on a
bracket boundary where the margin gap next to the boundary is 0 to rounding
(1 ulp decides the side), an account whose margin gap at the mark is zero to within float
rounding (the sign at the mark decides which way to scan), and a root at
``x = 0`` to within rounding (a price 1e12 times the mark or more, or 1e-12
times it or less: "never" in one arithmetic, an absurd price in the other).

The last part checks the vectorised shock sweep against exact shock points
(uniform, beta and per-symbol profiles, any order of shocks, grid points exactly
on bracket thresholds and on the cascade's own shocks).
"""

from __future__ import annotations

import random
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import SYMBOLS, _scale, accounts, ref_gap

from crossmargin.domain import (
    AccountState,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Side,
    Tier,
)
from crossmargin.errors import InputError
from crossmargin.margin import (
    ShockProfile,
    VectorBook,
    cascade,
    evaluate,
    liquidation_prices,
    liquidation_prices_array,
    margin_function,
    shock_point,
    shock_state,
    sweep,
)
from crossmargin.margin.risk import ENGINE_CONTEXT
from crossmargin.margin.rules import build_legs
from crossmargin.sync.tier_tables import tiers_from_ccxt

D = Decimal
REL = 1e-9


def _group_legs(state: AccountState, pid: str) -> list:
    """The solver legs sharing ``pid``'s liquidation price."""
    legs = build_legs(state)
    me = next(leg for leg in legs if leg.id == pid)
    if me.isolated:
        return [me]
    return [leg for leg in legs if not leg.isolated and leg.symbol == me.symbol]


def _ambiguous_boundary(state: AccountState, pid: str, price: float) -> bool:
    """True when ``price`` is within 1e-9 of a bracket boundary where the answer is
    decided by rounding: the margin gap on one side of the boundary is 0 to 1e-9.

    There the exact answer is the boundary (or a root within 1e-9 of it) and a
    1-ulp difference in where the boundary lies, or in the gap's sign next to it,
    legitimately sends float64 to the other side.
    """
    if not np.isfinite(price) or price <= 0:
        return False
    scale = _scale(state, state.position(pid))
    with localcontext() as ctx:
        ctx.prec = 60
        for leg in _group_legs(state, pid):
            for bp in leg.breakpoints():
                at = 1 / bp if leg.position.inverse else bp
                if abs(float(at) - price) > REL * price:
                    continue
                eps = at * D("1e-25")
                below = ref_gap(state, pid, at - eps)
                above = ref_gap(state, pid, at + eps)
                if min(abs(below), abs(above)) <= D("1e-9") * scale:
                    return True
    return False


def _gap_at_mark_is_rounding(state: AccountState, pid: str) -> bool:
    """True when margin balance − maintenance at the mark is 0 to within float rounding."""
    p = state.position(pid)
    gap = margin_function(state, pid, p.mark_price)
    scale = abs(state.wallet_balance) + sum(
        (q.size / q.mark_price if q.inverse else q.size * q.mark_price) + abs(q.own_margin)
        for q in state.positions
    )
    return abs(gap) <= D("1e-12") * scale


def _root_at_zero(state: AccountState, pid: str, price: float) -> bool:
    """True when the answer's ``x`` (price, or 1/price for inverse) is 0 to float rounding.

    E.g. an inverse short at 1x: ``f`` is exactly proportional to ``x``, so the
    root is ``x = 0`` (never liquidated); Decimal's 40-digit rounding leaves a root
    of ~1e-43, a price of ~1e42, where float64 lands on the other side of 0.
    """
    if not np.isfinite(price) or price <= 0:
        return False
    p = state.position(pid)
    mark = float(p.mark_price)
    ratio = mark / price if p.inverse else price / mark
    return ratio <= 1e-12


def _as_float(value: Decimal | None) -> float:
    return np.nan if value is None else float(value)


def assert_agree(state: AccountState, ids: list, prices: np.ndarray, exact: dict) -> None:
    assert ids == [p.id for p in state.positions]
    assert prices.dtype == np.float64 and prices.shape == (len(ids),)
    for pid, got in zip(ids, prices, strict=True):
        want = _as_float(exact[pid])
        if np.isnan(want) and np.isnan(got):
            continue
        if not np.isnan(want) and not np.isnan(got) and abs(got - want) <= REL * want:
            continue
        excused = (
            _ambiguous_boundary(state, pid, want)
            or _ambiguous_boundary(state, pid, got)
            or _gap_at_mark_is_rounding(state, pid)
            or _root_at_zero(state, pid, want)
            or _root_at_zero(state, pid, got)
        )
        assert excused, (pid, want, got)


def check(state: AccountState) -> None:
    ids, prices = liquidation_prices_array(state)
    assert_agree(state, ids, prices, liquidation_prices(state))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(accounts())
def test_agrees_with_exact_solver(state: AccountState) -> None:
    check(state)


@pytest.mark.parametrize("rules", list(RuleSet))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_agrees_for_each_rule_set(rules: RuleSet, data: st.DataObject) -> None:
    check(data.draw(accounts(rules=rules)))


@st.composite
def jumpy_accounts(draw: st.DrawFn) -> AccountState:
    """Accounts whose tables carry arbitrary (inconsistent) maintenance amounts.

    Then the margin function jumps at bracket boundaries and the answer can be a
    boundary itself, the case the derived amounts of ``accounts()`` never reach.
    """
    rules = draw(st.sampled_from([RuleSet.BINANCE, RuleSet.GENERIC, RuleSet.BYBIT]))
    state = draw(accounts(rules=rules, max_positions=5))
    tiers = {}
    for symbol, table in state.tiers.items():
        top = table[-1].min_notional * table[-1].maintenance_margin_rate + 1
        amounts = [
            D(0) if i == 0 else (top * draw(st.decimals(0, 2, places=3))).quantize(D("0.0001"))
            for i in range(len(table))
        ]
        tiers[symbol] = tuple(
            Tier(t.min_notional, t.max_notional, t.maintenance_margin_rate, amt, t.max_leverage)
            for t, amt in zip(table, amounts, strict=True)
        )
    return state.with_(tiers=tiers)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(jumpy_accounts())
def test_agrees_when_maintenance_jumps_at_boundaries(state: AccountState) -> None:
    check(state)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(accounts(), st.data())
def test_warm_book_follows_new_marks(state: AccountState, data: st.DataObject) -> None:
    """update_marks + liquidation_prices == the exact solver on the state with those marks."""
    book = VectorBook(state)
    first = book.liquidation_prices()
    for _ in range(2):
        factors = {
            s: data.draw(st.decimals(D("0.5"), D("1.5"), places=3)) for s in book.symbols
        }
        with localcontext(ENGINE_CONTEXT):
            moved = state.with_(
                positions=tuple(
                    p.with_(mark_price=(p.mark_price * factors[p.symbol]).quantize(D("0.0001")))
                    for p in state.positions
                )
            )
        marks = {p.symbol: p.mark_price for p in moved.positions}
        book.update_marks(marks)
        assert_agree(moved, book.ids, book.liquidation_prices(), liquidation_prices(moved))
    # back to the original marks: the original answer, bit for bit
    book.update_marks({p.symbol: p.mark_price for p in state.positions})
    np.testing.assert_array_equal(book.liquidation_prices(), first)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(accounts(max_positions=4))
def test_hedge_legs_share_one_price(state: AccountState) -> None:
    _ids, prices = liquidation_prices_array(state)
    by_symbol: dict[str, set[float]] = {}
    for p, price in zip(state.positions, prices, strict=True):
        if p.margin_mode is MarginMode.CROSS:
            by_symbol.setdefault(p.symbol, set()).add(-1.0 if np.isnan(price) else float(price))
    for values in by_symbol.values():
        assert len(values) == 1


# --- hand-made cases ------------------------------------------------------------------

TIERS = (
    Tier(D(0), D(50000), D("0.004"), None, D(125)),
    Tier(D(50000), D(250000), D("0.005"), None, D(100)),
    Tier(D(250000), D(1000000), D("0.01"), None, D(50)),
    Tier(D(1000000), None, D("0.025"), None, D(20)),
)


def _pos(pid: str, side: Side, contracts: str, entry: str, mark: str, **kw: object) -> Position:
    return Position(
        PositionId(pid), kw.pop("symbol", "BTC"), side, D(contracts), D(entry), D(mark),  # type: ignore[arg-type]
        D(str(kw.pop("leverage", 10))), **kw,  # type: ignore[arg-type]
    )


def test_binance_one_way_long_matches_closed_form() -> None:
    """Binance's published isolated formula for a long, bracket re-selected at the price."""
    p = _pos("btc", Side.LONG, "20", "60000", "61000", margin_mode=MarginMode.ISOLATED)
    state = AccountState(RuleSet.BINANCE, "USDT", D(1000), (p,), {"BTC": TIERS})
    ids, prices = liquidation_prices_array(state)
    exact = liquidation_prices(state)["btc"]
    assert exact is not None
    assert ids == ["btc"]
    assert prices[0] == pytest.approx(float(exact), rel=1e-12)
    # entry notional 1.2M is in the top bracket; at ~54k the notional (~1.09M) is still there
    wb, mmr, cum = float(p.own_margin), 0.025, 1000000 * 0.015 + 250000 * 0.005 + 50000 * 0.001
    closed = (wb + cum - 20 * 60000) / (20 * mmr - 20)
    assert prices[0] == pytest.approx(closed, rel=1e-12)


def test_hedge_pair_with_equal_sizes_and_jumps() -> None:
    """Equal sizes put both legs' boundaries on the same x (duplicate breakpoints)."""
    jumpy = tuple(
        Tier(t.min_notional, t.max_notional, t.maintenance_margin_rate, D(amount), None)
        for t, amount in zip(TIERS, ["0", "900", "0", "30000"], strict=True)
    )
    for wallet in ("50", "400", "2000", "9000", "40000"):
        for mark in ("9000", "12500", "50000", "60000"):
            state = AccountState(
                RuleSet.BINANCE,
                "USDT",
                D(wallet),
                (
                    _pos("l", Side.LONG, "20", "10000", mark),
                    _pos("s", Side.SHORT, "20", "13000", mark),
                ),
                {"BTC": jumpy},
            )
            check(state)


def test_hedge_legs_breaking_at_the_same_price_switch_together() -> None:
    """Long 1 and short 5: the long's 50,000 floor and the short's 250,000 floor both sit
    at x = 50,000, with opposite maintenance jumps that cancel. Switching one leg's
    bracket without the other there would invent a sign change at 50,000."""
    amounts = ("0", "-6700", "1300", "16300")
    tiers = tuple(
        Tier(t.min_notional, t.max_notional, t.maintenance_margin_rate, D(a), None)
        for t, a in zip(TIERS, amounts, strict=True)
    )
    seen_far = 0
    for wallet in range(-2000, 9001, 500):
        for mark in ("45000", "52000", "60000"):
            legs = (
                _pos("l", Side.LONG, "1", "50000", mark),
                _pos("s", Side.SHORT, "5", "50000", mark),
            )
            state = AccountState(RuleSet.BINANCE, "USDT", D(wallet), legs, {"BTC": tiers})
            check(state)
            lp = liquidation_prices(state)["l"]
            seen_far += lp is None or abs(lp - 50000) > 100
    assert seen_far


def test_hedge_pair_liquidated_both_ways_takes_the_nearer_price() -> None:
    """A near-balanced hedge whose gap peaks between two crossings (rates rise with size)."""
    below = above = 0
    for wallet in range(40000, 44001, 1000):
        for mark in ("8000", "20000", "104000", "150000"):
            legs = (
                _pos("l", Side.LONG, "10", "150000", mark),
                _pos("s", Side.SHORT, "9.7", "150000", mark),
            )
            state = AccountState(RuleSet.BINANCE, "USDT", D(wallet), legs, {"BTC": TIERS})
            assert margin_function(state, "l", D(1)) <= 0  # liquidated far down...
            assert margin_function(state, "l", D(10**7)) <= 0  # ...and far up
            check(state)
            lp = liquidation_prices(state)["l"]
            assert lp is not None
            below += lp < D(mark)
            above += lp > D(mark)
    assert below and above  # both directions were the nearer one somewhere


def test_mark_exactly_on_a_boundary() -> None:
    """The bracket at the mark is the one whose floor the mark's notional reaches."""
    jumpy = tuple(
        Tier(t.min_notional, t.max_notional, t.maintenance_margin_rate, D(amount), None)
        for t, amount in zip(TIERS, ["0", "-400", "2000", "-9000"], strict=True)
    )
    for table in (TIERS, jumpy):
        for mark in ("50000", "250000", "1000000"):
            for side in Side:
                for wallet in ("500", "1500", "4000", "12000", "30000"):
                    p = _pos("p", side, "1", mark, mark)
                    iso = p.with_(id="i", symbol="ETH", margin_mode=MarginMode.ISOLATED,
                                  isolated_margin=D(wallet) / 10)
                    state = AccountState(RuleSet.BINANCE, "USDT", D(wallet), (p, iso),
                                         {"BTC": table, "ETH": table})
                    check(state)


def test_inverse_hedge_and_isolated_on_one_symbol() -> None:
    tiers = (
        Tier(D(0), D(50), D("0.005"), None, D(125)),
        Tier(D(50), D(500), D("0.01"), None, D(50)),
        Tier(D(500), None, D("0.05"), None, D(20)),
    )
    positions = (
        _pos("l", Side.LONG, "3000", "30000", "31000", contract_size=D(100), inverse=True),
        _pos("s", Side.SHORT, "1000", "33000", "31000", contract_size=D(100), inverse=True),
        _pos("i", Side.SHORT, "500", "31000", "31000", contract_size=D(100), inverse=True,
             margin_mode=MarginMode.ISOLATED),
    )
    for wallet in ("0.5", "2", "5", "20"):
        check(AccountState(RuleSet.BINANCE, "BTC", D(wallet), positions, {"BTC": tiers}))


def test_entry_value_and_size_exactly_on_a_floor() -> None:
    """Bybit's entry bracket and OKX's size bracket on an exact floor (float is ambiguous)."""
    floor_tiers = (
        Tier(D(0), D(10000), D("0.005"), None, D(100)),
        Tier(D(10000), None, D("0.01"), None, D(50)),
    )
    # 0.2 × 50000 = 10000 exactly; in float 0.2 is not exact
    p = _pos("x", Side.LONG, "0.2", "50000", "50000", margin_mode=MarginMode.ISOLATED)
    for rules in (RuleSet.BYBIT, RuleSet.BINANCE):
        check(AccountState(rules, "USDT", D(100), (p,), {"BTC": floor_tiers}, D("0.0005")))
    size_tiers = (
        Tier(D(0), D("0.3"), D("0.005"), D(0), D(100)),
        Tier(D("0.3"), None, D("0.01"), D(0), D(50)),
    )
    q = _pos("y", Side.SHORT, "0.1", "50000", "50000", contract_size=D(3),
             margin_mode=MarginMode.ISOLATED)
    state = AccountState(RuleSet.OKX, "USDT", D(0), (q,), {"BTC": size_tiers}, D("0.0005"))
    check(state)
    assert evaluate(state).position("y").maintenance_margin_rate == D("0.01")


def test_empty_account() -> None:
    ids, prices = liquidation_prices_array(AccountState(RuleSet.BINANCE, "USDT", D(100)))
    assert ids == [] and prices.shape == (0,)


def test_real_binance_tables(fixtures_dir) -> None:
    import json

    raw = json.loads((fixtures_dir / "tiers" / "binance_usdm_leverage_tiers.json").read_text())
    data = raw.get("data", raw)
    symbols = [s for s in data if s.endswith(":USDT")][:40]
    tiers = {s: tiers_from_ccxt(data[s], exchange=s) for s in symbols}
    rng = np.random.default_rng(3)
    positions = []
    for k, s in enumerate(symbols):
        mark = D(str(round(float(rng.uniform(0.1, 70000)), 4)))
        for side in (Side.LONG, Side.SHORT) if k % 3 == 0 else (Side.LONG,):
            size = (D(str(round(float(rng.uniform(500, 3e6)), 2))) / mark).quantize(D("0.001"))
            entry = (mark * D(str(round(float(rng.uniform(0.8, 1.2)), 3)))).quantize(D("0.0001"))
            mode = MarginMode.ISOLATED if k % 4 == 1 else MarginMode.CROSS
            positions.append(_pos(f"{s}-{side}", side, str(size), str(entry), str(mark),
                                  symbol=s, margin_mode=mode, leverage=int(rng.integers(2, 20))))
    for wallet in ("20000", "200000", "2000000"):
        check(AccountState(RuleSet.BINANCE, "USDT", D(wallet), tuple(positions), tiers))


# --- errors ---------------------------------------------------------------------------


def _raises_like_decimal(state: AccountState) -> None:
    with pytest.raises(InputError) as exact:
        liquidation_prices(state)
    with pytest.raises(InputError) as vec:
        VectorBook(state)
    assert vec.value.problems == exact.value.problems


def test_missing_table_is_the_same_error() -> None:
    a = _pos("a", Side.LONG, "1", "100", "100", symbol="A")
    b = _pos("b", Side.LONG, "1", "100", "100", symbol="B")
    for rules in (RuleSet.BINANCE, RuleSet.BYBIT, RuleSet.GENERIC, RuleSet.HYPERLIQUID):
        _raises_like_decimal(AccountState(rules, "USDT", D(10), (a, b), {"A": TIERS}))


def test_hyperliquid_table_without_max_leverage_is_the_same_error() -> None:
    bad = (Tier(D(0), None, D("0.01"), None, None),)
    a = _pos("a", Side.LONG, "1", "100", "100", symbol="A")
    _raises_like_decimal(AccountState(RuleSet.HYPERLIQUID, "USDC", D(10), (a,), {"A": bad}))


def test_one_symbol_with_two_marks_is_the_same_error() -> None:
    legs = (
        _pos("l", Side.LONG, "1", "100", "100"),
        _pos("s", Side.SHORT, "1", "100", "101"),
    )
    _raises_like_decimal(AccountState(RuleSet.BINANCE, "USDT", D(10), legs, {"BTC": TIERS}))


def test_update_marks_checks_prices() -> None:
    p = _pos("a", Side.LONG, "1", "100", "100")
    book = VectorBook(AccountState(RuleSet.BINANCE, "USDT", D(10), (p,), {"BTC": TIERS}))
    before = book.liquidation_prices()
    book.update_marks({"NOT-HELD": D(5)})  # ticks of other symbols are ignored
    np.testing.assert_array_equal(book.liquidation_prices(), before)
    for bad in (D(0), D(-1), D("NaN"), float("nan"), float("inf"), "abc", None):
        with pytest.raises(InputError, match=r"marks\[BTC\]"):
            book.update_marks({"BTC": bad})
    with pytest.raises(InputError, match="one per symbol"):
        book.update_mark_array(np.array([1.0, 2.0]))
    book.update_mark_array(np.array([100.0]))
    np.testing.assert_array_equal(book.liquidation_prices(), before)
    assert book.marks.tolist() == [100.0]


# --- the vectorised shock sweep agrees with the exact shock points ---------------------


def _sweep_close(value: float, exact: Decimal) -> bool:
    return abs(D(repr(float(value))) - exact) <= D("1e-9") * max(abs(exact), D(1))


def _check_sweep(state: AccountState, profile: ShockProfile, grid: np.ndarray) -> None:
    result = sweep(state, profile, grid)
    for k in range(grid.size):
        t = D(repr(float(grid[k])))
        try:
            shock_state(state, profile, t)
        except InputError:  # a price pushed to <= 0: no figures there
            assert np.isnan(result.equity[k])
            continue
        exact = shock_point(state, profile, t, result.cascade)
        assert _sweep_close(result.equity[k], exact.equity), (k, t, result.equity[k], exact)
        for name in ("margin_balance", "maintenance_margin", "margin_ratio"):
            want = getattr(exact, name)
            got = getattr(result, name)[k]
            if want is None:
                assert np.isnan(got), (name, k, got)
            else:
                assert _sweep_close(got, want), (name, k, t, got, want)


@st.composite
def profiles(draw: st.DrawFn) -> ShockProfile:
    kind = draw(st.sampled_from(["uniform", "beta", "per_symbol"]))
    if kind == "uniform":
        return ShockProfile.uniform()
    weights = {
        s: draw(st.sampled_from([D(0), D("0.5"), D("1.25"), D(2), D("-0.8"), D(-1)]))
        for s in SYMBOLS
        if draw(st.booleans())
    }
    return ShockProfile.beta(weights) if kind == "beta" else ShockProfile.per_symbol(weights)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.one_of(accounts(max_positions=5), jumpy_accounts()), profiles(), st.randoms())
def test_sweep_agrees_with_shock_points(
    state: AccountState, profile: ShockProfile, rnd: random.Random
) -> None:
    grid = np.linspace(-0.6, 0.6, 25)
    rnd.shuffle(grid)  # any order of shocks; results follow it
    _check_sweep(state, profile, grid)


def test_sweep_grid_points_exactly_on_bracket_thresholds() -> None:
    """Shocks landing exactly where a notional reaches a floor take the upper bracket.

    Gate has no maintenance amounts, so maintenance jumps there: float64 alone
    cannot tell the side; the sweep settles such points in Decimal."""
    tiers = (
        Tier(D(0), D(10000), D("0.005"), None, D(100)),
        Tier(D(10000), D(20000), D("0.01"), None, D(50)),
        Tier(D(20000), None, D("0.02"), None, D(20)),
    )
    positions = (
        _pos("a", Side.LONG, "2.5", "5000", "5000"),  # notional 12,500: floors at t = -0.2, 0.6
        _pos("b", Side.SHORT, "0.3", "40000", "40000", symbol="ETH"),  # 12,000: t = -1/6, 2/3
        _pos("c", Side.LONG, "300", "30", "30", symbol="INV", contract_size=D(1), inverse=True,
             margin_mode=MarginMode.ISOLATED),
    )
    tables = {"BTC": tiers, "ETH": tiers, "INV": tiers}
    state = AccountState(RuleSet.GATE, "USDT", D(3000), positions, tables, D("0.0005"))
    grid = np.array([-0.2, 0.6, -1 / 6, 2 / 3, 0.0, -0.19999999999999998, 0.2, 0.1, -0.5])
    _check_sweep(state, ShockProfile.uniform(), grid)
    _check_sweep(state, ShockProfile.beta({"ETH": D(2)}), grid)
    at = sweep(state, ShockProfile.uniform(), np.array([-0.2, -0.2 + 1e-9]))
    # at -20 % BTC's notional is exactly 10,000: bracket 1; ETH's 9,600 stays in bracket 0
    assert at.maintenance_margin[0] == pytest.approx(10000 * 0.0105 + 9600 * 0.0055, rel=1e-12)


def test_sweep_of_empty_and_isolated_only_accounts() -> None:
    empty = AccountState(RuleSet.BINANCE, "USDT", D(100))
    result = sweep(empty, ShockProfile.uniform(), np.array([-0.1, 0.0, 0.1]))
    assert result.equity.tolist() == [100.0, 100.0, 100.0]
    assert np.isnan(result.margin_ratio).all()
    iso = _pos("i", Side.LONG, "1", "100", "100", margin_mode=MarginMode.ISOLATED)
    only = AccountState(RuleSet.BINANCE, "USDT", D(5), (iso,), {"BTC": TIERS})
    _check_sweep(only, ShockProfile.uniform(), np.linspace(-0.99, 3, 41))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(accounts(max_positions=5), profiles())
def test_sweep_on_the_cascade_shocks_themselves(state: AccountState, profile: ShockProfile) -> None:
    """At a liquidation's own shock the position is already gone (as in shock_point)."""
    events = cascade(state, profile).events
    shocks = [float(e.shock) for e in events if e.direction != "now"]
    grid = np.array([*shocks, *(np.nextafter(s, 2 * s) for s in shocks), 0.0])
    _check_sweep(state, profile, grid)


def test_sweep_isolated_gone_from_its_own_shock_on() -> None:
    tiers = (Tier(D(0), None, D("0.01"), None, D(125)),)
    long = _pos("l", Side.LONG, "1", "100", "100", margin_mode=MarginMode.ISOLATED)
    short = _pos("s", Side.SHORT, "1", "100", "100", symbol="ETH",
                 margin_mode=MarginMode.ISOLATED)
    state = AccountState(RuleSet.BINANCE, "USDT", D(5), (long, short),
                         {"BTC": tiers, "ETH": tiers})
    down, up = sorted(cascade(state, ShockProfile.uniform()).events, key=lambda e: e.shock)
    assert (down.direction, up.direction) == ("down", "up")
    for event in (down, up):
        s = float(event.shock)
        grid = np.array([s, np.nextafter(s, -np.inf), np.nextafter(s, np.inf), 0.0])
        _check_sweep(state, ShockProfile.uniform(), grid)


def test_sweep_rejects_non_finite_shocks() -> None:
    p = _pos("a", Side.LONG, "1", "100", "100")
    state = AccountState(RuleSet.BINANCE, "USDT", D(10), (p,), {"BTC": TIERS})
    with pytest.raises(InputError, match=r"shocks\[1\]: must be a finite number"):
        sweep(state, ShockProfile.uniform(), np.array([0.1, np.nan]))
    with pytest.raises(InputError, match="flat list"):
        sweep(state, ShockProfile.uniform(), np.zeros((2, 2)))


def test_three_legs_on_one_symbol() -> None:
    """A hypothetical extra position (what-if) can put three cross legs on one symbol."""
    for wallet in ("200", "2000", "20000"):
        for mark in ("30000", "61000", "140000"):
            legs = (
                _pos("l1", Side.LONG, "10", "60000", mark),
                _pos("l2", Side.LONG, "2", "65000", mark),
                _pos("s", Side.SHORT, "11.5", "61000", mark),
                _pos("e", Side.LONG, "3", "3000", "3100", symbol="ETH"),
            )
            state = AccountState(
                RuleSet.BINANCE, "USDT", D(wallet), legs, {"BTC": TIERS, "ETH": TIERS}
            )
            check(state)
            _, prices = liquidation_prices_array(state)
            assert prices[0] == prices[1] == prices[2] or np.isnan(prices[:3]).all()
