"""Contract specs and leverage tiers per account (a spec change re-derives positions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import (
    Connection,
    delete,
    select,
)
from sqlalchemy import update as sa_update

from crossmargin.domain import (
    Tier,
)
from crossmargin.errors import InputError
from crossmargin.storage.derivation import rebuild
from crossmargin.storage.keys import canon, canon_all
from crossmargin.storage.records import (
    Account,
    Instrument,
    OpChanges,
)
from crossmargin.storage.rows import (
    SPEC_COLS,
    AccountRef,
    account_row,
    instrument_from_row,
    tier_rows,
)
from crossmargin.storage.schema import (
    fill_t,
    instrument_t,
    tier_t,
)
from crossmargin.storage.store import Store
from crossmargin.storage.validation import validate_instrument, validate_tiers


def set_instrument(store: Store, account: AccountRef, instrument: Instrument) -> OpChanges:
    """Insert or replace one symbol's contract spec; re-derives that symbol's positions."""
    return write_instruments(store, account, [instrument])


def write_instruments(store: Store, account: AccountRef, items: Sequence[Instrument]) -> OpChanges:
    problems: list[str] = []
    items = canon_all(items, "instruments", problems)
    for i, ins in enumerate(items):
        validate_instrument(ins, f"instruments[{i}]", problems)
    if problems:
        raise InputError(problems)
    with store.tx() as conn:
        acct = account_row(conn, account)
        touched = upsert_instruments(conn, acct, items)
    return OpChanges(
        instruments=True,
        positions=bool(touched),
        account_ids=frozenset({acct.id}),
        position_ids=frozenset(touched),
    )


def upsert_instruments(conn: Connection,
    acct: Account,
    items: Sequence[Instrument],
    *,
    keep_optional: bool = False,
) -> set[int]:
    """Insert or replace instruments; re-derive positions whose contract spec changed.

    ``keep_optional`` (sync): a None MMR, max leverage or beta keeps the stored value, so a
    beta the user set survives every sync cycle.
    """
    touched: set[int] = set()
    stored = {
        r.symbol: r
        for r in conn.execute(select(instrument_t).where(instrument_t.c.account_id == acct.id))
    }
    for ins in items:
        old = stored.get(ins.symbol)
        values = {
            "account_id": acct.id,
            "symbol": ins.symbol,
            "base": ins.base.upper(),
            "quote": ins.quote.upper(),
            "settle": ins.settle.upper(),
            "contract_size": ins.contract_size,
            "inverse": bool(ins.inverse),
            "maintenance_margin_rate": ins.maintenance_margin_rate,
            "max_leverage": ins.max_leverage,
            "beta": ins.beta,
        }
        if old is not None and keep_optional:
            for name in ("maintenance_margin_rate", "max_leverage", "beta"):
                if values[name] is None:
                    values[name] = getattr(old, name)
        if old is None:
            conn.execute(instrument_t.insert().values(**values))
            changed_spec = True
        else:
            changed_spec = any(getattr(old, c) != values[c] for c in SPEC_COLS)
            if any(getattr(old, c) != v for c, v in values.items()):
                conn.execute(
                    sa_update(instrument_t).where(instrument_t.c.id == old.id).values(**values)
                )
        if changed_spec:
            legs = {
                r[0]
                for r in conn.execute(
                    select(fill_t.c.leg)
                    .where(fill_t.c.account_id == acct.id, fill_t.c.symbol == ins.symbol)
                    .distinct()
                )
            }
            touched |= rebuild(conn, acct, {(ins.symbol, leg) for leg in legs})[1]
    return touched


def instruments(store: Store, account: AccountRef) -> list[Instrument]:
    """The account's stored contract specs, by symbol."""
    with store.read() as conn:
        acct = account_row(conn, account)
        rows = conn.execute(
            select(instrument_t)
            .where(instrument_t.c.account_id == acct.id)
            .order_by(instrument_t.c.symbol)
        ).all()
    return [instrument_from_row(r) for r in rows]


def set_tiers(store: Store, account: AccountRef, symbol: str, tiers: Sequence[Tier]) -> OpChanges:
    """Replace one symbol's maintenance-margin brackets (lowest first)."""
    return replace_tiers(store, account, {symbol: tiers})


def replace_tiers(
    store: Store, account: AccountRef, tables: Mapping[str, Sequence[Tier]]
) -> OpChanges:
    """Replace the brackets of several symbols in one transaction (others untouched)."""
    problems: list[str] = []
    tables = {canon(s, f"tiers[{s!r}]", problems): t for s, t in tables.items()}
    for symbol, tiers in tables.items():
        validate_tiers(symbol, tiers, problems, "tiers")
    if problems:
        raise InputError(problems)
    with store.tx() as conn:
        acct = account_row(conn, account)
        write_tiers(conn, acct.id, tables)
    return OpChanges(tiers=True, account_ids=frozenset({acct.id}))


def write_tiers(conn: Connection, account_id: int, tiers: Mapping[str, Sequence[Tier]]
) -> None:
    for symbol, table in tiers.items():
        conn.execute(
            delete(tier_t).where(tier_t.c.account_id == account_id, tier_t.c.symbol == symbol)
        )
        rows = [
            {
                "account_id": account_id,
                "symbol": symbol,
                "ordinal": i,
                "min_notional": t.min_notional,
                "max_notional": t.max_notional,
                "maintenance_margin_rate": t.maintenance_margin_rate,
                "maintenance_amount": t.maintenance_amount,
                "max_leverage": t.max_leverage,
            }
            for i, t in enumerate(table)
        ]
        if rows:
            conn.execute(tier_t.insert(), rows)


def tiers(store: Store, account: AccountRef) -> dict[str, tuple[Tier, ...]]:
    """Symbol → bracket table (lowest first) stored for an account."""
    with store.read() as conn:
        acct = account_row(conn, account)
        return tier_rows(conn, acct.id)
