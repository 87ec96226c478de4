"""The one bridge from the sync service's threads to the GUI thread.

:class:`crossmargin.sync.service.SyncService` calls its listeners on its own worker
threads. :class:`SyncBridge` is such a listener: each call only emits a Qt signal,
which Qt delivers *queued* to the GUI thread (the bridge lives there), so no widget
is ever touched from a sync thread (Electrum's network-callback pattern).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:  # sync (ccxt) loads on first use
    from crossmargin.sync.cycle import CycleReport
    from crossmargin.sync.faults import RetryEvent


class SyncBridge(QObject):
    """Sync events as Qt signals (all delivered on the GUI thread).

    ``status_changed(AccountStatus)``, ``started(label)``, ``progressed(label, message)``,
    ``finished(label, summary)``, ``failed(label, message)``; from the live mark feed
    ``marks_arrived(label, {symbol: Decimal mark in quote currency}, time_ms)`` and
    ``marks_failed(label, message)``, ``marks_mode(label, "stream"|"polling", why)``.
    """

    status_changed = Signal(object)
    started = Signal(str)
    progressed = Signal(str, str)
    finished = Signal(str, str)
    failed = Signal(str, str)
    marks_arrived = Signal(str, object, object)  # time_ms as object: may exceed 2**31
    marks_failed = Signal(str, str)
    marks_mode = Signal(str, str, str)  # label, "stream" | "polling", why


# SyncService looks listener methods up by name (``status_changed`` among them), which
# would clash with the bridge's signal of that name: subscribe this adapter instead.
class SyncListenerAdapter:
    """Subscribed to the service; runs on sync threads and only emits the bridge's signals."""

    def __init__(self, bridge: SyncBridge) -> None:
        self._bridge = bridge

    def sync_started(self, label: str) -> None:
        self._bridge.started.emit(label)

    def sync_progress(self, label: str, message: str) -> None:
        self._bridge.progressed.emit(label, message)

    def sync_retrying(self, label: str, event: RetryEvent) -> None:
        self._bridge.progressed.emit(label, event.message)

    def sync_finished(self, label: str, report: CycleReport) -> None:
        self._bridge.finished.emit(label, report.summary())

    def sync_failed(self, label: str, error: Any) -> None:
        self._bridge.failed.emit(label, str(error))

    def status_changed(self, status: Any) -> None:
        self._bridge.status_changed.emit(status)


class MarkListenerAdapter:
    """Subscribed to a :class:`crossmargin.sync.service.MarkFeed`; runs on the feed's thread
    and only emits the bridge's signals (queued to the GUI thread)."""

    def __init__(self, bridge: SyncBridge) -> None:
        self._bridge = bridge

    def marks(self, label: str, marks: Any, time_ms: int) -> None:
        self._bridge.marks_arrived.emit(label, dict(marks), int(time_ms))

    def error(self, label: str, error: Any) -> None:
        self._bridge.marks_failed.emit(label, str(error))

    def mode(self, label: str, mode: str, detail: str) -> None:
        self._bridge.marks_mode.emit(label, mode, detail)
