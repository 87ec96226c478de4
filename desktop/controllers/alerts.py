"""Margin-ratio alerts: watches each snapshot of the selected account, and when the
ratio crosses the user's alert says so in a desktop notification (or the status bar
where the platform has none) and in the message bar; keeps the tray tooltip current."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon

from desktop import formatting as fmt
from desktop.session import AccountEntry, RiskSnapshot
from desktop.settings import Preferences
from desktop.tray import MarginAlert, TrayIcon


class RiskAlerts(QObject):
    """``alerted(text)``: an alert fired; ``unnotified(text)`` too when the platform showed
    no desktop notification for it. ``show_requested()`` / ``quit_requested()`` come from
    the tray icon."""

    alerted = Signal(str)
    unnotified = Signal(str)
    show_requested = Signal()
    quit_requested = Signal()

    def __init__(self, prefs: Preferences, icon: QIcon, parent: QObject) -> None:
        super().__init__(parent)
        self._prefs = prefs
        self.alert = MarginAlert(prefs.margin_alert, self)
        self.alert.crossed.connect(self._on_crossed)
        self.tray = TrayIcon(icon, self)
        self.tray.show_requested.connect(self.show_requested)
        self.tray.quit_requested.connect(self.quit_requested)

    def set_preferences(self, prefs: Preferences) -> None:
        self._prefs = prefs
        self.alert.set_threshold(prefs.margin_alert)

    def observe(self, entry: AccountEntry, snap: RiskSnapshot) -> None:
        risk = snap.risk
        self.alert.observe(entry.key, entry.label, risk.margin_ratio, risk.cross_liquidated)
        self.tray.set_tooltip(f"CrossMargin — {entry.label}: margin ratio "
                              f"{fmt.percent(risk.margin_ratio)}")

    def _on_crossed(self, label: str, ratio: object) -> None:
        if not self._prefs.notifications:
            return
        shown = fmt.percent(ratio) if isinstance(ratio, Decimal) else "—"
        text = (f"{label}: margin ratio {shown} crossed your alert at "
                f"{fmt.percent(self._prefs.margin_alert, decimals=0)}")
        if not self.tray.notify("Margin ratio alert", text):
            self.unnotified.emit(text)
        self.alerted.emit(text)
