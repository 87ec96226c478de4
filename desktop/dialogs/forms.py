"""Inline validation shared by the app's forms: a red frame on a bad field and a
problem list under the form (never a modal error box)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget


def mark_invalid(edit: QWidget, invalid: bool) -> None:
    """Show ``edit`` with the red "invalid" frame of the theme (or clear it).

    Re-polishes only when the state changes (typing clears the mark on every key).
    """
    if bool(edit.property("invalid")) != invalid:
        edit.setProperty("invalid", invalid)
        edit.style().unpolish(edit)
        edit.style().polish(edit)


def clear_mark_on_edit(edits: Iterable[QLineEdit]) -> None:
    """Clear each field's invalid mark as soon as the user types in it."""
    for edit in edits:
        edit.textChanged.connect(lambda _t, e=edit: mark_invalid(e, False))


def problem_label() -> QLabel:
    """A hidden, word-wrapped label in the theme's "FieldProblem" style (red text)."""
    label = QLabel("")
    label.setObjectName("FieldProblem")
    label.setWordWrap(True)
    label.setVisible(False)
    return label
