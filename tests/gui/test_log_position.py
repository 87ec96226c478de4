"""Logging a position through the dialog: it lands in the journal and in the table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.margin import evaluate
from crossmargin.storage import Journal
from desktop.models.positions import RAW_ROLE, PositionColumn
from desktop.session import EntryKind

pytestmark = pytest.mark.gui


def _open_dialog(window, qtbot):
    window.log_position()
    qtbot.waitUntil(lambda: window.journals.log_dialog is not None
                    and window.journals.log_dialog.isVisible(), timeout=10_000)
    return window.journals.log_dialog


def _fill(dialog, **values: str) -> None:
    fields = {
        "symbol": "BTC/USDT:USDT", "contracts": "0.5", "entry": "60000", "mark": "61000",
        "leverage": "10", "mmr": "0.005",
    }
    fields.update(values)
    for name, text in fields.items():
        getattr(dialog, name).setText(text)


def test_a_logged_position_appears_with_the_engine_liquidation_price(window, qtbot) -> None:
    dialog = _open_dialog(window, qtbot)
    assert dialog.account.currentData() == -1  # no account yet: a new manual one
    # the new account trades on Binance USDⓈ-M (the first choice): its published tiers,
    # no typed or made-up maintenance rate
    assert dialog.new_exchange.currentData() == "binanceusdm"
    assert not dialog.needs_rate() and not dialog._form.isRowVisible(dialog.mmr)
    dialog.new_label.setText("My book")
    dialog.new_wallet.setText("10,000")
    _fill(dialog, mmr="")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(
        lambda: window.session.entry is not None
        and window.session.entry.kind is EntryKind.JOURNAL
        and window.session.snapshot is not None
        and window.session.snapshot.state == window.session.state,
        timeout=10_000,
    )
    assert not dialog.isVisible()
    assert window.session.entry.label == "My book"
    state = window.session.state
    assert state.wallet_balance == Decimal("10000")
    (position,) = state.positions
    assert position.symbol == "BTC/USDT:USDT" and position.contracts == Decimal("0.5")
    assert position.mark_price == Decimal("61000") and position.leverage == Decimal("10")
    expected = evaluate(state).positions[0]
    model = window.positions.model
    row = model.row_of(position.id)
    assert row >= 0
    lp = model.index(row, PositionColumn.LIQUIDATION).data(RAW_ROLE)
    assert lp == expected.liquidation_price and lp is not None
    # cross long, wallet 10,000, 0.5 BTC from 60,000; Binance's first BTCUSDT bracket
    # (MMR 0.4 %, no maintenance amount, from the bundled snapshot): the textbook price
    q, w, e, mmr = Decimal("0.5"), Decimal("10000"), Decimal("60000"), Decimal("0.004")
    assert abs(lp - (w - q * e) / (q * mmr - q)) < Decimal("1e-20")
    assert "bundled with CrossMargin (as of 2026-09)" in window.header.detail.toolTip()
    # the account is in the list, the banner is gone, the journal holds it
    assert any(e.kind is EntryKind.JOURNAL for e in window.accounts_model.entries())
    assert not window.banner.isVisible()


def test_bad_input_is_shown_in_place_and_nothing_is_stored(window, qtbot) -> None:
    dialog = _open_dialog(window, qtbot)
    dialog.new_exchange.setCurrentIndex(dialog.new_exchange.findData(None))  # generic rules
    assert dialog.needs_rate() and dialog._form.isRowVisible(dialog.mmr)
    dialog.new_wallet.setText("lots")
    _fill(dialog, symbol="", contracts="-1", entry="abc", leverage="0", mmr="2")
    dialog.buttons.accepted.emit()
    assert dialog.isVisible()
    text = dialog.problems.text()
    for needle in ("Wallet balance", "Symbol: required", "Contracts: must be greater than 0",
                   "Entry price", "not a number", "Leverage", "Maintenance rate"):
        assert needle in text
    red = {e for e in dialog.invalid_fields()}
    assert {dialog.new_wallet, dialog.symbol, dialog.contracts, dialog.entry, dialog.leverage,
            dialog.mmr} <= red
    # typing fixes clear the red frame of that field
    dialog.entry.setText("60000")
    assert dialog.entry not in dialog.invalid_fields()
    qtbot.wait(50)
    assert window.journal is not None and window.journal.accounts() == []


def test_a_refused_position_keeps_the_dialog_open_and_stores_nothing(window, qtbot) -> None:
    dialog = _open_dialog(window, qtbot)
    dialog.new_wallet.setText("5000")
    _fill(dialog)
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: window.session.entry is not None
                    and window.session.entry.kind is EntryKind.JOURNAL, timeout=10_000)
    journal: Journal = window.journal
    (account,) = journal.accounts()
    before = journal.open_positions(account.id)

    second = _open_dialog(window, qtbot)
    assert second.account.currentData() == int(account.id)
    _fill(second)  # same symbol and side again: the journal refuses a second open position
    second.buttons.accepted.emit()
    qtbot.waitUntil(second.problems.isVisible, timeout=10_000)
    assert second.isVisible()
    assert "already has an open BTC/USDT:USDT" in second.problems.text()
    assert journal.open_positions(account.id) == before
    assert len(journal.accounts()) == 1
    second.reject()


def test_refused_position_in_a_new_account_leaves_no_account(window, qtbot) -> None:
    dialog = _open_dialog(window, qtbot)
    dialog.new_wallet.setText("5000")
    _fill(dialog, symbol="   ")  # passes nothing: caught in the form
    dialog.buttons.accepted.emit()
    assert "Symbol" in dialog.problems.text()
    _fill(dialog, symbol="BTC/USDT:USDT", stop="-5")
    dialog.buttons.accepted.emit()
    assert "Stop: must be greater than 0" in dialog.problems.text()
    qtbot.wait(50)
    assert window.journal.accounts() == []


def test_typed_numbers_follow_the_locale_and_refuse_ambiguity() -> None:
    """The forms read '250,5' as the user's locale writes it, never as 2505."""
    from desktop.validation import SEPARATORS, parse_decimal_field, use_locale_separators

    saved = dict(SEPARATORS)
    try:
        assert parse_decimal_field("10,000", "Wallet")[0] == 10000  # English locale
        value, problem = parse_decimal_field("250,5", "Price")
        assert value is None and "ambiguous" in problem and "250.5" in problem
        use_locale_separators(",", ".")  # a German or French user
        assert parse_decimal_field("250,5", "Price")[0] == Decimal("250.5")
        assert parse_decimal_field("1.234,5", "Price")[0] == Decimal("1234.5")
        value, problem = parse_decimal_field("250.5", "Price")
        assert value is None and "ambiguous" in problem
    finally:
        SEPARATORS.update(saved)


def test_stop_and_target_on_the_wrong_side_are_refused_and_time_and_fee_kept(window,
                                                                            qtbot) -> None:
    dialog = _open_dialog(window, qtbot)
    dialog.new_wallet.setText("10000")
    _fill(dialog, mmr="")
    dialog.stop.setText("61000")  # a long's stop above its entry of 60,000
    dialog.target.setText("59000")
    dialog.buttons.accepted.emit()
    text = dialog.problems.text()
    assert "Stop: a long's stop is below the entry" in text
    assert "Target: a long's target is above the entry" in text
    assert {dialog.stop, dialog.target} <= set(dialog.invalid_fields())
    dialog.stop.setText("58000")  # checked again as it is typed: the stop's problem goes
    assert "Stop:" not in dialog.problems.text() and "Target:" in dialog.problems.text()
    dialog.target.setText("65000")
    assert not dialog.problems.isVisible()
    dialog.opened.setText("2026-11-30 09:15:00")
    dialog.fee.setText("12.5")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: window.journal is not None and bool(window.journal.accounts())
                    and bool(window.journal.open_positions(window.journal.accounts()[0].id)),
                    timeout=10_000)
    (pos,) = window.journal.open_positions(window.journal.accounts()[0].id)
    assert pos.fees == Decimal("12.5") and pos.stop_price == 58000
    assert pos.opened_at.astimezone().strftime("%Y-%m-%d %H:%M") == "2026-11-30 09:15"
