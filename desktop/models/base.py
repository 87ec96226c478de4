"""What the app's flat table models share: the custom roles, the column plumbing and
the "repaint every cell" signal.

* ``RAW_ROLE`` answers the exact value behind a cell (``Decimal``, ``str``,
  ``datetime``, ``int``, ``bool`` or ``None``); sorting and tests compare those,
  never display text. ``ID_ROLE`` answers the row's id.
* :class:`ColumnTableModel` is a read-only table over ``self._rows`` whose columns
  are the members of an :class:`~enum.IntEnum` (``COLUMNS``, numbered 0..n-1).
  Subclasses answer one cell's text, raw value and other roles and one row's id
  (the ``_cell_*`` hooks), and through :meth:`ColumnTableModel._header` the header
  roles of one column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

RAW_ROLE = Qt.ItemDataRole.UserRole + 1  # the exact value behind a cell
ID_ROLE = Qt.ItemDataRole.UserRole + 2  # the row's id

ModelIndex = QModelIndex | QPersistentModelIndex

ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)  # numbers
ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)  # text


class ColumnTableModel(QAbstractTableModel):
    """Read-only rows (``self._rows``, one item per row) under ``COLUMNS`` (GUI thread)."""

    COLUMNS: ClassVar[type[IntEnum]]
    RIGHT_ALIGNED: ClassVar[frozenset[Any]] = frozenset()  # numeric columns
    HEADINGS: ClassVar[Mapping[Any, tuple[str, str]]] = {}  # column -> (title, tooltip)
    _rows: Sequence[Any]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        return self._header(self.COLUMNS(section), role)

    def _header(self, column: Any, role: int) -> Any:
        """The header's answer for ``role`` above ``column`` (``None``: no value): by
        default the title and tooltip from ``HEADINGS``, aligned like the column's cells."""
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADINGS[column][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.HEADINGS[column][1]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return ALIGN_RIGHT if column in self.RIGHT_ALIGNED else ALIGN_LEFT
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Display text, ``RAW_ROLE``, ``ID_ROLE`` and alignment here; other roles from
        :meth:`_cell_role` (models with their own caching override ``data`` whole)."""
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = self.COLUMNS(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell_text(row, column)
        if role == RAW_ROLE:
            return self._cell_raw(row, column)
        if role == ID_ROLE:
            return self._row_id(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return ALIGN_RIGHT if column in self.RIGHT_ALIGNED else ALIGN_LEFT
        return self._cell_role(row, column, role)

    def _cell_text(self, row: Any, column: Any) -> str:
        """What the cell shows."""
        raise NotImplementedError

    def _cell_raw(self, row: Any, column: Any) -> Any:
        """The exact value behind the cell (``RAW_ROLE``; what sorting compares)."""
        raise NotImplementedError

    def _row_id(self, row: Any) -> Any:
        """The row's id (``ID_ROLE``)."""
        raise NotImplementedError

    def _cell_role(self, row: Any, column: Any, role: int) -> Any:
        """Any other role of the cell (colours, tooltips...); ``None``: no value."""
        return None

    def _emit_all_changed(self) -> None:
        """Every cell may look different (theme, currency): one ``dataChanged`` for all."""
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(self.COLUMNS) - 1), []
            )


def sorted_none_last(rows: Sequence[Any], key: Callable[[Any], Any], descending: bool) -> list[Any]:
    """``rows`` sorted by ``key`` (one stable ``sorted`` pass, no Qt round trips), rows
    whose key is ``None`` (no value: e.g. never liquidated) last in either order."""
    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    present.sort(key=key, reverse=descending)
    return present + missing
