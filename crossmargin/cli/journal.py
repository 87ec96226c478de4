"""``crossmargin journal``: the trading journal from the command line.

::

    crossmargin journal account add LABEL [--exchange ID] [--leverage L] [--rules R]
                                    [--settle CCY] [--margin-mode M] [--hedge]
    crossmargin journal account edit LABEL [--exchange ID] [--leverage L] [--rules R] ...
    crossmargin journal account list
    crossmargin journal add --account A SYMBOL long|short SIZE PRICE [--leverage L] [--stop S]
                            [--target T] [--tag TAG ...] [--setup TEXT] [--notes TEXT] ...
    crossmargin journal fill --account A SYMBOL buy|sell SIZE PRICE [--fee F] [--trade-id ID]
    crossmargin journal close ID PRICE [--size N] [--fee F] [--time T]
    crossmargin journal edit ID [--size N] [--entry P] [--opened T] [--leverage L]
                             [--stop S] [--tags a,b] [--notes TEXT] ...
    crossmargin journal delete ID --yes
    crossmargin journal list [--account A] [--symbol S] [--open|--closed] [--tag T]
                             [--from DATE] [--to DATE] [--limit N] [--page P] [--json]
    crossmargin journal show ID [--json]
    crossmargin journal stats [same filters as list]
                              [--by symbol|setup|tag|side|account|month|weekday|hour|day]
    crossmargin journal balance ACCOUNT AMOUNT [--currency CCY] [--time T]
    crossmargin journal funding --account A SYMBOL AMOUNT [--time T] [--currency CCY]
    crossmargin journal transfer ACCOUNT AMOUNT [--time T] [--currency CCY] [--note TEXT]
    crossmargin journal transfers ACCOUNT [--json]
    crossmargin journal tiers ACCOUNT TIERS.json [--symbol SYMBOL[=FILE_SYMBOL] ...]
    crossmargin journal tiers ACCOUNT --fetch [--symbol SYMBOL ...] [--endpoint URL]
    crossmargin journal instrument ACCOUNT SYMBOL [--contract-size N] [--inverse] [--beta B]
    crossmargin journal collateral ACCOUNT [ASSET --price P [--ratio R] [--amount A]]

Every command takes ``--db PATH`` (default: the journal in the data folder). Sizes are
contracts (base units for ``BTCUSDT``-style linear contracts). Times without a zone are
local time; ``--time`` defaults to now. Bad input exits with code 2 and a message
naming the field; a failed command writes nothing.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

from crossmargin.cli._journal_common import (
    count_arg,
    db_parent,
    dec,
    local,
    money,
    num,
    open_journal,
    record_id,
    when,
)
from crossmargin.cli.journal_reports import run_list, run_show, run_stats
from crossmargin.cli.journal_setup import (
    run_account_add,
    run_account_edit,
    run_account_list,
    run_balance,
    run_collateral,
    run_funding,
    run_instrument,
    run_tiers,
    run_transfer,
    run_transfers,
)
from crossmargin.errors import InputError
from crossmargin.storage.records import STAT_GROUPS


def register(subparsers: argparse._SubParsersAction) -> None:
    db = db_parent()
    p = subparsers.add_parser(
        "journal", help="log, list and analyse positions in the local journal",
        description=(__doc__ or "").replace("``", "").replace("::\n", "\n").strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="journal_command", metavar="ACTION")
    p.set_defaults(handler=lambda a: _usage(p))

    acc = sub.add_parser("account", help="add or list journal accounts")
    accsub = acc.add_subparsers(dest="account_command", metavar="ACTION")
    acc.set_defaults(handler=lambda a: _usage(acc))
    aa = accsub.add_parser(
        "add", parents=[db], help="add a hand-logged account",
        description="Add a hand-logged account. Name its exchange (--exchange binanceusdm) "
        "and its positions follow that exchange's margin rules and tier tables (a bundled "
        "public snapshot where the journal has none) and its public mark prices in the app.")
    aa.add_argument("label")
    _account_options(aa, defaults=True)
    aa.set_defaults(handler=run_account_add)
    ae = accsub.add_parser("edit", parents=[db], help="change an account's exchange, "
                           "default leverage, rules, settlement currency, fee or notes")
    ae.add_argument("label")
    ae.add_argument("--label", dest="new_label", metavar="NEW", help="rename the account")
    _account_options(ae, defaults=False)
    ae.set_defaults(handler=run_account_edit)
    al = accsub.add_parser("list", parents=[db], help="list accounts")
    al.add_argument("--json", action="store_true")
    al.set_defaults(handler=run_account_list)

    add = sub.add_parser("add", parents=[db], help="log a new position (its opening fill)")
    add.add_argument("--account", required=True, help="account label or id")
    add.add_argument("symbol")
    add.add_argument("side", choices=("long", "short"))
    add.add_argument("size", help="contracts (> 0)")
    add.add_argument("price", help="entry price (> 0)")
    _fee_time(add)
    _annotation_args(add)
    add.add_argument("--tag", action="append", default=[], help="tag (repeatable)")
    add.add_argument("--leg", default="net", choices=("net", "long", "short"))
    add.set_defaults(handler=_add)

    fill = sub.add_parser("fill", parents=[db], help="add one fill (scale in, reduce, flip)")
    fill.add_argument("--account", required=True)
    fill.add_argument("symbol")
    fill.add_argument("side", choices=("buy", "sell"))
    fill.add_argument("size", help="contracts (> 0)")
    fill.add_argument("price")
    _fee_time(fill)
    fill.add_argument("--trade-id")
    fill.add_argument("--order-id")
    fill.add_argument("--leg", default="net", choices=("net", "long", "short"))
    fill.add_argument("--note", default="")
    fill.set_defaults(handler=_fill)

    close = sub.add_parser("close", parents=[db], help="close a position (or part of it)")
    close.add_argument("id", type=record_id)
    close.add_argument("price")
    close.add_argument("--size", help="contracts to close (default: all)")
    _fee_time(close)
    close.set_defaults(handler=_close)

    edit = sub.add_parser("edit", parents=[db], help="change a position's size, entry, "
                          "open time, stop, tags, notes...")
    edit.add_argument("id", type=record_id)
    _annotation_args(edit)
    edit.add_argument("--mark", help="last mark price (for what-if)")
    edit.add_argument("--size", help="contracts of the opening fill (re-derives the position)")
    edit.add_argument("--entry", help="price of the opening fill")
    edit.add_argument("--opened", help="time of the opening fill (ISO; local without a zone)")
    edit.add_argument("--tags", help="replace the tags: comma-separated ('' clears)")
    edit.add_argument("--add-tag", action="append", default=[])
    edit.add_argument("--remove-tag", action="append", default=[])
    edit.set_defaults(handler=_edit)

    rm = sub.add_parser("delete", parents=[db], help="delete a position and its fills")
    rm.add_argument("id", type=record_id)
    rm.add_argument("--yes", action="store_true", help="confirm the deletion")
    rm.set_defaults(handler=_delete)

    ls = sub.add_parser("list", parents=[db], help="list positions, newest first")
    _filters(ls)
    ls.add_argument("--limit", type=count_arg, default=50, help="rows per page (default 50)")
    ls.add_argument("--page", type=count_arg, default=1)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)

    show = sub.add_parser("show", parents=[db], help="one position with its fills and funding")
    show.add_argument("id", type=record_id)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run_show)

    st = sub.add_parser("stats", parents=[db], help="win rate, profit factor, drawdown...")
    _filters(st)
    st.add_argument("--by", choices=STAT_GROUPS,
                    help="one row per group instead of the full report (weekday, hour and "
                         "day of the close in this computer's local time, month in UTC)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=run_stats)

    bal = sub.add_parser("balance", parents=[db],
                         help="record an account's wallet balance (used by whatif)")
    bal.add_argument("account")
    bal.add_argument("amount", help="the currency's wallet balance as the exchange shows "
                     "it: isolated positions' wallets included, unrealised PnL excluded")
    bal.add_argument("--currency", help="default: the account's settlement currency")
    bal.add_argument("--time", help="default: now")
    bal.set_defaults(handler=run_balance)

    tiers = sub.add_parser(
        "tiers", parents=[db],
        help="store maintenance-margin tiers from a ccxt fetch_leverage_tiers JSON file, or "
             "fetch them from the account's exchange (--fetch; Bybit and OKX, no key)",
    )
    tiers.add_argument("account")
    tiers.add_argument("file", type=Path, nargs="?",
                       help="JSON: {symbol: [ccxt tier, ...]} (or one symbol's list with --symbol)")
    tiers.add_argument("--fetch", action="store_true",
                       help="fetch the published tiers of the account's symbols from its "
                            "exchange (public endpoints, no API key; Bybit and OKX)")
    tiers.add_argument("--endpoint", metavar="URL",
                       help="with --fetch: a regional host or proxy for the exchange")
    tiers.add_argument(
        "--symbol", action="append", default=[], metavar="SYMBOL[=FILE_SYMBOL]",
        help="store tiers for SYMBOL (from FILE_SYMBOL in the file); default: every symbol the "
             "account trades, matched by name (BTCUSDT <-> BTC/USDT:USDT)",
    )
    tiers.add_argument("--okx-contract-size", metavar="SIZE",
                       help="the file holds OKX tiers in contracts of this size")
    tiers.set_defaults(handler=run_tiers)

    col = sub.add_parser(
        "collateral", parents=[db],
        help="set what an asset is worth as collateral (price, value ratio) and optionally "
             "its balance; list the account's collateral without ASSET")
    col.add_argument("account")
    col.add_argument("asset", nargs="?", help="e.g. BTC")
    col.add_argument("--price", help="one unit's value in the account's settlement currency")
    col.add_argument("--ratio", help="collateral value ratio, e.g. 0.95 (default 1)")
    col.add_argument("--amount", help="record this balance of the asset too")
    col.set_defaults(handler=run_collateral)

    ins = sub.add_parser("instrument", parents=[db],
                         help="set a symbol's contract size, inverse flag, MMR, beta")
    ins.add_argument("account")
    ins.add_argument("symbol")
    ins.add_argument("--contract-size", help="base units (linear) or USD (inverse) per contract")
    ins.add_argument("--inverse", action="store_true", help="coin-settled (inverse) contract")
    ins.add_argument("--base")
    ins.add_argument("--quote")
    ins.add_argument("--settle")
    ins.add_argument("--mmr", help="maintenance margin rate (generic rules without tiers)")
    ins.add_argument("--max-leverage")
    ins.add_argument("--beta", help="move per unit of BTC move (beta shocks)")
    ins.set_defaults(handler=run_instrument)

    fund = sub.add_parser("funding", parents=[db], help="record a funding payment")
    fund.add_argument("--account", required=True)
    fund.add_argument("symbol")
    fund.add_argument("amount", help="> 0 received, < 0 paid")
    fund.add_argument("--currency", help="default: the account's settlement currency")
    fund.add_argument("--time", help="default: now")
    fund.set_defaults(handler=run_funding)

    tr = sub.add_parser("transfer", parents=[db],
                        help="record a deposit (> 0) or withdrawal (< 0): money that is not PnL")
    tr.add_argument("account")
    tr.add_argument("amount", help="> 0 deposited, < 0 withdrawn")
    tr.add_argument("--currency", help="default: the account's settlement currency")
    tr.add_argument("--time", help="default: now")
    tr.add_argument("--note", default="")
    tr.set_defaults(handler=run_transfer)
    trs = sub.add_parser("transfers", parents=[db],
                         help="list an account's deposits, withdrawals and other transfers")
    trs.add_argument("account")
    trs.add_argument("--json", action="store_true")
    trs.set_defaults(handler=run_transfers)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


def _fee_time(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fee", help="fee paid (> 0; negative = rebate)")
    p.add_argument("--fee-currency", default="", help="fee currency (default: settlement)")
    p.add_argument("--time", help="when (ISO; local time without a zone; default now)")


def _annotation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--leverage")
    p.add_argument("--margin-mode", choices=("cross", "isolated"))
    p.add_argument("--isolated-margin")
    p.add_argument("--stop", help="stop price (gives R multiples)")
    p.add_argument("--target", help="target price")
    p.add_argument("--setup")
    p.add_argument("--notes")
    p.add_argument("--rating", type=int, choices=range(0, 6), metavar="0-5")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account")
    p.add_argument("--symbol")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--open", action="store_true", help="open positions only")
    g.add_argument("--closed", action="store_true", help="closed positions only")
    p.add_argument("--side", choices=("long", "short"))
    p.add_argument("--tag")
    p.add_argument("--from", dest="since", help="activity on/after (close time, or open time)")
    p.add_argument("--to", dest="until", help="activity before")


def _annotations(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    problems: list[str] = []
    for opt, key in (("leverage", "leverage"), ("isolated_margin", "isolated_margin"),
                     ("stop", "stop_price"), ("target", "target_price"),
                     ("mark", "mark_price")):
        text = getattr(args, opt, None)
        if text is not None:
            try:
                out[key] = dec(text, f"--{opt.replace('_', '-')}", positive=True)
            except InputError as exc:
                problems.extend(exc.problems)
    for key in ("margin_mode", "setup", "notes", "rating"):
        value = getattr(args, key, None)
        if value is not None:
            out[key] = value
    if problems:
        raise InputError(problems)
    return out


def _fee(args: argparse.Namespace) -> Decimal:
    return dec(args.fee, "--fee") or Decimal(0)


def _account_options(p: argparse.ArgumentParser, *, defaults: bool) -> None:
    from crossmargin.tier_snapshots import EXCHANGE_NAMES

    names = ", ".join(EXCHANGE_NAMES)
    p.add_argument("--exchange", metavar="ID",
                   help=f"the exchange the account trades on (a ccxt id: {names}, or another "
                   "ccxt exchange); sets the margin rules unless --rules is given")
    p.add_argument("--leverage", metavar="L",
                   help="default leverage of positions logged without one")
    p.add_argument("--rules", default=None,
                   help="margin rules: binance, bybit, okx, gate, hyperliquid, generic"
                   + (" (default: the exchange's, else generic)" if defaults else ""))
    p.add_argument("--settle", default="USDT" if defaults else None,
                   help="settlement currency" + (" (default USDT)" if defaults else ""))
    p.add_argument("--margin-mode", default="cross" if defaults else None,
                   choices=("cross", "isolated"), help="default margin mode of new positions")
    p.add_argument("--hedge", action="store_true", default=None,
                   help="hedge mode (separate long/short legs)")
    p.add_argument("--taker-fee", metavar="RATE", help="taker fee rate, e.g. 0.0005")
    p.add_argument("--multi-asset", choices=("on", "off"),
                   help="on: every collateral asset backs the cross positions (Binance "
                        "Multi-Assets mode, Bybit UTA cross margin); off: only the "
                        "settlement currency")
    p.add_argument("--notes", default="" if defaults else None)


def _add(args: argparse.Namespace) -> int:
    size = dec(args.size, "size", positive=True, allow_none=False)
    price = dec(args.price, "price", positive=True, allow_none=False)
    fee = _fee(args)
    t = when(args.time, "--time")
    ann = _annotations(args)
    with open_journal(args) as j:
        ch = j.add_position(
            args.account, args.symbol, args.side, size, price, time=t, fee=fee,
            fee_currency=args.fee_currency, leg=args.leg, tags=args.tag, **ann,
        )
        p = j.position(ch.id)
    print(f"Opened position #{p.id}: {p.symbol} {p.side.value} {num(p.contracts)} @ "
          f"{num(p.entry_price)} ({local(p.opened_at)}).")
    return 0


def _fill(args: argparse.Namespace) -> int:
    from crossmargin.storage import NewFill

    fill = NewFill(
        symbol=args.symbol.strip(), side=args.side,
        price=dec(args.price, "price", positive=True, allow_none=False),  # type: ignore[arg-type]
        amount=dec(args.size, "size", positive=True, allow_none=False),  # type: ignore[arg-type]
        time=when(args.time, "--time") or when("now", "--time"),  # type: ignore[arg-type]
        fee=_fee(args), fee_currency=args.fee_currency, trade_id=args.trade_id,
        order_id=args.order_id, leg=args.leg, note=args.note,
    )
    with open_journal(args) as j:
        ch = j.add_fill(args.account, fill)
        if ch.id is None:
            raise InputError("this fill is already in the journal (same trade id or content)")
        placed = j.fill(ch.id)
    extra = f" (flipped into #{placed.next_position_id})" if placed.next_position_id else ""
    print(f"Added fill #{ch.id} to position #{placed.position_id}{extra}.")
    return 0


def _close(args: argparse.Namespace) -> int:
    price = dec(args.price, "price", positive=True, allow_none=False)
    size = dec(args.size, "--size", positive=True)
    with open_journal(args) as j:
        j.close_position(args.id, price, contracts=size, time=when(args.time, "--time"),
                         fee=_fee(args), fee_currency=args.fee_currency)
        p = j.position(args.id)
    state = "closed" if not p.is_open else f"{num(p.contracts)} still open"
    print(f"Position #{p.id} {p.symbol}: {state}; realised {money(p.realized_pnl, p.settle)} "
          f"{p.settle}, net {money(p.net_pnl, p.settle)} {p.settle}.")
    return 0


def _edit(args: argparse.Namespace) -> int:
    changes = _annotations(args)
    problems: list[str] = []
    for opt, key in (("size", "opening_size"), ("entry", "entry_price")):
        try:
            if getattr(args, opt) is not None:
                changes[key] = dec(getattr(args, opt), f"--{opt}", positive=True)
        except InputError as exc:
            problems.extend(exc.problems)
    try:
        if args.opened is not None:
            changes["opened_at"] = when(args.opened, "--opened")
    except InputError as exc:
        problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    with open_journal(args) as j:
        if args.tags is not None:
            changes["tags"] = [t for t in args.tags.split(",") if t.strip()]
        if args.add_tag or args.remove_tag:
            current = list(changes.get("tags", j.position(args.id).tags))
            drop = {t.strip().lower() for t in args.remove_tag}
            changes["tags"] = [
                t for t in [*current, *args.add_tag] if t.strip().lower() not in drop
            ]
        if not changes:
            raise InputError("nothing to change; give at least one option (see --help)")
        j.edit_position(args.id, **changes)
    print(f"Updated position #{args.id}.")
    return 0


def _delete(args: argparse.Namespace) -> int:
    if not args.yes:
        raise InputError(
            f"deleting position #{args.id} removes its fills too; add --yes to confirm"
        )
    with open_journal(args) as j:
        p = j.position(args.id)
        j.delete_position(args.id)
    print(f"Deleted position #{p.id} ({p.symbol} {p.side.value}, {p.fill_count} fills).")
    return 0
