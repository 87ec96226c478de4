"""``crossmargin whatif``: liquidation prices of a whole account, now and after a what-if.

::

    crossmargin whatif FILE [--switch ID ...] [--add-margin ID AMOUNT] [--close ID]
                            [--collateral ASSET AMOUNT [PRICE [RATIO]]]
                            [--convert AMOUNT ASSET TO] [--multi-asset on|off]
                            [--shock PCT [--beta]] [--json]
    crossmargin whatif --account NAME [--db PATH] [--source auto|journal|exchange]
                       [--wallet AMOUNT] [same what-if options]

The what-if operations (``--switch``, ``--add-margin``, ``--close``, and for pooled
collateral ``--collateral``, ``--convert``, ``--multi-asset``) are applied in
the order given on the command line; ``--shock`` then moves every mark by PCT %
(``--beta``: PCT is the BTC move and each symbol moves beta × PCT, betas from the
scenario) and reports the liquidation cascade between today's marks and the shock.

The default output is a table for people; ``--json`` prints a
``crossmargin.result/1`` document (numbers as decimal strings, ``null`` for
"never liquidated") for programs. Bad input exits with code 2 and one line per
problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from crossmargin.cli.whatif_output import (
    HUNDRED,
    RESULT_FORMAT,
    fmt_money,
    fmt_pct,
    fmt_price,
    plain_json,
    price_places,
    render_table,
    result_json,
)
from crossmargin.domain import ONE, ZERO, AccountState, CollateralMode, MarginMode, PositionId
from crossmargin.errors import InputError
from crossmargin.margin import (
    AdjustMargin,
    ClosePosition,
    ConvertCollateral,
    SetCollateral,
    SetCollateralMode,
    SwitchEffect,
    SwitchMode,
    WhatIfOp,
    WhatIfResult,
    apply_whatif,
    compare_whatif,
    liquidation_prices,
    switch_effects,
    switched_liquidation_prices,
)
from crossmargin.numbers import show
from crossmargin.scenario import format_decimal, load_scenario

if TYPE_CHECKING:
    from crossmargin.margin.shock import Cascade, ShockPoint, ShockProfile

# --------------------------------------------------------------------------- arguments


class _OrderedOp(argparse.Action):
    """Collects the what-if options into one list, in command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        ops = list(getattr(namespace, "ops", None) or [])
        vals = [values] if isinstance(values, str) else list(values or [])
        if self.dest == "switch":
            ops.extend(("--switch", [v]) for v in vals)
        else:
            ops.append((option_string or self.dest, vals))
        namespace.ops = ops


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``whatif`` command to the ``crossmargin`` parser."""
    p = subparsers.add_parser(
        "whatif",
        help="liquidation prices now and after switching margin modes or a price shock",
        description=(
            "Liquidation prices of every position of an account (a scenario file or a\n"
            "journal account), now and after a what-if: switch positions between cross and\n"
            "isolated margin, add or remove isolated margin, close positions, and shock\n"
            "every price by PCT % to see the liquidation cascade. Operations apply in the\n"
            "order given."
        ),
        epilog=(
            "examples:\n"
            "  crossmargin whatif resources/scenarios/demo.json\n"
            "  crossmargin whatif demo.json --switch eth-long --switch bnb-long\n"
            "  crossmargin whatif demo.json --shock -15\n"
            "  crossmargin whatif demo.json --shock=-10% --beta --json\n"
            "A bare name such as 'demo' opens the bundled example of that name."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="scenario file (crossmargin.scenario/2 or /1 JSON), or the name of a bundled "
        "example; "
        "or leave it out and use --account",
    )
    journal = p.add_argument_group("an account from the journal instead of a file")
    journal.add_argument(
        "--account",
        metavar="NAME",
        help="build the scenario from this journal account (label or id): its open positions, "
        "latest wallet balance, instruments and tiers",
    )
    journal.add_argument(
        "--db", metavar="PATH", help="journal file (default: the journal in the data folder)"
    )
    journal.add_argument(
        "--source",
        choices=("auto", "journal", "exchange"),
        default="auto",
        help="positions from the journal or from the last exchange sync (default: auto, the "
        "exchange's for a synced exchange account)",
    )
    journal.add_argument(
        "--wallet",
        metavar="AMOUNT",
        help="wallet balance to use instead of the latest recorded one: the whole wallet of "
        "the settlement currency as the exchange shows it (isolated wallets included, no "
        "unrealized PnL); the isolated positions' wallets are taken out for the cross wallet",
    )
    journal.add_argument(
        "--settle",
        metavar="CUR",
        help="settlement currency to evaluate (default: the account's); positions settled "
        "in other currencies are left out",
    )
    p.add_argument(
        "--switch",
        metavar="ID",
        nargs="+",
        action=_OrderedOp,
        help="switch these positions to the other margin mode (cross <-> isolated); going "
        "isolated assigns the initial margin at entry, taken from the cross wallet",
    )
    p.add_argument(
        "--add-margin",
        metavar=("ID", "AMOUNT"),
        nargs=2,
        action=_OrderedOp,
        help="add AMOUNT (settlement currency) of margin to isolated position ID from the "
        "cross wallet; a negative AMOUNT removes margin",
    )
    p.add_argument(
        "--close",
        metavar="ID",
        action=_OrderedOp,
        help="close position ID at its mark price (its PnL goes to the cross wallet)",
    )
    pool = p.add_argument_group(
        "collateral (multi-asset accounts: Binance Multi-Assets, Bybit UTA, OKX "
        "multi-currency)")
    pool.add_argument(
        "--collateral",
        metavar="ASSET AMOUNT [PRICE [RATIO]]",
        nargs="+",
        action=_OrderedOp,
        help="set the balance of a collateral asset (a new asset needs its PRICE in the "
        "settlement currency, and RATIO for its collateral value ratio, e.g. 0.95)",
    )
    pool.add_argument(
        "--convert",
        metavar=("AMOUNT", "ASSET", "TO"),
        nargs=3,
        action=_OrderedOp,
        help="sell AMOUNT of ASSET for TO at their prices, e.g. --convert 1 BTC USDT",
    )
    pool.add_argument(
        "--multi-asset",
        choices=("on", "off"),
        action=_OrderedOp,
        help="switch the account to multi-asset (on: every collateral asset counts) or "
        "single-asset margin (off: only the settlement currency)",
    )
    p.add_argument(
        "--shock",
        metavar="PCT",
        help="move every mark price by PCT %% (e.g. -15) and show the liquidation cascade "
        "from today's marks to that move; write --shock=-15%% with a %% sign",
    )
    p.add_argument(
        "--beta",
        action="store_true",
        help="with --shock: PCT is the BTC move and each symbol moves its beta (from the "
        "scenario's betas; 1 when absent) times PCT",
    )
    p.add_argument("--json", action="store_true",
                   help="print crossmargin.result/1 JSON: per position its price if switched "
                        "and a bounded summary of the effect on the others (O(N) in all); "
                        "the full list of others for the positions named with --switch")
    p.add_argument("--others", action="store_true",
                   help="with --json: the full list of every other position's price after "
                        "switching each position (grows with the square of the positions)")
    p.set_defaults(handler=run, ops=[])


# --------------------------------------------------------------------------- input


def _bundled_scenarios() -> list[Path]:
    from crossmargin.resources import resource_path

    try:
        folder = resource_path("scenarios")
    except FileNotFoundError:
        return []
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _resolve_file(name: str) -> Path:
    """The scenario path; a bare name (``demo``) falls back to the bundled examples.

    Raises InputError when nothing is found, listing the bundled examples for a bare name.
    """
    path = Path(name)
    try:
        if path.exists():
            return path
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise InputError(f"{show(name, 40)}: not a file name this system can open "
                         f"({exc.strerror or exc})") from None
    bare = "/" not in name and "\\" not in name
    if bare:
        bundled = _bundled_scenarios()
        for candidate in bundled:
            if name in (candidate.name, candidate.stem):
                return candidate
        if bundled:
            names = ", ".join(c.stem for c in bundled)
            raise InputError(f"{name}: file not found (bundled examples: {names})")
    return path


def _parse_decimal(text: str) -> Decimal | None:
    """The number ``text`` writes (:func:`crossmargin.numbers.parse_decimal`), or None."""
    from crossmargin.numbers import NumberError, parse_decimal

    try:
        return parse_decimal(text)
    except NumberError:
        return None


def parse_shock(text: str) -> Decimal:
    """``"-15"`` / ``"-15%"`` → ``Decimal("-0.15")`` (a fraction). Raises InputError."""
    raw = text.strip()
    value = _parse_decimal(raw[:-1] if raw.endswith("%") else raw)
    if value is None:
        raise InputError(f"--shock: must be a percentage such as -15 or 12.5, got {text!r}")
    if value <= -HUNDRED:
        raise InputError(
            f"--shock: must be above -100 % (a price cannot fall to 0 or below), got {text}"
        )
    return value / HUNDRED


def _build_ops(
    state: AccountState, raw_ops: Sequence[tuple[str, list[str]]], source: str
) -> list[WhatIfOp]:
    """Turn the command-line operations into engine operations, checking each in turn.

    Every problem is reported (unknown ids, bad amounts, ops the state does not allow),
    naming the option as the user typed it.
    """
    problems: list[str] = []
    ops: list[WhatIfOp] = []
    current = state
    ids_hint = ", ".join(p.id for p in state.positions) or "none"
    for option, values in raw_ops:
        shown = " ".join([option, *values])
        if option in _POOL_OPTIONS:
            try:
                pool_op = _pool_op(option, values, current)
                current = apply_whatif(current, [pool_op])
            except InputError as exc:
                problems.extend(f"{shown}: {line.partition(': ')[2] or line}"
                                for line in exc.problems)
                continue
            ops.append(pool_op)
            continue
        pid = values[0]
        known = {p.id for p in current.positions}
        if pid not in known:
            if any(p.id == pid for p in state.positions):
                problems.append(f"{shown}: position {pid!r} was closed by an earlier --close")
            else:
                problems.append(
                    f"{shown}: no position with id {pid!r} in {source} (ids: {ids_hint})"
                )
            continue
        op: WhatIfOp
        if option == "--switch":
            op = SwitchMode(pid)
        elif option == "--add-margin":
            amount = _parse_decimal(values[1])
            if amount is None:
                problems.append(
                    f"{shown}: AMOUNT must be a number in {state.settle}, got {values[1]!r}"
                )
                continue
            if amount == 0:
                problems.append(f"{shown}: AMOUNT must not be 0")
                continue
            if current.position(pid).margin_mode is not MarginMode.ISOLATED:
                problems.append(
                    f"{shown}: {pid} is in cross mode (at that point); only isolated "
                    "positions have their own margin (switch it first with --switch)"
                )
                continue
            op = AdjustMargin(pid, amount)
        else:
            op = ClosePosition(pid)
        try:
            current = apply_whatif(current, [op])
        except InputError as exc:
            for line in exc.problems:
                _, _, detail = line.partition(": ")
                problems.append(f"{shown}: {detail or line}")
            continue
        ops.append(op)
    if problems:
        raise InputError(problems)
    return ops


_POOL_OPTIONS = ("--collateral", "--convert", "--multi-asset")


def _pool_op(option: str, values: list[str], state: AccountState) -> WhatIfOp:
    """One collateral what-if from its command-line values (InputError saying what)."""
    if option == "--multi-asset":
        return SetCollateralMode(CollateralMode.MULTI if values[0] == "on"
                                 else CollateralMode.SINGLE)
    if option == "--convert":
        amount = _parse_decimal(values[0])
        if amount is None or amount <= 0:
            raise InputError(f"x: AMOUNT must be a number > 0, got {values[0]!r}")
        return ConvertCollateral(values[1].upper(), amount, values[2].upper())
    if not 2 <= len(values) <= 4:
        raise InputError("x: give ASSET AMOUNT, optionally PRICE and RATIO "
                         "(e.g. --collateral BTC 0.5 or --collateral SOL 20 140 0.9)")
    numbers = [_parse_decimal(v) for v in values[1:]]
    for name, raw, value in zip(("AMOUNT", "PRICE", "RATIO"), values[1:], numbers,
                                strict=False):
        if value is None:
            raise InputError(f"x: {name} must be a number, got {raw!r}")
    amount, price, ratio = [*numbers, None, None][:3]
    assert amount is not None
    return SetCollateral(values[0].upper(), amount, price, ratio)


def _check_shock_prices(state: AccountState, profile: ShockProfile, t: Decimal, pct: str) -> None:
    problems = []
    for symbol in dict.fromkeys(p.symbol for p in state.positions):
        w = profile.weight(symbol)
        if ONE + w * t <= 0:
            problems.append(
                f"--shock: a {pct} % BTC move with beta {format_decimal(w)} takes {symbol} to 0 "
                "or below; use a smaller shock"
            )
    if problems:
        raise InputError(problems)


# --------------------------------------------------------------------------- computing


@dataclass(frozen=True)
class ShockReport:
    """What ``--shock`` computed: the move, the cascade up to it, the account at it."""

    pct: Decimal
    move: Decimal
    mode: str
    cascade: Cascade
    point: ShockPoint


@dataclass(frozen=True)
class WhatIfReport:
    """Everything the command prints, computed once (used by both output formats)."""

    source: str
    state: AccountState
    ops: tuple[WhatIfOp, ...]
    result: WhatIfResult
    shock: ShockReport | None
    if_switched: Mapping[str, SwitchEffect] = field(default_factory=dict)
    #: every other position's price after switching this one: for the positions named
    #: with --switch, or all with --others (O(N²): opt-in)
    others: Mapping[str, dict[str, Decimal | None]] = field(default_factory=dict)

    @property
    def has_ops(self) -> bool:
        return bool(self.ops)


def if_switched(state: AccountState) -> dict[str, SwitchEffect]:
    """For each position, what switching it alone does (:func:`switch_effects`): its own
    price, how many others move, the cross margin ratio and the nearest other position's
    new price. O(N) for the whole account (and so is the JSON)."""
    return switch_effects(state)


def others_after_switch(state: AccountState, ids: Sequence[str]) -> dict[str, dict[str,
                                                                                 Decimal | None]]:
    """Every other position's liquidation price after switching each of ``ids`` alone:
    one evaluation per id (O(N) each)."""
    out: dict[str, dict[str, Decimal | None]] = {}
    for pid in ids:
        prices = liquidation_prices(apply_whatif(state, [SwitchMode(PositionId(pid))]))
        prices.pop(pid, None)
        out[pid] = prices
    return out


def compute(
    state: AccountState,
    raw_ops: Sequence[tuple[str, list[str]]] = (),
    *,
    shock: str | None = None,
    beta: bool = False,
    with_others: bool = True,
    all_others: bool = False,
    source: str = "the scenario",
) -> WhatIfReport:
    """Run the what-if. ``raw_ops`` as parsed from the command line (option, values)."""
    if beta and shock is None:
        raise InputError("--beta: needs --shock PCT (the BTC move)")
    t = parse_shock(shock) if shock is not None else None
    ops = _build_ops(state, raw_ops, source)
    result = compare_whatif(state, ops)
    after = result.state
    report_shock: ShockReport | None = None
    if t is not None:
        assert shock is not None
        from crossmargin.margin.shock import ShockProfile, cascade, shock_point  # numpy

        profile = ShockProfile.beta(after.betas) if beta else ShockProfile.uniform()
        pct = t * HUNDRED
        _check_shock_prices(after, profile, t, plain_json(pct) or "0")
        casc = cascade(after, profile, min(t, ZERO), max(t, ZERO))
        point = shock_point(after, profile, t, casc)
        report_shock = ShockReport(pct, t, "beta" if beta else "uniform", casc, point)
    switched = if_switched(after) if with_others else {}
    named = [str(op.position_id) for op in ops if isinstance(op, SwitchMode)]
    wanted = [p.id for p in after.positions] if all_others else list(dict.fromkeys(named))
    others = others_after_switch(after, wanted) if with_others and wanted else {}
    return WhatIfReport(source, state, tuple(ops), result, report_shock, switched, others)


# --------------------------------------------------------------------------- JSON


# --------------------------------------------------------------------------- table


# --------------------------------------------------------------------------- command


def _load_account(args: argparse.Namespace
                  ) -> tuple[AccountState, tuple[str, ...], dict[str, Decimal]]:
    """The scenario of a journal account (``--account``), validated like a file, and
    where its inputs came from (one line each)."""
    from crossmargin.scenario import validate_state
    from crossmargin.storage import Journal

    wallet: Decimal | None = None
    if args.wallet is not None:
        wallet = _parse_decimal(args.wallet)
        if wallet is None or wallet < 0:
            raise InputError(f"--wallet: must be an amount >= 0, got {args.wallet!r}")
    with Journal.open(args.db, create=False) as journal:
        inputs = journal.account_inputs(args.account, wallet_balance=wallet,
                                        source=args.source, settle=args.settle)
        state = inputs.state
        ledger = journal.wallet_ledger(args.account, state.settle)
        held = journal.settlements(args.account, source=args.source)
    others = {c: n for c, n in held.items() if c != state.settle}
    if others and not state.positions:
        raise InputError(
            f"account {state.label}: no open position settles in {state.settle}; "
            + "; ".join(f"{n} settle in {c} (--settle {c})" for c, n in sorted(others.items()))
        )
    problems = validate_state(state)
    if problems:
        raise InputError([f"account {state.label}: {line}" for line in problems])
    return state, inputs.sources, ledger


def load_input(args: argparse.Namespace
               ) -> tuple[AccountState, str, tuple[str, ...], dict[str, Decimal] | None]:
    """The account to work on, how to name it, and where a journal account's inputs
    came from: a scenario file or a journal account."""
    journal_only = [
        opt for opt, given in (("--db", args.db is not None), ("--wallet", args.wallet is not None),
                               ("--source", args.source != "auto"),
                               ("--settle", args.settle is not None)) if given
    ]
    if args.account is not None:
        if args.file is not None:
            raise InputError(
                f"give either FILE ({args.file}) or --account {args.account}, not both"
            )
        state, sources, ledger = _load_account(args)
        return state, f"account {state.label}", sources, ledger
    if journal_only:
        raise InputError(f"{', '.join(journal_only)}: only used with --account NAME")
    if args.file is None:
        raise InputError(
            "give a scenario FILE (e.g. resources/scenarios/demo.json, or just: demo) "
            "or --account NAME from the journal"
        )
    path = _resolve_file(args.file)
    return load_scenario(path), str(path), (), None


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Handler of ``crossmargin whatif``; returns the exit code (0)."""
    out = out or sys.stdout
    state, source, sources, ledger = load_input(args)
    report = compute(
        state,
        args.ops or [],
        shock=args.shock,
        beta=args.beta,
        with_others=bool(args.json),
        all_others=bool(args.json and args.others),
        source=source,
    )
    if args.json:
        doc = result_json(report)
        if ledger is not None:
            # what the journal holds for the wallet: wallet = transfers + realised + fees
            # + funding (+ whatever happened before the synced history)
            doc["ledger"] = {k: plain_json(v) for k, v in ledger.items()}
        if sources:
            doc["sources"] = list(sources)
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        # no per-position switch in a pooled account (Binance: cross only; Bybit UTA:
        # the margin mode is the account's)
        switched = {} if report.has_ops or state.multi_asset \
            else switched_liquidation_prices(state)
        render_table(report, out, switched=switched)
        if sources:
            out.write("\nwhere the numbers came from:\n")
            out.write("".join(f"  {line}\n" for line in sources))
    return 0


__all__: list[str] = [
    "RESULT_FORMAT",
    "ShockReport",
    "WhatIfReport",
    "compute",
    "fmt_money",
    "fmt_pct",
    "fmt_price",
    "if_switched",
    "load_input",
    "parse_shock",
    "price_places",
    "register",
    "render_table",
    "result_json",
    "run",
]

