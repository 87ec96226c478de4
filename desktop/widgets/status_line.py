"""The permanent right-hand part of the status bar: sync progress, "Computing…", and
where the marks shown come from."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar


class StatusLine:
    """``marks_text()`` gives the marks line and its tooltip; it is re-read every second
    ("updated 12:00:03" ages, a lost feed shows)."""

    def __init__(self, bar: QStatusBar, marks_text: Callable[[], tuple[str, str]]) -> None:
        self._marks_text = marks_text
        self.busy = QLabel("")
        self.busy.setObjectName("ChartReadout")
        self.marks = QLabel("")
        self.marks.setObjectName("ChartReadout")
        self.sync = QProgressBar()
        self.sync.setObjectName("SyncProgress")
        self.sync.setRange(0, 0)  # busy: a cycle reports steps, not fractions
        self.sync.setMaximumSize(160, 14)
        self.sync.setTextVisible(False)
        self.sync.setVisible(False)
        for widget in (self.sync, self.busy, self.marks):
            bar.addPermanentWidget(widget)
        self._clock = QTimer(bar)
        self._clock.timeout.connect(self.refresh_marks)
        self._clock.start(1000)

    def refresh_marks(self) -> None:
        self.set_marks(*self._marks_text())

    def stop(self) -> None:
        self._clock.stop()

    def set_busy(self, busy: bool) -> None:
        self.busy.setText("Computing…" if busy else "")

    def set_marks(self, text: str, tip: str) -> None:
        self.marks.setText(text)
        self.marks.setToolTip(tip)

    def set_syncing(self, busy: bool, tip: str) -> None:
        self.sync.setVisible(busy)
        self.sync.setToolTip(tip)
