"""Accounts list (left sidebar): a list model over :class:`AccountEntry` plus its delegate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.session import AccountEntry, EntryKind, EntryStatus
from desktop.theme import LIGHT, Theme

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
KIND_ROLE = Qt.ItemDataRole.UserRole + 2
STATUS_ROLE = Qt.ItemDataRole.UserRole + 3

KIND_TEXT = {
    EntryKind.DEMO: "DEMO",
    EntryKind.SCENARIO: "FILE",
    EntryKind.JOURNAL: "JOURNAL",
    EntryKind.EXCHANGE: "EXCHANGE",
}

ModelIndex = QModelIndex | QPersistentModelIndex


class AccountsListModel(QAbstractListModel):
    """The accounts shown on the left, in display order (demo first)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[AccountEntry] = []

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.label
        if role == Qt.ItemDataRole.ToolTipRole:
            where = f"\n{entry.path}" if entry.path else ""
            return f"{entry.label}\n{entry.status_text}{where}".strip()
        if role == ENTRY_ROLE:
            return entry
        if role == KIND_ROLE:
            return str(entry.kind)
        if role == STATUS_ROLE:
            return entry.status_text
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def entries(self) -> list[AccountEntry]:
        return list(self._entries)

    def row_of(self, key: str) -> int:
        for i, entry in enumerate(self._entries):
            if entry.key == key:
                return i
        return -1

    def set_entries(self, entries: Sequence[AccountEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def upsert(self, entry: AccountEntry) -> int:
        """Add ``entry`` (or replace the one with its key); return its row."""
        row = self.row_of(entry.key)
        if row >= 0:
            self._entries[row] = entry
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [])
            return row
        row = len(self._entries)
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.append(entry)
        self.endInsertRows()
        return row


class AccountDelegate(QStyledItemDelegate):
    """Two lines per account: a kind badge and the name, then the status in small muted text."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._theme = LIGHT

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        fm = option.fontMetrics
        return QSize(120, fm.height() * 2 + 18)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        entry = index.data(ENTRY_ROLE)
        if not isinstance(entry, AccountEntry):
            super().paint(painter, option, index)
            return
        t = self._theme
        painter.save()
        rect: QRect = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected or hovered:
            bg = QColor(t.accent)
            bg.setAlpha(46 if selected else 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(bg)
            painter.drawRoundedRect(rect, 6, 6)
        fm = option.fontMetrics
        x = rect.left() + 10
        top = rect.top() + 6
        # badge
        badge_font = QFont(option.font)
        badge_font.setPointSizeF(max(6.5, option.font.pointSizeF() * 0.72))
        badge_font.setBold(True)
        painter.setFont(badge_font)
        bfm = painter.fontMetrics()
        badge = KIND_TEXT.get(entry.kind, str(entry.kind).upper())
        bw = bfm.horizontalAdvance(badge) + 10
        bh = bfm.height() + 2
        badge_colour = t.warn if entry.kind is EntryKind.DEMO else t.muted
        badge_rect = QRect(x, top + (fm.height() - bh) // 2, bw, bh)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(badge_colour))
        painter.drawRoundedRect(badge_rect, 3, 3)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
        # name
        name_font = QFont(option.font)
        name_font.setBold(selected)
        painter.setFont(name_font)
        painter.setPen(QColor(t.text))
        name_x = badge_rect.right() + 8
        name_rect = QRect(name_x, top, rect.right() - name_x - 6, fm.height())
        painter.drawText(
            name_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(entry.label, Qt.TextElideMode.ElideRight, name_rect.width()),
        )
        # status dot + text
        status_colour = {
            EntryStatus.LIVE: t.good,
            EntryStatus.STATIC: t.muted,
            EntryStatus.STALE: t.warn,
            EntryStatus.ATTENTION: t.bad,
        }[entry.status]
        y2 = top + fm.height() + 4
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(status_colour))
        dot = 7
        painter.drawEllipse(x + 1, y2 + (fm.height() - dot) // 2, dot, dot)
        small = QFont(option.font)
        small.setPointSizeF(option.font.pointSizeF() * 0.9)
        painter.setFont(small)
        painter.setPen(QColor(t.muted))
        status_rect = QRect(x + dot + 7, y2, rect.right() - x - dot - 13, fm.height())
        painter.drawText(
            status_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            painter.fontMetrics().elidedText(
                entry.status_text, Qt.TextElideMode.ElideRight, status_rect.width()
            ),
        )
        painter.restore()

    def createEditor(  # type: ignore[override]
        self, parent: QWidget, option: QStyleOptionViewItem, index: ModelIndex
    ) -> None:
        return None  # accounts are renamed in their own dialog, never inline
