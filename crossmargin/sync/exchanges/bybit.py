"""Bybit v5 (linear and inverse): positions, wallet, executions, funding from the
transaction log, risk limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from crossmargin.domain import CollateralMode, MarginMode, Side, Tier
from crossmargin.sync.exchanges.base import (
    Fetcher,
    Pair,
    PartialRows,
    bad_reply,
    dec,
    envelope,
    req_dec,
)
from crossmargin.sync.faults import PartialHistory
from crossmargin.sync.model import (
    BalanceRecord,
    CollateralRateRecord,
    FillRecord,
    FundingRecord,
    PositionRecord,
    SnapshotCompleteness,
    TierTableRecord,
)

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
        result: dict[str, Any] = envelope(self.json(), what, "retCode", "result", dict)
        return result

    def balances(self) -> tuple[BalanceRecord, ...]:
        result = self.checked("balance", self.ex.fetch_balance, lambda _: self._check("balance"))
        accounts = result.get("list")
        if not isinstance(accounts, list) or not accounts:
            raise bad_reply("balance", "empty account list")
        out = []
        self._account_type = str(accounts[0].get("accountType") or "")
        self._usd_price: dict[str, Decimal] = {}
        self._excluded: set[str] = set()
        for i, c in enumerate(accounts[0].get("coin") or []):
            where = f"balance.coin[{i}]"
            wallet = req_dec(c.get("walletBalance"), f"{where}.walletBalance")
            usd = dec(c.get("usdValue"), f"{where}.usdValue")
            if usd is not None and wallet:
                self._usd_price[str(c.get("coin"))] = usd / wallet
            if c.get("marginCollateral") is False or c.get("collateralSwitch") is False:
                self._excluded.add(str(c.get("coin")))  # not collateral, or switched off
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

    def collateral(self) -> tuple[CollateralMode | None, tuple[CollateralRateRecord, ...]]:
        """The Unified Trading Account's margin mode (``GET /v5/account/info``): cross
        (``REGULAR_MARGIN``) and portfolio margin pool every collateral coin; isolated
        margin mode and classic accounts do not. In a pool each held coin's rate: its USD
        price from the wallet (``usdValue / walletBalance``) over the settlement coin's,
        and its collateral value ratio from ``GET /v5/spot-margin-trade/collateral``
        (tiered by quantity: the first tier's ratio is used, the tiers above it are not
        modelled for synced accounts). Portfolio margin is evaluated as cross margin
        (its stress-test risk units are not modelled)."""
        info = self.checked("account info", self.ex.privateGetV5AccountInfo,
                            lambda raw: envelope(raw, "account info", "retCode", "result",
                                                 dict))
        status = str(info.get("unifiedMarginStatus") or "")
        mode = str(info.get("marginMode") or "").upper()
        unified = status not in ("", "1") or getattr(self, "_account_type", "") == "UNIFIED"
        if not unified or mode == "ISOLATED_MARGIN":
            return CollateralMode.SINGLE, ()
        if mode == "PORTFOLIO_MARGIN":
            self.unsupported.append("portfolio margin (evaluated as cross margin)")
        prices = getattr(self, "_usd_price", {})
        settle = self.config.settle
        base = prices.get(settle, Decimal(1))
        held = sorted(set(prices) - {settle})
        if not held:
            return CollateralMode.MULTI, ()
        result = self.checked(
            "collateral ratios", partial(self.ex.publicGetV5SpotMarginTradeCollateral, {}),
            lambda raw: envelope(raw, "collateral ratios", "retCode", "result", dict))
        ratios: dict[str, Decimal] = {}
        for i, row in enumerate(result.get("list") or []):
            tiers = row.get("collateralRatioList") or []
            if tiers:
                ratios[str(row.get("currency"))] = req_dec(
                    tiers[0].get("collateralRatio"), f"collateral.list[{i}].collateralRatio")
        out = []
        excluded: set[str] = getattr(self, "_excluded", set())
        for asset in held:
            if asset not in ratios and asset not in excluded:
                self.unsupported.append(f"{asset}: no collateral ratio published, not counted")
            ratio = Decimal(0) if asset in excluded else ratios.get(asset, Decimal(0))
            out.append(CollateralRateRecord(asset, prices[asset] / base, ratio))
        return CollateralMode.MULTI, tuple(out)

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
                    ) -> tuple[list[Pair], dict[str, str]]:
        """(unified, raw) pairs of executions after the cursor, 7-day windows oldest
        first, every category in each (:meth:`~.base.Fetcher.walk_weeks`)."""
        start = self.cursor_int(cursor_name) or self.history_start()
        seen: set[str] = set()

        def read(lo: int, hi: int, rows: list[Pair]) -> None:
            for cat in self.categories:
                self._execution_window(what, method, cat, lo, hi, seen, rows)

        return self.walk_weeks(cursor_name, start, start, read, "execTime")

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
        try:
            pairs, cur = self._executions("fills", self.ex.fetch_my_trades, "fills")
        except PartialRows as partial_rows:  # keep the whole windows fetched before it
            raise PartialHistory(partial_rows.error, self._fill_records(partial_rows.rows),
                                 partial_rows.cursors) from None
        return self._fill_records(pairs), cur

    def _fill_records(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]]
                      ) -> tuple[FillRecord, ...]:
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
        return tuple(out)

    def funding(self) -> tuple[tuple[FundingRecord, ...], dict[str, str]]:
        try:
            pairs, cur = self._executions("funding", self.ex.fetch_funding_history,
                                          "funding")
        except PartialRows as partial_rows:  # funding is stored with a whole cycle only
            raise partial_rows.error from None
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
