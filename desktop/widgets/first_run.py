"""The first-run banner: what the demo is and the three ways to start for real."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget


class FirstRunBanner(QFrame):
    """Shown while the demo account is selected and no account of the user's exists.

    Signals: ``add_account_clicked``, ``log_position_clicked``, ``open_scenario_clicked``,
    ``dismissed``.
    """

    add_account_clicked = Signal()
    log_position_clicked = Signal()
    open_scenario_clicked = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FirstRunBanner")
        # one compact line (the tabs need the height at 1280×800); the longer
        # explanation is the tooltip
        title = QLabel("Demo account")
        title.setObjectName("FirstRunTitle")
        text = QLabel("simulated prices, nothing stored. Start with your own book:")
        text.setObjectName("FirstRunText")
        text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setToolTip(
            "You are looking at the demo account: prices are simulated and nothing is "
            "stored. Start with your own book: connect an exchange (read-only keys), log "
            "positions by hand, or open a scenario file."
        )
        column = QHBoxLayout()
        column.setSpacing(6)
        column.addWidget(title)
        column.addWidget(text, 1)
        self.add_account_button = QPushButton("Add exchange account…")
        self.log_position_button = QPushButton("Log a position…")
        self.open_scenario_button = QPushButton("Open scenario file…")
        self.open_scenario_button.setDefault(True)
        hide = QPushButton("Hide")
        hide.setFlat(True)
        hide.setToolTip("Hide this banner (the actions stay in the File menu)")
        self.add_account_button.clicked.connect(self.add_account_clicked)
        self.log_position_button.clicked.connect(self.log_position_clicked)
        self.open_scenario_button.clicked.connect(self.open_scenario_clicked)
        hide.clicked.connect(self._hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 3, 6, 3)
        layout.setSpacing(6)
        layout.addLayout(column, 1)
        for button in (self.add_account_button, self.log_position_button,
                       self.open_scenario_button, hide):
            layout.addWidget(button)

    def _hide(self) -> None:
        self.setVisible(False)
        self.dismissed.emit()
