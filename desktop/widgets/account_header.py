"""The selected account's title line: its name, a kind badge and where its numbers
come from (the sources in the tooltip)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from desktop.session import AccountEntry, EntryKind


class AccountHeader(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("")
        self.title.setObjectName("AccountTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)
        self.badge = QLabel("")
        self.badge.setObjectName("AccountBadge")
        self.detail = QLabel("")
        self.detail.setObjectName("ChartReadout")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.title)
        row.addWidget(self.badge)
        row.addSpacing(8)
        row.addWidget(self.detail, 1)

    def show_entry(self, entry: AccountEntry, detail: str, sources: str = "") -> None:
        self.title.setText(entry.label)
        self.badge.setText("DEMO" if entry.kind is EntryKind.DEMO else str(entry.kind).upper())
        self.badge.setProperty("kind", str(entry.kind))
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.detail.setText(detail)
        self.detail.setToolTip(sources)
