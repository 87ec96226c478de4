"""Restore the journal from a backup: the backups listed newest first, each checked.

The dialog lists; it never restores by itself. It emits ``restore_requested(Path)`` and
the main window runs the restore on the serial worker (the live journal is saved first
and only replaced once the backup has passed every check; see
:meth:`crossmargin.storage.Journal.restore`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crossmargin.storage.backups import BackupInfo


def describe(info: BackupInfo) -> str:
    """One line: local time written, size, state."""
    when = info.written_at.astimezone().strftime("%Y-%m-%d %H:%M")
    state = "sound" if info.restorable else (info.problem or "cannot be restored")
    return f"{when}   {info.size / 1024:,.0f} KiB   {state}   {info.path.name}"


class RestoreBackupDialog(QDialog):
    """Pick a backup to restore. ``reason``: why it is shown (e.g. the journal is damaged)."""

    restore_requested = Signal(object)  # Path

    def __init__(self, backups: Sequence[BackupInfo], *, reason: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Restore the journal from a backup")
        self.setMinimumWidth(640)
        self.reason = QLabel(reason)
        self.reason.setWordWrap(True)
        self.reason.setVisible(bool(reason))
        intro = QLabel(
            "Choose a backup from before the problem. The journal as it is now is kept "
            "aside first, and nothing is replaced unless the backup passes every check."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        for info in backups:
            item = QListWidgetItem(describe(info))
            item.setData(Qt.ItemDataRole.UserRole, info.path)
            item.setToolTip(str(info.path))
            if not info.restorable:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(item)
        self.empty = QLabel("No backups yet. They are made by File ▸ Back up the journal, "
                            "before every upgrade and before every restore.")
        self.empty.setWordWrap(True)
        self.empty.setVisible(not backups)
        self.problem = QLabel("")
        self.problem.setObjectName("InlineError")
        self.problem.setWordWrap(True)
        self.problem.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.restore_button = self.buttons.addButton(
            "Restore", QDialogButtonBox.ButtonRole.AcceptRole)
        self.restore_button.setEnabled(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemDoubleClicked.connect(lambda _item: self.submit())
        layout = QVBoxLayout(self)
        layout.addWidget(self.reason)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        first = next((i for i in range(self.list.count())
                      if self.list.item(i).flags() & Qt.ItemFlag.ItemIsEnabled), None)
        if first is not None:
            self.list.setCurrentRow(first)

    def _on_current(self, item: QListWidgetItem | None, _previous: object) -> None:
        self.restore_button.setEnabled(
            item is not None and bool(item.flags() & Qt.ItemFlag.ItemIsEnabled))

    def chosen(self) -> Path | None:
        item = self.list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        return Path(item.data(Qt.ItemDataRole.UserRole))

    def submit(self) -> None:
        path = self.chosen()
        if path is None:
            return
        self.problem.setVisible(False)
        self.restore_button.setEnabled(False)  # until the worker answers
        self.restore_requested.emit(path)

    def show_problem(self, text: str) -> None:
        """The restore was refused: say why, keep the dialog open."""
        self.problem.setText(text)
        self.problem.setVisible(True)
        self._on_current(self.list.currentItem(), None)
