"""Exchange rule sets, reduced to one per-position model the solver understands.

Every formula is written in a price variable ``x`` chosen so that both linear and
inverse contracts are affine in it, bracket by bracket:

* linear: ``x = price``;   inverse: ``x = 1 / price``.
* notional in the settlement currency is ``Q·x`` for both (``Q`` = size).
* unrealised PnL is ``σ·Q·(x − x_e)`` with ``σ = side`` (linear) or ``−side``
  (inverse) and ``x_e`` the entry price in the same variable.
* maintenance margin is either *mark-based*,
  ``MM = Q·x·(MMR_t + fee) − amount_t`` with the bracket ``t`` picked by the
  notional ``Q·x`` (or by the size ``Q`` for OKX), or *entry-based* (a constant).

Rule sets (see ``margin-rules.md``):

``binance``  MM = notional × MMR − cum at the mark, bracket re-selected at the
             price (USDⓈ-M and COIN-M; cum derived by recursion when absent).
``bybit``    MM = entry position value × MMR − MM deduction + estimated fee to
             close (taker fee × value at the bankruptcy price implied by the
             leverage); reproduces Bybit's isolated closed form and its inverse
             example. Brackets by entry value. The bankruptcy price is where the
             equity equals the taker fee to close at that price.
``okx``      MM = size × mark × (MMR + taker fee); brackets by size (tiers in
             contracts converted with the contract value); no maintenance amount.
``gate``     as OKX but brackets by notional (risk-limit value).
``hyperliquid`` MM = notional / (2 × max leverage), max leverage from the
             position or its bracket.
``generic``  MM = notional × MMR from the tier table, or the position's own
             ``maintenance_margin_rate`` when the symbol has no table.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from crossmargin.domain import (
    ONE,
    ZERO,
    AccountState,
    MarginMode,
    Position,
    PositionId,
    RuleSet,
    Tier,
)
from crossmargin.errors import InputError
from crossmargin.margin.tiers import TierTable

TWO = Decimal(2)

# Rule sets whose brackets carry a maintenance amount (derived when absent).
_HAS_AMOUNT = frozenset({RuleSet.BINANCE, RuleSet.BYBIT, RuleSet.GENERIC})
# Rule sets whose maintenance margin includes the taker fee on the mark notional.
_FEE_IN_MM = frozenset({RuleSet.OKX, RuleSet.GATE})


class Leg:
    """One position as the solver sees it (plain attributes, built once per call).

    ``kind`` is ``"mark"`` (maintenance margin follows the price) or ``"const"``
    (entry-based: ``mm_const``). For ``"mark"`` legs, ``table`` gives brackets
    (``by_size``: looked up by ``Q`` instead of ``Q·x``), or ``table`` is None
    and ``rate`` is a fixed MMR.
    """

    __slots__ = (
        "bust_fee",
        "by_size",
        "fee",
        "id",
        "isolated",
        "kind",
        "margin",
        "mm_const",
        "position",
        "q",
        "rate",
        "sigma",
        "symbol",
        "table",
        "x_e",
        "x_mark",
    )

    id: PositionId
    symbol: str
    position: Position
    q: Decimal
    sigma: int
    x_e: Decimal
    x_mark: Decimal
    isolated: bool
    margin: Decimal
    kind: str
    table: TierTable | None
    rate: Decimal
    mm_const: Decimal
    by_size: bool
    fee: Decimal
    bust_fee: Decimal

    def __init__(self) -> None:
        self.table = None
        self.rate = ZERO
        self.mm_const = ZERO
        self.by_size = False
        self.fee = ZERO
        self.bust_fee = ZERO

    # -- maintenance -------------------------------------------------------
    def bracket_at(self, x: Decimal) -> tuple[Decimal, Decimal]:
        """``(rate + fee, amount)`` of the bracket in force at ``x`` (mark legs)."""
        table = self.table
        if table is None:
            return self.rate + self.fee, ZERO
        i = table.lookup(self.q if self.by_size else self.q * x)
        return table.rates[i] + self.fee, table.amounts[i]

    def bracket_index(self, x: Decimal) -> int:
        table = self.table
        if table is None or self.kind != "mark":
            return 0
        return table.lookup(self.q if self.by_size else self.q * x)

    def maintenance(self, x: Decimal) -> Decimal:
        if self.kind == "const":
            return self.mm_const
        rate, amount = self.bracket_at(x)
        return self.q * x * rate - amount

    def mmr_at(self, x: Decimal) -> Decimal:
        """The maintenance margin rate (without fee) in force at ``x``."""
        if self.kind == "const":
            table = self.table
            if table is None:
                return self.rate
            return table.rates[table.lookup(self.q * self.x_e)]
        rate, _ = self.bracket_at(x)
        return rate - self.fee

    def upnl(self, x: Decimal) -> Decimal:
        return self.sigma * self.q * (x - self.x_e)

    def coefficients(self, x: Decimal, *, with_mm: bool = True) -> tuple[Decimal, Decimal]:
        """``(a, b)`` with ``uPnL − MM = a·x + b`` on the bracket holding ``x``."""
        sq = self.sigma * self.q
        if not with_mm:
            # Bankruptcy: equity net of the fee to close at that price is zero.
            return sq - self.q * self.bust_fee, -sq * self.x_e
        if self.kind == "const":
            return sq, -sq * self.x_e - self.mm_const
        rate, amount = self.bracket_at(x)
        return sq - self.q * rate, amount - sq * self.x_e

    def breakpoints(self) -> tuple[Decimal, ...]:
        """Values of ``x`` where this leg's bracket changes (mark legs by notional)."""
        table = self.table
        if table is None or self.kind != "mark" or self.by_size or len(table) < 2:
            return ()
        q = self.q
        return tuple(f / q for f in table.floors[1:] if f > 0)


def to_x(price: Decimal, inverse: bool) -> Decimal:
    return ONE / price if inverse else price


def from_x(x: Decimal, inverse: bool) -> Decimal:
    return ONE / x if inverse else x


def _table_for(
    state: AccountState, symbol: str, cache: dict[str, TierTable | None], rules: RuleSet
) -> TierTable | None:
    if symbol in cache:
        return cache[symbol]
    tiers = state.tiers.get(symbol)
    table: TierTable | None = None
    if tiers:
        # Symbols sharing one tier tuple share one table (keyed by identity).
        shared = cache.get(f"\0{id(tiers)}")
        if shared is not None:
            table = shared
        elif rules is RuleSet.HYPERLIQUID:
            table = _hyperliquid_table(tiers, symbol)
        else:
            table = TierTable(tiers, derive_amounts=rules in _HAS_AMOUNT)
        cache[f"\0{id(tiers)}"] = table
    cache[symbol] = table
    return table


def _hyperliquid_table(tiers: tuple[Tier, ...], symbol: str) -> TierTable:
    converted = []
    for i, t in enumerate(tiers):
        if t.max_leverage is None or t.max_leverage <= 0:
            raise InputError(
                f"tiers[{symbol}][{i}].max_leverage: hyperliquid rules need max_leverage "
                "on every tier (maintenance = half the initial margin at max leverage)"
            )
        converted.append(
            Tier(t.min_notional, t.max_notional, ONE / (TWO * t.max_leverage), ZERO, t.max_leverage)
        )
    return TierTable(converted, derive_amounts=False)


def build_leg(
    state: AccountState,
    p: Position,
    cache: dict[str, TierTable | None],
    *,
    mode: MarginMode | None = None,
    margin: Decimal | None = None,
) -> Leg:
    """Model one position under the account's rule set.

    ``mode``/``margin`` override the position's own margin mode and isolated
    margin (used by what-if switching without rebuilding the position).
    """
    rules = state.rules
    leg = Leg()
    leg.position = p
    leg.id = p.id
    leg.symbol = p.symbol
    leg.q = p.size
    leg.sigma = -p.side.sign if p.inverse else p.side.sign
    leg.x_e = to_x(p.entry_price, p.inverse)
    leg.x_mark = to_x(p.mark_price, p.inverse)
    mode = mode or p.margin_mode
    leg.isolated = mode is MarginMode.ISOLATED
    if leg.isolated:
        leg.margin = margin if margin is not None else p.own_margin
    else:
        leg.margin = ZERO
    table = _table_for(state, p.symbol, cache, rules)

    if rules is RuleSet.BYBIT:
        leg.kind = "const"
        entry_value = leg.q * leg.x_e
        if table is not None:
            leg.table = table
            i = table.lookup(entry_value)
            rate, amount = table.rates[i], table.amounts[i]
        else:
            raise InputError(f"{p.id}: no tier table for {p.symbol}; add its risk-limit tiers")
        fee = state.taker_fee_rate
        leg.bust_fee = fee
        # Estimated fee to close, at the bankruptcy price implied by the leverage:
        # value at bankruptcy = entry value × (1 − σ/leverage) in the x variable.
        bust_factor = ONE - Decimal(leg.sigma) / p.leverage
        close_fee = fee * entry_value * bust_factor if bust_factor > 0 else ZERO
        leg.mm_const = entry_value * rate - amount + close_fee
        return leg

    leg.kind = "mark"
    if rules in _FEE_IN_MM:
        leg.fee = state.taker_fee_rate
    leg.by_size = rules is RuleSet.OKX
    if rules is RuleSet.HYPERLIQUID and p.max_leverage is not None:
        leg.rate = ONE / (TWO * p.max_leverage)
    elif table is not None:
        leg.table = table
    elif rules is RuleSet.GENERIC and p.maintenance_margin_rate is not None:
        leg.rate = p.maintenance_margin_rate
    else:
        raise InputError(
            f"{p.id}: no tier table for {p.symbol}; add tiers for it "
            "(or use generic rules with a maintenance_margin_rate on the position)"
        )
    return leg


class ScaledLeg(Leg):
    """A position settled in another asset of a multi-asset pool: its uPnL and
    maintenance margin (in its own settlement asset) times ``scale``, that asset's price
    in the pool's currency. Brackets are still looked up in its own currency."""

    __slots__ = ("scale",)

    scale: Decimal

    def maintenance(self, x: Decimal) -> Decimal:
        return Leg.maintenance(self, x) * self.scale

    def upnl(self, x: Decimal) -> Decimal:
        return Leg.upnl(self, x) * self.scale

    def coefficients(self, x: Decimal, *, with_mm: bool = True) -> tuple[Decimal, Decimal]:
        a, b = Leg.coefficients(self, x, with_mm=with_mm)
        return a * self.scale, b * self.scale


def settle_scale(state: AccountState, p: Position) -> Decimal:
    """The price of ``p``'s settlement asset in the account's (1 when the same)."""
    if not p.settle or p.settle == state.settle:
        return ONE
    where = f"{p.id}.settle"
    if not state.multi_asset:
        raise InputError(
            f"{where}: {p.symbol} settles in {p.settle}, the account in {state.settle}; "
            "positions in another currency share one account only in multi-asset mode "
            "(collateral_mode: multi, with that currency's price in the collateral list)")
    c = state.collateral_of(p.settle)
    if c is None:
        raise InputError(
            f"{where}: {p.settle} has no price in the collateral list; add it (amount 0 "
            f"if you hold none) so its PnL can be counted in {state.settle}")
    return c.price


def build_legs(state: AccountState) -> list[Leg]:
    cache: dict[str, TierTable | None] = {}
    legs: list[Leg] = []
    for p in state.positions:
        leg = build_leg(state, p, cache)
        scale = settle_scale(state, p) if p.settle else ONE
        if scale != ONE:
            scaled = ScaledLeg()
            for name in Leg.__slots__:
                setattr(scaled, name, getattr(leg, name))
            scaled.scale = scale
            scaled.margin = leg.margin * scale  # an isolated wallet, in the pool's currency
            leg = scaled
        legs.append(leg)
    return legs


def symbol_marks(legs: list[Leg]) -> Mapping[str, Decimal]:
    """The one mark per symbol; legs of one symbol must agree."""
    marks: dict[str, Decimal] = {}
    for leg in legs:
        mark = leg.position.mark_price
        seen = marks.setdefault(leg.symbol, mark)
        if seen != mark:
            raise InputError(
                f"{leg.id}.mark_price: {mark} differs from {seen} on another "
                f"{leg.symbol} position; one symbol has one mark price"
            )
    return marks
