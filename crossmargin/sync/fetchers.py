"""Per-exchange fetching: ccxt calls, pagination, and conversion to :mod:`.model` records.

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

from crossmargin.domain import MarginMode, Side, Tier
from crossmargin.sync.config import AccountConfig
from crossmargin.sync.faults import Caller, Cancelled, FaultKind, PartialHistory, SyncError
from crossmargin.sync.model import (
    BalanceRecord,
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


_LEG = {"LONG": "long", "SHORT": "short"}
_Rec = TypeVar("_Rec", FillRecord, FundingRecord)


def _envelope(raw: Any, what: str, code_key: str, payload_key: str, payload_type: type) -> Any:
    """The payload of a venue's JSON envelope (``{code_key: "0", payload_key: ...}``, as
    Bybit and OKX wrap every reply); a missing envelope or payload is a bad reply."""
    if not isinstance(raw, dict) or str(raw.get(code_key)) != "0":
        raise bad_reply(what, f"missing {code_key} 0 envelope")
    payload = raw.get(payload_key)
    if not isinstance(payload, payload_type):
        kind = "object" if payload_type is dict else "list"
        raise bad_reply(what, f"no {payload_key} {kind}")
    return payload


def _need_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise bad_reply("list", "not a JSON list")
    return value


def _leverage_from(notional: Decimal | None, initial: Decimal | None) -> Decimal | None:
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
        from crossmargin.margin import tiers_from_ccxt

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


# --------------------------------------------------------------------------- binance


#: Binance income types that fills and funding already account for.
_TRADING_INCOME = frozenset({"REALIZED_PNL", "COMMISSION", "FUNDING_FEE"})
#: Binance income types that move money between the user's own wallets.
_INTERNAL_TRANSFERS = frozenset({
    "INTERNAL_TRANSFER", "CROSS_COLLATERAL_TRANSFER", "STRATEGY_UMFUTURES_TRANSFER",
    "COIN_SWAP_DEPOSIT", "COIN_SWAP_WITHDRAW", "AUTO_EXCHANGE",
})


class BinanceFetcher(Fetcher):
    """Binance USDⓈ-M (``fapi``) and COIN-M (``dapi``) futures."""

    page = 1000

    @property
    def coinm(self) -> bool:
        return self.ex.id == "binancecoinm"

    def _income_call(self, params: dict[str, Any]) -> Any:
        if self.coinm:
            return self.ex.dapiPrivateGetIncome(params)
        return self.ex.fapiPrivateGetIncome(params)

    def balances(self) -> tuple[BalanceRecord, ...]:
        def check(_: Any) -> Any:
            raw = self.json()
            if not isinstance(raw, dict) or not isinstance(raw.get("assets"), list):
                raise bad_reply("balance", "no 'assets' list")
            return raw

        raw = self.checked("balance", self.ex.fetch_balance, check)
        out = []
        for i, a in enumerate(raw["assets"]):
            where = f"balance.assets[{i}]"
            wallet = req_dec(a.get("walletBalance"), f"{where}.walletBalance")
            margin = dec(a.get("marginBalance"), f"{where}.marginBalance")
            if wallet == 0 and not margin and a.get("asset") != self.config.settle:
                continue
            upnl = dec(a.get("unrealizedProfit"), f"{where}.unrealizedProfit")
            free = dec(a.get("availableBalance"), f"{where}.availableBalance")
            out.append(BalanceRecord(
                currency=str(a.get("asset")), wallet_balance=wallet, margin_balance=margin,
                unrealized_pnl=upnl, free=free,
                used=dec(a.get("initialMargin"), f"{where}.initialMargin"),
            ))
        return tuple(out)

    def positions(self) -> tuple[tuple[PositionRecord, ...], SnapshotCompleteness]:
        def check(_: Any) -> Any:
            raw = self.json()
            if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
                raise bad_reply("positions", "not a list of objects")
            return raw

        raw = self.checked("positions", self.ex.fetch_positions, check)
        out = []
        for i, r in enumerate(raw):
            where = f"positions[{i}]"
            if not isinstance(r, dict):
                raise bad_reply("positions", f"{where} is not an object")
            amt = req_dec(r.get("positionAmt"), f"{where}.positionAmt")
            if amt == 0:
                continue
            symbol = self.ex.safe_symbol(r.get("symbol"), None, None, "swap")
            m = self.market(symbol) or {}
            pos_side = str(r.get("positionSide") or "BOTH").upper()
            if pos_side in ("LONG", "SHORT"):
                side = Side(pos_side.lower())
            else:
                side = Side.LONG if amt > 0 else Side.SHORT
            iso_wallet = dec(r.get("isolatedWallet"), f"{where}.isolatedWallet")
            mode_raw = str(r.get("marginType") or "").lower()
            isolated = mode_raw == "isolated" or (not mode_raw and bool(iso_wallet))
            mode = MarginMode.ISOLATED if isolated else MarginMode.CROSS
            notional = dec(r.get("notional") or r.get("notionalValue"), f"{where}.notional")
            initial = dec(r.get("initialMargin") or r.get("positionInitialMargin"),
                          f"{where}.initialMargin")
            lev = dec(r.get("leverage"), f"{where}.leverage") or _leverage_from(notional, initial)
            liq = dec(r.get("liquidationPrice"), f"{where}.liquidationPrice")
            out.append(PositionRecord(
                key=f"{symbol}|{side.value}|{mode.value}", symbol=symbol, side=side,
                margin_mode=mode, contracts=abs(amt),
                contract_size=dec(m.get("contractSize"), "contractSize") or Decimal(1),
                entry_price=req_dec(r.get("entryPrice"), f"{where}.entryPrice"),
                mark_price=dec(r.get("markPrice"), f"{where}.markPrice"),
                leverage=lev, liquidation_price=liq if liq else None,
                unrealized_pnl=dec(r.get("unRealizedProfit") or r.get("unrealizedProfit"),
                                   f"{where}.unRealizedProfit"),
                settle=str(r.get("marginAsset") or m.get("settle") or self.config.settle),
                inverse=bool(m.get("inverse")),
                isolated_margin=iso_wallet if isolated else None,
                maintenance_margin=dec(r.get("maintMargin"), f"{where}.maintMargin"),
                initial_margin=initial,
                notional=abs(notional) if notional is not None else None,
                timestamp=int(r["updateTime"]) if str(r.get("updateTime", "")).isdigit() else None,
            ))
        return tuple(out), SnapshotCompleteness.FULL

    def income(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Every income row (funding, commission, realised PnL...) since the cursor."""
        start = self.cursor_int("income") or self.history_start()
        since = start
        seen: set[tuple[str, str]] = set()
        rows: list[dict[str, Any]] = []
        while True:
            params = {"startTime": since, "limit": self.page}
            page = self.checked("income", partial(self._income_call, params), _need_list)
            fresh = 0
            for r in page:
                key = (str(r.get("incomeType")), str(r.get("tranId")))
                if key in seen:
                    continue
                seen.add(key)
                rows.append(r)
                fresh += 1
            self.progress(f"income: {len(rows)} rows")
            if len(page) < self.page or fresh == 0:
                break
            since = int(page[-1]["time"])
        last = max((int(r["time"]) for r in rows), default=None)
        return rows, {"income": str(self.next_time_cursor(last, start))}

    def history(self, held: set[str], run: Step) -> History:
        """One pass over the income history gives funding and transfers, and names the
        symbols that traded (fills are paged per symbol, which Binance requires)."""
        self.progress("income")
        income, cursors = run(self.income)
        symbols = set(held)
        for r in income:
            if r.get("symbol") and r.get("incomeType") in _TRADING_INCOME:
                symbols.add(self.ex.safe_symbol(r["symbol"], None, None, "swap"))
        symbols = {s for s in symbols if self.market(s)}
        self.progress("fills")
        fills, cur = run(lambda: self.fills_for(symbols))
        cursors.update(cur)
        return History(fills=fills, funding=self.funding_from_income(income),
                       transfers=self.transfers_from_income(income), cursors=cursors,
                       wallet_complete=True)

    def transfers_from_income(
        self, rows: Iterable[Mapping[str, Any]]
    ) -> tuple[TransferRecord, ...]:
        """Income rows that move the wallet without a trade: TRANSFER (deposits and
        withdrawals), the venue's internal transfers, and every other non-trading type
        (rebates, bonuses, insurance clearance...) as ``other``. Trading income
        (REALIZED_PNL, COMMISSION, FUNDING_FEE) is what fills and funding already hold."""
        out = []
        for r in rows:
            kind_raw = str(r.get("incomeType") or "")
            if not kind_raw or kind_raw in _TRADING_INCOME:
                continue
            where = f"income {r.get('tranId')}"
            amount = req_dec(r.get("income"), f"{where}.income")
            if kind_raw == "TRANSFER":
                kind = "deposit" if amount > 0 else "withdrawal"
            elif kind_raw in _INTERNAL_TRANSFERS:
                kind = "transfer"
            else:
                kind = "other"
            out.append(TransferRecord(
                transfer_id=f"{kind_raw}:{r.get('tranId')}", currency=str(r.get("asset") or ""),
                amount=amount, timestamp=int(r.get("time") or 0), kind=kind,
                note=kind_raw.lower().replace("_", " "),
            ))
        return tuple(out)

    def funding_from_income(self, rows: Iterable[Mapping[str, Any]]) -> tuple[FundingRecord, ...]:
        out = []
        for r in rows:
            if r.get("incomeType") != "FUNDING_FEE":
                continue
            u = self.ex.parse_income(r)
            out.append(FundingRecord(
                funding_id=str(r.get("tranId")), symbol=u.get("symbol") or "",
                currency=u.get("code") or str(r.get("asset")),
                amount=req_dec(r.get("income"), f"income {r.get('tranId')}.income"),
                timestamp=int(r.get("time") or 0),
            ))
        return tuple(out)

    def fills_for(self, symbols: Iterable[str]) -> tuple[tuple[FillRecord, ...], dict[str, str]]:
        """Fills of each symbol after its cursor (last trade id), paginated by ``fromId``."""
        out: list[FillRecord] = []
        cursors: dict[str, str] = {}
        start = self.history_start()
        for completed, symbol in enumerate(sorted(set(symbols))):
            done = len(out)
            try:
                self._symbol_fills(symbol, start, out, cursors)
            except SyncError as exc:
                if completed and not isinstance(exc, Cancelled):
                    # keep the symbols fetched completely (fills + their cursors)
                    kept = {k: v for k, v in cursors.items() if k != f"fills:{symbol}"}
                    raise PartialHistory(exc, tuple(out[:done]), kept) from None
                raise
        return tuple(out), cursors

    def _symbol_fills(self, symbol: str, start: int, out: list[FillRecord],
                      cursors: dict[str, str]) -> None:
        """One symbol's fills after its cursor, paged by ``fromId``, onto ``out``."""
        name = f"fills:{symbol}"
        last_id = self.cursor_int(name)
        from_id = 0 if last_id is None else last_id + 1
        while True:
            params = {"fromId": from_id}
            trades, raw = self.checked(
                f"fills {symbol}",
                partial(self.ex.fetch_my_trades, symbol, None, self.page, params),
                lambda t: (t, _need_list(self.json())),
            )
            t0 = time.perf_counter()
            for t in trades:
                if int(t.get("timestamp") or 0) < start and last_id is None:
                    continue
                out.append(self._fill(t))
            ids = [int(r["id"]) for r in raw]
            self.convert_seconds += time.perf_counter() - t0
            self.progress(f"fills {symbol}: {len(out)}")
            if ids:
                last_id = max(ids + ([last_id] if last_id is not None else []))
                cursors[name] = str(last_id)
            if len(raw) < self.page:
                break
            from_id = max(ids) + 1

    def _fill(self, t: Mapping[str, Any]) -> FillRecord:
        info = t.get("info") or {}
        where = f"fill {t.get('id')}"
        commission = req_dec(info.get("commission"), f"{where}.commission")
        return FillRecord(
            trade_id=str(t.get("id")), order_id=t.get("order"), symbol=t.get("symbol") or "",
            side=str(t.get("side")), amount=req_dec(info.get("qty"), f"{where}.qty"),
            price=req_dec(info.get("price"), f"{where}.price"), fee=commission,
            fee_currency=info.get("commissionAsset"), timestamp=int(t.get("timestamp") or 0),
            taker=t.get("takerOrMaker") == "taker",
            realized_pnl=dec(info.get("realizedPnl"), f"{where}.realizedPnl"),
            leg=_LEG.get(str(info.get("positionSide") or "").upper(), "net"),
        )

    def tiers(self, symbols: Iterable[str]) -> tuple[TierTableRecord, ...]:
        syms = sorted(set(symbols))
        if not syms:
            return ()
        table = self.call("tiers", lambda: self.ex.fetch_leverage_tiers(syms))
        out = []
        for s in syms:
            rows = table.get(s) if isinstance(table, dict) else None
            if not rows:
                continue
            tiers = []
            for i, row in enumerate(rows):
                info = row.get("info") or {}
                where = f"tiers {s}[{i}]"
                cap = dec(info.get("notionalCap") if "notionalCap" in info
                          else info.get("qtyCap"), f"{where}.notionalCap")
                tiers.append(Tier(
                    min_notional=req_dec(info.get("notionalFloor", info.get("qtyFloor")),
                                         f"{where}.notionalFloor"),
                    max_notional=cap,
                    maintenance_margin_rate=req_dec(info.get("maintMarginRatio"),
                                                    f"{where}.maintMarginRatio"),
                    maintenance_amount=dec(info.get("cum"), f"{where}.cum"),
                    max_leverage=dec(info.get("initialLeverage"), f"{where}.initialLeverage"),
                ))
            out.append(TierTableRecord(s, tuple(tiers)))
        return tuple(out)

    def marks(self, symbols: Iterable[str]) -> dict[str, Decimal]:
        syms = sorted(set(symbols))
        if not syms:
            return {}
        return self.checked("marks", lambda: self.ex.fetch_mark_prices(syms),
                            lambda t: self.marks_from_tickers(t, syms))


# --------------------------------------------------------------------------- bybit


class BybitFetcher(Fetcher):
    """Bybit v5 unified account (linear contracts by default; ``options.categories``)."""

    page = 100

    @property
    def categories(self) -> list[str]:
        cats = self.config.options.get("categories")
        if isinstance(cats, list) and cats:
            return [str(c) for c in cats]
        return ["inverse"] if self.config.settle not in ("USDT", "USDC") else ["linear"]

    def _check(self, what: str) -> dict[str, Any]:
        result: dict[str, Any] = _envelope(self.json(), what, "retCode", "result", dict)
        return result

    def balances(self) -> tuple[BalanceRecord, ...]:
        result = self.checked("balance", self.ex.fetch_balance, lambda _: self._check("balance"))
        accounts = result.get("list")
        if not isinstance(accounts, list) or not accounts:
            raise bad_reply("balance", "empty account list")
        out = []
        for i, c in enumerate(accounts[0].get("coin") or []):
            where = f"balance.coin[{i}]"
            wallet = req_dec(c.get("walletBalance"), f"{where}.walletBalance")
            upnl = dec(c.get("unrealisedPnl"), f"{where}.unrealisedPnl")
            locked = dec(c.get("locked"), f"{where}.locked") or Decimal(0)
            im = (dec(c.get("totalPositionIM"), f"{where}.totalPositionIM") or Decimal(0)) + (
                dec(c.get("totalOrderIM"), f"{where}.totalOrderIM") or Decimal(0))
            out.append(BalanceRecord(
                currency=str(c.get("coin")), wallet_balance=wallet,
                margin_balance=wallet + (upnl or Decimal(0)), unrealized_pnl=upnl,
                used=im + locked, free=wallet - im - locked,
            ))
        return tuple(out)

    def positions(self) -> tuple[tuple[PositionRecord, ...], SnapshotCompleteness]:
        out: list[PositionRecord] = []
        for cat in self.categories:
            params = {"category": cat, "settleCoin": self.config.settle}
            result = self.checked("positions", partial(self.ex.fetch_positions, None, params),
                                  lambda _: self._check("positions"))
            rows = result.get("list")
            if not isinstance(rows, list):
                raise bad_reply("positions", "no list")
            for i, r in enumerate(rows):
                where = f"positions[{i}]"
                size = req_dec(r.get("size"), f"{where}.size")
                if size == 0 or r.get("side") not in ("Buy", "Sell"):
                    continue
                symbol = self.ex.safe_symbol(r.get("symbol"), None, None, "swap")
                m = self.market(symbol) or {}
                side = Side.LONG if r["side"] == "Buy" else Side.SHORT
                isolated = str(r.get("tradeMode")) == "1"
                mode = MarginMode.ISOLATED if isolated else MarginMode.CROSS
                liq = dec(r.get("liqPrice"), f"{where}.liqPrice")
                out.append(PositionRecord(
                    key=f"{symbol}|{side.value}|{r.get('positionIdx', 0)}", symbol=symbol,
                    side=side, margin_mode=mode, contracts=abs(size),
                    contract_size=dec(m.get("contractSize"), "contractSize") or Decimal(1),
                    entry_price=req_dec(r.get("avgPrice"), f"{where}.avgPrice"),
                    mark_price=dec(r.get("markPrice"), f"{where}.markPrice"),
                    leverage=dec(r.get("leverage"), f"{where}.leverage"),
                    liquidation_price=liq if liq else None,
                    unrealized_pnl=dec(r.get("unrealisedPnl"), f"{where}.unrealisedPnl"),
                    settle=str(m.get("settle") or self.config.settle),
                    inverse=cat == "inverse",
                    isolated_margin=dec(r.get("positionBalance"), f"{where}.positionBalance")
                    if isolated else None,
                    maintenance_margin=dec(r.get("positionMM"), f"{where}.positionMM"),
                    initial_margin=dec(r.get("positionIM"), f"{where}.positionIM"),
                    notional=dec(r.get("positionValue"), f"{where}.positionValue"),
                    timestamp=int(r["updatedTime"]) if str(r.get("updatedTime", "")).isdigit()
                    else None,
                ))
        return tuple(out), SnapshotCompleteness.FULL

    def _executions(self, what: str, method: Callable[..., Any], cursor_name: str,
                    ) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], dict[str, str]]:
        """(unified, raw) pairs of executions after the cursor, walking 7-day windows."""
        start = self.cursor_int(cursor_name) or self.history_start()
        now = self.now_ms()
        rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
        seen: set[str] = set()
        for cat in self.categories:
            lo = start
            while lo <= now:
                hi = min(lo + WEEK_MS - 1, now)
                self._execution_window(what, method, cat, lo, hi, seen, rows)
                lo = hi + 1
        last = max((int(r.get("execTime") or 0) for _, r in rows), default=None)
        return rows, {cursor_name: str(self.next_time_cursor(last, start))}

    def _execution_window(
        self, what: str, method: Callable[..., Any], cat: str, lo: int, hi: int,
        seen: set[str], rows: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """Append to ``rows`` every page of one category's executions from ``lo`` to ``hi``
        (ms, inclusive; at most 7 days), skipping ids already in ``seen``."""
        cursor = ""
        while True:
            params: dict[str, Any] = {"category": cat, "startTime": lo, "endTime": hi,
                                      "limit": self.page}
            if cursor:
                params["cursor"] = cursor
            items, result = self.checked(
                what, partial(method, None, None, None, params),
                lambda t: (t, self._check(what)))
            raw = result.get("list")
            if not isinstance(raw, list) or not isinstance(items, list):
                raise bad_reply(what, "no list")
            by_id = {str(r.get("execId")): r for r in raw}
            for u in items:
                uid = str(u.get("id"))
                if uid in seen:
                    continue
                seen.add(uid)
                rows.append((u, by_id.get(uid, u.get("info") or {})))
            self.progress(f"{what}: {len(rows)}")
            cursor = str(result.get("nextPageCursor") or "")
            if not cursor or not raw:
                return

    def fills(self) -> tuple[tuple[FillRecord, ...], dict[str, str]]:
        pairs, cur = self._executions("fills", self.ex.fetch_my_trades, "fills")
        t0 = time.perf_counter()
        out = []
        for u, r in pairs:
            where = f"fill {u.get('id')}"
            fee_ccy = r.get("feeCurrency") or (self.market(u.get("symbol") or "") or {}).get(
                "settle")
            out.append(FillRecord(
                trade_id=str(u.get("id")), order_id=u.get("order"),
                symbol=u.get("symbol") or "", side=str(u.get("side")),
                amount=req_dec(r.get("execQty"), f"{where}.execQty"),
                price=req_dec(r.get("execPrice"), f"{where}.execPrice"),
                fee=dec(r.get("execFee"), f"{where}.execFee") or Decimal(0),
                fee_currency=fee_ccy, timestamp=int(r.get("execTime") or 0),
                taker=not bool(r.get("isMaker")),
            ))
        self.convert_seconds += time.perf_counter() - t0
        return tuple(out), cur

    def funding(self) -> tuple[tuple[FundingRecord, ...], dict[str, str]]:
        pairs, cur = self._executions("funding", self.ex.fetch_funding_history, "funding")
        out = []
        for u, r in pairs:
            where = f"funding {u.get('id')}"
            # Bybit's execFee is what the account paid: > 0 paid, < 0 received
            fee = req_dec(r.get("execFee"), f"{where}.execFee")
            out.append(FundingRecord(
                funding_id=str(u.get("id")), symbol=u.get("symbol") or "",
                currency=u.get("code") or self.config.settle, amount=-fee,
                timestamp=int(r.get("execTime") or 0),
                rate=dec(r.get("feeRate"), f"{where}.feeRate"),
            ))
        return tuple(out), cur

    def tiers(self, symbols: Iterable[str]) -> tuple[TierTableRecord, ...]:
        out = []
        for s in sorted(set(symbols)):
            rows = self.call(f"tiers {s}", partial(self.ex.fetch_market_leverage_tiers, s))
            tiers = []
            lo = Decimal(0)
            for i, row in enumerate(rows):
                info = row.get("info") or {}
                where = f"tiers {s}[{i}]"
                hi = req_dec(info.get("riskLimitValue"), f"{where}.riskLimitValue")
                tiers.append(Tier(
                    min_notional=lo, max_notional=hi,
                    maintenance_margin_rate=req_dec(info.get("maintenanceMargin"),
                                                    f"{where}.maintenanceMargin"),
                    maintenance_amount=dec(info.get("mmDeduction"), f"{where}.mmDeduction"),
                    max_leverage=dec(info.get("maxLeverage"), f"{where}.maxLeverage"),
                ))
                lo = hi
            out.append(TierTableRecord(s, tuple(tiers)))
        return tuple(out)

    def marks(self, symbols: Iterable[str]) -> dict[str, Decimal]:
        syms = sorted(set(symbols))
        if not syms:
            return {}
        return self.checked(
            "marks", lambda: self.ex.fetch_tickers(syms, {"category": self.categories[0]}),
            lambda t: self.marks_from_tickers(t, syms))


# --------------------------------------------------------------------------- okx


class OkxFetcher(Fetcher):
    """OKX v5 trading account, perpetual swaps."""

    page = 100
    retention_ms = 90 * DAY_MS

    def _check_any(self, what: str, _result: Any) -> list[Any]:
        return self._check(what)

    def _check(self, what: str) -> list[Any]:
        data: list[Any] = _envelope(self.json(), what, "code", "data", list)
        return data

    def balances(self) -> tuple[BalanceRecord, ...]:
        data = self.checked("balance", lambda: self.ex.fetch_balance({"type": "trading"}),
                            lambda _: self._check("balance"))
        if not data:
            raise bad_reply("balance", "empty data")
        out = []
        for i, d in enumerate(data[0].get("details") or []):
            where = f"balance.details[{i}]"
            wallet = req_dec(d.get("cashBal"), f"{where}.cashBal")
            out.append(BalanceRecord(
                currency=str(d.get("ccy")), wallet_balance=wallet,
                margin_balance=dec(d.get("eq"), f"{where}.eq"),
                unrealized_pnl=dec(d.get("upl"), f"{where}.upl"),
                free=dec(d.get("availBal"), f"{where}.availBal"),
                used=dec(d.get("frozenBal"), f"{where}.frozenBal"),
            ))
        return tuple(out)

    def positions(self) -> tuple[tuple[PositionRecord, ...], SnapshotCompleteness]:
        data = self.checked("positions",
                            lambda: self.ex.fetch_positions(None, {"instType": "SWAP"}),
                            lambda _: self._check("positions"))
        out = []
        for i, r in enumerate(data):
            where = f"positions[{i}]"
            pos = req_dec(r.get("pos"), f"{where}.pos")
            if pos == 0:
                continue
            symbol = self.ex.safe_symbol(r.get("instId"), None, None, "swap")
            m = self.market(symbol) or {}
            pside = r.get("posSide")
            if pside in ("long", "short"):
                side = Side(pside)
            else:
                side = Side.LONG if pos > 0 else Side.SHORT
            isolated = r.get("mgnMode") == "isolated"
            liq = dec(r.get("liqPx"), f"{where}.liqPx")
            out.append(PositionRecord(
                key=str(r.get("posId") or f"{symbol}|{side.value}|{r.get('mgnMode')}"),
                symbol=symbol, side=side,
                margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
                contracts=abs(pos),
                contract_size=dec(m.get("contractSize"), "contractSize") or Decimal(1),
                entry_price=req_dec(r.get("avgPx"), f"{where}.avgPx"),
                mark_price=dec(r.get("markPx"), f"{where}.markPx"),
                leverage=dec(r.get("lever"), f"{where}.lever"),
                liquidation_price=liq if liq else None,
                unrealized_pnl=dec(r.get("upl"), f"{where}.upl"),
                settle=str(r.get("ccy") or m.get("settle") or self.config.settle),
                inverse=bool(m.get("inverse")),
                isolated_margin=dec(r.get("margin"), f"{where}.margin") if isolated else None,
                maintenance_margin=dec(r.get("mmr"), f"{where}.mmr"),
                initial_margin=dec(r.get("imr"), f"{where}.imr"),
                notional=dec(r.get("notionalUsd"), f"{where}.notionalUsd"),
                timestamp=int(r["uTime"]) if str(r.get("uTime", "")).isdigit() else None,
            ))
        return tuple(out), SnapshotCompleteness.FULL

    def _paged(self, what: str, method: Callable[..., Any], cursor_name: str,
               ) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], dict[str, str]]:
        start = self.cursor_int(cursor_name) or self.history_start()
        begin = max(start, self.now_ms() - self.retention_ms + 60_000)
        rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
        after = ""
        while True:
            params: dict[str, Any] = {"type": "swap", "begin": begin, "limit": self.page}
            if after:
                params["after"] = after
            items, raw = self.checked(what, partial(method, None, None, None, params),
                                      lambda t: (t, self._check(what)))
            by_bill = {str(r.get("billId")): r for r in raw}
            for u in items:
                info = u.get("info") or {}
                rows.append((u, by_bill.get(str(info.get("billId")), info)))
            self.progress(f"{what}: {len(rows)}")
            if len(raw) < self.page:
                break
            after = str(min(int(r["billId"]) for r in raw))
        last = max((int(r.get("ts") or 0) for _, r in rows), default=None)
        return rows, {cursor_name: str(self.next_time_cursor(last, start))}

    def fills(self) -> tuple[tuple[FillRecord, ...], dict[str, str]]:
        pairs, cur = self._paged("fills", self.ex.fetch_my_trades, "fills")
        t0 = time.perf_counter()
        out = []
        for u, r in pairs:
            where = f"fill {u.get('id')}"
            fee = dec(r.get("fee"), f"{where}.fee") or Decimal(0)
            out.append(FillRecord(
                trade_id=str(u.get("id")), order_id=u.get("order"),
                symbol=u.get("symbol") or "", side=str(u.get("side")),
                amount=req_dec(r.get("fillSz"), f"{where}.fillSz"),
                price=req_dec(r.get("fillPx"), f"{where}.fillPx"),
                fee=-fee,  # OKX: negative fee = charged
                fee_currency=r.get("feeCcy"), timestamp=int(r.get("ts") or 0),
                taker=r.get("execType") == "T",
                realized_pnl=dec(r.get("fillPnl"), f"{where}.fillPnl"),
                leg=_LEG.get(str(r.get("posSide") or "").upper(), "net"),
            ))
        self.convert_seconds += time.perf_counter() - t0
        return tuple(out), cur

    def funding(self) -> tuple[tuple[FundingRecord, ...], dict[str, str]]:
        pairs, cur = self._paged("funding", self.ex.fetch_funding_history, "funding")
        out = []
        for u, r in pairs:
            where = f"funding {u.get('id')}"
            out.append(FundingRecord(
                funding_id=str(u.get("id")), symbol=u.get("symbol") or "",
                currency=u.get("code") or str(r.get("ccy")),
                amount=req_dec(r.get("balChg"), f"{where}.balChg"),
                timestamp=int(r.get("ts") or 0),
            ))
        return tuple(out), cur

    def tiers(self, symbols: Iterable[str]) -> tuple[TierTableRecord, ...]:
        from crossmargin.margin import okx_tiers

        out = []
        for s in sorted(set(symbols)):
            raw = self.checked(f"tiers {s}",
                               partial(self.ex.fetch_market_leverage_tiers, s),
                               partial(self._check_any, f"tiers {s}"))
            size = dec((self.market(s) or {}).get("contractSize"), "contractSize") or Decimal(1)
            out.append(TierTableRecord(s, okx_tiers(raw, size)))
        return tuple(out)


def fetcher_for(exchange_id: str) -> type[Fetcher]:
    """The fetcher class for a ccxt exchange id (generic for the others)."""
    if exchange_id in ("binanceusdm", "binancecoinm"):
        return BinanceFetcher
    if exchange_id == "bybit":
        return BybitFetcher
    if exchange_id == "okx":
        return OkxFetcher
    return Fetcher
