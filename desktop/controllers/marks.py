"""Live marks in the app: the demo's simulated feed and the public mark prices of the
selected exchange account (or of a journal account that names its exchange), polled
on a background feed; the status-bar line saying where the marks come from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from desktop.demo import SimulatedMarkFeed
from desktop.session import AccountEntry, AccountSession, EntryKind
from desktop.tasks import TaskRunner

if TYPE_CHECKING:
    from crossmargin.domain import AccountState
    from crossmargin.storage import Journal
    from crossmargin.sync.config import AccountConfig
    from crossmargin.sync.service import MarkFeed
    from desktop.controllers.sync import SyncController
    from desktop.journal_ops import AccountSummary
    from desktop.services import Services


class MarksController(QObject):
    """Feeds the session marks while an account with live prices is selected.

    ``changed()`` is emitted whenever the marks line should be redrawn
    (:meth:`describe`).
    """

    changed = Signal()

    def __init__(self, *, services: Services, session: AccountSession, sync: SyncController,
                 journal: Callable[[], Journal | None],
                 summaries: Callable[[], list[AccountSummary]], parent: QObject) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks: TaskRunner = services.tasks
        self._session = session
        self._sync = sync
        self._journal = journal
        self._summaries = summaries
        self.simulated: SimulatedMarkFeed | None = None  # the demo's ticks
        self.feed: MarkFeed | None = None  # live exchange marks (public calls)
        self._building = False
        self.watching: str | None = None  # label of the account whose marks stream
        self._saved_at: dict[str, float] = {}  # label -> monotonic time of last save
        self._last_at: float | None = None
        self._error: str | None = None
        self._closing = False
        sync.bridge().marks_arrived.connect(self._on_exchange_marks)
        sync.bridge().marks_failed.connect(self._on_failed)
        sync.bridge().marks_mode.connect(self._on_mode)
        self.mode: tuple[str, str] = ("polling", "")  # the watched account's feed

    # ------------------------------------------------------------------ the demo feed
    def simulate(self, state: AccountState, interval_ms: int, seed: int | None) -> None:
        """Run the demo's simulated ticks for ``state`` (stops any other feed)."""
        self.stop_all()
        self.simulated = SimulatedMarkFeed(
            {p.symbol: p.mark_price for p in state.positions},
            betas=state.betas, interval_ms=interval_ms, seed=seed, parent=self,
        )
        self.simulated.marks_changed.connect(self._on_simulated)
        self.simulated.start()

    def set_interval(self, interval_ms: int) -> None:
        if self.simulated is not None:
            self.simulated.set_interval(interval_ms)

    def _on_simulated(self, marks: dict[str, Decimal]) -> None:
        self._last_at = time.time()
        self._session.apply_marks(marks)

    def stop_all(self) -> None:
        """Stop the demo's feed and any live exchange marks (another account is shown)."""
        self.unwatch()
        if self.simulated is not None:
            self.simulated.stop()
            self.simulated.deleteLater()
            self.simulated = None

    @property
    def live(self) -> bool:
        """Marks are moving (simulated or live): the What-if tab follows the book."""
        return self.simulated is not None or self.watching is not None

    # ------------------------------------------------------------------ live exchange marks
    def _config(self, entry: AccountEntry) -> AccountConfig | None:
        """Where the selected account's public marks come from: a synced account's own
        settings; for a journal account, the exchange it names (no keys; the endpoint
        override of a synced account on that exchange, if any, or ``services``')."""
        if entry.kind is EntryKind.EXCHANGE:
            return self._sync.configs.get(entry.label)
        if entry.kind is not EntryKind.JOURNAL:
            return None
        acct = next((s.account for s in self._summaries() if s.account.label == entry.label),
                    None)
        if acct is None or not acct.exchange_id:
            return None
        from desktop import sync_ops

        endpoint = self._services.public_endpoints.get(acct.exchange_id) or next(
            (c.endpoint for c in self._sync.configs.values()
             if c.exchange == acct.exchange_id and isinstance(c.endpoint, str)), None)
        return sync_ops.public_marks_config(
            acct.label, acct.exchange_id, acct.settle, endpoint,
            self._services.stream_endpoints.get(acct.exchange_id))

    def watch_current(self) -> None:
        """Stream public marks for the selected exchange account, or journal account that
        names its exchange (if it has positions)."""
        entry = self._session.entry
        state = self._session.state
        if entry is None or state is None or entry.kind not in (EntryKind.EXCHANGE,
                                                                 EntryKind.JOURNAL):
            self.unwatch()
            return
        config = self._config(entry)
        symbols = sorted({p.symbol for p in state.positions})
        if config is None or not symbols:
            self.unwatch()
            return
        if self.watching is not None and self.watching != entry.label:
            self.unwatch()
        if self.watching != entry.label:
            # nothing heard from this account's feed yet (the demo's simulated ticks, or
            # another account's, must not read as this one's live marks)
            self._last_at = None
            self._error = None
            self.mode = ("polling", "")
        self.watching = entry.label
        if self.feed is not None:
            self.feed.watch(config, symbols)
            return
        if self._building:
            return  # watched once built
        from desktop import sync_ops
        from desktop.sync_bridge import MarkListenerAdapter

        def built(feed: MarkFeed) -> None:
            self._building = False
            if self._closing or self.feed is not None:
                return
            listener = MarkListenerAdapter(self._sync.bridge())
            feed.subscribe(listener.marks, on_error=listener.error)
            feed.subscribe_mode(listener.mode)
            self.feed = feed
            feed.start()
            self.watch_current()

        self._building = True
        self._tasks.submit(sync_ops.build_mark_feed, float(self._services.mark_interval),
                           self._services.stream_marks, float(self._services.stall_seconds),
                           on_success=built,
                           on_error=lambda _exc: setattr(self, "_building", False))

    def unwatch(self) -> None:
        if self.watching is not None and self.feed is not None:
            self.feed.unwatch(self.watching)
        if self.watching is not None:
            self._last_at = None
        self.watching = None
        self._error = None
        self.mode = ("polling", "")

    def stop(self) -> None:
        """Stop every feed (the window closes)."""
        self._closing = True
        self.stop_all()
        if self.feed is not None:
            self.feed.stop()
            self.feed = None

    def _on_exchange_marks(self, label: str, marks: dict[str, Decimal], time_ms: int) -> None:
        """Marks polled for ``label`` (GUI thread): re-evaluate the book at those marks."""
        entry = self._session.entry
        if label != self.watching or entry is None or entry.label != label \
                or entry.kind not in (EntryKind.EXCHANGE, EntryKind.JOURNAL):
            return  # the user moved on
        self._last_at = time_ms / 1000
        self._error = None
        self._session.apply_marks(marks)
        self.changed.emit()
        if entry.kind is EntryKind.JOURNAL:
            self._remember(label, marks)

    def _remember(self, label: str, marks: Mapping[str, Decimal]) -> None:
        """Keep a journal account's latest marks in the journal (at most once a minute), so
        an offline start shows the last known marks rather than entry prices."""
        now = time.monotonic()
        journal = self._journal()
        if journal is None or now - self._saved_at.get(label, -1e9) < 60:
            return
        self._saved_at[label] = now
        from desktop.journal_ops import remember_marks

        self._tasks.submit(remember_marks, journal, label, dict(marks), serial=True,
                           key=f"journal.marks.{label}")

    def _on_mode(self, label: str, mode: str, detail: str) -> None:
        """The watched account's marks now stream, or fell back to polling (and why)."""
        if label != self.watching:
            return
        self.mode = (mode, detail)
        self.changed.emit()

    def _on_failed(self, label: str, message: str) -> None:
        if label != self.watching:
            return
        self._error = message
        self.changed.emit()

    # ------------------------------------------------------------------ the status line
    def describe(self) -> tuple[str, str]:
        """The status-bar line about the marks shown, and its tooltip."""
        entry = self._session.entry

        def at(t: float | None) -> str | None:
            return datetime.fromtimestamp(t).strftime("%H:%M:%S") if t is not None else None

        if entry is None:
            return "", ""
        stamp = at(self._last_at)
        if stamp is not None and self.simulated is not None:
            return f"Simulated marks · updated {stamp}", ""
        if self.watching is not None:
            if self._error:
                since = f" since {stamp}" if stamp else ""
                fallback = (" · last known marks" if stamp or entry.kind is EntryKind.JOURNAL
                            else "")
                return f"Live marks unavailable{since}{fallback}", self._error
            mode, why = self.mode
            if mode == "stream" and stamp:
                return f"Live stream · updated {stamp}", "Marks streamed over a websocket"
            if why and stamp:  # a stream that stalled or dropped: polled meanwhile
                every = f"{self._services.mark_interval:g}"
                return (f"Stream stalled — polling every {every} s · updated {stamp}",
                        f"The websocket stream stopped ({why}); it reconnects by itself")
            return (f"Live exchange marks · updated {stamp}" if stamp
                    else "Waiting for live exchange marks…"), ""
        if entry.kind is EntryKind.SCENARIO:
            return "Marks as saved in the file", ""
        if entry.kind is EntryKind.JOURNAL:
            return "Last known marks (name the account's exchange for live ones)", ""
        return "", ""


__all__ = ["MarksController"]
