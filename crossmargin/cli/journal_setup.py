"""`crossmargin journal` commands about an account rather than its trades: the account
itself, its balance, funding and transfers, contract specs and leverage tiers (the
trade commands and the parser are in :mod:`.journal`).
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import Any

from crossmargin.cli._journal_common import (
    dec,
    dump_json,
    local,
    money,
    num,
    open_journal,
    table,
    when,
)
from crossmargin.errors import InputError


def account_fields(args: argparse.Namespace) -> dict[str, Any]:
    from crossmargin.tier_snapshots import rules_for_exchange

    fields: dict[str, Any] = {}
    if args.exchange is not None:
        fields["exchange_id"] = args.exchange.strip().lower() or None
    if args.leverage is not None:
        fields["default_leverage"] = dec(args.leverage, "--leverage", positive=True)
    if args.rules is not None:
        fields["rules"] = args.rules
    elif args.exchange:
        fields["rules"] = rules_for_exchange(args.exchange)
    for opt, key in (("settle", "settle"), ("margin_mode", "margin_mode_default"),
                     ("notes", "notes")):
        if getattr(args, opt) is not None:
            fields[key] = getattr(args, opt)
    if args.hedge is not None:
        fields["position_mode"] = "hedge" if args.hedge else "one_way"
    if args.taker_fee is not None:
        fields["taker_fee_rate"] = dec(args.taker_fee, "--taker-fee")
    if getattr(args, "multi_asset", None) is not None:
        fields["collateral_mode"] = "multi" if args.multi_asset == "on" else "single"
    return fields


def describe_account(a: Any) -> str:
    from crossmargin.tier_snapshots import EXCHANGE_NAMES

    venue = f"{EXCHANGE_NAMES.get(a.exchange_id, a.exchange_id)}, " if a.exchange_id else ""
    lev = f", default leverage {num(a.default_leverage)}x" if a.default_leverage else ""
    pool = ", multi-asset collateral" if a.collateral_mode.value == "multi" else ""
    return f"{venue}{a.rules.value} rules, settles in {a.settle}{lev}{pool}"


def run_account_add(args: argparse.Namespace) -> int:
    from crossmargin.storage import Journal

    fields = {"label": args.label, **account_fields(args)}
    fields.setdefault("taker_fee_rate", Decimal(0))
    Journal.check_account_fields(**fields)  # before a new journal file is created
    with open_journal(args, create=True) as j:
        ch = j.create_account(**fields)
        a = j.account(ch.id)
    print(f"Added account #{a.id} {a.label} ({describe_account(a)}).")
    return 0


def run_account_edit(args: argparse.Namespace) -> int:
    fields = account_fields(args)
    if args.new_label is not None:
        fields["label"] = args.new_label
    if not fields:
        raise InputError("nothing to change: give --exchange, --leverage, --rules, --settle, "
                         "--margin-mode, --hedge, --taker-fee, --notes or --label")
    with open_journal(args) as j:
        a = j.account(args.label)
        j.update_account(a.id, **fields)
        a = j.account(a.id)
    print(f"Account #{a.id} {a.label}: {describe_account(a)}.")
    return 0


def run_account_list(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        accounts = j.accounts()
        balances = {a.id: j.latest_balance(a.id) for a in accounts}
    if args.json:
        print(dump_json(accounts))
        return 0
    if not accounts:
        print("No accounts yet; add one with: crossmargin journal account add LABEL")
        return 0
    rows = []
    for a in accounts:
        b = balances[a.id]
        rows.append([str(a.id), a.label, a.kind.value, a.exchange_id or "-", a.rules.value,
                     a.settle, a.margin_mode_default.value,
                     f"{num(a.default_leverage)}x" if a.default_leverage else "-",
                     money(b.wallet_balance, a.settle) if b else "-"])
    print(table(["ID", "Label", "Kind", "Exchange", "Rules", "Settle", "Mode", "Leverage",
                 "Wallet"], rows, right={0, 7, 8}))
    return 0


def run_balance(args: argparse.Namespace) -> int:
    amount = dec(args.amount, "amount", allow_none=False)
    with open_journal(args) as j:
        a = j.account(args.account)
        j.record_balance(a.id, amount, currency=args.currency, time=when(args.time, "--time"))
    print(f"Recorded wallet balance {num(amount)} {(args.currency or a.settle).upper()} "
          f"for {a.label}.")
    return 0


def run_collateral(args: argparse.Namespace) -> int:
    from crossmargin.domain.collateral import flat
    from crossmargin.storage import CollateralRate

    with open_journal(args) as j:
        a = j.account(args.account)
        if args.asset is None:
            if args.price or args.ratio or args.amount:
                raise InputError("name the ASSET to set, e.g. `journal collateral "
                                 f"{a.label} BTC --price 90000 --ratio 0.95`")
            rates = j.collateral_rates(a.id)
            mode = ("multi-asset: counted" if a.collateral_mode.value == "multi" else
                    "single-asset: not counted (`journal account edit --multi-asset on`)")
            print(f"{a.label}: collateral, {mode}")
            rows = [[r.asset, num(r.price), ", ".join(num(t.ratio) for t in r.ratios) or "1",
                     local(r.updated_at) if r.updated_at else "-"] for r in rates]
            print(table(["Asset", f"Price ({a.settle})", "Ratio", "Updated"], rows,
                        right={1, 2}) if rows else "No collateral rates stored.")
            return 0
        if args.price is None:
            raise InputError(f"--price: the value of one {args.asset.upper()} in {a.settle} "
                             "is needed")
        price = dec(args.price, "--price", positive=True, allow_none=False)
        assert price is not None
        ratio = dec(args.ratio, "--ratio") if args.ratio is not None else None
        if ratio is not None and not 0 <= ratio <= 1:
            raise InputError(f"--ratio: a collateral value ratio between 0 and 1, got {ratio}")
        amount = dec(args.amount, "--amount") if args.amount is not None else None
        asset = args.asset.upper()
        j.set_collateral_rates(a.id, [CollateralRate(asset, price,
                                                     flat(ratio) if ratio is not None else ())])
        if amount is not None:
            j.record_balance(a.id, amount, currency=asset)
    held = f"; balance {num(amount)} {asset}" if amount is not None else ""
    print(f"{a.label}: {asset} counts as collateral at {num(price)} {a.settle}, ratio "
          f"{num(ratio) if ratio is not None else '1'}{held}.")
    return 0


def fetch_tiers(args: argparse.Namespace) -> int:
    from crossmargin.sync.faults import SyncError
    from crossmargin.sync.public import fetch_public_tiers

    if args.file is not None:
        raise InputError(f"give either FILE ({args.file}) or --fetch, not both")
    with open_journal(args) as j:
        acct = j.account(args.account)
        if not acct.exchange_id:
            raise InputError(f"account {acct.label} names no exchange; set it with `crossmargin "
                             f"journal account edit {acct.label} --exchange bybit`")
        symbols = [s.split("=")[0].strip() for s in args.symbol] or j.symbols(acct.id)
        if not symbols:
            raise InputError(f"account {acct.label} has no symbols yet; log a position first "
                             "or name them with --symbol")
        from crossmargin.storage.journal import canonical_or_same

        try:
            tables = fetch_public_tiers(acct.exchange_id, [canonical_or_same(s) for s in symbols],
                                        endpoint=args.endpoint)
        except SyncError as exc:
            raise InputError(f"--fetch: {exc}") from None
        j.replace_tiers(acct.id, tables)
    print(f"Stored the {acct.exchange_id} tiers of {len(tables)} symbols on {acct.label}: "
          f"{', '.join(sorted(tables))}.")
    return 0


def run_tiers(args: argparse.Namespace) -> int:
    from crossmargin.sync.tier_tables import okx_tiers, tiers_from_ccxt

    if args.fetch:
        return fetch_tiers(args)
    if args.endpoint is not None:
        raise InputError("--endpoint: only used with --fetch")
    if args.file is None:
        raise InputError("give a tiers FILE, or --fetch to fetch them from the account's "
                         "exchange")
    from crossmargin.inputs import JSON_LIMIT, read_text

    text = read_text(args.file, limit=JSON_LIMIT, what="tier table")
    try:
        doc = json.loads(text, parse_float=str, parse_int=str)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{args.file}: not a JSON file ({str(exc)[:120]})") from None
    if isinstance(doc, list):
        if len(args.symbol) != 1:
            raise InputError(f"{args.file} holds one symbol's tiers; name it with --symbol SYMBOL")
        doc = {args.symbol[0].split("=")[-1]: doc}
    if not isinstance(doc, dict):
        raise InputError(f"{args.file}: expected {{symbol: [tiers]}} or a list of tiers")
    size = dec(args.okx_contract_size, "--okx-contract-size", positive=True)
    with open_journal(args) as j:
        acct = j.account(args.account)
        wanted: dict[str, str] = {}
        if args.symbol:
            for item in args.symbol:
                mine, _, theirs = item.partition("=")
                wanted[mine.strip()] = (theirs or mine).strip()
        else:
            from crossmargin.storage.journal import canonical_or_same

            by_name = {canonical_or_same(k): k for k in doc}
            for sym in j.symbols(acct.id):
                key = sym if sym in doc else by_name.get(sym)
                if key is not None:
                    wanted[sym] = key
            if not wanted:
                raise InputError(
                    f"none of {acct.label}'s symbols ({', '.join(j.symbols(acct.id)) or 'none'}) "
                    f"is in {args.file}; name them with --symbol SYMBOL=FILE_SYMBOL"
                )
        problems = [f"--symbol {m}={t}: {t!r} is not in {args.file}"
                    for m, t in wanted.items() if t not in doc]
        if problems:
            raise InputError(problems)
        tables = {}
        for mine, theirs in wanted.items():
            rows = doc[theirs]
            if not isinstance(rows, list) or not rows:
                raise InputError(f"{args.file}: {theirs}: expected a non-empty list of tiers")
            try:
                tables[mine] = okx_tiers(rows, size) if size else tiers_from_ccxt(rows)
            except InputError as exc:
                raise InputError([f"{args.file}: {theirs}: {p}" for p in exc.problems]) from None
        j.replace_tiers(acct.id, tables)
    print(f"Stored tiers for {len(tables)} symbols on {acct.label}: {', '.join(sorted(tables))}.")
    return 0


def run_instrument(args: argparse.Namespace) -> int:
    from crossmargin.storage import Instrument
    from crossmargin.storage.ledger import parse_symbol

    guess = parse_symbol(args.symbol)
    inverse = args.inverse or guess.inverse
    ins = Instrument(
        symbol=args.symbol.strip(), base=(args.base or guess.base).upper(),
        quote=(args.quote or guess.quote).upper(),
        settle=(args.settle or (guess.base if inverse else guess.quote)).upper(),
        contract_size=dec(args.contract_size, "--contract-size", positive=True) or Decimal(1),
        inverse=inverse, maintenance_margin_rate=dec(args.mmr, "--mmr", positive=True),
        max_leverage=dec(args.max_leverage, "--max-leverage", positive=True),
        beta=dec(args.beta, "--beta"),
    )
    with open_journal(args) as j:
        ch = j.set_instrument(args.account, ins)
    kind = "inverse" if ins.inverse else "linear"
    print(f"{ins.symbol}: {kind}, {num(ins.contract_size)} per contract, settles in {ins.settle}"
          + (f"; {len(ch.position_ids)} positions re-derived" if ch.position_ids else "") + ".")
    return 0


def run_funding(args: argparse.Namespace) -> int:
    from crossmargin.storage import NewFunding

    amount = dec(args.amount, "amount", allow_none=False)
    with open_journal(args) as j:
        a = j.account(args.account)
        t = when(args.time, "--time") or when("now", "--time")
        ch = j.add_funding(a.id, [NewFunding(args.symbol.strip(), t, amount,  # type: ignore[arg-type]
                                             (args.currency or a.settle).upper())])
    target = f" (position #{min(ch.position_ids)})" if ch.position_ids else " (no open position)"
    print(f"Recorded funding {num(amount)} on {args.symbol}{target}.")
    return 0


def run_transfer(args: argparse.Namespace) -> int:
    from crossmargin.storage import NewTransfer

    amount = dec(args.amount, "amount", allow_none=False)
    assert amount is not None
    if amount == 0:
        raise InputError("amount: a transfer of 0 moves nothing; give > 0 (deposit) or < 0")
    with open_journal(args) as j:
        a = j.account(args.account)
        t = when(args.time, "--time") or when("now", "--time")
        kind = "deposit" if amount > 0 else "withdrawal"
        j.add_transfers(a.id, [NewTransfer(t, (args.currency or a.settle).upper(),  # type: ignore[arg-type]
                                           amount, kind, note=args.note)])
    print(f"Recorded {kind} of {num(abs(amount))} {(args.currency or a.settle).upper()} "
          f"on {a.label}.")
    return 0


def run_transfers(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        a = j.account(args.account)
        rows = j.transfers(a.id)
    if args.json:
        print(dump_json(rows))
        return 0
    if not rows:
        print(f"No deposits, withdrawals or transfers on {a.label}.")
        return 0
    print(table(["Time", "Kind", "Amount", "Note"], [
        [local(t.time), t.kind, f"{num(t.amount)} {t.currency}", t.note or "-"] for t in rows
    ], right={2}))
    net: dict[str, Decimal] = {}
    for t in rows:
        if t.kind in ("deposit", "withdrawal"):
            net[t.currency] = net.get(t.currency, Decimal(0)) + t.amount
    if net:
        print("net deposits: " + ", ".join(f"{num(v)} {k}" for k, v in sorted(net.items())))
    return 0
