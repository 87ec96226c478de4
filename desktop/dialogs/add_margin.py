"""Add (or remove) isolated margin for a what-if: one amount, validated in place."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from crossmargin.numbers import NumberError
from desktop import formatting as fmt
from desktop.dialogs.forms import mark_invalid, problem_label
from desktop.validation import read_number


def parse_margin_delta(text: str, current: Decimal, settle: str) -> tuple[Decimal | None, str]:
    """``text`` as a margin change in ``settle`` (negative removes); ``(None, problem)`` if bad.

    The resulting isolated margin ``current + delta`` must stay above 0.
    """
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        return None, f"Enter an amount in {settle}, e.g. 250 (or -100 to remove margin)"
    try:
        value = read_number(cleaned)
    except NumberError as exc:
        return None, f"{exc}; enter an amount in {settle}, e.g. 250"
    if value == 0:
        return None, "The amount must not be 0"
    if current + value <= 0:
        return None, (f"Removing {fmt.money(-value, settle, unit=True)} would leave no margin "
                      f"(the position has {fmt.money(current, settle, unit=True)})")
    return value, ""


class AddMarginDialog(QDialog):
    """Asks for a margin change for an isolated position; invalid input is shown inline."""

    def __init__(
        self, *, symbol: str, current: Decimal, settle: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Add margin — {symbol}")
        self._current = current
        self._settle = settle
        self.amount = QLineEdit()
        self.amount.setPlaceholderText(f"Amount in {settle} (negative removes)")
        self.problem = problem_label()
        info = QLabel(f"Isolated margin now: {fmt.money(current, settle, unit=True)}. "
                      "This is a what-if: nothing is sent to the exchange.")
        info.setWordWrap(True)
        info.setObjectName("ChartReadout")
        form = QFormLayout()
        form.addRow(f"Change ({settle})", self.amount)
        form.addRow("", self.problem)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.amount.textChanged.connect(self._clear_problem)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.delta: Decimal | None = None

    def _clear_problem(self) -> None:
        self.problem.setVisible(False)
        mark_invalid(self.amount, False)

    def _accept(self) -> None:
        value, problem = parse_margin_delta(self.amount.text(), self._current, self._settle)
        if value is None:
            self.problem.setText(problem)
            self.problem.setVisible(True)
            mark_invalid(self.amount, True)
            self.amount.setFocus()
            return
        self.delta = value
        self.accept()
