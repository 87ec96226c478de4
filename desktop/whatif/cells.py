"""Cell helpers shared by the What-if tab's table models: roles, alignments, theme
brushes and number formats.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from crossmargin.scenario import format_decimal
from desktop import formatting as fmt
from desktop.models.base import (
    ALIGN_LEFT,
    ALIGN_RIGHT,
)
from desktop.theme import Theme

DISPLAY = Qt.ItemDataRole.DisplayRole


EDIT = Qt.ItemDataRole.EditRole


CHECK = Qt.ItemDataRole.CheckStateRole


RIGHT = ALIGN_RIGHT


LEFT = ALIGN_LEFT


CENTER = int(Qt.AlignmentFlag.AlignCenter)


def theme_brushes(theme: Theme) -> dict[str, QBrush]:
    bad_bg = QColor(theme.bad)
    bad_bg.setAlpha(60 if theme.dark else 40)
    error_bg = QColor(theme.bad)
    error_bg.setAlpha(110 if theme.dark else 80)
    changed_bg = QColor(theme.accent)
    changed_bg.setAlpha(40 if theme.dark else 26)
    return {
        "bad": QBrush(QColor(theme.bad)),
        "good": QBrush(QColor(theme.good)),
        "warn": QBrush(QColor(theme.warn)),
        "muted": QBrush(QColor(theme.muted)),
        "accent": QBrush(QColor(theme.accent)),
        "bg-bad": QBrush(bad_bg),
        "bg-error": QBrush(error_bg),
        "bg-changed": QBrush(changed_bg),
    }


def plain_number(value: Decimal) -> str:
    """``value`` for an editor: plain digits, at most 8 decimals, no exponent."""
    if value.as_tuple().exponent < -8:  # type: ignore[operator]
        value = fmt.quantize(value, 8)
    return format_decimal(value.normalize())


def percent_text(value: Decimal | None) -> str:
    return fmt.percent(value, decimals=1, sign=True)
