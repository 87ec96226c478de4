"""The theme: applies the chosen one to the application and to each registered window,
and follows the system colour scheme while the choice is ``system``."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from desktop.theme import Theme, apply_theme, resolve_theme


class Themed(Protocol):
    def apply_theme(self, theme: Theme) -> None: ...


class ThemeController(QObject):
    """Injected into the windows through :class:`desktop.services.Services` (``themes``)."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()  # owned by the Services of the run, not by the application
        self.app = app
        self.choice = "system"
        self.theme: Theme | None = None
        self.windows: list[Themed] = []
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)

    def apply(self, choice: str) -> Theme:
        """Use theme ``choice`` (``light``, ``dark`` or ``system``); returns the theme."""
        self.choice = choice
        theme = resolve_theme(choice)
        if theme is not self.theme:
            self.theme = theme
            apply_theme(self.app, theme)
        for window in self.windows:
            window.apply_theme(theme)
        return theme

    def register(self, window: Themed) -> None:
        self.windows.append(window)
        if self.theme is not None:
            window.apply_theme(self.theme)

    def unregister(self, window: Themed) -> None:
        if window in self.windows:
            self.windows.remove(window)

    def _on_scheme_changed(self, *_: object) -> None:
        if self.choice == "system":
            self.apply("system")
