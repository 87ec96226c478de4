"""Input checks for journal writes: each returns or collects one line per bad field
(``InputError`` with every problem), before any transaction starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    select,
)

from crossmargin.domain import (
    CollateralMode,
    MarginMode,
    RuleSet,
    Side,
    Tier,
)
from crossmargin.errors import InputError
from crossmargin.storage.records import (
    AccountKind,
    ExchangePosition,
    Instrument,
    NewFill,
    NewFunding,
    NewTransfer,
    PositionMode,
)
from crossmargin.storage.rows import ANNOTATIONS, LEGS, aware
from crossmargin.storage.schema import (
    account_t,
)


def datetime_field(
    value: Any, where: str, problems: list[str], *, optional: bool = False, show_value: bool = True
) -> None:
    """``value`` is a timezone-aware datetime (or None when ``optional``); appends a problem
    otherwise (``show_value``: the message quotes the value given)."""
    if value is None and optional:
        return
    if not isinstance(value, datetime):
        problems.append(
            f"{where}: must be a datetime" + (f", got {value!r}" if show_value else "")
        )
    else:
        aware(value, where, problems)


def clean_text(value: Any, where: str, problems: list[str], *, optional: bool = False) -> bool:
    """``value`` is text (or None when ``optional``); appends a problem and returns False
    otherwise."""
    if value is None and optional:
        return True
    if not isinstance(value, str):
        kind = "text or None" if optional else "text"
        problems.append(f"{where}: must be {kind}, got {value!r}")
        return False
    return True


def currency_or_none(
    value: Any, where: str, problems: list[str], *, required: bool = False
) -> bool:
    """A currency code: non-empty text (None allowed unless ``required``)."""
    if value is None and not required:
        return True
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be a currency code such as USDT, got {value!r}")
        return False
    return True


def check_paging(offset: Any, limit: Any, most: int) -> None:
    ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (offset, limit))
    if not ok or offset < 0 or not 0 < limit <= most:
        raise InputError(
            f"paging: offset must be a whole number >= 0 and limit one in 1..{most}, got "
            f"offset={offset!r}, limit={limit!r}"
        )


def check_range(
    since: datetime | None,
    until: datetime | None,
    currency: Any = None,
    *,
    currency_required: bool = False,
) -> None:
    problems: list[str] = []
    for name, value in (("since", since), ("until", until)):
        datetime_field(value, name, problems, optional=True)
    currency_or_none(currency, "currency", problems, required=currency_required)
    if problems:
        raise InputError(problems)


def validate_fill(f: NewFill, where: str, problems: list[str]) -> None:
    if not isinstance(f.symbol, str) or not f.symbol.strip():
        problems.append(f"{where}.symbol: empty")
    if f.side not in ("buy", "sell"):
        problems.append(f"{where}.side: must be 'buy' or 'sell', got {f.side!r}")
    if f.leg not in LEGS:
        problems.append(f"{where}.leg: must be one of {', '.join(LEGS)}, got {f.leg!r}")
    for name in ("price", "amount", "fee"):
        v = getattr(f, name)
        if not isinstance(v, Decimal) or not v.is_finite():
            problems.append(f"{where}.{name}: must be a finite Decimal, got {v!r}")
    if isinstance(f.price, Decimal) and f.price.is_finite() and f.price <= 0:
        problems.append(f"{where}.price: must be > 0, got {f.price}")
    if isinstance(f.amount, Decimal) and f.amount.is_finite() and f.amount <= 0:
        problems.append(f"{where}.amount: must be > 0 contracts, got {f.amount}")
    datetime_field(f.time, f"{where}.time", problems)
    clean_text(f.fee_currency, f"{where}.fee_currency", problems)
    clean_text(f.trade_id, f"{where}.trade_id", problems, optional=True)
    clean_text(f.order_id, f"{where}.order_id", problems, optional=True)
    clean_text(f.note, f"{where}.note", problems)
    rp = f.realized_pnl
    if rp is not None and (not isinstance(rp, Decimal) or not rp.is_finite()):
        problems.append(f"{where}.realized_pnl: must be a finite Decimal or None, got {rp!r}")


def dec_or_none(value: Any, where: str, problems: list[str], positive: bool = True) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        problems.append(f"{where}: must be a finite Decimal, got {value!r}")
    elif positive and value <= 0:
        problems.append(f"{where}: must be > 0, got {value}")


def dec_required(value: Any, where: str, problems: list[str], positive: bool = True) -> None:
    """Like :func:`dec_or_none` for a value that must be given (a NOT NULL column)."""
    if value is None:
        problems.append(f"{where}: required, got None")
    else:
        dec_or_none(value, where, problems, positive)


def check_label_free(conn: Connection, label: str, *, other_than: int | None = None) -> None:
    """InputError when another account (not ``other_than``) has ``label``, ignoring case."""
    where = [func.lower(account_t.c.label) == label.lower()]
    if other_than is not None:
        where.append(account_t.c.id != other_than)
    clash = conn.execute(select(account_t.c.label).where(*where)).first()
    if clash:
        raise InputError(
            f"account {clash.label!r} already exists (labels ignore case); pick another label"
        )


def validate_exchange_positions(
    positions: Sequence[ExchangePosition], problems: list[str]
) -> None:
    """Each exchange position well-formed, and at most one per (symbol, side, margin mode)."""
    seen: dict[tuple[str, str, str], int] = {}
    for i, ep in enumerate(positions):
        w = f"batch.positions[{i}]"
        if not isinstance(ep.symbol, str) or not ep.symbol.strip():
            problems.append(f"{w}.symbol: empty")
        side = mode = None
        try:
            side = Side(ep.side).value
        except ValueError:
            problems.append(f"{w}.side: must be 'long' or 'short', got {ep.side!r}")
        try:
            mode = MarginMode(ep.margin_mode).value
        except ValueError:
            problems.append(
                f"{w}.margin_mode: must be 'cross' or 'isolated', got {ep.margin_mode!r}"
            )
        for name in ("contracts", "entry_price", "mark_price", "leverage", "contract_size"):
            dec_required(getattr(ep, name), f"{w}.{name}", problems)
        dec_or_none(ep.isolated_margin, f"{w}.isolated_margin", problems, False)
        dec_or_none(ep.liquidation_price, f"{w}.liquidation_price", problems, False)
        dec_or_none(ep.unrealized_pnl, f"{w}.unrealized_pnl", problems, False)
        if side is None or mode is None or not isinstance(ep.symbol, str):
            continue
        key = (ep.symbol, side, mode)
        if key in seen:
            problems.append(
                f"{w}: a second {ep.symbol} {side} {mode} position (the first is "
                f"batch.positions[{seen[key]}]); an account holds at most one per symbol, "
                "side and margin mode, so the exchange reply is inconsistent; nothing was stored"
            )
        else:
            seen[key] = i


def validate_instrument(ins: Instrument, where: str, problems: list[str]) -> None:
    for name in ("symbol", "base", "quote", "settle"):
        value = getattr(ins, name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}.{name}: empty" if not value else
                            f"{where}.{name}: must be text, got {value!r}")
    dec_required(ins.contract_size, f"{where}.contract_size", problems)
    dec_or_none(ins.maintenance_margin_rate, f"{where}.maintenance_margin_rate", problems)
    dec_or_none(ins.max_leverage, f"{where}.max_leverage", problems)
    dec_or_none(ins.beta, f"{where}.beta", problems, positive=False)


def validate_tiers(
    symbol: str, tiers: Sequence[Tier], problems: list[str], prefix: str = "tiers"
) -> None:
    if not isinstance(symbol, str) or not symbol.strip():
        problems.append(f"{prefix}: a symbol must be non-empty text, got {symbol!r}")
        return
    prev: Decimal | None = None
    for i, t in enumerate(tiers):
        w = f"{prefix}[{symbol}][{i}]"
        if not isinstance(t, Tier):
            problems.append(f"{w}: must be a Tier, got {type(t).__name__}")
            continue
        dec_required(t.min_notional, f"{w}.min_notional", problems, positive=False)
        dec_or_none(t.max_notional, f"{w}.max_notional", problems)
        dec_required(t.maintenance_margin_rate, f"{w}.maintenance_margin_rate", problems)
        dec_or_none(t.maintenance_amount, f"{w}.maintenance_amount", problems, positive=False)
        dec_or_none(t.max_leverage, f"{w}.max_leverage", problems)
        if isinstance(t.min_notional, Decimal) and t.min_notional.is_finite():
            if prev is not None and t.min_notional <= prev:
                problems.append(f"{w}.min_notional: tiers must be in increasing order")
            prev = t.min_notional


def validate_funding(p: NewFunding, where: str, problems: list[str]) -> None:
    if not isinstance(p.symbol, str) or not p.symbol.strip():
        problems.append(f"{where}.symbol: empty")
    dec_required(p.amount, f"{where}.amount", problems, positive=False)
    currency_or_none(p.currency, f"{where}.currency", problems, required=True)
    clean_text(p.exchange_id, f"{where}.exchange_id", problems, optional=True)
    if p.leg is not None and p.leg not in LEGS:
        problems.append(f"{where}.leg: must be one of {', '.join(LEGS)} or None")
    datetime_field(p.time, f"{where}.time", problems, show_value=False)


def validate_transfer(t: NewTransfer, where: str, problems: list[str]) -> None:
    dec_required(t.amount, f"{where}.amount", problems, positive=False)
    currency_or_none(t.currency, f"{where}.currency", problems, required=True)
    if not isinstance(t.kind, str) or not t.kind.strip():
        problems.append(f"{where}.kind: must be deposit, withdrawal or transfer, got {t.kind!r}")
    clean_text(t.exchange_id, f"{where}.exchange_id", problems, optional=True)
    clean_text(t.note, f"{where}.note", problems)
    datetime_field(t.time, f"{where}.time", problems, show_value=False)


def annotation_values(changes: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in changes.items():
        value = raw
        if name not in ANNOTATIONS:
            problems.append(
                f"{name}: not an editable position field "
                f"(editable: {', '.join(ANNOTATIONS)}, tags)"
            )
            continue
        if name in (
            "leverage",
            "isolated_margin",
            "stop_price",
            "target_price",
            "mark_price",
            "exchange_liquidation_price",
        ):
            dec_or_none(value, name, problems)
        elif name == "margin_mode":
            if value is not None:
                try:
                    value = MarginMode(value).value
                except ValueError:
                    problems.append(f"margin_mode: must be cross or isolated, got {value!r}")
        elif name == "rating":
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 5
            ):
                problems.append(f"rating: must be a whole number 0..5, got {value!r}")
        elif name in ("setup", "notes"):
            value = "" if value is None else str(value)
        out[name] = value
    return out


def clean_tags(tags: Iterable[str] | str | None, problems: list[str]) -> list[str]:
    """Lower-case, stripped, unique tags (a single string is one tag, not its letters)."""
    out: list[str] = []
    if isinstance(tags, str):
        tags = [tags]
    for t in tags or ():
        tag = str(t).strip().lower()
        if not tag:
            continue
        if len(tag) > 64 or "," in tag:
            problems.append(f"tag {t!r}: at most 64 characters and no commas")
            continue
        if tag not in out:
            out.append(tag)
    return out


def check_account_fields(**fields: Any) -> None:
    """Raise InputError (one line per bad field) without touching any file."""
    account_values(**fields)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r}")
    return value


def _label(value: Any) -> str:
    value = _text(value).strip()
    if not value:
        raise ValueError("must not be empty")
    if value.isdigit():
        raise ValueError("must not be only digits (ids and labels would clash)")
    return value


def _settle(value: Any) -> str:
    value = _text(value).strip().upper()
    if not value:
        raise ValueError("must not be empty")
    return value


def _fee_rate(value: Any) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"must be a Decimal >= 0, got {value!r}")
    return value


def _exchange_id(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"must be text or None, got {value!r}")
    return (value.strip() or None) if value is not None else None


def _leverage(value: Any) -> Decimal | None:
    if value is not None and (
        not isinstance(value, Decimal) or not value.is_finite() or value <= 0 or value > 1000
    ):
        raise ValueError(f"must be a leverage > 0 (at most 1000), got {value!r}")
    return value


#: each account field's check: returns the value to store, or raises ValueError
_ACCOUNT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "label": _label,
    "kind": lambda v: AccountKind(v).value,
    "rules": lambda v: RuleSet(v).value,
    "margin_mode_default": lambda v: MarginMode(v).value,
    "position_mode": lambda v: PositionMode(v).value,
    "settle": _settle,
    "taker_fee_rate": _fee_rate,
    "exchange_id": _exchange_id,
    "default_leverage": _leverage,
    "collateral_mode": lambda v: CollateralMode(v).value,
    "notes": _text,
}


def account_values(**kw: Any) -> dict[str, Any]:
    """The account fields in ``kw`` as stored, or InputError with one line per bad field."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name, value in kw.items():
        check = _ACCOUNT_FIELDS.get(name)
        try:
            if check is None:
                raise ValueError("not an account field")
            out[name] = check(value)
        except ValueError as exc:
            problems.append(f"account.{name}: {exc}")
    if problems:
        raise InputError(problems)
    return out
