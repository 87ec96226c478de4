"""What every exchange's fetcher shares: the generic ccxt :class:`Fetcher` (unified
calls only), reply validation and number parsing, and the pagination helpers.

Numbers are read from the exchange's own string fields (ccxt ``info``) where ccxt
would hand back floats; ccxt's unified fields are used for symbols, sides and ids.
Every call goes through a :class:`~crossmargin.sync.faults.Caller` (retries, clock
resync, cancellation); replies are validated before they are trusted (pitfall P5:
an HTTP 200 with junk must never read as "flat").

A fetcher belongs to the worker thread that owns the ccxt instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar

from crossmargin.domain import CollateralMode, MarginMode, Side
from crossmargin.sync.config import AccountConfig
from crossmargin.sync.faults import Caller, Cancelled, FaultKind, SyncError
from crossmargin.sync.model import (
    BalanceRecord,
    CollateralRateRecord,
    FillRecord,
    FundingRecord,
    PositionRecord,
    SnapshotCompleteness,
    TierTableRecord,
    TransferRecord,
)

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
#: Cursors never move closer than this to "now" (ms), so late-arriving rows are re-read
#: (and deduplicated) rather than skipped.
CURSOR_LAG_MS = 10 * 60_000


# --------------------------------------------------------------------------- numbers


def dec(value: Any, where: str = "value") -> Decimal | None:
    """Exact ``Decimal`` from an exchange field; ``None`` for missing/empty.

    Strings are parsed as written; floats (ccxt unified fields) through ``repr``, which
    round-trips the decimal text ccxt parsed. Raises a ``bad_reply`` :class:`SyncError`.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise SyncError(FaultKind.BAD_REPLY, f"{where}: expected a number, got {value!r}",
                        transient=True)
    try:
        if isinstance(value, float):
            out = Decimal(repr(value))
        else:
            out = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise SyncError(
            FaultKind.BAD_REPLY, f"{where}: not a number: {str(value)[:40]!r}", transient=True
        ) from None
    if not out.is_finite():
        raise SyncError(FaultKind.BAD_REPLY, f"{where}: not finite", transient=True)
    return out


def req_dec(value: Any, where: str) -> Decimal:
    out = dec(value, where)
    if out is None:
        raise SyncError(FaultKind.BAD_REPLY, f"{where}: missing", transient=True)
    return out


def bad_reply(what: str, why: str) -> SyncError:
    return SyncError(FaultKind.BAD_REPLY, f"{what}: unusable reply ({why})", transient=True)


LEG = {"LONG": "long", "SHORT": "short"}
_Rec = TypeVar("_Rec", FillRecord, FundingRecord)
#: one history row as (ccxt's unified dict, the exchange's raw dict)
Pair = tuple[dict[str, Any], dict[str, Any]]


def envelope(raw: Any, what: str, code_key: str, payload_key: str, payload_type: type) -> Any:
    """The payload of a venue's JSON envelope (``{code_key: "0", payload_key: ...}``, as
    Bybit and OKX wrap every reply); a missing envelope or payload is a bad reply."""
    if not isinstance(raw, dict) or str(raw.get(code_key)) != "0":
        raise bad_reply(what, f"missing {code_key} 0 envelope")
    payload = raw.get(payload_key)
    if not isinstance(payload, payload_type):
        kind = "object" if payload_type is dict else "list"
        raise bad_reply(what, f"no {payload_key} {kind}")
    return payload


def need_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise bad_reply("list", "not a JSON list")
    return value


def leverage_from(notional: Decimal | None, initial: Decimal | None) -> Decimal | None:
    """Leverage implied by notional / initial margin, snapped to an integer when within 0.5%."""
    if not notional or not initial:
        return None
    lev = abs(notional) / abs(initial)
    nearest = lev.to_integral_value()
    if nearest > 0 and abs(lev - nearest) / nearest < Decimal("0.005"):
        return nearest
    return lev.quantize(Decimal("0.01"))


# --------------------------------------------------------------------------- base


@dataclass
class History:
    """What a cycle's history step brought: new fills, funding and transfers, the cursors
    to store with them, and whether ``transfers`` covers every non-trading wallet change
    (then the cycle can check the wallet against the journal)."""

    fills: tuple[FillRecord, ...] = ()
    funding: tuple[FundingRecord, ...] = ()
    transfers: tuple[TransferRecord, ...] = ()
    cursors: dict[str, str] = field(default_factory=dict)
    wallet_complete: bool = False


#: ``run(fn)`` calls a fetch step (the cycle reloads the markets once on an unknown symbol).
Step = Callable[[Callable[[], Any]], Any]


class Fetcher:
    """Generic ccxt account: balances and, where the class supports them, the rest."""

    features = ("balances", "positions", "fills", "funding", "tiers", "marks")

    def __init__(
        self,
        exchange: Any,
        config: AccountConfig,
        call: Caller,
        cursors: Mapping[str, str],
        *,
        now_ms: Callable[[], int] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.ex = exchange
        self.config = config
        self.call = call
        self.cursors = dict(cursors)
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.progress = progress or (lambda _msg: None)
        self.convert_seconds = 0.0
        self.unsupported: list[str] = []

    # ---- helpers
    def history_start(self) -> int:
        if self.config.history_start is not None:
            return int(self.config.history_start)
        from crossmargin.sync.config import DEFAULT_HISTORY_DAYS

        return self.now_ms() - DEFAULT_HISTORY_DAYS * DAY_MS

    def cursor_int(self, name: str) -> int | None:
        raw = self.cursors.get(name)
        try:
            return int(raw) if raw not in (None, "") else None
        except ValueError:
            return None

    def walk_weeks(self, cursor_name: str, begin: int, start: int,
                   read: Callable[[int, int, list[Pair]], None], time_key: str,
                   ) -> tuple[list[Pair], dict[str, str]]:
        """(unified, raw) pairs from ``begin`` to now, read one 7-day window at a time
        oldest first by ``read(lo, hi, rows)`` (ms, inclusive); the cursor after them
        (``start``: where the cursor stood). A failure after whole windows raises
        :class:`PartialRows` with those windows' rows and a cursor just after them, so a
        long first sync that breaks resumes there."""
        now = self.now_ms()
        rows: list[Pair] = []
        lo = begin
        while lo <= now:
            hi = min(lo + WEEK_MS - 1, now)
            done = len(rows)
            try:
                read(lo, hi, rows)
            except SyncError as exc:
                if lo > begin and not isinstance(exc, Cancelled):
                    resume = min(lo, now - CURSOR_LAG_MS)
                    raise PartialRows(exc, rows[:done], {cursor_name: str(resume)}) from None
                raise
            lo = hi + 1
        last = max((int(r.get(time_key) or 0) for _, r in rows), default=None)
        return rows, {cursor_name: str(self.next_time_cursor(last, start))}

    def next_time_cursor(self, last_seen: int | None, start: int) -> int:
        """New time cursor: the newest row seen, or ``now - lag`` when that is later."""
        return max(start, last_seen or start, self.now_ms() - CURSOR_LAG_MS)

    def json(self) -> Any:
        return getattr(self.ex, "last_json_response", None)

    def checked(self, what: str, fn: Callable[[], Any], check: Callable[[Any], Any]) -> Any:
        """Run ``fn`` under the retry policy; ``check(result)`` validates inside the retry."""

        def run() -> Any:
            return check(fn())

        return self.call(what, run)

    def market(self, symbol: str) -> Mapping[str, Any] | None:
        try:
            return self.ex.market(symbol)
        except Exception:
            return None

    def load_markets(self, reload: bool = False) -> None:
        self.call("markets", lambda: self.ex.load_markets(reload))

    def has(self, feature: str) -> bool:
        return bool(self.ex.has.get(feature))

    # ---- collateral (multi-asset accounts)
    def collateral(self) -> tuple[CollateralMode | None, tuple[CollateralRateRecord, ...]]:
        """The account's collateral mode and, when pooled, each asset's rate; (None, ())
        when the venue's mode is not read (the stored mode is kept)."""
        return None, ()

    # ---- balances
    def balances(self) -> tuple[BalanceRecord, ...]:
        bal = self.call("balance", self.ex.fetch_balance)
        if not isinstance(bal, dict) or not isinstance(bal.get("info"), dict | list):
            raise bad_reply("balance", "not a JSON object")
        out = []
        total = bal.get("total") or {}
        for code, amount in sorted(total.items()):
            wallet = dec(amount, f"balance.{code}")
            if wallet is None:
                continue
            out.append(BalanceRecord(
                currency=code, wallet_balance=wallet,
                free=dec((bal.get("free") or {}).get(code), f"balance.{code}.free"),
                used=dec((bal.get("used") or {}).get(code), f"balance.{code}.used"),
            ))
        return tuple(out)

    # ---- positions
    def positions(self) -> tuple[tuple[PositionRecord, ...], SnapshotCompleteness]:
        if not self.has("fetchPositions"):
            self.unsupported.append("positions")
            return (), SnapshotCompleteness.UNKNOWN
        rows = self.call("positions", self.ex.fetch_positions)
        if not isinstance(rows, list):
            raise bad_reply("positions", "not a list")
        return tuple(self._unified_positions(rows)), SnapshotCompleteness.FULL

    def _unified_positions(self, rows: Iterable[Mapping[str, Any]]) -> list[PositionRecord]:
        out = []
        for i, p in enumerate(rows):
            where = f"positions[{i}]"
            contracts = dec(p.get("contracts"), f"{where}.contracts")
            if not contracts:
                continue
            symbol = p.get("symbol") or ""
            m = self.market(symbol) or {}
            side = Side.SHORT if p.get("side") == "short" else Side.LONG
            mode = MarginMode.ISOLATED if p.get("marginMode") == "isolated" else MarginMode.CROSS
            out.append(PositionRecord(
                key=f"{symbol}|{side.value}|{mode.value}",
                symbol=symbol, side=side, margin_mode=mode, contracts=abs(contracts),
                contract_size=dec(p.get("contractSize"), f"{where}.contractSize") or Decimal(1),
                entry_price=req_dec(p.get("entryPrice"), f"{where}.entryPrice"),
                mark_price=dec(p.get("markPrice"), f"{where}.markPrice"),
                leverage=dec(p.get("leverage"), f"{where}.leverage"),
                liquidation_price=dec(p.get("liquidationPrice"), f"{where}.liquidationPrice"),
                unrealized_pnl=dec(p.get("unrealizedPnl"), f"{where}.unrealizedPnl"),
                settle=str(m.get("settle") or self.config.settle),
                inverse=bool(m.get("inverse")),
                isolated_margin=dec(p.get("collateral"), f"{where}.collateral")
                if mode is MarginMode.ISOLATED else None,
                timestamp=p.get("timestamp"),
            ))
        return out

    # ---- history: fills, funding, transfers
    def history(self, held: set[str], run: Step) -> History:
        """Fills, funding and transfers since the cursors (``held``: symbols with a
        position now). The generic account has no transfer history."""
        out = History()
        self.progress("fills")
        out.fills, cur = run(self.fills)
        out.cursors.update(cur)
        self.progress("funding")
        out.funding, cur = run(self.funding)
        out.cursors.update(cur)
        self.unsupported.append("transfers")
        return out

    # ---- fills / funding (generic: one unpaginated call since the cursor)
    def fills(self) -> tuple[tuple[FillRecord, ...], dict[str, str]]:
        return self._since_cursor(
            "fills", "fetchMyTrades", lambda since: self.ex.fetch_my_trades(None, since),
            self.fill_from_unified, refused="fills (needs a symbol)",
        )

    def funding(self) -> tuple[tuple[FundingRecord, ...], dict[str, str]]:
        return self._since_cursor(
            "funding", "fetchFundingHistory",
            lambda since: self.ex.fetch_funding_history(None, since),
            self.funding_from_unified, refused="funding",
        )

    def _since_cursor(
        self, name: str, feature: str, fetch: Callable[[int], Any],
        convert: Callable[[Mapping[str, Any]], _Rec], *, refused: str,
    ) -> tuple[tuple[_Rec, ...], dict[str, str]]:
        """Rows of ``fetch(since)`` (every symbol) since the ``name`` time cursor (ms).

        An exchange without ``feature``, or one that refuses the call without a symbol
        (noted as ``refused``), is listed in ``unsupported`` and yields nothing.
        """
        if not self.has(feature):
            self.unsupported.append(name)
            return (), {}
        since = self.cursor_int(name) or self.history_start()
        try:
            rows = self.call(name, lambda: fetch(since))
        except SyncError as exc:
            if exc.kind in (FaultKind.EXCHANGE, FaultKind.NOT_SUPPORTED):
                self.unsupported.append(refused)
                return (), {}
            raise
        recs = [convert(r) for r in rows]
        last = max((r.timestamp for r in recs), default=None)
        return tuple(recs), {name: str(self.next_time_cursor(last, since))}

    def fill_from_unified(self, t: Mapping[str, Any]) -> FillRecord:
        fee = t.get("fee") or {}
        where = f"fill {t.get('id')}"
        return FillRecord(
            trade_id=str(t.get("id")), order_id=t.get("order"), symbol=t.get("symbol") or "",
            side=str(t.get("side")), amount=req_dec(t.get("amount"), f"{where}.amount"),
            price=req_dec(t.get("price"), f"{where}.price"),
            fee=dec(fee.get("cost"), f"{where}.fee") or Decimal(0),
            fee_currency=fee.get("currency"), timestamp=int(t.get("timestamp") or 0),
            taker=None if t.get("takerOrMaker") is None else t.get("takerOrMaker") == "taker",
        )

    def funding_from_unified(self, r: Mapping[str, Any]) -> FundingRecord:
        return FundingRecord(
            funding_id=str(r.get("id")), symbol=r.get("symbol") or "",
            currency=r.get("code") or self.config.settle,
            amount=req_dec(r.get("amount"), f"funding {r.get('id')}.amount"),
            timestamp=int(r.get("timestamp") or 0),
        )

    # ---- tiers and marks
    def tiers(self, symbols: Iterable[str]) -> tuple[TierTableRecord, ...]:
        syms = sorted(set(symbols))
        if not syms:
            return ()
        if not self.has("fetchMarketLeverageTiers") and not self.has("fetchLeverageTiers"):
            self.unsupported.append("tiers")
            return ()
        from crossmargin.sync.tier_tables import tiers_from_ccxt

        out = []
        for s in syms:
            rows = self.call(f"tiers {s}", partial(self.ex.fetch_market_leverage_tiers, s))
            out.append(TierTableRecord(s, tiers_from_ccxt(rows, exchange=self.ex.id)))
        return tuple(out)

    def marks(self, symbols: Iterable[str]) -> dict[str, Decimal]:
        syms = sorted(set(symbols))
        if not syms:
            return {}
        if self.has("fetchMarkPrices"):
            fn = lambda: self.ex.fetch_mark_prices(syms)  # noqa: E731
        elif self.has("fetchTickers"):
            fn = lambda: self.ex.fetch_tickers(syms)  # noqa: E731
        else:
            self.unsupported.append("marks")
            return {}
        return self.checked("marks", fn, lambda t: self.marks_from_tickers(t, syms))

    def marks_from_tickers(self, tickers: Any, syms: Iterable[str]) -> dict[str, Decimal]:
        if not isinstance(tickers, dict):
            raise bad_reply("marks", "not a JSON object")
        out = {}
        for s in syms:
            t = tickers.get(s)
            if not isinstance(t, dict):
                continue
            info = t.get("info") if isinstance(t.get("info"), dict) else {}
            px = None
            for key in ("markPrice", "markPx"):
                px = dec(info.get(key), f"mark {s}") if info else None
                if px:
                    break
            if not px:
                px = dec(t.get("markPrice") or t.get("last"), f"mark {s}")
            if px and px > 0:
                out[s] = px
        if not out:
            raise bad_reply("marks", "no mark price for any requested symbol")
        return out


class PartialRows(SyncError):
    """A paged history read broke after some time windows were fetched whole: their
    ``rows`` (unified, raw) and the ``cursors`` to resume after them. A fetcher turns it
    into :class:`~crossmargin.sync.faults.PartialHistory` for fills (stored on their
    own) or re-raises ``error`` for the rest."""

    def __init__(self, error: SyncError, rows: list[tuple[dict[str, Any], dict[str, Any]]],
                 cursors: dict[str, str]) -> None:
        super().__init__(error.kind, str(error), transient=error.transient)
        self.error = error
        self.rows = rows
        self.cursors = cursors
