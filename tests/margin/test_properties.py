"""Property tests of the margin engine on random accounts.

Every liquidation price is checked against an independent re-statement of the
definitions written here (not the engine's internals): at the liquidation price
the margin balance equals the maintenance margin.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crossmargin.domain import (
    AccountState,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Side,
    Tier,
)
from crossmargin.margin import (
    AdjustMargin,
    ShockProfile,
    SwitchMode,
    apply_whatif,
    cascade,
    derive_maintenance_amounts,
    evaluate,
    shock_point,
    shock_state,
    sweep,
)

D = Decimal
SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
TOL = D("1e-9")


def dec(lo: str, hi: str, places: int = 4) -> st.SearchStrategy[Decimal]:
    return st.decimals(D(lo), D(hi), places=places, allow_nan=False, allow_infinity=False)


@st.composite
def tier_tables(draw: st.DrawFn, inverse: bool) -> tuple[Tier, ...]:
    n = draw(st.integers(1, 4))
    base = D("1") if inverse else D("10000")
    floors = [D(0)]
    for _ in range(n - 1):
        floors.append(floors[-1] + base * draw(st.integers(1, 30)))
    rate = draw(dec("0.002", "0.02"))
    tiers = []
    for i, floor in enumerate(floors):
        cap = floors[i + 1] if i + 1 < len(floors) else None
        lev = draw(st.sampled_from([D(125), D(50), D(20), D(10)]))
        tiers.append(Tier(floor, cap, rate, None, lev))
        rate += draw(dec("0.001", "0.03"))
    return tuple(tiers)


@st.composite
def accounts(
    draw: st.DrawFn,
    rules: RuleSet | None = None,
    inverse: bool | None = None,
    max_positions: int = 6,
) -> AccountState:
    rules = rules or draw(st.sampled_from(list(RuleSet)))
    inverse = draw(st.booleans()) if inverse is None else inverse
    n = draw(st.integers(1, max_positions))
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=n, max_size=n))
    marks = {s: draw(dec("0.5", "60000", 2)) for s in set(symbols)}
    tiers = {s: draw(tier_tables(inverse)) for s in set(symbols)}
    positions = []
    used: set[tuple[str, Side]] = set()
    for i, symbol in enumerate(symbols):
        side = draw(st.sampled_from(list(Side)))
        if (symbol, side) in used:
            side = side.opposite
        if (symbol, side) in used:
            continue
        used.add((symbol, side))
        mark = marks[symbol]
        entry = (mark * draw(dec("0.8", "1.2", 3))).quantize(D("0.01"))
        assume(entry > 0)
        contracts = draw(dec("0.001", "50", 3)) if not inverse else D(draw(st.integers(1, 500)))
        contract_size = D(100) if inverse else D(1)
        leverage = D(draw(st.integers(1, 50)))
        mode = draw(st.sampled_from(list(MarginMode)))
        pos = Position(
            id=PositionId(f"p{i}"),
            symbol=symbol,
            side=side,
            contracts=contracts,
            entry_price=entry,
            mark_price=mark,
            leverage=leverage,
            margin_mode=mode,
            contract_size=contract_size,
            inverse=inverse,
        )
        if mode is MarginMode.ISOLATED and draw(st.booleans()):
            pos = pos.with_(isolated_margin=pos.entry_initial_margin * draw(dec("0.5", "3", 2)))
        if rules is RuleSet.GENERIC and draw(st.booleans()):
            pos = pos.with_(maintenance_margin_rate=draw(dec("0.001", "0.05")))
        positions.append(pos)
    notional = sum(
        (p.size / p.mark_price if inverse else p.size * p.mark_price) for p in positions
    )
    wallet = (notional * draw(dec("0.02", "1.5", 3))).quantize(D("0.00000001"))
    fee = draw(st.sampled_from([D(0), D("0.0005"), D("0.00075")]))
    if rules is RuleSet.GENERIC:
        tiers = {s: t for s, t in tiers.items() if draw(st.booleans())}
        for i, p in enumerate(positions):
            if p.symbol not in tiers and p.maintenance_margin_rate is None:
                positions[i] = p.with_(maintenance_margin_rate=D("0.01"))
    return AccountState(
        rules=rules,
        settle="BTC" if inverse else "USDT",
        wallet_balance=wallet,
        positions=tuple(positions),
        tiers=tiers,
        taker_fee_rate=fee,
    )


# --- an independent statement of the definitions -------------------------------------


def _notional(p: Position, price: Decimal) -> Decimal:
    return p.size / price if p.inverse else p.size * price


def _upnl(p: Position, price: Decimal) -> Decimal:
    if p.inverse:
        return p.side.sign * p.size * (1 / p.entry_price - 1 / price)
    return p.side.sign * p.size * (price - p.entry_price)


def _bracket(tiers: tuple[Tier, ...], value: Decimal) -> Tier:
    chosen = tiers[0]
    for t in tiers:
        if value >= t.min_notional:
            chosen = t
    return chosen


def ref_maintenance(state: AccountState, p: Position, price: Decimal) -> Decimal:
    """Maintenance margin of ``p`` at ``price`` from the rule set's published definition."""
    rules = state.rules
    tiers = state.tiers.get(p.symbol)
    fee = state.taker_fee_rate
    if rules is RuleSet.BYBIT:
        value = _notional(p, p.entry_price)
        t = _bracket(derive_maintenance_amounts(tiers), value)
        lev = p.leverage
        bust = p.entry_price * (1 - p.side.sign / lev)  # linear bankruptcy by leverage
        if p.inverse:
            bust_value = p.size / (p.entry_price * lev / (lev + p.side.sign)) if (
                lev + p.side.sign
            ) > 0 else D(0)
            if p.side is Side.SHORT and lev <= 1:
                bust_value = D(0)
        else:
            bust_value = p.size * bust if bust > 0 else D(0)
        return value * t.maintenance_margin_rate - t.maintenance_amount + fee * bust_value
    value = _notional(p, price)
    if rules is RuleSet.GENERIC and not tiers:
        return value * p.maintenance_margin_rate
    if rules is RuleSet.HYPERLIQUID:
        t = _bracket(tiers, value)
        return value / (2 * t.max_leverage)
    if rules is RuleSet.OKX:
        t = _bracket(tiers, p.size)
        return value * (t.maintenance_margin_rate + fee)
    if rules is RuleSet.GATE:
        t = _bracket(tiers, value)
        return value * (t.maintenance_margin_rate + fee)
    t = _bracket(derive_maintenance_amounts(tiers), value)
    return value * t.maintenance_margin_rate - t.maintenance_amount


def ref_gap(state: AccountState, pid: str, price: Decimal) -> Decimal:
    """Margin balance − maintenance margin for ``pid`` with its symbol at ``price``."""
    target = state.position(pid)
    if target.margin_mode is MarginMode.ISOLATED:
        return target.own_margin + _upnl(target, price) - ref_maintenance(state, target, price)
    gap = state.wallet_balance
    for p in state.positions:
        if p.margin_mode is MarginMode.ISOLATED:
            continue
        at = price if p.symbol == target.symbol else p.mark_price
        gap += _upnl(p, at) - ref_maintenance(state, p, at)
    return gap


def _scale(state: AccountState, p: Position) -> Decimal:
    return abs(state.wallet_balance) + sum(
        _notional(q, q.mark_price) for q in state.positions
    ) + p.own_margin


def _is_jump(state: AccountState, pid: str, price: Decimal) -> bool:
    """True when ``price`` sits on a bracket boundary where the gap jumps across 0."""
    eps = price * D("1e-25")
    below, above = ref_gap(state, pid, price - eps), ref_gap(state, pid, price + eps)
    return (below > 0) != (above > 0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(accounts())
def test_liquidation_price_substitutes_back(state: AccountState) -> None:
    risk = evaluate(state)
    with localcontext() as ctx:
        ctx.prec = 60
        for pr in risk.positions:
            lp = pr.liquidation_price
            if lp is None:
                continue
            gap = ref_gap(state, pr.id, lp)
            scale = _scale(state, state.position(pr.id))
            assert abs(gap) <= TOL * scale or _is_jump(state, pr.id, lp), (pr.id, lp, gap)


@settings(max_examples=200, deadline=None)
@given(accounts())
def test_none_means_never_liquidated(state: AccountState) -> None:
    """A ``None`` liquidation price: the gap keeps its sign over the whole price range."""
    risk = evaluate(state)
    with localcontext() as ctx:
        ctx.prec = 60
        for pr in risk.positions:
            if pr.liquidation_price is not None or pr.liquidated:
                continue
            mark = pr.mark_price
            for factor in ("0.000001", "0.01", "0.5", "0.9", "1.1", "2", "100", "10000"):
                assert ref_gap(state, pr.id, mark * D(factor)) > 0, (pr.id, factor)


@settings(max_examples=150, deadline=None)
@given(accounts(), st.data())
def test_isolated_prices_ignore_other_positions(state: AccountState, data: st.DataObject) -> None:
    risk = evaluate(state)
    isolated = [p for p in state.positions if p.margin_mode is MarginMode.ISOLATED]
    assume(isolated)
    keep = data.draw(st.sampled_from(isolated))
    alone = state.with_(
        positions=(keep,), wallet_balance=data.draw(dec("0", "1000000", 2))
    )
    assert evaluate(alone).position(keep.id).liquidation_price == risk.position(
        keep.id
    ).liquidation_price


@settings(max_examples=150, deadline=None)
@given(accounts(), dec("0.01", "0.9", 2))
def test_long_liquidation_price_rises_when_margin_falls(
    state: AccountState, cut: Decimal
) -> None:
    risk = evaluate(state)
    for p in state.positions:
        if p.side is not Side.LONG:
            continue
        if p.margin_mode is MarginMode.ISOLATED:
            less = apply_whatif(state, [AdjustMargin(p.id, -p.own_margin * cut)])
        else:
            less = state.with_(wallet_balance=state.wallet_balance * (1 - cut))
            if any(q.symbol == p.symbol and q.side is Side.SHORT for q in state.positions
                   if q.margin_mode is MarginMode.CROSS):
                continue  # hedged symbol: the shared price need not move monotonically
        before = risk.position(p.id).liquidation_price
        after_risk = evaluate(less).position(p.id)
        if after_risk.liquidated:
            continue  # past liquidation: the price reported is the way back, if any
        after = after_risk.liquidation_price
        if after is None:
            assert before is None
        elif before is not None:
            assert after >= before, (p.id, before, after)


@settings(max_examples=150, deadline=None)
@given(accounts())
def test_switch_there_and_back_restores(state: AccountState) -> None:
    original = evaluate(state)
    for p in state.positions:
        if p.margin_mode is MarginMode.ISOLATED:
            # isolated -> cross returns exactly the margin; going back re-assigns it
            crossed = apply_whatif(state, [SwitchMode(p.id)])
            with localcontext() as ctx:
                ctx.prec = 80
                returned = crossed.wallet_balance - state.wallet_balance
            twice = apply_whatif(crossed, [SwitchMode(p.id, returned)])
        else:
            twice = apply_whatif(state, [SwitchMode(p.id), SwitchMode(p.id)])
        again = evaluate(twice)
        assert again.wallet_balance == original.wallet_balance
        assert [r.liquidation_price for r in again.positions] == [
            r.liquidation_price for r in original.positions
        ]


@settings(max_examples=150, deadline=None)
@given(accounts())
def test_pnl_and_notional_follow_definitions(state: AccountState) -> None:
    risk = evaluate(state)
    with localcontext() as ctx:
        ctx.prec = 60
        for pr in risk.positions:
            p = state.position(pr.id)
            assert abs(pr.unrealized_pnl - _upnl(p, p.mark_price)) <= D("1e-30") * (
                1 + abs(pr.unrealized_pnl)
            )
            assert abs(pr.notional - _notional(p, p.mark_price)) <= D("1e-30") * pr.notional
            assert abs(pr.maintenance_margin - ref_maintenance(state, p, p.mark_price)) <= D(
                "1e-30"
            ) * (1 + pr.notional)
        cross = [p for p in state.positions if p.margin_mode is MarginMode.CROSS]
        mb = state.wallet_balance + sum((_upnl(p, p.mark_price) for p in cross), D(0))
        assert abs(risk.margin_balance - mb) <= D("1e-30") * (1 + abs(mb))


@settings(max_examples=150, deadline=None)
@given(accounts(max_positions=4))
def test_hedge_legs_share_one_price(state: AccountState) -> None:
    risk = evaluate(state)
    by_symbol: dict[str, set[Decimal | None]] = {}
    for pr in risk.positions:
        if pr.margin_mode is MarginMode.CROSS:
            by_symbol.setdefault(pr.symbol, set()).add(pr.liquidation_price)
    for prices in by_symbol.values():
        assert len(prices) == 1


@settings(max_examples=100, deadline=None)
@given(accounts(rules=RuleSet.BINANCE, inverse=False))
def test_binance_closed_form_one_way(state: AccountState) -> None:
    """Binance's published one-way formula, with the bracket found by the engine."""
    risk = evaluate(state)
    with localcontext() as ctx:
        ctx.prec = 60
        for pr in risk.positions:
            p = state.position(pr.id)
            lp = pr.liquidation_price
            if lp is None:
                continue
            hedged = any(
                q.symbol == p.symbol and q.id != p.id and q.margin_mode is MarginMode.CROSS
                for q in state.positions
            )
            if hedged and p.margin_mode is MarginMode.CROSS:
                continue
            tiers = derive_maintenance_amounts(state.tiers[p.symbol])
            t = _bracket(tiers, p.size * lp)
            if p.margin_mode is MarginMode.ISOLATED:
                wb, tmm, upnl = p.own_margin, D(0), D(0)
            else:
                others = [
                    q for q in state.positions
                    if q.margin_mode is MarginMode.CROSS and q.symbol != p.symbol
                ]
                wb = state.wallet_balance
                tmm = sum((ref_maintenance(state, q, q.mark_price) for q in others), D(0))
                upnl = sum((_upnl(q, q.mark_price) for q in others), D(0))
            s, q_ = p.side.sign, p.size
            closed = (wb - tmm + upnl + t.maintenance_amount - s * q_ * p.entry_price) / (
                q_ * t.maintenance_margin_rate - s * q_
            )
            if closed <= 0:
                continue
            assert abs(closed - lp) <= D("1e-25") * lp, (pr.id, closed, lp)


@settings(max_examples=60, deadline=None)
@given(accounts(max_positions=5), st.sampled_from(["uniform", "beta"]))
def test_sweep_agrees_with_exact_path(state: AccountState, kind: str) -> None:
    profile = (
        ShockProfile.uniform()
        if kind == "uniform"
        else ShockProfile.beta({s: D(str(1 + i / 4)) for i, s in enumerate(SYMBOLS)})
    )
    grid = np.linspace(-0.4, 0.4, 41)
    result = sweep(state, profile, grid)
    for k in range(0, grid.size, 4):
        t = D(repr(float(grid[k])))
        exact = shock_point(state, profile, t, result.cascade)
        assert _close(result.equity[k], exact.equity)
        if exact.margin_ratio is None:
            assert np.isnan(result.margin_ratio[k])
        else:
            assert _close(result.margin_ratio[k], exact.margin_ratio)


def _close(value: float, exact: Decimal) -> bool:
    return abs(D(repr(float(value))) - exact) <= D("1e-9") * max(abs(exact), D(1))


@settings(max_examples=60, deadline=None)
@given(accounts(max_positions=5))
def test_cascade_events_sit_on_liquidation(state: AccountState) -> None:
    """At each cascade shock the liquidated part's margin gap is zero (or it jumps)."""
    profile = ShockProfile.uniform()
    casc = cascade(state, profile)
    shocks = [e.shock for e in casc.events]
    assert [abs(s) for s in shocks] == sorted(abs(s) for s in shocks)
    with localcontext() as ctx:
        ctx.prec = 60
        for event in casc.events:
            if event.direction == "now":
                continue
            moved = shock_state(state, profile, event.shock)
            pid = event.position_ids[0]
            p = moved.position(pid)
            gap = ref_gap(moved, pid, p.mark_price)
            scale = _scale(moved, p)
            assert abs(gap) <= D("1e-9") * scale or _is_jump(moved, pid, p.mark_price), (
                event,
                gap,
            )
