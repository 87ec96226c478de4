"""Preferences: margin-ratio alert threshold, notifications, theme, demo feed speed."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.settings import THEMES, Preferences


class PreferencesDialog(QDialog):
    """Edits a :class:`Preferences`; read the result with :meth:`preferences` after accept."""

    def __init__(self, prefs: Preferences, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.alert = QDoubleSpinBox()
        self.alert.setRange(1.0, 100.0)
        self.alert.setDecimals(0)
        self.alert.setSingleStep(5.0)
        self.alert.setSuffix(" %")
        self.alert.setValue(float(prefs.margin_alert * 100))
        self.alert.setToolTip(
            "Notify when an account's margin ratio rises above this (100 % = liquidation)"
        )
        self.notifications = QCheckBox("Show a desktop notification when the threshold is crossed")
        self.notifications.setChecked(prefs.notifications)
        self.theme = QComboBox()
        for name in THEMES:
            self.theme.addItem({"system": "Follow the system", "light": "Light",
                                "dark": "Dark"}[name], name)
        self.theme.setCurrentIndex(max(0, self.theme.findData(prefs.theme)))
        self.feed = QSpinBox()
        self.feed.setRange(100, 10_000)
        self.feed.setSingleStep(100)
        self.feed.setSuffix(" ms")
        self.feed.setValue(prefs.feed_interval_ms)
        form = QFormLayout()
        form.addRow("Margin ratio alert", self.alert)
        form.addRow("", self.notifications)
        form.addRow("Theme", self.theme)
        form.addRow("Demo price tick", self.feed)
        note = QLabel("Alerts follow every account while the app runs (also from the tray).")
        note.setObjectName("ChartReadout")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def preferences(self) -> Preferences:
        return Preferences(
            margin_alert=Decimal(str(round(self.alert.value()))) / 100,
            notifications=self.notifications.isChecked(),
            theme=str(self.theme.currentData()),
            feed_interval_ms=self.feed.value(),
        )
