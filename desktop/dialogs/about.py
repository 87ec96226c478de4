"""The About dialog."""

from __future__ import annotations

import platform

import pyqtgraph as pg
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from crossmargin import __version__
from crossmargin.paths import config_dir, data_dir


class AboutDialog(QDialog):
    def __init__(self, *, icon: QIcon | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About CrossMargin")
        logo = QLabel()
        if icon is not None and not icon.isNull():
            logo.setPixmap(icon.pixmap(72, 72))
        title = QLabel(f"<h2>CrossMargin {__version__}</h2>")
        body = QLabel(
            "A local-first trading journal and margin-risk monitor for crypto derivatives: "
            "exact cross and isolated maintenance margin, margin ratio and liquidation prices "
            "under each exchange's published rules, and what-if scenarios for the whole "
            "book.<br><br>Private by design: no cloud, no telemetry. API keys stay in your "
            "system keyring.<br><br>"
            f"<span style='color:gray'>Data: {data_dir()}<br>Settings: {config_dir()}<br>"
            f"Python {platform.python_version()} · Qt for Python {pyside_version} · "
            f"pyqtgraph {pg.__version__}</span>"
        )
        body.setWordWrap(True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.setMinimumWidth(420)
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(body)
        row = QHBoxLayout()
        row.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        row.addSpacing(12)
        row.addLayout(text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
