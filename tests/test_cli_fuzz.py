"""The real argument parser, driven with generated argument lists as a hostile user would
type them: every command ends in exit 0 or 2 with a message, never a traceback (exit 1
would be an unexpected error, i.e. a bug), and never leaves a damaged journal behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossmargin.cli.main import main

# network or interactive commands are left out (they are tested against replay servers)
COMMANDS = [
    ["whatif"], ["journal", "list"], ["journal", "show"], ["journal", "stats"],
    ["journal", "add"], ["journal", "fill"], ["journal", "close"], ["journal", "edit"],
    ["journal", "delete"], ["journal", "balance"], ["journal", "funding"],
    ["journal", "transfer"], ["journal", "transfers"], ["journal", "tiers"],
    ["journal", "instrument"], ["journal", "account", "add"], ["journal", "account", "edit"],
    ["journal", "account", "list"], ["import"], ["export"], ["backup"], ["restore"],
    ["status"], ["accounts", "list"],
]
NASTY = [
    "", " ", "-", "--", "--=", "0", "-1", "1", "2", "1e999999999", "1e-999999999", "nan",
    "inf", "-inf", "9" * 300, "0001-01-01", "9999-12-31", "2024-02-30", "now", "é", "a" * 300,
    "250,5", "1,234", "1.2.3", "BTCUSDT", "btc", "BTC/USDT:USDT", "long", "short", "buy",
    "sell", "Main", "main", "demo", "/dev/zero", "/dev/null", "/", ".", "x" * 5000,
    "--account", "--db", "--json", "--yes", "--switch", "--shock", "--shock=-100",
    "--shock=-15%", "--leverage", "--exchange", "binanceusdm", "--from", "--to", "--limit",
    "--page", "--preset", "binance", "--decimal", ",", "--fetch", "--list", "--settle",
    "--wallet", "positions", "fills", "funding", "json", "\x00", "\n", "'", '"', "%s",
]


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("fuzzhome")
    return home


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(command=st.sampled_from(COMMANDS),
       args=st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=7))
def test_every_argument_list_ends_in_a_message(command, args, capsys, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("CROSSMARGIN_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # relative paths the fuzzer types land here, not in the repo
    db = home / "data" / "journal.sqlite3"
    if not db.exists():  # a journal with something in it, so ids and labels can hit
        assert main(["journal", "account", "add", "Main", "--exchange", "binanceusdm"]) == 0
        assert main(["journal", "add", "--account", "Main", "BTCUSDT", "long", "0.5",
                     "60000", "--leverage", "10"]) == 0
        assert main(["journal", "balance", "Main", "10000"]) == 0
    args = [a.replace("\x00", "") for a in args]
    argv = [*command, *args]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    assert code in (0, 2), (argv, err[-2000:])
    assert "Traceback" not in err and "Traceback" not in out, argv
    if code == 2 and not err.strip():
        pytest.fail(f"exit 2 without a message: {argv}")
    if db.exists():
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok", argv
        finally:
            conn.close()


CELLS = ["", "2024-03-01 10:00:00", "1709287200000", "0001-01-01", "BTCUSDT", "eth", "buy",
         "SELL", "open long", "3000.5", "3.000,25", "0,123", "1,234", "1e999999999",
         "1e-999999999", "-5", "0", "nan", "0.01 USDT", "é", "9" * 200, '"', "a,b", "LONG"]


@settings(max_examples=200, deadline=None)
@given(header=st.lists(st.sampled_from(["time", "symbol", "side", "price", "amount", "fee",
                                         "fee_currency", "trade_id", "realized profit",
                                         "Date(UTC)", "Quantity", "x"]), max_size=8),
       rows=st.lists(st.lists(st.one_of(st.sampled_from(CELLS), st.text(max_size=8)),
                              max_size=9), max_size=6),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_csv_reader_answers_every_file(header, rows, delimiter, tmp_path_factory):
    """Any CSV: fills and rejected rows with line numbers, or one InputError; never
    anything else, and every accepted number within bounds."""
    import csv
    import io

    from crossmargin.errors import InputError
    from crossmargin.storage.csv_import import parse_fills_csv

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(header)
    w.writerows(rows)
    path = tmp_path_factory.mktemp("csvfuzz") / "f.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    try:
        parsed = parse_fills_csv(path)
    except InputError as exc:
        assert exc.problems and all(len(p) < 2000 for p in exc.problems)
        return
    for _line, f in parsed.fills:
        for v in (f.price, f.amount, f.fee):
            assert v.is_finite() and (v.is_zero() or abs(v.adjusted()) <= 30)
    assert all(r.line >= 2 and r.reason for r in parsed.rejected)


JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.sampled_from(["1e999999999", "1e-999999999", "-1", "0", "binance",
                               "BTC/USDT:USDT", "long", "cross", "isolated", "USDT",
                               "crossmargin.scenario/1", "9" * 300]), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["format", "rules", "settle", "wallet_balance", "positions",
                                 "tiers", "id", "symbol", "side", "contracts", "entry_price",
                                 "mark_price", "leverage", "margin_mode", "isolated_margin",
                                 "min_notional", "max_notional", "maintenance_margin_rate",
                                 "BTC/USDT:USDT", "betas", "x"]), inner, max_size=8)),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(doc=JSONISH)
def test_scenario_reader_answers_every_document(doc):
    """Any JSON document: an AccountState the engine can evaluate, or one InputError
    listing the problems; never an exception of another kind."""
    import json

    from crossmargin.errors import InputError
    from crossmargin.margin import evaluate
    from crossmargin.scenario import loads_scenario

    try:
        state = loads_scenario(json.dumps(doc))
    except InputError as exc:
        assert exc.problems and all(len(p) < 2000 for p in exc.problems)
        return
    evaluate(state)
