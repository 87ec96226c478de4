"""Journal dialogs: edit or delete a fill; import fills from a CSV file.

Both validate in place and never write: they emit what the user asked for and the
Journal tab runs it on the serial task queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crossmargin.storage.csv_import import columns_note
from crossmargin.times import TimeError, parse_time
from desktop import formatting as fmt
from desktop.dialogs.forms import mark_invalid, problem_label
from desktop.validation import parse_decimal_field

if TYPE_CHECKING:
    from crossmargin.storage import Fill, ImportReport

PRESETS = ("generic", "binance", "bybit", "okx", "closed")


def parse_local_time(text: str) -> tuple[datetime | None, str | None]:
    """``YYYY-MM-DD HH:MM[:SS]`` in the local time zone (or ISO 8601 with an offset)."""
    if not text.strip():
        return None, "Time: required"
    try:
        value = parse_time(text)  # the CLI's reading; naive = local time
    except TimeError:
        return None, f"Time: “{text.strip()}” is not a date and time like 2026-01-31 14:05:00"
    return value.astimezone(), None


class EditFillDialog(QDialog):
    """Edit or delete one fill: time (local), side, price, amount, fee, fee currency, note.

    Validates in place (a red field and a message; nothing is emitted on bad input).
    After ``accept()``: ``action`` is ``"edit"`` with :meth:`changes` (only the changed
    fields, journal names: ``price`` in quote currency, ``amount`` in contracts > 0,
    ``fee`` > 0 paid / < 0 rebate, ``time`` timezone-aware) or ``"delete"``.
    """

    def __init__(self, fill: Fill, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Fill #{fill.id}: {fmt.short_symbol(fill.symbol)} {fill.side}")
        self.setMinimumWidth(420)
        self._fill = fill
        self.action = ""
        self._changes: dict[str, object] = {}
        self.time = QLineEdit(fill.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"))
        self.time.setToolTip("Local time, YYYY-MM-DD HH:MM:SS")
        self.side = QComboBox()
        self.side.addItem("Buy", "buy")
        self.side.addItem("Sell", "sell")
        self.side.setCurrentIndex(0 if fill.side == "buy" else 1)
        self.price = QLineEdit(str(fill.price))
        self.amount = QLineEdit(str(fill.amount))
        self.fee = QLineEdit(str(fill.fee))
        self.fee_currency = QLineEdit(fill.fee_currency)
        self.fee_currency.setMaxLength(12)
        self.note = QLineEdit(fill.note)
        info = QLabel(f"{fill.symbol} · trade id {fill.trade_id or '—'} · "
                      f"position #{fill.position_id or '—'} · from {fill.source}")
        info.setObjectName("ChartReadout")
        info.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Time", self.time)
        form.addRow("Side", self.side)
        form.addRow("Price", self.price)
        form.addRow("Amount (contracts)", self.amount)
        fee_row = QHBoxLayout()
        fee_row.addWidget(self.fee, 2)
        fee_row.addWidget(self.fee_currency, 1)
        form.addRow("Fee", fee_row)
        form.addRow("Note", self.note)
        self.problems = problem_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.delete_button = self.buttons.addButton(
            "Delete fill", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.delete_button.setToolTip("Delete this fill; its position is rebuilt "
                                      "(undo with Ctrl+Z)")
        self.delete_button.clicked.connect(self._delete)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        for edit in (self.time, self.price, self.amount, self.fee, self.fee_currency,
                     self.note):
            edit.textChanged.connect(self.validate)
        self.side.currentIndexChanged.connect(self.validate)
        self.validate()

    def changes(self) -> dict[str, object]:
        return dict(self._changes)

    def _delete(self) -> None:
        self.action = "delete"
        self._changes = {}
        self.accept()

    def _accept(self) -> None:
        if self.validate():
            self.action = "edit"
            self.accept()

    def validate(self, *_: object) -> bool:
        """Check every field now (as the user types): mark the bad ones, list the
        problems, enable Save only when there are none; keep the changed fields."""
        f = self._fill
        problems: list[str] = []
        values: dict[str, Any] = {}
        when, problem = parse_local_time(self.time.text())
        mark_invalid(self.time, problem is not None)
        if problem:
            problems.append(problem)
        else:
            values["time"] = when
        for edit, name, label, positive in ((self.price, "price", "Price", True),
                                            (self.amount, "amount", "Amount", True),
                                            (self.fee, "fee", "Fee", False)):
            value, problem = parse_decimal_field(edit.text(), label, required=name != "fee",
                                                 positive=positive)
            mark_invalid(edit, problem is not None)
            if problem:
                problems.append(problem)
            else:
                values[name] = value if value is not None else Decimal(0)
        currency = self.fee_currency.text().strip().upper()
        bad_currency = (bool(currency) and not currency.isalnum()) or (
            not currency and values.get("fee", Decimal(0)) != 0)
        mark_invalid(self.fee_currency, bad_currency)
        if bad_currency:
            problems.append("Fee currency: letters and digits such as USDT (needed when the "
                            "fee is not 0)")
        self.problems.setText("\n".join(f"• {x}" for x in problems))
        self.problems.setVisible(bool(problems))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problems)
        if problems:
            return False
        values["side"] = self.side.currentData()
        values["fee_currency"] = currency
        values["note"] = self.note.text().strip()
        changes = {}
        for name, value in values.items():
            old = getattr(f, name)
            if name == "time":
                same = abs((old - value).total_seconds()) < 1  # shown to the second
            elif name == "fee_currency":
                same = str(old).upper() == value
            else:
                same = old == value
            if not same:
                changes[name] = value
        self._changes = changes
        return True


class ImportDialog(QDialog):
    """Import fills from a CSV: choose the preset, see a dry-run preview, then import.

    Signals ``preview_requested(Path, str)`` and ``import_requested(Path, str)``; the
    Journal tab answers with :meth:`show_preview`, :meth:`show_done` or
    :meth:`show_problems`.
    """

    preview_requested = Signal(object, str)
    import_requested = Signal(object, str)

    def __init__(self, path: Path, *, account_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import fills into “{account_label}”")
        self.resize(760, 460)
        self.path = path
        self.preset = QComboBox()
        self.preset.addItems(["auto", *PRESETS])  # auto: detected from the header
        self.preset.setToolTip("Which exchange's export this is; 'auto' reads the header "
                               "and says which it picked")
        self.preset.currentTextChanged.connect(self._request_preview)
        self.summary = QLabel(f"Reading {path.name}…")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Time", "Symbol", "Side", "Price", "Size", "Fee"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.rejected_label = QLabel("")
        self.rejected_label.setObjectName("FieldProblem")
        self.rejected_label.setWordWrap(True)
        self.rejected_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy while the journal imports (one transaction)
        self.progress.setVisible(False)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.import_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        self.import_button.setEnabled(False)
        self.buttons.accepted.connect(self._import)
        self.buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(QLabel("Format"))
        top.addWidget(self.preset)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.rejected_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self.report: ImportReport | None = None

    def start(self) -> None:
        self._request_preview(self.preset.currentText())

    def _request_preview(self, preset: str) -> None:
        self.import_button.setEnabled(False)
        self.summary.setText(f"Checking {self.path.name} with the {preset} format…")
        self.preview_requested.emit(self.path, preset)

    def show_preview(self, report: ImportReport) -> None:
        self.report = report
        how = (f" Numbers read with a {report.decimal_reason}."
               if report.decimal_reason and report.decimal_reason != "given" else "")
        note = columns_note(report.preset, report.preset_reason)
        if note:
            how = f" {note}{how}"
        self.summary.setText(
            f"{report.rows} rows: {report.new} new fills, {report.duplicates} already stored, "
            f"{len(report.rejected)} rejected.{how} Nothing is written until you press Import."
        )
        self.table.setRowCount(len(report.preview))
        for r, fill in enumerate(report.preview):
            cells = (fill.time.strftime("%Y-%m-%d %H:%M:%S"), fill.symbol, fill.side,
                     str(fill.price), str(fill.amount), f"{fill.fee} {fill.fee_currency}".strip())
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.rejected_label.setText(self._rejected_text(report))
        self.import_button.setEnabled(report.new > 0)

    @staticmethod
    def _rejected_text(report: ImportReport) -> str:
        lines = [f"line {row.line}: {row.reason}" for row in report.rejected[:8]]
        more = len(report.rejected) - len(lines)
        if more > 0:
            lines.append(f"… and {more} more")
        return "\n".join(lines)

    def show_problems(self, problems: Sequence[str]) -> None:
        self.progress.setVisible(False)
        self.summary.setText("This file cannot be imported with this format:")
        self.rejected_label.setText("\n".join(problems))
        self.table.setRowCount(0)
        self.import_button.setEnabled(False)

    def _import(self) -> None:
        self.import_button.setEnabled(False)
        self.preset.setEnabled(False)
        self.progress.setVisible(True)
        self.summary.setText("Importing…")
        self.import_requested.emit(self.path, self.preset.currentText())

    def show_done(self, report: ImportReport) -> None:
        self.report = report
        self.progress.setVisible(False)
        self.summary.setText(f"Imported {report.new} fills ({report.duplicates} duplicates "
                             f"skipped, {len(report.rejected)} rows rejected).")
        self.accept()
