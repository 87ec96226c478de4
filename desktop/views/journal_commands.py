"""The Journal tab's undo commands: each journal write (an edit, a close, an added or
deleted fill) as one QUndoCommand whose redo and undo run on the serial journal worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from crossmargin.storage.records import OpChanges

if TYPE_CHECKING:
    from crossmargin.storage import Journal
    from desktop.views.journal import JournalView


def journal_ops() -> ModuleType:
    """:mod:`desktop.journal_ops`, loaded on first use (it loads the journal)."""
    from desktop import journal_ops as ops

    return ops


# Undo commands. Their writes run on the serial journal worker in submission order, and
# what undo needs (the previous values, the deleted fill, a restored fill's new id) is
# recorded there too, in a per-command memo: pressing Ctrl+Z before the write has finished
# still undoes exactly that write.


# Each returns the journal's OpChanges (None: nothing was written), which the view passes on.


def _edit_position(journal: Journal, memo: dict[str, Any], position_id: int,
                   changes: dict[str, Any]) -> OpChanges:
    written = journal_ops().edit_position(journal, position_id, changes)
    memo.setdefault("previous", written.value)
    return written.changes


def _revert_position(journal: Journal, memo: dict[str, Any], position_id: int
                     ) -> OpChanges | None:
    previous = memo.get("previous")
    if previous is None:
        return None
    return journal_ops().edit_position(journal, position_id, dict(previous)).changes


class JournalWriteCommand(QUndoCommand):
    """One undoable journal write, run through :meth:`JournalView.write` (serial worker).

    ``redo`` runs ``do(journal, *args, *do_extra)``, ``undo`` runs ``revert(journal, *args)``.
    ``args`` hold the command's own memo, in which the write records what undo needs.
    """

    def __init__(self, view: JournalView, label: str, do: Callable[..., Any],
                 revert: Callable[..., Any], args: tuple[Any, ...],
                 do_extra: tuple[Any, ...] = ()) -> None:
        super().__init__(label)
        self._view = view
        self._do = do
        self._revert = revert
        self._args = args
        self._do_extra = do_extra

    def redo(self) -> None:
        self._view.write(self._do, *self._args, *self._do_extra)

    def undo(self) -> None:
        self._view.write(self._revert, *self._args)


class EditCommand(JournalWriteCommand):
    """One edit of a position's own fields; undo writes the previous values back."""

    def __init__(self, view: JournalView, position_id: int, changes: dict[str, Any],
                 label: str) -> None:
        memo: dict[str, Any] = {}
        super().__init__(view, label, _edit_position, _revert_position, (memo, position_id),
                         (changes,))


class FillIds:
    """Fill ids as the undo stack knows them (the first id) -> the current id.

    A deleted fill stored again by undo gets a new id; commands further down the stack
    still name it by the first one. Used on the serial journal worker only.
    """

    def __init__(self) -> None:
        self._ids: dict[int, int] = {}
        self._lock = threading.Lock()

    def get(self, first_id: int) -> int:
        with self._lock:
            return self._ids.get(first_id, first_id)

    def set(self, first_id: int, current: int) -> None:
        with self._lock:
            self._ids[first_id] = current


def _edit_fill(journal: Journal, ids: FillIds, memo: dict[str, Any], first_id: int,
               changes: dict[str, Any]) -> OpChanges:
    written = journal_ops().edit_fill(journal, ids.get(first_id), changes)
    memo.setdefault("previous", written.value)
    return written.changes


def _revert_fill(journal: Journal, ids: FillIds, memo: dict[str, Any], first_id: int
                 ) -> OpChanges | None:
    previous = memo.get("previous")
    if previous is None:
        return None
    return journal_ops().edit_fill(journal, ids.get(first_id), dict(previous)).changes


def _delete_fill(journal: Journal, ids: FillIds, memo: dict[str, Any], first_id: int
                 ) -> OpChanges:
    written = journal_ops().delete_fill(journal, ids.get(first_id))
    memo["fill"] = written.value
    return written.changes


def _restore_fill(journal: Journal, ids: FillIds, memo: dict[str, Any], first_id: int
                  ) -> OpChanges | None:
    fill = memo.pop("fill", None)
    if fill is None:
        return None
    written = journal_ops().restore_fill(journal, fill)
    ids.set(first_id, written.value)
    return written.changes


class EditFillCommand(JournalWriteCommand):
    """One edit of a fill (its positions are re-derived); undo writes the old values back."""

    def __init__(self, view: JournalView, fill_id: int, changes: dict[str, Any]) -> None:
        memo: dict[str, Any] = {}
        super().__init__(view, f"Edit fill #{fill_id}", _edit_fill, _revert_fill,
                         (view.fill_ids, memo, fill_id), (changes,))


class DeleteFillCommand(JournalWriteCommand):
    """Delete a fill; undo stores it again (under a new id, which later commands follow)."""

    def __init__(self, view: JournalView, fill_id: int) -> None:
        memo: dict[str, Any] = {}
        super().__init__(view, f"Delete fill #{fill_id}", _delete_fill, _restore_fill,
                         (view.fill_ids, memo, fill_id))


def _close_position(journal: Journal, ids: FillIds, memo: dict[str, Any], position_id: int,
                    values: dict[str, Any]) -> OpChanges:
    written = journal_ops().close_position(journal, position_id, values)
    first = memo.setdefault("first_fill_id", written.value)
    ids.set(first, written.value)
    return written.changes


def _reopen_position(journal: Journal, ids: FillIds, memo: dict[str, Any],
                     position_id: int) -> OpChanges | None:
    first = memo.get("first_fill_id")
    if first is None:
        return None
    return journal_ops().delete_fill(journal, ids.get(first)).changes


def _add_fill(journal: Journal, ids: FillIds, memo: dict[str, Any], position_id: int,
              values: dict[str, Any]) -> OpChanges:
    written = journal_ops().add_fill_to(journal, position_id, values)
    ids.set(memo.setdefault("first_fill_id", written.value), written.value)
    return written.changes


class AddFillCommand(JournalWriteCommand):
    """Add a fill to a position; undo deletes it (redo stores it again)."""

    def __init__(self, view: JournalView, position_id: int, values: dict[str, Any]) -> None:
        memo: dict[str, Any] = {}
        super().__init__(view, f"Add a fill to #{position_id}", _add_fill, _reopen_position,
                         (view.fill_ids, memo, position_id), (values,))


class ClosePositionCommand(JournalWriteCommand):
    """Close (part of) a position: one reducing fill; undo deletes that fill again (redo
    stores a new one, which the command follows by its first id)."""

    def __init__(self, view: JournalView, position_id: int, values: dict[str, Any]) -> None:
        memo: dict[str, Any] = {}
        what = "part of " if values.get("contracts") else ""
        super().__init__(view, f"Close {what}position #{position_id}", _close_position,
                         _reopen_position, (view.fill_ids, memo, position_id), (values,))
