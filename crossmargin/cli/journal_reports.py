"""`crossmargin journal list|show|stats`: reading the journal (the parser and the commands
that write are in :mod:`.journal`)."""

from __future__ import annotations

import argparse
from typing import Any

from crossmargin.cli._journal_common import (
    dump_json,
    local,
    money,
    num,
    open_journal,
    table,
    when,
)
from crossmargin.errors import InputError


def short(symbol: str) -> str:
    """``BTC/USDT:USDT`` → ``BTCUSDT`` for tables (the canonical name stays in messages)."""
    from crossmargin.symbols import Symbol, SymbolError

    try:
        return Symbol.parse(symbol).short
    except SymbolError:
        return symbol


def position_filter(args: argparse.Namespace) -> Any:
    from crossmargin.storage import PositionFilter, PositionStatus

    status = PositionStatus.OPEN if args.open else PositionStatus.CLOSED if args.closed else None
    return PositionFilter(
        account=args.account, symbol=args.symbol, status=status, tag=args.tag,
        side=args.side, since=when(args.since, "--from"), until=when(args.until, "--to"),
    )


def run_list(args: argparse.Namespace) -> int:
    if args.limit <= 0 or args.page <= 0:
        raise InputError("--limit and --page must be >= 1")
    filt = position_filter(args)
    with open_journal(args) as j:
        page = j.positions(filt, offset=(args.page - 1) * args.limit, limit=args.limit)
        labels = {a.id: a.label for a in j.accounts()}
    if args.json:
        print(dump_json({"total": page.total, "offset": page.offset,
                         "positions": [_position_json(p) for p in page.items]}))
        return 0
    if not page.items:
        print("No positions match." if page.total == 0 else "No positions on this page.")
        return 0
    rows = [[
        str(p.id), labels.get(p.account_id, str(p.account_id)), short(p.symbol), p.side.value,
        p.status.value, num(p.contracts if p.is_open else p.max_contracts), num(p.entry_price),
        num(p.exit_price), money(p.net_pnl, p.settle), local(p.opened_at), ",".join(p.tags),
    ] for p in page.items]
    print(table(["ID", "Account", "Symbol", "Side", "Status", "Size", "Entry", "Exit", "Net PnL",
                 "Opened", "Tags"], rows, right={0, 5, 6, 7, 8}))
    first = page.offset + 1
    print(f"\n{first}-{page.offset + len(page.items)} of {page.total}"
          + (f"; next: --page {args.page + 1}" if page.has_more else ""))
    return 0


def _position_json(p: Any) -> dict[str, Any]:
    from crossmargin.cli._journal_common import _jsonable

    d = _jsonable(p)
    d["net_pnl"] = str(p.net_pnl)
    d["r_multiple"] = None if p.r_multiple is None else str(p.r_multiple)
    return d


def run_show(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        p = j.position(args.id)
        fills = j.fills(position_id=p.id, limit=1_000_000).items
        funding = j.funding_payments(position_id=p.id)
        acct = j.account(p.account_id)
    if args.json:
        print(dump_json({"position": _position_json(p), "fills": fills, "funding": funding}))
        return 0
    c = p.settle
    lines = [
        f"Position #{p.id}  {acct.label}  {p.symbol}  {p.side.value}  {p.status.value}"
        + (f"  ({p.leg} leg)" if p.leg != "net" else ""),
        f"  opened   {local(p.opened_at)}   closed {local(p.closed_at)}",
        f"  size     {num(p.contracts)} open, {num(p.max_contracts)} max, "
        f"{num(p.closed_contracts)} closed",
        f"  entry    {num(p.entry_price)}   exit {num(p.exit_price)}",
        f"  realised {money(p.realized_pnl, c)} {c}   fees {money(p.fees, c)}   funding "
        f"{money(p.funding, c)}   net {money(p.net_pnl, c)} {c}",
    ]
    if p.computed_pnl is not None:
        lines.append(f"           realised PnL as the exchange reported it; recomputed from "
                     f"the fills: {num(p.computed_pnl)} {c}")
    if p.other_fees:
        lines.append("  other fees " + ", ".join(f"{num(v)} {k}" for k, v in p.other_fees.items()))
    lines.append(
        f"  leverage {num(p.leverage)}  mode {p.margin_mode.value}  stop {num(p.stop_price)}  "
        f"target {num(p.target_price)}  R {num(p.r_multiple, 2)}"
    )
    if p.tags or p.setup or p.rating is not None:
        lines.append(f"  tags {', '.join(p.tags) or '-'}  setup {p.setup or '-'}  rating "
                     f"{p.rating if p.rating is not None else '-'}")
    if p.notes:
        lines.append(f"  notes    {p.notes}")
    print("\n".join(lines))
    print()
    print(table(["Fill", "Time", "Side", "Size", "Price", "Fee", "Trade id"], [[
        str(f.id), local(f.time), f.side, num(f.amount), num(f.price),
        f"{num(f.fee)} {f.fee_currency}".strip(), f.trade_id or "-",
    ] for f in reversed(fills)], right={0, 3, 4}))
    if funding:
        print()
        print(table(["Funding", "Time", "Amount"], [
            [str(x.id), local(x.time), f"{num(x.amount)} {x.currency}"] for x in funding
        ], right={0}))
    return 0


def run_stats(args: argparse.Namespace) -> int:
    filt = position_filter(args)
    if args.by:
        return _stats_by(args, filt)
    with open_journal(args) as j:
        stats = j.statistics(filt)
    if args.json:
        print(dump_json(stats))
        return 0
    if not stats:
        print("No positions match.")
        return 0
    for s in stats:
        c = s.currency
        pct = "-" if s.win_rate is None else f"{num(s.win_rate * 100, 1)} %"
        print(f"{c}: {s.trades} closed trades ({s.wins} won, {s.losses} lost, {s.breakeven} even),"
              f" {s.open_positions} open")
        rows = [
            ("Net PnL", f"{money(s.net_pnl, c)} {c}"),
            ("  realised", money(s.realized_pnl, c)),
            ("  fees", money(-s.fees, c)),
            ("  funding", money(s.funding, c)),
            *(
                [("  other fees *", _other_fees_text(s.other_fees))]
                if s.other_fees else []
            ),
            ("Win rate", pct),
            ("Profit factor", num(s.profit_factor, 2)),
            ("Expectancy", money(s.expectancy, c)),
            ("Average win", money(s.average_win, c)),
            ("Average loss", money(s.average_loss, c)),
            ("Average R", f"{num(s.average_r, 2)} ({s.r_trades} trades with a stop)"),
            ("Max drawdown", money(s.max_drawdown, c)),
            ("Longest streaks", f"{s.longest_win_streak} wins, {s.longest_loss_streak} losses"),
        ]
        width = max(len(k) for k, _ in rows)
        print("\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows))
        if s.other_fees:
            print(f"  * {_OTHER_FEES_NOTE}")
    return 0


_OTHER_FEES_NOTE = (
    "fees paid in another currency are NOT included in net PnL or any figure from it "
    "(no conversion rate is stored); subtract them by hand"
)


def _other_fees_text(other: Any) -> str:
    """``-0.0123 BNB, -1 USDC``: fees paid (shown as costs) per fee currency."""
    return ", ".join(f"{num(-v)} {k}" for k, v in sorted(other.items()))


def _stats_by(args: argparse.Namespace, filt: Any) -> int:
    with open_journal(args) as j:
        groups = j.statistics_by(args.by, filt)
    if args.json:
        print(dump_json(groups))
        return 0
    if not groups:
        print("No positions match.")
        return 0
    rows = []
    for name, stats in groups.items():
        for s in stats:
            c = s.currency
            rows.append([
                name or "(none)", c, str(s.trades), str(s.open_positions),
                "-" if s.win_rate is None else f"{num(s.win_rate * 100, 1)} %",
                money(s.net_pnl, c), num(s.profit_factor, 2), money(s.expectancy, c),
                num(s.average_r, 2), money(s.max_drawdown, c),
            ])
    print(table([args.by.capitalize(), "Ccy", "Trades", "Open", "Win rate", "Net PnL", "PF",
                 "Expectancy", "Avg R", "Max DD"], rows, right={2, 3, 4, 5, 6, 7, 8, 9}))
    other = [
        f"  {name or '(none)'} ({s.currency}): {_other_fees_text(s.other_fees)}"
        for name, stats in groups.items() for s in stats if s.other_fees
    ]
    if other:
        print()
        print(f"Other fees: {_OTHER_FEES_NOTE}:")
        print("\n".join(other))
    return 0


