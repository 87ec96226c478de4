"""Exchange sync in the app: the session's keys, the background sync service, unlocking
the encrypted key file, and the "Add exchange account" dialog.

Sync events arrive on the service's threads and reach the GUI thread through a
:class:`desktop.sync_bridge.SyncBridge` (queued signals); this controller turns them
into its own signals for the window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop.errors import problems_of
from desktop.session import EntryStatus
from desktop.tasks import TaskRunner

if TYPE_CHECKING:  # sync (ccxt) and the journal load on first use, not at start-up
    from crossmargin.storage import Account, Journal
    from crossmargin.sync.config import AccountConfig
    from crossmargin.sync.service import SyncService
    from crossmargin.sync.status import AccountStatus as SyncStatus
    from desktop.dialogs.accounts import AccountsDialog
    from desktop.dialogs.unlock import UnlockKeysDialog
    from desktop.sync_bridge import SyncBridge
    from desktop.sync_ops import SessionKeys


class SyncController(QObject):
    """Polls the journal's exchange accounts in the background, once per session.

    Signals: ``statuses_changed()`` (an account's sync status moved: redraw the list),
    ``account_synced(label)`` (a cycle stored new data for it), ``message(text, ms)``
    (status bar), ``progress(busy, tooltip)``, ``locked_changed(bool)`` (keys wait for
    the key file's passphrase), ``account_added(account_id, label)``, ``ready()`` (the
    accounts' settings are read: live marks can start).
    """

    statuses_changed = Signal()
    account_synced = Signal(str)
    message = Signal(str, int)
    progress = Signal(bool, str)
    locked_changed = Signal(bool)
    account_added = Signal(int, str)
    ready = Signal()

    def __init__(self, *, tasks: TaskRunner, journal: Callable[[], Journal | None],
                 dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self._tasks = tasks
        self._journal = journal
        self._dialog_parent = dialog_parent
        self._memory_keys: Any = None  # keys typed this session when there is no keyring
        self._session_keys: SessionKeys | None = None
        self.service: SyncService | None = None
        self._bridge: SyncBridge | None = None
        self.statuses: dict[str, SyncStatus] = {}
        self.configs: dict[str, AccountConfig] = {}
        self.locked: set[str] = set()  # accounts whose keys wait for the key file
        self.syncing: set[str] = set()
        self.unlock_dialog: UnlockKeysDialog | None = None
        self.accounts_dialog: AccountsDialog | None = None
        self._unlock_asked = False
        self._started = False
        self._closing = False

    # ------------------------------------------------------------------ start, keys
    def start(self) -> None:
        """Read the registered exchange accounts and start polling them (once)."""
        if self._started or self._journal() is None:
            return
        self._started = True
        from desktop import sync_ops

        def setup(result: tuple[list[AccountConfig], dict[str, SyncStatus], list[str]]) -> None:
            configs, statuses, locked = result
            self.statuses.update(statuses)
            self.configs.update({c.label: c for c in configs})
            self.locked = set(locked)
            self.locked_changed.emit(bool(self.locked))
            self.statuses_changed.emit()
            ready = [c for c in configs if c.label not in self.locked]
            if ready:
                self.ensure_service(ready)
            self.ready.emit()
            if self.locked and not self._unlock_asked:
                self._unlock_asked = True
                self.unlock_keys()  # ask once per session; Ctrl+U asks again

        self._tasks.submit(sync_ops.sync_setup, self.keys(), on_success=setup)

    def keys(self) -> SessionKeys:
        """This session's keys (memory, keyring, unlocked file; built on first use)."""
        if self._session_keys is None:
            from crossmargin.sync.secrets import MemoryStore
            from desktop.sync_ops import SessionKeys

            if self._memory_keys is None:
                self._memory_keys = MemoryStore()
            self._session_keys = SessionKeys(self._memory_keys)
        return self._session_keys

    def bridge(self) -> SyncBridge:
        """The queued-signal bridge from sync and mark-feed threads (built once)."""
        if self._bridge is None:
            from desktop.sync_bridge import SyncBridge

            bridge = SyncBridge(self)
            bridge.status_changed.connect(self._on_status)
            bridge.started.connect(self._on_started)
            bridge.progressed.connect(
                lambda label, msg: self.message.emit(f"{label}: {msg}", 10_000))
            bridge.finished.connect(self._on_finished)
            bridge.failed.connect(self._on_failed)
            self._bridge = bridge
        return self._bridge

    def ensure_service(self, configs: list[AccountConfig],
                       then: Callable[[], object] | None = None) -> None:
        """Register ``configs`` with the sync service (built on first use), then ``then``."""
        from desktop import sync_ops
        from desktop.sync_bridge import SyncListenerAdapter

        keys = self.keys()
        self.configs.update({c.label: c for c in configs})
        if self.service is not None:
            for config in configs:
                self.service.add_account(config)
            if then is not None:
                then()
            return

        def built(service: SyncService) -> None:
            if self.service is not None or self._closing:  # raced with another start
                service.stop(wait=False)
                return
            service.subscribe(SyncListenerAdapter(self.bridge()))
            self.service = service
            service.start()
            if then is not None:
                then()

        self._tasks.submit(sync_ops.build_sync_service, self._journal(), configs, keys,
                           on_success=built)

    def sync_now(self, label: str) -> bool:
        """Start a sync cycle of exchange account ``label`` now (False if not registered)."""
        service = self.service
        if service is None or label not in {c.label for c in service.accounts()}:
            return False
        service.sync_now(label)
        return True

    def status_of(self, acct: Account, opened: str) -> tuple[EntryStatus, str]:
        """An exchange account's row status (synced, stale since T, needs attention)."""
        if acct.label in self.locked:
            return EntryStatus.ATTENTION, "Keys locked · Ctrl+U to unlock and sync"
        st = self.statuses.get(acct.label)
        state = str(st.state) if st is not None else "never"

        def when(t: datetime | None) -> str:
            return t.astimezone().strftime("%d %b %H:%M") if t else "never"

        if st is not None and state == "syncing":
            return EntryStatus.LIVE, f"Syncing… · {opened}"
        if st is not None and state == "ok":
            return EntryStatus.LIVE, f"Synced {when(st.last_success)} · {opened}"
        if st is not None and state == "stale":
            return EntryStatus.STALE, f"Stale since {when(st.last_success)}: {st.message}"
        if st is not None and state == "needs_attention":
            return EntryStatus.ATTENTION, f"Needs attention: {st.message}"
        synced = acct.positions_synced_at
        if synced is None:
            return EntryStatus.ATTENTION, f"Not synced yet · {opened}"
        return EntryStatus.STALE, f"Synced {when(synced)} · {opened}"

    def stop(self) -> None:
        """Stop polling (before the journal closes)."""
        self._closing = True
        if self.service is not None:
            self.service.stop(wait=True, cancel=True)
            self.service = None

    # ------------------------------------------------------------------ unlocking
    def unlock_keys(self) -> UnlockKeysDialog | None:
        """Ask for the key file's passphrase (accounts with ``file`` keys then sync)."""
        if not self.locked:
            self.message.emit("No exchange keys are waiting to be unlocked.", 5000)
            return None
        if self.unlock_dialog is not None:
            self.unlock_dialog.raise_()
            return self.unlock_dialog
        from crossmargin.sync.secrets import secrets_file_path
        from desktop.dialogs.unlock import UnlockKeysDialog

        dialog = UnlockKeysDialog(sorted(self.locked), path=str(secrets_file_path()),
                                  parent=self._dialog_parent)
        keys = self.keys()

        def unlocked(_count: int) -> None:
            labels = sorted(self.locked)
            self.locked.clear()
            self.locked_changed.emit(False)
            dialog.unlocked()
            self.statuses_changed.emit()
            configs = [self.configs[label] for label in labels if label in self.configs]
            self.message.emit("Exchange keys unlocked for this session", 8000)

            def sync_them() -> None:
                for c in configs:
                    self.sync_now(c.label)

            self.ensure_service(configs, then=sync_them)

        dialog.unlock_requested.connect(lambda phrase: self._tasks.submit(
            keys.unlock, phrase, key="keys.unlock", on_success=unlocked,
            on_error=lambda exc: dialog.show_problems(problems_of(exc))))
        dialog.finished.connect(lambda _r: setattr(self, "unlock_dialog", None))
        self.unlock_dialog = dialog
        dialog.open()
        return dialog

    # ------------------------------------------------------------------ adding an account
    def add_account(self) -> None:
        """Show the "Add exchange account" dialog (the journal must be open)."""
        from desktop import sync_ops

        self._tasks.submit(sync_ops.default_store_kind, key="accounts.store",
                           on_success=self._show_accounts_dialog)

    def _show_accounts_dialog(self, store_kind: str) -> None:
        from desktop import sync_ops
        from desktop.dialogs.accounts import AccountsDialog

        self.keys()  # the session's memory store exists from here on
        dialog = AccountsDialog(store_kind=store_kind, parent=self._dialog_parent)

        def test(config: AccountConfig, creds: object) -> None:
            self._tasks.submit(
                sync_ops.test_connection, config, creds, key="accounts.test",
                on_success=lambda r: dialog.show_test_result(r.ok, r.message),
                on_error=lambda exc: dialog.show_problems(problems_of(exc)),
            )

        def save(config: AccountConfig, creds: object) -> None:
            def saved(account_id: int) -> None:
                dialog.accept()
                self.account_added.emit(account_id, config.label)
                self.ensure_service([config], then=lambda: self.sync_now(config.label))

            self._tasks.submit(
                sync_ops.save_exchange_account, self._journal(), config, creds,
                self._memory_keys, serial=True, on_success=saved,
                on_error=lambda exc: dialog.show_problems(problems_of(exc)),
            )

        dialog.test_requested.connect(test)
        dialog.save_requested.connect(save)
        dialog.finished.connect(lambda _r: setattr(self, "accounts_dialog", None))
        self.accounts_dialog = dialog
        dialog.open()

    # ------------------------------------------------------------------ sync events
    def _on_status(self, status: SyncStatus) -> None:
        self.statuses[status.label] = status
        self.statuses_changed.emit()

    def _show_progress(self) -> None:
        busy = bool(self.syncing)
        self.progress.emit(busy, "Syncing " + ", ".join(sorted(self.syncing)) if busy else "")

    def _on_started(self, label: str) -> None:
        self.syncing.add(label)
        self._show_progress()
        self.message.emit(f"Syncing {label}…", 10_000)

    def _on_failed(self, label: str, message: str) -> None:
        self.syncing.discard(label)
        self._show_progress()
        self.message.emit(f"{label}: sync failed: {message}", 20_000)

    def _on_finished(self, label: str, summary: str) -> None:
        self.syncing.discard(label)
        self._show_progress()
        self.message.emit(f"{label}: {summary}", 10_000)
        self.account_synced.emit(label)
