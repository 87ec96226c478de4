"""The journal in the app: opening it in the background, restoring a backup, reading
its accounts and an account's book, logging a position, and noticing writes made by
another process (the CLI beside the app).

Every call on the journal runs on the task runner's serial queue: the journal's
connections are used from that queue only, and writes keep their order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from crossmargin import paths
from crossmargin.errors import CrossMarginError
from crossmargin.storage.db import JournalCorruptError
from desktop.errors import problems_of
from desktop.services import Services
from desktop.session import AccountEntry

if TYPE_CHECKING:  # the journal (SQLAlchemy) loads on first use, not at start-up
    from crossmargin.storage import Journal
    from crossmargin.storage.backups import BackupInfo
    from desktop.dialogs.log_position import LogPositionDialog
    from desktop.dialogs.restore_backup import RestoreBackupDialog
    from desktop.journal_ops import AccountSummary, LogPositionRequest

#: How often the window checks for writes by other processes (ms).
JOURNAL_WATCH_MS = 2000


class JournalController(QObject):
    """Owns the open journal of the window.

    Signals: ``accounts_read(list[AccountSummary])``; ``book_loaded(entry, AccountBook)``
    and ``book_failed(entry, exc)`` for :meth:`load`; ``changed_outside()`` (another
    process wrote); ``problem(level, text, problems)`` and ``notice(text)`` for the
    message bar; ``position_logged(account_id, text)``; ``open_failed()``.
    """

    accounts_read = Signal(object)
    book_loaded = Signal(object, object)
    book_failed = Signal(object, object)
    changed_outside = Signal()
    problem = Signal(str, str, object)
    notice = Signal(str)
    position_logged = Signal(int, str)
    open_failed = Signal()

    def __init__(self, *, services: Services, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self._services = services
        self._tasks = services.tasks
        self._dialog_parent = dialog_parent
        self.journal: Journal | None = services.journal
        self._owned = services.journal is None  # opened here: closed here
        self.summaries: list[AccountSummary] = []
        self.log_dialog: LogPositionDialog | None = None
        self.restore_dialog: RestoreBackupDialog | None = None
        self._demo: tuple[Journal, int] | None = None  # the demo's sample journal
        self._demo_building = False
        self._demo_waiting: list[Callable[[Journal, int], None]] = []
        self._closing = False
        self._watch = QTimer(self)  # outside writes (the CLI beside the app)
        self._watch.setInterval(JOURNAL_WATCH_MS)
        self._watch.timeout.connect(self.check_outside)
        self._watch.start()

    @property
    def path(self) -> Path:
        return self._services.journal_path or paths.default_journal_path()

    @property
    def expected(self) -> bool:
        """A journal is open or will be (the file exists)."""
        return self.journal is not None or self.path.exists()

    def start(self) -> None:
        """Open the journal in the background if there is one (never creates it here)."""
        if self.journal is not None:
            self.refresh_accounts()
        elif self.path.exists():
            self.ensure_open(then=self.refresh_accounts)

    def ensure_open(self, then: Callable[[], None]) -> None:
        """Run ``then`` once the journal is open (opened, or created, in the background)."""
        if self.journal is not None:
            then()
            return
        from desktop.journal_ops import open_journal

        def opened(journal: Journal) -> None:
            self.journal = journal
            then()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, JournalCorruptError):
                self.problem.emit(
                    "error", "The journal is damaged. CrossMargin has not read from it or "
                    "changed it. Restore a backup from before the damage (File ▸ Restore the "
                    "journal from a backup…).", list(exc.problems[:3]),
                )
                self.restore_backup(reason=f"The journal {self.path} is damaged.")
            else:
                self.problem.emit("error", f"The journal at {self.path} could not be opened.",
                                  problems_of(exc))
            self.open_failed.emit()

        self._tasks.submit(open_journal, self.path, serial=True,
                           on_success=opened, on_error=failed)

    def restore_backup(self, reason: str = "") -> None:
        """List the journal's backups (checked on a worker), then restore the chosen one."""
        from desktop.dialogs.restore_backup import RestoreBackupDialog
        from desktop.journal_ops import list_journal_backups, restore_journal

        def listed(backups: list[BackupInfo]) -> None:
            if self._closing:
                return
            dialog = RestoreBackupDialog(backups, reason=reason, parent=self._dialog_parent)
            self.restore_dialog = dialog
            chosen: list[str] = [""]

            def restored(result: tuple[Journal, str]) -> None:
                journal, saved = result
                self.journal = journal
                dialog.accept()
                self.restore_dialog = None
                self.notice.emit(f"The journal was restored from {chosen[0]}. Its content "
                                 f"before is kept at {saved}.")
                self.refresh_accounts()

            def requested(path: Path) -> None:
                chosen[0] = path.name
                self._tasks.submit(
                    restore_journal, self.path, self.journal, path, serial=True,
                    on_success=restored,
                    on_error=lambda exc: dialog.show_problem("\n".join(problems_of(exc))))

            dialog.restore_requested.connect(requested)
            dialog.finished.connect(lambda _r: setattr(self, "restore_dialog", None))
            dialog.open()

        self._tasks.submit(list_journal_backups, self.path, on_success=listed)

    def refresh_accounts(self) -> None:
        """Re-read the journal's accounts (``accounts_read`` when they arrive)."""
        if self.journal is None:
            return
        from desktop.journal_ops import list_accounts

        def arrived(summaries: list[AccountSummary]) -> None:
            self.summaries = summaries
            self.accounts_read.emit(summaries)

        self._tasks.submit(list_accounts, self.journal, serial=True, key="journal.accounts",
                           on_success=arrived)

    def load(self, entry: AccountEntry) -> None:
        """Read the book of a journal row (``book_loaded`` / ``book_failed``)."""
        journal, account_id = self.journal, entry.journal_id
        if journal is None or account_id is None:
            return
        from desktop.journal_ops import load_account

        self._tasks.submit(load_account, journal, account_id, serial=True, key="journal.load",
                           on_success=lambda book: self.book_loaded.emit(entry, book),
                           on_error=lambda exc: self.book_failed.emit(entry, exc))

    def demo(self, then: Callable[[Journal, int], None]) -> None:
        """The demo's sample journal and its account (built once per session on the
        serial worker, in a temporary folder: see :mod:`desktop.demo_journal`)."""
        if self._demo is not None:
            then(*self._demo)
            return
        self._demo_waiting.append(then)
        if self._demo_building or self._closing:
            return
        self._demo_building = True
        from desktop import demo_journal

        def built(result: tuple[Journal, int]) -> None:
            self._demo_building = False
            if self._closing:
                self._tasks.submit(demo_journal.discard, result[0], serial=True)
                return
            self._demo = result
            waiting, self._demo_waiting = self._demo_waiting, []
            for callback in waiting:
                callback(*result)

        def failed(exc: BaseException) -> None:
            self._demo_building = False
            self._demo_waiting.clear()
            self.problem.emit("warning", "The demo's sample journal could not be built.",
                              problems_of(exc))

        self._tasks.submit(demo_journal.build, serial=True, on_success=built, on_error=failed)

    def check_outside(self) -> None:
        """Timer: did another process write to the journal? One PRAGMA on a read-only
        WAL connection (readers never wait for writers), so it runs on this thread."""
        journal = self.journal
        if journal is None or self._closing or journal.info.damage:
            return
        try:
            changed = journal.outside_change()
        except CrossMarginError:
            return
        if changed:
            self.changed_outside.emit()

    # ------------------------------------------------------------------ logging a position
    def log_position(self, current_account: int | None) -> None:
        """Show the "Log a position" dialog (opens or creates the journal first)."""
        self.ensure_open(then=lambda: self._show_log_dialog(current_account))

    def _show_log_dialog(self, current_account: int | None) -> None:
        from desktop.dialogs.log_position import LogPositionDialog

        dialog = LogPositionDialog(accounts=self.summaries, current_account=current_account,
                                   parent=self._dialog_parent)
        dialog.submitted.connect(lambda req: self._store_position(dialog, req))
        dialog.finished.connect(lambda _r: setattr(self, "log_dialog", None))
        self.log_dialog = dialog
        dialog.open()

    def _store_position(self, dialog: LogPositionDialog, request: LogPositionRequest) -> None:
        journal = self.journal
        if journal is None:
            dialog.show_problems(["The journal is not open."])
            return
        from desktop import journal_ops

        def stored(account_id: int) -> None:
            dialog.accept()
            self.position_logged.emit(account_id, f"Logged {request.symbol} {request.side}")

        self._tasks.submit(journal_ops.log_position, journal, request, serial=True,
                           on_success=stored,
                           on_error=lambda exc: dialog.show_problems(problems_of(exc)))

    def close(self) -> None:
        """Close the journal this controller opened (and throw the demo's sample journal
        away), on the serial journal worker after every queued write: the journals'
        connections are used from that queue only."""
        self._closing = True
        self._watch.stop()
        pending = False
        if self._demo is not None:
            from desktop import demo_journal

            self._tasks.submit(demo_journal.discard, self._demo[0], serial=True)
            self._demo, pending = None, True
        if self.journal is not None and self._owned:
            self._tasks.submit(self.journal.close, serial=True)
            self.journal, pending = None, True
        if pending:
            self._tasks.wait(5000)


__all__ = ["JOURNAL_WATCH_MS", "JournalController"]
