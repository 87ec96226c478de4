"""Small builders shared by the journal tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from crossmargin.storage import NewFill

T0 = datetime(2024, 3, 1, tzinfo=UTC)
DATA = Path(__file__).resolve().parent / "data"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def fill(
    hours: float, side: str, price: str, amount: str, *, symbol: str = "BTCUSDT",
    fee: str = "0", fee_currency: str = "", trade_id: str | None = None, leg: str = "net",
) -> NewFill:
    return NewFill(
        symbol=symbol, side=side, price=Decimal(price), amount=Decimal(amount), time=at(hours),
        fee=Decimal(fee), fee_currency=fee_currency, trade_id=trade_id, leg=leg,
    )
