"""Edit one journal position: its opening trade (size, entry, open time), its margin
(leverage, mode, isolated margin), its plan (stop, target) and its notes.

The size, entry and open time are its opening fill's: they can be edited here when one
fill opened the position. When several did (scaling in) or a flip did, the fields are
shown read-only with the reason, and the fills are edited in the Fills table.

Validates as you type (a red field and a message under the form; Save is disabled while
anything is wrong) and never writes: ``changes()`` is what the Journal tab stores.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop import formatting as fmt
from desktop.dialogs.forms import mark_invalid, problem_label
from desktop.dialogs.journal_dialogs import parse_local_time
from desktop.validation import parse_decimal_field

if TYPE_CHECKING:
    from crossmargin.storage import Fill, JournalPosition

LOCAL_TIME = "%Y-%m-%d %H:%M:%S"


class EditPositionDialog(QDialog):
    """``changes()`` holds only the fields the user changed, under the journal's names
    (``opening_size``, ``entry_price``, ``opened_at`` for the opening fill)."""

    def __init__(self, position: JournalPosition, opening: Fill | None = None,
                 opening_reason: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {fmt.short_symbol(position.symbol)} {position.side} "
                            f"#{position.id}")
        self.setMinimumWidth(440)
        self._position = position
        self._opening = opening
        self._changes: dict[str, Any] = {}

        self.opening_size = QLineEdit(str(opening.amount if opening else position.max_contracts))
        self.entry = QLineEdit(str(opening.price if opening else position.entry_price))
        self.opened = QLineEdit((opening.time if opening else position.opened_at)
                                .astimezone().strftime(LOCAL_TIME))
        self.opened.setToolTip("Local time, YYYY-MM-DD HH:MM:SS")
        self.opening_note = QLabel("")
        self.opening_note.setObjectName("ChartReadout")
        self.opening_note.setWordWrap(True)
        if opening is None:
            for edit in (self.opening_size, self.entry, self.opened):
                edit.setReadOnly(True)
                edit.setToolTip(opening_reason or "Edit the fills in the Fills table")
            self.opening_note.setText(opening_reason or "Edit the fills in the Fills table.")
        else:
            self.opening_note.setText("These are the opening fill's; later fills stay as "
                                      "they are and the position is rebuilt from them.")

        self.leverage = QLineEdit("" if position.leverage is None else str(position.leverage))
        self.leverage.setPlaceholderText("empty: the account's default")
        self.mode = QComboBox()
        self.mode.addItem("Cross", "cross")
        self.mode.addItem("Isolated", "isolated")
        self.mode.setCurrentIndex(self.mode.findData(str(position.margin_mode)))
        self.isolated_margin = QLineEdit("" if position.isolated_margin is None
                                         else str(position.isolated_margin))
        self.isolated_margin.setPlaceholderText("empty: the initial margin at entry")
        self.stop = QLineEdit("" if position.stop_price is None else str(position.stop_price))
        self.target = QLineEdit("" if position.target_price is None
                                else str(position.target_price))
        self.setup_edit = QLineEdit(position.setup)
        self.rating = QSpinBox()
        self.rating.setRange(0, 5)
        self.rating.setSpecialValueText("—")
        self.rating.setValue(position.rating or 0)
        self.tags = QLineEdit(", ".join(position.tags))
        self.notes = QPlainTextEdit(position.notes)
        self.notes.setMinimumHeight(90)

        form = QFormLayout()
        form.addRow("Size (contracts)", self.opening_size)
        form.addRow("Entry", self.entry)
        form.addRow("Opened", self.opened)
        form.addRow("", self.opening_note)
        form.addRow("Leverage", self.leverage)
        form.addRow("Margin mode", self.mode)
        form.addRow("Isolated margin", self.isolated_margin)
        form.addRow("Stop", self.stop)
        form.addRow("Target", self.target)
        form.addRow("Setup", self.setup_edit)
        form.addRow("Rating", self.rating)
        form.addRow("Tags", self.tags)
        form.addRow("Notes", self.notes)
        self.problems = problem_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        for edit in self._checked_edits():
            edit.textChanged.connect(self.validate)
        self.mode.currentIndexChanged.connect(self.validate)
        self.validate()

    def _checked_edits(self) -> tuple[QLineEdit, ...]:
        return (self.opening_size, self.entry, self.opened, self.leverage, self.isolated_margin,
                self.stop, self.target)

    def changes(self) -> dict[str, object]:
        return dict(self._changes)

    def validate(self, *_: object) -> bool:
        """Check every field now: mark the bad ones, list the problems, enable Save only
        when there are none; the changed fields are kept for :meth:`changes`."""
        problems: list[str] = []
        changes: dict[str, Any] = {}
        p = self._position
        self.isolated_margin.setEnabled(self.mode.currentData() == "isolated")

        def number(edit: QLineEdit, name: str, label: str, old: Decimal | None,
                   required: bool = False) -> Decimal | None:
            value, problem = parse_decimal_field(edit.text(), label, required=required)
            mark_invalid(edit, problem is not None)
            if problem:
                problems.append(problem)
            elif value != old:
                changes[name] = value
            return value if problem is None else None

        entry = p.entry_price
        if self._opening is not None:
            o = self._opening
            number(self.opening_size, "opening_size", "Size", o.amount, required=True)
            entry = number(self.entry, "entry_price", "Entry", o.price, required=True) or entry
            when, problem = parse_local_time(self.opened.text())
            mark_invalid(self.opened, problem is not None)
            if problem:
                problems.append(problem.replace("Time:", "Opened:"))
            elif when is not None and abs((when - o.time).total_seconds()) >= 1:
                changes["opened_at"] = when  # shown to the second
        number(self.leverage, "leverage", "Leverage", p.leverage)
        number(self.isolated_margin, "isolated_margin", "Isolated margin", p.isolated_margin)
        long_ = str(p.side) == "long"
        for edit, name, label, below in ((self.stop, "stop_price", "Stop", True),
                                         (self.target, "target_price", "Target", False)):
            level = number(edit, name, label, getattr(p, name))
            if level is None:
                continue
            # a long's stop is below its entry and its target above; a short's the reverse
            wrong = (level >= entry) if (below == long_) else (level <= entry)
            if wrong:
                where = "below" if below == long_ else "above"
                problems.append(f"{label}: a {p.side}'s {label.lower()} is {where} the "
                                f"entry ({entry}), got {level}")
                mark_invalid(edit, True)
        if self.mode.currentData() != str(p.margin_mode):
            changes["margin_mode"] = self.mode.currentData()
        self.problems.setText("\n".join(f"• {x}" for x in problems))
        self.problems.setVisible(bool(problems))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problems)
        self._changes = changes
        return not problems

    def _accept(self) -> None:
        if not self.validate():
            return
        p = self._position
        changes = self._changes
        if self.setup_edit.text().strip() != p.setup:
            changes["setup"] = self.setup_edit.text().strip()
        rating = self.rating.value() or None
        if rating != p.rating:
            changes["rating"] = rating
        tags = [t.strip() for t in self.tags.text().split(",") if t.strip()]
        if tags != list(p.tags):
            changes["tags"] = tags
        if self.notes.toPlainText().strip() != p.notes:
            changes["notes"] = self.notes.toPlainText().strip()
        self.accept()
