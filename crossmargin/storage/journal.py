"""The Journal: the one facade the GUI, the CLI and exchange sync use for stored data.

Open it once at start-up and pass it in (``Journal.open(path)`` / ``with Journal.open()
as j``). Reads return domain objects (:mod:`crossmargin.storage.records`), never rows;
every write returns an :class:`~crossmargin.storage.records.OpChanges` describing what
changed so each view can refresh only what concerns it. Every write runs in one
``BEGIN IMMEDIATE`` transaction: it happens completely or not at all.

Threads: the object may be shared by threads (e.g. a GUI worker pool); writes are
serialised by an internal lock, reads run concurrently (WAL).

Positions are derived from fills (see :mod:`crossmargin.storage.ledger`): adding,
editing or deleting a fill re-derives the positions of its (account, symbol, leg) and
re-attributes the funding paid on that symbol, keeping each position's notes, tags,
stop and target. Hand-logged positions are fills too (``add_position`` stores the
opening fill, ``close_position`` a closing one), so both follow the same rules.

Exchange sync (``crossmargin.sync``) writes one cycle at a time with
:meth:`Journal.apply_sync_batch` (``SyncBatch``: balances, the full open-position set,
new fills/funding/transfers deduplicated by exchange ids, instruments, tiers, equity,
cursors), all-or-nothing, and reads its resume points with :meth:`Journal.sync_cursor`.

What-if: :meth:`Journal.build_scenario` turns an account's open positions, stored
instruments and tiers and latest wallet balance into a
:class:`crossmargin.domain.AccountState` for :mod:`crossmargin.margin`.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy import update as sa_update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from crossmargin import paths
from crossmargin.account_state import assemble_account
from crossmargin.domain import (
    ZERO,
    AccountState,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Side,
    Tier,
)
from crossmargin.errors import InputError
from crossmargin.numbers import plain
from crossmargin.storage import db as dbmod
from crossmargin.storage import migrations, schema
from crossmargin.storage.coltypes import datetime_to_micros, decimal_to_text
from crossmargin.storage.ledger import ContractSpec, LedgerFill, Segment, parse_symbol, replay
from crossmargin.storage.records import (
    Account,
    AccountId,
    AccountKind,
    BalanceSnapshot,
    EquitySnapshot,
    ExchangePosition,
    Fill,
    FillId,
    FundingPayment,
    ImportReport,
    Instrument,
    JournalPosition,
    JournalPositionId,
    NewFill,
    NewFunding,
    NewTransfer,
    OpChanges,
    Page,
    PositionFilter,
    PositionMode,
    PositionStatus,
    Statistics,
    SyncBatch,
    Transfer,
)
from crossmargin.storage.schema import (
    account_t,
    balance_t,
    equity_t,
    exchange_position_t,
    fill_t,
    funding_t,
    import_batch_t,
    instrument_t,
    meta_t,
    position_t,
    position_tag_t,
    sync_cursor_t,
    tier_t,
    transfer_t,
)
from crossmargin.symbols import SymbolError, canonical

AccountRef = int | str | Account
_T = TypeVar("_T")
LEGS = ("net", "long", "short")
_SOURCES = ("manual", "import", "sync")
_ANNOTATIONS = (
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
_DERIVED = (
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
_MAX_PAGE = 10_000
# the NewFill fields Journal.edit_fill may change (the trade id and dedupe key stay)
_FILL_EDITABLE = (
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
_SPEC_COLS = ("contract_size", "inverse", "base", "quote", "settle")
_STATS_COLS = (
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
_INSERT_COLS = (
    "id",
    "account_id",
    "symbol",
    "leg",
    "funding",
    "margin_mode",
    "setup",
    "notes",
    *_DERIVED,
)
_POSITION_INSERT = (
    f"INSERT INTO position ({', '.join(_INSERT_COLS)}) "
    f"VALUES ({', '.join('?' for _ in _INSERT_COLS)})"
)
_POSITION_UPDATE = f"UPDATE position SET {', '.join(f'{c} = ?' for c in _DERIVED)} WHERE id = ?"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None, where: str, problems: list[str]) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        problems.append(f"{where}: time must be timezone-aware (UTC), got {value.isoformat()}")


def _datetime_field(
    value: Any, where: str, problems: list[str], *, optional: bool = False, show_value: bool = True
) -> None:
    """``value`` is a timezone-aware datetime (or None when ``optional``); appends a problem
    otherwise (``show_value``: the message quotes the value given)."""
    if value is None and optional:
        return
    if not isinstance(value, datetime):
        problems.append(
            f"{where}: must be a datetime" + (f", got {value!r}" if show_value else "")
        )
    else:
        _aware(value, where, problems)


def canonical_or_same(symbol: Any) -> Any:
    """The canonical (ccxt unified) name of ``symbol``, or ``symbol`` itself when it is not
    text or not a symbol (validation reports those)."""
    if not isinstance(symbol, str):
        return symbol
    try:
        return canonical(symbol)
    except SymbolError:
        return symbol


def _canon(symbol: Any, where: str, problems: list[str]) -> Any:
    """``symbol`` in canonical form; a problem (and ``symbol`` unchanged) when unreadable."""
    if not isinstance(symbol, str) or not symbol.strip():
        return symbol  # the field validators say "empty"
    try:
        return canonical(symbol)
    except SymbolError as exc:
        problems.append(f"{where}.symbol: {exc}")
        return symbol


_S = TypeVar("_S", NewFill, NewFunding, Instrument, ExchangePosition)


def _canon_all(items: Sequence[_S], where: str, problems: list[str]) -> list[_S]:
    """``items`` with canonical symbols (one contract, one name: BTCUSDT = BTC/USDT:USDT)."""
    out = []
    for i, item in enumerate(items):
        sym = _canon(item.symbol, f"{where}[{i}]", problems)
        out.append(item if sym == item.symbol else replace(item, symbol=sym))
    return out


def _num_key(d: Decimal) -> str:
    n = d.normalize()
    return format(n, "f") if n == n.to_integral_value() or -30 < n.adjusted() < 30 else str(n)


def fill_dedupe_key(fill: NewFill) -> str:
    """``t:<symbol>:<trade id>`` when the exchange gave one, else a content hash."""
    if fill.trade_id:
        return f"t:{fill.symbol}:{fill.trade_id}"
    text = "|".join(
        (
            fill.symbol,
            fill.leg,
            str(datetime_to_micros(fill.time)),
            fill.side,
            _num_key(fill.price),
            _num_key(fill.amount),
            _num_key(fill.fee),
            fill.fee_currency.upper(),
            fill.order_id or "",
        )
    )
    return "h:" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _numbered_keys(fills: Sequence[NewFill]) -> list[tuple[str, NewFill]]:
    """Each fill with its dedupe key; identical id-less fills in one batch get #0, #1, ..."""
    seen: dict[str, int] = {}
    out = []
    for f in fills:
        key = fill_dedupe_key(f)
        if not f.trade_id:
            n = seen.get(key, 0)
            seen[key] = n + 1
            key = f"{key}#{n}"
        out.append((key, f))
    return out


def _funding_key(p: NewFunding) -> str:
    """``x:<symbol>:<exchange id>`` when the exchange gave one, else the payment's content."""
    if p.exchange_id:
        return f"x:{p.symbol}:{p.exchange_id}"
    return (
        f"h:{p.symbol}:{p.leg or ''}:{datetime_to_micros(p.time)}:"
        f"{_num_key(p.amount)}:{p.currency.upper()}"
    )


def _transfer_key(t: NewTransfer) -> str:
    """``x:<exchange id>`` when the exchange gave one, else the transfer's content."""
    if t.exchange_id:
        return f"x:{t.exchange_id}"
    return f"h:{datetime_to_micros(t.time)}:{t.currency.upper()}:{_num_key(t.amount)}:{t.kind}"


def _split_new(
    keyed: Iterable[tuple[str, _T]], keys: set[str]
) -> tuple[list[tuple[str, _T]], int]:
    """The (key, item) pairs whose key is not in ``keys`` yet (first occurrence wins) and
    how many were duplicates; ``keys`` gains every new key."""
    fresh: list[tuple[str, _T]] = []
    dups = 0
    for key, item in keyed:
        if key in keys:
            dups += 1
            continue
        keys.add(key)
        fresh.append((key, item))
    return fresh, dups


def _text(value: Any, where: str, problems: list[str], *, optional: bool = False) -> bool:
    """``value`` is text (or None when ``optional``); appends a problem and returns False
    otherwise."""
    if value is None and optional:
        return True
    if not isinstance(value, str):
        kind = "text or None" if optional else "text"
        problems.append(f"{where}: must be {kind}, got {value!r}")
        return False
    return True


def _currency_or_none(
    value: Any, where: str, problems: list[str], *, required: bool = False
) -> bool:
    """A currency code: non-empty text (None allowed unless ``required``)."""
    if value is None and not required:
        return True
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be a currency code such as USDT, got {value!r}")
        return False
    return True


def _check_paging(offset: Any, limit: Any, most: int) -> None:
    ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (offset, limit))
    if not ok or offset < 0 or not 0 < limit <= most:
        raise InputError(
            f"paging: offset must be a whole number >= 0 and limit one in 1..{most}, got "
            f"offset={offset!r}, limit={limit!r}"
        )


def _check_range(
    since: datetime | None,
    until: datetime | None,
    currency: Any = None,
    *,
    currency_required: bool = False,
) -> None:
    problems: list[str] = []
    for name, value in (("since", since), ("until", until)):
        _datetime_field(value, name, problems, optional=True)
    _currency_or_none(currency, "currency", problems, required=currency_required)
    if problems:
        raise InputError(problems)


def _validate_fill(f: NewFill, where: str, problems: list[str]) -> None:
    if not isinstance(f.symbol, str) or not f.symbol.strip():
        problems.append(f"{where}.symbol: empty")
    if f.side not in ("buy", "sell"):
        problems.append(f"{where}.side: must be 'buy' or 'sell', got {f.side!r}")
    if f.leg not in LEGS:
        problems.append(f"{where}.leg: must be one of {', '.join(LEGS)}, got {f.leg!r}")
    for name in ("price", "amount", "fee"):
        v = getattr(f, name)
        if not isinstance(v, Decimal) or not v.is_finite():
            problems.append(f"{where}.{name}: must be a finite Decimal, got {v!r}")
    if isinstance(f.price, Decimal) and f.price.is_finite() and f.price <= 0:
        problems.append(f"{where}.price: must be > 0, got {f.price}")
    if isinstance(f.amount, Decimal) and f.amount.is_finite() and f.amount <= 0:
        problems.append(f"{where}.amount: must be > 0 contracts, got {f.amount}")
    _datetime_field(f.time, f"{where}.time", problems)
    _text(f.fee_currency, f"{where}.fee_currency", problems)
    _text(f.trade_id, f"{where}.trade_id", problems, optional=True)
    _text(f.order_id, f"{where}.order_id", problems, optional=True)
    _text(f.note, f"{where}.note", problems)
    rp = f.realized_pnl
    if rp is not None and (not isinstance(rp, Decimal) or not rp.is_finite()):
        problems.append(f"{where}.realized_pnl: must be a finite Decimal or None, got {rp!r}")


def _dec_or_none(value: Any, where: str, problems: list[str], positive: bool = True) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        problems.append(f"{where}: must be a finite Decimal, got {value!r}")
    elif positive and value <= 0:
        problems.append(f"{where}: must be > 0, got {value}")


def _dec_required(value: Any, where: str, problems: list[str], positive: bool = True) -> None:
    """Like :func:`_dec_or_none` for a value that must be given (a NOT NULL column)."""
    if value is None:
        problems.append(f"{where}: required, got None")
    else:
        _dec_or_none(value, where, problems, positive)


@dataclass(frozen=True, slots=True)
class AccountInputs:
    """:meth:`Journal.account_inputs`: the engine input and, one line each, where the
    numbers that are not the positions' own came from (wallet, tiers, leverage, marks)."""

    state: AccountState
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenInfo:
    """How the last :meth:`Journal.open` went (shown once by the GUI, logged by the CLI)."""

    created: bool
    migrated_from: int | None
    migration_backup: Path | None
    unclean_shutdown: bool
    integrity_checked: bool
    #: what ``PRAGMA quick_check`` found at open (only when opened with ``allow_damaged``)
    damage: tuple[str, ...] = ()


class Journal:
    """A journal file, open for reading and writing by this process only.

    Create with :meth:`Journal.open`; close with :meth:`close` (or use ``with``).
    """

    def __init__(self, path: Path, engine: Engine, lock: dbmod.FileLock | dbmod.NoLock,
                 info: OpenInfo) -> None:
        self.path = path
        self._engine = engine
        self._lock = lock
        self._write_lock = threading.RLock()
        self.info = info
        self._closed = False
        # Held open for the journal's lifetime: SQLite checkpoints and deletes the WAL when
        # the last connection closes, which would otherwise happen after every operation
        # (connections are not pooled); the WAL is checkpointed at close() instead.
        self._keeper = dbmod.connect(path, readonly=True)
        self._keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()  # maps the WAL
        # PRAGMA data_version on the keeper moves with every commit by another connection:
        # ours (noted right after each commit) or another process's (outside_change)
        self._keeper_lock = threading.Lock()
        self._seen_version = self._data_version()
        self._own_version = self._seen_version

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, path: Path | str | None = None, *, create: bool = True,
             allow_damaged: bool = False, exclusive: bool = False) -> Journal:
        """Open (or create) a journal; see :mod:`crossmargin.storage.db` for the safety rules.

        Every open runs ``PRAGMA quick_check``: a damaged journal raises
        JournalCorruptError, or with ``allow_damaged`` opens for reading and restoring
        only (``info.damage`` lists what SQLite found; every write but :meth:`restore` is
        refused, so the damage never spreads).

        ``exclusive`` (the desktop app): one window per journal: a second exclusive open,
        in this or another process, raises JournalLockedError; the window's lock also
        tells the next session whether this one closed cleanly (then it runs the full
        integrity check). Without it (the CLI, scripts) any number of processes share the
        journal, the app's window included: SQLite serialises their writes (each waits up
        to 30 s for the others) and WAL keeps every read consistent, so nothing is ever
        half-written. Raises JournalLockedError (open in another window),
        SchemaTooNewError, NotAJournalError, JournalCorruptError, MigrationError — all
        :class:`CrossMarginError` with a message that says what to do.
        """
        p = Path(path) if path is not None else paths.default_journal_path()
        p = p.expanduser().resolve()
        if not p.exists() and not create:
            raise dbmod.JournalError(f"no journal at {p}; check the path given with --db")
        lock = dbmod.FileLock(p) if exclusive else dbmod.NoLock(p)
        if not p.exists():
            try:
                paths.ensure(p.parent)
            except OSError as exc:
                raise dbmod.JournalError(
                    f"cannot create the folder {p.parent} ({exc.strerror}); choose another "
                    "place with --db"
                ) from None
        lock.acquire()
        try:
            if not p.exists():  # a new journal is private to its owner from the first byte
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            info = cls._prepare_file(p, lock.last_shutdown_unclean, allow_damaged)
            engine = create_engine(
                f"sqlite:///{p}",
                poolclass=NullPool,
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            event.listen(engine, "connect", lambda c, _r: dbmod.configure_connection(c))
            journal = cls(p, engine, lock, info)
            try:
                journal._finish_upgrade()
            except BaseException:
                journal._keeper.close()
                engine.dispose()
                raise
            return journal
        except BaseException:
            lock.release(clean=not lock.last_shutdown_unclean)
            raise

    @staticmethod
    def _prepare_file(p: Path, unclean: bool, allow_damaged: bool = False) -> OpenInfo:
        conn = dbmod.connect(p)
        try:
            app_id, version, has_tables = dbmod.read_versions(conn, p)
            if not has_tables:
                if app_id not in (0, schema.APPLICATION_ID) or version not in (0,):
                    raise dbmod.NotAJournalError(f"{p} is not a CrossMargin journal")
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":  # pragma: no cover - e.g. network drives
                    raise dbmod.JournalError(f"{p}: cannot use WAL mode here ({mode})")
                _create_schema(p)
                return OpenInfo(True, None, None, unclean, False)
            if app_id != schema.APPLICATION_ID:
                raise dbmod.NotAJournalError(
                    f"{p} is an SQLite file but not a CrossMargin journal; choose the journal "
                    "file with --db"
                )
            checked = unclean
            problems = (dbmod.integrity_problems(conn) if unclean
                        else dbmod.quick_problems(conn))
            if problems:
                when = " after an unclean shutdown" if unclean else ""
                if not allow_damaged:
                    raise dbmod.JournalCorruptError(
                        f"{p} is damaged{when} ({'; '.join(problems[:3])}); nothing was read "
                        "from or written to it; restore a backup from before the damage",
                        path=p, problems=tuple(problems),
                    )
                return OpenInfo(False, None, None, unclean, checked, tuple(problems))
            conn.execute("PRAGMA journal_mode = WAL")
            outcome = dbmod.migrate(conn, p, target=schema.SCHEMA_VERSION, steps=migrations.STEPS)
            return OpenInfo(
                False,
                outcome.from_version if outcome.backup is not None else None,
                outcome.backup,
                unclean,
                checked,
            )
        finally:
            conn.close()

    def _finish_upgrade(self) -> None:
        """Re-derive the positions an upgrade step left in ``meta.rederive`` (keys where
        two names of one contract met: see :func:`migrations.canonicalize_symbols`), in
        one transaction, once."""
        import json

        with self._read() as conn:
            row = conn.execute(select(meta_t.c.value).where(meta_t.c.key == "rederive")).first()
        if row is None:
            return
        with self._tx() as conn:
            by_account: dict[int, set[tuple[str, str]]] = {}
            for account_id, symbol, leg in json.loads(row.value):
                by_account.setdefault(int(account_id), set()).add((symbol, leg))
            for account_id, keys in by_account.items():
                self._rebuild(conn, self._account(conn, account_id), keys)
            conn.execute(delete(meta_t).where(meta_t.c.key == "rederive"))

    def _data_version(self) -> int:
        with self._keeper_lock:
            return int(self._keeper.execute("PRAGMA data_version").fetchone()[0])

    def outside_change(self) -> bool:
        """True once for each batch of commits made by another process (the CLI while the
        app runs, say) since the last call; this process's own writes do not count. Cheap
        (one PRAGMA): a window polls it on a timer and refreshes what it shows."""
        if self._closed:
            return False
        version = self._data_version()
        if version == self._seen_version:
            return False
        self._seen_version = version
        return version != self._own_version

    def close(self) -> None:
        """Checkpoint the WAL and release the file (marks the shutdown as clean). Any
        thread may close the journal (the app closes it at quit, on the GUI thread)."""
        if self._closed:
            return
        self._closed = True
        try:
            with self._write_lock, self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._keeper.close()
            self._engine.dispose()
            self._lock.release(clean=True)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on any error).

        Inputs are validated before the transaction (InputError naming the field); an
        SQLAlchemy/SQLite error that still happens (full disk, busy file, a constraint the
        checks missed) is rolled back and raised as :class:`~.db.StorageError`, never raw.
        """
        if self._closed:
            raise dbmod.JournalError("the journal is closed")
        if self.info.damage:
            raise dbmod.JournalCorruptError(
                f"{self.path} is damaged ({'; '.join(self.info.damage[:2])}); writes are "
                "refused so the damage cannot spread; restore a backup from before the damage",
                path=self.path, problems=self.info.damage,
            )
        try:
            with self._write_lock, self._engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
                own = self._data_version()
                if self._seen_version == self._own_version:
                    self._seen_version = own  # nothing from outside was pending: ours only
                self._own_version = own
        except SQLAlchemyError as exc:
            raise dbmod.storage_error(exc, writing=True) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A consistent read snapshot (deferred transaction); SQL errors → StorageError."""
        if self._closed:
            raise dbmod.JournalError("the journal is closed")
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("BEGIN")
                try:
                    yield conn
                finally:
                    conn.exec_driver_sql("COMMIT")
        except SQLAlchemyError as exc:
            raise dbmod.storage_error(exc, writing=False) from exc

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check`` lines (empty list = sound)."""
        if self._closed:
            raise dbmod.JournalError("the journal is closed")
        try:
            with self._engine.connect() as conn:
                rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check(20)")]
        except SQLAlchemyError as exc:
            return [str(getattr(exc, "orig", None) or exc)]
        return [] if rows == ["ok"] else rows

    # ------------------------------------------------------------------ accounts

    def create_account(
        self,
        label: str,
        *,
        kind: AccountKind | str = AccountKind.MANUAL,
        rules: RuleSet | str = RuleSet.GENERIC,
        settle: str = "USDT",
        exchange_id: str | None = None,
        margin_mode_default: MarginMode | str = MarginMode.CROSS,
        position_mode: PositionMode | str = PositionMode.ONE_WAY,
        taker_fee_rate: Decimal = ZERO,
        notes: str = "",
        default_leverage: Decimal | None = None,
    ) -> OpChanges:
        """Add an account (labels are unique). Never pass secrets: keys live in the keyring.

        ``exchange_id`` (a ccxt id) names the exchange a hand-logged account trades on:
        its rules, bundled tier tables and public mark prices are then that exchange's
        (``rules`` defaults to the exchange's rule set). ``default_leverage`` is the
        leverage of positions logged without one.
        """
        if exchange_id is not None and rules == RuleSet.GENERIC:
            from crossmargin.tier_snapshots import rules_for_exchange

            rules = rules_for_exchange(str(exchange_id))
        values = self._account_values(
            label=label,
            kind=kind,
            rules=rules,
            settle=settle,
            exchange_id=exchange_id,
            margin_mode_default=margin_mode_default,
            position_mode=position_mode,
            taker_fee_rate=taker_fee_rate,
            notes=notes,
            default_leverage=default_leverage,
        )
        with self._tx() as conn:
            _check_label_free(conn, values["label"])
            values["created_at"] = _now()
            new_id = _new_id(conn.execute(account_t.insert().values(**values)))
        return OpChanges(accounts=True, account_ids=frozenset({new_id}), id=new_id)

    @staticmethod
    def check_account_fields(**fields: Any) -> None:
        """Raise InputError (one line per bad field) without touching any file."""
        Journal._account_values(**fields)

    @staticmethod
    def _account_values(**kw: Any) -> dict[str, Any]:
        problems: list[str] = []
        out: dict[str, Any] = {}
        for name, raw in kw.items():
            value = raw
            try:
                if name in ("label", "settle", "notes") and not isinstance(value, str):
                    raise ValueError(f"must be text, got {value!r}")
                if name == "exchange_id" and value is not None and not isinstance(value, str):
                    raise ValueError(f"must be text or None, got {value!r}")
                if name == "label":
                    value = str(value).strip()
                    if not value:
                        raise ValueError("must not be empty")
                    if value.isdigit():
                        raise ValueError("must not be only digits (ids and labels would clash)")
                elif name == "kind":
                    value = AccountKind(value).value
                elif name == "rules":
                    value = RuleSet(value).value
                elif name in ("margin_mode_default",):
                    value = MarginMode(value).value
                elif name == "position_mode":
                    value = PositionMode(value).value
                elif name == "settle":
                    value = str(value).strip().upper()
                    if not value:
                        raise ValueError("must not be empty")
                elif name == "taker_fee_rate":
                    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                        raise ValueError(f"must be a Decimal >= 0, got {value!r}")
                elif name == "exchange_id":
                    value = (str(value).strip() or None) if value is not None else None
                elif name == "default_leverage":
                    if value is not None and (
                        not isinstance(value, Decimal) or not value.is_finite() or value <= 0
                        or value > 1000
                    ):
                        raise ValueError(f"must be a leverage > 0 (at most 1000), got {value!r}")
                elif name == "notes":
                    value = str(value)
                else:
                    raise ValueError("not an account field")
            except ValueError as exc:
                problems.append(f"account.{name}: {exc}")
                continue
            out[name] = value
        if problems:
            raise InputError(problems)
        return out

    def update_account(self, account: AccountRef, **changes: Any) -> OpChanges:
        """Change account fields (label, kind, rules, settle, exchange_id, margin_mode_default,
        position_mode, taker_fee_rate, notes, default_leverage)."""
        values = self._account_values(**changes)
        with self._tx() as conn:
            acct = self._account(conn, account)
            if "label" in values:
                _check_label_free(conn, values["label"], other_than=acct.id)
            if values:
                conn.execute(sa_update(account_t).where(account_t.c.id == acct.id).values(**values))
        return OpChanges(accounts=True, account_ids=frozenset({acct.id}))

    def delete_account(self, account: AccountRef) -> OpChanges:
        """Delete an account and everything stored under it (positions, fills, history)."""
        with self._tx() as conn:
            acct = self._account(conn, account)
            pids = {
                r[0]
                for r in conn.execute(
                    select(position_t.c.id).where(position_t.c.account_id == acct.id)
                )
            }
            for t in (fill_t, funding_t):
                conn.execute(delete(t).where(t.c.account_id == acct.id))
            conn.execute(delete(position_t).where(position_t.c.account_id == acct.id))
            conn.execute(delete(account_t).where(account_t.c.id == acct.id))
        return OpChanges.everything(
            account_ids=frozenset({acct.id}), position_ids=frozenset(pids)
        )

    def account(self, ref: AccountRef) -> Account:
        """An account by id, label (case-insensitive) or Account; InputError if unknown."""
        with self._read() as conn:
            return self._account(conn, ref)

    def accounts(self) -> list[Account]:
        """Every account, by label."""
        with self._read() as conn:
            rows = conn.execute(select(account_t).order_by(account_t.c.label)).all()
        return [_account_from_row(r) for r in rows]

    def _account(self, conn: Connection, ref: AccountRef) -> Account:
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
        return _account_from_row(row)

    # ------------------------------------------------------------------ instruments and tiers

    def set_instrument(self, account: AccountRef, instrument: Instrument) -> OpChanges:
        """Insert or replace one symbol's contract spec; re-derives that symbol's positions."""
        return self._write_instruments(account, [instrument])

    def _write_instruments(self, account: AccountRef, items: Sequence[Instrument]) -> OpChanges:
        problems: list[str] = []
        items = _canon_all(items, "instruments", problems)
        for i, ins in enumerate(items):
            _validate_instrument(ins, f"instruments[{i}]", problems)
        if problems:
            raise InputError(problems)
        with self._tx() as conn:
            acct = self._account(conn, account)
            touched = self._upsert_instruments(conn, acct, items)
        return OpChanges(
            instruments=True,
            positions=bool(touched),
            account_ids=frozenset({acct.id}),
            position_ids=frozenset(touched),
        )

    def _upsert_instruments(
        self,
        conn: Connection,
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
                changed_spec = any(getattr(old, c) != values[c] for c in _SPEC_COLS)
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
                touched |= self._rebuild(conn, acct, {(ins.symbol, leg) for leg in legs})[1]
        return touched

    def instruments(self, account: AccountRef) -> list[Instrument]:
        """The account's stored contract specs, by symbol."""
        with self._read() as conn:
            acct = self._account(conn, account)
            rows = conn.execute(
                select(instrument_t)
                .where(instrument_t.c.account_id == acct.id)
                .order_by(instrument_t.c.symbol)
            ).all()
        return [_instrument_from_row(r) for r in rows]

    def set_tiers(self, account: AccountRef, symbol: str, tiers: Sequence[Tier]) -> OpChanges:
        """Replace one symbol's maintenance-margin brackets (lowest first)."""
        return self.replace_tiers(account, {symbol: tiers})

    def replace_tiers(self, account: AccountRef, tables: Mapping[str, Sequence[Tier]]) -> OpChanges:
        """Replace the brackets of several symbols in one transaction (others untouched)."""
        problems: list[str] = []
        tables = {_canon(s, f"tiers[{s!r}]", problems): t for s, t in tables.items()}
        for symbol, tiers in tables.items():
            _validate_tiers(symbol, tiers, problems, "tiers")
        if problems:
            raise InputError(problems)
        with self._tx() as conn:
            acct = self._account(conn, account)
            self._replace_tiers(conn, acct.id, tables)
        return OpChanges(tiers=True, account_ids=frozenset({acct.id}))

    def _replace_tiers(
        self, conn: Connection, account_id: int, tiers: Mapping[str, Sequence[Tier]]
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

    def tiers(self, account: AccountRef) -> dict[str, tuple[Tier, ...]]:
        """Symbol → bracket table (lowest first) stored for an account."""
        with self._read() as conn:
            acct = self._account(conn, account)
            return self._tiers(conn, acct.id)

    @staticmethod
    def _tiers(conn: Connection, account_id: int) -> dict[str, tuple[Tier, ...]]:
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

    # ------------------------------------------------------------------ fills and positions

    def add_fill(self, account: AccountRef, fill: NewFill, *, source: str = "manual") -> OpChanges:
        """Store one fill (a duplicate of a stored one is skipped: ``duplicates == 1``)."""
        return self.add_fills(account, [fill], source=source)

    def add_fills(
        self, account: AccountRef, fills: Sequence[NewFill], *, source: str = "manual"
    ) -> OpChanges:
        """Store many fills in one transaction; duplicates (trade id or content) are skipped.

        ``OpChanges.id`` is the first new fill's id; ``inserted["fills"]`` the count.
        """
        problems: list[str] = []
        if source not in _SOURCES:
            problems.append(f"source: must be one of {', '.join(_SOURCES)}, got {source!r}")
        fills = _canon_all(fills, "fills", problems)
        for i, f in enumerate(fills):
            _validate_fill(f, f"fills[{i}]", problems)
        if problems:
            raise InputError(problems)
        with self._tx() as conn:
            acct = self._account(conn, account)
            new_ids, dups, touched = self._insert_fills(conn, acct, fills, source)
        return _fill_changes(acct.id, new_ids, dups, touched, new_ids[0] if new_ids else None)

    @staticmethod
    def _existing_keys(conn: Connection, account_id: int, table: str = "fill") -> set[str]:
        """Every dedupe key stored in ``table`` (fill, funding or transfer) for the account."""
        return {
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT dedupe_key FROM {table} WHERE account_id = ?", (account_id,)
            )
        }

    @staticmethod
    def _known_keys(conn: Connection, account_id: int, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" for _ in chunk)
            found.update(
                r[0]
                for r in conn.exec_driver_sql(
                    f"SELECT dedupe_key FROM fill WHERE account_id = ? AND dedupe_key IN ({marks})",
                    (account_id, *chunk),
                )
            )
        return found

    def _insert_fills(
        self,
        conn: Connection,
        acct: Account,
        fills: Sequence[NewFill],
        source: str,
        import_id: int | None = None,
        existing: set[str] | None = None,
    ) -> tuple[list[int], int, set[int]]:
        """Dedupe, derive positions, insert; returns (new ids, duplicates, touched positions)."""
        if not fills:
            return [], 0, set()
        if len(fills) > 1 and fills[0].time > fills[-1].time:
            fills = fills[::-1]  # newest-first exports: keep same-time fills in trade order
        fills = sorted(fills, key=lambda f: f.time)  # ids follow time (stable for ties)
        candidates = _numbered_keys(fills)
        if existing is not None:
            keys = existing
        elif len(fills) <= 5000:  # a sync cycle or a hand entry: look the keys up
            keys = self._known_keys(conn, acct.id, [k for k, _ in candidates])
        else:  # a big import: one scan of the account's keys is cheaper
            keys = self._existing_keys(conn, acct.id)
        fresh, dups = _split_new(candidates, keys)
        if not fresh:
            return [], dups, set()
        first_id = (conn.exec_driver_sql("SELECT max(id) FROM fill").scalar() or 0) + 1
        pending: dict[tuple[str, str], list[LedgerFill]] = {}
        for i, (_key, f) in enumerate(fresh):
            pending.setdefault((f.symbol, f.leg), []).append(
                LedgerFill(first_id + i, f.time, f.side, f.price, f.amount, f.fee, f.fee_currency,
                           f.realized_pnl)
            )
        placement, touched = self._rebuild(conn, acct, set(pending), pending)
        rows = []
        for i, (key, f) in enumerate(fresh):
            fid = first_id + i
            pos, nxt = placement[fid]
            rows.append(
                (
                    fid,
                    acct.id,
                    f.symbol,
                    f.leg,
                    datetime_to_micros(f.time),
                    f.side,
                    str(f.price),  # validated finite Decimals: str() is their exact text
                    str(f.amount),
                    str(f.fee),
                    f.fee_currency.upper(),
                    None if f.realized_pnl is None else str(f.realized_pnl),
                    f.trade_id,
                    f.order_id,
                    key,
                    source,
                    import_id,
                    pos,
                    nxt,
                    f.note,
                )
            )
        conn.exec_driver_sql(
            "INSERT INTO fill (id, account_id, symbol, leg, time, side, price, amount, fee, "
            "fee_currency, realized_pnl, trade_id, order_id, dedupe_key, source, import_id, "
            "position_id, next_position_id, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        return [first_id + i for i in range(len(fresh))], dups, touched

    def _spec(self, conn: Connection, account_id: int, symbol: str) -> ContractSpec:
        row = conn.execute(
            select(instrument_t).where(
                instrument_t.c.account_id == account_id, instrument_t.c.symbol == symbol
            )
        ).first()
        if row is None:
            return parse_symbol(symbol)
        return ContractSpec(row.base, row.quote, row.settle, row.contract_size, bool(row.inverse))

    def _specs(
        self, conn: Connection, keys: Iterable[tuple[int, str]]
    ) -> dict[tuple[int, str], ContractSpec]:
        """The contract spec of each (account id, symbol), looked up once per distinct key."""
        specs: dict[tuple[int, str], ContractSpec] = {}
        for k in keys:
            if k not in specs:
                specs[k] = self._spec(conn, *k)
        return specs

    def _rebuild(
        self,
        conn: Connection,
        acct: Account,
        keys: set[tuple[str, str]],
        pending: Mapping[tuple[str, str], Sequence[LedgerFill]] | None = None,
    ) -> tuple[dict[int, tuple[int, int | None]], set[int]]:
        """Re-derive the positions of each (symbol, leg) key from its fills.

        ``pending`` fills (ids allocated, not yet inserted) take part in the replay; their
        placement (position id, flip position id) is returned for the caller's insert.
        Position rows keep their id (and so their notes and tags) when they still exist
        after the replay: matched through the previous position of their fills.
        Returns (placement of pending fills, ids of positions created/changed/deleted).
        """
        pending = pending or {}
        placement_out: dict[int, tuple[int, int | None]] = {}
        touched: set[int] = set()
        next_pid = (conn.exec_driver_sql("SELECT max(id) FROM position").scalar() or 0) + 1
        funding_since: dict[str, datetime | None] = {}
        # one lookup per symbol (its legs and its funding share the spec)
        specs = self._specs(conn, ((acct.id, symbol) for symbol, _leg in sorted(keys)))
        for symbol, leg in sorted(keys):
            spec = specs[(acct.id, symbol)]
            new = list(pending.get((symbol, leg), ()))
            key_where = and_(
                fill_t.c.account_id == acct.id, fill_t.c.symbol == symbol, fill_t.c.leg == leg
            )
            pos_where = and_(
                position_t.c.account_id == acct.id,
                position_t.c.symbol == symbol,
                position_t.c.leg == leg,
            )
            window = self._append_window(conn, acct.id, symbol, leg, new)
            fsel = select(
                fill_t.c.id,
                fill_t.c.time,
                fill_t.c.side,
                fill_t.c.price,
                fill_t.c.amount,
                fill_t.c.fee,
                fill_t.c.fee_currency,
                fill_t.c.realized_pnl,
                fill_t.c.position_id,
                fill_t.c.next_position_id,
            ).where(key_where)
            psel = select(position_t).where(pos_where)
            if window is not None:
                start, last_pid = window
                if start is None:  # flat: only the new fills matter
                    fsel = fsel.where(False)  # type: ignore[arg-type]
                    psel = psel.where(False)  # type: ignore[arg-type]
                else:
                    fsel = fsel.where(fill_t.c.position_id == last_pid)
                    psel = psel.where(position_t.c.id == last_pid)
            rows = conn.execute(fsel).all()
            old = {r.id: (r.position_id, r.next_position_id) for r in rows}
            result = replay([*map(_ledger_fill, rows), *new], spec)
            existing = {r.id: r for r in conn.execute(psel).all()}
            used: set[int] = set()
            seg_ids: list[int] = []
            inserts: list[tuple[Any, ...]] = []
            updates: list[tuple[Any, ...]] = []
            head = (acct.id, symbol, leg, "0", acct.margin_mode_default.value, "", "")
            for idx, seg in enumerate(result.segments):
                pid = self._match_position(seg, idx, result.placement, old, existing, used)
                if pid is None:
                    pid = next_pid
                    next_pid += 1
                    inserts.append((pid, *head, *_derived_sql(seg)))
                    touched.add(pid)
                else:
                    row = existing[pid]
                    values = _derived_values(seg)
                    if any(getattr(row, k) != v for k, v in values.items()):
                        updates.append((*_derived_sql(seg), pid))
                        touched.add(pid)
                used.add(pid)
                seg_ids.append(pid)
            if inserts:
                conn.exec_driver_sql(_POSITION_INSERT, inserts)
            if updates:
                conn.exec_driver_sql(_POSITION_UPDATE, updates)
            fill_updates = []
            for r in rows:
                a, b = result.placement[r.id]
                new_place = (seg_ids[a], seg_ids[b] if b is not None else None)
                if old[r.id] != new_place:
                    fill_updates.append((new_place[0], new_place[1], r.id))
            for f in new:
                a, b = result.placement[f.id]
                placement_out[f.id] = (seg_ids[a], seg_ids[b] if b is not None else None)
            if fill_updates:
                conn.exec_driver_sql(
                    "UPDATE fill SET position_id = ?, next_position_id = ? WHERE id = ?",
                    fill_updates,
                )
            obsolete = set(existing) - used
            if obsolete:
                conn.execute(delete(position_t).where(position_t.c.id.in_(obsolete)))
                touched |= obsolete
            if result.segments or obsolete:
                since = None
                if window is not None:
                    since = result.segments[0].opened_at if result.segments else None
                prev = funding_since.get(symbol, since) if symbol in funding_since else since
                funding_since[symbol] = None if prev is None or since is None else min(prev, since)
        for symbol, since in funding_since.items():
            touched |= self._attribute_funding(
                conn, acct, symbol, since, specs[(acct.id, symbol)]
            )
        return placement_out, touched

    @staticmethod
    def _match_position(
        seg: Segment,
        idx: int,
        placement: Mapping[int, tuple[int, int | None]],
        old: Mapping[int, tuple[int | None, int | None]],
        existing: Mapping[int, Any],
        used: set[int],
    ) -> int | None:
        def ok(pid: int | None) -> bool:
            return pid is not None and pid in existing and pid not in used

        first = old.get(seg.open_fill_id)
        if first is not None:
            flipped_in = placement[seg.open_fill_id][1] == idx
            cand = first[1] if flipped_in else first[0]
            if ok(cand):
                return cand
        for fid in seg.fill_ids:
            prev = old.get(fid)
            if prev is not None:
                for cand in prev:
                    if ok(cand):
                        return cand
        return None

    def _append_window(
        self, conn: Connection, account_id: int, symbol: str, leg: str, new: Sequence[LedgerFill]
    ) -> tuple[datetime | None, int | None] | None:
        """When new fills only append after every stored fill of the key, the replay can
        start at the last position instead of the first: returns (start, last position id)
        or (None, None) when the key is flat; None means "replay everything"."""
        if not new:
            return None
        last = conn.execute(
            select(func.max(fill_t.c.time)).where(
                fill_t.c.account_id == account_id, fill_t.c.symbol == symbol, fill_t.c.leg == leg
            )
        ).scalar()
        if last is None:
            return (None, None)
        if min(f.time for f in new) <= last:
            return None
        row = conn.execute(
            select(
                position_t.c.id,
                position_t.c.status,
                position_t.c.opened_at,
                position_t.c.open_fill_id,
            )
            .where(
                position_t.c.account_id == account_id,
                position_t.c.symbol == symbol,
                position_t.c.leg == leg,
            )
            .order_by(position_t.c.opened_at.desc(), position_t.c.id.desc())
            .limit(1)
        ).first()
        if row is None or row.status == PositionStatus.CLOSED.value:
            return (None, None)
        flip = conn.execute(
            select(fill_t.c.next_position_id).where(fill_t.c.id == row.open_fill_id)
        ).scalar()
        if flip is not None:
            return None  # opened by a flip: its first fill also closed the previous one
        return (row.opened_at, row.id)

    def _attribute_funding(
        self,
        conn: Connection,
        acct: Account,
        symbol: str,
        since: datetime | None,
        spec: ContractSpec | None = None,
    ) -> set[int]:
        """Point each funding payment of ``symbol`` (at or after ``since``) at the position
        open when it was paid, and refresh the positions' funding sums (``spec``: the
        symbol's contract spec when the caller already has it)."""
        if spec is None:
            spec = self._spec(conn, acct.id, symbol)
        fsel = select(
            funding_t.c.id, funding_t.c.time, funding_t.c.leg, funding_t.c.position_id
        ).where(funding_t.c.account_id == acct.id, funding_t.c.symbol == symbol)
        psel = select(
            position_t.c.id,
            position_t.c.leg,
            position_t.c.opened_at,
            position_t.c.closed_at,
            position_t.c.funding,
        ).where(position_t.c.account_id == acct.id, position_t.c.symbol == symbol)
        if since is not None:
            fsel = fsel.where(funding_t.c.time >= since)
            psel = psel.where(
                or_(position_t.c.closed_at.is_(None), position_t.c.closed_at >= since)
            )
        funds = conn.execute(fsel).all()
        if not funds:
            # nothing to attribute: only positions still showing funding need a reset
            psel = psel.where(position_t.c.funding != Decimal(0))
        positions = conn.execute(psel.order_by(position_t.c.opened_at, position_t.c.id)).all()
        by_leg: dict[str, list[Any]] = {}
        for p in positions:
            by_leg.setdefault(p.leg, []).append(p)
        opens = {leg: [p.opened_at for p in ps] for leg, ps in by_leg.items()}
        changes: list[tuple[int | None, int]] = []
        affected: set[int] = set()
        for f in funds:
            target: int | None = None
            for leg in [f.leg] if f.leg else list(LEGS):
                ps = by_leg.get(leg)
                if not ps:
                    continue
                i = bisect.bisect_right(opens[leg], f.time) - 1
                if i >= 0 and (ps[i].closed_at is None or f.time < ps[i].closed_at):
                    target = ps[i].id
                    break
            if target != f.position_id:
                changes.append((target, f.id))
                if f.position_id is not None:
                    affected.add(f.position_id)
                if target is not None:
                    affected.add(target)
        if changes:
            conn.exec_driver_sql("UPDATE funding SET position_id = ? WHERE id = ?", changes)
        if since is None:
            affected |= {p.id for p in positions if p.funding != 0}
        if not affected:
            return set()
        sums: dict[int, Decimal] = dict.fromkeys(affected, ZERO)
        settle = spec.settle
        for chunk in _chunks(sorted(affected), 500):
            for pid, amount, currency in conn.execute(
                select(funding_t.c.position_id, funding_t.c.amount, funding_t.c.currency).where(
                    funding_t.c.position_id.in_(chunk)
                )
            ):
                if not currency or currency.upper() == settle:
                    sums[pid] += amount
        current = {
            r.id: r.funding
            for r in conn.execute(
                select(position_t.c.id, position_t.c.funding).where(position_t.c.id.in_(affected))
            )
        }
        ups = [
            (decimal_to_text(v), pid)
            for pid, v in sums.items()
            if pid in current and current[pid] != v
        ]
        if ups:
            conn.exec_driver_sql("UPDATE position SET funding = ? WHERE id = ?", ups)
        return {pid for _, pid in ups}

    def add_position(
        self,
        account: AccountRef,
        symbol: str,
        side: Side | str,
        contracts: Decimal,
        entry_price: Decimal,
        *,
        time: datetime | None = None,
        fee: Decimal = ZERO,
        fee_currency: str = "",
        leg: str = "net",
        tags: Iterable[str] = (),
        **annotations: Any,
    ) -> OpChanges:
        """Log a new position by hand: stores its opening fill; ``OpChanges.id`` = position id.

        Refused when the account already has an open position on that symbol and leg (add a
        fill to scale in, or close it first). ``annotations``: leverage, margin_mode,
        isolated_margin, stop_price, target_price, mark_price, setup, notes, rating.
        """
        try:
            side = Side(side)
        except ValueError:
            raise InputError(f"side: must be 'long' or 'short', got {side!r}") from None
        if annotations.get("margin_mode", "") is None:
            del annotations["margin_mode"]  # None: the position's default (cross)
        fill = NewFill(
            symbol=symbol.strip() if isinstance(symbol, str) else symbol,
            side="buy" if side is Side.LONG else "sell",
            price=entry_price,
            amount=contracts,
            time=time or _now(),
            fee=fee,
            fee_currency=fee_currency or "",
            leg=leg,
        )
        problems: list[str] = []
        fill = replace(fill, symbol=_canon(fill.symbol, "position", problems))
        _validate_fill(fill, "position", problems)
        values = _annotation_values(annotations, problems)
        tag_list = _clean_tags(tags, problems)
        if problems:
            raise InputError([p.replace("position.amount", "position.contracts") for p in problems])
        with self._tx() as conn:
            acct = self._account(conn, account)
            clash = conn.execute(
                select(position_t.c.id, position_t.c.side).where(
                    position_t.c.account_id == acct.id,
                    position_t.c.symbol == fill.symbol,
                    position_t.c.leg == leg,
                    position_t.c.status == PositionStatus.OPEN.value,
                )
            ).first()
            if clash is not None:
                raise InputError(
                    f"{acct.label} already has an open {fill.symbol} {clash.side} position "
                    f"(#{clash.id}); add a fill to it or close it first"
                )
            ids, _dups, touched = self._insert_fills(conn, acct, [fill], "manual")
            if not ids:
                raise InputError("an identical fill is already stored; nothing was added")
            pid = int(
                conn.execute(select(fill_t.c.position_id).where(fill_t.c.id == ids[0])).scalar_one()
            )
            if values:
                conn.execute(sa_update(position_t).where(position_t.c.id == pid).values(**values))
            _insert_tags(conn, pid, tag_list)
        return OpChanges(
            positions=True,
            fills=True,
            account_ids=frozenset({acct.id}),
            position_ids=frozenset(touched | {pid}),
            id=pid,
            inserted={"fills": 1},
        )

    def close_position(
        self,
        position_id: int,
        price: Decimal,
        *,
        contracts: Decimal | None = None,
        time: datetime | None = None,
        fee: Decimal = ZERO,
        fee_currency: str = "",
    ) -> OpChanges:
        """Close an open position (or ``contracts`` of it) at ``price`` with a reducing fill."""
        with self._tx() as conn:
            pos = self._position_row(conn, position_id)
            if pos.status != PositionStatus.OPEN.value:
                raise InputError(f"position #{position_id} is already closed")
            amount = pos.contracts if contracts is None else contracts
            problems: list[str] = []
            if isinstance(amount, Decimal) and amount.is_finite() and amount > pos.contracts:
                problems.append(
                    f"contracts: {amount} is more than the {pos.contracts} still open on "
                    f"#{position_id}"
                )
            when = time or _now()
            if time is not None and time.tzinfo is not None and time < pos.opened_at:
                problems.append(
                    f"time: {time.isoformat()} is before the position opened "
                    f"({pos.opened_at.isoformat()})"
                )
            fill = NewFill(
                symbol=pos.symbol,
                side="sell" if pos.side == Side.LONG.value else "buy",
                price=price,
                amount=amount,
                time=when,
                fee=fee,
                fee_currency=fee_currency or "",
                leg=pos.leg,
            )
            _validate_fill(fill, "close", problems)
            if problems:
                raise InputError([p.replace("close.amount", "close.contracts") for p in problems])
            acct = self._account(conn, pos.account_id)
            ids, _d, touched = self._insert_fills(conn, acct, [fill], "manual")
            if not ids:
                raise InputError("an identical fill is already stored; nothing was changed")
        return OpChanges(
            positions=True,
            fills=True,
            account_ids=frozenset({acct.id}),
            position_ids=frozenset(touched | {position_id}),
            id=ids[0],
            inserted={"fills": 1},
        )

    def edit_position(self, position_id: int, **changes: Any) -> OpChanges:
        """Change a position's own fields: leverage, margin_mode, isolated_margin, stop_price,
        target_price, mark_price, exchange_liquidation_price, setup, notes, rating, tags.

        Size, prices and times come from fills: edit those with :meth:`edit_fill`.
        """
        problems: list[str] = []
        tags = changes.pop("tags", None)
        if "margin_mode" in changes and changes["margin_mode"] is None:
            problems.append("margin_mode: must be cross or isolated, got None")
            del changes["margin_mode"]
        values = _annotation_values(changes, problems)
        tag_list = _clean_tags(tags, problems) if tags is not None else None
        if problems:
            raise InputError(problems)
        with self._tx() as conn:
            pos = self._position_row(conn, position_id)
            if values:
                conn.execute(
                    sa_update(position_t).where(position_t.c.id == pos.id).values(**values)
                )
            if tag_list is not None:
                conn.execute(delete(position_tag_t).where(position_tag_t.c.position_id == pos.id))
                _insert_tags(conn, pos.id, tag_list)
        return OpChanges(
            positions=True,
            account_ids=frozenset({pos.account_id}),
            position_ids=frozenset({pos.id}),
        )

    def add_tags(self, position_id: int, tags: Iterable[str]) -> OpChanges:
        """Add tags to a position (existing ones are kept)."""
        current = self.position(position_id).tags
        return self.edit_position(position_id, tags=(*current, *tags))

    def remove_tags(self, position_id: int, tags: Iterable[str]) -> OpChanges:
        """Remove tags from a position (case-insensitive; absent ones are ignored)."""
        drop = {t.strip().lower() for t in tags}
        current = self.position(position_id).tags
        return self.edit_position(position_id, tags=[t for t in current if t not in drop])

    def delete_position(self, position_id: int) -> OpChanges:
        """Delete a position and its fills.

        Fills shared with a neighbour through a flip are cut, not deleted: the fill that
        flipped into this position keeps the part that closed the previous position, the
        fill that flipped out of it keeps the part that opened the next one (fees pro rata),
        so the neighbouring positions stay exactly as they were.
        """
        with self._tx() as conn:
            pos = self._position_row(conn, position_id)
            acct = self._account(conn, pos.account_id)
            spec = self._spec(conn, acct.id, pos.symbol)
            rows = conn.execute(
                select(fill_t).where(
                    fill_t.c.account_id == acct.id,
                    fill_t.c.symbol == pos.symbol,
                    fill_t.c.leg == pos.leg,
                )
            ).all()
            result = replay([_ledger_fill(r) for r in rows], spec)
            k = next(
                (
                    i
                    for i, seg in enumerate(result.segments)
                    if seg.open_fill_id == pos.open_fill_id
                ),
                None,
            )
            doomed = [r.id for r in rows if pos.id in (r.position_id, r.next_position_id)]
            if k is not None:
                doomed = []
                for r in rows:
                    a, b = result.placement[r.id]
                    if (a, b) == (k, None):
                        doomed.append(r.id)
                        continue
                    if b == k:  # flipped in: keep the part that closed the previous position
                        keep = result.flip_close[r.id]
                    elif a == k and b is not None:  # flipped out: keep what opened the next one
                        keep = r.amount - result.flip_close[r.id]
                    else:
                        continue
                    conn.execute(
                        sa_update(fill_t)
                        .where(fill_t.c.id == r.id)
                        .values(amount=keep, fee=r.fee * keep / r.amount)
                    )
            for chunk in _chunks(doomed, 500):
                conn.execute(delete(fill_t).where(fill_t.c.id.in_(chunk)))
            conn.execute(delete(position_t).where(position_t.c.id == pos.id))
            _p, touched = self._rebuild(conn, acct, {(pos.symbol, pos.leg)})
        return _rederived(acct.id, touched | {pos.id})

    def edit_fill(self, fill_id: int, **changes: Any) -> OpChanges:
        """Change a fill (time, side, price, amount, fee, fee_currency, symbol, leg, note,
        order_id); the positions of the old and new key are re-derived. The fill keeps its
        duplicate-detection key, so re-importing the row it came from does not bring the
        unedited version back."""
        unknown = set(changes) - set(_FILL_EDITABLE)
        if unknown:
            raise InputError([f"fill.{k}: cannot be edited" for k in sorted(unknown)])
        with self._tx() as conn:
            row = self._fill_row(conn, fill_id)
            merged = NewFill(
                **{k: changes.get(k, getattr(row, k)) for k in _FILL_EDITABLE},
                trade_id=row.trade_id,
            )
            problems: list[str] = []
            merged = replace(merged, symbol=_canon(merged.symbol, "fill", problems))
            _validate_fill(merged, "fill", problems)
            if problems:
                raise InputError(problems)
            acct = self._account(conn, row.account_id)
            values = {k: getattr(merged, k) for k in _FILL_EDITABLE}
            values["fee_currency"] = merged.fee_currency.upper()
            conn.execute(sa_update(fill_t).where(fill_t.c.id == fill_id).values(**values))
            _p, touched = self._rebuild(
                conn, acct, {(row.symbol, row.leg), (merged.symbol, merged.leg)}
            )
        return _rederived(acct.id, touched, main_id=fill_id)

    def delete_fill(self, fill_id: int) -> OpChanges:
        """Delete one fill; its positions are re-derived."""
        with self._tx() as conn:
            row = self._fill_row(conn, fill_id)
            acct = self._account(conn, row.account_id)
            conn.execute(delete(fill_t).where(fill_t.c.id == fill_id))
            _p, touched = self._rebuild(conn, acct, {(row.symbol, row.leg)})
        return _rederived(acct.id, touched)

    @staticmethod
    def _fill_row(conn: Connection, fill_id: int) -> Any:
        row = conn.execute(select(fill_t).where(fill_t.c.id == fill_id)).first()
        if row is None:
            raise InputError(f"fill #{fill_id} not found")
        return row

    def _position_row(self, conn: Connection, position_id: int) -> Any:
        row = conn.execute(select(position_t).where(position_t.c.id == position_id)).first()
        if row is None:
            raise InputError(f"position #{position_id} not found")
        return row

    # ------------------------------------------------------------------ reads

    def position(self, position_id: int) -> JournalPosition:
        """One position by id (InputError if unknown)."""
        with self._read() as conn:
            row = self._position_row(conn, position_id)
            return self._to_positions(conn, [row])[0]

    def positions(
        self, filt: PositionFilter | None = None, *, offset: int = 0, limit: int = 100
    ) -> Page[JournalPosition]:
        """Positions matching ``filt``, newest opened first, one page at a time."""
        filt = filt or PositionFilter()
        _check_paging(offset, limit, _MAX_PAGE)
        with self._read() as conn:
            where = self._position_where(conn, filt)
            total, rows = _page_rows(
                conn,
                position_t,
                where,
                (position_t.c.opened_at.desc(), position_t.c.id.desc()),
                offset,
                limit,
            )
            items = self._to_positions(conn, rows)
        return Page(tuple(items), total, offset, limit)

    def open_positions(self, account: AccountRef) -> list[JournalPosition]:
        """The account's open positions, newest first."""
        page = self.positions(
            PositionFilter(account=account, status=PositionStatus.OPEN), limit=_MAX_PAGE
        )
        return list(page.items)

    def _position_where(self, conn: Connection, filt: PositionFilter) -> list[Any]:
        where: list[Any] = []
        problems: list[str] = []
        _aware(filt.since, "since", problems)
        _aware(filt.until, "until", problems)
        if filt.status is not None and filt.status not in tuple(PositionStatus):
            problems.append(f"status: must be open or closed, got {filt.status!r}")
        if filt.side is not None and filt.side not in tuple(Side):
            problems.append(f"side: must be long or short, got {filt.side!r}")
        if problems:
            raise InputError(problems)
        if filt.account is not None:
            where.append(position_t.c.account_id == self._account(conn, filt.account).id)
        if filt.symbol:
            where.append(position_t.c.symbol == canonical_or_same(filt.symbol))
        if filt.status is not None:
            where.append(position_t.c.status == PositionStatus(filt.status).value)
        if filt.side is not None:
            where.append(position_t.c.side == Side(filt.side).value)
        if filt.since is not None:
            where.append(position_t.c.activity_at >= filt.since)
        if filt.until is not None:
            where.append(position_t.c.activity_at < filt.until)
        if filt.tag:
            where.append(
                position_t.c.id.in_(
                    select(position_tag_t.c.position_id).where(
                        position_tag_t.c.tag == filt.tag.strip().lower()
                    )
                )
            )
        return where

    def _to_positions(self, conn: Connection, rows: Sequence[Any]) -> list[JournalPosition]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        tags: dict[int, list[str]] = {}
        for chunk in _chunks(ids, 500):
            for pid, tag in conn.execute(
                select(position_tag_t.c.position_id, position_tag_t.c.tag)
                .where(position_tag_t.c.position_id.in_(chunk))
                .order_by(position_tag_t.c.tag)
            ):
                tags.setdefault(pid, []).append(tag)
        specs = self._specs(conn, ((r.account_id, r.symbol) for r in rows))
        out = []
        for r in rows:
            spec = specs[(r.account_id, r.symbol)]
            out.append(
                JournalPosition(
                    id=JournalPositionId(r.id),
                    account_id=AccountId(r.account_id),
                    symbol=r.symbol,
                    leg=r.leg,
                    side=Side(r.side),
                    status=PositionStatus(r.status),
                    opened_at=r.opened_at,
                    closed_at=r.closed_at,
                    contracts=r.contracts,
                    max_contracts=r.max_contracts,
                    closed_contracts=r.closed_contracts,
                    entry_price=r.entry_price,
                    exit_price=r.exit_price,
                    realized_pnl=r.realized_pnl,
                    fees=r.fees,
                    other_fees=_parse_other_fees(r.other_fees),
                    funding=r.funding,
                    fill_count=r.fill_count,
                    settle=spec.settle,
                    contract_size=spec.contract_size,
                    inverse=spec.inverse,
                    leverage=r.leverage,
                    margin_mode=MarginMode(r.margin_mode),
                    isolated_margin=r.isolated_margin,
                    stop_price=r.stop_price,
                    target_price=r.target_price,
                    mark_price=r.mark_price,
                    exchange_liquidation_price=r.exchange_liquidation_price,
                    setup=r.setup,
                    notes=r.notes,
                    rating=r.rating,
                    tags=tuple(tags.get(r.id, ())),
                    computed_pnl=r.computed_pnl,
                )
            )
        return out

    def fills(
        self,
        *,
        account: AccountRef | None = None,
        position_id: int | None = None,
        symbol: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> Page[Fill]:
        """Fills, newest first. ``position_id`` also matches a fill that flipped into it."""
        _check_paging(offset, limit, 1_000_000)
        _check_range(since, until)
        with self._read() as conn:
            where: list[Any] = []
            if account is not None:
                where.append(fill_t.c.account_id == self._account(conn, account).id)
            if position_id is not None:
                where.append(
                    or_(
                        fill_t.c.position_id == position_id,
                        fill_t.c.next_position_id == position_id,
                    )
                )
            if symbol:
                where.append(fill_t.c.symbol == canonical_or_same(symbol))
            where += _time_window(fill_t.c.time, since, until)
            total, rows = _page_rows(
                conn, fill_t, where, (fill_t.c.time.desc(), fill_t.c.id.desc()), offset, limit
            )
        items = tuple(_fill_from_row(r) for r in rows)
        return Page(items, total, offset, limit)

    def symbols(self, account: AccountRef) -> list[str]:
        """Every symbol the account has fills on (sorted)."""
        with self._read() as conn:
            acct = self._account(conn, account)
            return [
                r[0]
                for r in conn.execute(
                    select(fill_t.c.symbol)
                    .where(fill_t.c.account_id == acct.id)
                    .distinct()
                    .order_by(fill_t.c.symbol)
                )
            ]

    def fill(self, fill_id: int) -> Fill:
        """One fill by id (InputError if unknown)."""
        with self._read() as conn:
            return _fill_from_row(self._fill_row(conn, fill_id))

    def tags(self) -> list[str]:
        """Every tag in use, sorted."""
        with self._read() as conn:
            return [
                r[0]
                for r in conn.execute(
                    select(position_tag_t.c.tag).distinct().order_by(position_tag_t.c.tag)
                )
            ]

    # ------------------------------------------------------------ funding, transfers, snapshots

    def add_funding(self, account: AccountRef, payments: Sequence[NewFunding]) -> OpChanges:
        """Store funding payments (+ received, − paid); duplicates by exchange id are skipped."""
        problems: list[str] = []
        payments = _canon_all(payments, "funding", problems)
        for i, p in enumerate(payments):
            _validate_funding(p, f"funding[{i}]", problems)
        if problems:
            raise InputError(problems)
        with self._tx() as conn:
            acct = self._account(conn, account)
            n, dups, touched = self._insert_funding(conn, acct, payments)
        return OpChanges(
            funding=bool(n),
            positions=bool(touched),
            account_ids=frozenset({acct.id}),
            position_ids=frozenset(touched),
            inserted={"funding": n},
            duplicates=dups,
        )

    def _insert_funding(
        self, conn: Connection, acct: Account, payments: Sequence[NewFunding]
    ) -> tuple[int, int, set[int]]:
        if not payments:
            return 0, 0, set()
        keys = self._existing_keys(conn, acct.id, "funding")
        fresh, dups = _split_new(((_funding_key(p), p) for p in payments), keys)
        rows = []
        earliest: dict[str, datetime] = {}
        for key, p in fresh:
            rows.append(
                {
                    "account_id": acct.id,
                    "symbol": p.symbol,
                    "leg": p.leg,
                    "time": p.time,
                    "amount": p.amount,
                    "currency": p.currency.upper(),
                    "exchange_id": p.exchange_id,
                    "dedupe_key": key,
                    "position_id": None,
                }
            )
            earliest[p.symbol] = min(earliest.get(p.symbol, p.time), p.time)
        if rows:
            conn.execute(funding_t.insert(), rows)
        touched: set[int] = set()
        for symbol, since in earliest.items():
            touched |= self._attribute_funding(conn, acct, symbol, since)
        return len(rows), dups, touched

    def funding_payments(
        self,
        *,
        account: AccountRef | None = None,
        position_id: int | None = None,
        symbol: str | None = None,
    ) -> list[FundingPayment]:
        """Funding payments, oldest first."""
        with self._read() as conn:
            where: list[Any] = []
            if account is not None:
                where.append(funding_t.c.account_id == self._account(conn, account).id)
            if position_id is not None:
                where.append(funding_t.c.position_id == position_id)
            if symbol:
                where.append(funding_t.c.symbol == canonical_or_same(symbol))
            rows = conn.execute(
                select(funding_t).where(*where).order_by(funding_t.c.time, funding_t.c.id)
            ).all()
        return [
            FundingPayment(
                r.id,
                AccountId(r.account_id),
                r.symbol,
                r.time,
                r.amount,
                r.currency,
                r.exchange_id,
                r.position_id,
            )
            for r in rows
        ]

    def add_transfers(self, account: AccountRef, transfers: Sequence[NewTransfer]) -> OpChanges:
        """Store deposits (+), withdrawals (−) and transfers; duplicates by exchange id skipped."""
        problems: list[str] = []
        for i, t in enumerate(transfers):
            _validate_transfer(t, f"transfers[{i}]", problems)
        if problems:
            raise InputError(problems)
        with self._tx() as conn:
            acct = self._account(conn, account)
            n, dups = self._insert_transfers(conn, acct, transfers)
        return OpChanges(
            transfers=bool(n),
            account_ids=frozenset({acct.id}),
            inserted={"transfers": n},
            duplicates=dups,
        )

    def _insert_transfers(
        self, conn: Connection, acct: Account, transfers: Sequence[NewTransfer]
    ) -> tuple[int, int]:
        if not transfers:
            return 0, 0
        keys = self._existing_keys(conn, acct.id, "transfer")
        fresh, dups = _split_new(((_transfer_key(t), t) for t in transfers), keys)
        rows = [
            {
                "account_id": acct.id,
                "time": t.time,
                "currency": t.currency.upper(),
                "amount": t.amount,
                "kind": t.kind,
                "exchange_id": t.exchange_id,
                "dedupe_key": key,
                "note": t.note,
            }
            for key, t in fresh
        ]
        if rows:
            conn.execute(transfer_t.insert(), rows)
        return len(rows), dups

    def transfers(self, account: AccountRef) -> list[Transfer]:
        """Deposits, withdrawals and transfers, oldest first."""
        with self._read() as conn:
            acct = self._account(conn, account)
            rows = conn.execute(
                select(transfer_t)
                .where(transfer_t.c.account_id == acct.id)
                .order_by(transfer_t.c.time)
            ).all()
        return [
            Transfer(
                r.id,
                AccountId(r.account_id),
                r.time,
                r.currency,
                r.amount,
                r.kind,
                r.exchange_id,
                r.note,
            )
            for r in rows
        ]

    def record_marks(self, account: AccountRef, marks: Mapping[str, Decimal]) -> OpChanges:
        """Set the last known mark price (quote currency) of the account's open positions
        on each symbol in ``marks`` (e.g. from a live public feed), so the account is
        evaluated at them when no feed is running."""
        problems: list[str] = []
        clean: dict[str, Decimal] = {}
        for symbol, mark in marks.items():
            if not isinstance(mark, Decimal) or not mark.is_finite() or mark <= 0:
                problems.append(f"marks[{symbol!r}]: must be a Decimal > 0, got {mark!r}")
                continue
            clean[_canon(symbol, f"marks[{symbol!r}]", problems)] = mark
        if problems:
            raise InputError(problems)
        touched: set[int] = set()
        with self._tx() as conn:
            acct = self._account(conn, account)
            for symbol, mark in clean.items():
                ids = [r.id for r in conn.execute(
                    select(position_t.c.id).where(
                        position_t.c.account_id == acct.id, position_t.c.symbol == symbol,
                        position_t.c.status == PositionStatus.OPEN.value))]
                if ids:
                    conn.execute(sa_update(position_t).where(position_t.c.id.in_(ids))
                                 .values(mark_price=mark))
                    touched |= set(ids)
        return OpChanges(positions=bool(touched), account_ids=frozenset({acct.id}),
                         position_ids=frozenset(touched))

    def wallet_explained(self, account: AccountRef, currency: str | None = None) -> Decimal:
        """What the journal says moved the ``currency`` wallet (default: the account's
        settlement currency), all time: Σ realised PnL − Σ fees of the positions settled
        in it, + Σ funding and Σ transfers in it. Between two syncs the wallet must move by
        exactly the change of this figure (``wallet = transfers + realised + fees +
        funding``); fees in a third currency (BNB) move that currency's wallet instead."""
        return sum(self.wallet_ledger(account, currency).values(), ZERO)

    def wallet_ledger(self, account: AccountRef, currency: str | None = None
                      ) -> dict[str, Decimal]:
        """:meth:`wallet_explained` by kind: ``transfers``, ``realized_pnl``, ``fees``
        (negative: paid) and ``funding`` (settlement currency unless ``currency``)."""
        out = {"transfers": ZERO, "realized_pnl": ZERO, "fees": ZERO, "funding": ZERO}
        with self._read() as conn:
            acct = self._account(conn, account)
            cur = (currency or acct.settle).strip().upper()
            rows = conn.execute(
                select(position_t.c.symbol, position_t.c.realized_pnl, position_t.c.fees)
                .where(position_t.c.account_id == acct.id)
            ).all()
            specs = self._specs(conn, ((acct.id, r.symbol) for r in rows))
            for r in rows:
                if specs[(acct.id, r.symbol)].settle.upper() == cur:
                    out["realized_pnl"] += r.realized_pnl
                    out["fees"] -= r.fees
            for key, table in (("funding", funding_t), ("transfers", transfer_t)):
                out[key] = sum(
                    (a for (a,) in conn.execute(
                        select(table.c.amount).where(
                            table.c.account_id == acct.id, table.c.currency == cur
                        )
                    )),
                    ZERO,
                )
        return out

    def record_balance(
        self,
        account: AccountRef,
        wallet_balance: Decimal,
        *,
        currency: str | None = None,
        time: datetime | None = None,
        available: Decimal | None = None,
        unrealized_pnl: Decimal | None = None,
    ) -> OpChanges:
        """Record the wallet balance (excl. uPnL) of one currency (default: settle).

        It is the currency's whole wallet, isolated positions' wallets included, as the
        exchanges report it; :meth:`build_scenario` derives the cross wallet from it.
        """
        acct_id = self._record_snapshot(
            balance_t,
            account,
            time,
            currency,
            ("wallet_balance", wallet_balance),
            {"available": available, "unrealized_pnl": unrealized_pnl},
        )
        return OpChanges(balances=True, account_ids=frozenset({acct_id}))

    def record_equity(
        self,
        account: AccountRef,
        equity: Decimal,
        *,
        time: datetime | None = None,
        currency: str | None = None,
        wallet_balance: Decimal | None = None,
        unrealized_pnl: Decimal | None = None,
        margin_ratio: Decimal | None = None,
    ) -> OpChanges:
        """Append one point of the equity time series (settle ccy unless ``currency``)."""
        acct_id = self._record_snapshot(
            equity_t,
            account,
            time,
            currency,
            ("equity", equity),
            {
                "wallet_balance": wallet_balance,
                "unrealized_pnl": unrealized_pnl,
                "margin_ratio": margin_ratio,
            },
        )
        return OpChanges(equity=True, account_ids=frozenset({acct_id}))

    def _record_snapshot(
        self,
        table: Any,
        account: AccountRef,
        time: datetime | None,
        currency: str | None,
        main: tuple[str, Any],
        optional: Mapping[str, Any],
    ) -> int:
        """Validate and insert one balance or equity row; returns the account id.

        ``main`` is the (column, value) that must be a Decimal; ``optional`` the Decimal
        columns that may be None (all signs allowed). Problems are listed in the order
        main, currency, optional columns, time.
        """
        problems: list[str] = []
        _dec_required(main[1], main[0], problems, positive=False)
        _currency_or_none(currency, "currency", problems)
        for name, value in optional.items():
            _dec_or_none(value, name, problems, positive=False)
        _aware(time, "time", problems)
        if problems:
            raise InputError(problems)
        with self._tx() as conn:
            acct = self._account(conn, account)
            conn.execute(
                table.insert().values(
                    **_snapshot_row(acct, time or _now(), currency, {main[0]: main[1], **optional})
                )
            )
        return acct.id

    def balance_history(
        self,
        account: AccountRef,
        *,
        currency: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[BalanceSnapshot]:
        """Balance snapshots, oldest first."""
        _check_range(since, until, currency)
        with self._read() as conn:
            acct = self._account(conn, account)
            where = [balance_t.c.account_id == acct.id]
            if currency:
                where.append(balance_t.c.currency == currency.upper())
            where += _time_window(balance_t.c.time, since, until)
            rows = conn.execute(
                select(balance_t).where(*where).order_by(balance_t.c.time, balance_t.c.id)
            ).all()
        return [_balance_from_row(r) for r in rows]

    def latest_balance(
        self, account: AccountRef, currency: str | None = None
    ) -> BalanceSnapshot | None:
        """The newest balance snapshot of ``currency`` (default: settle), or None."""
        with self._read() as conn:
            acct = self._account(conn, account)
            return self._latest_balance(conn, acct, currency)

    @staticmethod
    def _latest_balance(
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
        return None if r is None else _balance_from_row(r)

    def equity_history(
        self,
        account: AccountRef | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EquitySnapshot]:
        """Equity snapshots (all accounts when ``account`` is None), oldest first."""
        _check_range(since, until)
        with self._read() as conn:
            where: list[Any] = []
            if account is not None:
                where.append(equity_t.c.account_id == self._account(conn, account).id)
            where += _time_window(equity_t.c.time, since, until)
            rows = conn.execute(
                select(equity_t).where(*where).order_by(equity_t.c.time, equity_t.c.id)
            ).all()
        return [
            EquitySnapshot(
                AccountId(r.account_id),
                r.time,
                r.currency,
                r.equity,
                r.wallet_balance,
                r.unrealized_pnl,
                r.margin_ratio,
            )
            for r in rows
        ]

    def pooled_equity(
        self,
        currency: str = "USDT",
        *,
        accounts: Sequence[AccountRef] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[datetime, Decimal]]:
        """The pooled-equity curve: at each snapshot time, the sum over accounts of each
        account's latest equity snapshot in ``currency`` (carried forward; an account counts
        from its first snapshot on). Oldest first; ``since``/``until`` bound the times."""
        _check_range(since, until, currency, currency_required=True)
        cur = currency.upper()
        with self._read() as conn:
            where: list[Any] = [equity_t.c.currency == cur]
            if accounts is not None:
                ids = [self._account(conn, a).id for a in accounts]
                where.append(equity_t.c.account_id.in_(ids))
            # ``since`` is applied after the carry-forward sum, not in SQL
            where += _time_window(equity_t.c.time, None, until)
            rows = conn.execute(
                select(equity_t.c.time, equity_t.c.account_id, equity_t.c.equity)
                .where(*where)
                .order_by(equity_t.c.time, equity_t.c.id)
            ).all()
        latest: dict[int, Decimal] = {}
        total = ZERO
        out: list[tuple[datetime, Decimal]] = []
        for t, account_id, equity in rows:
            total += equity - latest.get(account_id, ZERO)
            latest[account_id] = equity
            if since is not None and t < since:
                continue
            if out and out[-1][0] == t:
                out[-1] = (t, total)
            else:
                out.append((t, total))
        return out

    def exchange_positions(self, account: AccountRef) -> list[ExchangePosition]:
        """The exchange's open positions as of the last positions sync."""
        with self._read() as conn:
            acct = self._account(conn, account)
            rows = conn.execute(_exchange_positions_select(acct.id)).all()
        return [
            ExchangePosition(
                r.symbol,
                Side(r.side),
                r.contracts,
                r.entry_price,
                r.mark_price,
                r.leverage,
                MarginMode(r.margin_mode),
                r.isolated_margin,
                r.contract_size,
                bool(r.inverse),
                r.liquidation_price,
                r.unrealized_pnl,
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ sync

    def sync_cursor(self, account: AccountRef, endpoint: str) -> str | None:
        """The cursor stored by the last committed batch for (account, endpoint), or None."""
        with self._read() as conn:
            acct = self._account(conn, account)
            return conn.execute(
                select(sync_cursor_t.c.value).where(
                    sync_cursor_t.c.account_id == acct.id, sync_cursor_t.c.endpoint == endpoint
                )
            ).scalar()

    def sync_cursors(self, account: AccountRef) -> dict[str, str]:
        """Endpoint → cursor stored by the last committed batch."""
        with self._read() as conn:
            acct = self._account(conn, account)
            return {
                e: v
                for e, v in conn.execute(
                    select(sync_cursor_t.c.endpoint, sync_cursor_t.c.value).where(
                        sync_cursor_t.c.account_id == acct.id
                    )
                )
            }

    def apply_sync_batch(self, account: AccountRef, batch: SyncBatch) -> OpChanges:
        """Apply one sync cycle atomically (see :class:`SyncBatch`); returns what changed.

        Validation happens first: any bad record raises InputError naming it
        (``batch.fills[3].price: ...``) and nothing is written; so does a key repeated
        inside the batch (two positions with the same symbol, side and margin mode, two
        specs for one instrument, two balances of one currency). Then, in one transaction:
        instruments, tiers, fills (dedup by exchange trade id; positions re-derived),
        funding and transfers (dedup by exchange id), balance and equity snapshots at
        ``fetched_at``, the exchange's open positions (replacing the stored set and
        copying mark, leverage, margin mode, isolated margin and liquidation price onto
        the matching open journal positions; see ``_replace_exchange_positions`` for a
        cross + isolated pair on one journal position) and finally the cursors.
        """
        problems: list[str] = []
        batch = replace(
            batch,
            fills=tuple(_canon_all(batch.fills, "batch.fills", problems)),
            funding=tuple(_canon_all(batch.funding, "batch.funding", problems)),
            instruments=tuple(_canon_all(batch.instruments, "batch.instruments", problems)),
            tiers={_canon(s, f"batch.tiers[{s!r}]", problems): t for s, t in batch.tiers.items()},
            positions=None if batch.positions is None
            else tuple(_canon_all(batch.positions, "batch.positions", problems)),
        )
        _datetime_field(batch.fetched_at, "batch.fetched_at", problems)
        for i, f in enumerate(batch.fills):
            _validate_fill(f, f"batch.fills[{i}]", problems)
        for i, p in enumerate(batch.funding):
            _validate_funding(p, f"batch.funding[{i}]", problems)
        for i, t in enumerate(batch.transfers):
            _validate_transfer(t, f"batch.transfers[{i}]", problems)
        first_symbol: dict[str, int] = {}
        for i, ins in enumerate(batch.instruments):
            _validate_instrument(ins, f"batch.instruments[{i}]", problems)
            if isinstance(ins.symbol, str) and ins.symbol in first_symbol:
                problems.append(
                    f"batch.instruments[{i}]: {ins.symbol} is listed twice (first at "
                    f"batch.instruments[{first_symbol[ins.symbol]}]); send one spec per symbol"
                )
            first_symbol.setdefault(ins.symbol, i)
        for symbol, table in batch.tiers.items():
            _validate_tiers(symbol, table, problems, "batch.tiers")
        first_currency: dict[str, int] = {}
        for i, b in enumerate(batch.balances):
            w = f"batch.balances[{i}]"
            if _currency_or_none(b.currency, f"{w}.currency", problems, required=True):
                cur = b.currency.strip().upper()
                if cur in first_currency:
                    problems.append(
                        f"{w}: a second {cur} balance (first at "
                        f"batch.balances[{first_currency[cur]}]); one balance per currency"
                    )
                first_currency.setdefault(cur, i)
            _dec_required(b.wallet_balance, f"{w}.wallet_balance", problems, False)
            _dec_or_none(b.available, f"{w}.available", problems, False)
            _dec_or_none(b.unrealized_pnl, f"{w}.unrealized_pnl", problems, False)
        _validate_exchange_positions(batch.positions or (), problems)
        if batch.equity is not None:
            e = batch.equity
            _currency_or_none(e.currency, "batch.equity.currency", problems, required=True)
            _dec_required(e.equity, "batch.equity.equity", problems, False)
            for name in ("wallet_balance", "unrealized_pnl", "margin_ratio"):
                _dec_or_none(getattr(e, name), f"batch.equity.{name}", problems, False)
        for endpoint, value in batch.cursors.items():
            if not isinstance(endpoint, str) or not endpoint or not isinstance(value, str):
                problems.append(f"batch.cursors[{endpoint!r}]: endpoint and text value required")
        if problems:
            raise InputError(problems)
        at = batch.fetched_at
        with self._tx() as conn:
            acct = self._account(conn, account)
            touched: set[int] = set()
            if batch.instruments:
                touched |= self._upsert_instruments(
                    conn, acct, batch.instruments, keep_optional=True
                )
            if batch.tiers:
                self._replace_tiers(conn, acct.id, batch.tiers)
            new_fills, fill_dups, t2 = self._insert_fills(conn, acct, batch.fills, "sync")
            touched |= t2
            n_funding, fund_dups, t3 = self._insert_funding(conn, acct, batch.funding)
            touched |= t3
            n_transfers, tr_dups = self._insert_transfers(conn, acct, batch.transfers)
            if batch.balances:
                conn.execute(
                    balance_t.insert(),
                    [
                        _snapshot_row(
                            acct,
                            at,
                            b.currency,
                            {
                                "wallet_balance": b.wallet_balance,
                                "available": b.available,
                                "unrealized_pnl": b.unrealized_pnl,
                            },
                        )
                        for b in batch.balances
                    ],
                )
            if batch.equity is not None:
                e = batch.equity
                conn.execute(
                    equity_t.insert().values(
                        **_snapshot_row(
                            acct,
                            at,
                            e.currency,
                            {
                                "equity": e.equity,
                                "wallet_balance": e.wallet_balance,
                                "unrealized_pnl": e.unrealized_pnl,
                                "margin_ratio": e.margin_ratio,
                            },
                        )
                    )
                )
            if batch.positions is not None:
                touched |= self._replace_exchange_positions(conn, acct, batch.positions, at)
            for endpoint, value in batch.cursors.items():
                conn.execute(
                    delete(sync_cursor_t).where(
                        sync_cursor_t.c.account_id == acct.id, sync_cursor_t.c.endpoint == endpoint
                    )
                )
                conn.execute(
                    sync_cursor_t.insert().values(
                        account_id=acct.id, endpoint=endpoint, value=value, updated_at=at
                    )
                )
        return OpChanges(
            instruments=bool(batch.instruments),
            tiers=bool(batch.tiers),
            fills=bool(new_fills),
            positions=bool(touched),
            funding=bool(n_funding),
            transfers=bool(n_transfers),
            balances=bool(batch.balances),
            equity=batch.equity is not None,
            exchange_positions=batch.positions is not None,
            cursors=bool(batch.cursors),
            account_ids=frozenset({acct.id}),
            position_ids=frozenset(touched),
            inserted={"fills": len(new_fills), "funding": n_funding, "transfers": n_transfers},
            duplicates=fill_dups + fund_dups + tr_dups,
        )

    def _replace_exchange_positions(
        self, conn: Connection, acct: Account, positions: Sequence[ExchangePosition], at: datetime
    ) -> set[int]:
        conn.execute(delete(exchange_position_t).where(exchange_position_t.c.account_id == acct.id))
        if positions:
            conn.execute(
                exchange_position_t.insert(),
                [
                    {
                        "account_id": acct.id,
                        "symbol": p.symbol,
                        "side": Side(p.side).value,
                        "contracts": p.contracts,
                        "entry_price": p.entry_price,
                        "mark_price": p.mark_price,
                        "leverage": p.leverage,
                        "margin_mode": MarginMode(p.margin_mode).value,
                        "isolated_margin": p.isolated_margin,
                        "contract_size": p.contract_size,
                        "inverse": p.inverse,
                        "liquidation_price": p.liquidation_price,
                        "unrealized_pnl": p.unrealized_pnl,
                        "updated_at": at,
                    }
                    for p in positions
                ],
            )
        conn.execute(
            sa_update(account_t).where(account_t.c.id == acct.id).values(positions_synced_at=at)
        )
        # The journal derives one position per (symbol, leg) from fills, so a cross and an
        # isolated exchange position on the same symbol and side (OKX) both match the same
        # journal position: it gets their common mark (and leverage when they agree) but no
        # exchange liquidation price, margin mode or isolated margin, which belong to one
        # of them only (the exchange positions themselves keep every figure).
        hedge = acct.position_mode is PositionMode.HEDGE
        matches: dict[int, list[ExchangePosition]] = {}
        open_ids: dict[tuple[str, str, str], int] = {}
        if positions:  # one query for the account's open positions, not one per position
            for r in conn.execute(
                select(position_t.c.id, position_t.c.symbol, position_t.c.leg, position_t.c.side)
                .where(
                    position_t.c.account_id == acct.id,
                    position_t.c.status == PositionStatus.OPEN.value,
                )
                .order_by(position_t.c.id)
            ):
                open_ids.setdefault((r.symbol, r.leg, r.side), r.id)
        for p in positions:
            side = Side(p.side).value
            pid = open_ids.get((p.symbol, side if hedge else "net", side))
            if pid is not None:
                matches.setdefault(pid, []).append(p)
        for pid, found in matches.items():
            if len(found) == 1:
                p = found[0]
                values: dict[str, Any] = {
                    "mark_price": p.mark_price,
                    "leverage": p.leverage,
                    "margin_mode": MarginMode(p.margin_mode).value,
                    "isolated_margin": p.isolated_margin
                    if p.margin_mode == MarginMode.ISOLATED
                    else None,
                    "exchange_liquidation_price": p.liquidation_price,
                }
            else:
                values = {"mark_price": found[0].mark_price, "exchange_liquidation_price": None}
                if len({p.leverage for p in found}) == 1:
                    values["leverage"] = found[0].leverage
            conn.execute(sa_update(position_t).where(position_t.c.id == pid).values(**values))
        return set(matches)

    # ------------------------------------------------------------------ statistics

    def statistics(self, filt: PositionFilter | None = None) -> list[Statistics]:
        """Performance of the closed positions matching ``filt``, one entry per settlement
        currency (sorted by currency); open positions are only counted."""
        return self.statistics_by(None, filt).get("", [])

    def statistics_by(
        self, group_by: str | None, filt: PositionFilter | None = None
    ) -> dict[str, list[Statistics]]:
        """:meth:`statistics` per group: ``symbol``, ``setup``, ``tag`` (a position counts in
        each of its tags; untagged ones under ""), ``side``, ``account`` (label) or ``month``
        (of the close, UTC, ``YYYY-MM``; open positions under "open"). Keys sorted."""
        from crossmargin.storage.stats import compute_statistics

        groups = {
            None: literal_column("''"),
            "symbol": position_t.c.symbol,
            "setup": position_t.c.setup,
            "side": position_t.c.side,
            "account": account_t.c.label,
            "tag": func.coalesce(position_tag_t.c.tag, ""),
            "month": func.coalesce(
                func.strftime("%Y-%m", literal_column("position.closed_at / 1000000"), "unixepoch"),
                "open",
            ),
        }
        if group_by not in groups:
            names = ", ".join(str(k) for k in groups if k)
            raise InputError(f"group by {group_by!r}: choose one of {names}")
        key = groups[group_by].label("group_key")
        filt = filt or PositionFilter()
        source: Any = position_t
        if group_by == "account":
            source = source.join(account_t, account_t.c.id == position_t.c.account_id)
        if group_by == "tag":
            source = source.outerjoin(
                position_tag_t, position_tag_t.c.position_id == position_t.c.id
            )
        with self._read() as conn:
            where = self._position_where(conn, replace(filt, status=PositionStatus.CLOSED))
            raw: list[Any] = [literal_column(f"position.{c}") for c in _STATS_COLS]
            rows = conn.execute(
                select(*raw, key)  # raw text columns: no per-row type processing
                .select_from(source)
                .where(*where)
                .order_by(position_t.c.closed_at, position_t.c.id)
            ).all()
            open_where = self._position_where(conn, replace(filt, status=PositionStatus.OPEN))
            open_rows = conn.execute(
                select(position_t.c.account_id, position_t.c.symbol, key)
                .select_from(source)
                .where(*open_where)
            ).all()
            specs = self._specs(conn, ((r[0], r[1]) for r in [*rows, *open_rows]))
        if group_by is None:  # one group: no regrouping pass over the rows
            stats = compute_statistics(rows, open_rows, specs)
            return {"": stats} if stats else {}
        closed_by: dict[str, list[Any]] = {}
        open_by: dict[str, list[Any]] = {}
        for r in rows:
            closed_by.setdefault(str(r[-1]), []).append(r[:-1])
        for o in open_rows:
            open_by.setdefault(str(o[-1]), []).append(o[:-1])
        return {
            g: compute_statistics(closed_by.get(g, []), open_by.get(g, []), specs)
            for g in sorted(set(closed_by) | set(open_by))
        }

    # ------------------------------------------------------------------ what-if

    def build_scenario(
        self,
        account: AccountRef,
        *,
        wallet_balance: Decimal | None = None,
        marks: Mapping[str, Decimal] | None = None,
        source: str = "auto",
        settle: str | None = None,
    ) -> AccountState:
        """The engine input of an account: :meth:`account_inputs` without the sources."""
        return self.account_inputs(account, wallet_balance=wallet_balance, marks=marks,
                                   source=source, settle=settle).state

    def account_inputs(
        self,
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
        with self._read() as conn:
            acct = self._account(conn, account)
            currency = (settle or acct.settle).strip().upper()
            instruments = _instrument_map(conn, acct.id)
            tiers = self._tiers(conn, acct.id)
            if wallet_balance is None:
                snap = self._latest_balance(conn, acct, currency)
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
            built = [
                p for p in self._scenario_positions(conn, acct, source, marks, instruments,
                                                    problems, sources)
                if _settle_of(p.symbol, instruments, acct.settle) == currency
            ]
        for symbol, mark in marks.items():
            if not isinstance(mark, Decimal) or not mark.is_finite() or mark <= 0:
                problems.append(f"marks[{symbol}]: must be a Decimal > 0, got {mark!r}")
        table_for = self._tier_tables(acct, built, tiers, instruments, problems, sources)
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
        )
        return AccountInputs(state, tuple(sources))

    @staticmethod
    def _tier_tables(
        acct: Account,
        positions: Sequence[Position],
        stored: Mapping[str, tuple[Tier, ...]],
        instruments: Mapping[str, Instrument],
        problems: list[str],
        sources: list[str],
    ) -> dict[str, tuple[Tier, ...]]:
        """Each held symbol's tier table: stored, else the exchange's bundled snapshot."""
        from crossmargin.tier_snapshots import bundled_tiers

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

    def settlements(self, account: AccountRef, *, source: str = "auto") -> dict[str, int]:
        """How many open positions the account holds per settlement currency."""
        out: dict[str, int] = {}
        with self._read() as conn:
            acct = self._account(conn, account)
            instruments = _instrument_map(conn, acct.id)
            for p in self._scenario_positions(conn, acct, source, {}, instruments, []):
                cur = _settle_of(p.symbol, instruments, acct.settle)
                out[cur] = out.get(cur, 0) + 1
        return out

    def _scenario_positions(
        self,
        conn: Connection,
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
            for r in conn.execute(_exchange_positions_select(acct.id)):
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
        for p in self._to_positions(conn, rows):
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

    # ------------------------------------------------------------------ import, export, backup

    def import_fills_csv(
        self,
        account: AccountRef,
        file: Path | str,
        *,
        preset: str = "auto",
        mapping: Mapping[str, str] | None = None,
        dry_run: bool = False,
        preview_rows: int = 10,
        strict: bool = False,
        naive_tz: tzinfo = UTC,
        decimal: str | None = None,
    ) -> ImportReport:
        """Import fills from a CSV file in one transaction (see :mod:`.csv_import`).

        ``decimal``: the file's decimal separator ('.' or ','); None detects it once for
        the whole file (a number that could be read both ways is never guessed).

        Bad rows are reported (line + reason) and skipped; duplicates (already stored, by
        exchange trade id or content) are counted and skipped, so re-importing a file adds
        nothing. ``dry_run`` parses and checks against the journal but writes nothing.
        ``strict``: any rejected row aborts the import (InputError listing every bad
        line) and nothing is written. ``naive_tz``: the zone of times written without one
        (default UTC, which is what Binance and Bybit exports use).
        """
        from crossmargin.storage.csv_import import parse_fills_csv

        parsed = parse_fills_csv(file, preset=preset, mapping=mapping, naive_tz=naive_tz,
                                 decimal=decimal)
        name = Path(file).name
        if strict and parsed.rejected and not dry_run:
            raise InputError(
                [f"{name}: line {r.line}: {r.reason}" for r in parsed.rejected]
                + [f"{name}: nothing imported; fix these rows or skip them explicitly"]
            )
        fills = [f for _line, f in parsed.fills]
        preview = tuple(fills[:preview_rows])
        with self._read() as conn:
            acct = self._account(conn, account)
        if dry_run:
            with self._read() as conn:
                keys = self._existing_keys(conn, acct.id)
            fresh, dup = _split_new(_numbered_keys(fills), keys)
            return ImportReport(
                name, parsed.preset, parsed.rows, len(fresh), dup, parsed.rejected, preview,
                True, decimal=parsed.decimal, decimal_reason=parsed.decimal_reason,
                preset_reason=parsed.preset_reason,
            )
        with self._tx() as conn:
            acct = self._account(conn, acct.id)
            batch_id = _new_id(
                conn.execute(
                    import_batch_t.insert().values(
                        account_id=acct.id,
                        file_name=name,
                        preset=parsed.preset,
                        imported_at=_now(),
                        rows_total=parsed.rows,
                        rows_inserted=0,
                        rows_duplicate=0,
                        rows_rejected=len(parsed.rejected),
                    )
                )
            )
            new_ids, dups, touched = self._insert_fills(conn, acct, fills, "import", batch_id)
            conn.execute(
                sa_update(import_batch_t)
                .where(import_batch_t.c.id == batch_id)
                .values(
                    rows_inserted=len(new_ids),
                    rows_duplicate=dups,
                )
            )
        changes = _fill_changes(acct.id, new_ids, dups, touched, batch_id)
        return ImportReport(
            name, parsed.preset, parsed.rows, len(new_ids), dups, parsed.rejected, preview,
            False, changes, decimal=parsed.decimal, decimal_reason=parsed.decimal_reason,
            preset_reason=parsed.preset_reason,
        )

    def backup(self, dest: Path | str | None = None, *, allow_damaged: bool = False) -> Path:
        """A consistent copy of the journal (SQLite online backup; safe while in use).

        Default destination: ``<data dir>/backups/journal-<UTC time>.sqlite3``. The journal
        is checked first (``quick_check``): a damaged one is not copied (a backup of damage
        would pass for a good one later), unless ``allow_damaged`` (the copy kept before a
        restore replaces a damaged journal: its name says ``damaged``).
        """
        with self._write_lock:
            src = dbmod.connect(self.path, readonly=True)
            try:
                damage = dbmod.quick_problems(src)
                if damage and not allow_damaged:
                    raise dbmod.JournalCorruptError(
                        f"{self.path} is damaged ({'; '.join(damage[:2])}); a backup of it "
                        "would copy the damage, so none was written; restore a backup from "
                        "before the damage", path=self.path, problems=tuple(damage))
                if dest is None:
                    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                    dest = paths.ensure(self.path.parent / "backups") / (
                        f"{self.path.stem}-{stamp}.sqlite3")
                if damage:
                    dest = Path(dest).with_name(f"{Path(dest).stem}-damaged.sqlite3")
                return dbmod.backup_to(src, Path(dest))
            finally:
                src.close()

    def restore(self, source: Path | str) -> OpChanges:
        """Replace this journal's content with a backup file (checked first).

        The current content is backed up next to the journal before it is overwritten
        (``OpChanges.saved_copy``). Backups from an older schema are upgraded; newer ones
        are refused. Works on a journal opened with ``allow_damaged`` (that is what it is
        for), and clears its damaged state.
        """
        from crossmargin.storage.export import restore_into

        changes = restore_into(self, Path(source))
        self.info = replace(self.info, damage=())
        return changes

    def meta(self) -> dict[str, str]:
        """Facts about the file (created_by, created_at)."""
        with self._read() as conn:
            return {k: v for k, v in conn.execute(select(meta_t.c.key, meta_t.c.value))}


# ---------------------------------------------------------------------- helpers


def _create_schema(p: Path) -> None:
    from crossmargin import __version__

    engine = create_engine(f"sqlite:///{p}", poolclass=NullPool)
    event.listen(engine, "connect", lambda c, _r: dbmod.configure_connection(c))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                schema.SQLModel.metadata.create_all(conn, tables=list(schema.JOURNAL_TABLES))
                conn.execute(
                    meta_t.insert(),
                    [
                        {"key": "created_by", "value": f"crossmargin {__version__}"},
                        {"key": "created_at", "value": _now().isoformat()},
                    ],
                )
                conn.exec_driver_sql(f"PRAGMA application_id = {schema.APPLICATION_ID}")
                conn.exec_driver_sql(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
    finally:
        engine.dispose()


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _check_label_free(conn: Connection, label: str, *, other_than: int | None = None) -> None:
    """InputError when another account (not ``other_than``) has ``label``, ignoring case."""
    where = [func.lower(account_t.c.label) == label.lower()]
    if other_than is not None:
        where.append(account_t.c.id != other_than)
    clash = conn.execute(select(account_t.c.label).where(*where)).first()
    if clash:
        raise InputError(
            f"account {clash.label!r} already exists (labels ignore case); pick another label"
        )


def _insert_tags(conn: Connection, position_id: int, tags: Sequence[str]) -> None:
    if tags:
        conn.execute(
            position_tag_t.insert(), [{"position_id": position_id, "tag": t} for t in tags]
        )


def _ledger_fill(r: Any) -> LedgerFill:
    """A stored fill row as the ledger replays it."""
    return LedgerFill(r.id, r.time, r.side, r.price, r.amount, r.fee, r.fee_currency,
                      r.realized_pnl)


def _rederived(account_id: int, touched: set[int], *, main_id: int | None = None) -> OpChanges:
    """What editing or deleting stored fills changed: fills, the ``touched`` positions
    re-derived from them and their funding."""
    return OpChanges(
        fills=True,
        positions=True,
        funding=True,
        account_ids=frozenset({account_id}),
        position_ids=frozenset(touched),
        id=main_id,
    )


def _fill_changes(
    account_id: int, new_ids: Sequence[int], dups: int, touched: set[int], main_id: int | None
) -> OpChanges:
    """What storing fills changed: the fills, and the positions (and their funding)
    re-derived from them; ``main_id`` becomes ``OpChanges.id``."""
    return OpChanges(
        fills=bool(new_ids),
        positions=bool(touched),
        funding=bool(touched),
        account_ids=frozenset({account_id}),
        position_ids=frozenset(touched),
        id=main_id,
        inserted={"fills": len(new_ids)},
        duplicates=dups,
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _derived_values(seg: Segment) -> dict[str, Any]:
    """A position's fill-derived columns (as Python values), in ``_DERIVED`` order."""
    return dict(zip(_DERIVED, _derived_python(seg), strict=True))


def _derived_python(seg: Segment) -> tuple[Any, ...]:
    return (
        seg.side.value,
        PositionStatus.OPEN.value if seg.is_open else PositionStatus.CLOSED.value,
        seg.open_fill_id,
        seg.opened_at,
        seg.closed_at,
        seg.closed_at or seg.opened_at,
        seg.contracts,
        seg.max_contracts,
        seg.closed_contracts,
        seg.entry_price,
        seg.exit_price,
        seg.realized_pnl,
        seg.fees,
        seg.other_fees_text(),
        len(seg.fill_ids),
        seg.computed_pnl,
    )


def _derived_sql(seg: Segment) -> tuple[Any, ...]:
    """The same values as SQL parameters (exact text for Decimals, UTC micros for times)."""
    closed = None if seg.closed_at is None else datetime_to_micros(seg.closed_at)
    opened = datetime_to_micros(seg.opened_at)
    return (
        seg.side.value,
        PositionStatus.OPEN.value if closed is None else PositionStatus.CLOSED.value,
        seg.open_fill_id,
        opened,
        closed,
        opened if closed is None else closed,
        str(seg.contracts),
        str(seg.max_contracts),
        str(seg.closed_contracts),
        str(seg.entry_price),
        None if seg.exit_price is None else str(seg.exit_price),
        str(seg.realized_pnl),
        str(seg.fees),
        seg.other_fees_text(),
        len(seg.fill_ids),
        None if seg.computed_pnl is None else str(seg.computed_pnl),
    )


def _page_rows(
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


def _time_window(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """WHERE terms for ``since <= column < until`` (either bound may be None)."""
    where: list[Any] = []
    if since is not None:
        where.append(column >= since)
    if until is not None:
        where.append(column < until)
    return where


def _snapshot_row(
    acct: Account, time: datetime, currency: str | None, values: Mapping[str, Any]
) -> dict[str, Any]:
    """A balance or equity row: ``currency`` upper-cased, the account's settle when None."""
    return {
        "account_id": acct.id,
        "time": time,
        "currency": (currency or acct.settle).upper(),
        **values,
    }


def _exchange_positions_select(account_id: int) -> Any:
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


def _balance_from_row(r: Any) -> BalanceSnapshot:
    return BalanceSnapshot(
        AccountId(r.account_id),
        r.time,
        r.currency,
        r.wallet_balance,
        r.available,
        r.unrealized_pnl,
    )


def _parse_other_fees(text: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for part in (text or "").split(";"):
        if part:
            k, _, v = part.partition("=")
            out[k] = Decimal(v)
    return out


def _fill_from_row(r: Any) -> Fill:
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


def _account_from_row(r: Any) -> Account:
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
    )


def _instrument_map(conn: Connection, account_id: int) -> dict[str, Instrument]:
    """The account's stored contract specs by symbol."""
    return {
        r.symbol: _instrument_from_row(r)
        for r in conn.execute(select(instrument_t).where(instrument_t.c.account_id == account_id))
    }


def _settle_of(symbol: str, instruments: Mapping[str, Instrument], default: str) -> str:
    """The settlement currency of ``symbol``: its stored spec, else the ccxt unified
    symbol's ``:SETTLE`` suffix, else the account's currency."""
    ins = instruments.get(symbol)
    if ins is not None and ins.settle:
        return ins.settle.upper()
    if ":" in symbol:
        return symbol.rsplit(":", 1)[1].split("-", 1)[0].upper()
    return default.upper()


def _instrument_from_row(r: Any) -> Instrument:
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


def _validate_exchange_positions(
    positions: Sequence[ExchangePosition], problems: list[str]
) -> None:
    """Each exchange position well-formed, and at most one per (symbol, side, margin mode)."""
    seen: dict[tuple[str, str, str], int] = {}
    for i, ep in enumerate(positions):
        w = f"batch.positions[{i}]"
        if not isinstance(ep.symbol, str) or not ep.symbol.strip():
            problems.append(f"{w}.symbol: empty")
        side = mode = None
        try:
            side = Side(ep.side).value
        except ValueError:
            problems.append(f"{w}.side: must be 'long' or 'short', got {ep.side!r}")
        try:
            mode = MarginMode(ep.margin_mode).value
        except ValueError:
            problems.append(
                f"{w}.margin_mode: must be 'cross' or 'isolated', got {ep.margin_mode!r}"
            )
        for name in ("contracts", "entry_price", "mark_price", "leverage", "contract_size"):
            _dec_required(getattr(ep, name), f"{w}.{name}", problems)
        _dec_or_none(ep.isolated_margin, f"{w}.isolated_margin", problems, False)
        _dec_or_none(ep.liquidation_price, f"{w}.liquidation_price", problems, False)
        _dec_or_none(ep.unrealized_pnl, f"{w}.unrealized_pnl", problems, False)
        if side is None or mode is None or not isinstance(ep.symbol, str):
            continue
        key = (ep.symbol, side, mode)
        if key in seen:
            problems.append(
                f"{w}: a second {ep.symbol} {side} {mode} position (the first is "
                f"batch.positions[{seen[key]}]); an account holds at most one per symbol, "
                "side and margin mode, so the exchange reply is inconsistent; nothing was stored"
            )
        else:
            seen[key] = i


def _validate_instrument(ins: Instrument, where: str, problems: list[str]) -> None:
    for name in ("symbol", "base", "quote", "settle"):
        value = getattr(ins, name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}.{name}: empty" if not value else
                            f"{where}.{name}: must be text, got {value!r}")
    _dec_required(ins.contract_size, f"{where}.contract_size", problems)
    _dec_or_none(ins.maintenance_margin_rate, f"{where}.maintenance_margin_rate", problems)
    _dec_or_none(ins.max_leverage, f"{where}.max_leverage", problems)
    _dec_or_none(ins.beta, f"{where}.beta", problems, positive=False)


def _validate_tiers(
    symbol: str, tiers: Sequence[Tier], problems: list[str], prefix: str = "tiers"
) -> None:
    if not isinstance(symbol, str) or not symbol.strip():
        problems.append(f"{prefix}: a symbol must be non-empty text, got {symbol!r}")
        return
    prev: Decimal | None = None
    for i, t in enumerate(tiers):
        w = f"{prefix}[{symbol}][{i}]"
        if not isinstance(t, Tier):
            problems.append(f"{w}: must be a Tier, got {type(t).__name__}")
            continue
        _dec_required(t.min_notional, f"{w}.min_notional", problems, positive=False)
        _dec_or_none(t.max_notional, f"{w}.max_notional", problems)
        _dec_required(t.maintenance_margin_rate, f"{w}.maintenance_margin_rate", problems)
        _dec_or_none(t.maintenance_amount, f"{w}.maintenance_amount", problems, positive=False)
        _dec_or_none(t.max_leverage, f"{w}.max_leverage", problems)
        if isinstance(t.min_notional, Decimal) and t.min_notional.is_finite():
            if prev is not None and t.min_notional <= prev:
                problems.append(f"{w}.min_notional: tiers must be in increasing order")
            prev = t.min_notional


def _validate_funding(p: NewFunding, where: str, problems: list[str]) -> None:
    if not isinstance(p.symbol, str) or not p.symbol.strip():
        problems.append(f"{where}.symbol: empty")
    _dec_required(p.amount, f"{where}.amount", problems, positive=False)
    _currency_or_none(p.currency, f"{where}.currency", problems, required=True)
    _text(p.exchange_id, f"{where}.exchange_id", problems, optional=True)
    if p.leg is not None and p.leg not in LEGS:
        problems.append(f"{where}.leg: must be one of {', '.join(LEGS)} or None")
    _datetime_field(p.time, f"{where}.time", problems, show_value=False)


def _validate_transfer(t: NewTransfer, where: str, problems: list[str]) -> None:
    _dec_required(t.amount, f"{where}.amount", problems, positive=False)
    _currency_or_none(t.currency, f"{where}.currency", problems, required=True)
    if not isinstance(t.kind, str) or not t.kind.strip():
        problems.append(f"{where}.kind: must be deposit, withdrawal or transfer, got {t.kind!r}")
    _text(t.exchange_id, f"{where}.exchange_id", problems, optional=True)
    _text(t.note, f"{where}.note", problems)
    _datetime_field(t.time, f"{where}.time", problems, show_value=False)


def _annotation_values(changes: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in changes.items():
        value = raw
        if name not in _ANNOTATIONS:
            problems.append(
                f"{name}: not an editable position field "
                f"(editable: {', '.join(_ANNOTATIONS)}, tags)"
            )
            continue
        if name in (
            "leverage",
            "isolated_margin",
            "stop_price",
            "target_price",
            "mark_price",
            "exchange_liquidation_price",
        ):
            _dec_or_none(value, name, problems)
        elif name == "margin_mode":
            if value is not None:
                try:
                    value = MarginMode(value).value
                except ValueError:
                    problems.append(f"margin_mode: must be cross or isolated, got {value!r}")
        elif name == "rating":
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 5
            ):
                problems.append(f"rating: must be a whole number 0..5, got {value!r}")
        elif name in ("setup", "notes"):
            value = "" if value is None else str(value)
        out[name] = value
    return out


def _clean_tags(tags: Iterable[str] | str | None, problems: list[str]) -> list[str]:
    """Lower-case, stripped, unique tags (a single string is one tag, not its letters)."""
    out: list[str] = []
    if isinstance(tags, str):
        tags = [tags]
    for t in tags or ():
        tag = str(t).strip().lower()
        if not tag:
            continue
        if len(tag) > 64 or "," in tag:
            problems.append(f"tag {t!r}: at most 64 characters and no commas")
            continue
        if tag not in out:
            out.append(tag)
    return out
