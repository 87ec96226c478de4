"""The "Add hypothetical position" dialog, with validation in place.

Every field is checked as it is typed: a bad field gets a red frame and the
problem is listed under the form (one line each), and "Add" stays disabled until
the form is complete. On "Add" the engine gets the last word (tier table present,
margin available, ...): its problems are shown in the same place and the dialog
stays open. No pop-up message boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from decimal import Decimal

from PySide6.QtCore import Qt
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

from crossmargin.domain import MarginMode, Position, PositionId, Side
from crossmargin.scenario import format_decimal
from desktop.dialogs.forms import mark_invalid
from desktop.theme import LIGHT, Theme

from .plan import parse_positive

MAX_LEVERAGE = Decimal(200)


class AddPositionDialog(QDialog):
    """Collects one hypothetical position; ``submit`` adds it or returns problems.

    ``marks`` maps the book's symbols to their mark price (quote currency);
    ``templates`` gives, per symbol, a position whose contract size and inverse
    flag the new one copies; ``tier_symbols`` are the symbols the account has
    maintenance-margin tiers for (others need a rate). ``submit(position)``
    returns the engine's problems (an empty list means accepted; the dialog closes).
    """

    def __init__(
        self,
        *,
        position_id: PositionId,
        settle: str,
        marks: Mapping[str, Decimal],
        templates: Mapping[str, Position],
        tier_symbols: Set[str] = frozenset(),
        submit: Callable[[Position], Sequence[str]],
        theme: Theme = LIGHT,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("AddHypotheticalDialog")
        self.setWindowTitle("Add hypothetical position")
        self.setModal(True)
        self._id = position_id
        self._settle = settle
        self._marks = dict(marks)
        self._templates = dict(templates)
        self._tier_symbols = frozenset(tier_symbols)
        self._submit = submit
        self.position: Position | None = None

        self.symbol = QComboBox()
        self.symbol.setEditable(True)
        self.symbol.addItems(list(marks))
        self.symbol.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.side = QComboBox()
        self.side.addItem("Long", Side.LONG.value)
        self.side.addItem("Short", Side.SHORT.value)
        self.contracts = QLineEdit()
        self.contracts.setPlaceholderText("e.g. 0.5")
        self.entry = QLineEdit()
        self.mark = QLineEdit()
        self.leverage = QLineEdit("10")
        self.mode = QComboBox()
        self.mode.addItem("Cross", MarginMode.CROSS.value)
        self.mode.addItem("Isolated", MarginMode.ISOLATED.value)
        self.margin = QLineEdit()
        self.margin.setPlaceholderText("initial margin at entry")
        self.mmr = QLineEdit()
        self.mmr.setPlaceholderText("e.g. 0.005 (only for symbols without a tier table)")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Symbol", self.symbol)
        form.addRow("Side", self.side)
        form.addRow("Contracts", self.contracts)
        form.addRow("Entry price", self.entry)
        form.addRow("Mark price", self.mark)
        form.addRow("Leverage (×)", self.leverage)
        form.addRow("Margin mode", self.mode)
        form.addRow(f"Isolated margin ({settle})", self.margin)
        self._mmr_label = QLabel("Maint. margin rate")
        form.addRow(self._mmr_label, self.mmr)

        self.message = QLabel()
        self.message.setObjectName("InlineError")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setMinimumWidth(360)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Add")
        self.buttons.accepted.connect(self._on_accept)
        self.buttons.rejected.connect(self.reject)

        self.setStyleSheet(
            f"QLabel#InlineError {{ color: {theme.bad}; }}"
            f"QLineEdit[invalid=\"true\"], QComboBox[invalid=\"true\"] "
            f"{{ border: 2px solid {theme.bad}; border-radius: 3px; }}"
        )
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.message)
        box.addWidget(self.buttons)

        self._touched: set[QWidget] = set()
        for edit in (self.contracts, self.entry, self.mark, self.leverage, self.margin, self.mmr):
            edit.textEdited.connect(lambda _t, e=edit: self._touch(e))
        self.symbol.currentTextChanged.connect(self._on_symbol)
        self.mode.currentIndexChanged.connect(lambda _i: self._validate())
        self.side.currentIndexChanged.connect(lambda _i: self._validate())
        self._on_symbol(self.symbol.currentText())

    # -- reading the form --------------------------------------------------------
    def _symbol(self) -> str:
        return self.symbol.currentText().strip()

    def _known(self) -> bool:
        symbol = self._symbol()
        return symbol in self._templates or symbol in self._tier_symbols

    def _on_symbol(self, _text: str) -> None:
        symbol = self._symbol()
        mark = self._marks.get(symbol)
        if mark is not None:
            self.mark.setText(format_decimal(mark))
            self.entry.setPlaceholderText(f"defaults to the mark {format_decimal(mark)}")
        else:
            self.entry.setPlaceholderText("defaults to the mark price")
        known = self._known()
        self.mmr.setVisible(not known)
        self._mmr_label.setVisible(not known)
        self._validate()

    def _touch(self, edit: QWidget) -> None:
        self._touched.add(edit)
        self._validate()

    def _build(self) -> tuple[Position | None, list[str], set[QWidget]]:
        """The position the form describes, or the problems and the fields to mark."""
        problems: list[str] = []
        bad: set[QWidget] = set()

        def number(edit: QLineEdit, what: str, *, required: bool = True,
                   upper: Decimal | None = None) -> Decimal | None:
            text = edit.text()
            if not text.strip():
                if required:
                    if edit in self._touched:
                        problems.append(f"{what}: enter a number")
                    bad.add(edit)
                return None
            try:
                return parse_positive(text, what, upper=upper)
            except ValueError as exc:
                problems.append(str(exc))
                bad.add(edit)
                return None

        symbol = self._symbol()
        if not symbol:
            problems.append("Symbol: pick a symbol of the book or type one")
            bad.add(self.symbol)
        contracts = number(self.contracts, "Contracts")
        mark = number(self.mark, "Mark price")
        entry = number(self.entry, "Entry price", required=False) or mark
        leverage = number(self.leverage, "Leverage", upper=MAX_LEVERAGE)
        isolated = MarginMode(self.mode.currentData()) is MarginMode.ISOLATED
        self.margin.setEnabled(isolated)
        margin = number(self.margin, f"Isolated margin ({self._settle})", required=False) \
            if isolated else None
        mmr = None
        if not self._known():
            mmr = number(self.mmr, "Maintenance margin rate", upper=Decimal("0.5"))
        if bad or contracts is None or mark is None or entry is None or leverage is None:
            return None, problems, bad
        template = self._templates.get(symbol)
        position = Position(
            id=self._id,
            symbol=symbol,
            side=Side(self.side.currentData()),
            contracts=contracts,
            entry_price=entry,
            mark_price=mark,
            leverage=leverage,
            margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
            contract_size=template.contract_size if template else Decimal(1),
            inverse=template.inverse if template else False,
            isolated_margin=margin,
            maintenance_margin_rate=mmr,
        )
        return position, problems, bad

    def _validate(self) -> Position | None:
        position, problems, bad = self._build()
        for edit in (self.symbol, self.contracts, self.entry, self.mark, self.leverage,
                     self.margin, self.mmr):
            mark_invalid(edit, edit in bad and (edit in self._touched or edit is self.symbol
                                                or bool(problems)))
        self._show(problems)
        self.ok_button.setEnabled(position is not None)
        return position

    def _show(self, problems: Sequence[str]) -> None:
        self.message.setText("\n".join(problems))
        self.message.setVisible(bool(problems))

    def _on_accept(self) -> None:
        self._touched.update({self.contracts, self.mark, self.leverage})
        position = self._validate()
        if position is None:
            return
        problems = list(self._submit(position))
        if problems:
            self._show(problems)
            return
        self.position = position
        self.accept()
