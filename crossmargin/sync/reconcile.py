"""Exchange-reported liquidation prices versus the engine's (:func:`crossmargin.margin.evaluate`).

For each synced position the engine is run on the account as synced (cross wallet,
every position in the same settlement currency, the exchange's tiers) and the two
liquidation prices are compared. A relative difference above :data:`TOLERANCE`
(0.5 %) is flagged; so is a price that one side reports and the other does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from crossmargin.account_state import assemble_account
from crossmargin.domain import (
    ZERO,
    AccountState,
    Collateral,
    CollateralMode,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Tier,
)
from crossmargin.domain.collateral import flat
from crossmargin.sync.model import FetchedCycle, PositionRecord

if TYPE_CHECKING:
    from crossmargin.margin import AccountRisk

#: Relative difference (fraction of the exchange's price) above which a row is flagged.
TOLERANCE = Decimal("0.005")


@dataclass(frozen=True, slots=True)
class ReconRow:
    """One position's comparison. ``difference`` = (engine − exchange) / exchange (fraction).

    ``problem`` explains a missing engine figure (no tiers, engine refused the input).
    """

    key: str
    symbol: str
    side: str
    exchange_liquidation_price: Decimal | None
    engine_liquidation_price: Decimal | None
    difference: Decimal | None
    flagged: bool
    problem: str = ""

    def describe(self) -> str:
        xp = self.exchange_liquidation_price
        ex = "none" if xp is None else f"{xp}"
        en = "none" if self.engine_liquidation_price is None else (
            f"{self.engine_liquidation_price.quantize(Decimal('0.00000001')).normalize()}")
        diff = "" if self.difference is None else f" ({self.difference * 100:+.3f}%)"
        flag = " FLAG" if self.flagged else ""
        extra = f" [{self.problem}]" if self.problem else ""
        return f"{self.symbol} {self.side}: exchange {ex} vs engine {en}{diff}{flag}{extra}"


def _domain_position(p: PositionRecord, mark: Decimal) -> Position:
    return Position(
        id=PositionId(p.key), symbol=p.symbol, side=p.side, contracts=p.contracts,
        entry_price=p.entry_price, mark_price=mark,
        leverage=p.leverage if p.leverage and p.leverage > 0 else Decimal(1),
        margin_mode=p.margin_mode, contract_size=p.contract_size, inverse=p.inverse,
        isolated_margin=p.isolated_margin if p.margin_mode is MarginMode.ISOLATED else None,
        exchange_liquidation_price=p.liquidation_price,
    )


def account_states(
    batch: FetchedCycle, rules: RuleSet, tiers: Mapping[str, Sequence[Tier]], *, label: str = ""
) -> dict[str, AccountState]:
    """One engine input per settlement currency that has positions in ``batch``.

    Built by :func:`crossmargin.account_state.assemble_account` from the currency's
    wallet balance (which includes the isolated wallets), exactly as
    ``Journal.build_scenario`` builds it from the stored batch, so the prices compared
    here are the ones ``whatif --account`` and the desktop show.
    """
    out: dict[str, AccountState] = {}
    if batch.collateral_mode is CollateralMode.MULTI:
        return {batch.settle: pooled_state(batch, rules, tiers, label=label)}
    by_settle: dict[str, list[PositionRecord]] = {}
    for p in batch.positions:
        by_settle.setdefault(p.settle.upper(), []).append(p)
    for settle, rows in by_settle.items():
        bal = batch.balance(settle)
        positions = [
            _domain_position(p, batch.marks.get(p.symbol) or p.mark_price or p.entry_price)
            for p in rows
        ]
        out[settle] = assemble_account(
            rules=rules, settle=settle, wallet_balance=bal.wallet_balance if bal else ZERO,
            positions=positions, tiers=tiers, label=label,
        )
    return out


def pooled_state(batch: FetchedCycle, rules: RuleSet, tiers: Mapping[str, Sequence[Tier]],
                 *, label: str = "") -> AccountState:
    """The multi-asset account as one pool in the settlement currency: every other held
    currency at its rate, positions settled in a pooled currency scaled by its price (the
    same assembly as ``Journal.build_scenario`` of the stored cycle)."""
    settle = batch.settle.upper()
    rates = {r.asset: r for r in batch.collateral_rates}
    collateral = []
    for b in batch.balances:
        rate = rates.get(b.currency)
        if b.currency != settle and rate is not None:
            collateral.append(Collateral(b.currency, b.wallet_balance, rate.price,
                                         flat(rate.ratio)))
    pooled = {c.asset for c in collateral}
    positions = []
    for p in batch.positions:
        own = p.settle.upper()
        if own != settle and own not in pooled:
            continue
        position = _domain_position(p, batch.marks.get(p.symbol) or p.mark_price
                                    or p.entry_price)
        positions.append(position if own == settle else position.with_(settle=own))
    bal = batch.balance(settle)
    return assemble_account(
        rules=rules, settle=settle, wallet_balance=bal.wallet_balance if bal else ZERO,
        positions=positions, tiers=tiers, label=label, collateral=collateral,
        collateral_mode=CollateralMode.MULTI,
    )


def reconcile(
    batch: FetchedCycle, rules: RuleSet, tiers: Mapping[str, Sequence[Tier]],
    *, tolerance: Decimal = TOLERANCE,
) -> tuple[ReconRow, ...]:
    """Compare every position's exchange liquidation price with the engine's."""
    return reconcile_with_risk(batch, rules, tiers, tolerance=tolerance)[0]


def reconcile_with_risk(
    batch: FetchedCycle, rules: RuleSet, tiers: Mapping[str, Sequence[Tier]],
    *, tolerance: Decimal = TOLERANCE,
) -> tuple[tuple[ReconRow, ...], dict[str, AccountRisk]]:
    """:func:`reconcile` plus the engine's :class:`AccountRisk` per settlement currency."""
    from crossmargin.margin import evaluate

    rows: list[ReconRow] = []
    risks: dict[str, AccountRisk] = {}
    for settle, state in account_states(batch, rules, tiers).items():
        missing = sorted({p.symbol for p in state.positions} - set(state.tiers))
        try:
            risk = evaluate(state)
        except Exception as exc:
            why = f"engine could not evaluate the {settle} account: {exc}"
            if missing:
                why += f" (no tiers for {', '.join(missing)})"
            rows.extend(
                ReconRow(p.id, p.symbol, p.side.value, p.exchange_liquidation_price, None, None,
                         False, why[:300])
                for p in state.positions
            )
            continue
        risks[settle] = risk
        for pr in risk.positions:
            exch = pr.exchange_liquidation_price
            eng = pr.liquidation_price
            diff = None
            flagged = False
            if exch is not None and exch > 0 and eng is not None:
                diff = (eng - exch) / exch
                flagged = abs(diff) > tolerance
            elif (exch is None) != (eng is None):
                flagged = True
            problem = f"no tiers for {pr.symbol}" if pr.symbol in missing else ""
            rows.append(ReconRow(str(pr.id), pr.symbol, pr.side.value, exch, eng, diff,
                                 flagged, problem))
    return tuple(rows), risks
