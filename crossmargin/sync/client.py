"""Build the real ccxt exchange object for an account (ccxt imported lazily).

Options are chosen so that no hidden request runs (pitfalls P1/P2 of
``shared/reference/ccxt-offline-testing.md``): no currency or margin-pair download at
``load_markets``, only the derivative market types we sync, and Bybit's unified-account
probe skipped (set ``options={'enableUnifiedAccount': False}`` on a classic account).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from crossmargin.errors import InputError
from crossmargin.sync.config import AccountConfig, Credentials

#: ccxt option overrides per exchange id (merged under the account's own options).
_BASE_OPTIONS: dict[str, dict[str, Any]] = {
    "binanceusdm": {"fetchCurrencies": False, "fetchMargins": False, "recvWindow": 10_000},
    "binancecoinm": {"fetchCurrencies": False, "fetchMargins": False, "recvWindow": 10_000},
    "bybit": {
        "enableUnifiedAccount": True,
        "enableUnifiedMargin": False,
        "fetchMarkets": {"types": ["linear", "inverse"]},
        "recvWindow": 5_000,
    },
    "okx": {"fetchMarkets": {"types": ["swap"]}},
}


def _rebase(url: str, base: str) -> str:
    """``url`` with its scheme and host replaced by ``base``'s (path kept)."""
    b = urlsplit(base.rstrip("/"))
    # ccxt templates such as 'https://api.{hostname}' are not valid URLs yet
    m = re.match(r"^[a-z]+://[^/]+(.*)$", url)
    path = m.group(1) if m else ""
    return f"{b.scheme}://{b.netloc}{b.path}{path}"


def apply_endpoint(exchange: Any, endpoint: str | Mapping[str, str] | None) -> None:
    """Point ``exchange.urls['api']`` at an override (see :class:`AccountConfig`)."""
    if not endpoint:
        return
    api = exchange.urls["api"]
    if isinstance(endpoint, str):
        if isinstance(api, str):
            exchange.urls["api"] = _rebase(api, endpoint)
        else:
            exchange.urls["api"] = {k: _rebase(v, endpoint) for k, v in api.items()}
        return
    if isinstance(api, str):
        raise InputError(f"{exchange.id}: this exchange has one API URL; give one base URL")
    unknown = sorted(set(endpoint) - set(api))
    if unknown:
        raise InputError(
            f"endpoint: unknown API sections {unknown} for {exchange.id} "
            f"(known: {', '.join(sorted(api))})"
        )
    exchange.urls["api"] = {**api, **{k: v.rstrip("/") for k, v in endpoint.items()}}


class _NoRequestDetails(logging.Filter):
    """Drops ccxt's DEBUG records: they print every request's headers (API key included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


_FILTER = _NoRequestDetails()


def silence_request_logging() -> None:
    """Make sure no ccxt log record can carry request headers (idempotent)."""
    for name in ("ccxt", "ccxt.base.exchange", "ccxt.async_support.base.exchange"):
        lg = logging.getLogger(name)
        if _FILTER not in lg.filters:
            lg.addFilter(_FILTER)


def create_exchange(config: AccountConfig, credentials: Credentials | None) -> Any:
    """A configured ccxt instance for ``config`` (sync flavour, not thread-safe).

    Raises :class:`InputError` when the exchange id is unknown or the network mode is not
    supported by its ccxt class.
    """
    import ccxt

    silence_request_logging()
    cls = getattr(ccxt, config.exchange, None)
    if cls is None:
        raise InputError(f"exchange: unknown ccxt exchange id {config.exchange!r}")
    options: dict[str, Any] = {**_BASE_OPTIONS.get(config.exchange, {}), **dict(config.options)}
    params: dict[str, Any] = {
        # Binance says in every reply how much of its per-minute weight is used, and the
        # Caller pauses on that (faults.Caller._respect_weight); ccxt's own fixed pacing
        # (one income page per 1.5 s) would only slow a first sync down
        "enableRateLimit": config.rate_limit and not config.exchange.startswith("binance"),
        "timeout": int(config.timeout_ms),
        "options": options,
        # the raw reply is validated before it is trusted (an HTTP 200 can carry junk)
        "enableLastJsonResponse": True,
        "enableLastResponseHeaders": True,
    }
    if credentials is not None:
        params["apiKey"] = credentials.api_key
        params["secret"] = credentials.secret
        if credentials.password:
            params["password"] = credentials.password
    ex = cls(params)
    if config.exchange == "bybit" and "fetchCurrencies" not in config.options:
        ex.has["fetchCurrencies"] = False  # else load_markets calls signed coin/query-info
    if config.exchange == "okx":
        ex.has["fetchCurrencies"] = False  # else load_markets calls signed asset/currencies
    if config.network == "testnet":
        if not ex.urls.get("test"):
            raise InputError(f"network: {config.exchange} has no testnet in ccxt")
        ex.set_sandbox_mode(True)
    elif config.network == "demo":
        enable = getattr(ex, "enable_demo_trading", None)
        if enable is None or not (ex.urls.get("demo") or config.exchange == "bybit"):
            raise InputError(f"network: {config.exchange} has no demo trading in ccxt")
        enable(True)
    apply_endpoint(ex, config.endpoint)
    # never follow proxy environment variables to a local override
    if config.endpoint:
        ex.session.trust_env = False
    return ex
