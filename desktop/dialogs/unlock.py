"""Unlock the passphrase-encrypted key file for this session.

Exchange accounts added with ``--secrets file`` keep their API keys in an encrypted file
(AES-GCM under a scrypt key). The dialog asks for the passphrase (masked), emits it to
the main window, which tries it on a worker (scrypt is slow on purpose) and answers with
:meth:`UnlockKeysDialog.show_problems` (wrong passphrase: an inline message, the field
turns red, the dialog stays) or closes it. The keys then stay in memory until the app
quits; nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.dialogs.forms import mark_invalid, problem_label


class UnlockKeysDialog(QDialog):
    """Passphrase prompt. ``unlock_requested(str)`` carries the typed passphrase."""

    unlock_requested = Signal(str)

    def __init__(self, labels: Sequence[str], *, path: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unlock exchange keys")
        self.setMinimumWidth(460)
        names = ", ".join(f"“{label}”" for label in labels)
        intro = QLabel(
            f"The API keys of {names} are in the encrypted key file"
            f"{f' ({path})' if path else ''}. Enter its passphrase to sync "
            f"{'this account' if len(labels) == 1 else 'these accounts'}. The keys stay in "
            "memory until you quit CrossMargin; the passphrase is not stored."
        )
        intro.setWordWrap(True)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("Passphrase")
        self.passphrase.textChanged.connect(lambda _t: self._clear())
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        self.problems = problem_label()
        self.status = QLabel("")
        self.status.setObjectName("ChartReadout")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.unlock_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.unlock_button.setText("Unlock")
        self.buttons.accepted.connect(self._unlock)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    def _clear(self) -> None:
        mark_invalid(self.passphrase, False)
        self.problems.setVisible(False)

    def _unlock(self) -> None:
        text = self.passphrase.text()
        if not text:
            self.show_problems(["Passphrase: required"])
            return
        self.set_busy(True)
        self.unlock_requested.emit(text)

    def set_busy(self, busy: bool) -> None:
        self.unlock_button.setEnabled(not busy)
        self.passphrase.setEnabled(not busy)
        self.status.setText("Checking the passphrase…" if busy else "")

    def show_problems(self, problems: Sequence[str]) -> None:
        """The passphrase was refused: say why in place, keep the dialog open."""
        self.set_busy(False)
        mark_invalid(self.passphrase, True)
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(True)
        self.passphrase.selectAll()
        self.passphrase.setFocus()

    def unlocked(self) -> None:
        """Success: forget the typed text and close."""
        self.passphrase.clear()
        self.set_busy(False)
        self.accept()
