"""OKX (swap): positions, balance, fills, funding bills and position tiers (in contracts).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from crossmargin.domain import CollateralMode, MarginMode, Side
from crossmargin.sync.exchanges.base import (
    DAY_MS,
    LEG,
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

# --------------------------------------------------------------------------- okx


class OkxFetcher(Fetcher):
    """OKX v5 trading account, perpetual swaps."""

    page = 100
    retention_ms = 90 * DAY_MS

    def _check_any(self, what: str, _result: Any) -> list[Any]:
        return self._check(what)

    def _check(self, what: str) -> list[Any]:
        data: list[Any] = envelope(self.json(), what, "code", "data", list)
        return data

    def balances(self) -> tuple[BalanceRecord, ...]:
        data = self.checked("balance", lambda: self.ex.fetch_balance({"type": "trading"}),
                            lambda _: self._check("balance"))
        if not data:
            raise bad_reply("balance", "empty data")
        out = []
        self._usd: dict[str, tuple[Decimal, Decimal | None]] = {}
        for i, d in enumerate(data[0].get("details") or []):
            where = f"balance.details[{i}]"
            wallet = req_dec(d.get("cashBal"), f"{where}.cashBal")
            eq = dec(d.get("eq"), f"{where}.eq")
            eq_usd = dec(d.get("eqUsd"), f"{where}.eqUsd")
            if eq and eq_usd:  # USD price, and the discount OKX applies (disEq / eqUsd)
                dis = dec(d.get("disEq"), f"{where}.disEq")
                self._usd[str(d.get("ccy"))] = (eq_usd / eq,
                                                 dis / eq_usd if dis is not None else None)
            out.append(BalanceRecord(
                currency=str(d.get("ccy")), wallet_balance=wallet,
                margin_balance=dec(d.get("eq"), f"{where}.eq"),
                unrealized_pnl=dec(d.get("upl"), f"{where}.upl"),
                free=dec(d.get("availBal"), f"{where}.availBal"),
                used=dec(d.get("frozenBal"), f"{where}.frozenBal"),
            ))
        return tuple(out)

    def collateral(self) -> tuple[CollateralMode | None, tuple[CollateralRateRecord, ...]]:
        """The account level (``GET /api/v5/account/config``, ``acctLv``): 3
        (multi-currency margin) and 4 (portfolio margin) pool every currency, 1–2 do not.
        Each held currency's rate comes from the balance reply itself: its USD price
        ``eqUsd / eq`` over the settlement currency's, and its discount ratio
        ``disEq / eqUsd`` (OKX's discounted equity). Approximated: OKX's margin ratio also
        counts liquidation fees, borrowing interest and pending orders, and the discount
        tiers above the current balance are not modelled; portfolio margin is evaluated
        as multi-currency margin."""
        config = self.checked("account config", self.ex.privateGetAccountConfig,
                              lambda _: self._check("account config"))
        level = str((config[0] if config else {}).get("acctLv") or "")
        if level not in ("3", "4"):
            return CollateralMode.SINGLE, ()
        if level == "4":
            self.unsupported.append("portfolio margin (evaluated as multi-currency margin)")
        usd = getattr(self, "_usd", {})
        settle = self.config.settle
        base = usd.get(settle, (Decimal(1), None))[0]
        out = []
        for asset in sorted(set(usd) - {settle}):
            price, ratio = usd[asset]
            out.append(CollateralRateRecord(asset, price / base,
                                            ratio if ratio is not None else Decimal(1)))
        return CollateralMode.MULTI, tuple(out)

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
               ) -> tuple[list[Pair], dict[str, str]]:
        """(unified, raw) pairs after the cursor (within OKX's retention), 7-day windows
        oldest first (:meth:`~.base.Fetcher.walk_weeks`), newest first within each."""
        start = self.cursor_int(cursor_name) or self.history_start()
        begin = max(start, self.now_ms() - self.retention_ms + 60_000)
        return self.walk_weeks(cursor_name, begin, start,
                               lambda lo, hi, rows: self._window(what, method, lo, hi, rows),
                               "ts")

    def _window(self, what: str, method: Callable[..., Any], lo: int, hi: int,
                rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Every page of one window (``lo``..``hi`` ms, inclusive) onto ``rows``."""
        after = ""
        while True:
            params: dict[str, Any] = {"type": "swap", "begin": lo, "end": hi,
                                      "limit": self.page}
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
                return
            after = str(min(int(r["billId"]) for r in raw))

    def fills(self) -> tuple[tuple[FillRecord, ...], dict[str, str]]:
        try:
            pairs, cur = self._paged("fills", self.ex.fetch_my_trades, "fills")
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
                leg=LEG.get(str(r.get("posSide") or "").upper(), "net"),
            ))
        self.convert_seconds += time.perf_counter() - t0
        return tuple(out)

    def funding(self) -> tuple[tuple[FundingRecord, ...], dict[str, str]]:
        try:
            pairs, cur = self._paged("funding", self.ex.fetch_funding_history, "funding")
        except PartialRows as partial_rows:  # funding is stored with a whole cycle only
            raise partial_rows.error from None
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
        from crossmargin.sync.tier_tables import okx_tiers

        out = []
        for s in sorted(set(symbols)):
            raw = self.checked(f"tiers {s}",
                               partial(self.ex.fetch_market_leverage_tiers, s),
                               partial(self._check_any, f"tiers {s}"))
            size = dec((self.market(s) or {}).get("contractSize"), "contractSize") or Decimal(1)
            out.append(TierTableRecord(s, okx_tiers(raw, size)))
        return tuple(out)

