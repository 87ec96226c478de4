"""Exact money: Decimals of every scale come back identical (value and exponent)."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

from crossmargin.storage import Journal, NewFill
from crossmargin.storage.coltypes import DecimalText, UTCMicros

from .helpers import T0


def random_decimal(rng: random.Random) -> Decimal:
    """Mixed scales: 1–28 significant digits, exponents 1e-18 … 1e12, signs, trailing zeros."""
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 28))).lstrip("0")
    digits = digits or "0"
    exp = rng.randint(-18, 12)
    sign = rng.choice((0, 1))
    value = Decimal((sign, tuple(int(c) for c in digits), exp))
    if rng.random() < 0.1:
        value = Decimal(rng.choice(["1e-8", "0.00000001", "1000000", "1E+6", "0.10", "-0E-5"]))
    return value


def test_10000_random_decimals_round_trip_through_the_journal(journal: Journal, acct: int) -> None:
    rng = random.Random(20261125)
    values = [random_decimal(rng) for _ in range(10_002)]
    fills = []
    for i in range(0, len(values), 3):
        price, amount, fee = values[i : i + 3]
        fills.append(NewFill(
            symbol=f"S{i % 7}USDT", side=rng.choice(("buy", "sell")),
            price=abs(price) or Decimal("1E-18"), amount=abs(amount) or Decimal("1E-18"),
            fee=fee, fee_currency="USDT", time=T0 + timedelta(seconds=i),
            trade_id=str(i),
        ))
    assert journal.add_fills(acct, fills).inserted["fills"] == len(fills)
    stored = {int(f.trade_id): f for f in journal.fills(limit=1_000_000).items}
    drift = 0
    for src in fills:
        got = stored[int(src.trade_id)]
        for name in ("price", "amount", "fee"):
            a, b = getattr(src, name), getattr(got, name)
            if not (a == b and str(a) == str(b) and a.as_tuple() == b.as_tuple()):
                drift += 1
    assert drift == 0
    # SQLite really holds text (no REAL affinity sneaking in)
    conn = sqlite3.connect(journal.path)
    kinds = {r[0] for r in conn.execute(
        "SELECT DISTINCT typeof(price) FROM fill UNION SELECT DISTINCT typeof(fee) FROM fill")}
    conn.close()
    assert kinds == {"text"}


def _scratch(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'scratch.sqlite3'}")
    md = MetaData()
    t = Table("t", md, Column("id", Integer, primary_key=True), Column("v", DecimalText()),
              Column("ts", UTCMicros()))
    md.create_all(engine)
    return engine, t


def test_decimal_column_type_round_trip_10000(tmp_path) -> None:
    rng = random.Random(1)
    values = [random_decimal(rng) for _ in range(10_000)]
    engine, t = _scratch(tmp_path)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": i, "v": v, "ts": T0} for i, v in enumerate(values)])
    with engine.connect() as conn:
        back = [r.v for r in conn.execute(select(t).order_by(t.c.id))]
    assert [str(v) for v in back] == [str(v) for v in values]
    assert sum(a.as_tuple() != b.as_tuple() for a, b in zip(values, back, strict=True)) == 0


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_text_any_finite_value(value: Decimal) -> None:
    col = DecimalText()
    text = col.process_bind_param(value, None)
    back = col.process_result_value(text, None)
    assert back.as_tuple() == value.as_tuple()


def test_refuses_float_nan_and_naive_times() -> None:
    col = DecimalText()
    with pytest.raises(TypeError):
        col.process_bind_param(0.1, None)
    with pytest.raises(ValueError):
        col.process_bind_param(Decimal("NaN"), None)
    with pytest.raises(ValueError):
        UTCMicros().process_bind_param(T0.replace(tzinfo=None), None)


@given(st.datetimes(timezones=st.timezones()))
def test_times_round_trip_as_the_same_instant_in_utc(value) -> None:
    col = UTCMicros()
    if value.utcoffset() is None:
        return
    back = col.process_result_value(col.process_bind_param(value, None), None)
    # Compare as UTC: Python's == between zones is False for a local time that
    # falls in a DST gap or fold (PEP 495), although the instant is the same.
    assert back == value.astimezone(UTC) and back.utcoffset() == timedelta(0)
