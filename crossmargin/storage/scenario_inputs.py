"""What-if inputs from the journal: an account's open positions, specs, tiers and wallet
as a :class:`crossmargin.domain.AccountState` (built by :mod:`crossmargin.account_state`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import (
    Connection,
    select,
)

from crossmargin.account_state import assemble_account
from crossmargin.domain import (
    AccountState,
    CollateralMode,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Side,
    Tier,
)
from crossmargin.errors import InputError
from crossmargin.numbers import plain
from crossmargin.storage.collateral import pool_inputs
from crossmargin.storage.keys import canonical_or_same
from crossmargin.storage.positions import to_positions
from crossmargin.storage.records import (
    Account,
    AccountKind,
    Instrument,
    PositionStatus,
)
from crossmargin.storage.rows import (
    AccountRef,
    account_row,
    exchange_position_id,
    exchange_positions_select,
    instrument_map,
    latest_balance_row,
    settle_of,
    tier_rows,
)
from crossmargin.storage.schema import (
    position_t,
)
from crossmargin.storage.store import Store
from crossmargin.tier_snapshots import bundled_tiers


@dataclass(frozen=True, slots=True)
class AccountInputs:
    """:meth:`Journal.account_inputs`: the engine input and, one line each, where the
    numbers that are not the positions' own came from (wallet, tiers, leverage, marks)."""

    state: AccountState
    sources: tuple[str, ...] = ()


def build_scenario(store: Store,
    account: AccountRef,
    *,
    wallet_balance: Decimal | None = None,
    marks: Mapping[str, Decimal] | None = None,
    source: str = "auto",
    settle: str | None = None,
) -> AccountState:
    """The engine input of an account: :meth:`account_inputs` without the sources."""
    return account_inputs(store, account, wallet_balance=wallet_balance, marks=marks,
                               source=source, settle=settle).state


def account_inputs(store: Store,
    account: AccountRef,
    *,
    wallet_balance: Decimal | None = None,
    marks: Mapping[str, Decimal] | None = None,
    source: str = "auto",
    settle: str | None = None,
) -> AccountInputs:
    """An :class:`AccountState` for the margin engine from an account's open positions,
    and a line per input saying where it came from.

    ``source``: ``"journal"`` (open journal positions), ``"exchange"`` (the last synced
    exchange positions) or ``"auto"`` (exchange for a synced exchange account, else
    journal). ``settle``: the settlement currency to evaluate (default: the
    account's); positions settled in another currency are left out (see
    :meth:`settlements`). Marks: ``marks[symbol]``, else the stored (last known)
    mark, else the entry price. Wallet: ``wallet_balance`` or the latest balance
    snapshot in that currency; either is the currency's whole wallet as the exchange
    reports it (isolated wallets included), and
    :func:`crossmargin.account_state.assemble_account` takes the isolated wallets out
    to get the cross wallet. Leverage: the position's, else the account's default.
    Tiers: the stored table, else the bundled snapshot of the account's exchange
    (:mod:`crossmargin.tier_snapshots`). Raises InputError naming every missing input
    and how to supply it.
    """
    marks = {canonical_or_same(k): v for k, v in (marks or {}).items()}
    problems: list[str] = []
    sources: list[str] = []
    if source not in ("auto", "journal", "exchange"):
        raise InputError(f"source: must be auto, journal or exchange, got {source!r}")
    with store.read() as conn:
        acct = account_row(conn, account)
        currency = (settle or acct.settle).strip().upper()
        instruments = instrument_map(conn, acct.id)
        tiers = tier_rows(conn, acct.id)
        if wallet_balance is None:
            snap = latest_balance_row(conn, acct, currency)
            if snap is None:
                problems.append(
                    f"account {acct.label}: no wallet balance recorded in {currency}; "
                    f"record one (`crossmargin journal balance {acct.label} AMOUNT`) "
                    "or pass a wallet balance"
                )
            else:
                wallet_balance = snap.wallet_balance
                sources.append(
                    f"wallet: {plain(snap.wallet_balance)} {currency} recorded "
                    f"{snap.time.strftime('%Y-%m-%d %H:%M')} UTC"
                )
        else:
            sources.append(f"wallet: {plain(wallet_balance)} {currency} as given")
        pooled = acct.collateral_mode is CollateralMode.MULTI
        collateral = pool_inputs(conn, acct, currency, problems, sources) if pooled else ()
        pool_assets = {c.asset for c in collateral}
        built = []
        for p in scenario_positions(conn, acct, source, marks, instruments, problems,
                                    sources):
            settles_in = settle_of(p.symbol, instruments, acct.settle)
            if settles_in == currency:
                built.append(p)
            elif settles_in in pool_assets:  # e.g. USDC contracts in a USDT pool
                built.append(p.with_(settle=settles_in))
    for symbol, mark in marks.items():
        if not isinstance(mark, Decimal) or not mark.is_finite() or mark <= 0:
            problems.append(f"marks[{symbol}]: must be a Decimal > 0, got {mark!r}")
    table_for = tier_tables(acct, built, tiers, instruments, problems, sources)
    if problems:
        raise InputError(problems)
    assert wallet_balance is not None
    state = assemble_account(
        rules=acct.rules,
        settle=currency,
        wallet_balance=wallet_balance,
        positions=built,
        tiers=table_for,
        taker_fee_rate=acct.taker_fee_rate,
        betas={s: i.beta for s, i in instruments.items() if i.beta is not None},
        label=acct.label,
        collateral=collateral,
        collateral_mode=acct.collateral_mode,
    )
    return AccountInputs(state, tuple(sources))


def tier_tables(
    acct: Account,
    positions: Sequence[Position],
    stored: Mapping[str, tuple[Tier, ...]],
    instruments: Mapping[str, Instrument],
    problems: list[str],
    sources: list[str],
) -> dict[str, tuple[Tier, ...]]:
    """Each held symbol's tier table: stored, else the exchange's bundled snapshot."""
    out: dict[str, tuple[Tier, ...]] = {}
    from_snapshot: list[str] = []
    snapshot = None
    for symbol in sorted({p.symbol for p in positions}):
        if symbol in stored:
            out[symbol] = stored[symbol]
            continue
        snapshot = snapshot or bundled_tiers(acct.exchange_id)
        if snapshot is not None and symbol in snapshot.tables:
            out[symbol] = snapshot.tables[symbol]
            from_snapshot.append(symbol)
            continue
        ins = instruments.get(symbol)
        rate = ins.maintenance_margin_rate if ins else None
        if acct.rules is RuleSet.GENERIC and rate is not None:
            sources.append(f"maintenance rate: {symbol} {plain(rate)} as you set it")
            continue
        if acct.rules is RuleSet.HYPERLIQUID and ins and ins.max_leverage:
            continue
        where = (f"; the bundled {snapshot.name} tiers (as of {snapshot.as_of}) have no "
                 f"{symbol}" if snapshot else "")
        problems.append(
            f"{symbol}: no maintenance-margin tiers{where}; store them with `crossmargin "
            f"journal tiers {acct.label} FILE`"
            + ("" if acct.exchange_id else
               f", or name the account's exchange (`crossmargin journal account edit "
               f"{acct.label} --exchange binanceusdm`)")
        )
    if stored and any(s in stored for s in out):
        sources.append("tiers: " + ", ".join(s for s in out if s in stored)
                       + " from the journal")
    if from_snapshot and snapshot is not None:
        sources.append(f"tiers: {', '.join(from_snapshot)} from the {snapshot.describe()}")
    return out


def settlements(store: Store, account: AccountRef, *, source: str = "auto") -> dict[str, int]:
    """How many open positions the account holds per settlement currency."""
    out: dict[str, int] = {}
    with store.read() as conn:
        acct = account_row(conn, account)
        instruments = instrument_map(conn, acct.id)
        for p in scenario_positions(conn, acct, source, {}, instruments, []):
            cur = settle_of(p.symbol, instruments, acct.settle)
            out[cur] = out.get(cur, 0) + 1
    return out


def scenario_positions(conn: Connection,
    acct: Account,
    source: str,
    marks: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
    problems: list[str],
    sources: list[str] | None = None,
) -> list[Position]:
    """The open positions of ``acct`` as engine positions (every settlement currency);
    ``sources`` gets a line for each number that is not the position's own."""
    notes: list[str] = [] if sources is None else sources
    use_exchange = source == "exchange" or (
        source == "auto"
        and acct.kind is AccountKind.EXCHANGE
        and acct.positions_synced_at is not None
    )
    built: list[Position] = []
    if use_exchange:
        for r in conn.execute(exchange_positions_select(acct.id)):
            ins = instruments.get(r.symbol)
            built.append(
                Position(
                    id=exchange_position_id(r.symbol, r.side, r.margin_mode),
                    symbol=r.symbol,
                    side=Side(r.side),
                    contracts=r.contracts,
                    entry_price=r.entry_price,
                    mark_price=marks.get(r.symbol, r.mark_price),
                    leverage=r.leverage,
                    margin_mode=MarginMode(r.margin_mode),
                    contract_size=r.contract_size,
                    inverse=bool(r.inverse),
                    isolated_margin=r.isolated_margin
                    if r.margin_mode == "isolated"
                    else None,
                    maintenance_margin_rate=ins.maintenance_margin_rate if ins else None,
                    max_leverage=ins.max_leverage if ins else None,
                    exchange_liquidation_price=r.liquidation_price,
                )
            )
        return built
    rows = conn.execute(
        select(position_t)
        .where(
            position_t.c.account_id == acct.id,
            position_t.c.status == PositionStatus.OPEN.value,
        )
        .order_by(position_t.c.opened_at, position_t.c.id)
    ).all()
    defaulted: list[str] = []
    entry_marks: list[str] = []
    for p in to_positions(conn, rows):
        leverage = p.leverage or acct.default_leverage
        if leverage is None:
            problems.append(
                f"position #{p.id} ({p.symbol} {p.side.value}): leverage unknown; "
                f"set it with `crossmargin journal edit {p.id} --leverage L`, or give "
                f"the account a default (`crossmargin journal account edit {acct.label} "
                "--leverage L`)"
            )
            continue
        if p.leverage is None:
            defaulted.append(f"#{p.id}")
        if p.symbol not in marks and p.mark_price is None:
            entry_marks.append(f"#{p.id} {p.symbol}")
        ins = instruments.get(p.symbol)
        built.append(
            Position(
                id=PositionId(str(p.id)),
                symbol=p.symbol,
                side=p.side,
                contracts=p.contracts,
                entry_price=p.entry_price,
                mark_price=marks.get(p.symbol, p.mark_price or p.entry_price),
                leverage=leverage,
                margin_mode=p.margin_mode,
                contract_size=p.contract_size,
                inverse=p.inverse,
                isolated_margin=p.isolated_margin,
                maintenance_margin_rate=ins.maintenance_margin_rate if ins else None,
                max_leverage=ins.max_leverage if ins else None,
                exchange_liquidation_price=p.exchange_liquidation_price,
            )
        )
    if defaulted and acct.default_leverage is not None:
        notes.append(f"leverage: {', '.join(defaulted)} at the account's default "
                     f"{plain(acct.default_leverage)}x")
    if entry_marks:
        notes.append(f"marks: {', '.join(entry_marks)} at the entry price (no mark known "
                     "yet; the app follows live marks)")
    return built
