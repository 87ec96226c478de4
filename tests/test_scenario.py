"""Scenario files (crossmargin.scenario/1): parsing, every validation rule, exact round trip."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.domain import AccountState, MarginMode, Position, PositionId, RuleSet, Side, Tier
from crossmargin.errors import InputError
from crossmargin.scenario import (
    FORMAT,
    dump_scenario,
    dumps_scenario,
    format_decimal,
    load_scenario,
    loads_scenario,
    parse_scenario,
    save_scenario,
    validate_state,
)

ISSUE_EXAMPLE = """
{"format": "crossmargin.scenario/1", "rules": "binance", "settle": "USDT",
 "wallet_balance": "10000", "taker_fee_rate": "0.0005",
 "positions": [{"id": "btc", "symbol": "BTC/USDT:USDT", "side": "long", "contracts": "0.5",
   "contract_size": "1", "inverse": false, "entry_price": "60000", "mark_price": "61000",
   "leverage": "10", "margin_mode": "cross", "isolated_margin": null}],
 "tiers": {"BTC/USDT:USDT": [{"min_notional": "0", "max_notional": "50000",
   "maintenance_margin_rate": "0.004", "maintenance_amount": "0", "max_leverage": "125"}]},
 "betas": {"ETH/USDT:USDT": "1.2"}}
"""


def base() -> dict[str, Any]:
    """A valid two-symbol scenario with a hedge pair, as decoded JSON."""
    tiers = [
        {"min_notional": "0", "max_notional": "50000", "maintenance_margin_rate": "0.004"},
        {"min_notional": "50000", "max_notional": None, "maintenance_margin_rate": "0.005"},
    ]
    return {
        "format": FORMAT,
        "rules": "binance",
        "settle": "USDT",
        "wallet_balance": "10000",
        "positions": [
            {
                "id": "btc-long",
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": "0.5",
                "entry_price": "60000",
                "mark_price": "61000",
                "leverage": "10",
            },
            {
                "id": "btc-short",
                "symbol": "BTC/USDT:USDT",
                "side": "short",
                "contracts": "0.2",
                "entry_price": "62000",
                "mark_price": "61000",
                "leverage": "10",
            },
            {
                "id": "eth",
                "symbol": "ETH/USDT:USDT",
                "side": "short",
                "contracts": "3",
                "entry_price": "3000",
                "mark_price": "2900",
                "leverage": "5",
                "margin_mode": "isolated",
                "isolated_margin": "2000",
            },
        ],
        "tiers": {"BTC/USDT:USDT": tiers, "ETH/USDT:USDT": copy.deepcopy(tiers)},
    }


def problems_of(data: object) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_scenario(data)
    return info.value.problems


# ----------------------------------------------------------------------------- happy paths


def test_issue_example_parses_exactly() -> None:
    state = loads_scenario(ISSUE_EXAMPLE)
    assert state.rules is RuleSet.BINANCE
    assert state.settle == "USDT"
    assert state.wallet_balance == Decimal("10000")
    assert state.taker_fee_rate == Decimal("0.0005")
    (p,) = state.positions
    assert p == Position(
        id=PositionId("btc"),
        symbol="BTC/USDT:USDT",
        side=Side.LONG,
        contracts=Decimal("0.5"),
        entry_price=Decimal("60000"),
        mark_price=Decimal("61000"),
        leverage=Decimal("10"),
        margin_mode=MarginMode.CROSS,
        contract_size=Decimal(1),
        inverse=False,
        isolated_margin=None,
    )
    assert state.tiers["BTC/USDT:USDT"] == (
        Tier(Decimal(0), Decimal(50000), Decimal("0.004"), Decimal(0), Decimal(125)),
    )
    assert state.betas == {"ETH/USDT:USDT": Decimal("1.2")}


def test_defaults_of_optional_fields() -> None:
    state = parse_scenario(base())
    p = state.positions[0]
    assert p.contract_size == 1 and p.inverse is False and p.margin_mode is MarginMode.CROSS
    assert p.isolated_margin is None and p.max_leverage is None
    assert p.maintenance_margin_rate is None and p.exchange_liquidation_price is None
    assert state.taker_fee_rate == 0 and state.betas == {} and state.label == ""


def test_isolated_margin_null_means_initial_margin_at_entry() -> None:
    data = base()
    data["positions"][2]["isolated_margin"] = None
    p = parse_scenario(data).positions[2]
    assert p.isolated_margin is None
    assert p.own_margin == Decimal(3) * Decimal(3000) / Decimal(5)


def test_plain_json_numbers_are_read_exactly() -> None:
    text = json.dumps(base())
    text = text.replace('"0.5"', "0.1").replace('"10000"', "10000.10000000000000000001")
    state = loads_scenario(text)
    assert state.positions[0].contracts == Decimal("0.1")  # not 0.1000000000000000055...
    assert state.wallet_balance == Decimal("10000.10000000000000000001")


def test_numbers_in_scientific_notation_are_accepted() -> None:
    data = base()
    data["positions"][0]["contracts"] = "5e-1"
    assert parse_scenario(data).positions[0].contracts == Decimal("0.5")


def test_optional_position_fields() -> None:
    data = base()
    data["positions"][0].update(
        {
            "contract_size": "0.001",
            "max_leverage": "125",
            "maintenance_margin_rate": "0.004",
            "exchange_liquidation_price": "55123.4",
        }
    )
    data["positions"][1]["contract_size"] = "0.001"
    data["label"] = "main"
    data["taker_fee_rate"] = 0.0005
    data["betas"] = {"ETH/USDT:USDT": "1.3", "SOL/USDT:USDT": -0.5}
    state = parse_scenario(data)
    p = state.positions[0]
    assert p.contract_size == Decimal("0.001") and p.size == Decimal("0.0005")
    assert p.max_leverage == 125 and p.maintenance_margin_rate == Decimal("0.004")
    assert p.exchange_liquidation_price == Decimal("55123.4")
    assert state.label == "main" and state.taker_fee_rate == Decimal("0.0005")
    assert state.betas == {"ETH/USDT:USDT": Decimal("1.3"), "SOL/USDT:USDT": Decimal("-0.5")}


def test_inverse_position_in_its_base_coin() -> None:
    data = {
        "format": FORMAT,
        "rules": "binance",
        "settle": "BTC",
        "wallet_balance": "1.5",
        "positions": [
            {
                "id": "inv",
                "symbol": "BTC/USD:BTC",
                "side": "long",
                "contracts": "100",
                "contract_size": "100",
                "inverse": True,
                "entry_price": "90000",
                "mark_price": "91000",
                "leverage": "5",
            }
        ],
        "tiers": {
            "BTC/USD:BTC": [
                {"min_notional": "0", "max_notional": "5", "maintenance_margin_rate": "0.004"},
                {"min_notional": "5", "max_notional": None, "maintenance_margin_rate": "0.005"},
            ]
        },
    }
    state = parse_scenario(data)
    assert state.positions[0].inverse and state.positions[0].size == Decimal(10000)


def test_generic_rules_with_position_mmr_need_no_tiers() -> None:
    data = base()
    data["rules"] = "generic"
    del data["tiers"]
    for p in data["positions"]:
        p["maintenance_margin_rate"] = "0.01"
    state = parse_scenario(data)
    assert state.tiers == {}


def test_hyperliquid_position_with_max_leverage_needs_no_tiers() -> None:
    data = base()
    data["rules"] = "hyperliquid"
    del data["tiers"]
    for p in data["positions"]:
        p["max_leverage"] = "40"
    assert parse_scenario(data).positions[0].max_leverage == 40


def test_empty_account_is_valid() -> None:
    data = base()
    data["positions"] = []
    assert parse_scenario(data).positions == ()


# ----------------------------------------------------------------------------- validation rules


def _set(path: str, value: object):
    """A mutation setting ``path`` ("positions.1.leverage") to ``value`` (DELETE removes).

    Symbols have no dots, so ``tiers.BTC/USDT:USDT.0.min_notional`` works too.
    """

    def apply(data: dict[str, Any]) -> None:
        keys = path.split(".")
        target: Any = data
        for k in keys[:-1]:
            target = target[int(k)] if isinstance(target, list) else target[k]
        last = keys[-1]
        if value is DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return apply


DELETE = object()
BTC = "BTC/USDT:USDT"

CASES: list[tuple[str, Any, str]] = [
    ("rules", "foo",
     "rules: unknown rule set 'foo' (expected one of binance, bybit, okx, gate, hyperliquid, "
     "generic)"),
    ("rules", DELETE, "rules: missing"),
    ("settle", DELETE, "settle: missing"),
    ("settle", "", "settle: must not be empty"),
    ("settle", 5, "settle: must be a string, got 5"),
    ("wallet_balance", DELETE, "wallet_balance: missing"),
    ("wallet_balance", "-1", "wallet_balance: must be >= 0, got -1"),
    ("wallet_balance", "ten", "wallet_balance: must be a number"),
    ("wallet_balance", True, "wallet_balance: must be a number"),
    ("wallet_balance", "NaN", "wallet_balance: must be a finite number, got 'NaN'"),
    ("wallet_balance", "Infinity", "wallet_balance: must be a finite number"),
    ("taker_fee_rate", "1", "taker_fee_rate: must be in [0, 1), got 1"),
    ("taker_fee_rate", "-0.001", "taker_fee_rate: must be in [0, 1), got -0.001"),
    ("label", 3, "label: must be a string"),
    ("positions", DELETE, "positions: missing (use [] for an account with no positions)"),
    ("positions", {"a": 1}, "positions: must be a list"),
    ("positions.0", "btc", "positions[0]: must be an object, got 'btc'"),
    ("positions.2.leverage", "-5", "positions[2].leverage: must be > 0, got -5"),
    ("positions.2.leverage", "0", "positions[2].leverage: must be > 0, got 0"),
    ("positions.0.mark_price", DELETE, "positions[0].mark_price: missing"),
    ("positions.0.mark_price", None, "positions[0].mark_price: missing"),
    ("positions.0.entry_price", "0", "positions[0].entry_price: must be > 0, got 0"),
    ("positions.0.contracts", "-0.5", "positions[0].contracts: must be > 0, got -0.5"),
    ("positions.0.contracts", "0", "positions[0].contracts: must be > 0, got 0"),
    ("positions.0.contract_size", "0", "positions[0].contract_size: must be > 0, got 0"),
    ("positions.0.id", DELETE, "positions[0].id: missing"),
    ("positions.0.id", "", "positions[0].id: must not be empty"),
    ("positions.0.symbol", DELETE, "positions[0].symbol: missing"),
    ("positions.0.side", "buy",
     "positions[0].side: unknown side 'buy' (expected one of long, short)"),
    ("positions.0.margin_mode", "portfolio",
     "positions[0].margin_mode: unknown margin mode 'portfolio' (expected one of cross, "
     "isolated)"),
    ("positions.0.inverse", "no", "positions[0].inverse: must be true or false, got 'no'"),
    ("positions.2.isolated_margin", "-10",
     "positions[2].isolated_margin: an isolated position needs margin > 0, got -10"),
    ("positions.2.isolated_margin", "0",
     "positions[2].isolated_margin: an isolated position needs margin > 0, got 0"),
    ("positions.0.isolated_margin", "-1", "positions[0].isolated_margin: must be > 0, got -1"),
    ("positions.0.maintenance_margin_rate", "1.5",
     "positions[0].maintenance_margin_rate: must be in [0, 1), got 1.5"),
    ("positions.0.max_leverage", "0", "positions[0].max_leverage: must be > 0, got 0"),
    ("positions.0.exchange_liquidation_price", "0",
     "positions[0].exchange_liquidation_price: must be > 0, got 0"),
    ("positions.0.leverge", "10", "positions[0].leverge: unknown field (did you mean 'leverage'?)"),
    ("walet_balance", "1", "walet_balance: unknown field (did you mean 'wallet_balance'?)"),
    ("positions.1.id", "btc-long",
     "positions[1].id: duplicate id 'btc-long' (also positions[0]); ids must be unique"),
    ("positions.1.side", "long", "positions[1]: a second long position on BTC/USDT:USDT"),
    ("positions.1.mark_price", "61001",
     "positions[1].mark_price: 61001 differs from positions[0].mark_price (61000)"),
    ("positions.1.contract_size", "0.001",
     "positions[1].contract_size: 0.001 differs from positions[0].contract_size (1)"),
    ("positions.0.symbol", "BTC/USDC:USDC",
     "positions[0].symbol: BTC/USDC:USDC settles in USDC, but this account settles in USDT"),
    ("positions.0.inverse", True,
     "positions[0].inverse: an inverse contract settles in its base coin (BTC), but this "
     "account settles in USDT"),
    ("positions.2.symbol", "SOL/USDT:USDT",
     "tiers: no tier table for SOL/USDT:USDT (used by positions[2]); add "
     'tiers["SOL/USDT:USDT"]'),
    ("tiers", DELETE, "tiers: no tier table for BTC/USDT:USDT (used by positions[0])"),
    ("tiers", [], "tiers: must be an object {symbol: [tier, ...]}"),
    (f"tiers.{BTC}", [], 'tiers["BTC/USDT:USDT"]: must list at least one tier'),
    (f"tiers.{BTC}", {"a": 1}, 'tiers["BTC/USDT:USDT"]: must be a list of tiers'),
    (f"tiers.{BTC}.0.min_notional", "10",
     'tiers["BTC/USDT:USDT"][0].min_notional: the first tier must start at 0, got 10'),
    (f"tiers.{BTC}.0.min_notional", DELETE,
     'tiers["BTC/USDT:USDT"][0].min_notional: missing'),
    (f"tiers.{BTC}.1.min_notional", "40000",
     'tiers["BTC/USDT:USDT"][1].min_notional: tiers must be ordered and contiguous: expected '
     "50000 (the previous tier's max_notional), got 40000"),
    (f"tiers.{BTC}.0.max_notional", None,
     'tiers["BTC/USDT:USDT"][0].max_notional: only the last tier may be open-ended (null)'),
    (f"tiers.{BTC}.0.max_notional", "-5",
     'tiers["BTC/USDT:USDT"][0].max_notional: must be > 0, got -5'),
    (f"tiers.{BTC}.1.max_notional", "50000",
     'tiers["BTC/USDT:USDT"][1].max_notional: must be > min_notional (50000), got 50000'),
    (f"tiers.{BTC}.1.maintenance_margin_rate", "1",
     'tiers["BTC/USDT:USDT"][1].maintenance_margin_rate: must be in [0, 1), got 1'),
    (f"tiers.{BTC}.1.maintenance_margin_rate", "-0.1",
     'tiers["BTC/USDT:USDT"][1].maintenance_margin_rate: must be in [0, 1), got -0.1'),
    (f"tiers.{BTC}.1.maintenance_amount", "-3",
     'tiers["BTC/USDT:USDT"][1].maintenance_amount: must be >= 0, got -3'),
    (f"tiers.{BTC}.1.max_leverage", "0",
     'tiers["BTC/USDT:USDT"][1].max_leverage: must be > 0, got 0'),
    (f"tiers.{BTC}.1.cum", "0",
     'tiers["BTC/USDT:USDT"][1].cum: unknown field'),
    ("betas", ["x"], "betas: must be an object {symbol: beta}"),
    ("betas", {"ETH/USDT:USDT": "high"}, 'betas["ETH/USDT:USDT"]: must be a number'),
]


@pytest.mark.parametrize(("path", "value", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_validation_rule(path: str, value: object, expected: str) -> None:
    data = base()
    _set(path, value)(data)
    problems = problems_of(data)
    assert any(line.startswith(expected) for line in problems), problems


def test_all_problems_are_collected_at_once() -> None:
    data = base()
    data["rules"] = "foo"
    data["positions"][2]["leverage"] = "-5"
    data["positions"][0]["mark_price"] = None
    data["positions"][1]["id"] = "btc-long"
    data["tiers"][BTC][1]["maintenance_margin_rate"] = "2"
    problems = problems_of(data)
    assert len(problems) == 5, problems
    assert problems[0].startswith("rules: unknown rule set 'foo'")
    assert "positions[2].leverage: must be > 0, got -5" in problems
    assert "positions[0].mark_price: missing" in problems
    assert any(p.startswith("positions[1].id: duplicate id") for p in problems)


def test_cross_field_rules_still_run_on_a_partly_bad_position() -> None:
    data = base()
    data["positions"][1]["id"] = "btc-long"
    data["positions"][1]["leverage"] = "0"
    problems = problems_of(data)
    assert "positions[1].leverage: must be > 0, got 0" in problems
    assert any(p.startswith("positions[1].id: duplicate id 'btc-long'") for p in problems)


def test_generic_rules_without_tiers_need_a_position_mmr() -> None:
    data = base()
    data["rules"] = "generic"
    del data["tiers"]
    for p in data["positions"]:
        p["maintenance_margin_rate"] = "0.01"
    del data["positions"][2]["maintenance_margin_rate"]
    problems = problems_of(data)
    assert problems == [
        "positions[2].maintenance_margin_rate: missing: the generic rules need a "
        "maintenance_margin_rate on the position or a tier table for ETH/USDT:USDT in tiers"
    ]


def test_generic_rules_with_a_bad_position_mmr_report_it_once() -> None:
    data = base()
    data["rules"] = "generic"
    del data["tiers"]
    for p in data["positions"]:
        p["maintenance_margin_rate"] = "0.01"
    data["positions"][0]["maintenance_margin_rate"] = "7"
    assert problems_of(data) == ["positions[0].maintenance_margin_rate: must be in [0, 1), got 7"]


def test_hyperliquid_tiers_need_max_leverage() -> None:
    data = base()
    data["rules"] = "hyperliquid"
    problems = problems_of(data)
    assert 'tiers["BTC/USDT:USDT"][0].max_leverage: missing: the hyperliquid rules take ' \
        "maintenance from the max leverage (half the initial margin at max leverage)" in problems


def test_linear_flag_on_a_coin_settled_symbol() -> None:
    data = base()
    data["settle"] = "BTC"
    for p in data["positions"]:
        p["symbol"] = "BTC/USD:BTC"
    data["positions"].pop(2)
    data["tiers"] = {"BTC/USD:BTC": data["tiers"][BTC]}
    problems = problems_of(data)
    assert problems == [
        'positions[0].inverse: BTC/USD:BTC settles in its base coin, so it is an inverse '
        'contract: set "inverse": true',
        'positions[1].inverse: BTC/USD:BTC settles in its base coin, so it is an inverse '
        'contract: set "inverse": true',
    ]


def test_hedge_legs_must_agree_on_linear_or_inverse() -> None:
    data = base()
    data["positions"][1]["inverse"] = True
    problems = problems_of(data)
    assert any(p.startswith("positions[1].inverse: true differs from positions[0].inverse")
               for p in problems), problems


def test_format_marker() -> None:
    data = base()
    del data["format"]
    assert problems_of(data)[0] == 'format: missing (expected "crossmargin.scenario/2")'
    data["format"] = "crossmargin.scenario/3"
    assert problems_of(data) == [
        "format: 'crossmargin.scenario/3' is a newer or unknown version; this CrossMargin "
        "reads 'crossmargin.scenario/1' and 'crossmargin.scenario/2' (update CrossMargin "
        "to open it)"
    ]
    data["format"] = "crossmargin.result/1"
    assert problems_of(data) == [
        "format: expected \"crossmargin.scenario/2\", got 'crossmargin.result/1'"
    ]
    data["format"] = "crossmargin.scenario/1"  # the first version is still read
    assert parse_scenario(data).collateral == ()


def test_top_level_must_be_an_object() -> None:
    assert problems_of([1, 2]) == ["a scenario must be a JSON object, got a list"]


# ----------------------------------------------------------------------------- JSON text and files


def test_malformed_json_reports_line_and_column() -> None:
    text = '{\n  "format": "crossmargin.scenario/1",\n  "rules": "binance"\n  "settle": "USDT"\n}'
    with pytest.raises(InputError) as info:
        loads_scenario(text, source="acct.json")
    assert info.value.problems == [
        "acct.json: not valid JSON at line 4, column 3: Expecting ',' delimiter"
    ]


def test_duplicate_json_keys_are_reported() -> None:
    text = json.dumps(base())[:-1] + ', "rules": "bybit"}'
    with pytest.raises(InputError) as info:
        loads_scenario(text, source="a.json")
    assert info.value.problems == [
        "a.json: key 'rules' appears twice in one object (remove one of them)"
    ]


def test_nan_token_is_rejected() -> None:
    text = json.dumps(base()).replace('"10000"', "NaN")
    with pytest.raises(InputError) as info:
        loads_scenario(text)
    assert info.value.problems == ["wallet_balance: must be a finite number, got NaN"]


def test_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(InputError) as info:
        load_scenario(missing)
    assert info.value.problems == [f"{missing}: file not found"]
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path)
    assert info.value.problems == [f"{tmp_path}: is a folder, not a scenario file"]
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError) as info:
        load_scenario(binary)
    assert "not UTF-8 text" in info.value.problems[0]


def test_utf8_bom_and_unicode_label(tmp_path: Path) -> None:
    data = base()
    data["label"] = "Compte principal — été"
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, ensure_ascii=False).encode())
    assert load_scenario(path).label == "Compte principal — été"


def test_save_is_atomic_and_validated(tmp_path: Path) -> None:
    state = parse_scenario(base())
    path = tmp_path / "acct.json"
    save_scenario(state, path)
    assert load_scenario(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["acct.json"]
    bad = state.with_(wallet_balance=Decimal(-1))
    before = path.read_bytes()
    with pytest.raises(InputError) as info:
        save_scenario(bad, path)
    assert info.value.problems == ["wallet_balance: must be >= 0, got -1"]
    assert path.read_bytes() == before


def test_validate_state_built_in_code() -> None:
    state = parse_scenario(base())
    assert validate_state(state) == []
    p = state.positions[0].with_(leverage=Decimal(0))
    bad = state.with_(positions=(p, *state.positions[1:]))
    assert validate_state(bad) == ["positions[0].leverage: must be > 0, got 0"]


def test_dump_writes_strings_in_plain_notation() -> None:
    state = parse_scenario(base()).with_(wallet_balance=Decimal("1E+4"),
                                         taker_fee_rate=Decimal("5E-7"))
    out = dump_scenario(state)
    assert out["wallet_balance"] == "10000"
    assert out["taker_fee_rate"] == "0.0000005"
    assert out["positions"][0]["contracts"] == "0.5"
    assert out["positions"][2]["isolated_margin"] == "2000"
    assert out["positions"][0]["isolated_margin"] is None
    assert out["tiers"][BTC][1]["max_notional"] is None
    assert format_decimal(Decimal("-0")) == "0"


# ----------------------------------------------------------------------------- exact round trip

_SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]


def _dec(lo: str, hi: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(lo), max_value=Decimal(hi), places=places,
        allow_nan=False, allow_infinity=False,
    )


@st.composite
def tier_tables(draw: st.DrawFn) -> tuple[Tier, ...]:
    n = draw(st.integers(1, 4))
    bounds = sorted(draw(st.sets(_dec("1", "1e9", 2), min_size=n, max_size=n)))
    floors = [Decimal(0), *bounds[: n - 1]]
    caps: list[Decimal | None] = [*bounds[: n - 1], draw(st.sampled_from([None, bounds[-1]]))]
    if caps[-1] is not None and caps[-1] <= floors[-1]:
        caps[-1] = None
    return tuple(
        Tier(
            floors[i],
            caps[i],
            draw(_dec("0", "0.9999", 6)),
            draw(st.none() | _dec("0", "1e7", 4)),
            draw(st.none() | _dec("1", "200", 0)),
        )
        for i in range(n)
    )


@st.composite
def account_states(draw: st.DrawFn) -> AccountState:
    positions = []
    used: set[tuple[str, Side]] = set()
    marks: dict[str, Decimal] = {}
    sizes: dict[str, Decimal] = {}
    for i in range(draw(st.integers(0, 5))):
        symbol = draw(st.sampled_from(_SYMBOLS))
        side = draw(st.sampled_from(list(Side)))
        if (symbol, side) in used:
            continue
        used.add((symbol, side))
        mode = draw(st.sampled_from(list(MarginMode)))
        positions.append(
            Position(
                id=PositionId(f"p{i}-" + draw(st.text(min_size=1, max_size=6))),
                symbol=symbol,
                side=side,
                contracts=draw(_dec("0.0001", "1e6", 4)),
                entry_price=draw(_dec("0.00001", "1e6", 5)),
                mark_price=marks.setdefault(symbol, draw(_dec("0.00001", "1e6", 5))),
                leverage=draw(_dec("1", "125", 1)),
                margin_mode=mode,
                contract_size=sizes.setdefault(symbol, draw(_dec("0.001", "100", 3))),
                isolated_margin=draw(st.none() | _dec("0.01", "1e6", 8)),
                maintenance_margin_rate=draw(st.none() | _dec("0", "0.5", 5)),
                max_leverage=draw(st.none() | _dec("1", "200", 0)),
                exchange_liquidation_price=draw(st.none() | _dec("0.01", "1e6", 2)),
            )
        )
    return AccountState(
        rules=draw(st.sampled_from([r for r in RuleSet if r is not RuleSet.HYPERLIQUID])),
        settle="USDT",
        wallet_balance=draw(_dec("0", "1e9", 8)),
        positions=tuple(positions),
        tiers={s: draw(tier_tables()) for s in _SYMBOLS},
        taker_fee_rate=draw(_dec("0", "0.01", 6)),
        betas=draw(st.dictionaries(st.sampled_from(_SYMBOLS), _dec("-3", "3", 3))),
        label=draw(st.text(max_size=20)),
    )


@settings(max_examples=200, deadline=None)
@given(account_states())
def test_round_trip_is_exact(state: AccountState) -> None:
    text = dumps_scenario(state)
    again = loads_scenario(text)
    assert again == state
    for a, b in zip(again.positions, state.positions, strict=True):
        assert str(a.contracts.normalize()) == str(b.contracts.normalize())
    assert dumps_scenario(again) == text


_NUMERIC_FIELDS = ["contracts", "entry_price", "mark_price", "leverage", "contract_size"]


@settings(max_examples=100, deadline=None)
@given(
    account_states().filter(lambda s: len(s.positions) > 0),
    st.data(),
)
def test_any_single_bad_number_is_reported_at_its_path(state: AccountState, data: st.DataObject
                                                       ) -> None:
    assert validate_state(state) == []
    doc = json.loads(dumps_scenario(state))
    i = data.draw(st.integers(0, len(state.positions) - 1))
    key = data.draw(st.sampled_from(_NUMERIC_FIELDS))
    bad = data.draw(st.sampled_from(["0", "-1", "abc", "", None, True, [], "Infinity"]))
    if key == "contract_size" and bad is None:
        bad = "0"  # null is allowed there: it means the default, 1
    doc["positions"][i][key] = bad
    problems = problems_of(doc)
    assert any(p.startswith(f"positions[{i}].{key}: ") for p in problems), problems


# ----------------------------------------------------------------------------- bundled examples

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "resources" / "scenarios"
EXAMPLES = sorted(SCENARIO_DIR.glob("*.json"))


def test_the_four_examples_are_bundled() -> None:
    assert [p.name for p in EXAMPLES] == ["btc_collateral.json", "bybit_isolated.json",
                                          "coinm_inverse.json", "demo.json"]
    readme = (EXAMPLES[0].parent / "README.md").read_text(encoding="utf-8")
    for p in EXAMPLES:
        assert p.name in readme


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_are_healthy_now_and_a_big_move_liquidates(path: Path) -> None:
    from crossmargin.margin import ShockProfile, cascade, evaluate

    state = load_scenario(path)
    assert state.label
    assert loads_scenario(dumps_scenario(state)) == state
    assert path.read_text(encoding="utf-8") == dumps_scenario(state)  # stored canonically
    risk = evaluate(state)
    assert not any(p.liquidated for p in risk.positions)
    assert not risk.cross_liquidated
    assert risk.available_balance >= 0
    for p in risk.positions:
        assert p.liquidation_distance is None or p.liquidation_distance > Decimal("0.03")
    events = cascade(state, ShockProfile.uniform(), Decimal("-0.2"), Decimal("0.2")).events
    assert events and all(e.direction != "now" for e in events)
    assert any(Decimal("0.10") <= abs(e.shock) <= Decimal("0.20") for e in events)


def test_demo_uses_the_real_binance_brackets() -> None:
    fixture = json.loads(
        (Path(__file__).resolve().parent / "fixtures" / "tiers"
         / "binance_usdm_leverage_tiers.json").read_text()
    )
    state = load_scenario(next(p for p in EXAMPLES if p.stem == "demo"))
    assert state.rules is RuleSet.BINANCE
    assert {p.margin_mode for p in state.positions} == set(MarginMode)
    sides = {(p.symbol, p.side) for p in state.positions}
    assert ("BTC/USDT:USDT", Side.LONG) in sides and ("BTC/USDT:USDT", Side.SHORT) in sides
    for symbol, table in state.tiers.items():
        rows = fixture[symbol]
        assert len(table) == len(rows)
        for tier, row in zip(table, rows, strict=True):
            info = row["info"]
            assert tier.min_notional == Decimal(str(info["notionalFloor"]))
            assert tier.max_notional == Decimal(str(info["notionalCap"]))
            assert tier.maintenance_margin_rate == Decimal(str(info["maintMarginRatio"]))
            assert tier.maintenance_amount == Decimal(str(info["cum"]))
            assert tier.max_leverage == Decimal(str(info["initialLeverage"]))
    assert set(state.betas) <= set(state.tiers)


# ----------------------------------------------------------------------------- collateral (/2)


def test_collateral_round_trips_and_pools() -> None:
    data = base()
    data["collateral_mode"] = "multi"
    data["collateral"] = [
        {"asset": "BTC", "amount": "0.5", "price": "61000", "ratio": "0.95"},
        {"asset": "ETH", "amount": "12", "price": "3100",
         "ratios": [{"up_to": "10", "ratio": "0.98"}, {"up_to": None, "ratio": "0.9"}]},
        {"asset": "USDC", "amount": "0", "price": "0.9998"},
    ]
    data["positions"][0]["settle"] = "USDC"
    for position in data["positions"]:  # Binance's pool is cross only
        position["margin_mode"] = "cross"
        position.pop("isolated_margin", None)
    state = parse_scenario(data)
    assert state.multi_asset and state.positions[0].settle == "USDC"
    assert state.collateral[1].effective_amount == Decimal("9.8") + 2 * Decimal("0.9")
    again = loads_scenario(dumps_scenario(state))
    assert again == state
    assert json.loads(dumps_scenario(state))["collateral"][0] == {
        "asset": "BTC", "amount": "0.5", "price": "61000", "ratio": "0.95"}


def test_collateral_problems_are_named() -> None:
    data = base()
    data["collateral_mode"] = "pooled"
    data["collateral"] = [
        {"asset": "BTC", "amount": "1", "price": "0", "ratio": "1.5"},
        {"asset": "BTC", "amount": "x", "price": "1"},
        {"asset": "USDT", "amount": "1", "price": "1"},
        {"asset": "ETH", "amount": "1", "price": "1",
         "ratios": [{"up_to": "10", "ratio": "1"}, {"up_to": "5", "ratio": "0.9"}]},
    ]
    lines = problems_of(data)
    assert any(line.startswith("collateral_mode: unknown collateral mode 'pooled'")
               for line in lines)
    assert "collateral[0].price: must be > 0, got 0" in lines
    assert "collateral[0].ratio: must be between 0 and 1, got 1.5" in lines
    assert any(line.startswith("collateral[1].asset: BTC is listed twice") for line in lines)
    assert any(line.startswith("collateral[1].amount: must be a number") for line in lines)
    assert any(line.startswith("collateral[2].asset: USDT is the settlement currency")
               for line in lines)
    assert any(line.startswith("collateral[3].ratios[1].up_to: must be above") for line in lines)
    # Binance's pool is cross only
    iso = base()
    iso["collateral_mode"] = "multi"
    iso["positions"][0]["margin_mode"] = "isolated"
    assert any("cross margin only" in line for line in problems_of(iso))
