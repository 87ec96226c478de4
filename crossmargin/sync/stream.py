"""Live mark prices over a websocket (ccxt.pro), with polling as the fallback.

One :class:`MarkStream` per watched account runs one asyncio loop on its own thread (not
qasync: the GUI's event loop stays Qt's own, the stream reaches it only through the
callbacks, which the desktop turns into queued signals; a stalled or crashing stream can
never block the GUI thread). It calls ``watch_mark_prices`` (Binance) or
``watch_tickers`` for the account's symbols and hands every message's marks to
``on_marks(label, {symbol: Decimal}, time_ms)``.

* **Reconnect with backoff.** A dropped connection or a bad frame closes the exchange
  object and opens a new one after ``backoff`` seconds, doubling up to ``max_backoff``
  and reset by the next good message.
* **Stall.** No message for ``stall_seconds``: the state becomes ``stalled`` (the
  :class:`crossmargin.sync.service.MarkFeed` then polls that account again, and the app
  says so in its status bar) and the stream reconnects.
* **Secrets.** Only public channels are used here (marks need no key); error texts pass
  through :func:`crossmargin.sync.faults.scrub` anyway.

Not done yet: private streams (positions, balances, fills) — the book between syncs still
comes from the sync cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from crossmargin.sync.client import _BASE_OPTIONS, _rebase, silence_request_logging
from crossmargin.sync.config import AccountConfig

MarksCallback = Callable[[str, Mapping[str, Decimal], int], None]
StateCallback = Callable[[str, str, str], None]  # (label, state, detail)


#: Exchanges whose ccxt.pro class streams public marks (Binance) or tickers (Bybit, OKX);
#: tested against the replay stream.
STREAMED = frozenset({"binanceusdm", "binancecoinm", "bybit", "okx"})


def stream_supported(exchange_id: str) -> bool:
    """The account's exchange streams marks here (else it is polled)."""
    if exchange_id not in STREAMED:
        return False
    try:
        from ccxt import pro
    except ImportError:
        return False
    return getattr(pro, exchange_id, None) is not None


def create_stream_exchange(config: AccountConfig) -> Any:
    """A ccxt.pro instance for ``config`` (public: no keys). ``config.endpoint`` moves the
    REST sections (market loading); ``options["ws_endpoint"]`` moves the websockets."""
    from ccxt import pro

    silence_request_logging()
    cls = getattr(pro, config.exchange)
    options = {**_BASE_OPTIONS.get(config.exchange, {}),
               **{k: v for k, v in config.options.items() if k != "ws_endpoint"}}
    ex = cls({"timeout": int(config.timeout_ms), "options": options,
              "enableRateLimit": False})
    if config.exchange in ("bybit", "okx"):
        ex.has["fetchCurrencies"] = False
    api = ex.urls["api"]
    if isinstance(config.endpoint, str) and isinstance(api, dict):
        ex.urls["api"] = {k: (_rebase(v, config.endpoint) if isinstance(v, str) else v)
                          for k, v in api.items()}
    ws_base = config.options.get("ws_endpoint")
    if isinstance(ws_base, str) and isinstance(ex.urls["api"].get("ws"), dict):
        ex.urls["api"]["ws"] = _rebase_ws(ex.urls["api"]["ws"], ws_base)
    return ex


def _rebase_ws(tree: Any, base: str) -> Any:
    if isinstance(tree, str):
        return _rebase(tree, base)
    if isinstance(tree, dict):
        return {k: _rebase_ws(v, base) for k, v in tree.items()}
    return tree


def marks_of(reply: Any) -> dict[str, Decimal]:
    """``{symbol: mark}`` from a ccxt tickers reply (mark price, else last); rows without a
    positive finite price are left out (a malformed frame gives nothing, not a crash)."""
    out: dict[str, Decimal] = {}
    if not isinstance(reply, Mapping):
        return out
    for symbol, t in reply.items():
        if not isinstance(t, Mapping):
            continue
        raw = t.get("markPrice") or t.get("last")
        if raw is None:
            info = t.get("info")
            raw = info.get("markPrice") if isinstance(info, Mapping) else None
        try:
            value = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            continue
        if value.is_finite() and value > 0:
            out[str(symbol)] = value
    return out


class MarkStream:
    """Streams one account's public marks (see the module docstring). Thread-safe API:
    :meth:`start`, :meth:`watch`, :meth:`stop`; ``state`` is ``connecting``, ``live``,
    ``stalled`` or ``reconnecting``; ``last_message`` the monotonic time of the last
    marks."""

    def __init__(self, config: AccountConfig, symbols: Iterable[str], *,
                 on_marks: MarksCallback, on_state: StateCallback | None = None,
                 stall_seconds: float = 10.0, backoff: float = 0.5, max_backoff: float = 15.0,
                 factory: Callable[[AccountConfig], Any] | None = None) -> None:
        self.config = config
        self._symbols = sorted(set(symbols))
        self._on_marks = on_marks
        self._on_state = on_state
        self.stall_seconds = stall_seconds
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._factory = factory or create_stream_exchange
        self.state = "connecting"
        self.detail = ""
        self.last_message: float | None = None
        self.messages = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._resubscribe = False
        self._seen: dict[str, int] = {}

    # -- thread-safe API --------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._thread_main, daemon=True,
                                        name=f"mark-stream-{self.config.label}")
        self._thread.start()

    def watch(self, symbols: Iterable[str]) -> None:
        new = sorted(set(symbols))
        if new != self._symbols:
            self._symbols = new
            self._resubscribe = True

    def healthy(self, now: float | None = None) -> bool:
        """A message arrived within the stall window."""
        last = self.last_message
        return last is not None and (now or time.monotonic()) - last < self.stall_seconds

    def stop(self, timeout: float = 3.0) -> None:
        self._stopped.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the loop -----------------------------------------------------------------------
    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._run())
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            loop.close()

    def _set_state(self, state: str, detail: str = "") -> None:
        if (state, detail) != (self.state, self.detail):
            self.state, self.detail = state, detail
            if self._on_state is not None:
                self._on_state(self.config.label, state, detail)

    async def _run(self) -> None:
        from crossmargin.sync.faults import scrub

        delay = self._backoff
        while not self._stopped.is_set():
            ex = None
            try:
                ex = self._factory(self.config)
                await ex.load_markets()
                self._resubscribe = False
                while not self._stopped.is_set() and not self._resubscribe:
                    reply = await asyncio.wait_for(self._watch(ex), self.stall_seconds)
                    marks = self._newer(reply)
                    if not marks:
                        continue
                    self.last_message = time.monotonic()
                    self.messages += 1
                    delay = self._backoff
                    self._set_state("live")
                    self._on_marks(self.config.label, marks, int(time.time() * 1000))
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                self._set_state("stalled", f"no message for {self.stall_seconds:g} s")
            except Exception as exc:  # a dropped connection, a refused subscription...
                self._set_state("reconnecting", scrub(f"{type(exc).__name__}: {exc}", ())[:200])
            finally:
                if ex is not None:
                    with contextlib.suppress(Exception):
                        await ex.close()
            if self._stopped.is_set():
                break
            if not self._resubscribe:
                await asyncio.sleep(delay)
                delay = min(self._max_backoff, delay * 2)

    def _newer(self, reply: Any) -> dict[str, Decimal]:
        """The marks of ``reply`` newer than the last seen per symbol (an out-of-order
        frame never moves a mark back in time)."""
        marks = marks_of(reply)
        out = {}
        for symbol, mark in marks.items():
            row = reply.get(symbol) if isinstance(reply, Mapping) else None
            ts = row.get("timestamp") if isinstance(row, Mapping) else None
            seen = self._seen.get(symbol)
            if isinstance(ts, int) and seen is not None and ts < seen:
                continue
            if isinstance(ts, int):
                self._seen[symbol] = ts
            out[symbol] = mark
        return out

    async def _watch(self, ex: Any) -> Any:
        symbols = list(self._symbols)
        if ex.has.get("watchMarkPrices"):
            return await ex.watch_mark_prices(symbols)
        return await ex.watch_tickers(symbols)


__all__ = ["MarkStream", "create_stream_exchange", "marks_of", "stream_supported"]
