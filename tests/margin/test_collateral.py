"""Multi-asset (pooled) cross margin: collateral in other coins, at their collateral value
ratio, backs every cross position; a coin held as collateral moves with its contracts.

Every answer is checked against the definitions restated here, not the engine's code:
margin balance = wallet + Σ counted collateral + Σ cross uPnL (each in the pool's
currency); maintenance = Σ cross MM; at a liquidation price the two are equal.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crossmargin.domain import (
    AccountState,
    Collateral,
    CollateralMode,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Side,
    Tier,
    ValueRatioTier,
)
from crossmargin.domain.collateral import flat
from crossmargin.errors import InputError
from crossmargin.margin import (
    ShockProfile,
    cascade,
    evaluate,
    shock_point,
    shock_state,
    sweep,
)

D = Decimal
TOL = D("1e-9")
BASES = ("AAA", "BBB", "CCC")


def _mm(p: Position, tiers: tuple[Tier, ...], price: Decimal) -> Decimal:
    """Binance: notional × rate − cum of the bracket holding the notional."""
    notional = p.size * price
    cum = D(0)
    chosen = tiers[0]
    for i, t in enumerate(tiers):
        if i:
            cum += t.min_notional * (t.maintenance_margin_rate
                                     - tiers[i - 1].maintenance_margin_rate)
        if notional >= t.min_notional:
            chosen, chosen_cum = t, cum
    return notional * chosen.maintenance_margin_rate - chosen_cum


def pool(state: AccountState, symbol: str | None = None, price: Decimal | None = None
         ) -> tuple[Decimal, Decimal]:
    """(margin balance, maintenance) with ``symbol`` at ``price`` and its coin's
    collateral moved in proportion; everything else as given."""
    mark = next((p.mark_price for p in state.positions if p.symbol == symbol), None)
    move = D(1) if symbol is None or price is None else price / mark
    coin = symbol.split("/")[0] if symbol else None
    rate = {c.asset: c.price for c in state.collateral}
    mb = state.wallet_balance
    for c in state.collateral:
        mb += c.value * (move if c.asset == coin else 1)
    mm = D(0)
    for p in state.positions:
        x = price if p.symbol == symbol and price is not None else p.mark_price
        scale = rate[p.settle] if p.settle and p.settle != state.settle else D(1)
        mb += p.side.sign * p.size * (x - p.entry_price) * scale
        mm += _mm(p, state.tiers[p.symbol], x) * scale
    return mb, mm


TIERS = (Tier(D(0), D(50_000), D("0.004"), D(0)), Tier(D(50_000), D(250_000), D("0.005")),
         Tier(D(250_000), None, D("0.01")))


def btc_book(mode: CollateralMode = CollateralMode.MULTI) -> AccountState:
    return AccountState(
        RuleSet.BINANCE, "USDT", D(2000),
        (Position(PositionId("btc"), "BTC/USDT:USDT", Side.LONG, D(1), D(90000), D(90000),
                  D(20)),
         Position(PositionId("eth"), "ETH/USDT:USDT", Side.SHORT, D(5), D(3000), D(3000),
                  D(10))),
        {"BTC/USDT:USDT": TIERS, "ETH/USDT:USDT": (Tier(D(0), None, D("0.005"), D(0)),)},
        collateral=(Collateral("BTC", D("0.5"), D(90000), flat("0.95")),),
        collateral_mode=mode,
    )


def test_btc_collateral_counts_at_its_ratio_and_falls_with_the_btc_long() -> None:
    single, multi = evaluate(btc_book(CollateralMode.SINGLE)), evaluate(btc_book())
    assert single.margin_balance == 2000 and single.collateral_value == 0
    assert multi.margin_balance == D(2000) + D("0.5") * 90000 * D("0.95")
    assert multi.equity == D(2000) + D("0.5") * 90000  # equity: market value
    (c,) = multi.collateral
    assert (c.market_value, c.value, c.ratio, c.counted) == (D(45000), D(42750), D("0.95"),
                                                             True)
    lp = multi.position("btc").liquidation_price
    # worked by hand: 2000 + 0.475·x + (x − 90000) − 75 − (0.005·x − 50) = 0
    assert abs(lp - D(88025) / D("1.47")) < TOL
    mb, mm = pool(btc_book(), "BTC/USDT:USDT", lp)
    assert abs(mb - mm) < TOL
    # without the collateral moving the price would be far lower: erosion matters
    frozen = btc_book().with_(collateral=(), wallet_balance=D(2000) + D(42750))
    assert evaluate(frozen).position("btc").liquidation_price < lp


def test_tiered_ratios_count_by_quantity_and_debts_whole() -> None:
    # the tiers of Bybit's help-centre example (BTC by quantity)
    tiers = (ValueRatioTier(D(10), D("0.98")), ValueRatioTier(D(20), D("0.95")),
             ValueRatioTier(D(30), D("0.9")), ValueRatioTier(D(40), D("0.85")),
             ValueRatioTier(D(50), D("0.8")), ValueRatioTier(None, D(0)))
    assert Collateral("BTC", D(25), D(1), tiers).effective_amount == D("23.8")
    assert Collateral("BTC", D(60), D(1), tiers).effective_amount == D("44.8")
    assert Collateral("BTC", D(-2), D(100), tiers).value == D(-200)


def test_usdc_contracts_share_the_usdt_pool_at_usdcs_price() -> None:
    state = AccountState(
        RuleSet.BINANCE, "USDT", D(1000),
        (Position(PositionId("u"), "BTC/USDC:USDC", Side.LONG, D("0.2"), D(80000), D(81000),
                  D(10), settle="USDC"),),
        {"BTC/USDC:USDC": TIERS},
        collateral=(Collateral("USDC", D(500), D("0.9998"), flat("0.9999")),),
        collateral_mode=CollateralMode.MULTI,
    )
    risk = evaluate(state)
    upnl = D("0.2") * 1000 * D("0.9998")
    assert risk.margin_balance == D(1000) + D(500) * D("0.9998") * D("0.9999") + upnl
    lp = risk.position("u").liquidation_price
    mb, mm = pool(state, "BTC/USDC:USDC", lp)
    assert abs(mb - mm) < TOL
    with pytest.raises(InputError, match="no price in the collateral list"):
        evaluate(state.with_(collateral=()))
    with pytest.raises(InputError, match="multi-asset mode"):
        evaluate(state.with_(collateral_mode=CollateralMode.SINGLE))


def test_the_pool_rules_are_named() -> None:
    state = btc_book()
    iso = state.with_(positions=(state.positions[0].with_(margin_mode=MarginMode.ISOLATED),
                                 state.positions[1]))
    with pytest.raises(InputError, match="cross margin only"):
        evaluate(iso)
    inverse = state.with_(positions=(state.positions[0].with_(inverse=True),))
    with pytest.raises(InputError, match="linear"):
        evaluate(inverse)
    # Bybit UTA keeps isolated positions beside the pool, on their own margin
    bybit = iso.with_(rules=RuleSet.BYBIT)
    assert evaluate(bybit).position("btc").margin_mode is MarginMode.ISOLATED


def test_shocks_move_the_collateral_and_the_cascade_sees_the_erosion() -> None:
    state = btc_book()
    profile = ShockProfile.uniform()
    casc = cascade(state, profile)
    (event,) = [e for e in casc.events if e.direction == "down"]
    assert event.kind == "cross" and set(event.position_ids) == {"btc", "eth"}
    at = evaluate(shock_state(state, profile, event.shock))
    assert abs(at.margin_balance - at.maintenance_margin) < TOL
    # the shocked state moved the collateral's price with BTC
    assert shock_state(state, profile, D("-0.1")).collateral[0].price == D(81000)
    # the exact point and the numpy sweep agree, collateral included
    t = D("-0.2")
    point = shock_point(state, profile, t)
    assert point.margin_balance == evaluate(shock_state(state, profile, t)).margin_balance
    swept = sweep(state, profile, np.array([-0.2, 0.0, 0.1]))
    assert abs(swept.margin_balance[0] - float(point.margin_balance)) < 1e-6
    # stablecoin collateral stays put
    usdc = state.with_(collateral=(*state.collateral,
                                   Collateral("USDC", D(100), D(1), flat("1"))))
    assert shock_state(usdc, profile, D("-0.3")).collateral[1].price == 1


@st.composite
def pooled(draw: st.DrawFn) -> AccountState:
    n = draw(st.integers(1, 4))
    bases = draw(st.lists(st.sampled_from(BASES), min_size=n, max_size=n))
    marks = {b: draw(st.decimals(D("1"), D("60000"), places=2)) for b in set(bases)}
    positions, tiers, used = [], {}, set()
    for i, b in enumerate(bases):
        usdc = draw(st.booleans())
        symbol = f"{b}/USDC:USDC" if usdc else f"{b}/USDT:USDT"
        if symbol in used:
            continue
        used.add(symbol)
        mark = marks[b] * (D("1.0003") if usdc else 1)
        size = draw(st.decimals(D("100"), D("20000"), places=0)) / mark
        entry = mark * draw(st.decimals(D("0.9"), D("1.1"), places=3))
        positions.append(Position(
            PositionId(f"p{i}"), symbol, draw(st.sampled_from(list(Side))), size, entry, mark,
            draw(st.sampled_from([D(5), D(10), D(20), D(50)])),
            settle="USDC" if usdc else ""))
        tiers[symbol] = TIERS
    collateral = [Collateral("USDC", draw(st.decimals(D(0), D(5000), places=2)),
                             D("0.9998"), flat("0.9999"))]
    for b in sorted(set(bases)):
        if draw(st.booleans()):
            amount = draw(st.decimals(D("-0.2"), D("3"), places=4)) * 1000 / marks[b]
            ratio = draw(st.sampled_from([D("0.95"), D("0.9"), D("0.8")]))
            collateral.append(Collateral(b, amount, marks[b], flat(ratio)))
    wallet = draw(st.decimals(D(100), D(20000), places=2))
    return AccountState(RuleSet.BINANCE, "USDT", wallet, tuple(positions), tiers,
                        collateral=tuple(collateral), collateral_mode=CollateralMode.MULTI)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pooled())
def test_every_pooled_liquidation_price_balances_the_pool(state: AccountState) -> None:
    risk = evaluate(state)
    mb, mm = pool(state)
    assert abs(risk.margin_balance - mb) < TOL and abs(risk.maintenance_margin - mm) < TOL
    assume(mb > mm)  # not liquidated already
    for r in risk.positions:
        lp = r.liquidation_price
        if lp is None:
            continue
        with localcontext() as ctx:
            ctx.prec = 40
            at_mb, at_mm = pool(state, r.symbol, lp)
            assert abs(at_mb - at_mm) <= TOL * max(D(1), at_mm), (r.id, lp)
            # the nearest such price: the pool holds everywhere between the mark and it
            for k in (1, 2, 3):
                x = r.mark_price + (lp - r.mark_price) * k / 4
                b, m = pool(state, r.symbol, x)
                assert b > m, (r.id, x)


def test_collateral_what_ifs_move_convert_and_switch_the_pool() -> None:
    from crossmargin.margin import (
        ConvertCollateral,
        SetCollateral,
        SetCollateralMode,
        SetMarks,
        apply_whatif,
    )

    state = btc_book()
    sold = apply_whatif(state, [ConvertCollateral("BTC", D("0.5"), "USDT")])
    assert sold.wallet_balance == D(2000) + D(45000) and sold.collateral[0].amount == 0
    before = evaluate(state).position("btc").liquidation_price
    after = evaluate(sold).position("btc").liquidation_price
    # in USDT the pool no longer falls with BTC (and loses no haircut): lower LP
    assert after < before
    mb, mm = pool(sold, "BTC/USDT:USDT", after)
    assert abs(mb - mm) < TOL
    single = apply_whatif(state, [SetCollateralMode(CollateralMode.SINGLE)])
    assert evaluate(single).margin_balance == 2000
    more = apply_whatif(state, [SetCollateral("ETH", D(2), D(3000), D("0.9"))])
    assert evaluate(more).collateral_value == D("42750") + D(2) * 3000 * D("0.9")
    marks = apply_whatif(state, [SetMarks({"BTC/USDT:USDT": D(80000)})])
    assert marks.collateral[0].price == D(80000)
    with pytest.raises(InputError, match="holds no DOGE"):
        apply_whatif(state, [ConvertCollateral("DOGE", D(1), "USDT")])
    with pytest.raises(InputError, match="give its price"):
        apply_whatif(state, [SetCollateral("SOL", D(1))])


def test_a_coin_held_without_a_position_moves_with_its_beta() -> None:
    state = btc_book().with_(
        collateral=(Collateral("ETH", D(2), D(3000), flat("0.9")),),
        positions=(btc_book().positions[0],),
        betas={"ETH/USDT:USDT": D("1.5")},
        wallet_balance=D(20000),
    )
    profile = ShockProfile.beta(state.betas)
    moved = shock_state(state, profile, D("-0.1"))
    assert moved.collateral[0].price == D(3000) * (1 - D("0.15"))
    point = shock_point(state, profile, D("-0.1"))
    assert point.margin_balance == evaluate(moved).margin_balance
