"""Every worked example the exchanges publish, reproduced through the engine.

Cases come from ``tests/fixtures/margin/exchange_doc_examples.json`` (see
``margin-rules.md`` §10). Each case's inputs, in the source's own variables, are
turned into an :class:`AccountState` and evaluated by :func:`crossmargin.margin.evaluate`;
the answer is compared with the number the source prints, at the precision it prints.
A test exists for every case id (checked below), so a new case cannot be skipped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    TierTable,
    derive_maintenance_amounts,
    evaluate,
    margin_function,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "margin" / "exchange_doc_examples.json"
CASES: dict[str, dict[str, Any]] = {
    c["id"]: c for c in json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]
}
CENT = Decimal("0.01")


def dec(value: float | int | str) -> Decimal:
    """A fixture number, exactly as printed in the JSON (never through binary float math)."""
    return Decimal(str(value))


def single_tier(rate: Decimal, amount: Decimal | None = Decimal(0)) -> tuple[Tier, ...]:
    return (Tier(Decimal(0), None, rate, amount),)


def rel(a: Decimal, b: Decimal) -> Decimal:
    return abs(a - b) / abs(b)


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {}


def case(case_id: str) -> Callable[[Callable[[dict[str, Any]], None]], Callable[[], None]]:
    """Register ``fn`` as the check of ``case_id`` and make it a test."""

    def wrap(fn: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        CHECKS[case_id] = fn

        def test() -> None:
            fn(CASES[case_id])

        test.__name__ = fn.__name__
        test.__doc__ = fn.__doc__
        return test

    return wrap


def test_every_case_has_a_check() -> None:
    assert set(CHECKS) == set(CASES)


# ------------------------------------------------------------------ Binance USDⓈ-M (freqtrade)


def _binance_position(
    pid: str, symbol: str, amount: Decimal, open_rate: Decimal, mark: Decimal,
    mode: MarginMode, leverage: Decimal, margin: Decimal | None = None,
) -> Position:
    return Position(
        id=PositionId(pid), symbol=symbol, side=Side.LONG, contracts=amount,
        entry_price=open_rate, mark_price=mark, leverage=leverage, margin_mode=mode,
        isolated_margin=margin,
    )


def _ft_isolated(c: dict[str, Any]) -> None:
    """Isolated: the whole wallet is the position's isolated wallet, TMM1 = UPNL1 = 0."""
    i = c["inputs"]
    assert i["is_short"] is False and i["liquidation_buffer"] == 0
    symbol = "X/USDT:USDT"  # freqtrade's row 2 mislabels the pair; only the numbers matter
    p = _binance_position(
        "p", symbol, dec(i["amount"]), dec(i["open_rate"]), dec(i["open_rate"]),
        MarginMode.ISOLATED, dec(i["leverage"]), dec(i["wallet_balance"]),
    )
    state = AccountState(
        rules=RuleSet.BINANCE, settle="USDT", wallet_balance=Decimal(0), positions=(p,),
        tiers={symbol: single_tier(dec(i["mm_ratio"]), dec(i["maintenance_amt_cum"]))},
    )
    lp = evaluate(state).position("p").liquidation_price
    assert lp is not None
    assert lp.quantize(CENT) == dec(c["expected"]["liquidation_price"])
    assert rel(lp, dec(c["recomputed"]["liquidation_price"])) < Decimal("1e-12")
    assert abs(margin_function(state, "p", lp)) < Decimal("1e-20")


def _ft_cross(c: dict[str, Any]) -> None:
    """Cross: both FAQ positions in one cross account; solve the one named by ``pair``."""
    i = c["inputs"]
    positions = []
    tiers = {}
    for n, t in enumerate(i["open_trades"]):
        positions.append(
            _binance_position(
                f"t{n}", t["pair"], dec(t["amount"]), dec(t["open_rate"]), dec(t["mark_price"]),
                MarginMode.CROSS, dec(i["leverage"]),
            )
        )
        tiers[t["pair"]] = single_tier(dec(t["mm_ratio"]), dec(t["maintenance_amt"]))
    state = AccountState(
        rules=RuleSet.BINANCE, settle="USDT", wallet_balance=dec(i["wallet_balance"]),
        positions=tuple(positions), tiers=tiers,
    )
    target = next(p for p in positions if p.symbol == i["pair"])
    risk = evaluate(state)
    lp = risk.position(target.id).liquidation_price
    assert lp is not None
    assert lp.quantize(CENT) == dec(c["expected"]["liquidation_price"])
    assert rel(lp, dec(c["recomputed"]["liquidation_price"])) < Decimal("1e-12")
    # The other position's MM and uPnL at its mark are the source's TMM1 and UPNL1.
    other = next(p for p in risk.positions if p.id != target.id)
    assert rel(other.maintenance_margin, dec(c["recomputed"]["TMM1"])) < Decimal("1e-12")
    assert rel(other.unrealized_pnl, dec(c["recomputed"]["UPNL1"])) < Decimal("1e-12")
    assert abs(margin_function(state, target.id, lp)) < Decimal("1e-20")


test_ft_binance_1 = case("ft-binance-1")(_ft_isolated)
test_ft_binance_2 = case("ft-binance-2")(_ft_isolated)
test_ft_binance_3 = case("ft-binance-3")(_ft_cross)
test_ft_binance_4 = case("ft-binance-4")(_ft_cross)


# ----------------------------------------------------------------------------- Bybit


def _bybit_isolated(c: dict[str, Any], *, mmr: Decimal, deduction: Decimal) -> Any:
    i = c["inputs"]
    assert i["is_short"] is False
    symbol = "BTC/USDT:USDT"
    p = Position(
        id=PositionId("p"), symbol=symbol, side=Side.LONG, contracts=dec(i["size"]),
        entry_price=dec(i["entry_price"]), mark_price=dec(i["entry_price"]),
        leverage=dec(i["leverage"]), margin_mode=MarginMode.ISOLATED,
        isolated_margin=None,  # = the initial margin at entry
    )
    state = AccountState(
        rules=RuleSet.BYBIT, settle="USDT", wallet_balance=Decimal(0), positions=(p,),
        tiers={symbol: single_tier(mmr, deduction)},
    )
    return evaluate(state).position("p")


@case("bybit-doc-usdt-isolated-long")
def test_bybit_usdt_isolated_long(c: dict[str, Any]) -> None:
    """LP = EP − (IM − MM)/size: 1 BTC @ 20,000, 50x, MMR 0.5 % → IM 400, MM 100, LP 19,700."""
    i = c["inputs"]
    assert i["extra_margin"] == 0
    risk = _bybit_isolated(c, mmr=dec(i["mmr"]), deduction=dec(i["mm_deduction"]))
    expected = c["expected"]
    assert risk.initial_margin == dec(expected["initial_margin"])
    assert risk.maintenance_margin == dec(expected["maintenance_margin"])
    assert risk.liquidation_price == dec(expected["liquidation_price"])


@case("bybit-doc-usdt-bankruptcy-long")
def test_bybit_usdt_bankruptcy_long(c: dict[str, Any]) -> None:
    """Bankruptcy(long) = EP × (1 − 1/leverage): 1 BTC @ 10,000, 50x → 9,800."""
    risk = _bybit_isolated(c, mmr=Decimal("0.005"), deduction=Decimal(0))
    assert risk.bankruptcy_price == dec(c["expected"]["bankruptcy_price"])


def _bybit_inverse_cross(c: dict[str, Any]) -> Any:
    i = c["inputs"]
    assert i["is_short"] is False and i["order_margin"] == 0
    symbol = "BTC/USD:BTC"
    q = dec(i["contracts_usd"])
    ep = dec(i["entry_price"])
    balance = dec(i["account_balance_btc"])
    leverage = q / ep / balance  # notional / balance = 1.25 / 0.5 = 2.5
    assert leverage == Decimal("2.5")
    p = Position(
        id=PositionId("p"), symbol=symbol, side=Side.LONG, contracts=q, contract_size=Decimal(1),
        inverse=True, entry_price=ep, mark_price=ep, leverage=leverage,
        margin_mode=MarginMode.CROSS,
    )
    state = AccountState(
        rules=RuleSet.BYBIT, settle="BTC", wallet_balance=balance, positions=(p,),
        tiers={symbol: single_tier(dec(i["mmr"]))}, taker_fee_rate=dec(i["taker_fee_rate"]),
    )
    return evaluate(state).position("p")


@case("bybit-doc-inverse-cross-long")
def test_bybit_inverse_cross_long_liquidation(c: dict[str, Any]) -> None:
    """Legacy inverse cross: 0.5 BTC, long 10,000 USD @ 8,000, MMR 0.5 %, fee 0.075 %.

    The page prints LP 5,739.50; its own formula solved exactly gives 5,739.08
    (the fixture's note), so the tolerance is 1e-4 relative.
    """
    risk = _bybit_inverse_cross(c)
    assert risk.liquidation_price is not None
    assert rel(risk.liquidation_price, dec(c["expected"]["liquidation_price"])) < Decimal("1e-4")


def test_bybit_inverse_cross_long_bankruptcy() -> None:
    """Bybit's bankruptcy price includes the taker fee to close: 1.00075·Q/(Q/EP + balance)."""
    c = CASES["bybit-doc-inverse-cross-long"]
    risk = _bybit_inverse_cross(c)
    assert risk.bankruptcy_price is not None
    assert rel(risk.bankruptcy_price, dec(c["expected"]["bankruptcy_price"])) < Decimal("1e-6")


# ----------------------------------------------------------------------------- tiers


@case("binance-doc-coinm-cum-level5")
def test_binance_coinm_cum_recursion(c: dict[str, Any]) -> None:
    """cum_5 = 50 BTC × (5 % − 2.5 %) + 0.56 BTC = 1.81 BTC."""
    i = c["inputs"]
    floor = dec(i["floor_level_n_btc"])
    tiers = (
        Tier(Decimal(0), floor, dec(i["mmr_level_n_minus_1"]), dec(i["cum_level_n_minus_1_btc"])),
        Tier(floor, None, dec(i["mmr_level_n"]), None),
    )
    derived = derive_maintenance_amounts(tiers)
    assert derived[1].maintenance_amount == dec(c["expected"]["cum_level_n_btc"])
    assert derived[0].maintenance_amount == dec(i["cum_level_n_minus_1_btc"])  # given: kept
    # and the table uses it: MM is continuous at the floor
    table = TierTable(tiers)
    below = floor * dec(i["mmr_level_n_minus_1"]) - dec(i["cum_level_n_minus_1_btc"])
    assert table.maintenance_margin(floor) == below


#: BTCUSDT USDⓈ-M brackets of 2022 (margin-rules.md §2.1), the FAQ's era: floor, cap, MMR, cum.
BTCUSDT_2022 = (
    ("0", "50000", "0.004", "0"),
    ("50000", "250000", "0.005", "50"),
    ("250000", "1000000", "0.01", "1300"),
    ("1000000", "7500000", "0.025", "16300"),
    ("7500000", "40000000", "0.05", "203800"),
)


@case("binance-doc-usdm-bracket-examples")
def test_binance_usdm_bracket_lookup(c: dict[str, Any]) -> None:
    """264,000 USDT of BTCUSDT → MMR 1 %; 500,000 USDT → maintenance amount 1,300 USDT."""
    given = tuple(
        Tier(Decimal(lo), Decimal(hi), Decimal(r), Decimal(cum)) for lo, hi, r, cum in BTCUSDT_2022
    )
    # the recursion reproduces every published cum of that table
    stripped = tuple(Tier(t.min_notional, t.max_notional, t.maintenance_margin_rate)
                     for t in given)
    assert derive_maintenance_amounts(stripped) == given
    table = TierTable(given)
    inputs = c["inputs"]["cases"]
    expected = c["expected"]["cases"]
    for inp, exp in zip(inputs, expected, strict=True):
        rate, amount = table.bracket(dec(inp["position_notional_usdt"]))
        if "maintenance_margin_rate" in exp:
            assert rate == dec(exp["maintenance_margin_rate"])
        if "maintenance_amount" in exp:
            assert amount == dec(exp["maintenance_amount"])
    # and through the engine: a 264,000 USDT position is maintained at 1 %
    p = Position(PositionId("p"), "BTC/USDT:USDT", Side.LONG, Decimal("4.4"), Decimal(60000),
                 Decimal(60000), Decimal(10))
    state = AccountState(RuleSet.BINANCE, "USDT", Decimal(100000), (p,),
                         {"BTC/USDT:USDT": given})
    risk = evaluate(state).position("p")
    assert risk.notional == Decimal(264000)
    assert risk.maintenance_margin_rate == Decimal("0.01")
    assert risk.maintenance_margin == Decimal(264000) * Decimal("0.01") - 1300


# ----------------------------------------------------------------------------- account identity


@case("binance-account-marginbalance-identity")
def test_binance_margin_balance_identity(c: dict[str, Any]) -> None:
    """marginBalance = walletBalance + unrealizedPnL, from a real /fapi account response.

    One cross position is built to carry exactly the response's uPnL and maintenance
    margin; the engine's margin balance and margin ratio must equal the response's.
    """
    i = c["inputs"]
    upnl = dec(i["totalUnrealizedProfit"])
    mm = dec(i["totalMaintMargin"])
    mark = Decimal(100000)
    p = Position(PositionId("p"), "BTC/USDT:USDT", Side.LONG, Decimal(1), mark - upnl, mark,
                 Decimal(10))
    state = AccountState(
        RuleSet.BINANCE, "USDT", dec(i["totalWalletBalance"]), (p,),
        {"BTC/USDT:USDT": single_tier(mm / mark)},
    )
    risk = evaluate(state)
    assert risk.unrealized_pnl == upnl
    assert risk.maintenance_margin == mm
    assert risk.margin_balance == dec(c["expected"]["totalMarginBalance"])
    assert risk.margin_ratio is not None
    assert rel(risk.margin_ratio, dec(c["recomputed"]["account_margin_ratio_MM_over_MB"])) < (
        Decimal("1e-15")
    )
