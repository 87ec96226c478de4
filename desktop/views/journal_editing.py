"""The Journal tab's editing actions: edit, close and add fills to a position, edit and
delete fills, each through its dialog and as one undoable step (a command of
:mod:`desktop.views.journal_commands` on the tab's undo stack).

A mixin of :class:`~desktop.views.journal.JournalView`, which owns the tables, the task
queue and the undo stack named below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QMenu, QTableView, QTabWidget

from desktop.dialogs.close_position import AddFillDialog, ClosePositionDialog
from desktop.dialogs.edit_position import EditPositionDialog
from desktop.dialogs.journal_dialogs import EditFillDialog
from desktop.errors import problems_of
from desktop.tasks import TaskRunner
from desktop.views.journal_commands import (
    AddFillCommand,
    ClosePositionCommand,
    DeleteFillCommand,
    EditCommand,
    EditFillCommand,
)
from desktop.views.journal_commands import journal_ops as _ops

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from crossmargin.storage import Fill, Journal, JournalPosition
    from desktop.models.journal import FillsTableModel, JournalPositionsTableModel
    from desktop.views.journal import JournalView


#: How the Edit menu names a changed field ("Undo Edit size, entry").
FIELD_WORDS = {"opening_size": "size", "entry_price": "entry", "opened_at": "open time",
               "stop_price": "stop", "target_price": "target", "margin_mode": "margin mode",
               "isolated_margin": "isolated margin"}



class JournalEditing:
    """Editing actions of the Journal tab (see the module docstring)."""

    # owned by JournalView
    _journal: Journal | None
    _tasks: TaskRunner
    problem: SignalInstance
    table: QTableView
    tables: QTabWidget
    fills_table: QTableView
    model: JournalPositionsTableModel
    fills_model: FillsTableModel
    undo_stack: QUndoStack
    undo_action: QAction
    position_dialog: EditPositionDialog | None
    close_dialog: ClosePositionDialog | AddFillDialog | None
    fill_dialog: EditFillDialog | None
    positions_menu: QMenu | None

    def _view(self) -> JournalView:
        return cast("JournalView", self)

    def selected_position(self) -> JournalPosition | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.position_at(index.row())

    def edit_selected(self) -> None:
        """Edit the selected row of the visible table (a position or a fill)."""
        if self.tables.currentWidget() is self.fills_table:
            self.edit_selected_fill()
            return
        position = self.selected_position()
        if position is None or self._journal is None:
            return
        pid = int(position.id)

        def show(found: tuple[Fill | None, str]) -> None:
            fresh = self.model.position_at(self.model.row_of(pid)) \
                if self.model.row_of(pid) >= 0 else position
            self.open_edit_dialog(fresh, *found)

        # after any write still queued, so the dialog shows what is stored
        self._tasks.submit(_ops().opening_fill, self._journal, pid, serial=True,
                           on_success=show,
                           on_error=lambda exc: self.problem.emit(
                               "The position could not be read.", problems_of(exc)))

    def open_edit_dialog(self, position: JournalPosition, opening: Fill | None = None,
                         reason: str = "") -> EditPositionDialog:
        """The edit dialog for ``position`` (window-modal, non-blocking); Save stores the
        changes as one undoable step."""
        dialog = EditPositionDialog(position, opening, reason, parent=self._view())
        pid = int(position.id)

        def finished(result: int) -> None:
            self.position_dialog = None
            if result and dialog.changes():
                self.apply_edit(pid, dialog.changes())

        dialog.finished.connect(finished)
        self.position_dialog = dialog
        dialog.open()
        return dialog

    def close_selected(self) -> ClosePositionDialog | None:
        """Close the selected open position at a price and time (all or part; undoable)."""
        position = self.selected_position()
        if position is None or not position.is_open:
            return None
        dialog = ClosePositionDialog(position, mark=position.mark_price, parent=self._view())
        pid = int(position.id)

        def finished(result: int) -> None:
            self.close_dialog = None
            if result:
                self.apply_close(pid, dialog.values())

        dialog.finished.connect(finished)
        self.close_dialog = dialog
        dialog.open()
        return dialog

    def add_fill_selected(self) -> AddFillDialog | None:
        """Add a fill (scale in or reduce) to the selected position (undoable)."""
        position = self.selected_position()
        if position is None:
            return None
        dialog = AddFillDialog(position, parent=self._view())
        pid = int(position.id)

        def finished(result: int) -> None:
            self.close_dialog = None
            if result:
                self.undo_stack.push(AddFillCommand(self._view(), pid, dialog.values()))

        dialog.finished.connect(finished)
        self.close_dialog = dialog
        dialog.open()
        return dialog

    def apply_close(self, position_id: int, values: dict[str, Any]) -> None:
        """Store a close as one undoable step."""
        self.undo_stack.push(ClosePositionCommand(self._view(), position_id, values))

    def _positions_menu(self, pos: Any) -> None:
        """Right click on a position: edit, close, show its fills."""
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.setCurrentIndex(index)
        position = self.selected_position()
        if position is None:
            return
        menu = QMenu(self.table)
        menu.addAction("Edit position…", self.edit_selected)
        close = menu.addAction("Close position…", self.close_selected)
        close.setEnabled(position.is_open)
        menu.addAction("Add a fill…", self.add_fill_selected)
        menu.addSeparator()
        menu.addAction(self.undo_action)
        menu.popup(self.table.viewport().mapToGlobal(pos))
        self.positions_menu = menu

    def apply_edit(self, position_id: int, changes: dict[str, Any]) -> None:
        """Store ``changes`` to a position as one undoable step."""
        names = ", ".join(FIELD_WORDS.get(n, n) for n in sorted(changes))
        self.undo_stack.push(EditCommand(self._view(), position_id, changes, f"Edit {names}"))

    def select_position(self, position_id: int) -> None:
        self.tables.setCurrentWidget(self.table)
        row = self.model.row_of(position_id)
        if row >= 0:
            self.table.setCurrentIndex(self.model.index(row, 0))

    # -- fills --------------------------------------------------------------------
    def selected_fill(self) -> Fill | None:
        index = self.fills_table.currentIndex()
        if not index.isValid():
            return None
        return self.fills_model.fill_at(index.row())

    def edit_selected_fill(self) -> EditFillDialog | None:
        """Open the edit/delete dialog for the selected fill (window-modal, non-blocking)."""
        fill = self.selected_fill()
        if fill is None:
            return None
        dialog = EditFillDialog(fill, parent=self._view())
        fill_id = int(fill.id)

        def finished(result: int) -> None:
            self.fill_dialog = None
            if not result:
                return
            if dialog.action == "delete":
                self.delete_fill(fill_id)
            elif dialog.changes():
                self.apply_fill_edit(fill_id, dialog.changes())

        dialog.finished.connect(finished)
        self.fill_dialog = dialog
        dialog.open()
        return dialog

    def delete_selected_fill(self) -> None:
        """Delete the selected fill (Delete key; undo with Ctrl+Z)."""
        fill = self.selected_fill()
        if fill is not None:
            self.delete_fill(int(fill.id))

    def apply_fill_edit(self, fill_id: int, changes: dict[str, Any]) -> None:
        """Store ``changes`` to a fill as one undoable step (positions are re-derived)."""
        self.undo_stack.push(EditFillCommand(self._view(), fill_id, changes))

    def delete_fill(self, fill_id: int) -> None:
        """Delete a fill as one undoable step."""
        self.undo_stack.push(DeleteFillCommand(self._view(), fill_id))
