"""What to do when an exchange misbehaves: classify, scrub, retry with backoff.

ccxt exception texts can carry full URLs (with ``signature=``), request headers and API
keys; :func:`scrub` removes them, and every error that leaves this package is a
:class:`SyncError` holding scrubbed text only (the original is never chained).

Policy (see ``shared/reference/ccxt-offline-testing.md`` section 6):

* ``InvalidNonce`` → resync the clock (``load_time_difference``) and retry at once;
* ``DDoSProtection``/``RateLimitExceeded`` (HTTP 429, 418, bybit 10006) → long backoff,
  longer still for 418 (IP ban), honouring ``Retry-After``;
* other ``NetworkError``, ``OperationFailed``, ``BadResponse`` and a small allow-list of
  transient exchange codes → exponential backoff;
* ``AuthenticationError`` (``PermissionDenied``, ``AccountSuspended``) → stop the
  account, needs attention; never retried;
* ``BadSymbol`` → the caller reloads markets once, then skips the symbol.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from crossmargin.errors import CrossMarginError

T = TypeVar("T")


class FaultKind(StrEnum):
    """Why a call failed, from the sync's point of view."""

    CLOCK = "clock"  # timestamp outside recvWindow (InvalidNonce)
    RATE_LIMIT = "rate_limit"  # 429 / 418 / venue rate-limit codes
    NETWORK = "network"  # timeouts, refused/dropped connections, 5xx, maintenance
    AUTH = "auth"  # bad key/secret/passphrase, IP whitelist, missing permission
    BAD_SYMBOL = "bad_symbol"  # delisted or unknown market
    BAD_REPLY = "bad_reply"  # HTTP 200 with junk, empty, or a wrong envelope
    NOT_SUPPORTED = "not_supported"  # the ccxt class cannot do this
    EXCHANGE = "exchange"  # other exchange-side refusal
    STORAGE = "storage"  # the journal could not store the batch (locked, disk, refused)
    CONFIG = "config"  # the account's settings are unusable (endpoint, network, ...)
    CANCELLED = "cancelled"


#: Exchange error codes that are really transient although ccxt maps them to ExchangeError.
#: Venue codes that mean "busy, try again": Bybit 10016, Binance -1001 (internal error),
#: -1007 (timeout), -1008 (server overloaded, HTTP 503), OKX 50013/50026 (system busy).
TRANSIENT_CODES = frozenset({"10016", "-1001", "50013", "50026", "-1007", "-1008"})

#: Binance's published request-weight budget per IP and minute (USDⓈ-M and COIN-M
#: ``exchangeInfo.rateLimits``: REQUEST_WEIGHT 2400 / MINUTE); the replies say how much of
#: it is used in ``X-MBX-USED-WEIGHT-1M``.
BINANCE_WEIGHT_PER_MINUTE = 2400
#: Pause when this share of the minute's budget is used (the rest is left for the app's
#: other calls and for the exchange's own accounting lag).
WEIGHT_HEADROOM = 0.8


class SyncError(CrossMarginError):
    """A sync failure with a scrubbed, user-readable message.

    ``kind`` says what went wrong; ``transient`` whether waiting and retrying may help.
    """

    def __init__(self, kind: FaultKind, message: str, *, transient: bool) -> None:
        self.kind = kind
        self.transient = transient
        super().__init__(message)


class PartialHistory(SyncError):
    """A history step failed part-way: ``fills`` and ``cursors`` are the symbols fetched
    completely before the failure (``error``), safe to store on their own so the next
    cycle resumes after them instead of starting a long first sync again."""

    def __init__(self, error: SyncError, fills: tuple[Any, ...], cursors: dict[str, str]):
        super().__init__(error.kind, str(error), transient=error.transient)
        self.error = error
        self.fills = fills
        self.cursors = cursors


class Cancelled(SyncError):
    def __init__(self) -> None:
        super().__init__(FaultKind.CANCELLED, "sync cancelled", transient=True)


_URL_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")
_SIG = re.compile(r"(?i)(signature|sign|apikey|api_key|secret|passphrase)=([^&\s'\"]+)")
_HEADER = re.compile(
    r"(?i)['\"]?(x-mbx-apikey|x-bapi-[a-z-]+|ok-access-[a-z-]+|authorization)['\"]?\s*[:=]\s*"
    r"['\"]?[^,'\"}\s]+['\"]?"
)
_MAX_MESSAGE = 400
_CODE = re.compile(r"""(?i)"?(?:code|retCode|sCode)"?\s*[:=]\s*"?(-?\d+)""")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without secrets, signed query strings or authentication headers.

    Long texts (HTML error pages) are cut to a few hundred characters.
    """
    out = str(text)
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        out = out.replace(s, "***")
    out = _URL_QUERY.sub(r"\1?…", out)
    out = _SIG.sub(r"\1=***", out)
    out = _HEADER.sub(r"\1: ***", out)
    out = " ".join(out.split())
    if len(out) > _MAX_MESSAGE:
        out = out[:_MAX_MESSAGE] + "…"
    return out


def classify(exc: BaseException) -> FaultKind:
    """Map a ccxt (or transport) exception onto a :class:`FaultKind`.

    Order matters: ``InvalidNonce`` and the rate-limit classes are ``NetworkError``
    subclasses, ``BadSymbol`` is a ``BadRequest``.
    """
    import ccxt

    if isinstance(exc, SyncError):
        return exc.kind
    if type(exc).__module__.startswith(("crossmargin.storage", "sqlalchemy", "sqlite3")):
        return FaultKind.STORAGE
    if isinstance(exc, CrossMarginError):  # InputError: settings the user must fix
        return FaultKind.CONFIG
    if isinstance(exc, ccxt.InvalidNonce):
        return FaultKind.CLOCK
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return FaultKind.RATE_LIMIT
    if isinstance(exc, ccxt.NetworkError):
        return FaultKind.NETWORK
    if isinstance(exc, ccxt.AuthenticationError):
        return FaultKind.AUTH
    if isinstance(exc, ccxt.BadSymbol):
        return FaultKind.BAD_SYMBOL
    if isinstance(exc, ccxt.NotSupported):
        return FaultKind.NOT_SUPPORTED
    if isinstance(exc, ccxt.BadResponse):
        return FaultKind.BAD_REPLY
    if isinstance(exc, ccxt.OperationFailed):
        return FaultKind.NETWORK
    if isinstance(exc, ccxt.ExchangeError):
        codes = set(_CODE.findall(str(exc)))
        if codes & TRANSIENT_CODES:
            return FaultKind.NETWORK
        if type(exc) is ccxt.ExchangeError and not codes:
            # ccxt found no error code it knows: the reply itself was unusable (e.g. a 200
            # whose JSON lacks the venue's envelope)
            return FaultKind.BAD_REPLY
        return FaultKind.EXCHANGE
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return FaultKind.NETWORK
    if isinstance(exc, ValueError | TypeError | KeyError):
        return FaultKind.BAD_REPLY
    return FaultKind.EXCHANGE


_TRANSIENT = {FaultKind.CLOCK, FaultKind.RATE_LIMIT, FaultKind.NETWORK, FaultKind.BAD_REPLY,
              FaultKind.STORAGE}

_EXPLAIN = {
    FaultKind.CLOCK: "clock out of sync with the exchange",
    FaultKind.RATE_LIMIT: "rate-limited by the exchange",
    FaultKind.NETWORK: "network or exchange unavailable",
    FaultKind.AUTH: (
        "authentication refused: check the API key, secret and passphrase, the key's IP "
        "whitelist and its read permission"
    ),
    FaultKind.BAD_SYMBOL: "unknown or delisted market",
    FaultKind.BAD_REPLY: "the exchange sent an unusable reply",
    FaultKind.NOT_SUPPORTED: "not supported by this exchange's ccxt class",
    FaultKind.EXCHANGE: "refused by the exchange",
    FaultKind.STORAGE: "the journal could not store this cycle (nothing was changed)",
    FaultKind.CONFIG: "the account settings need fixing",
    FaultKind.CANCELLED: "cancelled",
}


def to_sync_error(exc: BaseException, secrets: Iterable[str] = (), what: str = "") -> SyncError:
    """A :class:`SyncError` describing ``exc`` with every secret scrubbed."""
    if isinstance(exc, SyncError):
        return exc
    kind = classify(exc)
    detail = scrub(f"{type(exc).__name__}: {exc}", secrets)
    prefix = f"{what}: " if what else ""
    return SyncError(kind, f"{prefix}{_EXPLAIN[kind]} ({detail})", transient=kind in _TRANSIENT)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff settings, in seconds. Tests inject tiny values; the app uses the defaults.

    Attempt ``n`` (0-based) of a transient failure waits ``base * 2**n`` capped at
    ``max_delay``; rate limits start at ``rate_limit_delay``, an HTTP 418 (IP ban) at
    ``ban_delay``. ``Retry-After`` is honoured up to ``max_delay``.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    rate_limit_delay: float = 5.0
    ban_delay: float = 60.0
    clock_resyncs: int = 2
    #: longest pause when the venue says the minute's request budget is nearly used
    weight_pause: float = 60.0

    def delay(self, kind: FaultKind, attempt: int, *, banned: bool = False) -> float:
        if kind is FaultKind.RATE_LIMIT:
            start = self.ban_delay if banned else self.rate_limit_delay
        else:
            start = self.base_delay
        return float(min(self.max_delay, start * (2**attempt)))


class CancelToken:
    """Set from any thread to stop a running cycle at its next network call or sleep."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` or until cancelled (then raise :class:`Cancelled`)."""
        if self._event.wait(max(0.0, seconds)):
            raise Cancelled()


@dataclass
class RetryEvent:
    """One retry, reported to the observer (for the status line and logs)."""

    what: str
    kind: FaultKind
    attempt: int
    delay: float
    message: str


def _retry_after(exchange: Any) -> float | None:
    headers = getattr(exchange, "last_response_headers", None) or {}
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


class Caller:
    """Runs exchange calls under a :class:`RetryPolicy` (one per account and cycle).

    Not thread-safe: it belongs to the worker thread that owns the ccxt instance.
    """

    def __init__(
        self,
        exchange: Any,
        policy: RetryPolicy,
        *,
        secrets: Iterable[str] = (),
        cancel: CancelToken | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        self.exchange = exchange
        self.policy = policy
        self.secrets = tuple(secrets)
        self.cancel = cancel or CancelToken()
        self.on_retry = on_retry
        self.calls = 0
        self.retries: list[RetryEvent] = []
        self.network_seconds = 0.0

    def __call__(self, what: str, fn: Callable[[], T]) -> T:
        resyncs = 0
        attempt = 0
        while True:
            self.cancel.check()
            self.calls += 1
            t0 = time.perf_counter()
            try:
                result = fn()
                self.network_seconds += time.perf_counter() - t0
                self._respect_weight(what)
                return result
            except Cancelled:
                raise
            except Exception as exc:
                self.network_seconds += time.perf_counter() - t0
                kind = classify(exc)
                err = to_sync_error(exc, self.secrets, what)
                if kind is FaultKind.CLOCK and resyncs < self.policy.clock_resyncs:
                    resyncs += 1
                    self._event(what, kind, attempt, 0.0, str(err))
                    self._resync_clock()
                    continue
                if not err.transient or attempt + 1 >= self.policy.attempts:
                    raise err from None
                banned = bool(re.search(r"\b418\b", str(exc)))
                delay = self.policy.delay(kind, attempt, banned=banned)
                hint = _retry_after(self.exchange)
                if hint is not None and kind is FaultKind.RATE_LIMIT:
                    delay = min(self.policy.max_delay, max(delay, hint))
                self._event(what, kind, attempt + 1, delay, str(err))
                attempt += 1
                self.cancel.sleep(delay)

    def _respect_weight(self, what: str) -> None:
        """Go as fast as the venue allows: no fixed pacing, but when a reply says the
        minute's request weight is nearly spent (Binance ``X-MBX-USED-WEIGHT-1M``), wait
        for the next minute (at most ``weight_pause``) instead of running into a 429."""
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        try:
            used = next((int(v) for k, v in headers.items()
                         if str(k).lower() == "x-mbx-used-weight-1m"), None)
        except (TypeError, ValueError, AttributeError):
            return
        if used is None or used < BINANCE_WEIGHT_PER_MINUTE * WEIGHT_HEADROOM:
            return
        pause = min(self.policy.weight_pause, 60.0 - time.time() % 60.0 + 0.5)
        self._event(what, FaultKind.RATE_LIMIT, 0, pause,
                    f"request weight {used}/{BINANCE_WEIGHT_PER_MINUTE} used this minute; "
                    "pausing until the next one")
        self.cancel.sleep(pause)

    def _event(self, what: str, kind: FaultKind, attempt: int, delay: float, msg: str) -> None:
        ev = RetryEvent(what, kind, attempt, delay, msg)
        self.retries.append(ev)
        if self.on_retry is not None:
            self.on_retry(ev)

    def _resync_clock(self) -> None:
        try:
            self.exchange.load_time_difference()
        except Exception as exc:
            raise to_sync_error(exc, self.secrets, "clock resync") from None
