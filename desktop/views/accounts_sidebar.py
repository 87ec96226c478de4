"""The accounts list on the left of the main window (demo, journal and exchange
accounts, scenario files), with each row's status."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QListView, QVBoxLayout, QWidget

from desktop.models.accounts import ENTRY_ROLE, AccountDelegate, AccountsListModel
from desktop.session import AccountEntry, EntryKind, EntryStatus, journal_key
from desktop.theme import Theme

if TYPE_CHECKING:
    from crossmargin.domain import Account
    from desktop.journal_ops import AccountSummary


def journal_entry(summary: AccountSummary,
                  status_of: Callable[[Account, str], tuple[EntryStatus, str]]) -> AccountEntry:
    """The row of a journal account; an exchange account's status comes from ``status_of``
    (its sync status: synced, stale since, needs attention)."""
    acct = summary.account
    n = summary.open_positions
    opened = f"{n} open position{'s' if n != 1 else ''}"
    if str(acct.kind) == "exchange":
        status, text = status_of(acct, opened)
        return AccountEntry(journal_key(acct.id), EntryKind.EXCHANGE, acct.label, status, text)
    return AccountEntry(journal_key(acct.id), EntryKind.JOURNAL, acct.label,
                        EntryStatus.STATIC, f"Journal · {opened}")


class AccountsSidebar(QWidget):
    """``entry_selected(AccountEntry)`` when the user (or :meth:`select`) picks a row."""

    entry_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = AccountsListModel(self)
        self.view = QListView()
        self.view.setObjectName("AccountsList")
        self.view.setModel(self.model)
        self.delegate = AccountDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setMouseTracking(True)
        self.view.setUniformItemSizes(True)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)
        title = QLabel("ACCOUNTS")
        title.setObjectName("SidebarTitle")
        self.setMinimumWidth(170)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 0, 8)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.view, 1)

    def current(self) -> AccountEntry | None:
        entry = self.view.currentIndex().data(ENTRY_ROLE)
        return entry if isinstance(entry, AccountEntry) else None

    def set_entries(self, entries: Sequence[AccountEntry], keep: str | None) -> None:
        """Show ``entries``, keeping row ``keep`` selected without a new selection signal
        (its book may still be loading)."""
        blocker = self.view.selectionModel().blockSignals(True)
        self.model.set_entries(entries)
        row = self.model.row_of(keep) if keep is not None else -1
        if row >= 0:
            self.view.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.view.selectionModel().blockSignals(blocker)

    def scenarios(self) -> list[AccountEntry]:
        return [e for e in self.model.entries() if e.kind is EntryKind.SCENARIO]

    def user_accounts(self) -> int:
        """Rows that are not the demo or a bundled example."""
        from desktop.controllers.scenarios import is_bundled

        return sum(1 for e in self.model.entries()
                   if e.kind is not EntryKind.DEMO and not is_bundled(e))

    def has(self, key: str) -> bool:
        return self.model.row_of(key) >= 0

    def select(self, key: str) -> None:
        row = self.model.row_of(key)
        if row >= 0:
            self.view.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def set_theme(self, theme: Theme) -> None:
        self.delegate.set_theme(theme)
        self.view.viewport().update()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = current.data(ENTRY_ROLE) if current.isValid() else None
        if isinstance(entry, AccountEntry):
            self.entry_selected.emit(entry)


class CollapseWhenNarrow(QObject):
    """Hides the accounts list while ``window`` is narrower than ``below`` px and shows it
    again when it widens, through ``action`` (View ▸ Show the accounts list, Ctrl+B), so
    the tabs keep a usable width from 1024 px up. Once the user toggles the list
    themselves, their choice stands and the width no longer decides."""

    def __init__(self, window: QWidget, action: QAction, below: int = 1180) -> None:
        super().__init__(window)
        self._action = action
        self._below = below
        self.user_chose = False
        action.triggered.connect(self._chosen)
        window.installEventFilter(self)

    def _chosen(self, _checked: bool) -> None:
        self.user_chose = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and not self.user_chose \
                and isinstance(watched, QWidget):
            wide = watched.width() >= self._below
            if self._action.isChecked() != wide:
                self._action.setChecked(wide)
        return False
