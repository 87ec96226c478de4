"""Exchange-side accounts for the replay server, with the liquidation prices the exchange
itself would report, computed from the exchanges' *published* formulas.

Nothing here calls the engine: each exchange figure is written out from its venue's
documentation (``margin-rules.md`` §2.3 for Binance), so a test that syncs one of these
books and reads ``crossmargin whatif --account`` back compares two independent
statements of the rules, as a trader comparing our number with the exchange's would.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.sync.replay_server import FIXTURES, ReplayData, recorded_data

D = Decimal
ZERO = D(0)
TAKER = D("0.0004")


@dataclass(frozen=True)
class BookPosition:
    """One Binance USDⓈ-M position: venue symbol, signed size, entry, mark, mode."""

    symbol: str  # venue id, e.g. BTCUSDT
    amount: Decimal  # signed: > 0 long, < 0 short (base units)
    entry: Decimal
    mark: Decimal
    isolated_wallet: Decimal | None = None  # None: cross
    leverage: int = 10
    position_side: str = "BOTH"


@functools.cache
def _brackets(symbol: str) -> list[tuple[Decimal, Decimal | None, Decimal, Decimal]]:
    """(floor, cap, MMR, cum) rows of ``symbol`` from the recorded Binance bracket table."""
    raw = json.loads((FIXTURES / "tiers" / "binance_usdm_leverage_tiers.json").read_text())
    unified = f"{symbol[:-4]}/USDT:USDT"
    return [
        (D(str(r["info"]["notionalFloor"])), D(str(r["info"]["notionalCap"])),
         D(str(r["info"]["maintMarginRatio"])), D(str(r["info"]["cum"])))
        for r in raw[unified]
    ]


def _bracket(symbol: str, notional: Decimal) -> tuple[Decimal, Decimal]:
    rows = _brackets(symbol)
    for floor, cap, mmr, cum in rows:
        if floor <= notional < (cap if cap is not None else notional + 1):
            return mmr, cum
    return rows[-1][2], rows[-1][3]


def _mm(p: BookPosition) -> Decimal:
    notional = abs(p.amount) * p.mark
    mmr, cum = _bracket(p.symbol, notional)
    return notional * mmr - cum


def _upnl(p: BookPosition) -> Decimal:
    return p.amount * (p.mark - p.entry)


def binance_faq_liquidation_price(
    p: BookPosition, book: list[BookPosition], cross_wallet: Decimal
) -> Decimal | None:
    """Binance's FAQ formula, one-way mode (margin-rules.md §2.3):

    LP = (WB − TMM1 + UPNL1 + cum − s·Q·EP) / (Q·MMR − s·Q)

    WB is the cross wallet (isolated: the position's own wallet; TMM1 = UPNL1 = 0); the
    bracket is the one the position's notional *at the liquidation price* falls in, found
    by trying each bracket and keeping the consistent one (the FAQ's instruction).
    """
    s = 1 if p.amount > 0 else -1
    q = abs(p.amount)
    if p.isolated_wallet is not None:
        wb, tmm, upnl = p.isolated_wallet, D(0), D(0)
    else:
        others = [o for o in book if o is not p and o.isolated_wallet is None]
        wb = cross_wallet
        tmm = sum((_mm(o) for o in others), D(0))
        upnl = sum((_upnl(o) for o in others), D(0))
    for floor, cap, mmr, cum in _brackets(p.symbol):
        lp = (wb - tmm + upnl + cum - s * q * p.entry) / (q * mmr - s * q)
        if lp <= 0:
            continue
        notional = q * lp
        if floor <= notional and (cap is None or notional < cap):
            return lp
    return None


def _fmt(x: Decimal, places: int = 8) -> str:
    return str(x.quantize(D(1).scaleb(-places)))


def binance_book(
    positions: list[BookPosition], cross_wallet: Decimal
) -> tuple[ReplayData, dict[str, Decimal]]:
    """Replay data of a Binance USDⓈ-M account holding ``positions`` with
    ``cross_wallet`` USDT in the cross wallet, and the exchange-reported liquidation
    price of each (key ``SYMBOL|side``), as Binance prints it (8 decimals)."""
    data = copy.deepcopy(recorded_data("binanceusdm"))
    template = next(m for m in data.markets if m["symbol"] == "BTCUSDT")
    have = {m["symbol"] for m in data.markets}
    for p in positions:
        if p.symbol not in have:
            m = copy.deepcopy(template)
            m.update(symbol=p.symbol, pair=p.symbol, baseAsset=p.symbol[:-4])
            data.markets.append(m)
            have.add(p.symbol)
    data.tiers = {}
    raw = json.loads((FIXTURES / "tiers" / "binance_usdm_leverage_tiers.json").read_text())
    for sym in have:
        unified = f"{sym[:-4]}/USDT:USDT"
        if unified in raw:
            data.tiers[sym] = [r["info"] for r in raw[unified]]
    rows = []
    reported: dict[str, Decimal] = {}
    for p in positions:
        lp = binance_faq_liquidation_price(p, positions, cross_wallet)
        side = "long" if p.amount > 0 else "short"
        lp_text = _fmt(lp) if lp is not None else "0"
        if lp is not None:
            reported[f"{p.symbol}|{side}"] = D(lp_text)
        notional = p.amount * p.mark
        rows.append({
            "symbol": p.symbol, "positionSide": p.position_side,
            "positionAmt": str(p.amount), "entryPrice": str(p.entry),
            "breakEvenPrice": str(p.entry), "markPrice": str(p.mark),
            "unRealizedProfit": _fmt(_upnl(p)), "liquidationPrice": lp_text,
            "isolatedMargin": _fmt((p.isolated_wallet or D(0)) + (
                _upnl(p) if p.isolated_wallet is not None else D(0))),
            "notional": _fmt(notional), "marginAsset": "USDT",
            "isolatedWallet": _fmt(p.isolated_wallet or D(0)),
            "initialMargin": _fmt(abs(notional) / p.leverage),
            "maintMargin": _fmt(_mm(p)),
            "positionInitialMargin": _fmt(abs(notional) / p.leverage),
            "openOrderInitialMargin": "0", "adl": "2", "bidNotional": "0",
            "askNotional": "0", "updateTime": "1722161166529",
        })
    data.positions = rows
    data.marks = {p.symbol: str(p.mark) for p in positions}
    iso = sum((p.isolated_wallet or D(0) for p in positions), D(0))
    wallet = cross_wallet + iso
    upnl = sum((_upnl(p) for p in positions), D(0))
    cross_upnl = sum((_upnl(p) for p in positions if p.isolated_wallet is None), D(0))
    mm = sum((_mm(p) for p in positions), D(0))
    im = sum((abs(p.amount) * p.mark / p.leverage for p in positions), D(0))
    asset = {
        "asset": "USDT", "walletBalance": _fmt(wallet), "unrealizedProfit": _fmt(upnl),
        "marginBalance": _fmt(wallet + upnl), "maintMargin": _fmt(mm),
        "initialMargin": _fmt(im), "positionInitialMargin": _fmt(im),
        "openOrderInitialMargin": "0.00000000", "maxWithdrawAmount": _fmt(wallet - im),
        "crossWalletBalance": _fmt(cross_wallet), "crossUnPnl": _fmt(cross_upnl),
        "availableBalance": _fmt(wallet + upnl - im), "marginAvailable": True,
        "updateTime": "1701270042059",
    }
    body: dict[str, Any] = dict(data.balance)
    body.update(
        totalWalletBalance=asset["walletBalance"], totalUnrealizedProfit=asset["unrealizedProfit"],
        totalMarginBalance=asset["marginBalance"], totalMaintMargin=asset["maintMargin"],
        totalInitialMargin=asset["initialMargin"], totalCrossWalletBalance=_fmt(cross_wallet),
        totalCrossUnPnl=_fmt(cross_upnl), availableBalance=asset["availableBalance"],
        assets=[asset], positions=[],
    )
    data.balance = body
    return data, reported


#: The account of the issue: three cross positions and two isolated ones.
MIXED_BOOK = [
    BookPosition("BTCUSDT", D("0.35"), D("67010.5"), D("66120.4")),
    BookPosition("ETHUSDT", D("-4.2"), D("3180.25"), D("3251.80")),
    BookPosition("XRPUSDT", D("9000"), D("0.6120"), D("0.5874")),
    BookPosition("SOLUSDT", D("-60"), D("148.30"), D("151.12"), isolated_wallet=D("905.5")),
    BookPosition("LTCUSDT", D("40"), D("74.10"), D("72.35"), isolated_wallet=D("310.25"),
                 leverage=10),
]
MIXED_CROSS_WALLET = D("4120.75")


def _bybit_risk(symbol: str, value: Decimal) -> tuple[Decimal, Decimal]:
    """(MMR, MM deduction) of the replay's Bybit risk-limit table for ``value``."""
    for cap, mmr, ded in ((D(200000), D("0.01"), D(0)), (D(400000), D("0.015"), D(1000)),
                          (D(600000), D("0.02"), D(3000))):
        if value <= cap:
            return mmr, ded
    raise ValueError(f"{symbol}: {value} is over the replay's risk limit")


def bybit_isolated_liquidation_price(p: BookPosition) -> Decimal:
    """Bybit's published isolated formula (margin-rules.md §3.2), with the position's
    balance = IM + extra margin added:

    long  LP = EP − (IM − MM)/Q − Extra/Q = EP − (balance − MM)/Q
    short LP = EP + (balance − MM)/Q,   MM = Q·EP·MMR − MM deduction
    """
    assert p.isolated_wallet is not None
    q = abs(p.amount)
    value = q * p.entry
    mmr, ded = _bybit_risk(p.symbol, value)
    mm = value * mmr - ded
    s = 1 if p.amount > 0 else -1
    return p.entry - s * (p.isolated_wallet - mm) / q


def bybit_book(positions: list[BookPosition], wallet: Decimal) -> tuple[ReplayData, dict]:
    """Replay data of a Bybit account (USDT linear) holding ``positions``; the USDT
    ``walletBalance`` is ``wallet`` (isolated balances included, as Bybit reports it).
    Returns the exchange-reported liquidation price of each isolated position, keyed
    ``SYMBOL|side``, at Bybit's 2-decimal price precision of these markets."""
    data = copy.deepcopy(recorded_data("bybit"))
    template = data.positions[0]
    rows, reported = [], {}
    for p in positions:
        side = "long" if p.amount > 0 else "short"
        row = dict(template)
        iso = p.isolated_wallet is not None
        q = abs(p.amount)
        value = q * p.entry
        mmr, ded = _bybit_risk(p.symbol, value)
        lp = bybit_isolated_liquidation_price(p) if iso else None
        if lp is not None:
            reported[f"{p.symbol}|{side}"] = lp
        row.update(
            symbol=p.symbol, side="Buy" if p.amount > 0 else "Sell", size=str(q),
            avgPrice=str(p.entry), markPrice=str(p.mark), leverage=str(p.leverage),
            positionValue=str(value), unrealisedPnl=_fmt(_upnl(p)),
            liqPrice=str(lp) if lp is not None else "", tradeMode="1" if iso else "0",
            positionBalance=str(p.isolated_wallet if iso else value / p.leverage),
            positionMM=_fmt(value * mmr - ded), positionIM=_fmt(value / p.leverage),
            positionIdx="0", bustPrice="",
        )
        row.pop("nextPageCursor", None)
        rows.append(row)
    data.positions = rows
    data.marks = {p.symbol: str(p.mark) for p in positions}
    body = copy.deepcopy(data.balance)
    for c in body["result"]["list"][0]["coin"]:
        if c["coin"] == "USDT":
            upnl = sum((_upnl(p) for p in positions), D(0))
            c.update(walletBalance=str(wallet), unrealisedPnl=_fmt(upnl),
                     equity=_fmt(wallet + upnl))
    data.balance = body
    return data, reported


# --------------------------------------------------------------------------- ledger


class BinanceLedger:
    """A Binance USDⓈ-M account's history as the exchange keeps it: trades with their
    ``realizedPnl`` (Binance's own per-trade figure: closed qty × (price − entry), entry
    being its running average, rounded to 8 decimals), COMMISSION / REALIZED_PNL /
    FUNDING_FEE income rows, TRANSFER rows for deposits and withdrawals, and the wallet
    balance they add up to. ``add_*`` append to the replay data in place."""

    def __init__(self, data: ReplayData, start_ms: int, opening: Decimal = ZERO) -> None:
        self.data = data
        self.now = start_ms
        self.wallet = opening
        self.positions: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (signed qty, entry)
        self.next_id = 1
        data.fills.clear()
        data.funding.clear()
        self._set_wallet()

    def _tick(self) -> int:
        self.now += 60_000
        self.next_id += 1
        return self.now

    def _income(self, kind: str, amount: Decimal, symbol: str = "", trade: str = "") -> None:
        self.data.funding.append({
            "symbol": symbol, "incomeType": kind, "income": _fmt(amount), "asset": "USDT",
            "time": self.now, "info": kind, "tranId": 70_000_000_000 + self.next_id,
            "tradeId": trade,
        })
        self.next_id += 1
        self.wallet += D(_fmt(amount))

    def deposit(self, amount: Decimal) -> None:
        self._tick()
        self._income("TRANSFER", amount)
        self._set_wallet()

    def trade(self, symbol: str, side: str, qty: Decimal, price: Decimal,
              fee_rate: Decimal = TAKER) -> Decimal:
        t = self._tick()
        signed = qty if side == "BUY" else -qty
        pos, entry = self.positions.get(symbol, (D(0), D(0)))
        realized = D(0)
        if pos == 0 or (pos > 0) == (signed > 0):
            new = pos + signed
            entry = (abs(pos) * entry + qty * price) / abs(new)
            pos = new
        else:
            closing = min(qty, abs(pos))
            realized = D(_fmt(closing * (price - entry) * (1 if pos > 0 else -1)))
            rest = qty - closing
            pos += closing if pos < 0 else -closing
            if rest:
                pos, entry = (rest if signed > 0 else -rest), price
        self.positions[symbol] = (pos, entry)
        fee = D(_fmt(qty * price * fee_rate))
        tid = 600_000_000 + self.next_id
        self.data.fills.append({
            "symbol": symbol, "id": tid, "orderId": 9_000_000_000 + self.next_id,
            "side": side, "price": str(price), "qty": str(qty), "realizedPnl": _fmt(realized),
            "marginAsset": "USDT", "quoteQty": _fmt(qty * price), "commission": _fmt(fee),
            "commissionAsset": "USDT", "time": t, "positionSide": "BOTH", "maker": False,
            "buyer": side == "BUY",
        })
        self._income("COMMISSION", -fee, symbol, str(tid))
        if realized:
            self._income("REALIZED_PNL", realized, symbol, str(tid))
        self._set_wallet()
        return realized

    def funding(self, symbol: str, amount: Decimal) -> None:
        self._tick()
        self._income("FUNDING_FEE", amount, symbol)
        self._set_wallet()

    def other_income(self, kind: str, amount: Decimal) -> None:
        self._tick()
        self._income(kind, amount)
        self._set_wallet()

    def _set_wallet(self) -> None:
        for a in self.data.balance["assets"]:
            if a["asset"] == "USDT":
                a.update(walletBalance=_fmt(self.wallet), crossWalletBalance=_fmt(self.wallet),
                         marginBalance=_fmt(self.wallet), availableBalance=_fmt(self.wallet))
        self.data.balance["totalWalletBalance"] = _fmt(self.wallet)


def binance_multi_asset_book(
    positions: list[BookPosition], usdt_wallet: Decimal, held: dict[str, Decimal],
    index: dict[str, tuple[Decimal, Decimal]],
) -> tuple[ReplayData, dict[str, Decimal]]:
    """A Binance USDⓈ-M account in Multi-Assets mode (cross only): ``usdt_wallet`` USDT and
    the ``held`` other assets (e.g. BTC, USDC), ``index`` asset -> (USD index, bidBuffer),
    and the liquidation price of each position as *this note infers* Binance computes it.

    Binance publishes no per-position formula for Multi-Assets mode (margin-rules.md §8);
    its FAQ defines the margin balance in USD as Σ asset × its buffered bid rate (index ×
    (1 − bidBuffer)) plus uPnL, and liquidation as maintenance = margin balance. The
    "reported" price here is that condition solved by bisection over the position's own
    coin (the coin held as collateral moving with it, every other price fixed): an
    independent statement, not the engine's piecewise-exact solve.
    """
    data, _ = binance_book(positions, usdt_wallet)
    rate = {a: idx * (1 - buf) for a, (idx, buf) in index.items()}
    usdt = index["USDT"][0]

    def slack(p: BookPosition, price: Decimal) -> Decimal:
        coin = p.symbol[:-4]
        move = price / p.mark
        mb = usdt_wallet * rate["USDT"]
        for asset, amount in held.items():
            mb += amount * rate[asset] * (move if asset == coin else 1)
        mm = D(0)
        for o in positions:
            o2 = o if o.symbol != p.symbol else BookPosition(o.symbol, o.amount, o.entry, price)
            mb += _upnl(o2) * usdt
            mm += _mm(o2) * usdt
        return mb - mm

    reported: dict[str, Decimal] = {}
    for row, p in zip(data.positions, positions, strict=True):
        side = "long" if p.amount > 0 else "short"
        lo, hi = (p.mark / 1000, p.mark) if p.amount > 0 else (p.mark, p.mark * 1000)
        if slack(p, lo if p.amount > 0 else hi) > 0:  # never liquidated in that direction
            row["liquidationPrice"] = "0"
            continue
        for _ in range(120):
            mid = (lo + hi) / 2
            bad = slack(p, mid) <= 0
            if p.amount > 0:
                lo, hi = (mid, hi) if bad else (lo, mid)
            else:
                lo, hi = (lo, mid) if bad else (mid, hi)
        lp = (lo + hi) / 2
        row["liquidationPrice"] = _fmt(lp)
        reported[f"{p.symbol}|{side}"] = D(_fmt(lp))
    body = data.balance
    body["multiAssetsMargin"] = True
    assets = body["assets"]
    for asset, amount in held.items():
        assets.append({**assets[0], "asset": asset, "walletBalance": _fmt(amount),
                       "unrealizedProfit": "0.00000000", "marginBalance": _fmt(amount),
                       "crossWalletBalance": _fmt(amount), "crossUnPnl": "0.00000000",
                       "maintMargin": "0.00000000", "initialMargin": "0.00000000",
                       "positionInitialMargin": "0.00000000"})
    mb_usd = usdt_wallet * rate["USDT"] + sum((a * rate[k] for k, a in held.items()), D(0)) \
        + sum((_upnl(o) for o in positions), D(0)) * usdt
    body["totalMarginBalance"] = _fmt(mb_usd)
    body["totalMaintMargin"] = _fmt(sum((_mm(o) for o in positions), D(0)) * usdt)
    data.asset_index = [
        {"symbol": f"{a}USD", "time": 1722161166529, "index": str(idx),
         "bidBuffer": str(buf), "askBuffer": str(buf), "bidRate": str(idx * (1 - buf)),
         "askRate": str(idx * (1 + buf)), "autoExchangeBidBuffer": "0.05",
         "autoExchangeAskBuffer": "0.05", "autoExchangeBidRate": str(idx),
         "autoExchangeAskRate": str(idx)}
        for a, (idx, buf) in index.items()
    ]
    return data, reported
