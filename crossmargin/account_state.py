"""The one place an engine input (:class:`~crossmargin.domain.AccountState`) is assembled
from what an exchange or the journal knows about an account.

Every caller that evaluates a *stored or synced* account goes through
:func:`assemble_account`: the sync reconciliation (from the batch it is about to
store), ``crossmargin whatif --account`` and the desktop (both through
:meth:`crossmargin.storage.Journal.build_scenario`). So the liquidation prices the sync
compares with the exchange's are the ones the user sees.

The wallet
----------
Exchanges report a currency's *wallet balance* including the wallets of its isolated
positions (Binance ``walletBalance`` = ``crossWalletBalance`` + Σ ``isolatedWallet``;
Bybit ``walletBalance``; OKX ``cashBal``, whose ``frozenBal`` holds the isolated margins).
The journal stores that figure, and a balance typed by hand means the same: the whole
wallet of the currency, excluding unrealised PnL. The engine wants the *cross* wallet,
so the isolated positions' own wallets are taken out here, once:

    cross wallet = wallet balance − Σ isolated wallets (of positions settled in it)

An isolated position without a recorded wallet holds its initial margin at entry
(:attr:`crossmargin.domain.Position.own_margin`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from crossmargin.domain import (
    ZERO,
    AccountState,
    Collateral,
    CollateralMode,
    MarginMode,
    Position,
    RuleSet,
    Tier,
)


def isolated_wallets(positions: Iterable[Position]) -> Decimal:
    """Σ of the isolated positions' own wallets (settlement currency)."""
    return sum(
        (p.own_margin for p in positions if p.margin_mode is MarginMode.ISOLATED), ZERO
    )


def cross_wallet(wallet_balance: Decimal, positions: Iterable[Position]) -> Decimal:
    """The cross wallet inside a currency's ``wallet_balance`` (see the module docstring);
    only the isolated wallets held in that currency are in it."""
    return wallet_balance - isolated_wallets(p for p in positions if not p.settle)


def assemble_account(
    *,
    rules: RuleSet,
    settle: str,
    wallet_balance: Decimal,
    positions: Sequence[Position],
    tiers: Mapping[str, Sequence[Tier]],
    taker_fee_rate: Decimal = ZERO,
    betas: Mapping[str, Decimal] | None = None,
    label: str = "",
    collateral: Sequence[Collateral] = (),
    collateral_mode: CollateralMode = CollateralMode.SINGLE,
) -> AccountState:
    """The engine input for one settlement currency of an account.

    ``wallet_balance`` is the currency's whole wallet as the exchange reports it (cross
    plus isolated wallets, no unrealised PnL); ``positions`` are the open positions
    settled in ``settle`` with their marks set (in a multi-asset pool also those settled
    in a pooled asset, with ``Position.settle`` set). Only the tier tables of held
    symbols are kept. ``collateral``: the other assets' balances at their collateral
    rates (counted only when ``collateral_mode`` is multi).
    """
    held = {p.symbol for p in positions}
    return AccountState(
        rules=rules,
        settle=settle,
        wallet_balance=cross_wallet(wallet_balance, positions),
        positions=tuple(positions),
        tiers={s: tuple(t) for s, t in tiers.items() if s in held},
        taker_fee_rate=taker_fee_rate,
        betas=dict(betas or {}),
        label=label,
        collateral=tuple(collateral),
        collateral_mode=collateral_mode,
    )


__all__ = ["assemble_account", "cross_wallet", "isolated_wallets"]
