"""The demo account: the bundled book, its simulated live prices and a synthetic
history so the charts have something to show on first run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from crossmargin.domain import AccountState
from crossmargin.errors import CrossMarginError
from desktop.controllers.journal import JournalController
from desktop.controllers.marks import MarksController
from desktop.demo import History, load_demo_state, synthetic_history
from desktop.errors import problems_of
from desktop.services import Services
from desktop.session import AccountEntry, AccountSession, EntryKind, RiskSnapshot
from desktop.views.journal import JournalView

if TYPE_CHECKING:
    from crossmargin.storage import Journal


class DemoAccount(QObject):
    def __init__(self, *, services: Services, session: AccountSession,
                 marks: MarksController, journals: JournalController,
                 journal_view: JournalView, parent: QObject) -> None:
        super().__init__(parent)
        self._journals = journals
        self._journal_view = journal_view
        self._services = services
        self._session = session
        self._marks = marks
        self._state: AccountState | None = None
        self._history: History | None = None

    def show(self, entry: AccountEntry, interval_ms: int) -> list[str]:
        """Load the demo book into the session and start its prices; returns the
        problems when the bundled file cannot be read (nothing changes then)."""
        try:
            if self._state is None:
                self._state = load_demo_state(self._services.demo_path)
        except (CrossMarginError, OSError) as exc:
            return problems_of(exc)
        state = self._state
        self._marks.stop_all()
        self._session.load(entry, state, self._history)
        self._marks.simulate(state, interval_ms, self._services.demo_seed)
        if self._history is None:
            self._request_history()
        return []

    def show_journal(self, tab_shown: bool) -> None:
        """While the demo is selected, its Journal tab shows the sample journal (built on
        the serial worker the first time the tab is shown: :mod:`desktop.demo_journal`)."""
        entry = self._session.entry
        if entry is None or entry.kind is not EntryKind.DEMO or not tab_shown:
            return

        def ready(journal: Journal, account_id: int) -> None:
            current = self._session.entry
            if current is not None and current.key == entry.key:
                self._journal_view.set_account(journal, account_id,
                                               "Demo journal (sample trades)")

        self._journals.demo(ready)

    def _request_history(self) -> None:
        """Build the synthetic history around the first snapshot's equity and ratio."""
        session = self._session
        generation = session.generation
        seed = self._services.demo_seed if self._services.demo_seed is not None else 7

        def arrived(history: History) -> None:
            self._history = history
            session.set_history(history, generation)

        def with_first_snapshot(snap: RiskSnapshot) -> None:
            session.snapshot_ready.disconnect(with_first_snapshot)
            if generation != session.generation:
                return
            ratio = snap.risk.margin_ratio
            self._services.tasks.submit(
                synthetic_history, float(snap.risk.equity),
                None if ratio is None else float(ratio),
                hours=self._services.history_hours, seed=seed,
                key="demo.history", on_success=arrived)

        session.snapshot_ready.connect(with_first_snapshot)
