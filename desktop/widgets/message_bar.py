"""An inline message bar (error / warning / info) shown above the content, never a popup."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

LEVELS = ("error", "warning", "info")


class MessageBar(QFrame):
    """Shows a message with an icon and a close button; info messages fade after a while.

    ``show_message(level, text, details)``: ``details`` (one line per problem, e.g. an
    :class:`~crossmargin.errors.InputError`'s ``problems``) is listed under the text.
    """

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setObjectName("MessageBarText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setAutoRaise(True)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.setVisible(False)

    def show_message(
        self, level: str, text: str, details: list[str] | None = None, *, timeout_ms: int = 0
    ) -> None:
        if level not in LEVELS:
            raise ValueError(level)
        icons = {
            "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
            "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
            "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
        }
        size = self.fontMetrics().height() + 4
        self.icon.setPixmap(self.style().standardIcon(icons[level]).pixmap(size, size))
        body = text
        if details:
            body += "\n" + "\n".join(f"• {line}" for line in details)
        self.text.setText(body)
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setVisible(True)
        if timeout_ms > 0:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def level(self) -> str:
        return str(self.property("level") or "")

    def message(self) -> str:
        return self.text.text()

    def dismiss(self) -> None:
        self._timer.stop()
        self.setVisible(False)
        self.dismissed.emit()
