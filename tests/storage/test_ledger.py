"""Fill → position rules (pure ledger and through the journal)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.domain import Side
from crossmargin.storage import Instrument, Journal, NewFunding, PositionStatus
from crossmargin.storage.ledger import ContractSpec, LedgerFill, parse_symbol, replay

from .helpers import at, fill

LINEAR = ContractSpec("BTC", "USDT", "USDT")


def lf(i: int, side: str, price: str, amount: str, fee: str = "0", cur: str = "") -> LedgerFill:
    return LedgerFill(i, at(i), side, D(price), D(amount), D(fee), cur)


def test_scale_in_averages_entry_by_remaining_size() -> None:
    r = replay([lf(1, "buy", "100", "1"), lf(2, "buy", "130", "2")], LINEAR)
    (seg,) = r.segments
    assert seg.side is Side.LONG and seg.is_open
    assert seg.contracts == 3 and seg.max_contracts == 3
    assert seg.entry_price == D(120)
    assert seg.realized_pnl == 0


def test_partial_close_keeps_entry_and_realises_pnl() -> None:
    r = replay([lf(1, "buy", "100", "2"), lf(2, "sell", "110", "0.5"), lf(3, "buy", "90", "0.5")],
               LINEAR)
    (seg,) = r.segments
    assert seg.realized_pnl == D("5.0")  # 0.5 × (110 − 100)
    # after the partial close 1.5 @ 100 remain; + 0.5 @ 90 → 2 @ 97.5
    assert seg.entry_price == D("97.5")
    assert seg.contracts == 2 and seg.closed_contracts == D("0.5")
    assert seg.exit_price == D(110)


def test_short_full_close_and_exit_average() -> None:
    r = replay([lf(1, "sell", "200", "2"), lf(2, "buy", "190", "1"), lf(3, "buy", "170", "1")],
               LINEAR)
    (seg,) = r.segments
    assert seg.side is Side.SHORT and not seg.is_open and seg.closed_at == at(3)
    assert seg.realized_pnl == D(40)  # (200−190) + (200−170)
    assert seg.exit_price == D(180)
    assert seg.contracts == 0


def test_flip_through_zero_splits_fill_and_fee() -> None:
    r = replay(
        [lf(1, "buy", "100", "1", "0.1", "USDT"), lf(2, "sell", "120", "3", "0.3", "USDT")],
        LINEAR,
    )
    first, second = r.segments
    assert first.side is Side.LONG and first.closed_at == at(2)
    assert first.realized_pnl == D(20)
    assert first.fees == D("0.1") + D("0.1")  # its own + 1/3 of the flip fee
    assert second.side is Side.SHORT and second.is_open
    assert second.contracts == 2 and second.entry_price == D(120)
    assert second.fees == D("0.2")
    assert second.open_fill_id == 2
    assert r.placement[2] == (0, 1)
    assert r.placement[1] == (0, None)


def test_fees_in_base_quote_and_other_currency() -> None:
    fills = [
        lf(1, "buy", "20000", "1", "0.001", "BTC"),  # base fee → 0.001 × 20000 = 20 USDT
        lf(2, "sell", "21000", "1", "5", "USDT"),  # quote fee as is
        lf(3, "buy", "21000", "1", "0.01", "BNB"),  # third currency: kept apart
    ]
    first, second = replay(fills, LINEAR).segments
    assert first.fees == D("25.000")
    assert first.realized_pnl == D(1000)
    assert second.fees == 0 and second.other_fees == {"BNB": D("0.01")}


def test_inverse_contracts_harmonic_entry_and_coin_pnl() -> None:
    spec = ContractSpec("BTC", "USD", "BTC", contract_size=D(100), inverse=True)
    fills = [
        lf(1, "buy", "20000", "10"),
        lf(2, "buy", "40000", "10"),
        lf(3, "sell", "30000", "20", "100", "USD"),  # quote fee → 100 / 30000 BTC
    ]
    (seg,) = replay(fills, spec).segments
    # harmonic mean: 20 / (10/20000 + 10/40000)
    assert seg.entry_price == D(20) / (D(10) / D(20000) + D(10) / D(40000))
    pnl = D(2000) * (1 / seg.entry_price - D(1) / D(30000))
    # coin amounts from divisions are rounded to the money quantum (8 decimals)
    assert seg.realized_pnl == pnl.quantize(D("1e-8"))
    assert seg.fees == (D(100) / D(30000)).quantize(D("1e-8"))


def test_parse_symbol_variants() -> None:
    assert parse_symbol("BTC/USDT:USDT") == ContractSpec("BTC", "USDT", "USDT")
    assert parse_symbol("BTC/USD:BTC").inverse
    assert parse_symbol("BTCUSDT") == ContractSpec("BTC", "USDT", "USDT")
    assert parse_symbol("BTCUSD_PERP").inverse
    assert parse_symbol("ETH-USDT-SWAP") == ContractSpec("ETH", "USDT", "USDT")
    assert parse_symbol("BTC-USD-SWAP").settle == "BTC"


def test_journal_derives_positions_and_attributes_funding(journal: Journal, acct: int) -> None:
    journal.add_fills(acct, [
        fill(0, "buy", "100", "1", fee="0.1", fee_currency="USDT"),
        fill(1, "buy", "200", "1"),
        fill(2, "sell", "300", "1.5"),
        fill(3, "sell", "100", "1"),  # closes 0.5, flips 0.5 short
    ])
    journal.add_funding(acct, [
        NewFunding("BTCUSDT", at(0.5), D("-1.25"), "USDT", exchange_id="f1"),
        NewFunding("BTCUSDT", at(2.5), D("0.5"), "USDT", exchange_id="f2"),
        NewFunding("BTCUSDT", at(3.5), D("0.75"), "USDT", exchange_id="f3"),
        NewFunding("BTCUSDT", at(-5), D("9"), "USDT", exchange_id="f0"),  # nothing open
    ])
    short, long_ = journal.positions().items
    assert long_.status is PositionStatus.CLOSED
    assert long_.realized_pnl == D(200) and long_.fees == D("0.1")
    assert long_.funding == D("-0.75")
    assert long_.net_pnl == D("199.15")
    assert short.side is Side.SHORT and short.contracts == D("0.5")
    assert short.funding == D("0.75")
    pays = {p.exchange_id: p.position_id for p in journal.funding_payments(account=acct)}
    assert pays == {"f0": None, "f1": long_.id, "f2": long_.id, "f3": short.id}
    # a back-dated fill re-derives everything and moves the funding with it
    journal.add_fill(acct, fill(3.25, "buy", "100", "0.5"))
    short_now = journal.position(short.id)
    assert short_now.status is PositionStatus.CLOSED and short_now.closed_at == at(3.25)
    assert journal.position(short.id).funding == 0
    assert {p.exchange_id: p.position_id for p in journal.funding_payments()}["f3"] is None


def test_instrument_contract_size_applies_and_rebuilds(journal: Journal, acct: int) -> None:
    journal.add_fills(acct, [fill(0, "buy", "2000", "10", symbol="ETH-USDT-SWAP"),
                             fill(1, "sell", "2100", "10", symbol="ETH-USDT-SWAP")])
    (pos,) = journal.positions().items
    assert pos.realized_pnl == D(1000)
    ch = journal.set_instrument(acct, Instrument("ETH-USDT-SWAP", "ETH", "USDT", "USDT",
                                                 contract_size=D("0.1")))
    assert pos.id in ch.position_ids
    assert journal.position(pos.id).realized_pnl == D("100.0")


def test_hedge_legs_are_separate_positions(journal: Journal, acct: int) -> None:
    journal.add_fills(acct, [
        fill(0, "buy", "100", "1", leg="long"),
        fill(1, "sell", "110", "2", leg="short"),
        fill(2, "sell", "120", "1", leg="long"),
    ])
    by_leg = {p.leg: p for p in journal.positions().items}
    assert by_leg["long"].status is PositionStatus.CLOSED and by_leg["long"].realized_pnl == 20
    assert by_leg["short"].is_open and by_leg["short"].contracts == 2


def test_append_window_matches_full_replay(journal: Journal, acct: int) -> None:
    """Appending in many small writes gives the same positions as one big write."""
    import random

    rng = random.Random(7)
    fills = []
    pos = D(0)
    for i in range(300):
        side = rng.choice(["buy", "sell"])
        amount = D(rng.randint(1, 5))
        fills.append(fill(i, side, str(rng.randint(90, 110)), str(amount), fee="0.01",
                          fee_currency="USDT"))
        pos += amount if side == "buy" else -amount
    for i in range(0, 300, 7):
        journal.add_fills(acct, fills[i : i + 7])
    journal.add_funding(acct, [NewFunding("BTCUSDT", at(i + 0.5), D("0.01"), "USDT",
                                          exchange_id=str(i)) for i in range(0, 300, 8)])
    other = journal.create_account("Other").id
    journal.add_fills(other, fills)
    journal.add_funding(other, [NewFunding("BTCUSDT", at(i + 0.5), D("0.01"), "USDT",
                                           exchange_id=str(i)) for i in range(0, 300, 8)])

    def summary(a: int) -> list[tuple]:
        ps = journal.positions(journal_filter(a), limit=1000).items
        return [(p.side, p.opened_at, p.closed_at, p.contracts, p.entry_price, p.realized_pnl,
                 p.fees, p.funding, p.fill_count) for p in ps]

    assert summary(acct) == summary(other)
    net = sum((p.contracts * p.side.sign for p in journal.open_positions(acct)), D(0))
    assert net == pos
    assert journal.fills(account=acct, since=at(0) - timedelta(days=1)).total == 300


def journal_filter(a: int):
    from crossmargin.storage import PositionFilter

    return PositionFilter(account=a)


# ---------------------------------------------------------------- properties

_fill_st = st.tuples(
    st.sampled_from(("buy", "sell")),
    st.integers(min_value=1, max_value=10_000),  # price in cents
    st.integers(min_value=1, max_value=50),  # amount in thousandths
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_fill_st, min_size=1, max_size=40), st.integers(min_value=1, max_value=10_000))
def test_pnl_is_path_independent_and_size_is_conserved(raw, mark_cents) -> None:
    """Σ realised + open PnL at a mark equals the fills' cash flow valued at that mark, and
    the open signed size equals the fills' net: no contract or cent is lost in the split
    into positions (scale-ins, partial closes, flips). Each position's realised PnL is
    rounded to the money quantum (1e-8 here), so the sum may be off by half a quantum
    per position, never more."""
    fills = [
        LedgerFill(i, at(i), side, D(p) / 100, D(q) / 1000) for i, (side, p, q) in enumerate(raw)
    ]
    mark = D(mark_cents) / 100
    result = replay(fills, LINEAR)
    net = sum((f.amount if f.side == "buy" else -f.amount for f in fills), D(0))
    cash = sum((-(f.amount * f.price) if f.side == "buy" else f.amount * f.price for f in fills),
               D(0))
    open_segs = [s for s in result.segments if s.is_open]
    assert len(open_segs) <= 1 and all(not s.is_open for s in result.segments[:-1])
    open_size = sum((s.contracts * s.side.sign for s in open_segs), D(0))
    assert open_size == net
    realized = sum((s.realized_pnl for s in result.segments), D(0))
    unrealized = sum((s.contracts * s.side.sign * (mark - s.entry_price) for s in open_segs), D(0))
    half_quantum = D("5e-9")
    # each segment's PnL is rounded to 8 decimals (half a quantum each); the sums here
    # run in a 28-digit context, which adds its own last-digit rounding (1e-20 is ample)
    assert abs(realized + unrealized - (cash + net * mark)) <= half_quantum * len(
        result.segments) + D("1e-20")
    for s in result.segments:
        assert -s.realized_pnl.as_tuple().exponent <= 8 and -s.fees.as_tuple().exponent <= 8
    # every fill is placed, flips link consecutive positions
    assert set(result.placement) == {f.id for f in fills}
    for a, b in result.placement.values():
        assert b is None or b == a + 1


def test_money_from_divisions_is_rounded_to_the_exchange_precision() -> None:
    """An average entry (a division) leaves no 28-digit tail in realised PnL or fees."""
    fills = [
        LedgerFill(1, at(0), "buy", D("3000.17"), D("0.7"), D("0.84004760"), "USDT"),
        LedgerFill(2, at(1), "buy", D("3010.33"), D("0.3"), D("0.36123960"), "USDT"),
        LedgerFill(3, at(2), "sell", D("3100.01"), D("1.3"), D("1.61200520"), "USDT"),
    ]
    first, second = replay(fills, LINEAR).segments
    for seg in (first, second):
        assert -seg.realized_pnl.as_tuple().exponent <= 8
        assert -seg.fees.as_tuple().exponent <= 8
    # the flip's fee is split 1.0 : 0.3, each side rounded, nothing lost beyond rounding
    assert abs(first.fees + second.fees - D("2.81329240")) <= D("1e-8")
    entry = (D("0.7") * D("3000.17") + D("0.3") * D("3010.33")) / D(1)
    assert first.realized_pnl == ((D("3100.01") - entry) * 1).quantize(D("1e-8"))


def test_exchange_realized_pnl_is_shown_and_the_recomputed_kept_as_a_check() -> None:
    fills = [
        LedgerFill(1, at(0), "buy", D("100"), D("3"), realized_pnl=D(0)),
        LedgerFill(2, at(1), "sell", D("110"), D("1"), realized_pnl=D("9.99999999")),
        LedgerFill(3, at(2), "sell", D("120"), D("2"), realized_pnl=D("40.00000001")),
    ]
    (seg,) = replay(fills, LINEAR).segments
    assert seg.realized_pnl == D("50.00000000")  # the exchange's figures, summed exactly
    assert seg.computed_pnl == D(50)
    # one closing fill without the exchange's figure: the recomputed PnL is shown
    partial = [fills[0], fills[1], LedgerFill(3, at(2), "sell", D("120"), D("2"))]
    (seg,) = replay(partial, LINEAR).segments
    assert seg.realized_pnl == D(50) and seg.computed_pnl is None
    # a flip's figure belongs to the position it closes
    flip = [fills[0], LedgerFill(2, at(1), "sell", D("110"), D("5"), realized_pnl=D("30"))]
    closed, opened = replay(flip, LINEAR).segments
    assert closed.realized_pnl == D(30) and opened.realized_pnl == 0
    assert opened.computed_pnl is None


def test_replay_does_not_depend_on_the_callers_decimal_context() -> None:
    from decimal import localcontext

    fills = [
        LedgerFill(1, at(0), "buy", D("3"), D("1")),
        LedgerFill(2, at(1), "buy", D("7"), D("2")),
        LedgerFill(3, at(2), "sell", D("5"), D("1")),
    ]
    base = replay(fills, LINEAR).segments[0]
    for prec in (6, 40, 60):
        with localcontext() as ctx:
            ctx.prec = prec
            seg = replay(fills, LINEAR).segments[0]
        assert (seg.entry_price, seg.realized_pnl) == (base.entry_price, base.realized_pnl)
