"""Public exchange data for accounts without API keys (journal accounts that name their
exchange): leverage tiers from the endpoints Bybit and OKX publish without signing.

Bybit ``GET /v5/market/risk-limit`` and OKX ``GET /api/v5/public/position-tiers`` are
public; Binance serves its brackets only to signed requests (``/fapi/v1/leverageBracket``
is USER_DATA), so a Binance journal account uses the bundled snapshot
(:mod:`crossmargin.tier_snapshots`) and a synced Binance account its own brackets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crossmargin.domain import Tier
from crossmargin.errors import InputError
from crossmargin.sync.faults import Caller, RetryPolicy, SyncError, to_sync_error

#: Exchanges whose tier tables can be fetched without a key.
PUBLIC_TIERS = ("bybit", "okx")


def fetch_public_tiers(
    exchange_id: str, symbols: Iterable[str], *, endpoint: str | Mapping[str, str] | None = None,
    timeout_ms: int = 10_000, policy: RetryPolicy | None = None,
) -> dict[str, tuple[Tier, ...]]:
    """Each symbol's published tier table (canonical symbol → tiers), no key needed.

    Raises InputError for an exchange that publishes none without a key, and
    :class:`SyncError` (a message for the user) when the exchange cannot be reached."""
    from crossmargin.sync.client import create_exchange
    from crossmargin.sync.config import AccountConfig
    from crossmargin.sync.exchanges import fetcher_for

    exchange_id = exchange_id.strip().lower()
    if exchange_id not in PUBLIC_TIERS:
        why = ("Binance publishes its brackets only to signed requests; the bundled "
               "snapshot is used (or sync the account with a read-only key)"
               if exchange_id.startswith("binance") else
               f"{exchange_id} is not one of {', '.join(PUBLIC_TIERS)}")
        raise InputError(f"--fetch: no public tier tables for {exchange_id}: {why}")
    wanted = sorted(set(symbols))
    if not wanted:
        return {}
    config = AccountConfig("public tiers", exchange_id, endpoint=endpoint, timeout_ms=timeout_ms,
                           secret_store="memory").validate()
    ex = create_exchange(config, None)
    try:
        caller = Caller(ex, policy or RetryPolicy(attempts=3, base_delay=0.5, max_delay=5))
        fetcher = fetcher_for(exchange_id)(ex, config, caller, {})
        try:
            fetcher.load_markets()
            unknown = [s for s in wanted if fetcher.market(s) is None]
            if unknown:
                raise InputError(f"{exchange_id} lists no contract {', '.join(unknown)}")
            records = fetcher.tiers(wanted)
        except (SyncError, InputError):
            raise
        except Exception as exc:
            raise to_sync_error(exc, (), f"tiers from {exchange_id}") from None
    finally:
        session = getattr(ex, "session", None)
        if session is not None:
            session.close()
    return {r.symbol: r.tiers for r in records if r.tiers}


__all__ = ["PUBLIC_TIERS", "fetch_public_tiers"]
