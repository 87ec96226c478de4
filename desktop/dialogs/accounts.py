"""Add an exchange account: exchange, read-only keys (masked), test connection, advanced.

The dialog validates in place and never talks to the exchange or the disk itself: it
emits ``test_requested`` / ``save_requested`` with an :class:`AccountConfig` and the
:class:`Credentials`; the main window runs them on workers (:mod:`desktop.sync_ops`)
and answers with :meth:`show_test_result`, :meth:`show_problems` or ``accept()``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from crossmargin.errors import InputError
from crossmargin.sync.config import FIRST_CLASS, AccountConfig, Credentials
from desktop.dialogs.forms import clear_mark_on_edit, mark_invalid
from desktop.sync_ops import READ_ONLY_ADVICE

EXCHANGE_NAMES = {
    "binanceusdm": "Binance USDS-M futures",
    "binancecoinm": "Binance COIN-M futures",
    "bybit": "Bybit",
    "okx": "OKX",
}


class AccountsDialog(QDialog):
    """Form for one new exchange account (GUI thread only)."""

    test_requested = Signal(object, object)  # AccountConfig, Credentials
    save_requested = Signal(object, object)

    def __init__(self, *, store_kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add exchange account")
        self.setMinimumWidth(480)
        self._store_kind = store_kind
        self.label = QLineEdit()
        self.label.setPlaceholderText("e.g. binance main")
        self.exchange = QComboBox()
        self.exchange.setEditable(True)
        for exchange_id in FIRST_CLASS:
            self.exchange.addItem(f"{EXCHANGE_NAMES.get(exchange_id, exchange_id)}", exchange_id)
        self.exchange.setToolTip("Any ccxt exchange id works; the four listed are fully tested")
        self.settle = QLineEdit("USDT")
        self.network = QComboBox()
        self.network.addItems(["live", "testnet", "demo"])
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("OKX only: the API passphrase")
        advice = QLabel(READ_ONLY_ADVICE)
        advice.setWordWrap(True)
        advice.setObjectName("ChartReadout")
        where = {"keyring": "Keys are stored in your system keyring.",
                 "memory": "No system keyring here: keys are kept for this session only."}
        self.storage_note = QLabel(where.get(store_kind, ""))
        self.storage_note.setObjectName("ChartReadout")

        self.advanced = QGroupBox("Advanced")
        self.advanced.setCheckable(True)
        self.advanced.setChecked(False)
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText("https://… (regional host, proxy, replay server)")
        self.poll = QSpinBox()
        self.poll.setRange(10, 3600)
        self.poll.setValue(60)
        self.poll.setSuffix(" s")
        self.history_days = QSpinBox()
        self.history_days.setRange(1, 3650)
        self.history_days.setValue(30)
        self.history_days.setSuffix(" days")
        adv = QFormLayout(self.advanced)
        adv.addRow("Endpoint override", self.endpoint)
        adv.addRow("Poll every", self.poll)
        adv.addRow("First sync fetches", self.history_days)
        self.advanced.toggled.connect(self._toggle_advanced)
        self._toggle_advanced(False)

        form = QFormLayout()
        form.addRow("Name", self.label)
        form.addRow("Exchange", self.exchange)
        form.addRow("Settlement currency", self.settle)
        form.addRow("Network", self.network)
        form.addRow("API key", self.api_key)
        form.addRow("Secret", self.secret)
        form.addRow("Passphrase", self.password)

        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setVisible(False)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self._test)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        clear_mark_on_edit((self.label, self.settle, self.api_key, self.secret, self.endpoint))

        layout = QVBoxLayout(self)
        layout.addWidget(advice)
        layout.addLayout(form)
        layout.addWidget(self.storage_note)
        layout.addWidget(self.advanced)
        layout.addWidget(self.result_label)
        layout.addWidget(self.buttons)

    def _toggle_advanced(self, on: bool) -> None:
        for w in (self.endpoint, self.poll, self.history_days):
            w.setVisible(on)
        layout = self.advanced.layout()
        for i in range(layout.count() if layout is not None else 0):
            item = layout.itemAt(i) if layout is not None else None
            label = item.widget() if item is not None else None
            if isinstance(label, QLabel):
                label.setVisible(on)
        self.adjustSize()

    def exchange_id(self) -> str:
        text = self.exchange.currentText().strip()
        index = self.exchange.findText(text)
        if index >= 0 and self.exchange.itemData(index):
            return str(self.exchange.itemData(index))
        return text.lower()

    def build(self) -> tuple[AccountConfig | None, Credentials | None, list[str]]:
        """The typed account, or the problems (offending fields turn red)."""
        history = None
        endpoint = None
        if self.advanced.isChecked():
            endpoint = self.endpoint.text().strip() or None
            history = int(time.time() * 1000) - self.history_days.value() * 86_400_000
        config = AccountConfig(
            label=self.label.text().strip(), exchange=self.exchange_id(),
            settle=self.settle.text().strip().upper(), network=self.network.currentText(),
            endpoint=endpoint, poll_seconds=self.poll.value(), history_start=history,
            secret_store=self._store_kind,
        )
        problems: list[str] = []
        try:
            config.validate()
        except InputError as exc:
            problems.extend(exc.problems)
        fields = {"label": self.label, "settle": self.settle, "endpoint": self.endpoint}
        for name, edit in fields.items():
            mark_invalid(edit, any(p.startswith(f"{name}:") for p in problems))
        key, secret = self.api_key.text().strip(), self.secret.text().strip()
        mark_invalid(self.api_key, not key)
        mark_invalid(self.secret, not secret)
        if not key or not secret:
            problems.append("API key and secret: both are required (read-only key)")
        if problems:
            return None, None, problems
        return config, Credentials(key, secret, self.password.text().strip() or None), []

    def _test(self) -> None:
        config, creds, problems = self.build()
        if config is None:
            self.show_problems(problems)
            return
        self.test_button.setEnabled(False)
        self._show("info", "Testing the connection (one read-only request)…")
        self.test_requested.emit(config, creds)

    def _save(self) -> None:
        config, creds, problems = self.build()
        if config is None:
            self.show_problems(problems)
            return
        self.buttons.setEnabled(False)
        self.save_requested.emit(config, creds)

    def _show(self, tone: str, text: str) -> None:
        colour = {"ok": "good", "error": "bad", "info": "muted"}[tone]
        self.result_label.setObjectName("FieldProblem" if tone == "error" else "ChartReadout")
        self.result_label.setProperty("tone", colour)
        self.result_label.setText(text)
        self.result_label.setVisible(True)
        self.result_label.style().unpolish(self.result_label)
        self.result_label.style().polish(self.result_label)

    def show_test_result(self, ok: bool, message: str) -> None:
        self.test_button.setEnabled(True)
        self._show("ok" if ok else "error", ("✓ " if ok else "✗ ") + message)

    def show_problems(self, problems: Sequence[str]) -> None:
        self.buttons.setEnabled(True)
        self.test_button.setEnabled(True)
        self._show("error", "\n".join(f"• {p}" for p in problems))

    def result_text(self) -> str:
        return self.result_label.text()
