"""Add exchange account: inline validation, a clear test-connection answer, safe storage."""

from __future__ import annotations

import socket

import pytest

from crossmargin.sync.config import AccountRegistry, registry_path
from desktop.session import AccountKind

pytestmark = pytest.mark.gui


def _open(window, qtbot):
    window.add_exchange_account()
    qtbot.waitUntil(lambda: window.accounts_dialog is not None
                    and window.accounts_dialog.isVisible(), timeout=10_000)
    return window.accounts_dialog


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def test_bad_input_is_shown_in_place_and_nothing_is_stored(window, qtbot) -> None:
    dialog = _open(window, qtbot)
    assert dialog.api_key.echoMode() == dialog.api_key.EchoMode.Password
    assert dialog.secret.echoMode() == dialog.secret.EchoMode.Password
    dialog.label.setText("bad/label!")
    dialog.exchange.setEditText("nosuchexchange")
    dialog.settle.setText("US DT")
    dialog.buttons.accepted.emit()
    text = dialog.result_text()
    assert dialog.isVisible()
    for needle in ("label:", "exchange: unknown ccxt exchange id", "settle:", "API key and secret"):
        assert needle in text
    assert dialog.label.property("invalid") and dialog.api_key.property("invalid")
    dialog.advanced.setChecked(True)
    dialog.endpoint.setText("ftp://example")
    dialog.buttons.accepted.emit()
    assert "endpoint:" in dialog.result_text()
    assert AccountRegistry().all() == []
    assert window.journal.accounts() == []
    dialog.reject()


def test_connection_failure_is_a_clear_message_and_stores_nothing(window, qtbot) -> None:
    dialog = _open(window, qtbot)
    dialog.label.setText("local test")
    dialog.api_key.setText("k" * 16)
    dialog.secret.setText("s" * 32)
    dialog.advanced.setChecked(True)
    dialog.endpoint.setText(f"http://127.0.0.1:{_closed_port()}")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.result_text().startswith("✗"), timeout=30_000)
    message = dialog.result_text()
    assert "s" * 32 not in message and "k" * 16 not in message  # keys never echoed
    assert dialog.test_button.isEnabled()
    assert AccountRegistry().all() == []
    dialog.reject()


def test_saving_registers_the_account_without_writing_keys_to_disk(window, qtbot) -> None:
    dialog = _open(window, qtbot)
    dialog.label.setText("binance main")
    dialog.api_key.setText("APIKEY-1234567890")
    dialog.secret.setText("SECRET-abcdefghijklmnop")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    (config,) = AccountRegistry().all()
    assert config.label == "binance main" and config.exchange == "binanceusdm"
    stored = registry_path().read_text()
    assert "APIKEY-1234567890" not in stored and "SECRET-abcdefghijklmnop" not in stored
    (account,) = window.journal.accounts()
    assert str(account.kind) == "exchange" and account.label == "binance main"
    qtbot.waitUntil(lambda: any(e.kind is AccountKind.EXCHANGE
                                for e in window.accounts_model.entries()), timeout=10_000)
    entry = next(e for e in window.accounts_model.entries() if e.kind is AccountKind.EXCHANGE)
    assert entry.status_text.startswith("Not synced yet")
    # the same name again is refused in place
    again = _open(window, qtbot)
    again.label.setText("binance main")
    again.api_key.setText("x" * 10)
    again.secret.setText("y" * 10)
    again.buttons.accepted.emit()
    qtbot.waitUntil(lambda: "already exists" in again.result_text(), timeout=10_000)
    assert len(AccountRegistry().all()) == 1 and len(window.journal.accounts()) == 1
    again.reject()
