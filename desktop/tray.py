"""Margin-ratio alerts: crossing detection (pure) and the tray icon that shows them."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

HYSTERESIS = Decimal("0.02")  # re-arm only after the ratio fell 2 points below the threshold


class MarginAlert(QObject):
    """Emits ``crossed(account_label, ratio)`` when a margin ratio rises through ``threshold``.

    Ratios are fractions (1 = liquidation). After an alert the account re-arms only
    once its ratio is back below ``threshold − 2 %`` so a ratio hovering at the line
    does not spam notifications. ``None`` (no cross position) re-arms.
    """

    crossed = Signal(str, object)

    def __init__(self, threshold: Decimal, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = threshold
        self._armed: dict[str, bool] = {}

    def set_threshold(self, threshold: Decimal) -> None:
        self.threshold = threshold
        self._armed.clear()

    def observe(
        self, key: str, label: str, ratio: Decimal | None, liquidated: bool = False
    ) -> bool:
        """Feed the latest ratio of account ``key``; return True if an alert fired."""
        armed = self._armed.get(key, True)
        if liquidated and armed:
            self._armed[key] = False
            self.crossed.emit(label, ratio)
            return True
        if ratio is None:
            self._armed[key] = True
            return False
        if armed and ratio >= self.threshold:
            self._armed[key] = False
            self.crossed.emit(label, ratio)
            return True
        if not armed and ratio < self.threshold - HYSTERESIS:
            self._armed[key] = True
        return False


class TrayIcon(QObject):
    """The system-tray icon (only when the platform has a tray)."""

    show_requested = Signal()
    quit_requested = Signal()

    def __init__(self, icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tray: QSystemTrayIcon | None = None
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        self.tray = QSystemTrayIcon(icon, self)
        self.tray.setToolTip("CrossMargin")
        menu = QMenu()
        menu.addAction("Show CrossMargin", self.show_requested.emit)
        menu.addSeparator()
        menu.addAction("Quit", self.quit_requested.emit)
        self._menu = menu
        self.tray.setContextMenu(menu)
        self.tray.activated.connect(self._on_activated)
        self.tray.show()

    @property
    def available(self) -> bool:
        return self.tray is not None

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.show_requested.emit()

    def notify(self, title: str, message: str) -> bool:
        """Show a desktop notification; False when there is no tray."""
        if self.tray is None:
            return False
        self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Warning, 10_000)
        return True

    def set_tooltip(self, text: str) -> None:
        if self.tray is not None:
            self.tray.setToolTip(text)
