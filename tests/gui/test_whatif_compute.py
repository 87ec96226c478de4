"""The What-if plan and compute layers (no Qt needed): engine operations, parsing,
reuse of unchanged work, and early exit of superseded recomputes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_whatif_books import make_book

from crossmargin.domain import MarginMode
from crossmargin.margin import (
    AdjustMargin,
    ClosePosition,
    ShockProfile,
    SwitchMode,
    compare_whatif,
    shock_point,
    sweep,
)
from desktop.whatif.compute import Superseded, compute_book, shock_axis, whatif_snapshot
from desktop.whatif.plan import (
    PositionEdit,
    ShockMode,
    WhatIfPlan,
    parse_decimal,
    parse_positive,
)


@pytest.fixture
def state():
    return make_book(12, wallet=Decimal(2500))


def test_plan_ops_are_closes_then_switches_then_adds(state):
    cross = next(p for p in state.positions if p.margin_mode is MarginMode.CROSS)
    iso = next(p for p in state.positions if p.margin_mode is MarginMode.ISOLATED)
    gone = state.positions[-1]
    plan = (
        WhatIfPlan()
        .with_edit(cross.id, PositionEdit(mode=MarginMode.ISOLATED, margin=Decimal(300)))
        .with_edit(iso.id, PositionEdit(margin=iso.own_margin + 50))
        .with_edit(gone.id, PositionEdit(close=True))
    )
    ops = plan.ops(state)
    assert ops[0] == ClosePosition(gone.id)
    assert set(ops[1:]) == {SwitchMode(cross.id, Decimal(300)), AdjustMargin(iso.id, Decimal(50))}
    # an edit back to the live value is no edit at all
    assert plan.with_edit(cross.id, PositionEdit()).edits.keys() == {iso.id, gone.id}


def test_shock_limits_keep_prices_positive(state):
    plan = WhatIfPlan(shock_mode=ShockMode.BETA, weights={state.positions[0].symbol: Decimal(4)})
    lo, hi = plan.shock_limits(state)
    assert lo == Decimal("-0.99") / 4
    assert hi == Decimal("0.5")
    assert plan.with_shock(Decimal(-2)).shock == Decimal("-0.5")  # the mode's axis


@pytest.mark.parametrize(
    ("text", "value"),
    [("250", Decimal(250)), (" 1,234.5 ", Decimal("1234.5")), ("1_000", Decimal(1000)),
     ("+2.50", Decimal("2.50")), ("-3", Decimal(-3))],
)
def test_parse_decimal_accepts(text, value):
    assert parse_decimal(text, "x") == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("", "enter a number"), ("12,5", "use a dot"), ("1e", "not a number"),
     ("inf", "not a finite"), ("1,23", "use a dot")],
)
def test_parse_decimal_refuses(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_decimal(text, "Margin")


def test_parse_positive_names_the_field():
    with pytest.raises(ValueError, match="Leverage: must be at most 200"):
        parse_positive("500", "Leverage", upper=Decimal(200))
    with pytest.raises(ValueError, match="Leverage: must be greater than 0"):
        parse_positive("0", "Leverage")


def test_snapshot_is_the_engines_answer(state):
    cross = next(p for p in state.positions if p.margin_mode is MarginMode.CROSS)
    plan = WhatIfPlan().with_edit(cross.id, PositionEdit(mode=MarginMode.ISOLATED))
    plan = plan.with_shock(Decimal("-0.07"))
    axis = shock_axis()
    snap = whatif_snapshot(state, plan, axis)
    expected = compare_whatif(state, [SwitchMode(cross.id)])
    assert snap.book.whatif.after == expected.after
    for p in expected.after.positions:
        assert snap.positions[p.id].lp_whatif == p.liquidation_price
    profile = ShockProfile.uniform()
    casc = sweep(expected.state, profile, axis).cascade
    assert snap.summary.equity_whatif == shock_point(
        expected.state, profile, Decimal("-0.07"), casc).equity


def test_unchanged_work_is_reused(state):
    axis = shock_axis()
    first = whatif_snapshot(state, WhatIfPlan(), axis)
    # the slider alone: the whole book answer is reused
    moved = whatif_snapshot(state, WhatIfPlan().with_shock(Decimal("0.1")), axis,
                             cached=first.book)
    assert moved.book is first.book
    # an edit: the current book's sweep is reused, the what-if one is new
    cross = next(p for p in state.positions if p.margin_mode is MarginMode.CROSS)
    plan = WhatIfPlan().with_edit(cross.id, PositionEdit(mode=MarginMode.ISOLATED))
    edited = compute_book(state, plan, axis, cached=first.book)
    assert edited.sweep_now is first.book.sweep_now
    assert edited.sweep_whatif is not first.book.sweep_whatif
    # new marks: nothing is reused
    ticked = state.with_(wallet_balance=state.wallet_balance + 1)
    assert compute_book(ticked, plan, axis, cached=edited).sweep_now is not edited.sweep_now


def test_a_superseded_recompute_stops_early(state):
    class Cancelled:
        cancelled = True

    with pytest.raises(Superseded):
        whatif_snapshot(state, WhatIfPlan(), shock_axis(), ctx=Cancelled())
