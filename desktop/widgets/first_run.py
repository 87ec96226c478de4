"""The first-run banner: what the demo is and the three ways to start for real."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


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
        title = QLabel("You are looking at the demo account")
        title.setObjectName("FirstRunTitle")
        text = QLabel(
            "Prices are simulated and nothing is stored. Start with your own book: connect an "
            "exchange (read-only keys), log positions by hand, or open a scenario file."
        )
        text.setObjectName("FirstRunText")
        text.setWordWrap(True)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(title)
        column.addWidget(text)
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
        layout.setContentsMargins(14, 10, 10, 10)
        layout.addLayout(column, 1)
        for button in (self.add_account_button, self.log_position_button,
                       self.open_scenario_button, hide):
            layout.addWidget(button)

    def _hide(self) -> None:
        self.setVisible(False)
        self.dismissed.emit()
