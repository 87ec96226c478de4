"""A line-edit delegate that validates while the user types (no pop-ups).

As the text changes, ``check(text)`` returns a problem or ``None``; the editor's
frame turns red and ``feedback(str)`` carries the message to an inline label
(empty string = fine). Committing unchanged text does nothing; committing bad
text is passed to the model, which refuses it, marks the cell red and says why.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QLineEdit, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.theme import LIGHT, Theme

ModelIndex = QModelIndex | QPersistentModelIndex


class ValidatingLineDelegate(QStyledItemDelegate):
    """Edits a cell as text, checking each keystroke with ``check``."""

    feedback = Signal(str)

    def __init__(
        self, check: Callable[[QModelIndex, str], str | None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._check = check
        self._theme = LIGHT

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: ModelIndex
    ) -> QWidget:
        editor = QLineEdit(parent)
        editor.setObjectName("WhatIfCellEditor")
        editor.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        editor.setFrame(True)
        persistent = QPersistentModelIndex(index)
        editor.textEdited.connect(lambda text: self._live_check(editor, persistent, text))
        return editor

    def setEditorData(self, editor: QWidget, index: ModelIndex) -> None:
        if not isinstance(editor, QLineEdit):
            return
        text = index.data(Qt.ItemDataRole.EditRole)
        text = "" if text is None else str(text)
        editor.setText(text)
        editor.setProperty("initialText", text)
        editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: ModelIndex) -> None:
        if not isinstance(editor, QLineEdit):
            return
        text = editor.text()
        if text.strip() == str(editor.property("initialText") or "").strip():
            self.feedback.emit("")
            return
        model.setData(index, text, Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: ModelIndex
    ) -> None:
        editor.setGeometry(option.rect)

    def _live_check(self, editor: QLineEdit, index: QPersistentModelIndex, text: str) -> None:
        # the check takes a plain index: the persistent one's current row and column
        plain = index.model().index(index.row(), index.column(), index.parent())
        problem = self._check(plain, text) if index.isValid() else None
        if problem:
            editor.setStyleSheet(
                f"QLineEdit {{ border: 2px solid {self._theme.bad}; "
                f"background: {self._theme.base}; color: {self._theme.text}; }}"
            )
        else:
            editor.setStyleSheet("")
        self.feedback.emit(problem or "")
