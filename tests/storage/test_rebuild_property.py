"""Whatever the order of writes (appends, back-dated fills, edits, deletes), the stored
positions equal a from-scratch replay of the stored fills, and funding sits on the
position that was open when it was paid."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossmargin.storage import Journal, NewFill, NewFunding, PositionFilter
from crossmargin.storage.ledger import LedgerFill, parse_symbol, replay

from .helpers import at

_op = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 200), st.sampled_from(("buy", "sell")),
              st.integers(1, 9), st.integers(90, 110)),
    st.tuples(st.just("edit"), st.integers(0, 50), st.integers(1, 9)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("funding"), st.integers(0, 200)),
)


def _snapshot(j: Journal, acct: int) -> list[tuple]:
    ps = j.positions(PositionFilter(account=acct), limit=10_000).items
    return sorted((p.opened_at, p.side, p.closed_at, p.contracts, p.entry_price, p.realized_pnl,
                   p.fees, p.funding, p.fill_count) for p in ps)


def _expected(j: Journal, acct: int) -> list[tuple]:
    fills = j.fills(account=acct, limit=1_000_000).items
    segs = replay([LedgerFill(f.id, f.time, f.side, f.price, f.amount, f.fee, f.fee_currency)
                   for f in fills], parse_symbol("BTCUSDT")).segments
    funding = j.funding_payments(account=acct)
    out = []
    for s in segs:
        paid = sum((x.amount for x in funding
                    if s.opened_at <= x.time and (s.closed_at is None or x.time < s.closed_at)),
                   D(0))
        out.append((s.opened_at, s.side, s.closed_at, s.contracts, s.entry_price,
                    s.realized_pnl, s.fees, paid, len(s.fill_ids)))
    return sorted(out)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_op, min_size=1, max_size=25))
def test_incremental_rebuild_equals_full_replay(tmp_path_factory, ops) -> None:
    path = Path(tmp_path_factory.mktemp("prop")) / "j.sqlite3"
    with Journal.open(path) as j:
        acct = j.create_account("P").id
        n = 0
        for op in ops:
            if op[0] == "add":
                _, t, side, q, p = op
                j.add_fill(acct, NewFill("BTCUSDT", side, D(p), D(q), at(t), D("0.1"), "USDT",
                                         trade_id=f"t{n}"))
                n += 1
            elif op[0] == "funding":
                j.add_funding(acct, [NewFunding("BTCUSDT", at(op[1] + 0.5), D("-0.01"), "USDT",
                                                exchange_id=f"f{n}")])
                n += 1
            else:
                fills = j.fills(account=acct, limit=1_000_000).items
                if not fills:
                    continue
                f = fills[op[1] % len(fills)]
                if op[0] == "edit":
                    j.edit_fill(f.id, amount=D(op[2]))
                else:
                    j.delete_fill(f.id)
            assert _snapshot(j, acct) == _expected(j, acct), op
