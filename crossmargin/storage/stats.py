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
* longest win / loss streaks (breakeven trades end both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crossmargin.domain import ONE, ZERO
from crossmargin.storage.ledger import ContractSpec
from crossmargin.storage.records import Statistics


def compute_statistics(
    rows: Sequence[Any],
    open_rows: Sequence[Any],
    specs: Mapping[tuple[int, str], ContractSpec],
) -> list[Statistics]:
    """``rows``: closed positions ordered by close time with account_id, symbol, realized_pnl,
    fees, funding, entry_price, stop_price, max_contracts; ``open_rows``: open ones."""
    groups: dict[str, list[Any]] = {}
    for r in rows:
        groups.setdefault(specs[(r.account_id, r.symbol)].settle, []).append(r)
    open_counts: dict[str, int] = {}
    for r in open_rows:
        cur = specs[(r.account_id, r.symbol)].settle
        open_counts[cur] = open_counts.get(cur, 0) + 1
    out = []
    for currency in sorted(set(groups) | set(open_counts)):
        out.append(_one(currency, groups.get(currency, []), open_counts.get(currency, 0), specs))
    return out


def _one(
    currency: str,
    rows: Sequence[Any],
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
    for r in rows:
        net = r.realized_pnl - r.fees + r.funding
        realized += r.realized_pnl
        fees += r.fees
        funding += r.funding
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
        peak = max(peak, cum)
        max_dd = max(max_dd, peak - cum)
        stop = r.stop_price
        if stop is not None and stop > 0:
            spec = specs[(r.account_id, r.symbol)]
            q = r.max_contracts * spec.contract_size
            if spec.inverse:
                risk = q * abs(ONE / stop - ONE / r.entry_price)
            else:
                risk = q * abs(r.entry_price - stop)
            if risk > 0:
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
    )
