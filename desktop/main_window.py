"""The main window: accounts on the left, key figures on top, tabs below.

Only adapts and routes: numbers come from :class:`AccountSession` (which asks the
engine on a worker), files are read and written through :class:`TaskRunner`, and
every problem is shown inline in the message bar (never a traceback or a popup
storm). UI state (geometry, splitters, last tab and account, column widths) is
kept in the :class:`QSettings` INI given by :class:`Services`.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crossmargin import paths
from crossmargin.domain import AccountState, MarginMode, PositionId
from crossmargin.errors import CrossMarginError, InputError
from crossmargin.scenario import load_scenario, save_scenario
from crossmargin.storage.db import JournalCorruptError
from crossmargin.tier_snapshots import exchange_name
from desktop import formatting as fmt
from desktop.demo import (
    DEMO_LABEL,
    History,
    SimulatedMarkFeed,
    load_demo_state,
    synthetic_history,
)
from desktop.dialogs.about import AboutDialog
from desktop.dialogs.add_margin import AddMarginDialog
from desktop.dialogs.preferences import PreferencesDialog
from desktop.models.accounts import ENTRY_ROLE, AccountDelegate, AccountsListModel
from desktop.services import Services, optional_class
from desktop.session import (
    AccountEntry,
    AccountKind,
    AccountSession,
    AccountStatus,
    RiskSnapshot,
)
from desktop.settings import Preferences, recent_scenarios, remember_scenario
from desktop.theme import LIGHT, Theme
from desktop.tray import MarginAlert, TrayIcon
from desktop.views.dashboard import DashboardView
from desktop.views.journal import JournalView
from desktop.views.positions import PositionsView
from desktop.widgets.first_run import FirstRunBanner
from desktop.widgets.key_figures import KeyFiguresBar
from desktop.widgets.message_bar import MessageBar

if TYPE_CHECKING:  # journal (SQLAlchemy) and sync load on first use, not at start-up
    from crossmargin.storage import Journal
    from desktop.dialogs.accounts import AccountsDialog
    from desktop.dialogs.log_position import LogPositionDialog
    from desktop.dialogs.unlock import UnlockKeysDialog
    from desktop.journal_ops import AccountBook, AccountSummary, LogPositionRequest

log = logging.getLogger(__name__)

DEMO_KEY = "demo"
SCENARIO_FILTER = "CrossMargin scenario (*.json);;All files (*)"
TAB_NAMES = ("Dashboard", "Positions", "What-if", "Journal")


#: How often the window checks for writes by other processes (ms).
JOURNAL_WATCH_MS = 2000


def problems_of(exc: BaseException) -> list[str]:
    """The user-facing lines of an error (InputError problems, or its message)."""
    if isinstance(exc, InputError):
        return list(exc.problems)
    if isinstance(exc, CrossMarginError | OSError):
        return [str(exc)]
    return [f"{type(exc).__name__}: {exc}"]


class MainWindow(QMainWindow):
    """CrossMargin's main window. Build with keyword-only services; GUI thread only.

    ``account_loaded(str)`` is emitted with the account key once its book is shown.
    """

    account_loaded = Signal(str)

    def __init__(self, *, services: Services, start_demo: bool = False) -> None:
        super().__init__()
        self.services = services
        self.tasks = services.tasks
        self.settings = services.settings
        self.prefs: Preferences = services.preferences
        self.theme: Theme = LIGHT
        self.session = AccountSession(tasks=self.tasks, parent=self)
        self.feed: SimulatedMarkFeed | None = None
        self._demo_state: AccountState | None = None
        self._demo_history: History | None = None
        self._last_marks_at: float | None = None
        self.setWindowTitle("CrossMargin")
        if not services.icon.isNull():
            self.setWindowIcon(services.icon)
        self.setMinimumSize(1000, 640)

        self._build_sidebar()
        self._build_content()
        self._build_actions()
        self._build_status_bar()
        self.alert = MarginAlert(self.prefs.margin_alert, self)
        self.alert.crossed.connect(self._on_alert)
        self.tray = TrayIcon(services.icon, self)
        self.tray.show_requested.connect(self._raise)
        self.tray.quit_requested.connect(self.close)

        self.session.snapshot_ready.connect(self._on_snapshot)
        self.session.state_changed.connect(self._on_state_changed)
        self.session.failed.connect(
            lambda text: self.message_bar.show_message("error", "The engine rejected this book.",
                                                       [text])
        )
        self.tasks.task_failed.connect(
            lambda text: self.message_bar.show_message("error", "A background task failed.", [text])
        )
        self.tasks.busy_changed.connect(self._on_busy)

        self.journal: Journal | None = services.journal
        self._journal_summaries: list[AccountSummary] = []
        self._pending_key: str | None = None
        self._log_dialog: LogPositionDialog | None = None
        self.accounts_dialog: AccountsDialog | None = None
        self._memory_keys: Any = None  # keys typed this session when there is no keyring
        self._session_keys: Any = None  # sync_ops.SessionKeys (memory, keyring, unlocked file)
        self.sync_service: Any = None
        self.sync_bridge: Any = None
        self._sync_status: dict[str, Any] = {}
        self._sync_configs: dict[str, Any] = {}  # label -> AccountConfig
        self._locked: set[str] = set()  # accounts whose keys wait for the key file
        self.unlock_dialog: UnlockKeysDialog | None = None
        self._unlock_asked = False
        self._syncing: set[str] = set()
        self.mark_feed: Any = None  # crossmargin.sync.service.MarkFeed (live exchange marks)
        self._mark_feed_building = False
        self.watching_marks: str | None = None  # label of the account whose marks stream
        self._marks_saved_at: dict[str, float] = {}  # label -> monotonic time of last save
        self._restore_dialog: Any = None  # the open "Restore from a backup" dialog
        self._marks_error: str | None = None
        self._sync_started = False
        self._closing = False
        self._problem_key: str | None = None
        self._populate_accounts()
        self._restore_ui_state()
        self._use_preferences(self.prefs)
        key = DEMO_KEY if start_demo else str(self.settings.value("window/account", DEMO_KEY))
        if key.startswith("journal:") and (self.journal is not None or self.journal_path.exists()):
            self._pending_key = key  # shown once the journal's accounts are read
        else:
            self.select_account(key if self.accounts_model.row_of(key) >= 0 else DEMO_KEY)
        self._start_journal()

    # ------------------------------------------------------------------ building
    def _build_sidebar(self) -> None:
        self.accounts_model = AccountsListModel(self)
        self.accounts_view = QListView()
        self.accounts_view.setObjectName("AccountsList")
        self.accounts_view.setModel(self.accounts_model)
        self.account_delegate = AccountDelegate(self.accounts_view)
        self.accounts_view.setItemDelegate(self.account_delegate)
        self.accounts_view.setMouseTracking(True)
        self.accounts_view.setUniformItemSizes(True)
        self.accounts_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.accounts_view.selectionModel().currentChanged.connect(self._on_account_changed)
        title = QLabel("ACCOUNTS")
        title.setObjectName("SidebarTitle")
        sidebar = QWidget()
        sidebar.setMinimumWidth(170)
        layout = QVBoxLayout(sidebar)
        layout.setContentsMargins(8, 8, 0, 8)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.accounts_view, 1)
        self.sidebar = sidebar

    def _build_content(self) -> None:
        self.account_title = QLabel("")
        self.account_title.setObjectName("AccountTitle")
        font = self.account_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.account_title.setFont(font)
        self.account_badge = QLabel("")
        self.account_badge.setObjectName("AccountBadge")
        self.account_detail = QLabel("")
        self.account_detail.setObjectName("ChartReadout")
        title_row = QHBoxLayout()
        title_row.addWidget(self.account_title)
        title_row.addWidget(self.account_badge)
        title_row.addSpacing(8)
        title_row.addWidget(self.account_detail, 1)

        self.figures = KeyFiguresBar()
        self.message_bar = MessageBar()
        self.banner = FirstRunBanner()
        self.banner.open_scenario_clicked.connect(self.open_scenario_dialog)
        self.banner.log_position_clicked.connect(self.log_position)
        self.banner.add_account_clicked.connect(self.add_exchange_account)
        self.banner.dismissed.connect(lambda: self.settings.setValue("window/banner_hidden", True))

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(False)
        self.dashboard = DashboardView(session=self.session)
        self.positions = PositionsView(session=self.session)
        self.tabs.addTab(self.dashboard, "Dashboard")
        self.tabs.addTab(self.positions, "Positions")
        # the What-if tab is built the first time it is needed (saves ~0.25 s at start-up)
        self.whatif_panel: QWidget | None = None
        self.whatif_available = importlib.util.find_spec("desktop.whatif.panel") is not None
        self._whatif_host: QWidget | None = None
        if self.whatif_available:
            self._whatif_host = QWidget()
            QVBoxLayout(self._whatif_host).setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(self._whatif_host, "What-if")
            self.tabs.currentChanged.connect(self._maybe_build_whatif)
        self.journal_view = JournalView(tasks=self.tasks)
        self.tabs.addTab(self.journal_view, "Journal")
        self.journal_view.changed.connect(self._journal_changed)
        self.journal_view.problem.connect(
            lambda text, problems: self.message_bar.show_message("error", text, problems)
        )
        self.journal_view.notice.connect(
            lambda text: self.message_bar.show_message("info", text, timeout_ms=8000)
        )
        self.journal_view.log_requested.connect(self.log_position)
        self.positions.set_capabilities(
            can_edit=False, has_journal=False, has_whatif=self.whatif_available,
        )
        self.positions.edit_requested.connect(self.edit_position)
        self.positions.journal_requested.connect(self.open_in_journal)
        self.positions.whatif_requested.connect(self.route_whatif)

        right = QWidget()
        layout = QVBoxLayout(right)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addLayout(title_row)
        layout.addWidget(self.figures)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([200, 1080])
        self.setCentralWidget(self.splitter)

    def _action(self, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.open_action = self._action(
            "&Open scenario…", self.open_scenario_dialog, QKeySequence.StandardKey.Open,
            "Open a scenario file (an account as JSON)",
        )
        self.save_action = self._action(
            "&Save scenario as…", self.save_scenario_dialog, QKeySequence.StandardKey.Save,
            "Save the selected account's book, at the current marks, as a scenario file",
        )
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.save_action)
        file_menu.addSeparator()
        self.add_account_action = self._action(
            "Add &exchange account…", self.add_exchange_account,
            tip="Connect an exchange account with read-only API keys",
        )
        self.log_position_action = self._action(
            "&Log a position…", self.log_position, tip="Record a position in the journal"
        )
        has_sync = True  # accounts are stored in the journal, keys in the secret store
        has_journal = True  # the journal file is created on the first logged position
        self.add_account_action.setEnabled(has_sync)
        self.log_position_action.setEnabled(has_journal)
        for action, available, what in (
            (self.add_account_action, has_sync, "Exchange sync"),
            (self.log_position_action, has_journal, "The journal"),
        ):
            if not available:
                action.setToolTip(f"{what} is not available in this build")
        self.banner.add_account_button.setEnabled(has_sync)
        self.banner.add_account_button.setToolTip(self.add_account_action.toolTip())
        self.banner.log_position_button.setEnabled(has_journal)
        self.banner.log_position_button.setToolTip(self.log_position_action.toolTip())
        file_menu.addAction(self.add_account_action)
        self.unlock_action = self._action(
            "&Unlock exchange keys…", self.unlock_keys, QKeySequence("Ctrl+U"),
            "Enter the passphrase of the encrypted key file to sync its accounts",
        )
        self.unlock_action.setEnabled(False)
        file_menu.addAction(self.unlock_action)
        file_menu.addAction(self.log_position_action)
        self.restore_action = self._action(
            "&Restore the journal from a backup…", self.restore_backup,
            tip="Replace the journal with one of its backups (the current content is kept "
                "aside first)",
        )
        file_menu.addAction(self.restore_action)
        file_menu.addSeparator()
        self.prefs_action = self._action(
            "&Preferences…", self.edit_preferences, QKeySequence.StandardKey.Preferences
        )
        if self.prefs_action.shortcut().isEmpty():
            self.prefs_action.setShortcut(QKeySequence("Ctrl+,"))
        file_menu.addAction(self.prefs_action)
        file_menu.addSeparator()
        self.quit_action = self._action("&Quit", self.close, QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addAction(self.quit_action)

        view_menu = menu.addMenu("&View")
        self.tab_actions: list[QAction] = []
        for i in range(self.tabs.count()):
            name = self.tabs.tabText(i)
            action = self._action(
                name, lambda _=False, n=i: self.tabs.setCurrentIndex(n),
                QKeySequence(f"Ctrl+{i + 1}"),
            )
            view_menu.addAction(action)
            self.tab_actions.append(action)
        view_menu.addSeparator()
        self.refresh_action = self._action(
            "&Refresh", self.refresh, QKeySequence.StandardKey.Refresh,
            "Re-read the account and recompute every figure",
        )
        if self.refresh_action.shortcut() != QKeySequence("F5"):
            self.refresh_action.setShortcuts([QKeySequence("F5"), self.refresh_action.shortcut()])
        view_menu.addAction(self.refresh_action)
        self.banner_action = self._action("Show &welcome banner", self._show_banner)
        view_menu.addAction(self.banner_action)

        help_menu = menu.addMenu("&Help")
        self.about_action = self._action("&About CrossMargin", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        help_menu.addAction(self.about_action)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.busy_label = QLabel("")
        self.busy_label.setObjectName("ChartReadout")
        self.marks_label = QLabel("")
        self.marks_label.setObjectName("ChartReadout")
        self.sync_progress = QProgressBar()
        self.sync_progress.setObjectName("SyncProgress")
        self.sync_progress.setRange(0, 0)  # busy: a cycle reports steps, not fractions
        self.sync_progress.setMaximumWidth(160)
        self.sync_progress.setMaximumHeight(14)
        self.sync_progress.setTextVisible(False)
        self.sync_progress.setVisible(False)
        bar.addPermanentWidget(self.sync_progress)
        bar.addPermanentWidget(self.busy_label)
        bar.addPermanentWidget(self.marks_label)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._update_marks_label)
        self._journal_watch = QTimer(self)  # outside writes (the CLI beside the app)
        self._journal_watch.setInterval(JOURNAL_WATCH_MS)
        self._journal_watch.timeout.connect(self._watch_journal)
        self._journal_watch.start()
        self._clock.start()

    # ------------------------------------------------------------------ accounts
    def _populate_accounts(self) -> None:
        entries = [
            AccountEntry(
                DEMO_KEY, AccountKind.DEMO, DEMO_LABEL, AccountStatus.LIVE,
                "Simulated prices",
            )
        ]
        entries.extend(self._journal_entry(s) for s in self._journal_summaries)
        known = {e.key for e in entries}
        scenarios = [e for e in self.accounts_model.entries() if e.kind is AccountKind.SCENARIO]
        for path in recent_scenarios(self.settings):
            entry = self._scenario_entry(path)
            if entry.key not in {s.key for s in scenarios}:
                scenarios.append(entry)
        entries.extend(e for e in scenarios if e.key not in known)
        # keep the row the user selected (its book may still be loading)
        selected = self.accounts_view.currentIndex().data(ENTRY_ROLE)
        current = selected.key if isinstance(selected, AccountEntry) else (
            self.session.entry.key if self.session.entry is not None else None)
        blocker = self.accounts_view.selectionModel().blockSignals(True)
        self.accounts_model.set_entries(entries)
        if current is not None and self.accounts_model.row_of(current) >= 0:
            self.accounts_view.selectionModel().setCurrentIndex(
                self.accounts_model.index(self.accounts_model.row_of(current)),
                QItemSelectionModel.SelectionFlag.ClearAndSelect,
            )
        self.accounts_view.selectionModel().blockSignals(blocker)

    def _journal_entry(self, summary: AccountSummary) -> AccountEntry:
        acct = summary.account
        n = summary.open_positions
        opened = f"{n} open position{'s' if n != 1 else ''}"
        if str(acct.kind) == "exchange":
            status, text = self._exchange_status(acct, opened)
            kind = AccountKind.EXCHANGE
        else:
            status, text, kind = AccountStatus.STATIC, f"Journal · {opened}", AccountKind.JOURNAL
        return AccountEntry(f"journal:{int(acct.id)}", kind, acct.label, status, text)

    def _exchange_status(self, acct: Any, opened: str) -> tuple[AccountStatus, str]:
        """Live sync status of an exchange account (synced, stale since T, needs attention)."""
        if acct.label in self._locked:
            return AccountStatus.ATTENTION, "Keys locked · Ctrl+U to unlock and sync"
        st = self._sync_status.get(acct.label)
        state = str(getattr(st, "state", "never"))

        def when(t: datetime | None) -> str:
            return t.astimezone().strftime("%d %b %H:%M") if t else "never"

        if state == "syncing":
            return AccountStatus.LIVE, f"Syncing… · {opened}"
        if state == "ok":
            return AccountStatus.LIVE, f"Synced {when(st.last_success)} · {opened}"
        if state == "stale":
            return AccountStatus.STALE, f"Stale since {when(st.last_success)}: {st.message}"
        if state == "needs_attention":
            return AccountStatus.ATTENTION, f"Needs attention: {st.message}"
        synced = acct.positions_synced_at
        if synced is None:
            return AccountStatus.ATTENTION, f"Not synced yet · {opened}"
        return AccountStatus.STALE, f"Synced {when(synced)} · {opened}"

    # ------------------------------------------------------------------ sync
    def _start_sync(self) -> None:
        """Poll the registered exchange accounts in the background (once per session)."""
        if self._sync_started or self.journal is None:
            return
        self._sync_started = True
        from desktop import sync_ops

        def setup(result: tuple[list[Any], dict[str, Any], list[str]]) -> None:
            configs, statuses, locked = result
            self._sync_status.update(statuses)
            self._sync_configs.update({c.label: c for c in configs})
            self._locked = set(locked)
            self.unlock_action.setEnabled(bool(self._locked))
            self._populate_accounts()
            ready = [c for c in configs if c.label not in self._locked]
            if ready:
                self._ensure_sync_service(ready)
            self._watch_current_marks()
            if self._locked and not self._unlock_asked:
                self._unlock_asked = True
                self.unlock_keys()  # ask once per session; Ctrl+U asks again

        self.tasks.submit(sync_ops.sync_setup, self._keys(), on_success=setup)

    def _keys(self) -> Any:
        """This session's :class:`desktop.sync_ops.SessionKeys` (built on first use)."""
        if self._session_keys is None:
            from crossmargin.sync.secrets import MemoryStore
            from desktop.sync_ops import SessionKeys

            if self._memory_keys is None:
                self._memory_keys = MemoryStore()
            self._session_keys = SessionKeys(self._memory_keys)
        return self._session_keys

    def _ensure_bridge(self) -> Any:
        """The queued-signal bridge from sync and mark-feed threads (built once)."""
        if self.sync_bridge is None:
            from desktop.sync_bridge import SyncBridge

            bridge = SyncBridge(self)
            bridge.status_changed.connect(self._on_sync_status)
            bridge.started.connect(self._on_sync_started)
            bridge.progressed.connect(
                lambda label, msg: self.statusBar().showMessage(f"{label}: {msg}", 10_000))
            bridge.finished.connect(self._on_sync_finished)
            bridge.failed.connect(self._on_sync_failed)
            bridge.marks_arrived.connect(self._on_exchange_marks)
            bridge.marks_failed.connect(self._on_marks_failed)
            self.sync_bridge = bridge
        return self.sync_bridge

    def _ensure_sync_service(self, configs: list[Any], then: Callable[[], None] | None = None,
                             ) -> None:
        from desktop import sync_ops
        from desktop.sync_bridge import SyncListenerAdapter

        keys = self._keys()
        self._sync_configs.update({c.label: c for c in configs})
        if self.sync_service is not None:
            for config in configs:
                self.sync_service.add_account(config)
            if then is not None:
                then()
            return

        def built(service: Any) -> None:
            if self.sync_service is not None or self._closing:  # raced with another start
                service.stop(wait=False)
                return
            service.subscribe(SyncListenerAdapter(self._ensure_bridge()))
            self.sync_service = service
            service.start()
            if then is not None:
                then()

        self.tasks.submit(sync_ops.build_sync_service, self.journal, configs, keys,
                          on_success=built)

    # -- unlocking the encrypted key file ---------------------------------------------
    def unlock_keys(self) -> UnlockKeysDialog | None:
        """Ask for the key file's passphrase (accounts with ``file`` keys then sync)."""
        if not self._locked:
            self.statusBar().showMessage("No exchange keys are waiting to be unlocked.", 5000)
            return None
        if self.unlock_dialog is not None:
            self.unlock_dialog.raise_()
            return self.unlock_dialog
        from crossmargin.sync.secrets import secrets_file_path
        from desktop.dialogs.unlock import UnlockKeysDialog

        dialog = UnlockKeysDialog(sorted(self._locked), path=str(secrets_file_path()),
                                  parent=self)
        keys = self._keys()

        def unlocked(_count: int) -> None:
            labels = sorted(self._locked)
            self._locked.clear()
            self.unlock_action.setEnabled(False)
            dialog.unlocked()
            self._populate_accounts()
            configs = [self._sync_configs[label] for label in labels
                       if label in self._sync_configs]
            self.statusBar().showMessage("Exchange keys unlocked for this session", 8000)
            self._ensure_sync_service(
                configs, then=lambda: [self.sync_now(c.label) for c in configs])

        dialog.unlock_requested.connect(lambda phrase: self.tasks.submit(
            keys.unlock, phrase, key="keys.unlock", on_success=unlocked,
            on_error=lambda exc: dialog.show_problems(problems_of(exc))))
        dialog.finished.connect(lambda _r: setattr(self, "unlock_dialog", None))
        self.unlock_dialog = dialog
        dialog.open()
        return dialog

    # -- sync events (GUI thread, through the bridge) ----------------------------------
    def _on_sync_status(self, status: Any) -> None:
        self._sync_status[status.label] = status
        self._populate_accounts()

    def _show_sync_progress(self) -> None:
        busy = bool(self._syncing)
        self.sync_progress.setVisible(busy)
        self.sync_progress.setToolTip("Syncing " + ", ".join(sorted(self._syncing)) if busy
                                      else "")

    def _on_sync_started(self, label: str) -> None:
        self._syncing.add(label)
        self._show_sync_progress()
        self.statusBar().showMessage(f"Syncing {label}…", 10_000)

    def _on_sync_failed(self, label: str, message: str) -> None:
        self._syncing.discard(label)
        self._show_sync_progress()
        self.statusBar().showMessage(f"{label}: sync failed: {message}", 20_000)

    def _on_sync_finished(self, label: str, summary: str) -> None:
        self._syncing.discard(label)
        self._show_sync_progress()
        self.statusBar().showMessage(f"{label}: {summary}", 10_000)
        entry = self.session.entry
        if entry is not None and entry.label == label and entry.key.startswith("journal:"):
            self._load_journal_entry(entry)
            if self.tabs.currentWidget() is self.journal_view:
                self.journal_view.reload()
        self.refresh_journal_accounts()

    def sync_now(self, label: str) -> bool:
        """Start a sync cycle of exchange account ``label`` now (False if not registered)."""
        service = self.sync_service
        if service is None or label not in {c.label for c in service.accounts()}:
            return False
        service.sync_now(label)
        return True

    # ------------------------------------------------------------------ live exchange marks
    def _marks_config(self, entry: AccountEntry) -> Any:
        """Where the selected account's public marks come from: a synced account's own
        settings; for a journal account, the exchange it names (no keys; the endpoint
        override of a synced account on that exchange, if any, or ``services``')."""
        if entry.kind is AccountKind.EXCHANGE:
            return self._sync_configs.get(entry.label)
        if entry.kind is not AccountKind.JOURNAL:
            return None
        acct = next((s.account for s in self._journal_summaries
                     if s.account.label == entry.label), None)
        if acct is None or not acct.exchange_id:
            return None
        from desktop import sync_ops

        endpoint = self.services.public_endpoints.get(acct.exchange_id) or next(
            (c.endpoint for c in self._sync_configs.values()
             if c.exchange == acct.exchange_id and isinstance(c.endpoint, str)), None)
        return sync_ops.public_marks_config(acct.label, acct.exchange_id, acct.settle, endpoint)

    def _watch_current_marks(self) -> None:
        """Stream public marks for the selected exchange account, or journal account that
        names its exchange (if it has positions)."""
        entry = self.session.entry
        state = self.session.state
        if entry is None or state is None or entry.kind not in (AccountKind.EXCHANGE,
                                                                 AccountKind.JOURNAL):
            self._unwatch_marks()
            return
        config = self._marks_config(entry)
        symbols = sorted({p.symbol for p in state.positions})
        if config is None or not symbols:
            self._unwatch_marks()
            return
        if self.watching_marks is not None and self.watching_marks != entry.label:
            self._unwatch_marks()
        if self.watching_marks != entry.label:
            # nothing heard from this account's feed yet (the demo's simulated ticks, or
            # another account's, must not read as this one's live marks)
            self._last_marks_at = None
            self._marks_error = None
        self.watching_marks = entry.label
        if self.mark_feed is not None:
            self.mark_feed.watch(config, symbols)
            return
        if self._mark_feed_building:
            return  # watched once built
        from desktop import sync_ops
        from desktop.sync_bridge import MarkListenerAdapter

        def built(feed: Any) -> None:
            self._mark_feed_building = False
            if self._closing or self.mark_feed is not None:
                return
            listener = MarkListenerAdapter(self._ensure_bridge())
            feed.subscribe(listener.marks, on_error=listener.error)
            self.mark_feed = feed
            feed.start()
            self._watch_current_marks()

        self._mark_feed_building = True
        self.tasks.submit(sync_ops.build_mark_feed, float(self.services.mark_interval),
                          on_success=built,
                          on_error=lambda _exc: setattr(self, "_mark_feed_building", False))

    def _unwatch_marks(self) -> None:
        if self.watching_marks is not None and self.mark_feed is not None:
            self.mark_feed.unwatch(self.watching_marks)
        if self.watching_marks is not None:
            self._last_marks_at = None
        self.watching_marks = None
        self._marks_error = None

    def _on_exchange_marks(self, label: str, marks: dict[str, Decimal], time_ms: int) -> None:
        """Marks polled for ``label`` (GUI thread): re-evaluate the book at those marks."""
        entry = self.session.entry
        if label != self.watching_marks or entry is None or entry.label != label \
                or entry.kind not in (AccountKind.EXCHANGE, AccountKind.JOURNAL):
            return  # the user moved on
        self._last_marks_at = time_ms / 1000
        self._marks_error = None
        self.session.apply_marks(marks)
        self._update_marks_label()
        if entry.kind is AccountKind.JOURNAL:
            self._remember_marks(label, marks)

    def _remember_marks(self, label: str, marks: Mapping[str, Decimal]) -> None:
        """Keep a journal account's latest marks in the journal (at most once a minute), so
        an offline start shows the last known marks rather than entry prices."""
        now = time.monotonic()
        if self.journal is None or now - self._marks_saved_at.get(label, -1e9) < 60:
            return
        self._marks_saved_at[label] = now
        from desktop.journal_ops import remember_marks

        self.tasks.submit(remember_marks, self.journal, label, dict(marks), serial=True,
                          key=f"journal.marks.{label}")

    def _on_marks_failed(self, label: str, message: str) -> None:
        if label != self.watching_marks:
            return
        self._marks_error = message
        self._update_marks_label()

    # ------------------------------------------------------------------ journal
    @property
    def journal_path(self) -> Path:
        return self.services.journal_path or paths.default_journal_path()

    def _start_journal(self) -> None:
        """Open the journal in the background if there is one (never creates it here)."""
        if self.journal is not None:
            self.refresh_journal_accounts()
        elif self.journal_path.exists():
            self._open_journal(then=self.refresh_journal_accounts)

    def _open_journal(self, then: Callable[[], None] | None = None) -> None:
        from desktop.journal_ops import open_journal

        def opened(journal: Journal) -> None:
            self.journal = journal
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, JournalCorruptError):
                self.message_bar.show_message(
                    "error", "The journal is damaged. CrossMargin has not read from it or "
                    "changed it. Restore a backup from before the damage (File ▸ Restore the "
                    "journal from a backup…).", list(exc.problems[:3]),
                )
                self.restore_backup(reason=f"The journal {self.journal_path} is damaged.")
            else:
                self.message_bar.show_message(
                    "error", f"The journal at {self.journal_path} could not be opened.",
                    problems_of(exc),
                )
            if self._pending_key is not None:
                self._pending_key = None
                self.select_account(DEMO_KEY)

        self.tasks.submit(open_journal, self.journal_path, serial=True,
                          on_success=opened, on_error=failed)

    def restore_backup(self, reason: str = "") -> None:
        """List the journal's backups (checked on a worker), then restore the chosen one."""
        from desktop.dialogs.restore_backup import RestoreBackupDialog
        from desktop.journal_ops import list_journal_backups, restore_journal

        def listed(backups: list[Any]) -> None:
            if self._closing:
                return
            dialog = RestoreBackupDialog(backups, reason=reason, parent=self)
            self._restore_dialog = dialog

            def restored(result: tuple[Journal, str]) -> None:
                journal, saved = result
                self.journal = journal
                dialog.accept()
                self._restore_dialog = None
                self.message_bar.show_message(
                    "info", f"The journal was restored from {backup_name[0]}. Its content "
                    f"before is kept at {saved}.", timeout_ms=15_000)
                self.refresh_journal_accounts()

            def refused(exc: BaseException) -> None:
                dialog.show_problem("\n".join(problems_of(exc)))

            backup_name: list[str] = [""]

            def requested(path: Path) -> None:
                backup_name[0] = path.name
                self.tasks.submit(restore_journal, self.journal_path, self.journal, path,
                                  serial=True, on_success=restored, on_error=refused)

            dialog.restore_requested.connect(requested)
            dialog.finished.connect(lambda _r: setattr(self, "_restore_dialog", None))
            dialog.open()

        self.tasks.submit(list_journal_backups, self.journal_path, on_success=listed)

    def refresh_journal_accounts(self, select: str | None = None) -> None:
        """Re-read the journal's accounts into the list (optionally select one after)."""
        if self.journal is None:
            return
        from desktop.journal_ops import list_accounts

        def arrived(summaries: list[AccountSummary]) -> None:
            self._journal_summaries = summaries
            self._populate_accounts()
            self._start_sync()
            key = select or self._pending_key
            self._pending_key = None
            if key is not None:
                self.select_account(key if self.accounts_model.row_of(key) >= 0 else DEMO_KEY)
            if self._user_accounts() and self.session.entry is not None:
                self.banner.setVisible(False)

        self.tasks.submit(list_accounts, self.journal, serial=True, key="journal.accounts",
                          on_success=arrived)

    def _load_journal_entry(self, entry: AccountEntry) -> None:
        journal = self.journal
        if journal is None:
            return
        account_id = int(entry.key.split(":", 1)[1])
        from desktop.journal_ops import load_account

        def shown(book: AccountBook) -> None:
            current = self.accounts_view.currentIndex().data(ENTRY_ROLE)
            if not isinstance(current, AccountEntry) or current.key != entry.key:
                return  # the user moved on meanwhile
            self._stop_feed()
            if self._problem_key == entry.key:  # an earlier "cannot be evaluated" is moot now
                self.message_bar.dismiss()
                self._problem_key = None
            self.session.load(entry, book.state, book.history)
            acct = book.account
            venue = f"{exchange_name(acct.exchange_id)} · " if acct.exchange_id else ""
            self._show_entry(entry, f"{venue}{acct.rules} rules · settles in {acct.settle}")
            # where the numbers came from (bundled tiers and their date, default leverage,
            # entry-price marks): on hover, never hidden
            self.account_detail.setToolTip("\n".join(book.sources))
            self._watch_current_marks()
            self.account_loaded.emit(entry.key)

        def failed(exc: BaseException) -> None:
            self._stop_feed()
            self.session.clear_to(entry)
            self._show_entry(entry, "")
            self.message_bar.show_message(
                "warning", f"“{entry.label}” cannot be evaluated yet.", problems_of(exc)
            )
            self._problem_key = entry.key
            self.account_loaded.emit(entry.key)

        self.tasks.submit(load_account, journal, account_id, serial=True, key="journal.load",
                          on_success=shown, on_error=failed)

    @staticmethod
    def _scenario_entry(path: Path) -> AccountEntry:
        return AccountEntry(
            f"scenario:{path.resolve()}", AccountKind.SCENARIO, path.stem,
            AccountStatus.STATIC, "Scenario file · marks as saved", path.resolve(),
        )

    def select_account(self, key: str) -> None:
        row = self.accounts_model.row_of(key)
        if row < 0:
            return
        index = self.accounts_model.index(row)
        self.accounts_view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )

    def _on_account_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = current.data(ENTRY_ROLE) if current.isValid() else None
        if not isinstance(entry, AccountEntry):
            return
        if self.session.entry is not None and self.session.entry.key == entry.key:
            return
        if entry.kind is AccountKind.DEMO:
            self._load_demo(entry)
        elif entry.kind is AccountKind.SCENARIO and entry.path is not None:
            self._load_scenario_entry(entry)
        elif entry.key.startswith("journal:"):
            self._load_journal_entry(entry)

    def _stop_feed(self) -> None:
        """Stop the demo's simulated feed and any live exchange marks."""
        self._unwatch_marks()
        if self.feed is not None:
            self.feed.stop()
            self.feed.deleteLater()
            self.feed = None

    def _load_demo(self, entry: AccountEntry) -> None:
        try:
            if self._demo_state is None:
                self._demo_state = load_demo_state(self.services.demo_path)
        except (CrossMarginError, OSError) as exc:
            self.message_bar.show_message(
                "error", "The demo account could not be loaded (reinstall the app to repair it).",
                problems_of(exc),
            )
            return
        state = self._demo_state
        self._stop_feed()
        self.session.load(entry, state, self._demo_history)
        seed = self.services.demo_seed
        self.feed = SimulatedMarkFeed(
            {p.symbol: p.mark_price for p in state.positions},
            betas=state.betas, interval_ms=self.prefs.feed_interval_ms, seed=seed, parent=self,
        )
        self.feed.marks_changed.connect(self._on_marks)
        self.feed.start()
        self._show_entry(entry, "Simulated live prices")
        if self._demo_history is None:
            self._request_demo_history()
        self.account_loaded.emit(entry.key)

    def _request_demo_history(self) -> None:
        generation = self.session.generation

        def arrived(history: History) -> None:
            self._demo_history = history
            self.session.set_history(history, generation)

        def build(equity: float, ratio: float | None) -> History:
            return synthetic_history(
                equity, ratio, hours=self.services.history_hours,
                seed=self.services.demo_seed if self.services.demo_seed is not None else 7,
            )

        def with_first_snapshot(snap: RiskSnapshot) -> None:
            self.session.snapshot_ready.disconnect(with_first_snapshot)
            if generation != self.session.generation:
                return
            ratio = snap.risk.margin_ratio
            self.tasks.submit(
                build, float(snap.risk.equity), None if ratio is None else float(ratio),
                key="demo.history", on_success=arrived,
            )

        self.session.snapshot_ready.connect(with_first_snapshot)

    def _load_scenario_entry(self, entry: AccountEntry) -> None:
        assert entry.path is not None
        path = entry.path
        self.tasks.submit(
            load_scenario, path, key="scenario.load",
            on_success=lambda state: self._show_scenario(entry, state),
            on_error=lambda exc: self._scenario_failed(path, exc),
        )

    def _show_scenario(self, entry: AccountEntry, state: AccountState) -> None:
        self._stop_feed()
        self.session.load(entry, state)
        self._show_entry(entry, f"Scenario file {entry.path}")
        self.account_loaded.emit(entry.key)

    def _journal_account_id(self, entry: AccountEntry | None = None) -> int | None:
        entry = entry if entry is not None else self.session.entry
        if entry is None or not entry.key.startswith("journal:"):
            return None
        return int(entry.key.split(":", 1)[1])

    def _show_entry(self, entry: AccountEntry, detail: str) -> None:
        account_id = self._journal_account_id(entry)
        self.journal_view.set_account(self.journal, account_id, entry.label)
        self.positions.set_capabilities(
            can_edit=account_id is not None and entry.kind is AccountKind.JOURNAL,
            has_journal=account_id is not None, has_whatif=self.whatif_available,
        )
        self.account_title.setText(entry.label)
        demo = entry.kind is AccountKind.DEMO
        self.account_badge.setText("DEMO" if demo else str(entry.kind).upper())
        self.account_badge.setProperty("kind", str(entry.kind))
        self.account_badge.style().unpolish(self.account_badge)
        self.account_badge.style().polish(self.account_badge)
        self.account_detail.setText(detail)
        hidden = str(self.settings.value("window/banner_hidden", False)).lower() == "true"
        self.banner.setVisible(demo and not hidden and self._user_accounts() == 0)
        self.figures.clear()

    def _user_accounts(self) -> int:
        return sum(1 for e in self.accounts_model.entries() if e.kind is not AccountKind.DEMO)

    def _on_marks(self, marks: dict[str, Decimal]) -> None:
        self._last_marks_at = time.time()
        self.session.apply_marks(marks)

    # ------------------------------------------------------------------ snapshots
    def _on_state_changed(self, state: AccountState | None) -> None:
        if state is None:
            self.figures.clear()
            return
        if self.whatif_panel is not None and hasattr(self.whatif_panel, "set_account_state"):
            self.whatif_panel.set_account_state(state)

    def _on_snapshot(self, snap: RiskSnapshot) -> None:
        risk = snap.risk
        self.figures.set_risk(risk)
        entry = self.session.entry
        if entry is not None:
            self.alert.observe(entry.key, entry.label, risk.margin_ratio, risk.cross_liquidated)
            self.tray.set_tooltip(f"CrossMargin — {entry.label}: margin ratio "
                                  f"{fmt.percent(risk.margin_ratio)}")
        if self.whatif_panel is not None and (self.feed is not None
                                              or self.watching_marks is not None):
            # live marks moved: the What-if tab follows the live book
            self.whatif_panel.set_account_state(snap.state)  # type: ignore[attr-defined]

    def _on_alert(self, label: str, ratio: object) -> None:
        if not self.prefs.notifications:
            return
        text = (f"{label}: margin ratio {fmt.percent(ratio) if isinstance(ratio, Decimal) else '—'}"
                f" crossed your alert at {fmt.percent(self.prefs.margin_alert, decimals=0)}")
        if not self.tray.notify("Margin ratio alert", text):
            self.statusBar().showMessage(text, 15_000)
        self.message_bar.show_message("warning", text)

    def _on_busy(self, busy: bool) -> None:
        self.busy_label.setText("Computing…" if busy else "")

    def _update_marks_label(self) -> None:
        entry = self.session.entry
        if entry is None:
            self.marks_label.setText("")
        elif self._last_marks_at is not None and self.feed is not None:
            stamp = datetime.fromtimestamp(self._last_marks_at).strftime("%H:%M:%S")
            self.marks_label.setText(f"Simulated marks · updated {stamp}")
        elif self.watching_marks is not None:
            stamp = (datetime.fromtimestamp(self._last_marks_at).strftime("%H:%M:%S")
                     if self._last_marks_at is not None else None)
            if self._marks_error:
                since = f" since {stamp}" if stamp else ""
                fallback = (" · last known marks" if stamp or entry.kind is AccountKind.JOURNAL
                            else "")
                self.marks_label.setText(f"Live marks unavailable{since}{fallback}")
                self.marks_label.setToolTip(self._marks_error)
            else:
                self.marks_label.setText(f"Live exchange marks · updated {stamp}" if stamp
                                         else "Waiting for live exchange marks…")
                self.marks_label.setToolTip("")
        elif entry.kind is AccountKind.SCENARIO:
            self.marks_label.setText("Marks as saved in the file")
        elif entry.kind is AccountKind.JOURNAL:
            self.marks_label.setText("Last known marks (name the account's exchange for "
                                     "live ones)")
        else:
            self.marks_label.setText("")

    # ------------------------------------------------------------------ what-if routing
    def _maybe_build_whatif(self, index: int) -> None:
        if self._whatif_host is not None and self.tabs.widget(index) is self._whatif_host:
            self.ensure_whatif_panel()

    def ensure_whatif_panel(self) -> QWidget | None:
        """The What-if panel, built on first use and fed the current book."""
        if self.whatif_panel is not None or self._whatif_host is None:
            return self.whatif_panel
        panel_cls = optional_class("desktop.whatif.panel", "WhatIfPanel")
        try:
            panel = panel_cls(tasks=self.tasks) if panel_cls is not None else None
        except Exception:
            log.exception("the What-if panel failed to start")
            panel = None
        layout = self._whatif_host.layout()
        if panel is None:
            hint = QLabel("The What-if tab could not start; see the log for details.")
            hint.setObjectName("EmptyHint")
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(hint)
            self._whatif_host = None
            return None
        layout.addWidget(panel)
        panel.show()  # the host may already be on screen
        self.whatif_panel = panel
        set_theme = getattr(panel, "set_theme", None)
        if callable(set_theme):
            set_theme(self.theme)
        if self.session.state is not None:
            panel.set_account_state(self.session.state)  # type: ignore[attr-defined]
        return panel

    def route_whatif(self, action: str, position_id: str, delta: Decimal | None = None) -> None:
        """Context-menu what-if: stage the change in the What-if tab and show it.

        ``action`` is ``switch`` (to the other margin mode), ``close`` or ``add_margin``
        (``delta`` in the settlement currency; asked for in a dialog when ``None``).
        """
        panel = self.ensure_whatif_panel()
        vm = getattr(panel, "viewmodel", None) if panel is not None else None
        snap = self.session.snapshot
        if panel is None or vm is None or snap is None:
            return
        pid = PositionId(position_id)
        position = snap.risk.position(pid)
        error: str | None = None
        if action == "switch":
            # toggles the what-if mode (a second "switch" undoes the first)
            current = vm.plan.edit(pid).mode or MarginMode(str(position.margin_mode))
            error = vm.set_mode(pid, current.other)
        elif action == "close":
            error = vm.set_close(pid, True)
        elif action == "add_margin":
            current = vm.plan.edit(pid).margin or position.margin
            if delta is None:
                dialog = AddMarginDialog(symbol=position.symbol, current=current,
                                         settle=snap.risk.settle, parent=self)
                if not dialog.exec() or dialog.delta is None:
                    return
                delta = dialog.delta
            error = vm.set_margin(pid, current + delta)
        else:
            raise ValueError(f"unknown what-if action {action!r}")
        if error:
            self.message_bar.show_message("warning", error)
        if self._whatif_host is not None:
            self.tabs.setCurrentWidget(self._whatif_host)

    # ------------------------------------------------------------------ file actions
    def open_scenario_dialog(self) -> None:
        start = str(self.settings.value("files/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario file", start, SCENARIO_FILTER)
        if path:
            self.open_scenario(Path(path))

    def open_scenario(self, path: Path) -> None:
        """Read ``path`` on a worker; on success add it to the accounts and show it.

        A bad file leaves everything as it was and lists its problems in the message bar.
        """
        self.tasks.submit(
            load_scenario, path, key="scenario.load",
            on_success=lambda state: self._scenario_opened(path, state),
            on_error=lambda exc: self._scenario_failed(path, exc),
        )

    def _scenario_opened(self, path: Path, state: AccountState) -> None:
        self.settings.setValue("files/last_dir", str(path.resolve().parent))
        remember_scenario(self.settings, path)
        entry = self._scenario_entry(path)
        if state.label:
            entry = AccountEntry(entry.key, entry.kind, state.label, entry.status,
                                 entry.status_text, entry.path)
        self.accounts_model.upsert(entry)
        self.message_bar.dismiss()
        self.session.entry = None  # force the reload below even if it was selected
        self._show_scenario(entry, state)
        self.select_account(entry.key)

    def _scenario_failed(self, path: Path, exc: BaseException) -> None:
        self.message_bar.show_message(
            "error", f"Could not open “{path.name}”. Nothing was changed.", problems_of(exc)
        )

    def save_scenario_dialog(self) -> None:
        state = self.session.state
        if state is None:
            return
        start = Path(str(self.settings.value("files/last_dir", str(Path.home()))))
        name = (state.label or "scenario").replace("/", "-") + ".json"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save scenario file", str(start / name), SCENARIO_FILTER
        )
        if path:
            self.save_scenario(Path(path))

    def save_scenario(self, path: Path) -> None:
        """Write the selected account's book (current marks) to ``path`` on a worker."""
        state = self.session.state
        if state is None:
            return
        self.tasks.submit(
            save_scenario, state, path, serial=True,
            on_success=lambda _r: self._scenario_saved(path),
            on_error=lambda exc: self.message_bar.show_message(
                "error", f"Could not save “{path.name}”. The file was not changed.",
                problems_of(exc),
            ),
        )

    def _scenario_saved(self, path: Path) -> None:
        self.settings.setValue("files/last_dir", str(path.resolve().parent))
        remember_scenario(self.settings, path)
        self.accounts_model.upsert(self._scenario_entry(path))
        self.message_bar.show_message("info", f"Saved {path}", timeout_ms=6000)

    def add_exchange_account(self) -> None:
        """Show the "Add exchange account" dialog (opens or creates the journal first)."""
        if self.journal is None:
            self._open_journal(then=self.add_exchange_account)
            return
        from desktop import sync_ops

        self.tasks.submit(sync_ops.default_store_kind, key="accounts.store",
                          on_success=self._show_accounts_dialog)

    def _show_accounts_dialog(self, store_kind: str) -> None:
        from desktop import sync_ops
        from desktop.dialogs.accounts import AccountsDialog

        self._keys()  # the session's memory store exists from here on
        dialog = AccountsDialog(store_kind=store_kind, parent=self)

        def test(config: object, creds: object) -> None:
            self.tasks.submit(
                sync_ops.test_connection, config, creds, key="accounts.test",
                on_success=lambda r: dialog.show_test_result(r.ok, r.message),
                on_error=lambda exc: dialog.show_problems(problems_of(exc)),
            )

        def save(config: object, creds: object) -> None:
            def saved(account_id: int) -> None:
                dialog.accept()
                self.banner.setVisible(False)
                self.refresh_journal_accounts(select=f"journal:{account_id}")
                label = config.label  # type: ignore[attr-defined]
                self._ensure_sync_service([config], then=lambda: self.sync_now(label))

            self.tasks.submit(
                sync_ops.save_exchange_account, self.journal, config, creds,
                self._memory_keys, serial=True, on_success=saved,
                on_error=lambda exc: dialog.show_problems(problems_of(exc)),
            )

        dialog.test_requested.connect(test)
        dialog.save_requested.connect(save)
        dialog.finished.connect(lambda _r: setattr(self, "accounts_dialog", None))
        self.accounts_dialog = dialog
        dialog.open()

    def log_position(self) -> None:
        """Show the "Log a position" dialog (opens or creates the journal first)."""
        if self.journal is None:
            self._open_journal(then=self._show_log_dialog)
        else:
            self._show_log_dialog()

    def _show_log_dialog(self) -> None:
        from desktop.dialogs.log_position import LogPositionDialog

        entry = self.session.entry
        current = (int(entry.key.split(":", 1)[1])
                   if entry is not None and entry.key.startswith("journal:") else None)
        dialog = LogPositionDialog(accounts=self._journal_summaries, current_account=current,
                                   parent=self)
        dialog.submitted.connect(lambda req: self._store_position(dialog, req))
        dialog.finished.connect(lambda _r: setattr(self, "_log_dialog", None))
        self._log_dialog = dialog
        dialog.open()

    def _watch_journal(self) -> None:
        """Timer: did another process write to the journal (the CLI beside the app)? If
        so, show the new content. One PRAGMA on a read-only WAL connection (readers never
        wait for writers), so it runs here rather than flashing the busy label."""
        journal = self.journal
        if journal is None or self._closing or journal.info.damage:
            return
        try:
            changed = journal.outside_change()
        except CrossMarginError:
            return
        if changed:
            self._journal_changed()
            self.statusBar().showMessage(
                "The journal was changed outside this window; showing the new content", 6000)

    def _journal_changed(self) -> None:
        """A journal write from the Journal tab: re-evaluate the account, recount the list."""
        entry = self.session.entry
        if entry is not None and entry.key.startswith("journal:"):
            self._load_journal_entry(entry)
        self.refresh_journal_accounts()

    def edit_position(self, position_id: str) -> None:
        """Edit a journal position's notes and plan (from the Positions tab)."""
        if not position_id.isdigit() or self._journal_account_id() is None:
            return
        self.tabs.setCurrentWidget(self.journal_view)
        self.journal_view.select_position(int(position_id))
        self.journal_view.edit_selected()

    def open_in_journal(self, position_id: str) -> None:
        """Show a position of the Positions tab in the Journal tab."""
        self.tabs.setCurrentWidget(self.journal_view)
        if position_id.isdigit():
            self.journal_view.select_position(int(position_id))

    def _store_position(self, dialog: LogPositionDialog, request: LogPositionRequest) -> None:
        journal = self.journal
        if journal is None:
            dialog.show_problems(["The journal is not open."])
            return
        from desktop import journal_ops

        def stored(account_id: int) -> None:
            dialog.accept()
            key = f"journal:{account_id}"
            if self.session.entry is not None and self.session.entry.key == key:
                self.session.entry = None  # reload the same account with the new position
            self.refresh_journal_accounts(select=key)
            self.statusBar().showMessage(f"Logged {request.symbol} {request.side}", 5000)

        self.tasks.submit(journal_ops.log_position, journal, request, serial=True,
                          on_success=stored,
                          on_error=lambda exc: dialog.show_problems(problems_of(exc)))

    def refresh(self) -> None:
        entry = self.session.entry
        if entry is None:
            return
        if entry.kind is AccountKind.SCENARIO and entry.path is not None:
            self._load_scenario_entry(entry)
        elif entry.kind is AccountKind.EXCHANGE and self.sync_now(entry.label):
            self.statusBar().showMessage(f"Syncing {entry.label}…", 5000)
            return
        elif entry.key.startswith("journal:"):
            self._load_journal_entry(entry)
        else:
            self.session.refresh()
        self.statusBar().showMessage("Refreshed", 2000)

    def _show_banner(self) -> None:
        self.settings.setValue("window/banner_hidden", False)
        self.banner.setVisible(True)

    # ------------------------------------------------------------------ dialogs
    def show_about(self) -> None:
        dialog = AboutDialog(icon=self.services.icon, parent=self)
        dialog.exec()

    def edit_preferences(self) -> None:
        dialog = PreferencesDialog(self.prefs, parent=self)
        if dialog.exec():
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, prefs: Preferences) -> None:
        """Use and store new preferences (from the Preferences dialog)."""
        theme_changed = prefs.theme != self.prefs.theme
        prefs.save(self.settings)
        self._use_preferences(prefs)
        app = QApplication.instance()
        applier = getattr(app, "crossmargin_apply_theme", None)
        if theme_changed and callable(applier):
            applier(prefs.theme)

    def _use_preferences(self, prefs: Preferences) -> None:
        self.prefs = prefs
        self.services.preferences = prefs
        self.alert.set_threshold(prefs.margin_alert)
        self.figures.set_alert(prefs.margin_alert)
        self.dashboard.set_alert(float(prefs.margin_alert))
        if self.feed is not None:
            self.feed.set_interval(prefs.feed_interval_ms)
        if self.session.snapshot is not None:
            self.figures.set_risk(self.session.snapshot.risk)

    def apply_theme(self, theme: Theme) -> None:
        """Recolour the parts Qt's palette does not reach (charts, delegates, table colours)."""
        self.theme = theme
        self.account_delegate.set_theme(theme)
        self.accounts_view.viewport().update()
        self.dashboard.apply_theme(theme)
        self.positions.apply_theme(theme)
        self.journal_view.apply_theme(theme)
        apply = getattr(self.whatif_panel, "set_theme", None)
        if callable(apply):
            apply(theme)

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # ------------------------------------------------------------------ UI state
    def _restore_ui_state(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        for key, splitter in (
            ("window/splitter", self.splitter),
            ("window/dashboard_splitter", self.dashboard.splitter),
            ("window/dashboard_bottom", self.dashboard.bottom_splitter),
        ):
            value = s.value(key)
            if isinstance(value, QByteArray) and not value.isEmpty():
                splitter.restoreState(value)
        header = s.value("positions/header")
        if isinstance(header, QByteArray) and not header.isEmpty():
            self.positions.table.horizontalHeader().restoreState(header)
            self.positions.keep_column_widths()
        try:
            tab = int(s.value("window/tab", 0))
        except (TypeError, ValueError):
            tab = 0
        if 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)
        chart_range = str(s.value("dashboard/range", "All"))
        if chart_range in self.dashboard.equity_chart.range_buttons:
            self.dashboard.equity_chart.set_range(chart_range)

    def save_ui_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/dashboard_splitter", self.dashboard.splitter.saveState())
        s.setValue("window/dashboard_bottom", self.dashboard.bottom_splitter.saveState())
        s.setValue("positions/header", self.positions.table.horizontalHeader().saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        s.setValue("dashboard/range", self.dashboard.equity_chart.current_range())
        if self.session.entry is not None:
            s.setValue("window/account", self.session.entry.key)
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_ui_state()
        self._stop_feed()
        self._clock.stop()
        self._journal_watch.stop()
        self._closing = True
        if self.mark_feed is not None:
            self.mark_feed.stop()
            self.mark_feed = None
        if self.sync_service is not None:
            self.sync_service.stop(wait=True, cancel=True)  # before the journal closes
            self.sync_service = None
        if self.journal is not None and self.services.journal is None:
            # on the serial journal worker, after every queued write: the journal's
            # connections are used from that queue only
            self.tasks.submit(self.journal.close, serial=True)
            self.tasks.wait(5000)
            self.journal = None
        super().closeEvent(event)
