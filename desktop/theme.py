"""Light and dark themes that follow the system colour scheme.

A :class:`Theme` carries the palette colours and the chart colours; ``apply_theme``
sets the Fusion style, a matching :class:`QPalette` and the small stylesheet in
``resources/styles/app.qss`` (``@token`` placeholders are filled from the theme).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from crossmargin.resources import resource_path


@dataclass(frozen=True, slots=True)
class Theme:
    """Colours as ``#rrggbb`` strings. ``good``/``warn``/``bad`` colour risk levels."""

    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    card: str
    good: str
    warn: str
    bad: str
    chart_bg: str
    chart_fg: str
    grid: str
    equity: str
    ratio: str
    cross: str
    cross_mm: str
    isolated: str
    isolated_mm: str
    free: str

    @property
    def dark(self) -> bool:
        return self.name == "dark"


LIGHT = Theme(
    name="light", window="#f3f4f6", base="#ffffff", alt_base="#f7f8fa", text="#1b1f24",
    muted="#5f6b7a", border="#d5d9e0", accent="#2563eb", accent_text="#ffffff", card="#ffffff",
    good="#15803d", warn="#b45309", bad="#c81e1e", chart_bg="#ffffff", chart_fg="#3d4652",
    grid="#e5e7eb", equity="#2563eb", ratio="#7c3aed", cross="#3b82f6", cross_mm="#1e3a8a",
    isolated="#f59e0b", isolated_mm="#92400e", free="#d1d5db",
)

DARK = Theme(
    name="dark", window="#1b1e23", base="#23272e", alt_base="#282d35", text="#e6e9ef",
    muted="#9aa4b2", border="#363c46", accent="#4f8cff", accent_text="#ffffff", card="#262a31",
    good="#4ade80", warn="#fbbf24", bad="#f87171", chart_bg="#23272e", chart_fg="#b8c0cc",
    grid="#353b45", equity="#60a5fa", ratio="#a78bfa", cross="#3b82f6", cross_mm="#93c5fd",
    isolated="#f59e0b", isolated_mm="#fde68a", free="#3f4651",
)


def system_prefers_dark() -> bool:
    """True when the platform reports a dark colour scheme (Qt >= 6.5)."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def resolve_theme(choice: str) -> Theme:
    """``system``/``light``/``dark`` -> a :class:`Theme`."""
    if choice == "dark":
        return DARK
    if choice == "light":
        return LIGHT
    return DARK if system_prefers_dark() else LIGHT


def build_palette(theme: Theme) -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    colours = {
        role.Window: theme.window,
        role.WindowText: theme.text,
        role.Base: theme.base,
        role.AlternateBase: theme.alt_base,
        role.ToolTipBase: theme.card,
        role.ToolTipText: theme.text,
        role.PlaceholderText: theme.muted,
        role.Text: theme.text,
        role.Button: theme.card,
        role.ButtonText: theme.text,
        role.BrightText: theme.bad,
        role.Highlight: theme.accent,
        role.HighlightedText: theme.accent_text,
        role.Link: theme.accent,
        role.Mid: theme.border,
        role.Midlight: theme.alt_base,
        role.Dark: theme.border,
        role.Light: theme.base,
    }
    for r, colour in colours.items():
        pal.setColor(r, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(disabled, r, QColor(theme.muted))
    return pal


@cache
def _stylesheet_template() -> str:
    return resource_path("styles", "app.qss").read_text(encoding="utf-8")


def stylesheet(theme: Theme) -> str:
    """The app stylesheet with ``@token`` placeholders replaced by the theme's colours."""
    text = _stylesheet_template()
    # longest names first so "@cross_mm" is not eaten by "@cross"
    for key, value in sorted(asdict(theme).items(), key=lambda kv: -len(kv[0])):
        text = text.replace(f"@{key}", str(value))
    return text


def apply_theme(app: QApplication, theme: Theme) -> None:
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(build_palette(theme))
    app.setStyleSheet(stylesheet(theme))
