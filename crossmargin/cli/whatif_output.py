"""What `crossmargin whatif` prints: the result as JSON (``crossmargin.result/1``) and as
tables, with prices and money rounded for reading (the JSON keeps every digit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any, TextIO

from crossmargin.domain import AccountState, CollateralMode, MarginMode
from crossmargin.margin import (
    AccountRisk,
    AdjustMargin,
    ClosePosition,
    ConvertCollateral,
    SetCollateral,
    SetCollateralMode,
    SwitchEffect,
    SwitchMode,
    WhatIfOp,
)
from crossmargin.scenario import format_decimal

if TYPE_CHECKING:
    from crossmargin.cli.whatif import WhatIfReport

HUNDRED = Decimal(100)

RESULT_FORMAT = "crossmargin.result/1"


#: Settlement currencies shown with 2 decimals (fiat-like); coins get 6.
_FIAT_LIKE = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD", "TUSD", "DAI", "USDE", "EUR"})


def plain_json(value: Decimal | None) -> str | None:
    """A JSON number: plain decimal string without trailing zeros; ``None`` stays null."""
    if value is None:
        return None
    text = format_decimal(value)  # exact: never rounded to a context's precision
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _collateral_json(a: AccountRisk) -> dict[str, Any]:
    """The pool: its mode, the counted value and each holding (market value, counted)."""
    return {
        "mode": a.collateral_mode.value,
        "value": plain_json(a.collateral_value),
        "assets": [{"asset": c.asset, "amount": plain_json(c.amount),
                    "price": plain_json(c.price), "market_value": plain_json(c.market_value),
                    "value": plain_json(c.value), "ratio": plain_json(c.ratio),
                    "counted": c.counted} for c in a.collateral],
    }


def _account_json(a: AccountRisk) -> dict[str, Any]:
    """Cross figures (``wallet_balance`` is the cross wallet, ``margin_balance`` the cross
    wallet + cross uPnL), then the whole currency: ``total_wallet_balance`` (cross +
    isolated wallets, the exchange's wallet balance) and ``equity`` (that + every uPnL,
    the exchange's margin balance of the asset)."""
    out: dict[str, Any] = {
        "wallet_balance": plain_json(a.wallet_balance),
        "unrealized_pnl": plain_json(a.unrealized_pnl),
        "margin_balance": plain_json(a.margin_balance),
        "maintenance_margin": plain_json(a.maintenance_margin),
        "margin_ratio": plain_json(a.margin_ratio),
        "isolated_margin": plain_json(a.isolated_margin),
        "total_wallet_balance": plain_json(a.wallet_balance + a.isolated_margin),
        "equity": plain_json(a.equity),
    }
    if a.collateral or a.collateral_mode.value == "multi":  # the pool, when there is one
        out["collateral"] = _collateral_json(a)
    return out


def _switch_json(eff: SwitchEffect, others: Mapping[str, Decimal | None] | None
                 ) -> dict[str, Any]:
    """One position's ``if_switched`` block: bounded size (O(1)) unless ``others`` (the
    full list, for positions named with --switch or with --others)."""
    out: dict[str, Any] = {
        "margin_mode": eff.margin_mode.value,
        "liquidation_price": plain_json(eff.liquidation_price),
        "effect": {
            "moving": eff.moving,
            "margin_ratio": plain_json(eff.margin_ratio),
            "cross_liquidated": eff.cross_liquidated,
            "nearest": None if eff.nearest_id is None else {
                "id": eff.nearest_id,
                "liquidation_price_before": plain_json(eff.nearest_before),
                "liquidation_price_after": plain_json(eff.nearest_after),
            },
        },
    }
    if others is not None:
        out["others"] = {k: plain_json(v) for k, v in others.items()}
    return out


def result_json(report: WhatIfReport) -> dict[str, Any]:
    """The ``crossmargin.result/1`` document (state after the what-if, if any)."""
    after = report.result.after
    positions = []
    for p in after.positions:
        eff = report.if_switched.get(p.id)  # none in a pooled (multi-asset) account
        positions.append(
            {
                "id": p.id,
                "margin_mode": p.margin_mode.value,
                "notional": plain_json(p.notional),
                "initial_margin": plain_json(p.initial_margin),
                "maintenance_margin": plain_json(p.maintenance_margin),
                "unrealized_pnl": plain_json(p.unrealized_pnl),
                "bankruptcy_price": plain_json(p.bankruptcy_price),
                "liquidation_price": plain_json(p.liquidation_price),
                "liquidation_distance": plain_json(p.liquidation_distance),
                "exchange_liquidation_price": plain_json(p.exchange_liquidation_price),
                "if_switched": None if eff is None
                else _switch_json(eff, report.others.get(p.id)),
            }
        )
    shock: dict[str, Any] | None = None
    if report.shock is not None:
        sh = report.shock
        shock = {
            "pct": plain_json(sh.pct),
            "mode": sh.mode,
            "cascade": [
                {
                    "order": e.order,
                    "shock_pct": plain_json(e.shock * HUNDRED),
                    "direction": e.direction,
                    "kind": e.kind,
                    "positions": list(e.position_ids),
                    "prices": {s: plain_json(v) for s, v in e.prices.items()},
                    "collateral_loss": plain_json(e.collateral_loss),
                }
                for e in sh.cascade.events
            ],
            "account": {
                "equity": plain_json(sh.point.equity),
                "margin_balance": plain_json(sh.point.margin_balance),
                "maintenance_margin": plain_json(sh.point.maintenance_margin),
                "margin_ratio": plain_json(sh.point.margin_ratio),
            },
        }
    return {
        "format": RESULT_FORMAT,
        "account": _account_json(after),
        "positions": positions,
        "shock": shock,
    }


def _quantize(value: Decimal, places: int) -> Decimal:
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return abs(q) if q.is_zero() else q


def price_places(reference: Decimal) -> int:
    """Decimals that show ``reference`` to 6 significant digits (2 to 10 decimals)."""
    if reference <= 0:
        return 2
    exponent = reference.adjusted()  # floor(log10(reference))
    return max(2, min(10, 5 - exponent))


def fmt_price(value: Decimal | None, reference: Decimal) -> str:
    """A price with the decimals of its row's mark; ``never`` for no price."""
    if value is None:
        return "never"
    return format(_quantize(value, price_places(reference)), ",f")


def money_places(settle: str) -> int:
    return 2 if settle.upper() in _FIAT_LIKE else 6


def fmt_money(value: Decimal | None, settle: str) -> str:
    if value is None:
        return "-"
    return format(_quantize(value, money_places(settle)), ",f")


def fmt_pct(fraction: Decimal | None, *, signed: bool = False, places: int = 2) -> str:
    if fraction is None:
        return "-"
    q = _quantize(fraction * HUNDRED, places)
    text = format(q, ",f")
    if signed and q > 0:
        text = "+" + text
    return f"{text} %"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _move(lp: Decimal | None, mark: Decimal) -> Decimal | None:
    """Signed move from the mark to the liquidation price (fraction)."""
    return None if lp is None else (lp - mark) / mark


def _describe_op(op: WhatIfOp, before: AccountState, settle: str) -> str:
    if isinstance(op, SwitchMode):
        return f"switch {op.position_id}"
    if isinstance(op, AdjustMargin):
        verb = "add" if op.delta > 0 else "remove"
        return f"{verb} {fmt_money(abs(op.delta), settle)} {settle} margin on {op.position_id}"
    if isinstance(op, ClosePosition):
        return f"close {op.position_id}"
    if isinstance(op, SetCollateral):
        return f"{op.asset} collateral {plain_json(op.amount)}"
    if isinstance(op, ConvertCollateral):
        return f"sell {plain_json(op.amount)} {op.sell} for {op.buy}"
    if isinstance(op, SetCollateralMode):
        return ("multi-asset margin (collateral counts)" if op.mode is CollateralMode.MULTI
                else "single-asset margin")
    return str(op)  # pragma: no cover


def render_table(report: WhatIfReport, out: TextIO, *, switched: Mapping[str, Any]) -> None:
    """The human-readable report."""
    w = out.write
    state = report.state
    settle = state.settle
    res = report.result
    before, after = res.before, res.after
    title = state.label or report.source
    w(f"{title}\n")
    w(f"rules {state.rules.value}, settled in {settle}, {len(state.positions)} position"
      f"{'' if len(state.positions) == 1 else 's'}\n")
    if report.has_ops:
        w("what-if: " + "; ".join(_describe_op(op, state, settle) for op in report.ops) + "\n")
    w("\n")

    if not state.positions:
        w("No open positions.\n")
    else:
        after_by_id = {p.id: p for p in after.positions}
        rows = []
        if report.has_ops:
            headers = ["position", "symbol", "side", "mode", "mark", "liq. now", "after what-if",
                       "to liq. after"]
            for p in before.positions:
                a = after_by_id.get(p.id)
                mode = p.margin_mode.value
                if a is None:
                    mode_cell, after_cell, dist = mode, "closed", "-"
                else:
                    mode_cell = mode if a.margin_mode is p.margin_mode else (
                        f"{mode} -> {a.margin_mode.value}"
                    )
                    after_cell = fmt_price(a.liquidation_price, p.mark_price)
                    dist = fmt_pct(_move(a.liquidation_price, p.mark_price), signed=True)
                    if a.liquidated:
                        dist = "LIQUIDATED"
                rows.append([
                    p.id, p.symbol, p.side.value, mode_cell, fmt_price(p.mark_price, p.mark_price),
                    fmt_price(p.liquidation_price, p.mark_price), after_cell, dist,
                ])
        else:
            headers = ["position", "symbol", "side", "mode", "mark", "liq. price", "to liq.",
                       "if switched"]
            for p in before.positions:
                dist = fmt_pct(_move(p.liquidation_price, p.mark_price), signed=True)
                if p.liquidated:
                    dist = "LIQUIDATED"
                other = switched.get(p.id)
                other_cell = "-" if p.id not in switched else (
                    f"{p.margin_mode.other.value}: {fmt_price(other, p.mark_price)}"
                )
                rows.append([
                    p.id, p.symbol, p.side.value, p.margin_mode.value,
                    fmt_price(p.mark_price, p.mark_price),
                    fmt_price(p.liquidation_price, p.mark_price), dist, other_cell,
                ])
        for line in _table(headers, rows, right={4, 5, 6, 7}):
            w(line + "\n")
    w("\n")

    acc_headers = [f"account ({settle})", "wallet", "cross uPnL", "margin balance",
                   "maintenance", "margin ratio", "isolated margin", "equity"]
    acc_rows = [_account_row("now", before, settle)]
    if report.has_ops:
        acc_rows.append(_account_row("after what-if", after, settle))
    for line in _table(acc_headers, acc_rows, right=set(range(1, 8))):
        w(line + "\n")
    shown = after if report.has_ops else before
    if shown.collateral:
        _render_collateral(shown, out)

    already = [p.id for p in before.positions if p.liquidated]
    if already:
        w(f"\nAlready at or past liquidation at the current marks: {', '.join(already)}\n")
    if report.has_ops:
        if res.liquidated_at_once:
            w("\n!! This what-if LIQUIDATES AT ONCE: ")
            parts = []
            for pid in res.liquidated_at_once:
                a = after.position(pid)
                parts.append(
                    f"{pid} ({a.symbol} {a.margin_mode.value}: mark "
                    f"{fmt_price(a.mark_price, a.mark_price)}, liquidation "
                    f"{fmt_price(a.liquidation_price, a.mark_price)})"
                )
            w(", ".join(parts) + "\n")
        else:
            w("\nNo position is liquidated by this what-if.\n")
        if after.wallet_balance < 0:
            w(
                f"Note: the cross wallet would be {fmt_money(after.wallet_balance, settle)} "
                f"{settle}; an exchange refuses to move more margin than the wallet holds.\n"
            )
    if report.shock is not None:
        _render_shock(report, out)


def _render_collateral(a: AccountRisk, out: TextIO) -> None:
    settle = a.settle
    if a.collateral_mode is CollateralMode.MULTI:
        out.write(f"\nCollateral (multi-asset: counted at its value ratio, "
                  f"{fmt_money(a.collateral_value, settle)} {settle} in the margin balance)\n")
    else:
        out.write("\nCollateral (single-asset mode: listed, not counted; --multi-asset on "
                  "to pool it)\n")
    rows = [[c.asset, plain_json(c.amount) or "0", fmt_price(c.price, c.price),
             fmt_money(c.market_value, settle), fmt_pct(c.ratio) if c.ratio is not None
             else "-", fmt_money(c.value, settle)] for c in a.collateral]
    for line in _table(["asset", "amount", f"price ({settle})", "market value", "ratio",
                        "counted"], rows, right={1, 2, 3, 4, 5}):
        out.write(line + "\n")


def _account_row(name: str, a: AccountRisk, settle: str) -> list[str]:
    ratio = fmt_pct(a.margin_ratio) if a.margin_ratio is not None else (
        "LIQUIDATED" if a.cross_liquidated else "- (no cross)"
    )
    return [
        name,
        fmt_money(a.wallet_balance, settle),
        fmt_money(a.cross_unrealized_pnl, settle),
        fmt_money(a.margin_balance, settle),
        fmt_money(a.maintenance_margin, settle),
        ratio,
        fmt_money(a.isolated_margin, settle),
        fmt_money(a.equity, settle),
    ]


def _render_shock(report: WhatIfReport, out: TextIO) -> None:
    assert report.shock is not None
    sh = report.shock
    w = out.write
    settle = report.state.settle
    pct = fmt_pct(sh.move, signed=True)
    marks = {p.symbol: p.mark_price for p in report.result.state.positions}
    if sh.mode == "beta":
        w(f"\nShock {pct} on BTC, each symbol moving beta x that (betas from the scenario; "
          "1 when absent)\n")
    else:
        w(f"\nShock {pct} on every mark price\n")
    events = sh.cascade.events
    if not events:
        w(f"No liquidation between today's marks and {pct}.\n")
    else:
        w(f"Liquidation cascade from today's marks to {pct}:\n")
        rows = []
        for e in events:
            ids = set(e.position_ids)
            symbols = list(
                dict.fromkeys(p.symbol for p in report.result.state.positions if p.id in ids)
            )
            shown = [f"{s} {fmt_price(e.prices.get(s), marks[s])}" for s in symbols[:3]]
            if len(symbols) > 3:
                shown.append(f"+{len(symbols) - 3} more")
            when = "now" if e.direction == "now" else fmt_pct(e.shock, signed=True)
            rows.append([str(e.order), when, e.kind, ", ".join(e.position_ids), "; ".join(shown)])
        for line in _table(["#", "at shock", "kind", "positions", "prices then"], rows,
                           right={0, 1}):
            w("  " + line + "\n")
        for e in events:
            if e.collateral_loss:
                w(f"  #{e.order}: the collateral lost {fmt_money(e.collateral_loss, settle)} "
                  f"{settle} of counted value on the way (it falls with the market)\n")
    pt = sh.point
    w(f"Account at {pct}: equity {fmt_money(pt.equity, settle)} {settle}")
    if pt.margin_balance is None:
        has_cross = any(
            p.margin_mode is MarginMode.CROSS for p in report.result.state.positions
        )
        w(", cross positions liquidated" if has_cross else ", no cross positions")
    else:
        ratio = fmt_pct(pt.margin_ratio) if pt.margin_ratio is not None else "-"
        w(
            f", margin balance {fmt_money(pt.margin_balance, settle)}, maintenance "
            f"{fmt_money(pt.maintenance_margin, settle)}, margin ratio {ratio}"
        )
    w("\n")
