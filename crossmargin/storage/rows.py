"""Row-level helpers shared by the journal modules: constants, row → record converters,
lookups by id, and the dedupe keys that make re-syncing idempotent.

The lowest journal module: it imports no other journal module, so the carve has no
import circles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    select,
)

from crossmargin.domain import (
    CollateralMode,
    MarginMode,
    PositionId,
    RuleSet,
    Side,
    Tier,
)
from crossmargin.errors import InputError
from crossmargin.storage.ledger import (
    ContractSpec,
    LedgerFill,
    parse_symbol,
)
from crossmargin.storage.records import (
    Account,
    AccountId,
    AccountKind,
    BalanceSnapshot,
    Fill,
    FillId,
    Instrument,
    PositionMode,
)
from crossmargin.storage.schema import (
    account_t,
    balance_t,
    exchange_position_t,
    fill_t,
    instrument_t,
    position_t,
    position_tag_t,
    tier_t,
)

AccountRef = int | str | Account
LEGS = ("net", "long", "short")
SOURCES = ("manual", "import", "sync")
ANNOTATIONS = (
    "leverage",
    "margin_mode",
    "isolated_margin",
    "stop_price",
    "target_price",
    "mark_price",
    "exchange_liquidation_price",
    "setup",
    "notes",
    "rating",
)
DERIVED = (
    "side",
    "status",
    "open_fill_id",
    "opened_at",
    "closed_at",
    "activity_at",
    "contracts",
    "max_contracts",
    "closed_contracts",
    "entry_price",
    "exit_price",
    "realized_pnl",
    "fees",
    "other_fees",
    "fill_count",
    "computed_pnl",
)
MAX_PAGE = 10_000
# the NewFill fields Journal.edit_fill may change (the trade id and dedupe key stay)
FILL_EDITABLE = (
    "time",
    "side",
    "price",
    "amount",
    "fee",
    "fee_currency",
    "symbol",
    "leg",
    "note",
    "order_id",
)
# instrument columns that change how positions are derived (a re-derive when they change)
SPEC_COLS = ("contract_size", "inverse", "base", "quote", "settle")
STATS_COLS = (
    "account_id",
    "symbol",
    "realized_pnl",
    "fees",
    "funding",
    "entry_price",
    "stop_price",
    "max_contracts",
    "other_fees",
)
INSERT_COLS = (
    "id",
    "account_id",
    "symbol",
    "leg",
    "funding",
    "margin_mode",
    "setup",
    "notes",
    *DERIVED,
)
POSITION_INSERT = (
    f"INSERT INTO position ({', '.join(INSERT_COLS)}) "
    f"VALUES ({', '.join('?' for _ in INSERT_COLS)})"
)
POSITION_UPDATE = f"UPDATE position SET {', '.join(f'{c} = ?' for c in DERIVED)} WHERE id = ?"


def account_row(conn: Connection, ref: AccountRef) -> Account:
    if isinstance(ref, Account):
        ref = ref.id
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        row = conn.execute(select(account_t).where(account_t.c.id == int(ref))).first()
    else:
        row = conn.execute(
            select(account_t).where(func.lower(account_t.c.label) == str(ref).strip().lower())
        ).first()
    if row is None:
        labels = [
            r[0] for r in conn.execute(select(account_t.c.label).order_by(account_t.c.label))
        ]
        known = (
            ", ".join(labels)
            if labels
            else "none yet (create one with `crossmargin journal account add`)"
        )
        raise InputError(f"account {ref!r} not found; accounts: {known}")
    return account_from_row(row)


def fill_row(conn: Connection, fill_id: int) -> Any:
    row = conn.execute(select(fill_t).where(fill_t.c.id == fill_id)).first()
    if row is None:
        raise InputError(f"fill #{fill_id} not found")
    return row


def position_row(conn: Connection, position_id: int) -> Any:
    row = conn.execute(select(position_t).where(position_t.c.id == position_id)).first()
    if row is None:
        raise InputError(f"position #{position_id} not found")
    return row


def spec_of(conn: Connection, account_id: int, symbol: str) -> ContractSpec:
    row = conn.execute(
        select(instrument_t).where(
            instrument_t.c.account_id == account_id, instrument_t.c.symbol == symbol
        )
    ).first()
    if row is None:
        return parse_symbol(symbol)
    return ContractSpec(row.base, row.quote, row.settle, row.contract_size, bool(row.inverse))


def specs_of(conn: Connection, keys: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], ContractSpec]:
    """The contract spec of each (account id, symbol), looked up once per distinct key."""
    specs: dict[tuple[int, str], ContractSpec] = {}
    for k in keys:
        if k not in specs:
            specs[k] = spec_of(conn, *k)
    return specs


def tier_rows(conn: Connection, account_id: int) -> dict[str, tuple[Tier, ...]]:
    rows = conn.execute(
        select(tier_t)
        .where(tier_t.c.account_id == account_id)
        .order_by(tier_t.c.symbol, tier_t.c.ordinal)
    ).all()
    out: dict[str, list[Tier]] = {}
    for r in rows:
        out.setdefault(r.symbol, []).append(
            Tier(
                r.min_notional,
                r.max_notional,
                r.maintenance_margin_rate,
                r.maintenance_amount,
                r.max_leverage,
            )
        )
    return {k: tuple(v) for k, v in out.items()}


def latest_balance_row(
    conn: Connection, acct: Account, currency: str | None
) -> BalanceSnapshot | None:
    r = conn.execute(
        select(balance_t)
        .where(
            balance_t.c.account_id == acct.id,
            balance_t.c.currency == (currency or acct.settle).upper(),
        )
        .order_by(balance_t.c.time.desc(), balance_t.c.id.desc())
        .limit(1)
    ).first()
    return None if r is None else balance_from_row(r)


def utc_now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None, where: str, problems: list[str]) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        problems.append(f"{where}: time must be timezone-aware (UTC), got {value.isoformat()}")


def inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def insert_tags(conn: Connection, position_id: int, tags: Sequence[str]) -> None:
    if tags:
        conn.execute(
            position_tag_t.insert(), [{"position_id": position_id, "tag": t} for t in tags]
        )


def ledger_fill(r: Any) -> LedgerFill:
    """A stored fill row as the ledger replays it."""
    return LedgerFill(r.id, r.time, r.side, r.price, r.amount, r.fee, r.fee_currency,
                      r.realized_pnl)


def chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def page_rows(
    conn: Connection,
    table: Any,
    where: Sequence[Any],
    order_by: Sequence[Any],
    offset: int,
    limit: int,
) -> tuple[int, Sequence[Any]]:
    """(number of rows matching ``where``, the ``limit`` rows from ``offset`` in order)."""
    total = conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0
    rows = conn.execute(
        select(table).where(*where).order_by(*order_by).offset(offset).limit(limit)
    ).all()
    return int(total), rows


def time_window(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """WHERE terms for ``since <= column < until`` (either bound may be None)."""
    where: list[Any] = []
    if since is not None:
        where.append(column >= since)
    if until is not None:
        where.append(column < until)
    return where


def snapshot_row(
    acct: Account, time: datetime, currency: str | None, values: Mapping[str, Any]
) -> dict[str, Any]:
    """A balance or equity row: ``currency`` upper-cased, the account's settle when None."""
    return {
        "account_id": acct.id,
        "time": time,
        "currency": (currency or acct.settle).upper(),
        **values,
    }


def exchange_positions_select(account_id: int) -> Any:
    """The account's synced exchange positions, by symbol, side and margin mode."""
    return (
        select(exchange_position_t)
        .where(exchange_position_t.c.account_id == account_id)
        .order_by(
            exchange_position_t.c.symbol,
            exchange_position_t.c.side,
            exchange_position_t.c.margin_mode,
        )
    )


def balance_from_row(r: Any) -> BalanceSnapshot:
    return BalanceSnapshot(
        AccountId(r.account_id),
        r.time,
        r.currency,
        r.wallet_balance,
        r.available,
        r.unrealized_pnl,
    )


def parse_other_fees(text: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for part in (text or "").split(";"):
        if part:
            k, _, v = part.partition("=")
            out[k] = Decimal(v)
    return out


def fill_from_row(r: Any) -> Fill:
    return Fill(
        id=FillId(r.id),
        account_id=AccountId(r.account_id),
        symbol=r.symbol,
        leg=r.leg,
        time=r.time,
        side=r.side,
        price=r.price,
        amount=r.amount,
        fee=r.fee,
        fee_currency=r.fee_currency,
        trade_id=r.trade_id,
        order_id=r.order_id,
        source=r.source,
        position_id=r.position_id,
        next_position_id=r.next_position_id,
        note=r.note,
        realized_pnl=r.realized_pnl,
    )


def account_from_row(r: Any) -> Account:
    return Account(
        id=AccountId(r.id),
        label=r.label,
        kind=AccountKind(r.kind),
        exchange_id=r.exchange_id,
        rules=RuleSet(r.rules),
        settle=r.settle,
        margin_mode_default=MarginMode(r.margin_mode_default),
        position_mode=PositionMode(r.position_mode),
        taker_fee_rate=r.taker_fee_rate,
        notes=r.notes,
        created_at=r.created_at,
        positions_synced_at=r.positions_synced_at,
        default_leverage=r.default_leverage,
        collateral_mode=CollateralMode(r.collateral_mode or "single"),
    )


def instrument_map(conn: Connection, account_id: int) -> dict[str, Instrument]:
    """The account's stored contract specs by symbol."""
    return {
        r.symbol: instrument_from_row(r)
        for r in conn.execute(select(instrument_t).where(instrument_t.c.account_id == account_id))
    }


def settle_of(symbol: str, instruments: Mapping[str, Instrument], default: str) -> str:
    """The settlement currency of ``symbol``: its stored spec, else the ccxt unified
    symbol's ``:SETTLE`` suffix, else the account's currency."""
    ins = instruments.get(symbol)
    if ins is not None and ins.settle:
        return ins.settle.upper()
    if ":" in symbol:
        return symbol.rsplit(":", 1)[1].split("-", 1)[0].upper()
    return default.upper()


def instrument_from_row(r: Any) -> Instrument:
    return Instrument(
        r.symbol,
        r.base,
        r.quote,
        r.settle,
        r.contract_size,
        bool(r.inverse),
        r.maintenance_margin_rate,
        r.max_leverage,
        r.beta,
    )


def exchange_position_id(symbol: str, side: str, margin_mode: str) -> PositionId:
    """The engine id of a synced exchange position: ``symbol:side`` for cross, with
    ``:isolated`` appended for isolated (both can exist on one symbol and side on OKX)."""
    base = f"{symbol}:{Side(side).value}"
    if MarginMode(margin_mode) is MarginMode.ISOLATED:
        return PositionId(f"{base}:{MarginMode.ISOLATED.value}")
    return PositionId(base)


