"""crossmargin.numbers: the one reading of typed numbers (CLI, forms, files)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossmargin.numbers import NumberError, parse_decimal, plain, signed


@pytest.mark.parametrize(("text", "want"), [
    ("1234.5", D("1234.5")), ("-0.001", D("-0.001")), ("+7", D(7)), (".5", D("0.5")),
    ("1,234.5", D("1234.5")), ("12,345,678.90", D("12345678.90")), ("1e-8", D("1e-8")),
    ("  42 ", D(42)), ("\u22123", D(-3)), ("5.", D(5)),
])
def test_dot_decimals(text, want):
    assert parse_decimal(text) == want
    assert str(parse_decimal(text)) == str(want)  # exponent kept: 1234.50 stays 1234.50


@pytest.mark.parametrize(("text", "why"), [
    ("250,5", "ambiguous"), ("1,234", "ambiguous"), ("1,23.5", "ambiguous"),
    ("43567,125", "ambiguous"), ("", "empty"), ("abc", "not a number"), ("1.2.3", "not a number"),
    ("nan", "not a finite number"), ("inf", "not a finite number"), ("1e999999999", "out of range"),
    ("1e-999999999", "out of range"), ("9" * 300, "characters long"),
    ("1" * 41, "significant digits"), ("0x10", "not a number"), ("1_000", "not a number"),
])
def test_refused_with_a_reason(text, why):
    with pytest.raises(NumberError, match=why):
        parse_decimal(text)


def test_comma_decimals_when_the_caller_says_so():
    assert parse_decimal("250,5", decimal=",") == D("250.5")
    assert parse_decimal("43567,125", decimal=",") == D("43567.125")
    assert parse_decimal("1.234,5", decimal=",") == D("1234.5")
    for text in ("1.5", "1.234", "1,234.5"):
        with pytest.raises(NumberError, match="ambiguous"):
            parse_decimal(text, decimal=",")


def test_known_grouping_reads_grouped_integers():
    assert parse_decimal("10,000", thousands=",") == D(10000)
    assert parse_decimal("10.000", decimal=",", thousands=".") == D(10000)
    for text in ("250,5", "1,23", "12,34,567"):
        with pytest.raises(NumberError, match="ambiguous"):
            parse_decimal(text, thousands=",")


def test_messages_never_expand_huge_numbers():
    assert plain(D("1e999999999")) == "1.000000e+999999999"
    assert plain(D("7.50000000")) == "7.5" and plain(D("0E-8")) == "0"
    assert signed(D("7.5")) == "+7.5" and signed(D(-1)) == "-1" and signed(D(0)) == "0"
    with pytest.raises(NumberError) as info:
        parse_decimal("1" + "0" * 70)
    assert len(str(info.value)) < 200


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8,
                   min_value=D("-1e12"), max_value=D("1e12")))
def test_plain_text_reads_back_exactly(value):
    assert parse_decimal(plain(value)) == value


# ------------------------------------------------------------------ times

def test_times_one_reading():
    from datetime import UTC, datetime, timedelta, timezone

    from crossmargin.times import TimeError, parse_time

    assert parse_time("2024-05-01T11:45Z") == datetime(2024, 5, 1, 11, 45, tzinfo=UTC)
    assert parse_time("2024/05/01 13:45:00+02:00") == datetime(2024, 5, 1, 11, 45, tzinfo=UTC)
    assert parse_time("1714563900000") == datetime(2024, 5, 1, 11, 45, tzinfo=UTC)
    assert parse_time("1714563900") == parse_time("1714563900000000")
    utc8 = timezone(timedelta(hours=8))
    assert parse_time("2024-05-01 19:45", naive=utc8) == datetime(2024, 5, 1, 11, 45, tzinfo=UTC)
    assert parse_time("2024-05-01 13:45").tzinfo is not None  # naive: local time
    for bad, why in (("0001-01-01", "year|out of range"), ("9999-12-31", "year"),
                     ("--", "cannot read"), ("", "empty"), ("9" * 300, "out of range"),
                     ("2024-13-01", "cannot read")):
        with pytest.raises(TimeError, match=why):
            parse_time(bad)
