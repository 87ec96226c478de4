"""Trading statistics over closed positions (pure; the journal feeds it rows).

Per settlement currency, over closed positions in close-time order, with
``net = realised PnL − fees + funding`` per position:

* win rate = wins / trades (a win has net > 0, a loss net < 0, else breakeven);
* profit factor = Σ net of wins / |Σ net of losses| (None without losses);
* expectancy = mean net per trade; average win / average loss;
* average R = mean of net / initial risk over positions with a stop, where the initial
  risk is the loss at the stop for the largest size held
  (``Q × |entry − stop|`` linear, ``Q × |1/stop − 1/entry|`` inverse);
* max drawdown = largest fall of cumulative net PnL from a previous peak (the curve
  starts at 0), as a positive amount;
* longest win / loss streaks (breakeven trades end both);
* other fees: fees paid in a third currency (e.g. BNB), summed per fee currency and
  reported apart; they are not netted into any figure above (no conversion rate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crossmargin.domain import ONE, ZERO
from crossmargin.storage.ledger import ContractSpec
from crossmargin.storage.records import Statistics, TradeResult


def compute_statistics(
    rows: Sequence[Sequence[Any]],
    open_rows: Sequence[Sequence[Any]],
    specs: Mapping[tuple[int, str], ContractSpec],
) -> list[Statistics]:
    """``rows``: closed positions in close-time order as raw tuples (account_id, symbol,
    realized_pnl, fees, funding, entry_price, stop_price, max_contracts, other_fees; money as
    the stored exact text, other fees as ``"BNB=0.01;..."``); ``open_rows``: (account_id,
    symbol) of the open ones."""
    groups: dict[str, list[Sequence[Any]]] = {}
    for r in rows:
        groups.setdefault(specs[(r[0], r[1])].settle, []).append(r)
    open_counts: dict[str, int] = {}
    for r in open_rows:
        cur = specs[(r[0], r[1])].settle
        open_counts[cur] = open_counts.get(cur, 0) + 1
    out = []
    for currency in sorted(set(groups) | set(open_counts)):
        out.append(_one(currency, groups.get(currency, []), open_counts.get(currency, 0), specs))
    return out


def initial_risk(spec: ContractSpec, entry_text: str, stop_text: str | None,
                 max_text: str) -> Decimal | None:
    """The loss at the stop for the largest size held (None without a usable stop)."""
    if stop_text is None:
        return None
    stop, entry = Decimal(stop_text), Decimal(entry_text)
    if stop <= 0:
        return None
    q = Decimal(max_text) * spec.contract_size
    risk = q * abs(ONE / stop - ONE / entry) if spec.inverse else q * abs(entry - stop)
    return risk if risk > 0 else None


def trade_results(rows: Sequence[Sequence[Any]], specs: Mapping[tuple[int, str], ContractSpec]
                  ) -> list[TradeResult]:
    """One :class:`TradeResult` per closed position; ``rows`` as for
    :func:`compute_statistics` with the close time (a datetime) and id appended."""
    out = []
    for (account_id, symbol, r_text, f_text, fu_text, entry_text, stop_text, max_text,
         _other, closed_at, position_id, *_) in rows:
        spec = specs[(account_id, symbol)]
        fee, fund = Decimal(f_text), Decimal(fu_text)
        net = Decimal(r_text) - fee + fund
        risk = initial_risk(spec, entry_text, stop_text, max_text)
        out.append(TradeResult(int(position_id), symbol, closed_at, spec.settle, net, fee, fund,
                               None if risk is None else net / risk))
    return out


def _one(
    currency: str,
    rows: Sequence[Sequence[Any]],
    open_count: int,
    specs: Mapping[tuple[int, str], ContractSpec],
) -> Statistics:
    wins = losses = even = 0
    gross_profit = gross_loss = realized = fees = funding = ZERO
    r_sum = ZERO
    r_n = 0
    cum = peak = ZERO
    max_dd = ZERO
    streak_w = streak_l = best_w = best_l = 0
    other: dict[str, Decimal] = {}
    for (account_id, symbol, r_text, f_text, fu_text, entry_text, stop_text, max_text,
         other_text, *_) in rows:
        r_pnl, fee, fund = Decimal(r_text), Decimal(f_text), Decimal(fu_text)
        if other_text:
            for part in other_text.split(";"):
                cur, _, amount = part.partition("=")
                if cur:
                    other[cur] = other.get(cur, ZERO) + Decimal(amount)
        net = r_pnl - fee + fund
        realized += r_pnl
        fees += fee
        funding += fund
        if net > 0:
            wins += 1
            gross_profit += net
            streak_w += 1
            streak_l = 0
        elif net < 0:
            losses += 1
            gross_loss += net
            streak_l += 1
            streak_w = 0
        else:
            even += 1
            streak_w = streak_l = 0
        best_w = max(best_w, streak_w)
        best_l = max(best_l, streak_l)
        cum += net
        if cum > peak:
            peak = cum
        elif peak - cum > max_dd:
            max_dd = peak - cum
        risk = initial_risk(specs[(account_id, symbol)], entry_text, stop_text, max_text)
        if risk is not None:
            r_sum += net / risk
            r_n += 1
    trades = len(rows)
    net_total = realized - fees + funding
    return Statistics(
        currency=currency,
        trades=trades,
        wins=wins,
        losses=losses,
        breakeven=even,
        win_rate=Decimal(wins) / trades if trades else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=gross_profit / -gross_loss if gross_loss else None,
        expectancy=net_total / trades if trades else None,
        average_win=gross_profit / wins if wins else None,
        average_loss=gross_loss / losses if losses else None,
        average_r=r_sum / r_n if r_n else None,
        r_trades=r_n,
        realized_pnl=realized,
        fees=fees,
        funding=funding,
        net_pnl=net_total,
        max_drawdown=max_dd,
        longest_win_streak=best_w,
        longest_loss_streak=best_l,
        open_positions=open_count,
        other_fees={k: other[k] for k in sorted(other) if other[k]},
    )
