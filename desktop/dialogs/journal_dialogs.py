"""Journal dialogs: edit a position's notes and plan; import fills from a CSV file.

Both validate in place and never write: they emit what the user asked for and the
Journal tab runs it on the serial task queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import formatting as fmt
from desktop.validation import parse_decimal_field

if TYPE_CHECKING:
    from crossmargin.storage import ImportReport, JournalPosition

PRESETS = ("generic", "binance", "bybit", "okx")


class EditPositionDialog(QDialog):
    """Stop, target, setup, rating, tags and notes of one journal position.

    ``changes()`` returns only the fields the user changed (journal field names).
    """

    def __init__(self, position: JournalPosition, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {fmt.short_symbol(position.symbol)} {position.side} "
                            f"#{position.id}")
        self.setMinimumWidth(420)
        self._position = position
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
        form.addRow("Stop", self.stop)
        form.addRow("Target", self.target)
        form.addRow("Setup", self.setup_edit)
        form.addRow("Rating", self.rating)
        form.addRow("Tags", self.tags)
        form.addRow("Notes", self.notes)
        self.problems = QLabel("")
        self.problems.setObjectName("FieldProblem")
        self.problems.setWordWrap(True)
        self.problems.setVisible(False)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        for edit in (self.stop, self.target):
            edit.textChanged.connect(lambda _t, e=edit: self._mark(e, False))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        self._changes: dict[str, object] = {}

    @staticmethod
    def _mark(edit: QLineEdit, invalid: bool) -> None:
        edit.setProperty("invalid", invalid)
        edit.style().unpolish(edit)
        edit.style().polish(edit)

    def changes(self) -> dict[str, object]:
        return dict(self._changes)

    def _accept(self) -> None:
        problems: list[str] = []
        changes: dict[str, object] = {}
        p = self._position
        for edit, name, label, old in ((self.stop, "stop_price", "Stop", p.stop_price),
                                       (self.target, "target_price", "Target", p.target_price)):
            value, problem = parse_decimal_field(edit.text(), label, required=False)
            self._mark(edit, problem is not None)
            if problem:
                problems.append(problem)
            elif value != old:
                changes[name] = value
        if problems:
            self.problems.setText("\n".join(f"• {x}" for x in problems))
            self.problems.setVisible(True)
            return
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
        self._changes = changes
        self.accept()


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
        self.preset.addItems(PRESETS)
        self.preset.currentTextChanged.connect(self._request_preview)
        self.summary = QLabel(f"Reading {path.name}…")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Time", "Symbol", "Side", "Price", "Amount", "Fee"])
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
        self.summary.setText(
            f"{report.rows} rows: {report.new} new fills, {report.duplicates} already stored, "
            f"{len(report.rejected)} rejected. Nothing is written until you press Import."
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
