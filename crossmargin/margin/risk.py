"""Per-position and per-account margin figures: :func:`evaluate`.

Cross positions share the cross wallet: for the symbol ``S`` being solved,
``K_S = wallet + Σ_{cross j ∉ S} (uPnL_j − MM_j)`` at the current marks. The
account-wide sums are taken once and each symbol subtracts its own share, so
all liquidation prices of an N-position account cost O(N). Isolated positions
use only their own margin: ``K = isolated margin``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext

from crossmargin.domain import (
    ZERO,
    AccountState,
    CollateralMode,
    MarginMode,
    PositionId,
    RuleSet,
    Side,
)
from crossmargin.margin.collateral import (
    base_of,
    check_pool,
    holding_leg,
    moving,
    pool_value,
    shock_symbol,
)
from crossmargin.margin.rules import Leg, build_leg, build_legs, from_x, symbol_marks
from crossmargin.margin.solver import solve
from crossmargin.margin.tiers import TierTable

#: Arithmetic context of the engine: 40 significant digits, far beyond any
#: exchange's precision, so substituting an answer back is exact to ~1e-35.
ENGINE_CONTEXT = Context(prec=40)


@dataclass(frozen=True, slots=True)
class PositionRisk:
    """Margin figures of one position, in the settlement currency.

    ``notional``/``initial_margin``/``maintenance_margin`` are at the mark price;
    ``roe`` is uPnL over the initial margin at entry (a fraction, 0.1 = 10 %);
    ``liquidation_distance`` is ``|liquidation − mark| / mark`` (fraction).
    ``liquidation_price`` is ``None`` when the position can never be liquidated.
    ``liquidated`` is true when the mark is already at or past liquidation.
    """

    id: PositionId
    symbol: str
    side: Side
    margin_mode: MarginMode
    contracts: Decimal
    size: Decimal
    inverse: bool
    entry_price: Decimal
    mark_price: Decimal
    leverage: Decimal
    notional: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    maintenance_margin_rate: Decimal
    margin: Decimal
    unrealized_pnl: Decimal
    roe: Decimal
    bankruptcy_price: Decimal | None
    liquidation_price: Decimal | None
    liquidation_distance: Decimal | None
    liquidated: bool
    exchange_liquidation_price: Decimal | None


@dataclass(frozen=True, slots=True)
class CollateralFigures:
    """One collateral holding: ``market_value`` = amount × price; ``value`` what counts
    (after the collateral value ratio; 0 when the account is in single-asset mode, where
    ``counted`` is false); ``ratio`` = value / market value (None for a zero balance)."""

    asset: str
    amount: Decimal
    price: Decimal
    market_value: Decimal
    value: Decimal
    ratio: Decimal | None
    counted: bool


def collateral_figures(state: AccountState) -> tuple[CollateralFigures, ...]:
    out = []
    for c in state.collateral:
        value = c.value if state.multi_asset else ZERO
        market = c.market_value
        ratio = c.value / market if market != 0 else None
        out.append(CollateralFigures(c.asset, c.amount, c.price, market, value, ratio,
                                     state.multi_asset))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class AccountRisk:
    """Account figures. Cross figures cover the cross wallet and cross positions.

    ``margin_ratio`` = cross maintenance / cross margin balance (1 = liquidation);
    ``None`` when there is no cross position, or when the margin balance is
    already <= 0 (then ``cross_liquidated`` is true). In a multi-asset pool the margin
    balance includes ``collateral_value`` (the collateral's counted value) and every
    figure is in ``settle``; ``equity`` counts the collateral at market value.
    """

    rules: RuleSet
    settle: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    cross_unrealized_pnl: Decimal
    margin_balance: Decimal
    maintenance_margin: Decimal
    initial_margin: Decimal
    margin_ratio: Decimal | None
    cross_liquidated: bool
    available_balance: Decimal
    isolated_margin: Decimal
    equity: Decimal
    positions: tuple[PositionRisk, ...]
    collateral_mode: CollateralMode = CollateralMode.SINGLE
    collateral_value: Decimal = ZERO
    collateral: tuple[CollateralFigures, ...] = ()

    def position(self, position_id: str) -> PositionRisk:
        for p in self.positions:
            if p.id == position_id:
                return p
        raise KeyError(position_id)

    def __iter__(self) -> Iterator[PositionRisk]:
        return iter(self.positions)


class Book:
    """An account state prepared for solving (internal; built per call)."""

    def __init__(self, state: AccountState) -> None:
        self.state = state
        self.legs: list[Leg] = build_legs(state)
        self.marks = symbol_marks(self.legs)
        self.table_cache: dict[str, TierTable | None] = {}
        self.upnl: list[Decimal] = []
        self.mm: list[Decimal] = []
        self.cross_by_symbol: dict[str, list[Leg]] = {}
        self.sum_g: dict[str, Decimal] = {}
        self.sum_upnl: dict[str, Decimal] = {}
        tot_g = ZERO
        tot_upnl = ZERO
        tot_mm = ZERO
        for leg in self.legs:
            x = leg.x_mark
            u = leg.upnl(x)
            m = leg.maintenance(x)
            self.upnl.append(u)
            self.mm.append(m)
            if not leg.isolated:
                g = u - m
                tot_g += g
                tot_upnl += u
                tot_mm += m
                s = leg.symbol
                self.cross_by_symbol.setdefault(s, []).append(leg)
                self.sum_g[s] = self.sum_g.get(s, ZERO) + g
                self.sum_upnl[s] = self.sum_upnl.get(s, ZERO) + u
        self.wallet = state.wallet_balance
        self.cross_g = tot_g
        self.cross_upnl = tot_upnl
        self.cross_mm = tot_mm
        # multi-asset pools: the collateral's counted value joins the wallet, and each
        # moving holding becomes a leg (see crossmargin.margin.collateral)
        self.collateral_value = ZERO
        self.holdings: list[Leg] = []  # one per moving holding, for shocks
        if state.multi_asset:
            check_pool(state)
            self.collateral_value = pool_value(state)
            self.wallet = state.wallet_balance + self.collateral_value
            by_coin: dict[str, list[str]] = {}  # coin -> its cross symbols (O(N) once)
            for symbol in self.cross_by_symbol:
                by_coin.setdefault(base_of(symbol), []).append(symbol)
            for c in moving(state):
                s = shock_symbol(state, c)
                mark = self.marks[s] if s in self.cross_by_symbol else c.price
                self.holdings.append(holding_leg(c, s, mark))
                for symbol in by_coin.get(c.asset.upper(), ()):  # moves with its coin
                    self.cross_by_symbol[symbol].append(
                        holding_leg(c, symbol, self.marks[symbol]))

    # -- solving -----------------------------------------------------------
    def cross_k(self, symbol: str) -> Decimal:
        return self.wallet + self.cross_g - self.sum_g.get(symbol, ZERO)

    def cross_liquidation_x(self, symbol: str) -> Decimal | None:
        legs = self.cross_by_symbol[symbol]
        return solve(legs, self.cross_k(symbol), legs[0].x_mark)

    def cross_bankruptcy_x(self, symbol: str) -> Decimal | None:
        legs = self.cross_by_symbol[symbol]
        k = self.wallet + self.cross_upnl - self.sum_upnl.get(symbol, ZERO)
        return solve(legs, k, legs[0].x_mark, with_mm=False)

    def isolated_liquidation_x(self, leg: Leg) -> Decimal | None:
        return solve([leg], leg.margin, leg.x_mark)

    def isolated_bankruptcy_x(self, leg: Leg) -> Decimal | None:
        return solve([leg], leg.margin, leg.x_mark, with_mm=False)

    def switched_liquidation_x(self, leg: Leg) -> Decimal | None:
        """This leg's own liquidation ``x`` if it alone switched margin mode."""
        p = leg.position
        if leg.isolated:
            as_cross = build_leg(self.state, p, self.table_cache, mode=MarginMode.CROSS)
            others = self.cross_by_symbol.get(leg.symbol, [])
            k = self.cross_k(leg.symbol) + leg.margin
            return solve([*others, as_cross], k, leg.x_mark)
        # A cross position's isolated_margin field is ignored: going isolated
        # assigns the initial margin at entry, as apply_whatif(SwitchMode) does.
        as_iso = build_leg(
            self.state, p, self.table_cache, mode=MarginMode.ISOLATED,
            margin=p.entry_initial_margin,
        )
        return solve([as_iso], as_iso.margin, leg.x_mark)


def _price(x: Decimal | None, inverse: bool) -> Decimal | None:
    if x is None or x <= 0:
        return None
    return from_x(x, inverse)


def evaluate(state: AccountState) -> AccountRisk:
    """Every position's and the account's margin figures at the current marks."""
    with localcontext(ENGINE_CONTEXT):
        return _evaluate(Book(state))


def _evaluate(book: Book) -> AccountRisk:
    state = book.state
    cross_liq_x: dict[str, Decimal | None] = {}
    cross_bust_x: dict[str, Decimal | None] = {}
    for symbol in book.cross_by_symbol:
        cross_liq_x[symbol] = book.cross_liquidation_x(symbol)
        cross_bust_x[symbol] = book.cross_bankruptcy_x(symbol)
    margin_balance = book.wallet + book.cross_upnl
    has_cross = bool(book.cross_by_symbol)
    cross_liquidated = has_cross and margin_balance - book.cross_mm <= 0

    rows: list[PositionRisk] = []
    all_upnl = ZERO
    iso_margin = ZERO
    cross_im = ZERO
    for leg, upnl, mm in zip(book.legs, book.upnl, book.mm, strict=True):
        p = leg.position
        x = leg.x_mark
        notional = leg.q * x * getattr(leg, "scale", 1)  # in the pool's currency
        im = notional / p.leverage
        all_upnl += upnl
        if leg.isolated:
            liq_x = book.isolated_liquidation_x(leg)
            bust_x = book.isolated_bankruptcy_x(leg)
            margin = leg.margin
            iso_margin += margin
            liquidated = margin + upnl - mm <= 0
        else:
            liq_x = cross_liq_x[leg.symbol]
            bust_x = cross_bust_x[leg.symbol]
            margin = im
            cross_im += im
            liquidated = cross_liquidated
        liq = _price(liq_x, p.inverse)
        rows.append(
            PositionRisk(
                id=p.id,
                symbol=p.symbol,
                side=p.side,
                margin_mode=MarginMode.ISOLATED if leg.isolated else MarginMode.CROSS,
                contracts=p.contracts,
                size=leg.q,
                inverse=p.inverse,
                entry_price=p.entry_price,
                mark_price=p.mark_price,
                leverage=p.leverage,
                notional=notional,
                initial_margin=im,
                maintenance_margin=mm,
                maintenance_margin_rate=leg.mmr_at(x),
                margin=margin,
                unrealized_pnl=upnl,
                roe=upnl / p.entry_initial_margin,
                bankruptcy_price=_price(bust_x, p.inverse),
                liquidation_price=liq,
                liquidation_distance=None
                if liq is None
                else abs(liq - p.mark_price) / p.mark_price,
                liquidated=liquidated,
                exchange_liquidation_price=p.exchange_liquidation_price,
            )
        )
    margin_ratio: Decimal | None = None
    if has_cross and margin_balance > 0:
        margin_ratio = book.cross_mm / margin_balance
    market = sum((c.market_value for c in state.collateral), ZERO) if state.multi_asset \
        else ZERO
    return AccountRisk(
        rules=state.rules,
        settle=state.settle,
        wallet_balance=state.wallet_balance,
        unrealized_pnl=all_upnl,
        cross_unrealized_pnl=book.cross_upnl,
        margin_balance=margin_balance,
        maintenance_margin=book.cross_mm,
        initial_margin=cross_im,
        margin_ratio=margin_ratio,
        cross_liquidated=cross_liquidated,
        available_balance=margin_balance - cross_im,
        isolated_margin=iso_margin,
        equity=state.wallet_balance + market + iso_margin + all_upnl,
        positions=tuple(rows),
        collateral_mode=state.collateral_mode,
        collateral_value=book.collateral_value,
        collateral=collateral_figures(state),
    )


def liquidation_prices(state: AccountState) -> dict[str, Decimal | None]:
    """Only the liquidation prices (the fast path used by benchmarks and live views)."""
    with localcontext(ENGINE_CONTEXT):
        book = Book(state)
        by_symbol = {s: book.cross_liquidation_x(s) for s in book.cross_by_symbol}
        out: dict[str, Decimal | None] = {}
        for leg in book.legs:
            x = book.isolated_liquidation_x(leg) if leg.isolated else by_symbol[leg.symbol]
            out[leg.id] = _price(x, leg.position.inverse)
        return out


def switched_liquidation_prices(state: AccountState) -> dict[str, Decimal | None]:
    """Each position's own liquidation price if it alone switched margin mode.

    Cross → isolated uses the initial margin at entry (or the position's
    ``isolated_margin`` when set); isolated → cross returns its margin to the
    wallet. O(N) for the whole account.
    """
    with localcontext(ENGINE_CONTEXT):
        book = Book(state)
        if state.multi_asset:  # the pool is cross only (Binance) or account-wide (Bybit)
            return {leg.id: None for leg in book.legs}
        return {
            leg.id: _price(book.switched_liquidation_x(leg), leg.position.inverse)
            for leg in book.legs
        }


@dataclass(frozen=True, slots=True)
class SwitchEffect:
    """What switching one position alone to its other margin mode does, in O(1) per
    position once the account is evaluated (so a whole account's effects cost O(N)).

    ``liquidation_price``: its own price after the switch (None = never). ``moving``: how
    many *other* cross positions' prices move (the cross pool changes under all of them).
    ``margin_ratio``: the cross account's margin ratio after the switch (None: no cross
    position left, or already liquidated); ``cross_liquidated``: the cross account would
    be liquidated at once. ``nearest_id``/``nearest_before``/``nearest_after``: the other
    cross position nearest its liquidation now (the one a trader watches), and its
    liquidation price before and after the switch (exact).
    """

    margin_mode: MarginMode
    liquidation_price: Decimal | None
    moving: int
    margin_ratio: Decimal | None
    cross_liquidated: bool
    nearest_id: PositionId | None = None
    nearest_before: Decimal | None = None
    nearest_after: Decimal | None = None


def switch_effects(state: AccountState) -> dict[str, SwitchEffect]:
    """:class:`SwitchEffect` of every position (each switched alone). O(N) in all."""
    with localcontext(ENGINE_CONTEXT):
        book = Book(state)
        if state.multi_asset:  # no per-position switch in a pooled account
            return {}
        cross_legs = [leg for leg in book.legs if not leg.isolated]
        # the other cross symbol nearest its liquidation, and the next one (for its own)
        distance: list[tuple[Decimal, str]] = []
        before: dict[str, Decimal | None] = {}
        for symbol, legs in book.cross_by_symbol.items():
            x = book.cross_liquidation_x(symbol)
            price = _price(x, legs[0].position.inverse)
            before[symbol] = price
            mark = book.marks[symbol]
            if price is not None:
                distance.append((abs(price - mark) / mark, symbol))
        distance.sort()
        nearest = [s for _d, s in distance[:2]]
        out: dict[str, SwitchEffect] = {}
        for i, leg in enumerate(book.legs):
            p = leg.position
            u = book.upnl[i]
            if leg.isolated:
                as_cross = build_leg(state, p, book.table_cache, mode=MarginMode.CROSS)
                m = as_cross.maintenance(leg.x_mark)
                wallet = book.wallet + leg.margin
                g_delta = u - m
                mm = book.cross_mm + m
                mb = wallet + book.cross_upnl + u
                others = len(cross_legs)
            else:
                wallet = book.wallet - p.entry_initial_margin
                g_delta = -(u - book.mm[i])
                mm = book.cross_mm - book.mm[i]
                mb = wallet + book.cross_upnl - u
                others = len(cross_legs) - 1
            has_cross = others > 0 or leg.isolated
            ratio = mm / mb if has_cross and mb > 0 else None
            liquidated = has_cross and mb <= mm
            own = _price(book.switched_liquidation_x(leg), p.inverse)
            pick = next((s for s in nearest if s != leg.symbol), None)
            after = None
            if pick is not None:
                legs = book.cross_by_symbol[pick]
                k = book.cross_k(pick) + (wallet - book.wallet) + g_delta
                after = _price(solve(legs, k, legs[0].x_mark), legs[0].position.inverse)
            out[leg.id] = SwitchEffect(
                p.margin_mode.other, own, others, ratio, liquidated,
                PositionId(next((lg.id for lg in book.cross_by_symbol[pick]), "")) if pick
                else None,
                before.get(pick) if pick else None, after,
            )
        return out


def margin_function(state: AccountState, position_id: str, price: Decimal) -> Decimal:
    """``margin balance − maintenance margin`` seen by one position at ``price``.

    Cross: the whole cross account with this position's symbol at ``price`` and
    every other mark fixed. Isolated: the position's own margin. Zero at the
    liquidation price; used to check answers by substitution.
    """
    with localcontext(ENGINE_CONTEXT):
        book = Book(state)
        leg = next(leg for leg in book.legs if leg.id == position_id)
        x = price if not leg.position.inverse else 1 / price
        if leg.isolated:
            return leg.margin + leg.upnl(x) - leg.maintenance(x)
        total = book.cross_k(leg.symbol)
        for other in book.cross_by_symbol[leg.symbol]:
            total += other.upnl(x) - other.maintenance(x)
        return total
