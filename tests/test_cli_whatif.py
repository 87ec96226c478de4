"""``crossmargin whatif``: table and JSON output against the engine, exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import crossmargin.cli.main as cli_main
from crossmargin.cli.whatif import fmt_money, fmt_pct, fmt_price, parse_shock, price_places
from crossmargin.domain import MarginMode
from crossmargin.errors import InputError
from crossmargin.margin import (
    AdjustMargin,
    ClosePosition,
    ShockProfile,
    SwitchMode,
    apply_whatif,
    cascade,
    compare_whatif,
    evaluate,
    shock_point,
    switched_liquidation_prices,
)
from crossmargin.scenario import dumps_scenario, load_scenario, loads_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "resources" / "scenarios"
DEMO = SCENARIOS / "demo.json"


@pytest.fixture(autouse=True)
def _only_whatif(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test this command on its own, whatever other commands exist in the tree."""
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("whatif",))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli_main.main(["whatif", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def D(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# ----------------------------------------------------------------------------- table output


def _row(out: str, pid: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(pid + " "))


def test_table_shows_engine_prices_and_account(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(DEMO))
    assert code == 0 and err == ""
    state = load_scenario(DEMO)
    risk = evaluate(state)
    switched = switched_liquidation_prices(state)
    assert state.label in out
    for p in risk.positions:
        row = _row(out, p.id)
        assert p.symbol in row and p.side.value in row and p.margin_mode.value in row
        assert fmt_price(p.mark_price, p.mark_price) in row
        assert fmt_price(p.liquidation_price, p.mark_price) in row
        move = None if p.liquidation_price is None else (
            (p.liquidation_price - p.mark_price) / p.mark_price
        )
        assert fmt_pct(move, signed=True) in row
        assert f"{p.margin_mode.other.value}: {fmt_price(switched[p.id], p.mark_price)}" in row
    account = _row(out, "now")
    for value in (risk.wallet_balance, risk.margin_balance, risk.maintenance_margin,
                  risk.cross_unrealized_pnl, risk.equity):
        assert fmt_money(value, "USDT") in account
    assert fmt_pct(risk.margin_ratio) in account
    assert "e+" not in out.lower() and "e-0" not in out.lower()


def test_table_never_for_positions_that_cannot_be_liquidated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, str(DEMO))
    assert code == 0
    # bnb-long switched to cross is backed by the whole account: never liquidated.
    assert "cross: never" in _row(out, "bnb-long")


def test_table_after_switch(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(DEMO), "--switch", "eth-long", "bnb-long")
    assert code == 0
    state = load_scenario(DEMO)
    res = compare_whatif(state, [SwitchMode("eth-long"), SwitchMode("bnb-long")])
    assert "what-if: switch eth-long; switch bnb-long" in out
    for p in res.before.positions:
        a = res.after.position(p.id)
        row = _row(out, p.id)
        assert fmt_price(p.liquidation_price, p.mark_price) in row
        assert fmt_price(a.liquidation_price, p.mark_price) in row
    assert "cross -> isolated" in _row(out, "eth-long")
    assert "isolated -> cross" in _row(out, "bnb-long")
    after_line = _row(out, "after what-if")
    assert fmt_money(res.after.wallet_balance, "USDT") in after_line
    assert fmt_money(res.after.margin_balance, "USDT") in after_line
    assert "No position is liquidated by this what-if." in out


def _thin_margin_scenario() -> str:
    """A long 9.8 % under water: safe in cross, liquidated at once if made isolated (10x)."""
    return json.dumps(
        {
            "format": "crossmargin.scenario/1",
            "rules": "binance",
            "settle": "USDT",
            "wallet_balance": "50000",
            "positions": [
                {"id": "sinking", "symbol": "ETH/USDT:USDT", "side": "long", "contracts": "10",
                 "entry_price": "3000", "mark_price": "2706", "leverage": "10"},
                {"id": "fine", "symbol": "BTC/USDT:USDT", "side": "short", "contracts": "0.1",
                 "entry_price": "90000", "mark_price": "91000", "leverage": "5"},
            ],
            "tiers": {
                "ETH/USDT:USDT": [{"min_notional": "0", "max_notional": None,
                                   "maintenance_margin_rate": "0.005"}],
                "BTC/USDT:USDT": [{"min_notional": "0", "max_notional": None,
                                   "maintenance_margin_rate": "0.004"}],
            },
        }
    )


def test_call_out_of_positions_liquidated_at_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "thin.json"
    path.write_text(_thin_margin_scenario())
    state = load_scenario(path)
    res = compare_whatif(state, [SwitchMode("sinking")])
    assert res.liquidated_at_once == ("sinking",)
    code, out, _ = run(capsys, str(path), "--switch", "sinking")
    assert code == 0
    assert "!! This what-if LIQUIDATES AT ONCE: sinking (ETH/USDT:USDT isolated" in out
    assert "LIQUIDATED" in _row(out, "sinking")
    doc = run_json(capsys, str(path), "--switch", "sinking")
    lp = D(doc["positions"][0]["liquidation_price"])
    assert lp is not None and lp > Decimal("2706")  # a long whose liquidation is above mark


def test_table_with_shock_lists_the_cascade(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(DEMO), "--shock", "-20")
    assert code == 0
    state = load_scenario(DEMO)
    casc = cascade(state, ShockProfile.uniform(), Decimal("-0.2"), Decimal(0))
    assert casc.events, "the demo must liquidate something within a 20 % fall"
    assert "Shock -20.00 % on every mark price" in out
    lines = out.splitlines()
    for e in casc.events:
        line = next(ln for ln in lines if ln.strip().startswith(f"{e.order} "))
        assert fmt_pct(e.shock, signed=True) in line
        assert e.kind in line and ", ".join(e.position_ids) in line
    point = shock_point(state, ShockProfile.uniform(), Decimal("-0.2"), casc)
    assert f"Account at -20.00 %: equity {fmt_money(point.equity, 'USDT')} USDT" in out


def test_shock_with_percent_sign_and_nothing_hit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(DEMO), "--shock=-1%")
    assert code == 0
    assert "No liquidation between today's marks and -1.00 %." in out


def test_bundled_example_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "coinm_inverse")
    assert code == 0
    assert "settled in BTC" in out
    assert "perp-long" in out


def test_empty_account(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"format": "crossmargin.scenario/1", "rules": "generic",
                                "settle": "USDC", "wallet_balance": "100", "positions": []}))
    code, out, _ = run(capsys, str(path), "--shock", "-10")
    assert code == 0
    assert "No open positions." in out
    assert "Account at -10.00 %: equity 100.00 USDC, no cross positions" in out
    doc = run_json(capsys, str(path))
    assert doc["positions"] == [] and doc["account"]["margin_ratio"] is None


# ----------------------------------------------------------------------------- JSON output


def _same(text: str | None, value: Decimal | None) -> bool:
    return (text is None and value is None) or (
        text is not None and value is not None and Decimal(text) == value
    )


def test_json_structure_and_numbers_match_engine(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(DEMO))
    assert list(doc) == ["format", "account", "positions", "shock"]
    assert doc["format"] == "crossmargin.result/1"
    assert doc["shock"] is None
    state = load_scenario(DEMO)
    risk = evaluate(state)
    acc = doc["account"]
    assert list(acc) == ["wallet_balance", "unrealized_pnl", "margin_balance",
                         "maintenance_margin", "margin_ratio", "isolated_margin",
                         "total_wallet_balance", "equity"]
    for key in acc:
        if key == "total_wallet_balance":
            assert _same(acc[key], risk.wallet_balance + risk.isolated_margin)
        else:
            assert _same(acc[key], getattr(risk, key)), key
    assert [p["id"] for p in doc["positions"]] == [p.id for p in risk.positions]
    for item, p in zip(doc["positions"], risk.positions, strict=True):
        assert list(item) == ["id", "margin_mode", "notional", "initial_margin",
                              "maintenance_margin", "unrealized_pnl", "bankruptcy_price",
                              "liquidation_price", "liquidation_distance",
                              "exchange_liquidation_price", "if_switched"]
        assert item["margin_mode"] == p.margin_mode.value
        for key in ("notional", "initial_margin", "maintenance_margin", "unrealized_pnl",
                    "bankruptcy_price", "liquidation_price", "liquidation_distance"):
            value = item[key]
            assert value is None or isinstance(value, str)
            assert _same(value, getattr(p, key)), (p.id, key)
            assert value is None or ("E" not in value and "e" not in value)


def test_json_if_switched_is_the_engine_switch(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(DEMO))
    state = load_scenario(DEMO)
    fast = switched_liquidation_prices(state)
    for item in doc["positions"]:
        pid = item["id"]
        after = evaluate(apply_whatif(state, [SwitchMode(pid)]))
        sw = item["if_switched"]
        assert sw["margin_mode"] == state.position(pid).margin_mode.other.value
        assert _same(sw["liquidation_price"], after.position(pid).liquidation_price)
        assert _same(sw["liquidation_price"], fast[pid])
        # bounded: the effect on the others is a summary, not N prices (O(N) JSON)
        assert "others" not in sw
        eff = sw["effect"]
        assert eff["moving"] == sum(1 for q in after.positions
                                    if q.id != pid and q.margin_mode.value == "cross")
        assert _same(eff["margin_ratio"], after.margin_ratio)
        assert eff["cross_liquidated"] is after.cross_liquidated
        if eff["nearest"] is not None:
            near = eff["nearest"]
            got, want = Decimal(near["liquidation_price_after"]), \
                after.position(near["id"]).liquidation_price
            assert abs(got - want) <= abs(want) * Decimal("1e-30")
    # "never" is null: bnb-long in cross is never liquidated.
    bnb = next(i for i in doc["positions"] if i["id"] == "bnb-long")
    assert bnb["if_switched"]["liquidation_price"] is None


def test_json_describes_the_state_after_the_switch(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(DEMO), "--switch", "btc-long", "sol-short")
    state = load_scenario(DEMO)
    after_state = apply_whatif(state, [SwitchMode("btc-long"), SwitchMode("sol-short")])
    after = evaluate(after_state)
    assert _same(doc["account"]["wallet_balance"], after.wallet_balance)
    assert _same(doc["account"]["margin_ratio"], after.margin_ratio)
    modes = {i["id"]: i["margin_mode"] for i in doc["positions"]}
    assert modes["btc-long"] == "isolated" and modes["sol-short"] == "cross"
    for item in doc["positions"]:
        p = after.position(item["id"])
        assert _same(item["liquidation_price"], p.liquidation_price)
        sw = evaluate(apply_whatif(after_state, [SwitchMode(p.id)]))
        assert _same(item["if_switched"]["liquidation_price"], sw.position(p.id).liquidation_price)
    # switching back restores the original answer
    doc = run_json(capsys, str(DEMO), "--switch", "btc-long")
    btc = next(i for i in doc["positions"] if i["id"] == "btc-long")
    before = evaluate(state)
    assert _same(btc["if_switched"]["liquidation_price"],
                 before.position("btc-long").liquidation_price)
    # a position named with --switch carries the full list of the others' prices
    assert set(btc["if_switched"]["others"]) == {p.id for p in state.positions} - {"btc-long"}
    for other, price in btc["if_switched"]["others"].items():
        assert _same(price, before.position(other).liquidation_price), other


def test_json_add_margin_and_close_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(DEMO), "--add-margin", "bnb-long", "500", "--close", "xrp-long",
                   "--switch", "eth-long", "--add-margin", "eth-long", "-100")
    state = load_scenario(DEMO)
    ops = [AdjustMargin("bnb-long", Decimal(500)), ClosePosition("xrp-long"),
           SwitchMode("eth-long"), AdjustMargin("eth-long", Decimal(-100))]
    after = compare_whatif(state, ops).after
    assert [i["id"] for i in doc["positions"]] == [p.id for p in after.positions]
    assert "xrp-long" not in {i["id"] for i in doc["positions"]}
    assert _same(doc["account"]["wallet_balance"], after.wallet_balance)
    for item in doc["positions"]:
        assert _same(item["liquidation_price"], after.position(item["id"]).liquidation_price)


def test_json_shock_uniform(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(DEMO), "--shock", "-17.5")
    state = load_scenario(DEMO)
    t = Decimal("-0.175")
    casc = cascade(state, ShockProfile.uniform(), t, Decimal(0))
    point = shock_point(state, ShockProfile.uniform(), t, casc)
    sh = doc["shock"]
    assert sh["pct"] == "-17.5" and sh["mode"] == "uniform"
    assert len(sh["cascade"]) == len(casc.events) >= 2
    for item, e in zip(sh["cascade"], casc.events, strict=True):
        assert item["order"] == e.order and item["kind"] == e.kind
        assert item["direction"] == e.direction
        assert item["positions"] == list(e.position_ids)
        assert _same(item["shock_pct"], e.shock * 100)
        for symbol, price in item["prices"].items():
            assert _same(price, e.prices[symbol])
    kinds = [item["kind"] for item in sh["cascade"]]
    assert kinds == ["isolated", "cross"]  # bnb-long first, then the whole cross account
    for key in ("equity", "margin_balance", "maintenance_margin", "margin_ratio"):
        assert _same(sh["account"][key], getattr(point, key)), key


def test_json_shock_beta(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(DEMO), "--shock", "12", "--beta")
    state = load_scenario(DEMO)
    profile = ShockProfile.beta(state.betas)
    casc = cascade(state, profile, Decimal(0), Decimal("0.12"))
    assert doc["shock"]["mode"] == "beta"
    assert [i["positions"] for i in doc["shock"]["cascade"]] == [
        list(e.position_ids) for e in casc.events
    ]
    # DOGE (beta 1.6) is hit at a smaller BTC move than with a uniform shock.
    uniform = run_json(capsys, str(DEMO), "--shock", "12")
    beta_doge = next(e for e in doc["shock"]["cascade"] if e["positions"] == ["doge-short"])
    uni_doge = next(e for e in uniform["shock"]["cascade"] if e["positions"] == ["doge-short"])
    assert Decimal(beta_doge["shock_pct"]) < Decimal(uni_doge["shock_pct"])


def test_json_shock_after_switch(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(DEMO), "--switch", "bnb-long", "--shock", "-20")
    state = apply_whatif(load_scenario(DEMO), [SwitchMode("bnb-long")])
    casc = cascade(state, ShockProfile.uniform(), Decimal("-0.2"), Decimal(0))
    assert [i["positions"] for i in doc["shock"]["cascade"]] == [
        list(e.position_ids) for e in casc.events
    ]
    assert all("bnb-long" not in e["positions"] or e["kind"] == "cross"
               for e in doc["shock"]["cascade"])


# ----------------------------------------------------------------------------- bad input


def _bad(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err and out == ""
    lines = err.splitlines()
    assert lines and all(line.startswith("crossmargin: ") for line in lines), lines
    return [line[len("crossmargin: "):] for line in lines]


def test_file_not_found(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert _bad(capsys, str(missing)) == [f"{missing}: file not found"]


def test_unknown_bare_name_lists_the_bundled_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bad(capsys, "nosuch") == [
        "nosuch: file not found (bundled examples: btc_collateral, bybit_isolated, "
        "coinm_inverse, demo)"
    ]


def test_malformed_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": "crossmargin.scenario/1",\n "rules": binance}\n')
    assert _bad(capsys, str(path)) == [
        f"{path}: not valid JSON at line 2, column 11: Expecting value"
    ]


def test_invalid_scenario_lists_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = json.loads(_thin_margin_scenario())
    data["rules"] = "kraken"
    data["positions"][1]["leverage"] = "-5"
    data["positions"][0]["contracts"] = "-1"
    del data["positions"][0]["mark_price"]
    data["positions"].append({**data["positions"][1], "id": "iso", "side": "long",
                              "margin_mode": "isolated", "isolated_margin": "0",
                              "leverage": "5"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert _bad(capsys, str(path)) == [
        "rules: unknown rule set 'kraken' (expected one of binance, bybit, okx, gate, "
        "hyperliquid, generic)",
        "positions[0].contracts: must be > 0, got -1",
        "positions[0].mark_price: missing",
        "positions[1].leverage: must be > 0, got -5",
        "positions[2].isolated_margin: an isolated position needs margin > 0, got 0 "
        "(null means the initial margin at entry)",
    ]


def test_unknown_id_in_switch(capsys: pytest.CaptureFixture[str]) -> None:
    problems = _bad(capsys, str(DEMO), "--switch", "eth-long", "ada", "--close", "nope")
    assert problems == [
        f"--switch ada: no position with id 'ada' in {DEMO} (ids: btc-long, btc-short, "
        "eth-long, xrp-long, sol-short, bnb-long, doge-short)",
        f"--close nope: no position with id 'nope' in {DEMO} (ids: btc-long, btc-short, "
        "eth-long, xrp-long, sol-short, bnb-long, doge-short)",
    ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--shock", "abc"], "--shock: must be a percentage such as -15 or 12.5, got 'abc'"),
        (["--shock", "nan"], "--shock: must be a percentage such as -15 or 12.5, got 'nan'"),
        (["--shock", "-100"],
         "--shock: must be above -100 % (a price cannot fall to 0 or below), got -100"),
        (["--shock=-150%"],
         "--shock: must be above -100 % (a price cannot fall to 0 or below), got -150%"),
        (["--beta"], "--beta: needs --shock PCT (the BTC move)"),
        (["--shock", "-70", "--beta"],
         "--shock: a -70 % BTC move with beta 1.5 takes SOL/USDT:USDT to 0 or below; use a "
         "smaller shock"),
        (["--add-margin", "eth-long", "100"],
         "--add-margin eth-long 100: eth-long is in cross mode (at that point); only isolated "
         "positions have their own margin (switch it first with --switch)"),
        (["--add-margin", "bnb-long", "lots"],
         "--add-margin bnb-long lots: AMOUNT must be a number in USDT, got 'lots'"),
        (["--add-margin", "bnb-long", "0"], "--add-margin bnb-long 0: AMOUNT must not be 0"),
        (["--add-margin", "bnb-long", "-5000"],
         "--add-margin bnb-long -5000: would leave bnb-long with margin"),
        (["--close", "eth-long", "--switch", "eth-long"],
         "--switch eth-long: position 'eth-long' was closed by an earlier --close"),
    ],
)
def test_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    problems = _bad(capsys, str(DEMO), *argv)
    assert any(p.startswith(expected) for p in problems), problems


def test_argparse_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli_main.main(["whatif", str(DEMO), "--add-margin", "bnb-long"])
    assert info.value.code == 2
    assert "--add-margin: expected 2 arguments" in capsys.readouterr().err


def test_real_process_has_no_traceback(tmp_path: Path) -> None:
    code = (
        "import sys, crossmargin.cli.main as m\n"
        "m.COMMAND_MODULES = ('whatif',)\n"
        "sys.exit(m.main(sys.argv[1:]))\n"
    )
    bad = subprocess.run(
        [sys.executable, "-c", code, "whatif", str(DEMO), "--switch", "nobody"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("crossmargin: --switch nobody: no position with id 'nobody'")
    good = subprocess.run(
        [sys.executable, "-c", code, "whatif", str(DEMO), "--json"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["format"] == "crossmargin.result/1"


# ----------------------------------------------------------------------------- formatting


def test_price_formatting_never_scientific() -> None:
    assert fmt_price(Decimal("91850"), Decimal("91850")) == "91,850.00"
    assert fmt_price(Decimal("0.1823149528"), Decimal("0.1634")) == "0.182315"
    assert fmt_price(Decimal("0.00001234567"), Decimal("0.00001234")) == "0.0000123457"
    assert fmt_price(Decimal("1E+12"), Decimal("3000")) == "1,000,000,000,000.00"
    assert fmt_price(Decimal("1E-12"), Decimal("3000")) == "0.00"
    assert fmt_price(None, Decimal(1)) == "never"
    assert price_places(Decimal("142.3")) == 3
    assert fmt_money(Decimal("-0.001"), "USDT") == "0.00"
    assert fmt_money(Decimal("0.67146702"), "BTC") == "0.671467"
    assert fmt_pct(Decimal("0.0661"), signed=True) == "+6.61 %"
    assert fmt_pct(None) == "-"


def test_parse_shock() -> None:
    assert parse_shock("-15") == Decimal("-0.15")
    assert parse_shock(" -15 % ".strip()) == Decimal("-0.15")
    assert parse_shock("\u221212.5%") == Decimal("-0.125")
    with pytest.raises(InputError):
        parse_shock("Infinity")


def test_round_tripped_scenario_gives_identical_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = load_scenario(DEMO)
    copy = tmp_path / "copy.json"
    copy.write_text(dumps_scenario(loads_scenario(dumps_scenario(state))))
    first = run_json(capsys, str(DEMO), "--shock", "-18")
    second = run_json(capsys, str(copy), "--shock", "-18")
    assert first == second
    assert state.position("bnb-long").margin_mode is MarginMode.ISOLATED


# ----------------------------------------------------------------------------- journal accounts


def _journal_with_account(path: Path) -> None:
    from crossmargin.storage import Journal

    demo = load_scenario(DEMO)
    with Journal.open(path) as journal:
        journal.create_account("Main", rules="binance", settle="USDT")
        for p in demo.positions[:4]:
            journal.set_tiers("Main", p.symbol, demo.tiers[p.symbol])
            journal.add_position(
                "Main", p.symbol, p.side, p.contracts, p.entry_price,
                leverage=p.leverage, margin_mode=p.margin_mode, mark_price=p.mark_price,
                leg="net" if p.id != "btc-short" else "short",
            )
        journal.record_balance("Main", Decimal("14000"))


def test_account_from_the_journal(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from crossmargin.storage import Journal

    db = tmp_path / "journal.sqlite3"
    _journal_with_account(db)
    with Journal.open(db, create=False) as journal:
        state = journal.build_scenario("Main")
    assert len(state.positions) == 4
    doc = run_json(capsys, "--account", "main", "--db", str(db), "--switch", state.positions[0].id)
    after = evaluate(apply_whatif(state, [SwitchMode(state.positions[0].id)]))
    assert _same(doc["account"]["margin_balance"], after.margin_balance)
    for item in doc["positions"]:
        assert _same(item["liquidation_price"], after.position(item["id"]).liquidation_price)
    code, out, _ = run(capsys, "--account", "Main", "--db", str(db), "--wallet", "9000")
    assert code == 0 and out.startswith("Main\n")
    assert fmt_money(Decimal(9000), "USDT") in _row(out, "now")


def test_account_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    assert _bad(capsys, "--account", "Main", "--db", str(tmp_path / "none.sqlite3")) == [
        f"no journal at {(tmp_path / 'none.sqlite3').resolve()}; check the path given with --db"
    ]
    assert not (tmp_path / "none.sqlite3").exists()
    _journal_with_account(db)
    problems = _bad(capsys, "--account", "Nope", "--db", str(db))
    assert len(problems) == 1 and "Nope" in problems[0]
    assert _bad(capsys, "--account", "Main", "--db", str(db), "--wallet", "-1") == [
        "--wallet: must be an amount >= 0, got '-1'"
    ]
    assert _bad(capsys, str(DEMO), "--account", "Main") == [
        f"give either FILE ({DEMO}) or --account Main, not both"
    ]
    assert _bad(capsys, str(DEMO), "--wallet", "5") == ["--wallet: only used with --account NAME"]
    assert _bad(capsys) == [
        "give a scenario FILE (e.g. resources/scenarios/demo.json, or just: demo) or "
        "--account NAME from the journal"
    ]


def test_json_others_flag_lists_every_price(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(DEMO), "--others")
    state = load_scenario(DEMO)
    for item in doc["positions"]:
        assert set(item["if_switched"]["others"]) == {p.id for p in state.positions} - {
            item["id"]}
    from crossmargin.cli.main import main

    assert main(["whatif", str(DEMO), "--others"]) == 0  # without --json: the usual table


def test_a_multi_asset_account_pools_its_collateral_on_the_command_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The bundled BTC-collateral demo: the BTC long's price is where the pool (wallet +
    BTC at 95 % + USDC + every uPnL) meets the maintenance margin, with the BTC held
    falling with the contract; selling the BTC for USDT moves it; single-asset mode
    stops counting it."""
    doc = run_json(capsys, "btc_collateral")
    state = load_scenario(ROOT / "resources" / "scenarios" / "btc_collateral.json")
    pool = doc["account"]["collateral"]
    assert pool["mode"] == "multi" and [a["asset"] for a in pool["assets"]] == ["BTC", "USDC"]
    lp = Decimal(next(p for p in doc["positions"] if p["id"] == "btc-long")
                 ["liquidation_price"])
    # restated: everything at today's marks except BTC, which is at lp (and so is the BTC
    # held); one bracket each (the notionals stay in the first Binance bracket here)
    btc, usdc = state.collateral
    mb = state.wallet_balance + btc.effective_amount * lp + usdc.value
    mm = Decimal(0)
    for p in state.positions:
        x = lp if p.symbol.startswith("BTC/") else p.mark_price
        mb += p.side.sign * p.size * (x - p.entry_price)
        tier = state.tiers[p.symbol][0]
        assert p.size * x < state.tiers[p.symbol][1].min_notional
        mm += p.size * x * tier.maintenance_margin_rate
    assert abs(mb - mm) < Decimal("1e-20")
    assert doc["positions"][0]["if_switched"] is None  # a pool has no per-position switch

    sold = run_json(capsys, "btc_collateral", "--convert", "0.4", "BTC", "USDT")
    assert Decimal(sold["account"]["wallet_balance"]) == state.wallet_balance + \
        Decimal("0.4") * btc.price
    assert Decimal(sold["positions"][0]["liquidation_price"]) < lp
    single = run_json(capsys, "btc_collateral", "--multi-asset", "off")
    assert single["account"]["collateral"]["value"] == "0"
    code, out, _ = run(capsys, "btc_collateral", "--shock", "-30")
    assert code == 0 and "the collateral lost" in out and "Collateral (multi-asset" in out
    code, _, err = run(capsys, "btc_collateral", "--convert", "1", "DOGE", "USDT",
                       "--collateral", "BTC", "lots")
    assert code == 2 and "holds no DOGE" in err and "AMOUNT must be a number" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "btc_collateral", "--switch", "btc-long")
    assert code == 2 and "cross margin only" in err


def test_whatif_on_a_file_loads_neither_storage_nor_ccxt_nor_numpy(tmp_path: Path) -> None:
    """The file path is the fast path (issue 13): a new process running `whatif FILE`
    never imports the journal (SQLAlchemy), ccxt or numpy (only --shock needs numpy)."""
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['crossmargin', 'whatif', sys.argv[1]]\n"
        "from crossmargin.cli.main import main\n"
        "code = main(sys.argv[1:])\n"
        "loaded = [m for m in ('sqlalchemy', 'sqlmodel', 'ccxt', 'numpy') if m in sys.modules]\n"
        "print('LOADED', ','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(DEMO)], capture_output=True,
                          text=True, timeout=120, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "LOADED"
