"""A Qt-free sync service: cycles in worker threads, periodic polling, live marks.

:class:`SyncService` runs one cycle per account at a time in a thread pool (one
:class:`~crossmargin.sync.cycle.AccountClient`, hence one ccxt instance, per account,
never used by two threads at once), polls each account at its interval, offers
"sync now" and cancellation, and keeps a :class:`~crossmargin.sync.status.StatusBoard`.

Observers implement any of the :class:`SyncListener` methods. **Callbacks run on the
worker thread** that produced them; a GUI must forward them to its own thread (a
queued Qt signal), never touch widgets from them.

:class:`MarkFeed` polls public mark prices (no keys) for the symbols a GUI watches and
calls subscribers with ``(label, {symbol: Decimal}, time_ms)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Protocol

from crossmargin.sync.config import AccountConfig, Credentials
from crossmargin.sync.cycle import AccountClient, CycleReport, JournalPort, run_cycle
from crossmargin.sync.exchanges import fetcher_for
from crossmargin.sync.faults import (
    Caller,
    CancelToken,
    FaultKind,
    RetryEvent,
    RetryPolicy,
    SyncError,
    scrub,
    to_sync_error,
)
from crossmargin.sync.status import AccountStatus, StatusBoard, SyncState, utcnow

log = logging.getLogger("crossmargin.sync")

CredentialProvider = Callable[[AccountConfig], Credentials | None]


class SyncListener(Protocol):
    """Any subset of these methods; each is called on a worker thread."""

    def sync_started(self, label: str) -> None: ...

    def sync_progress(self, label: str, message: str) -> None: ...

    def sync_retrying(self, label: str, event: RetryEvent) -> None: ...

    def sync_finished(self, label: str, report: CycleReport) -> None: ...

    def sync_failed(self, label: str, error: SyncError) -> None: ...

    def status_changed(self, status: AccountStatus) -> None: ...


class _Account:
    def __init__(self, config: AccountConfig) -> None:
        self.config = config
        self.client: AccountClient | None = None
        self.future: Future[CycleReport | None] | None = None
        self.cancel = CancelToken()
        self.next_due = 0.0
        self.paused = False


class SyncService:
    """Start, cancel and observe sync cycles for many accounts (see module docstring).

    ``journal`` is a :class:`JournalPort` (``JournalAdapter(journal)`` in the app).
    ``credentials`` returns an account's keys (from a secret store) or ``None``.
    ``policy`` sets retries/backoff (tests inject tiny delays). ``clock`` is monotonic
    seconds (injectable for tests).
    """

    def __init__(
        self,
        journal: JournalPort,
        *,
        credentials: CredentialProvider,
        policy: RetryPolicy | None = None,
        status: StatusBoard | None = None,
        max_workers: int = 4,
        clock: Callable[[], float] = time.monotonic,
        client_factory: Callable[[AccountConfig, Credentials | None], AccountClient]
        | None = None,
    ) -> None:
        self.journal = journal
        self.credentials = credentials
        self.policy = policy or RetryPolicy()
        self.status = status or StatusBoard()
        self.clock = clock
        self._client_factory = client_factory or AccountClient
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="cm-sync")
        self._accounts: dict[str, _Account] = {}
        self._listeners: list[Any] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._scheduler: threading.Thread | None = None

    # ------------------------------------------------------------------ accounts
    def add_account(self, config: AccountConfig) -> None:
        """Register (or replace) an account; it is polled once the service is started."""
        config.validate()
        with self._lock:
            old = self._accounts.get(config.label)
            if old is not None and old.client is not None:
                old.cancel.cancel()
            self._accounts[config.label] = _Account(config)
        if self.status.get(config.label).state is SyncState.NEEDS_ATTENTION:
            self.status.update(config.label, state=SyncState.NEVER, message="")
        self._wake.set()

    def accounts(self) -> list[AccountConfig]:
        with self._lock:
            return [a.config for a in self._accounts.values()]

    def resume(self, label: str) -> None:
        """Re-enable an account stopped for attention (after the user fixed its keys)."""
        with self._lock:
            acc = self._accounts[label]
            acc.paused = False
            acc.client = None  # rebuild with the new credentials
            acc.next_due = 0.0
        self._wake.set()

    # ------------------------------------------------------------------ observing
    def subscribe(self, listener: Any) -> Callable[[], None]:
        """Add an observer; returns a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, name: str, *args: Any) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for li in listeners:
            fn = getattr(li, name, None)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception:
                log.exception("sync listener %s.%s failed", type(li).__name__, name)

    def _set_status(self, label: str, **changes: Any) -> AccountStatus:
        st = self.status.update(label, **changes)
        self._emit("status_changed", st)
        return st

    # ------------------------------------------------------------------ running
    def sync_now(self, label: str | None = None) -> list[Future[CycleReport | None]]:
        """Start a cycle for ``label`` (or every account) unless one is already running.

        Returns the futures (the running one when a cycle was already in flight). A
        paused account (needs attention) is retried too: the user asked explicitly.
        """
        with self._lock:
            targets = [self._accounts[label]] if label else list(self._accounts.values())
            return [self._submit(acc, manual=True) for acc in targets]

    def _submit(self, acc: _Account, *, manual: bool = False) -> Future[CycleReport | None]:
        if acc.future is not None and not acc.future.done():
            return acc.future
        if manual and acc.paused:
            acc.paused = False
            acc.client = None
        acc.cancel = CancelToken()
        acc.next_due = self.clock() + acc.config.poll_seconds
        acc.future = self._pool.submit(self._run_one, acc, acc.cancel)
        return acc.future

    def cancel(self, label: str | None = None) -> None:
        """Cancel the running cycle(s); nothing they fetched is stored."""
        with self._lock:
            targets = [self._accounts[label]] if label else list(self._accounts.values())
        for acc in targets:
            acc.cancel.cancel()

    def _run_one(self, acc: _Account, cancel: CancelToken) -> CycleReport | None:
        cfg = acc.config
        label = cfg.label
        self._set_status(label, state=SyncState.SYNCING, last_attempt=utcnow())
        self._emit("sync_started", label)
        try:
            if acc.client is None:
                creds = self.credentials(cfg)
                if creds is None:
                    raise SyncError(
                        FaultKind.AUTH,
                        "no API keys stored for this account; run `crossmargin accounts add` "
                        "again (use a read-only key)",
                        transient=False,
                    )
                acc.client = self._client_factory(cfg, creds)
            report = run_cycle(
                acc.client, self.journal, policy=self.policy, cancel=cancel,
                progress=lambda m: self._emit("sync_progress", label, m),
                on_retry=lambda ev: self._on_retry(label, ev),
            )
        except Exception as exc:
            secrets = acc.client.secrets if acc.client else ()
            err = to_sync_error(exc, secrets, "journal" if _is_storage(exc) else "")
            if err.kind is FaultKind.CANCELLED:
                prev = self.status.get(label)
                state = SyncState.OK if prev.last_success else SyncState.NEVER
                self._set_status(label, state=state, message="cancelled", fault=err.kind.value)
            elif err.kind in (FaultKind.AUTH, FaultKind.CONFIG):
                acc.paused = True
                self._set_status(label, state=SyncState.NEEDS_ATTENTION, message=str(err),
                                 fault=err.kind.value)
            else:
                self._set_status(label, state=SyncState.STALE, message=str(err),
                                 fault=err.kind.value)
            log.warning("sync %s failed: %s", label, err)
            self._emit("sync_failed", label, err)
            return None
        self._set_status(label, state=SyncState.OK, last_success=utcnow(),
                         message=report.summary(), fault="")
        log.info("sync %s: %s", label, report.summary())
        self._emit("sync_finished", label, report)
        return report

    def _on_retry(self, label: str, ev: RetryEvent) -> None:
        log.info("sync %s: %s (attempt %d, waiting %.2fs)", label, ev.message, ev.attempt,
                 ev.delay)
        self._emit("sync_retrying", label, ev)

    # ------------------------------------------------------------------ polling
    def start(self) -> None:
        """Start periodic polling (each account at its ``poll_seconds``)."""
        if self._scheduler is not None:
            return
        self._stop.clear()
        self._scheduler = threading.Thread(target=self._loop, name="cm-sync-scheduler",
                                           daemon=True)
        self._scheduler.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = self.clock()
            wait = 1.0
            with self._lock:
                for acc in self._accounts.values():
                    if acc.paused:
                        continue
                    if acc.future is not None and not acc.future.done():
                        continue
                    if acc.next_due <= now:
                        self._submit(acc)
                    wait = min(wait, max(0.01, acc.next_due - now))
            self._wake.wait(wait)
            self._wake.clear()

    def stop(self, *, wait: bool = True, cancel: bool = True) -> None:
        """Stop polling; cancel running cycles (default) and wait for the workers."""
        self._stop.set()
        self._wake.set()
        if cancel:
            self.cancel()
        if self._scheduler is not None:
            self._scheduler.join(timeout=5)
            self._scheduler = None
        self._pool.shutdown(wait=wait)
        with self._lock:
            for acc in self._accounts.values():
                if acc.client is not None:
                    acc.client.close()


def _is_storage(exc: BaseException) -> bool:
    mod = type(exc).__module__
    return mod.startswith(("crossmargin.storage", "sqlalchemy", "sqlite3"))


class MarkFeed:
    """Polls public mark prices for watched symbols and tells subscribers.

    One public ccxt instance (no keys) per watched account, used only by the feed's own
    thread. ``interval`` is seconds between polls. Subscribers are called on that thread
    with ``(label, marks, time_ms)``; marks are ``Decimal`` quote-currency prices.
    """

    def __init__(self, *, interval: float = 5.0, policy: RetryPolicy | None = None,
                 exchange_factory: Callable[[AccountConfig], Any] | None = None,
                 streams: bool = False, stall_seconds: float = 10.0,
                 stream_factory: Callable[[AccountConfig], Any] | None = None) -> None:
        self.interval = interval
        #: stream marks over websockets where the exchange can (polling only the accounts
        #: whose stream is not live): :class:`crossmargin.sync.stream.MarkStream`
        self.streams = streams
        self.stall_seconds = stall_seconds
        self._stream_factory = stream_factory
        self._streams: dict[str, Any] = {}
        self._modes: list[Callable[[str, str, str], None]] = []
        self.policy = policy or RetryPolicy(attempts=2, base_delay=0.5, max_delay=5)
        self._factory = exchange_factory
        self._watch: dict[str, tuple[AccountConfig, set[str]]] = {}
        self._clients: dict[str, Any] = {}
        self._subs: list[Callable[[str, Mapping[str, Decimal], int], None]] = []
        self._errors: list[Callable[[str, SyncError], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: dict[str, dict[str, Decimal]] = {}

    def watch(self, config: AccountConfig, symbols: Iterable[str]) -> None:
        symbols = set(symbols)
        with self._lock:
            self._watch[config.label] = (config, symbols)
            stream = self._streams.get(config.label)
        if not self.streams or not symbols:
            return
        from crossmargin.sync.stream import MarkStream, stream_supported

        if stream is not None:
            stream.watch(symbols)
        elif stream_supported(config.exchange):
            stream = MarkStream(config, symbols, on_marks=self._dispatch,
                                on_state=self._stream_state, stall_seconds=self.stall_seconds,
                                factory=self._stream_factory)
            with self._lock:
                self._streams[config.label] = stream
            stream.start()

    def unwatch(self, label: str) -> None:
        with self._lock:
            self._watch.pop(label, None)
            stream = self._streams.pop(label, None)
        if stream is not None:
            stream.stop()

    def mode(self, label: str) -> tuple[str, str]:
        """``("stream", "")`` while the account's stream is live, else ``("polling",
        why)`` (no stream for the exchange, or it stalled / is reconnecting)."""
        with self._lock:
            stream = self._streams.get(label)
        if stream is None:
            return "polling", ""
        if stream.healthy():
            return "stream", ""
        return "polling", stream.detail or stream.state

    def subscribe_mode(self, callback: Callable[[str, str, str], None]) -> None:
        """``callback(label, mode, detail)`` when an account's stream goes live or stops
        (called on the stream's thread)."""
        with self._lock:
            self._modes.append(callback)

    def _stream_state(self, label: str, state: str, detail: str) -> None:
        mode = "stream" if state == "live" else "polling"
        self._call_each(self._modes, "mode", label, mode, detail)

    def _dispatch(self, label: str, marks: Mapping[str, Decimal], at: int) -> None:
        """Hand one account's marks (polled or streamed) to every subscriber."""
        self.last[label] = dict(marks)
        self._call_each(self._subs, "marks", label, marks, at)

    def _call_each(self, callbacks: list[Callable[..., None]], what: str, *args: Any) -> None:
        with self._lock:
            cbs = list(callbacks)
        for cb in cbs:
            try:
                cb(*args)
            except Exception:
                log.exception("mark feed %s subscriber failed", what)

    def subscribe(self, callback: Callable[[str, Mapping[str, Decimal], int], None],
                  on_error: Callable[[str, SyncError], None] | None = None,
                  ) -> Callable[[], None]:
        with self._lock:
            self._subs.append(callback)
            if on_error is not None:
                self._errors.append(on_error)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subs:
                    self._subs.remove(callback)
                if on_error in self._errors:
                    self._errors.remove(on_error)

        return unsubscribe

    def _client(self, cfg: AccountConfig) -> Any:
        ex = self._clients.get(cfg.label)
        if ex is None:
            if self._factory is not None:
                ex = self._factory(cfg)
            else:
                from crossmargin.sync.client import create_exchange

                ex = create_exchange(cfg, None)
            self._clients[cfg.label] = ex
        return ex

    def poll_once(self) -> dict[str, dict[str, Decimal]]:
        """Poll every watched account once (also used by tests); returns the marks."""
        with self._lock:
            items = list(self._watch.items())
        out: dict[str, dict[str, Decimal]] = {}
        with self._lock:
            streamed = {k for k, st in self._streams.items() if st.healthy()}
        for label, (cfg, symbols) in items:
            if not symbols or label in streamed:  # its stream is live: no polling
                continue
            try:
                ex = self._client(cfg)
                caller = Caller(ex, self.policy, cancel=_StopToken(self._stop))
                f = fetcher_for(cfg.exchange)(ex, cfg, caller, {})
                if not ex.markets:
                    f.load_markets()
                marks = f.marks(symbols)
            except Exception as exc:
                err = to_sync_error(exc, (), f"marks {label}")
                with self._lock:
                    errs = list(self._errors)
                for on_error in errs:
                    on_error(label, err)
                log.info("mark feed %s: %s", label, scrub(str(err)))
                continue
            out[label] = marks
            self._dispatch(label, marks, int(time.time() * 1000))
        return out

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                self.poll_once()
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=loop, name="cm-marks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            stream.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._stop.clear()  # poll_once() still works after stop()
        for ex in self._clients.values():
            session = getattr(ex, "session", None)
            if session is not None:
                session.close()
        self._clients.clear()


class _StopToken(CancelToken):
    """A cancel token tied to the feed's stop event."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self._event = stop
