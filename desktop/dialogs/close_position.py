"""Close a journal position (all of it or part) at a price and time: one reducing fill;
or add a fill to it (scale in, or reduce without closing).

Every field is checked as it is typed; Close stays disabled while anything is wrong, and
the problems are listed under the form. The dialog only collects: the Journal tab stores
the close as one undoable step (see ``desktop.views.journal.ClosePositionCommand``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from crossmargin.numbers import plain
from desktop.dialogs.forms import mark_invalid, problem_label
from desktop.dialogs.journal_dialogs import parse_local_time
from desktop.validation import parse_decimal_field

if TYPE_CHECKING:
    from crossmargin.storage import JournalPosition


class ClosePositionDialog(QDialog):
    """Price (required), size (default: all that is open), time (default: now), fee."""

    def __init__(self, position: JournalPosition, *, mark: Decimal | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = position
        self.setWindowTitle(f"Close #{position.id} {position.symbol} {position.side.value}")
        self.setMinimumWidth(420)
        open_size = position.contracts
        self.info = QLabel(f"{plain(open_size)} contracts open from "
                           f"{plain(position.entry_price)}")
        self.price = QLineEdit("" if mark is None else plain(mark))
        self.price.setPlaceholderText("exit price")
        self.size = QLineEdit()
        self.size.setPlaceholderText(f"all {plain(open_size)} (or less: a partial close)")
        self.time = QLineEdit(datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S"))
        self.fee = QLineEdit()
        self.fee.setPlaceholderText(f"optional, in {position.settle}")
        form = QFormLayout()
        form.addRow("", self.info)
        form.addRow("Exit price", self.price)
        form.addRow("Contracts", self.size)
        form.addRow("Time", self.time)
        form.addRow("Fee", self.fee)
        self.problems = problem_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(
            "Close position", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        for edit in (self.price, self.size, self.time, self.fee):
            edit.textChanged.connect(self.validate)
        self._values: dict[str, Any] = {}
        self.validate()

    def validate(self) -> bool:
        """Check every field now; returns whether the close can be stored."""
        problems: list[str] = []
        values: dict[str, Any] = {}

        def number(edit: QLineEdit, key: str, name: str, **kw: bool) -> None:
            value, problem = parse_decimal_field(edit.text(), name, **kw)
            mark_invalid(edit, problem is not None)
            if problem:
                problems.append(problem)
            values[key] = value

        number(self.price, "price", "Exit price")
        number(self.size, "contracts", "Contracts", required=False)
        size = values.get("contracts")
        if size is not None and size > self.position.contracts:
            problems.append(f"Contracts: only {plain(self.position.contracts)} are open")
            mark_invalid(self.size, True)
        number(self.fee, "fee", "Fee", required=False, positive=False)
        when, problem = parse_local_time(self.time.text())
        if problem is None and when is not None and when < self.position.opened_at:
            problem = "Time: before the position opened"
        mark_invalid(self.time, problem is not None)
        if problem:
            problems.append(problem)
        values["time"] = when
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.problems.setVisible(bool(problems))
        self.close_button.setEnabled(not problems)
        self._values = values if not problems else {}
        return not problems

    def values(self) -> dict[str, Any]:
        """price, contracts (None = all), time, fee (None = 0): valid after accept."""
        return dict(self._values)

    def _accept_if_valid(self) -> None:
        if self.validate():
            self.accept()


class AddFillDialog(QDialog):
    """A fill on a position's contract and leg: side (default: the position's, i.e. scale
    in), size, price, time, fee; checked as typed."""

    def __init__(self, position: JournalPosition, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = position
        self.setWindowTitle(f"Add a fill to #{position.id} {position.symbol}")
        self.setMinimumWidth(420)
        self.side = QComboBox()
        same = "buy" if position.side.value == "long" else "sell"
        other = "sell" if same == "buy" else "buy"
        self.side.addItem(f"{same.capitalize()} (scale in)", same)
        self.side.addItem(f"{other.capitalize()} (reduce)", other)
        self.size = QLineEdit()
        self.size.setPlaceholderText("contracts")
        self.price = QLineEdit("" if position.mark_price is None else plain(position.mark_price))
        self.time = QLineEdit(datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S"))
        self.fee = QLineEdit()
        self.fee.setPlaceholderText(f"optional, in {position.settle}")
        form = QFormLayout()
        form.addRow("Side", self.side)
        form.addRow("Contracts", self.size)
        form.addRow("Price", self.price)
        form.addRow("Time", self.time)
        form.addRow("Fee", self.fee)
        self.problems = problem_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("Add fill",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        for edit in (self.size, self.price, self.time, self.fee):
            edit.textChanged.connect(self.validate)
        self._values: dict[str, Any] = {}
        self.validate()

    def validate(self) -> bool:
        problems: list[str] = []
        values: dict[str, Any] = {"side": self.side.currentData()}
        for edit, key, name, kw in ((self.size, "amount", "Contracts", {}),
                                    (self.price, "price", "Price", {}),
                                    (self.fee, "fee", "Fee",
                                     {"required": False, "positive": False})):
            value, problem = parse_decimal_field(edit.text(), name, **kw)
            mark_invalid(edit, problem is not None)
            if problem:
                problems.append(problem)
            values[key] = value
        when, problem = parse_local_time(self.time.text())
        mark_invalid(self.time, problem is not None)
        if problem:
            problems.append(problem)
        values["time"] = when
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.problems.setVisible(bool(problems))
        self.add_button.setEnabled(not problems)
        self._values = values if not problems else {}
        return not problems

    def values(self) -> dict[str, Any]:
        return dict(self._values)

    def _accept_if_valid(self) -> None:
        if self.validate():
            self.accept()
