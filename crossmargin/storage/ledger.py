"""Positions from fills: the one set of rules for hand-logged and synced trades (pure, no I/O).

A *position* runs from flat to flat on one (account, symbol, leg). Fills are replayed
in (time, id) order:

* a fill on the position's side **scales in**: the average entry becomes the
  contract-weighted mean of the remaining size and the new fill (for inverse
  contracts the harmonic mean, as exchanges do: ``n / Σ(nᵢ / pᵢ)``);
* a fill on the other side **reduces**: realised PnL on the closed contracts is
  ``c × contract_size × (exit − entry) × sign`` (linear, quote currency) or
  ``c × contract_size × (1/entry − 1/exit) × sign`` (inverse, coin); the entry stays;
* a reducing fill larger than the open size **flips through zero**: it closes the
  position and opens a new one on the other side with the remainder; its fee is
  split pro rata between the two.

Realised PnL: where the exchange reports a figure for every reducing fill (Binance
``realizedPnl``, OKX ``fillPnl``), the position's ``realized_pnl`` is the sum of those
figures, and the PnL recomputed from the fills is kept beside it in ``computed_pnl`` as
a check; otherwise ``realized_pnl`` is the recomputed figure and ``computed_pnl`` is
``None``. A flipping fill's figure belongs to the position it closes.

Exactness: the replay runs in its own 28-digit decimal context (never the caller's),
and money that a division produced (an average entry, a pro-rata fee, a converted fee)
is rounded half-even to the money quantum: 1e-8 (exchanges' asset precision) or the
finest exponent among the fills' own money figures, whichever is finer. Sums of
figures as the exchange sent them are exact and stay so.

Fees are positive when paid. A fee in the settlement currency counts as is; a fee
in the base coin of a linear contract is converted at the fill price (``fee × price``);
a fee in the quote currency of an inverse contract at ``fee / price``. A fee in any
other currency (e.g. BNB) cannot be converted without a rate and is kept apart in
``other_fees``. Funding payments (+ received, − paid) are attributed to the
position open on their key when they were paid: ``opened_at <= t < closed_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from crossmargin.domain import ONE, ZERO, Side

#: The replay's own context: results never depend on the caller's decimal context.
LEDGER_CONTEXT = Context(prec=28)  # what the ledger always ran at (Python's default)
#: Money is rounded to at least this many decimals (the exchanges' asset precision) ...
MONEY_PLACES = 8
#: ... or to the finest exponent of the fills' own figures, but never finer than this.
FINEST_PLACES = 18

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDE", "USD", "EUR", "BTC", "ETH")


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """What the replay needs to know about a symbol (see ``instrument`` table)."""

    base: str
    quote: str
    settle: str
    contract_size: Decimal = ONE
    inverse: bool = False


def parse_symbol(symbol: str) -> ContractSpec:
    """Guess base/quote/settle of a symbol when no instrument row exists.

    Understands ccxt unified symbols (``BTC/USDT:USDT``, ``BTC/USD:BTC``), OKX ids
    (``BTC-USDT-SWAP``), Binance/Bybit ids (``BTCUSDT``, ``BTCUSD_PERP``, ``BTCUSD``).
    A USD-quoted exchange id (``BTCUSD``, ``BTC-USD-SWAP``) is taken as inverse
    (coin-settled), which is what those ids mean on Binance COIN-M, Bybit and OKX.
    """
    s = symbol.strip().upper()
    if "/" in s:
        pair, _, settle = s.partition(":")
        base, _, quote = pair.partition("/")
        settle = settle.split("-")[0] or quote
        return ContractSpec(base, quote, settle, inverse=settle == base and base != quote)
    if "-" in s:
        parts = s.split("-")
        base, quote = parts[0], parts[1] if len(parts) > 1 else "USDT"
        settle = base if quote == "USD" else quote
        return ContractSpec(base, quote, settle, inverse=settle == base)
    core = s.split("_")[0]
    for q in _QUOTES:
        if core.endswith(q) and len(core) > len(q):
            base = core[: -len(q)]
            settle = base if q == "USD" else q
            return ContractSpec(base, q, settle, inverse=settle == base)
    return ContractSpec(core, "USDT", "USDT")


@dataclass(frozen=True, slots=True)
class LedgerFill:
    """A fill as the replay sees it. ``amount`` in contracts (> 0); ``side`` buy/sell."""

    id: int
    time: datetime
    side: str
    price: Decimal
    amount: Decimal
    fee: Decimal = ZERO
    fee_currency: str = ""
    realized_pnl: Decimal | None = None  # the exchange's figure (settle currency), if any


@dataclass(slots=True)
class Segment:
    """One derived position. Money in the settlement currency; sizes in contracts."""

    side: Side
    open_fill_id: int
    opened_at: datetime
    closed_at: datetime | None = None
    contracts: Decimal = ZERO
    max_contracts: Decimal = ZERO
    closed_contracts: Decimal = ZERO
    entry_price: Decimal = ZERO
    exit_price: Decimal | None = None
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    other_fees: dict[str, Decimal] = field(default_factory=dict)
    funding: Decimal = ZERO
    fill_ids: list[int] = field(default_factory=list)
    computed_pnl: Decimal | None = None  # set when realized_pnl is the exchange's figure
    _exit_acc: Decimal = ZERO  # Σ c·p (linear) or Σ c/p (inverse) over closing fills
    _exchange_pnl: Decimal = ZERO  # Σ of the reducing fills' exchange figures
    _exchange_complete: bool = True  # every reducing fill so far had one
    _places: int = MONEY_PLACES  # decimals of the money quantum (see the module docstring)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def other_fees_text(self) -> str:
        return ";".join(f"{k}={v}" for k, v in sorted(self.other_fees.items()))


@dataclass(frozen=True, slots=True)
class Replay:
    """Result of replaying one key: positions in time order and each fill's placement.

    ``placement[fill_id] = (index of its position, index of the position its
    remainder opened when it flipped through zero, else None)``; ``flip_close[fill_id]`` is
    the part of a flipping fill that closed the first position (the rest opened the next).
    """

    segments: tuple[Segment, ...]
    placement: dict[int, tuple[int, int | None]]
    flip_close: dict[int, Decimal] = field(default_factory=dict)


def fee_in_settle(fill: LedgerFill, spec: ContractSpec) -> tuple[Decimal, str | None]:
    """The fill's fee in the settlement currency, or (fee, currency) if not convertible."""
    cur = fill.fee_currency.strip().upper()
    if not fill.fee or not cur or cur == spec.settle:
        return fill.fee, None
    if not spec.inverse and cur == spec.base:
        return fill.fee * fill.price, None
    if spec.inverse and cur == spec.quote:
        return fill.fee / fill.price, None
    return fill.fee, cur


def _charge(seg: Segment, fee: Decimal, other: str | None) -> None:
    if not fee:
        return
    if other is None:
        seg.fees += fee
    else:
        seg.other_fees[other] = seg.other_fees.get(other, ZERO) + fee


def replay(fills: Iterable[LedgerFill], spec: ContractSpec) -> Replay:
    """Replay fills (any order; sorted here by time then id) into positions."""
    with localcontext(LEDGER_CONTEXT):
        result = _replay(fills, spec)
        for seg in result.segments:
            _finish(seg)
    return result


def _places_of(*values: Decimal | None) -> int:
    """Decimals needed to hold each of ``values`` exactly (0 for integers)."""
    most = 0
    for v in values:
        if v is not None and v.is_finite():
            exp = v.as_tuple().exponent
            if isinstance(exp, int):
                most = max(most, -exp)
    return most


def _round(value: Decimal, places: int) -> Decimal:
    if _places_of(value) <= places:
        return value
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _finish(seg: Segment) -> None:
    """Round derived money to the segment's quantum; prefer the exchange's realised PnL."""
    places = min(max(seg._places, MONEY_PLACES), FINEST_PLACES)
    computed = _round(seg.realized_pnl, places)
    seg.fees = _round(seg.fees, places)
    seg.other_fees = {k: _round(v, places) for k, v in seg.other_fees.items()}
    if seg.closed_contracts > 0 and seg._exchange_complete:
        seg.realized_pnl = seg._exchange_pnl
        seg.computed_pnl = computed
    else:
        seg.realized_pnl = computed
        seg.computed_pnl = None


def _note_inputs(seg: Segment, f: LedgerFill, cs: Decimal) -> None:
    seg._places = max(seg._places, _places_of(f.fee, f.realized_pnl),
                      _places_of(f.price) + _places_of(f.amount) + _places_of(cs))


def _replay(fills: Iterable[LedgerFill], spec: ContractSpec) -> Replay:
    ordered = sorted(fills, key=lambda f: (f.time, f.id))
    cs = spec.contract_size
    inverse = spec.inverse
    segments: list[Segment] = []
    placement: dict[int, tuple[int, int | None]] = {}
    flip_close: dict[int, Decimal] = {}
    cur: Segment | None = None
    for f in ordered:
        fill_side = Side.LONG if f.side == "buy" else Side.SHORT
        fee, other = fee_in_settle(f, spec)
        if cur is None:
            cur = _open(f, fill_side, f.amount)
            segments.append(cur)
            _note_inputs(cur, f, cs)
            _charge(cur, fee, other)
            placement[f.id] = (len(segments) - 1, None)
            continue
        idx = len(segments) - 1
        cur.fill_ids.append(f.id)
        _note_inputs(cur, f, cs)
        if fill_side is cur.side:  # scale in
            n, q, p = cur.contracts, f.amount, f.price
            if inverse:
                cur.entry_price = (n + q) / (n / cur.entry_price + q / p)
            else:
                cur.entry_price = (n * cur.entry_price + q * p) / (n + q)
            cur.contracts = n + q
            cur.max_contracts = max(cur.max_contracts, cur.contracts)
            _charge(cur, fee, other)
            placement[f.id] = (idx, None)
            continue
        closing = min(f.amount, cur.contracts)
        remainder = f.amount - closing
        sign = cur.side.sign
        if f.realized_pnl is None:
            cur._exchange_complete = False
        else:
            cur._exchange_pnl += f.realized_pnl
        if inverse:
            cur.realized_pnl += closing * cs * (ONE / cur.entry_price - ONE / f.price) * sign
            cur._exit_acc += closing / f.price
        else:
            cur.realized_pnl += closing * cs * (f.price - cur.entry_price) * sign
            cur._exit_acc += closing * f.price
        cur.contracts -= closing
        cur.closed_contracts += closing
        cur.exit_price = (
            cur.closed_contracts / cur._exit_acc
            if inverse
            else cur._exit_acc / cur.closed_contracts
        )
        if remainder == 0:
            _charge(cur, fee, other)
            placement[f.id] = (idx, None)
            if cur.contracts == 0:
                cur.closed_at = f.time
                cur = None
            continue
        # flip through zero: split the fee pro rata
        close_fee = fee * closing / f.amount
        _charge(cur, close_fee, other)
        cur.closed_at = f.time
        cur = _open(f, fill_side, remainder)
        segments.append(cur)
        _note_inputs(cur, f, cs)
        _charge(cur, fee - close_fee, other)
        placement[f.id] = (idx, idx + 1)
        flip_close[f.id] = closing
    return Replay(tuple(segments), placement, flip_close)


def _open(f: LedgerFill, side: Side, contracts: Decimal) -> Segment:
    return Segment(
        side=side,
        open_fill_id=f.id,
        opened_at=f.time,
        contracts=contracts,
        max_contracts=contracts,
        entry_price=f.price,
        fill_ids=[f.id],
    )
