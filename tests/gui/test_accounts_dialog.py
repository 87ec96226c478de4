"""Add exchange account: inline validation, a clear test-connection answer, safe storage."""

from __future__ import annotations

import socket

import pytest

from crossmargin.sync.config import AccountRegistry, registry_path
from desktop import sync_ops
from desktop.models.positions import RAW_ROLE
from desktop.session import EntryKind, EntryStatus
from tests.sync.conftest import KEYS, server_for

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _memory_keys(monkeypatch):
    """Never write test keys into the real OS keyring."""
    monkeypatch.setattr(sync_ops, "default_store_kind", lambda: "memory")


def _open(window, qtbot):
    window.add_exchange_account()
    qtbot.waitUntil(lambda: window.sync.accounts_dialog is not None
                    and window.sync.accounts_dialog.isVisible(), timeout=10_000)
    return window.sync.accounts_dialog


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
    dialog.advanced.setChecked(True)  # the first sync starts at once: keep it off the internet
    dialog.endpoint.setText(f"http://127.0.0.1:{_closed_port()}")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    (config,) = AccountRegistry().all()
    assert config.label == "binance main" and config.exchange == "binanceusdm"
    stored = registry_path().read_text()
    assert "APIKEY-1234567890" not in stored and "SECRET-abcdefghijklmnop" not in stored
    (account,) = window.journal.accounts()
    assert str(account.kind) == "exchange" and account.label == "binance main"
    qtbot.waitUntil(lambda: any(e.kind is EntryKind.EXCHANGE
                                for e in window.accounts_model.entries()), timeout=10_000)
    # the first sync runs at once and fails against the closed port: stale, with the reason
    qtbot.waitUntil(lambda: next(e for e in window.accounts_model.entries()
                                 if e.kind is EntryKind.EXCHANGE).status_text
                    .startswith(("Stale", "Needs attention")), timeout=60_000)
    entry = next(e for e in window.accounts_model.entries() if e.kind is EntryKind.EXCHANGE)
    assert entry.status_text.startswith(("Stale since never", "Needs attention"))
    assert "SECRET-abcdefghijklmnop" not in entry.status_text
    # the same name again is refused in place
    again = _open(window, qtbot)
    again.label.setText("binance main")
    again.api_key.setText("x" * 10)
    again.secret.setText("y" * 10)
    again.buttons.accepted.emit()
    qtbot.waitUntil(lambda: "already exists" in again.result_text(), timeout=10_000)
    assert len(AccountRegistry().all()) == 1 and len(window.journal.accounts()) == 1
    again.reject()


def test_an_exchange_account_tests_syncs_and_shows_exchange_prices(window, qtbot) -> None:
    """Against the local replay server of the sync tests (recorded Binance answers)."""
    creds = KEYS["binanceusdm"]
    with server_for("binanceusdm") as srv:
        dialog = _open(window, qtbot)
        dialog.label.setText("binance replay")
        dialog.api_key.setText(creds.api_key)
        dialog.secret.setText(creds.secret)
        dialog.advanced.setChecked(True)
        dialog.endpoint.setText(srv.base_url)
        dialog.history_days.setValue(3650)
        dialog.test_button.click()
        qtbot.waitUntil(lambda: dialog.result_text().startswith(("✓", "✗")), timeout=60_000)
        assert dialog.result_text().startswith("✓ Connected:"), dialog.result_text()
        dialog.buttons.accepted.emit()
        qtbot.waitUntil(lambda: str(getattr(window.sync.statuses.get("binance replay"), "state",
                                            "")) == "ok", timeout=90_000)
        entry = next(e for e in window.accounts_model.entries() if e.label == "binance replay")
        assert entry.status is EntryStatus.LIVE and entry.status_text.startswith("Synced")
        window.select_account(entry.key)
        qtbot.waitUntil(lambda: window.session.entry is not None
                        and window.session.entry.key == entry.key, timeout=30_000)
        # the synced book (recorded: one BTC position with the exchange's liquidation price)
        qtbot.waitUntil(lambda: window.session.state is not None
                        and bool(window.session.state.positions)
                        and window.session.snapshot is not None
                        and window.session.snapshot.state == window.session.state,
                        timeout=30_000)
    window.sync.service.stop(wait=True)
    window.sync.service = None
    (position,) = window.session.state.positions
    assert position.exchange_liquidation_price is not None
    assert not window.positions.table.isColumnHidden(13)  # PositionColumn.EXCHANGE_LIQUIDATION
    row = window.positions.model.row_of(position.id)
    assert window.positions.model.index(row, 13).data(RAW_ROLE) == \
        position.exchange_liquidation_price
    assert not window.message_bar.isVisible()
