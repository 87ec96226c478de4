"""Times as people and exchange exports write them: one parser for the CLI, the desktop's
forms and the file readers.

Accepted: ISO 8601 (``2024-05-01``, ``2024-05-01 13:45``, ``2024-05-01T11:45:00Z``,
``2024/05/01 13:45:00+08:00``), epoch seconds, milliseconds or microseconds (as
exchanges export them) and ``now``. A time without a zone is in ``naive`` (the local
zone unless the caller says otherwise, e.g. UTC for an export documented in UTC).
Years outside :data:`FIRST_YEAR`…:data:`LAST_YEAR` are refused, so no later conversion
(local time, microseconds) can overflow.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

FIRST_YEAR = 1970
LAST_YEAR = 2200

EXAMPLES = "2024-05-01, '2024-05-01 13:45' (local time) or 2024-05-01T11:45Z (UTC)"


class TimeError(ValueError):
    """Why a text is not a time this program reads (a sentence for the user)."""


def parse_time(text: str, *, naive: tzinfo | None = None) -> datetime:
    """An aware datetime for ``text`` (see the module docstring); raises TimeError."""
    if not isinstance(text, str):
        raise TimeError(f"expected a date/time as text, got {type(text).__name__}")
    s = text.strip()
    shown = repr(s if len(s) <= 40 else s[:40] + "…")
    if not s:
        raise TimeError("empty: type a date and time such as " + EXAMPLES)
    if s.lower() == "now":
        return datetime.now(UTC)
    if s.isdigit():
        if len(s) > 17:
            raise TimeError(f"{shown}: epoch number out of range")
        n = int(s)
        try:
            if n >= 10**14:
                dt = datetime.fromtimestamp(n // 1_000_000, UTC).replace(microsecond=n % 10**6)
            elif n >= 10**11:
                dt = datetime.fromtimestamp(n // 1000, UTC).replace(microsecond=n % 1000 * 1000)
            else:
                dt = datetime.fromtimestamp(n, UTC)
        except (OverflowError, OSError, ValueError):
            raise TimeError(f"{shown}: epoch number out of range") from None
        return _bounded(dt, shown)
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    iso = iso.replace("/", "-")
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        raise TimeError(f"cannot read {shown} as a date/time; use e.g. {EXAMPLES}") from None
    if dt.tzinfo is None:
        try:
            dt = dt.replace(tzinfo=naive) if naive is not None else dt.astimezone()
        except (OverflowError, OSError, ValueError):
            raise TimeError(f"{shown}: out of range") from None
    return _bounded(dt, shown)


def _bounded(dt: datetime, shown: str) -> datetime:
    if not FIRST_YEAR <= dt.year <= LAST_YEAR:
        raise TimeError(f"{shown}: the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return dt


__all__ = ["EXAMPLES", "FIRST_YEAR", "LAST_YEAR", "TimeError", "parse_time"]
