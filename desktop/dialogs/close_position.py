"""Close a journal position (all of it or part) at a price and time: one reducing fill;
or add a fill to it (scale in, or reduce without closing).

Every field is checked as it is typed; the action button stays disabled while anything is
wrong, and the problems are listed under the form. The dialogs only collect: the Journal
tab stores the result as one undoable step (``desktop.views.journal_commands.ClosePositionCommand``
and ``AddFillCommand``).
"""

from __future__ import annotations

from collections.abc import Sequence
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
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crossmargin.numbers import plain
from desktop.dialogs.forms import mark_invalid, problem_label
from desktop.dialogs.journal_dialogs import parse_local_time
from desktop.validation import parse_decimal_field

if TYPE_CHECKING:
    from crossmargin.storage import JournalPosition


class _FillFormDialog(QDialog):
    """A form for one fill on ``position``: rows, live validation, one action button.

    Subclasses build their rows, call :meth:`_finish_layout`, and implement
    :meth:`_check` (append problems, fill values)."""

    def __init__(self, position: JournalPosition, title: str, action: str,
                 parent: QWidget | None) -> None:
        super().__init__(parent)
        self.position = position
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.time = QLineEdit(datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S"))
        self.fee = QLineEdit()
        self.fee.setPlaceholderText(f"optional, in {position.settle}")
        self.problems = problem_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.action_button: QPushButton = self.buttons.addButton(
            action, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        self._values: dict[str, Any] = {}

    def _finish_layout(self, rows: Sequence[tuple[str, QWidget]],
                       edits: Sequence[QLineEdit]) -> None:
        form = QFormLayout()
        for label, widget in rows:
            form.addRow(label, widget)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        for edit in edits:
            edit.textChanged.connect(self.validate)
        self.validate()

    def _number(self, edit: QLineEdit, key: str, name: str, problems: list[str],
                values: dict[str, Any], **kw: bool) -> None:
        value, problem = parse_decimal_field(edit.text(), name, **kw)
        mark_invalid(edit, problem is not None)
        if problem:
            problems.append(problem)
        values[key] = value

    def _time_and_fee(self, problems: list[str], values: dict[str, Any]) -> None:
        self._number(self.fee, "fee", "Fee", problems, values, required=False,
                     positive=False)
        when, problem = parse_local_time(self.time.text())
        if problem is None and when is not None and when < self.position.opened_at:
            problem = "Time: before the position opened"
        mark_invalid(self.time, problem is not None)
        if problem:
            problems.append(problem)
        values["time"] = when

    def _check(self, problems: list[str], values: dict[str, Any]) -> None:
        raise NotImplementedError

    def validate(self) -> bool:
        """Check every field now; returns whether the fill can be stored."""
        problems: list[str] = []
        values: dict[str, Any] = {}
        self._check(problems, values)
        self._time_and_fee(problems, values)
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.problems.setVisible(bool(problems))
        self.action_button.setEnabled(not problems)
        self._values = values if not problems else {}
        return not problems

    def values(self) -> dict[str, Any]:
        """The checked values (empty while anything is wrong)."""
        return dict(self._values)

    def _accept_if_valid(self) -> None:
        if self.validate():
            self.accept()


class ClosePositionDialog(_FillFormDialog):
    """Price (required), size (default: all that is open), time (default: now), fee.
    ``values()``: price, contracts (None = all), time, fee (None = 0)."""

    def __init__(self, position: JournalPosition, *, mark: Decimal | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(position, f"Close #{position.id} {position.symbol} "
                         f"{position.side.value}", "Close position", parent)
        self.close_button = self.action_button
        open_size = position.contracts
        self.info = QLabel(f"{plain(open_size)} contracts open from "
                           f"{plain(position.entry_price)}")
        self.price = QLineEdit("" if mark is None else plain(mark))
        self.price.setPlaceholderText("exit price")
        self.contracts = QLineEdit()
        self.contracts.setPlaceholderText(f"all {plain(open_size)} (or less: a partial close)")
        self._finish_layout(
            [("", self.info), ("Exit price", self.price), ("Contracts", self.contracts),
             ("Time", self.time), ("Fee", self.fee)],
            (self.price, self.contracts, self.time, self.fee))

    def _check(self, problems: list[str], values: dict[str, Any]) -> None:
        self._number(self.price, "price", "Exit price", problems, values)
        self._number(self.contracts, "contracts", "Contracts", problems, values, required=False)
        size = values.get("contracts")
        if size is not None and size > self.position.contracts:
            problems.append(f"Contracts: only {plain(self.position.contracts)} are open")
            mark_invalid(self.contracts, True)


class AddFillDialog(_FillFormDialog):
    """A fill on a position's contract and leg: side (default: the position's, i.e. scale
    in), size, price, time, fee. ``values()``: side, amount, price, time, fee."""

    def __init__(self, position: JournalPosition, *, parent: QWidget | None = None) -> None:
        super().__init__(position, f"Add a fill to #{position.id} {position.symbol}",
                         "Add fill", parent)
        self.add_button = self.action_button
        self.side = QComboBox()
        same = "buy" if position.side.value == "long" else "sell"
        other = "sell" if same == "buy" else "buy"
        self.side.addItem(f"{same.capitalize()} (scale in)", same)
        self.side.addItem(f"{other.capitalize()} (reduce)", other)
        self.contracts = QLineEdit()
        self.contracts.setPlaceholderText("contracts")
        self.price = QLineEdit("" if position.mark_price is None else plain(position.mark_price))
        self._finish_layout(
            [("Side", self.side), ("Contracts", self.contracts), ("Price", self.price),
             ("Time", self.time), ("Fee", self.fee)],
            (self.contracts, self.price, self.time, self.fee))

    def _check(self, problems: list[str], values: dict[str, Any]) -> None:
        values["side"] = self.side.currentData()
        self._number(self.contracts, "amount", "Contracts", problems, values)
        self._number(self.price, "price", "Price", problems, values)
