"""switch_effects (O(N) for a whole account) agrees with switching each position for real
and evaluating the account again (O(N) each)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings

from crossmargin.margin import (
    SwitchMode,
    apply_whatif,
    evaluate,
    liquidation_prices,
    switch_effects,
)
from crossmargin.scenario import load_scenario
from tests.margin.test_properties import accounts

ROOT = Path(__file__).resolve().parents[2]
BOOKS = [*sorted(p for p in (ROOT / "resources" / "scenarios").glob("*.json")
                 if p.stem != "btc_collateral"),  # a pool: no per-position switch
         ROOT / "tests" / "gui" / "data" / "book.json"]


def test_a_pooled_account_has_no_per_position_switch():
    state = load_scenario(ROOT / "resources" / "scenarios" / "btc_collateral.json")
    assert state.multi_asset and switch_effects(state) == {}


def _close(a, b) -> bool:
    """Equal to the engine's 40 digits (sums taken in another order differ in the last)."""
    if a is None or b is None:
        return a is b
    return abs(a - b) <= abs(b) * Decimal("1e-30")


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_effects_equal_the_full_recomputation(path):
    state = load_scenario(path)
    effects = switch_effects(state)
    assert set(effects) == {p.id for p in state.positions}
    for p in state.positions:
        after = apply_whatif(state, [SwitchMode(p.id)])
        prices = liquidation_prices(after)
        risk = evaluate(after)
        e = effects[p.id]
        assert e.margin_mode is p.margin_mode.other
        assert e.liquidation_price == prices[p.id], p.id
        assert _close(e.margin_ratio, risk.margin_ratio), p.id
        assert e.cross_liquidated == risk.cross_liquidated, p.id
        cross_others = [q for q in after.positions
                        if q.id != p.id and q.margin_mode.value == "cross"]
        assert e.moving == len(cross_others)
        if e.nearest_id is not None:
            assert _close(e.nearest_after, prices[e.nearest_id]), (p.id, e.nearest_id)
            assert e.nearest_before == liquidation_prices(state)[e.nearest_id]


@settings(max_examples=150, deadline=None)
@given(accounts())
def test_effects_on_generated_accounts(state):
    effects = switch_effects(state)
    for p in state.positions:
        after = apply_whatif(state, [SwitchMode(p.id)])
        prices = liquidation_prices(after)
        e = effects[p.id]
        assert _close(e.liquidation_price, prices[p.id])
        assert _close(e.margin_ratio, evaluate(after).margin_ratio)
        if e.nearest_id is not None:
            assert _close(e.nearest_after, prices[e.nearest_id])
