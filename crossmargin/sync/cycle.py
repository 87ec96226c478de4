"""One sync cycle for one account: fetch everything, build a :class:`FetchedCycle`, commit it.

The journal is reached through :class:`JournalPort` (see :mod:`.journal_port` for the
adapter over the real journal). A cycle either commits the whole batch (rows and
cursors in one transaction) or nothing: every failure happens before the commit.

Threading: an :class:`AccountClient` owns one ccxt instance and a lock; a cycle holds
the lock for its whole duration, so the instance is never used from two threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from crossmargin.domain import Tier
from crossmargin.errors import InputError
from crossmargin.numbers import plain, signed
from crossmargin.sync.config import AccountConfig, Credentials
from crossmargin.sync.exchanges import DAY_MS, Fetcher, fetcher_for
from crossmargin.sync.faults import (
    Caller,
    CancelToken,
    FaultKind,
    PartialHistory,
    RetryEvent,
    RetryPolicy,
    SyncError,
    scrub,
    to_sync_error,
)
from crossmargin.sync.model import (
    FetchedCycle,
    InstrumentRecord,
    SnapshotCompleteness,
    TierTableRecord,
)
from crossmargin.sync.reconcile import ReconRow, reconcile_with_risk

log = logging.getLogger(__name__)

#: Leverage tiers are refreshed when older than this (ms), or when a new symbol appears.
TIER_REFRESH_MS = DAY_MS


class JournalPort(Protocol):
    """What a sync cycle needs from the journal (implemented in :mod:`.journal_port`)."""

    def account_id(self, config: AccountConfig) -> int:
        """The journal id of the account (created on first use; never stores secrets)."""

    def cursors(self, account_id: int) -> Mapping[str, str]:
        """The cursors stored by the last committed batch."""

    def tiers(self, account_id: int, symbols: Sequence[str]) -> Mapping[str, Sequence[Tier]]:
        """Stored tier tables for ``symbols`` (for reconciliation between refreshes)."""

    def apply(self, account_id: int, batch: FetchedCycle) -> Mapping[str, int]:
        """Apply ``batch`` atomically; return counts of inserted rows per kind."""

    def wallet_ledger(self, account_id: int, currency: str) -> tuple[Decimal | None, Decimal]:
        """(the last stored wallet balance of ``currency`` or None, what the stored
        fills, funding and transfers say moved it: see ``Journal.wallet_explained``)."""


#: A wallet that moved by more than this (settlement currency) beyond what the new fills,
#: funding and transfers explain is reported (exchanges print 8 decimals).
WALLET_TOLERANCE = Decimal("0.00000002")


@dataclass(frozen=True, slots=True)
class WalletCheck:
    """``wallet = transfers + realised + fees + funding``, checked across one cycle:
    ``moved`` is the change of the exchange's wallet balance since the last sync,
    ``explained`` the change of the journal's sum over what this cycle stored."""

    currency: str
    moved: Decimal
    explained: Decimal

    @property
    def difference(self) -> Decimal:
        return self.moved - self.explained

    @property
    def ok(self) -> bool:
        return abs(self.difference) <= WALLET_TOLERANCE

    def describe(self) -> str:
        if self.ok:
            return f"wallet check ok ({self.currency} moved {plain(self.moved)}, all explained)"
        return (
            f"wallet check: the {self.currency} wallet moved {plain(self.moved)} since the "
            f"last sync, but the new fills, funding and transfers explain "
            f"{plain(self.explained)} ({signed(self.difference)} unexplained)"
        )


class AccountClient:
    """The ccxt instance of one account plus its lock and timing counters."""

    def __init__(self, config: AccountConfig, credentials: Credentials | None,
                 exchange: Any | None = None) -> None:
        from crossmargin.sync.client import create_exchange

        self.config = config
        self.secrets = credentials.values() if credentials else ()
        try:
            self.exchange = exchange or create_exchange(config, credentials)
        except (SyncError, InputError):
            raise
        except Exception as exc:
            raise to_sync_error(exc, self.secrets, "create exchange") from None
        self.lock = threading.Lock()
        self.markets_loaded = False
        self.http_seconds = 0.0
        orig = self.exchange.fetch

        def timed_fetch(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return orig(*args, **kwargs)
            finally:
                self.http_seconds += time.perf_counter() - t0

        self.exchange.fetch = timed_fetch

    def close(self) -> None:
        session = getattr(self.exchange, "session", None)
        if session is not None:
            session.close()


@dataclass
class CycleReport:
    """The outcome of one committed cycle (timings in seconds)."""

    batch: FetchedCycle
    inserted: Mapping[str, int]
    reconciliation: tuple[ReconRow, ...]
    retries: list[RetryEvent] = field(default_factory=list)
    calls: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    wallet_check: WalletCheck | None = None

    def summary(self) -> str:
        new = ", ".join(
            f"{v} new {k}" for k, v in sorted(self.inserted.items()) if v
        ) or "nothing new"
        flagged = sum(1 for r in self.reconciliation if r.flagged)
        tail = f"; {flagged} liquidation price(s) differ > 0.5%" if flagged else ""
        if self.wallet_check is not None and not self.wallet_check.ok:
            tail += f"; {self.wallet_check.describe()}"
        if self.batch.unsupported:
            tail += f"; not available here: {', '.join(self.batch.unsupported)}"
        return f"{self.batch.summary()} fetched; {new}{tail}"


def instruments_for(exchange: Any, symbols: set[str]) -> tuple[InstrumentRecord, ...]:
    """Contract specs of ``symbols`` from the loaded ccxt markets (unknown ones skipped)."""
    from crossmargin.sync.exchanges import dec

    out = []
    for s in sorted(symbols):
        m = (exchange.markets or {}).get(s)
        if not m:
            continue
        out.append(InstrumentRecord(
            symbol=s, base=str(m.get("base") or ""), quote=str(m.get("quote") or ""),
            settle=str(m.get("settle") or m.get("quote") or ""),
            contract_size=dec(m.get("contractSize"), f"{s}.contractSize") or Decimal(1),
            inverse=bool(m.get("inverse")),
        ))
    return tuple(out)


def _step(fetcher: Fetcher, reloaded: list[bool], fn: Callable[[], Any]) -> Any:
    """Run ``fn``; on an unknown/delisted symbol reload the markets once and retry."""
    try:
        return fn()
    except SyncError as exc:
        if exc.kind is not FaultKind.BAD_SYMBOL or reloaded[0]:
            raise
        reloaded[0] = True
        fetcher.load_markets(reload=True)
        return fn()


def _store_partial(journal: JournalPort, account_id: int, cfg: AccountConfig,
                   fetched_at: int, part: PartialHistory, secrets: Sequence[str]) -> None:
    """Store the symbols a failed history step fetched completely, with their cursors, in
    one transaction (positions and balances untouched): the next cycle resumes after
    them. If even that cannot be stored, the cycle's own error is what the user sees."""
    if not part.fills and not part.cursors:
        return
    batch = FetchedCycle(
        account=cfg.label, exchange=cfg.exchange, fetched_at=fetched_at, settle=cfg.settle,
        positions_complete=SnapshotCompleteness.UNKNOWN, fills=part.fills,
        cursors=dict(part.cursors),
    )
    try:
        journal.apply(account_id, batch)
    except Exception as exc:  # the original failure is the one to report
        log.warning("could not keep the fills fetched before the failure: %s",
                    scrub(str(exc), secrets))


def run_cycle(
    client: AccountClient,
    journal: JournalPort,
    *,
    policy: RetryPolicy | None = None,
    cancel: CancelToken | None = None,
    progress: Callable[[str], None] | None = None,
    on_retry: Callable[[RetryEvent], None] | None = None,
    now_ms: Callable[[], int] | None = None,
) -> CycleReport:
    """Fetch one account and commit the batch. Raises :class:`SyncError` (scrubbed)."""
    with client.lock:
        return _run(client, journal, policy or RetryPolicy(), cancel or CancelToken(),
                    progress or (lambda _m: None), on_retry, now_ms)


def _run(client: AccountClient, journal: JournalPort, policy: RetryPolicy,
         cancel: CancelToken, progress: Callable[[str], None],
         on_retry: Callable[[RetryEvent], None] | None,
         now_ms: Callable[[], int] | None) -> CycleReport:
    cfg = client.config
    ex = client.exchange

    def exchange_clock() -> int:
        """The exchange's time (ms): cursors must not drift with a skewed local clock."""
        return int(time.time() * 1000) - int(ex.options.get("timeDifference") or 0)

    clock = now_ms or exchange_clock
    t_start = time.perf_counter()
    http0 = client.http_seconds
    account_id = journal.account_id(cfg)
    cursors = dict(journal.cursors(account_id))
    caller = Caller(client.exchange, policy, secrets=client.secrets, cancel=cancel,
                    on_retry=on_retry)
    f = fetcher_for(cfg.exchange)(client.exchange, cfg, caller, cursors, now_ms=clock,
                                  progress=progress)
    reloaded = [False]
    try:
        if not client.markets_loaded:
            progress("markets")
            f.load_markets()
            client.markets_loaded = True
        fetched_at = clock()
        progress("balances")
        balances = _step(f, reloaded, f.balances)
        collateral_mode, collateral_rates = None, ()
        try:
            collateral_mode, collateral_rates = _step(f, reloaded, f.collateral)
        except SyncError as exc:
            if exc.kind not in (FaultKind.NOT_SUPPORTED, FaultKind.EXCHANGE):
                raise
            f.unsupported.append(f"collateral rates ({exc})")
        progress("positions")
        positions, complete = _step(f, reloaded, f.positions)
        held = {p.symbol for p in positions}
        try:
            history = f.history(held, lambda fn: _step(f, reloaded, fn))
        except PartialHistory as part:
            _store_partial(journal, account_id, cfg, fetched_at, part, client.secrets)
            raise part.error from None
        fills, funding = history.fills, history.funding
        new_cursors: dict[str, str] = dict(history.cursors)
        pos_symbols = sorted(held)
        tiers: tuple[TierTableRecord, ...] = ()
        last_tiers = f.cursor_int("tiers_at")
        known = set(filter(None, cursors.get("tiers_symbols", "").split(",")))
        if pos_symbols and (
            last_tiers is None or fetched_at - last_tiers >= TIER_REFRESH_MS
            or not set(pos_symbols) <= known
        ):
            progress("tiers")
            try:
                tiers = _step(f, reloaded, lambda: f.tiers(pos_symbols))
                new_cursors["tiers_at"] = str(fetched_at)
                new_cursors["tiers_symbols"] = ",".join(sorted(known | set(pos_symbols)))
            except SyncError as exc:
                if exc.kind not in (FaultKind.NOT_SUPPORTED, FaultKind.EXCHANGE):
                    raise
                f.unsupported.append(f"tiers ({exc})")
        marks: dict[str, Decimal] = {p.symbol: p.mark_price for p in positions if p.mark_price}
        if pos_symbols:
            progress("marks")
            try:
                marks.update(_step(f, reloaded, lambda: f.marks(pos_symbols)))
            except SyncError as exc:
                # positions carry the exchange's marks already; fresher ones are a bonus
                if exc.kind not in (FaultKind.NOT_SUPPORTED, FaultKind.EXCHANGE,
                                    FaultKind.BAD_REPLY, FaultKind.BAD_SYMBOL):
                    raise
                f.unsupported.append("marks")
        cancel.check()
    except SyncError:
        raise
    except Exception as exc:
        raise to_sync_error(exc, client.secrets, cfg.label) from None
    t_fetch = time.perf_counter()
    symbols = held | {x.symbol for x in fills} | {x.symbol for x in funding}
    batch = FetchedCycle(
        account=cfg.label, exchange=cfg.exchange, fetched_at=fetched_at, settle=cfg.settle,
        balances=balances, positions=positions, positions_complete=complete,
        fills=fills, funding=funding, transfers=history.transfers, tiers=tiers, marks=marks,
        cursors=new_cursors,
        unsupported=tuple(f.unsupported), instruments=instruments_for(client.exchange, symbols),
        collateral_mode=collateral_mode, collateral_rates=tuple(collateral_rates),
    )
    recon: tuple[ReconRow, ...] = ()
    if positions:
        tier_map: dict[str, Sequence[Tier]] = dict(journal.tiers(account_id, pos_symbols))
        tier_map.update({t.symbol: t.tiers for t in tiers})
        recon, risks = reconcile_with_risk(batch, cfg.rules, tier_map)
        risk = risks.get(cfg.settle)
        if risk is not None:
            batch = replace(batch, margin_ratio=risk.margin_ratio)
    t_recon = time.perf_counter()
    progress("storing")
    settle_now = batch.settle_balance
    try:
        wallet_before, explained_before = journal.wallet_ledger(account_id, cfg.settle)
        inserted = journal.apply(account_id, batch)
        _, explained_after = journal.wallet_ledger(account_id, cfg.settle)
    except InputError as exc:
        # The journal refused the exchange's data as inconsistent (e.g. the same
        # position twice): retrying at once would get the same reply, so this
        # cycle stops; the next poll asks the exchange again.
        problems = scrub("; ".join(exc.problems), client.secrets)
        raise SyncError(
            FaultKind.BAD_REPLY,
            f"the exchange's reply could not be stored, nothing was changed: {problems}",
            transient=False,
        ) from None
    except Exception as exc:
        detail = to_sync_error(exc, client.secrets)
        raise SyncError(
            FaultKind.STORAGE,
            f"journal: could not store this cycle, nothing was changed ({detail})",
            transient=True,
        ) from None
    t_store = time.perf_counter()
    check = None
    if history.wallet_complete and wallet_before is not None and settle_now is not None:
        check = WalletCheck(cfg.settle, settle_now.wallet_balance - wallet_before,
                            explained_after - explained_before)
    http = client.http_seconds - http0
    timings = {
        "http": http,
        "ccxt": max(0.0, caller.network_seconds - http),
        "convert": f.convert_seconds,
        "fetch_total": t_fetch - t_start,
        "reconcile": t_recon - t_fetch,
        "storage": t_store - t_recon,
        "total": time.perf_counter() - t_start,
    }
    return CycleReport(batch, inserted, recon, caller.retries, caller.calls, timings, check)
