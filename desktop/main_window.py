"""The main window: accounts on the left, key figures on top, tabs below.

Only lays out, routes and shows: numbers come from :class:`AccountSession` (which asks
the engine on a worker); the journal, exchange sync, live marks and scenario files are
controllers (:mod:`desktop.controllers`) that talk to the window through signals; every
problem is shown inline in the message bar (never a traceback or a popup storm). UI
state is kept in the :class:`QSettings` INI given by :class:`Services`
(:mod:`desktop.ui_state`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from crossmargin.domain import AccountState
from crossmargin.storage.records import OpChanges
from crossmargin.tier_snapshots import exchange_name
from desktop import ui_state
from desktop.controllers.alerts import RiskAlerts
from desktop.controllers.demo import DemoAccount
from desktop.controllers.journal import JournalController
from desktop.controllers.marks import MarksController
from desktop.controllers.scenarios import ScenarioFiles
from desktop.controllers.sync import SyncController
from desktop.demo import DEMO_LABEL
from desktop.dialogs.preferences import PreferencesDialog
from desktop.errors import problems_of
from desktop.menus import WindowActions, build_menus
from desktop.services import Services
from desktop.session import (
    AccountEntry,
    AccountSession,
    EntryKind,
    EntryStatus,
    RiskSnapshot,
    journal_key,
)
from desktop.settings import Preferences
from desktop.theme import LIGHT, Theme
from desktop.views.accounts_sidebar import AccountsSidebar, journal_entry
from desktop.views.dashboard import DashboardView
from desktop.views.journal import JournalView
from desktop.views.positions import PositionsView
from desktop.whatif.tab import WhatIfTab
from desktop.widgets.account_header import AccountHeader
from desktop.widgets.first_run import FirstRunBanner
from desktop.widgets.key_figures import KeyFiguresBar
from desktop.widgets.message_bar import MessageBar
from desktop.widgets.status_line import StatusLine

if TYPE_CHECKING:  # journal (SQLAlchemy) and the What-if tab load on first use
    from crossmargin.storage import Journal
    from desktop.journal_ops import AccountBook, AccountSummary
    from desktop.whatif.panel import WhatIfPanel

DEMO_KEY = "demo"


class MainWindow(WindowActions, QMainWindow):
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
        self._pending_key: str | None = None
        self._problem_key: str | None = None
        self.setWindowTitle("CrossMargin")
        if not services.icon.isNull():
            self.setWindowIcon(services.icon)
        self.setMinimumSize(1000, 640)

        self.journals = JournalController(services=services, dialog_parent=self)
        self.sync = SyncController(tasks=self.tasks, journal=lambda: self.journals.journal,
                                   dialog_parent=self)
        self.marks = MarksController(services=services, session=self.session, sync=self.sync,
                                     journal=lambda: self.journals.journal,
                                     summaries=lambda: self.journals.summaries, parent=self)
        self.scenarios = ScenarioFiles(tasks=self.tasks, settings=self.settings,
                                       session=self.session, dialog_parent=self)
        self.sidebar = AccountsSidebar()
        self.accounts_model, self.accounts_view = self.sidebar.model, self.sidebar.view
        self._build_content()
        self.demo = DemoAccount(services=services, session=self.session, marks=self.marks,
                                journals=self.journals, journal_view=self.journal_view,
                                parent=self)
        build_menus(self)
        self.status_line = StatusLine(self.statusBar(), marks_text=self.marks.describe)
        self.marks_label, self.sync_progress = self.status_line.marks, self.status_line.sync
        self.alerts = RiskAlerts(self.prefs, services.icon, self)
        self._connect()
        self._populate_accounts()
        ui_state.restore(self)
        self._use_preferences(self.prefs)
        key = DEMO_KEY if start_demo else str(self.settings.value("window/account", DEMO_KEY))
        if key.startswith("journal:") and self.journals.expected:
            self._pending_key = key  # shown once the journal's accounts are read
        else:
            self.select_account(key if self.sidebar.has(key) else DEMO_KEY)
        self.journals.start()

    @property
    def journal(self) -> Journal | None:
        return self.journals.journal

    # ------------------------------------------------------------------ building
    def _build_content(self) -> None:
        self.header = AccountHeader()
        self.figures = KeyFiguresBar()
        self.message_bar = MessageBar()
        self.banner = FirstRunBanner()
        self.banner.open_scenario_clicked.connect(self.scenarios.open_dialog)
        self.banner.log_position_clicked.connect(self.log_position)
        self.banner.add_account_clicked.connect(self.add_exchange_account)
        self.banner.dismissed.connect(lambda: self.settings.setValue("window/banner_hidden", True))

        self.tabs = QTabWidget()
        self.dashboard = DashboardView(session=self.session)
        self.positions = PositionsView(session=self.session)
        self.tabs.addTab(self.dashboard, "Dashboard")
        self.tabs.addTab(self.positions, "Positions")
        self.whatif_available = self.services.whatif is not None
        self.whatif_tab: WhatIfTab | None = None
        if self.services.whatif is not None:  # the panel is built when first needed
            self.whatif_tab = WhatIfTab(self.services.whatif, self.tasks)
            self.tabs.addTab(self.whatif_tab, "What-if")
            self.tabs.currentChanged.connect(self._maybe_build_whatif)
        self.journal_view = JournalView(tasks=self.tasks)
        self.tabs.addTab(self.journal_view, "Journal")
        self.positions.set_capabilities(can_edit=False, has_journal=False,
                                        has_whatif=self.whatif_available)

        right = QWidget()
        layout = QVBoxLayout(right)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        for widget in (self.header, self.figures, self.message_bar, self.banner):
            layout.addWidget(widget)
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

    def _connect(self) -> None:
        """Route the controllers' and views' signals (the window's one wiring diagram)."""
        show = self.message_bar.show_message
        status = self.statusBar().showMessage
        self.session.snapshot_ready.connect(self._on_snapshot)
        self.alerts.alerted.connect(lambda text: show("warning", text))
        self.alerts.unnotified.connect(lambda text: status(text, 15_000))  # no tray here
        self.alerts.show_requested.connect(self._raise)
        self.alerts.quit_requested.connect(self.close)
        self.session.state_changed.connect(self._on_state_changed)
        self.session.failed.connect(
            lambda text: show("error", "The engine rejected this book.", [text]))
        self.tasks.task_failed.connect(
            lambda text: show("error", "A background task failed.", [text]))
        self.tasks.busy_changed.connect(self.status_line.set_busy)

        self.sidebar.entry_selected.connect(self._on_account_changed)
        self.journals.accounts_read.connect(self._accounts_read)
        self.journals.book_loaded.connect(self._show_journal_book)
        self.journals.book_failed.connect(self._journal_book_failed)
        self.journals.changed_outside.connect(self._journal_changed_outside)
        self.journals.problem.connect(show)
        self.journals.notice.connect(lambda text: show("info", text, timeout_ms=15_000))
        self.journals.position_logged.connect(self._position_logged)
        self.journals.open_failed.connect(self._journal_open_failed)

        self.sync.statuses_changed.connect(self._populate_accounts)
        self.sync.ready.connect(self.marks.watch_current)
        self.sync.account_synced.connect(self._account_synced)
        self.sync.message.connect(status)
        self.sync.progress.connect(self.status_line.set_syncing)
        self.sync.locked_changed.connect(self.unlock_action.setEnabled)
        self.sync.account_added.connect(self._exchange_account_added)
        self.marks.changed.connect(self._update_marks_label)

        self.scenarios.opened.connect(self._scenario_opened)
        self.scenarios.loaded.connect(self._show_scenario)
        self.scenarios.saved.connect(self.accounts_model.upsert)
        self.scenarios.saved.connect(lambda e: show("info", f"Saved {e.path}", timeout_ms=6000))
        self.scenarios.problem.connect(lambda text, problems: show("error", text, problems))

        self.journal_view.changed.connect(self._journal_written)
        self.tabs.currentChanged.connect(self._maybe_demo_journal)  # built when first seen
        self.journal_view.problem.connect(lambda text, problems: show("error", text, problems))
        self.journal_view.notice.connect(lambda text: show("info", text, timeout_ms=8000))
        self.journal_view.log_requested.connect(self.log_position)
        self.positions.edit_requested.connect(self.edit_position)
        self.positions.journal_requested.connect(self.open_in_journal)
        self.positions.whatif_requested.connect(self.route_whatif)

    # ------------------------------------------------------------------ the accounts list
    def _populate_accounts(self) -> None:
        entries = [AccountEntry(DEMO_KEY, EntryKind.DEMO, DEMO_LABEL, EntryStatus.LIVE,
                                "Simulated prices")]
        entries.extend(journal_entry(s, self.sync.status_of) for s in self.journals.summaries)
        known = {e.key for e in entries}
        scenarios = self.sidebar.scenarios()
        shown = {s.key for s in scenarios}
        scenarios.extend(e for e in self.scenarios.recent_entries() if e.key not in shown)
        entries.extend(e for e in scenarios if e.key not in known)
        selected = self.sidebar.current() or self.session.entry
        self.sidebar.set_entries(entries, keep=selected.key if selected is not None else None)

    def _accounts_read(self, _summaries: list[AccountSummary]) -> None:
        self._populate_accounts()
        self.sync.start()
        key, self._pending_key = self._pending_key, None
        if key is not None:
            self.select_account(key if self.sidebar.has(key) else DEMO_KEY)
        if self.sidebar.user_accounts() and self.session.entry is not None:
            self.banner.setVisible(False)

    def refresh_journal_accounts(self, select: str | None = None) -> None:
        """Re-read the journal's accounts into the list (and select ``select`` after)."""
        if select is not None:
            self._pending_key = select
        self.journals.refresh_accounts()

    def select_account(self, key: str) -> None:
        self.sidebar.select(key)

    def _on_account_changed(self, entry: AccountEntry) -> None:
        if self.session.entry is None or self.session.entry.key != entry.key:
            self._load(entry)

    def _load(self, entry: AccountEntry) -> None:
        if entry.kind is EntryKind.DEMO:
            self._load_demo(entry)
        elif entry.kind is EntryKind.SCENARIO:
            self.scenarios.load(entry)
        elif entry.journal_id is not None:
            self.journals.load(entry)

    # ------------------------------------------------------------------ showing a book
    def _show_entry(self, entry: AccountEntry, detail: str, sources: str = "") -> None:
        account_id = entry.journal_id
        if entry.kind is EntryKind.DEMO:  # its Journal tab shows sample trades, built
            self.journal_view.set_account(None, None)  # when the tab is first opened
            self._maybe_demo_journal()
        else:
            self.journal_view.set_account(self.journal, account_id, entry.label)
        self.positions.set_capabilities(
            can_edit=account_id is not None and entry.kind is EntryKind.JOURNAL,
            has_journal=account_id is not None, has_whatif=self.whatif_available,
        )
        self.header.show_entry(entry, detail, sources)
        hidden = str(self.settings.value("window/banner_hidden", False)).lower() == "true"
        self.banner.setVisible(entry.kind is EntryKind.DEMO and not hidden
                               and self.sidebar.user_accounts() == 0)
        self.figures.clear()
        self.account_loaded.emit(entry.key)

    def _maybe_demo_journal(self, *_: object) -> None:
        self.demo.show_journal(self.tabs.currentWidget() is self.journal_view)

    def _show_journal_book(self, entry: AccountEntry, book: AccountBook) -> None:
        current = self.sidebar.current()
        if current is None or current.key != entry.key:
            return  # the user moved on meanwhile
        self.marks.stop_all()
        if self._problem_key == entry.key:  # an earlier "cannot be evaluated" is moot now
            self.message_bar.dismiss()
            self._problem_key = None
        self.session.load(entry, book.state, book.history, book.snapshot)
        self.marks.watch_current()
        acct = book.account
        venue = f"{exchange_name(acct.exchange_id)} · " if acct.exchange_id else ""
        # where the numbers came from (bundled tiers and their date, default leverage,
        # entry-price marks): on hover, never hidden
        self._show_entry(entry, f"{venue}{acct.rules} rules · settles in {acct.settle}",
                         "\n".join(book.sources))

    def _journal_book_failed(self, entry: AccountEntry, exc: BaseException) -> None:
        self.marks.stop_all()
        self.session.clear_to(entry)
        self._problem_key = entry.key
        self.message_bar.show_message("warning", f"“{entry.label}” cannot be evaluated yet.",
                                      problems_of(exc))
        self._show_entry(entry, "")

    def _load_demo(self, entry: AccountEntry) -> None:
        problems = self.demo.show(entry, self.prefs.feed_interval_ms)
        if problems:
            self.message_bar.show_message(
                "error", "The demo account could not be loaded (reinstall the app to repair it).",
                problems)
        else:
            self._show_entry(entry, "Simulated live prices")

    def _show_scenario(self, entry: AccountEntry, state: AccountState) -> None:
        self.marks.stop_all()
        self.session.load(entry, state)
        self._show_entry(entry, f"Scenario file {entry.path}")

    def _on_state_changed(self, state: AccountState | None) -> None:
        if state is None:
            self.figures.clear()
            if self.whatif_tab is not None:
                self.whatif_tab.clear()
        elif self.whatif_tab is not None:
            self.whatif_tab.set_state(state)

    def _on_snapshot(self, snap: RiskSnapshot) -> None:
        risk = snap.risk
        self.figures.set_risk(risk)
        entry = self.session.entry
        if entry is not None:
            self.alerts.observe(entry, snap)
        if self.whatif_tab is not None and self.marks.live:
            self.whatif_tab.set_state(snap.state)  # the tab follows the live book

    def _update_marks_label(self) -> None:
        self.status_line.refresh_marks()

    # ------------------------------------------------------------------ what-if routing
    def _maybe_build_whatif(self, index: int) -> None:
        if self.whatif_tab is not None and self.tabs.widget(index) is self.whatif_tab:
            self.ensure_whatif_panel()

    @property
    def whatif_panel(self) -> WhatIfPanel | None:
        return self.whatif_tab.panel if self.whatif_tab is not None else None

    def ensure_whatif_panel(self) -> WhatIfPanel | None:
        """The What-if panel, built on first use and fed the current book."""
        tab = self.whatif_tab
        return tab.ensure_panel(self.session.state) if tab is not None else None

    def route_whatif(self, action: str, position_id: str, delta: Decimal | None = None) -> None:
        """Context-menu what-if (``switch``, ``close``, ``add_margin``): stage the change
        in the What-if tab and show it (see :func:`desktop.whatif.routing.stage`)."""
        snap = self.session.snapshot
        if self.whatif_tab is None or snap is None:
            return
        staged, error = self.whatif_tab.stage(snap, action, position_id, delta)
        if error:
            self.message_bar.show_message("warning", error)
        if staged:
            self.tabs.setCurrentWidget(self.whatif_tab)

    def _scenario_opened(self, entry: AccountEntry, state: AccountState) -> None:
        self.accounts_model.upsert(entry)
        self.message_bar.dismiss()
        self.session.entry = None  # force the reload below even if it was selected
        self._show_scenario(entry, state)
        self.select_account(entry.key)

    # ------------------------------------------------------------------ journal and sync
    def add_exchange_account(self) -> None:
        """Show the "Add exchange account" dialog (opens or creates the journal first)."""
        self.journals.ensure_open(then=self.sync.add_account)

    def _exchange_account_added(self, account_id: int, _label: str) -> None:
        self.banner.setVisible(False)
        self.refresh_journal_accounts(select=journal_key(account_id))

    def log_position(self) -> None:
        """Show the "Log a position" dialog (opens or creates the journal first)."""
        entry = self.session.entry
        self.journals.log_position(entry.journal_id if entry is not None else None)

    def _position_logged(self, account_id: int, text: str) -> None:
        key = journal_key(account_id)
        if self.session.entry is not None and self.session.entry.key == key:
            self.session.entry = None  # reload the same account with the new position
        self.refresh_journal_accounts(select=key)
        self.statusBar().showMessage(text, 5000)

    def _journal_open_failed(self) -> None:
        if self._pending_key is not None:
            self._pending_key = None
            self.select_account(DEMO_KEY)

    def _journal_written(self, changes: OpChanges | None = None) -> None:
        """A journal write (``changes``: what the journal says it changed; ``None`` when
        unknown, another process wrote): re-evaluate the shown account if the write
        touched it, and re-read the accounts list if its counts or names may have moved."""
        everything = changes is None or not changes.account_ids
        entry = self.session.entry
        if entry is not None and entry.journal_id is not None and (
                everything or (changes is not None and entry.journal_id in changes.account_ids)):
            self.journals.load(entry)
        if changes is None or changes.accounts or changes.fills:  # names, open counts
            self.journals.refresh_accounts()

    def _journal_changed_outside(self) -> None:
        self._journal_written(None)
        if self.tabs.currentWidget() is self.journal_view:
            self.journal_view.reload()
        self.statusBar().showMessage(
            "The journal was changed outside this window; showing the new content", 6000)

    def _account_synced(self, label: str) -> None:
        entry = self.session.entry
        if entry is not None and entry.label == label and entry.journal_id is not None:
            self.journals.load(entry)
            if self.tabs.currentWidget() is self.journal_view:
                self.journal_view.reload()
        self.journals.refresh_accounts()

    def edit_position(self, position_id: str) -> None:
        """Edit a journal position's notes and plan (from the Positions tab)."""
        entry = self.session.entry
        if not position_id.isdigit() or entry is None or entry.journal_id is None:
            return
        self.open_in_journal(position_id)
        self.journal_view.edit_selected()

    def open_in_journal(self, position_id: str) -> None:
        """Show a position of the Positions tab in the Journal tab."""
        self.tabs.setCurrentWidget(self.journal_view)
        if position_id.isdigit():
            self.journal_view.select_position(int(position_id))

    def refresh(self) -> None:
        entry = self.session.entry
        if entry is None:
            return
        if entry.kind is EntryKind.EXCHANGE and self.sync.sync_now(entry.label):
            self.statusBar().showMessage(f"Syncing {entry.label}…", 5000)
            return
        if entry.kind is EntryKind.DEMO:
            self.session.refresh()
        else:
            self._load(entry)
        self.statusBar().showMessage("Refreshed", 2000)

    # ------------------------------------------------------------------ dialogs, theme
    def edit_preferences(self) -> None:
        dialog = PreferencesDialog(self.prefs, parent=self)
        if dialog.exec():
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, prefs: Preferences) -> None:
        """Use and store new preferences (from the Preferences dialog)."""
        theme_changed = prefs.theme != self.prefs.theme
        prefs.save(self.settings)
        self._use_preferences(prefs)
        if theme_changed and self.services.themes is not None:
            self.services.themes.apply(prefs.theme)

    def _use_preferences(self, prefs: Preferences) -> None:
        self.prefs = self.services.preferences = prefs
        self.alerts.set_preferences(prefs)
        self.figures.set_alert(prefs.margin_alert)
        self.dashboard.set_alert(float(prefs.margin_alert))
        self.marks.set_interval(prefs.feed_interval_ms)
        if self.session.snapshot is not None:
            self.figures.set_risk(self.session.snapshot.risk)

    def apply_theme(self, theme: Theme) -> None:
        """Recolour the parts Qt's palette does not reach (charts, delegates, table colours)."""
        self.theme = theme
        self.sidebar.set_theme(theme)
        self.dashboard.apply_theme(theme)
        self.positions.apply_theme(theme)
        self.journal_view.apply_theme(theme)
        if self.whatif_tab is not None:
            self.whatif_tab.set_theme(theme)

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        ui_state.save(self)
        self.status_line.stop()
        self.marks.stop()
        self.sync.stop()  # before the journal closes
        self.journals.close()
        if self.services.themes is not None:
            self.services.themes.unregister(self)
        super().closeEvent(event)
