"""Binance USDⓈ-M (``fapi``) and COIN-M (``dapi``) futures: positions and balances from the
account endpoints, fills per symbol, income (funding, transfers), brackets, and request
pacing by the used-weight header.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from crossmargin.domain import CollateralMode, MarginMode, Side, Tier
from crossmargin.sync.exchanges.base import (
    LEG,
    Fetcher,
    History,
    Step,
    bad_reply,
    dec,
    leverage_from,
    need_list,
    req_dec,
)
from crossmargin.sync.faults import Cancelled, PartialHistory, SyncError
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
        self._multi_assets = raw.get("multiAssetsMargin")  # USDⓈ-M only; None on COIN-M
        self._held = {str(a.get("asset")) for a in raw["assets"]
                      if str(a.get("walletBalance") or "0").strip("0.-")}
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

    def collateral(self) -> tuple[CollateralMode | None, tuple[CollateralRateRecord, ...]]:
        """Multi-Assets mode (``multiAssetsMargin`` in the account reply, read by
        :meth:`balances`): each held asset's rate from ``GET /fapi/v1/assetIndex``: its
        index in the settlement currency (``index / index of USDT``) and its collateral
        value ratio ``bidRate / index`` (Binance values a positive balance at the bid rate,
        ``index × (1 − bidBuffer)``; margin-rules.md §8). A debt is counted at the same
        index here, not at Binance's ask rate (a simplification, said in the docs)."""
        flag = getattr(self, "_multi_assets", None)
        if self.coinm or flag is None:
            return None, ()
        if not flag:
            return CollateralMode.SINGLE, ()

        def check(_: Any) -> Any:
            raw = self.json()
            if isinstance(raw, dict):
                raw = [raw]
            if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
                raise bad_reply("assetIndex", "not a list of objects")
            return raw

        rows = self.checked("assetIndex", self.ex.fapiPublicGetAssetIndex, check)
        index: dict[str, tuple[Decimal, Decimal]] = {}
        for i, r in enumerate(rows):
            sym = str(r.get("symbol") or "")
            if not sym.endswith("USD"):
                continue
            where = f"assetIndex[{i}]"
            idx = req_dec(r.get("index"), f"{where}.index")
            bid = dec(r.get("bidRate"), f"{where}.bidRate") or idx
            if idx > 0:
                index[sym[:-3]] = (idx, bid)
        settle = self.config.settle
        base = index.get(settle, (Decimal(1), Decimal(1)))[0]
        out = []
        for asset in sorted(getattr(self, "_held", set()) - {settle}):
            if asset not in index:
                raise bad_reply("assetIndex", f"no index for {asset}, which the account holds")
            idx, bid = index[asset]
            out.append(CollateralRateRecord(asset, idx / base, bid / idx))
        return CollateralMode.MULTI, tuple(out)

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
            lev = dec(r.get("leverage"), f"{where}.leverage") or leverage_from(notional, initial)
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
            page = self.checked("income", partial(self._income_call, params), need_list)
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
                lambda t: (t, need_list(self.json())),
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
            leg=LEG.get(str(info.get("positionSide") or "").upper(), "net"),
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

