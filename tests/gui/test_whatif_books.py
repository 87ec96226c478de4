"""Books for the What-if tests and benchmark, built from the real Binance tier fixture.

``make_book(n)`` gives a realistic mixed cross/isolated USDT-M book of ``n``
positions over ten symbols (deterministic for a seed). The tests at the bottom
check the builder itself, so a broken fixture fails here first.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from functools import cache
from pathlib import Path

from crossmargin.domain import AccountState, MarginMode, Position, PositionId, RuleSet, Side
from crossmargin.margin import evaluate
from crossmargin.sync.tier_tables import tiers_from_ccxt

TIERS_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "tiers" / (
    "binance_usdm_leverage_tiers.json"
)

MARKS: dict[str, Decimal] = {
    "BTC/USDT:USDT": Decimal("97250.1"),
    "ETH/USDT:USDT": Decimal("3412.55"),
    "SOL/USDT:USDT": Decimal("187.412"),
    "BNB/USDT:USDT": Decimal("652.31"),
    "XRP/USDT:USDT": Decimal("2.3184"),
    "DOGE/USDT:USDT": Decimal("0.38214"),
    "ADA/USDT:USDT": Decimal("0.9731"),
    "LINK/USDT:USDT": Decimal("23.871"),
    "AVAX/USDT:USDT": Decimal("41.226"),
    "LTC/USDT:USDT": Decimal("104.37"),
}
BETAS: dict[str, Decimal] = {
    "BTC/USDT:USDT": Decimal(1),
    "ETH/USDT:USDT": Decimal("1.2"),
    "SOL/USDT:USDT": Decimal("1.6"),
    "BNB/USDT:USDT": Decimal("0.8"),
    "XRP/USDT:USDT": Decimal("1.4"),
    "DOGE/USDT:USDT": Decimal("1.8"),
}


@cache
def _tier_data() -> dict:
    return json.loads(TIERS_FILE.read_text(encoding="utf-8"))


def _symbols(count: int) -> dict[str, Decimal]:
    """``count`` symbols with marks: the ten majors, then other USDT-M symbols of the
    fixture with deterministic synthetic marks (0.01 … 1000)."""
    marks = dict(MARKS)
    rng = random.Random(11)
    for symbol in sorted(_tier_data()):
        if len(marks) >= count:
            break
        if symbol.endswith("/USDT:USDT") and symbol not in marks:
            marks[symbol] = Decimal(str(round(10 ** rng.uniform(-2, 3), 4))).normalize()
    return marks


def _tiers(symbols) -> dict[str, tuple]:
    data = _tier_data()
    return {s: tiers_from_ccxt(data[s], exchange="binance") for s in symbols}


def _q(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places))


def make_book(n: int = 6, *, seed: int = 7, wallet: Decimal | None = None) -> AccountState:
    """A USDT-M Binance book: ``n`` positions, about a third isolated, marks near entry.

    At most two positions per symbol, on opposite sides (hedge mode), so the book is
    a valid scenario file.
    """
    rng = random.Random(seed)
    marks = _symbols(max(len(MARKS), -(-n // 2)))
    symbols = list(marks)[: max(len(MARKS), -(-n // 2))]
    first_side: dict[str, Side] = {}
    positions = []
    for i in range(n):
        symbol = symbols[i % len(symbols)]
        mark = marks[symbol]
        if symbol in first_side:
            side = first_side[symbol].opposite
        else:
            side = Side.LONG if rng.random() < 0.6 else Side.SHORT
            first_side[symbol] = side
        entry = _q(mark * Decimal(str(1 + rng.uniform(-0.03, 0.03))), max(0, -mark.adjusted() + 4))
        notional = Decimal(str(rng.uniform(800, 6000)))
        contracts = _q(notional / mark, 3 if mark > 100 else 1)
        if contracts <= 0:
            contracts = Decimal(1)
        leverage = Decimal(rng.choice([2, 3, 5, 10]))
        isolated = rng.random() < 0.33
        positions.append(
            Position(
                id=PositionId(f"p{i + 1}"),
                symbol=symbol,
                side=side,
                contracts=contracts,
                entry_price=entry,
                mark_price=mark,
                leverage=leverage,
                margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
            )
        )
    if wallet is None:
        wallet = Decimal(2000) + Decimal(700) * n
    return AccountState(
        rules=RuleSet.BINANCE,
        settle="USDT",
        wallet_balance=wallet,
        positions=tuple(positions),
        tiers=_tiers(symbols),
        taker_fee_rate=Decimal("0.0005"),
        betas=BETAS,
        label=f"test book ({n} positions)",
    )


def test_make_book_is_a_valid_engine_input() -> None:
    state = make_book(12)
    risk = evaluate(state)
    assert len(risk.positions) == 12
    assert {p.margin_mode for p in state.positions} == {MarginMode.CROSS, MarginMode.ISOLATED}
    assert risk.margin_ratio is not None and 0 < risk.margin_ratio < 1
    assert not any(p.liquidated for p in risk.positions)


def test_make_book_is_a_valid_scenario() -> None:
    from crossmargin.scenario import validate_state

    assert validate_state(make_book(12)) == []
    assert validate_state(make_book(200)) == []


def test_make_book_is_deterministic() -> None:
    assert make_book(20, seed=3) == make_book(20, seed=3)
    assert make_book(20, seed=3) != make_book(20, seed=4)
