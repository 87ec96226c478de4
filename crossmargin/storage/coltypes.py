"""Exact column types for SQLite: Decimal as TEXT, UTC datetimes as integer microseconds.

SQLite has no decimal type and SQLAlchemy's ``Numeric`` goes through ``float`` there,
so money is stored as the canonical text of the :class:`~decimal.Decimal`
(``str(value)``), which reads back to an equal Decimal with the same exponent
(``Decimal("1.10")`` stays ``1.10``, ``Decimal("1E-8")`` stays ``1E-8``).

Times are stored as integer microseconds since the Unix epoch, UTC. Only
timezone-aware datetimes are accepted on the way in (a naive one would be a
guess about the user's zone); everything comes back in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.types import BigInteger, String, TypeDecorator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def decimal_to_text(value: Decimal) -> str:
    """Canonical exact text of a finite Decimal (raises ValueError otherwise)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"expected Decimal, got {type(value).__name__}: {value!r}")
    if not value.is_finite():
        raise ValueError(f"cannot store a non-finite Decimal: {value}")
    return str(value)


def datetime_to_micros(value: datetime) -> int:
    """Microseconds since the epoch (UTC) of an aware datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime refused (give a timezone, e.g. UTC): {value}")
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def micros_to_datetime(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal column stored as exact TEXT (``str(Decimal)``); never through float."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return decimal_to_text(value)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value)

    @property
    def python_type(self) -> type:
        return Decimal


class UTCMicros(TypeDecorator[datetime]):
    """An aware datetime stored as integer microseconds since the epoch, UTC."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return datetime_to_micros(value)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return micros_to_datetime(value)

    @property
    def python_type(self) -> type:
        return datetime
