"""Journal tab: positions of the selected journal account, undoable edits, CSV import."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.domain import Side
from crossmargin.storage import Journal
from desktop.models.journal import RAW_ROLE, JournalColumn, JournalPositionsTableModel

pytestmark = pytest.mark.gui


def test_journal_tab_lists_the_account_positions(journal_window) -> None:
    view = journal_window.journal_view
    assert not view.splitter.isHidden() and view.empty_label.isHidden()
    model = view.model
    assert model.index(0, JournalColumn.SYMBOL).data() == "BTC/USDT"
    assert model.index(0, JournalColumn.STATUS).data() == "Open"
    assert model.index(0, JournalColumn.ENTRY).data(RAW_ROLE) == Decimal("60000")
    assert journal_window.tabs.tabText(journal_window.tabs.indexOf(view)) == "Journal"


def test_edits_are_stored_and_undoable(journal_window, qtbot) -> None:
    view = journal_window.journal_view
    journal: Journal = journal_window.journal
    pid = int(view.model.position_at(0).id)
    view.apply_edit(pid, {"notes": "breakout retest", "stop_price": Decimal("58000"),
                          "tags": ["swing"]})
    qtbot.waitUntil(lambda: journal.position(pid).notes == "breakout retest", timeout=10_000)
    assert journal.position(pid).stop_price == Decimal("58000")
    assert journal.position(pid).tags == ("swing",)
    qtbot.waitUntil(lambda: view.model.position_at(0).notes == "breakout retest", timeout=10_000)
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: journal.position(pid).notes == "", timeout=10_000)
    assert journal.position(pid).stop_price is None and journal.position(pid).tags == ()
    assert view.redo_button.isEnabled() and view.redo_button.isVisibleTo(view)
    assert view.redo_button.toolTip().startswith("Redo Edit")
    view.redo_button.click()
    qtbot.waitUntil(lambda: journal.position(pid).notes == "breakout retest", timeout=10_000)


def test_bad_edit_shows_the_journal_problem_inline(journal_window, qtbot) -> None:
    view = journal_window.journal_view
    pid = int(view.model.position_at(0).id)
    view.apply_edit(pid, {"rating": 9})
    qtbot.waitUntil(journal_window.message_bar.isVisible, timeout=10_000)
    assert "rating" in journal_window.message_bar.message()
    assert journal_window.journal.position(pid).rating is None


def test_csv_import_previews_then_imports(journal_window, qtbot, tmp_path: Path) -> None:
    view = journal_window.journal_view
    csv = tmp_path / "fills.csv"
    csv.write_text(
        "time,symbol,side,price,amount,fee\n"
        "2026-01-02T10:00:00Z,ETH/USDT:USDT,buy,3000,2,0.6\n"
        "2026-01-03T10:00:00Z,ETH/USDT:USDT,sell,3300,2,0.66\n"
        "2026-01-04T10:00:00Z,ETH/USDT:USDT,sell,abc,1,0\n"
    )
    dialog = view.import_dialog_for_file(csv)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    report = dialog.report
    assert report.dry_run and report.new == 2 and len(report.rejected) == 1
    assert dialog.table.rowCount() == 2
    assert "line 4" in dialog.rejected_label.text()
    before = len(journal_window.journal.positions().items)
    dialog.import_button.click()
    # a progress bar runs while the journal imports (issue 5 §8)
    assert dialog.progress.isVisible() and dialog.summary.text() == "Importing…"
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=10_000)
    assert len(journal_window.journal.positions().items) == before + 1
    eth = next(view.model.position_at(r) for r in range(2)
               if view.model.position_at(r).symbol == "ETH/USDT:USDT")
    assert eth.side is Side.LONG and not eth.is_open
    stats = view.stats_labels["trades"].text()
    assert stats.startswith("1 ")


def test_csv_with_the_wrong_format_says_why(journal_window, qtbot, tmp_path: Path) -> None:
    view = journal_window.journal_view
    csv = tmp_path / "other.csv"
    csv.write_text("when,what\n1,2\n")
    dialog = view.import_dialog_for_file(csv)
    qtbot.waitUntil(lambda: dialog.rejected_label.text() != "", timeout=10_000)
    assert "not found" in dialog.rejected_label.text()
    assert not dialog.import_button.isEnabled()
    dialog.reject()


def test_journal_model_passes_qtmodeltester(journal_window, qtmodeltester) -> None:
    qtmodeltester.check(journal_window.journal_view.model, force_py=True)
    qtmodeltester.check(JournalPositionsTableModel(), force_py=True)


def test_a_position_is_closed_from_the_app_partly_then_fully_and_undone(journal_window,
                                                                       qtbot) -> None:
    """Right click ▸ Close position…: the fields are checked as they are typed, a partial
    close leaves the rest open, Ctrl+Z reopens it, the full close ends the position."""
    view = journal_window.journal_view
    journal: Journal = journal_window.journal
    journal_window.tabs.setCurrentWidget(view)
    view.table.setCurrentIndex(view.model.index(0, 0))
    pid = int(view.model.position_at(0).id)
    view._positions_menu(view.table.visualRect(view.model.index(0, 0)).center())
    titles = [a.text() for a in view.positions_menu.actions()]
    assert "Close position…" in titles and "Edit position…" in titles
    view.positions_menu.close()
    dialog = view.close_selected()
    assert dialog is not None
    # checked as typed: no price, too large a size, a time before the open
    dialog.price.setText("")
    assert not dialog.close_button.isEnabled() and "Exit price" in dialog.problems.text()
    dialog.price.setText("62000")
    dialog.contracts.setText("5")
    assert not dialog.close_button.isEnabled() and "only 0.5 are open" in dialog.problems.text()
    dialog.contracts.setText("0.2")
    dialog.time.setText("2001-01-01 00:00:00")
    assert "before the position opened" in dialog.problems.text()
    dialog.time.setText("2099-01-01 00:00:00")
    assert dialog.close_button.isEnabled()
    dialog.close_button.click()
    qtbot.waitUntil(lambda: journal.position(pid).contracts == Decimal("0.3"), timeout=10_000)
    view.undo_action.trigger()
    qtbot.waitUntil(lambda: journal.position(pid).contracts == Decimal("0.5"), timeout=10_000)
    view.redo_action.trigger()
    qtbot.waitUntil(lambda: journal.position(pid).contracts == Decimal("0.3"), timeout=10_000)
    qtbot.waitUntil(lambda: view.model.rowCount() >= 1 and view.model.position_at(0)
                    is not None and view.model.position_at(0).contracts == Decimal("0.3"),
                    timeout=10_000)
    view.table.setCurrentIndex(view.model.index(0, 0))
    full = view.close_selected()
    full.price.setText("63000")
    full.time.setText("2099-01-02 00:00:00")
    full.close_button.click()
    qtbot.waitUntil(lambda: not journal.position(pid).is_open, timeout=10_000)
    closed = journal.position(pid)
    assert closed.realized_pnl == Decimal("0.2") * 2000 + Decimal("0.3") * 3000
    qtbot.waitUntil(lambda: view.model.position_at(0) is not None
                    and not view.model.position_at(0).is_open, timeout=10_000)
    view.table.setCurrentIndex(view.model.index(0, 0))
    assert view.close_selected() is None  # a closed position cannot be closed again


def test_a_fill_is_added_from_the_app_and_undone(journal_window, qtbot) -> None:
    view = journal_window.journal_view
    journal: Journal = journal_window.journal
    journal_window.tabs.setCurrentWidget(view)
    view.table.setCurrentIndex(view.model.index(0, 0))
    pid = int(view.model.position_at(0).id)
    dialog = view.add_fill_selected()
    assert dialog is not None and dialog.side.currentData() == "buy"  # scale in a long
    dialog.contracts.setText("-1")
    assert not dialog.add_button.isEnabled()
    dialog.contracts.setText("0.5")
    dialog.price.setText("62000")
    dialog.time.setText("2099-01-01 00:00:00")
    assert dialog.add_button.isEnabled()
    dialog.add_button.click()
    qtbot.waitUntil(lambda: journal.position(pid).contracts == Decimal(1), timeout=10_000)
    assert journal.position(pid).entry_price == Decimal(61000)
    view.undo_action.trigger()
    qtbot.waitUntil(lambda: journal.position(pid).contracts == Decimal("0.5"), timeout=10_000)


def test_leverage_and_margin_mode_are_edited_in_the_app_and_undone(journal_window, qtbot):
    from desktop.dialogs.edit_position import EditPositionDialog

    view = journal_window.journal_view
    journal: Journal = journal_window.journal
    position = view.model.position_at(0)
    pid = int(position.id)
    dialog = EditPositionDialog(position)
    dialog.leverage.setText("0")  # checked as it is typed
    assert not dialog.problems.isHidden() and "Leverage" in dialog.problems.text()
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Save).isEnabled()
    dialog.leverage.setText("25")
    dialog.mode.setCurrentIndex(dialog.mode.findData("isolated"))
    dialog.isolated_margin.setText("1500")
    dialog._accept()
    assert dialog.changes() == {"leverage": Decimal(25), "margin_mode": "isolated",
                                "isolated_margin": Decimal(1500)}
    view.apply_edit(pid, dialog.changes())
    qtbot.waitUntil(lambda: journal.position(pid).leverage == 25
                    and str(journal.position(pid).margin_mode) == "isolated", timeout=10_000)
    assert journal.position(pid).isolated_margin == 1500
    view.undo_action.trigger()
    qtbot.waitUntil(lambda: journal.position(pid).leverage == 10
                    and str(journal.position(pid).margin_mode) == "cross", timeout=10_000)


def test_a_closed_pnl_export_imports_as_closed_positions(journal_window, qtbot,
                                                         tmp_path: Path) -> None:
    view = journal_window.journal_view
    csv = tmp_path / "closed.csv"
    csv.write_text("Contracts,Closing Direction,Qty,Entry Price,Exit Price,Closed P&L,"
                   "Exit Type,Trade Time(UTC+0)\n"
                   "ETHUSDT,Sell,2,3000,3100,199.2,Trade,2024-08-23 10:22:46\n")
    dialog = view.import_dialog_for_file(csv)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    assert "Read as closed positions (bybit closed-P&L export)" in dialog.summary.text()
    assert dialog.table.rowCount() == 2  # its opening and closing fill
    dialog.import_button.click()
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=10_000)
    eth = next(view.model.position_at(r) for r in range(2)
               if view.model.position_at(r).symbol == "ETH/USDT:USDT")
    assert not eth.is_open and eth.net_pnl == Decimal("199.2")


def test_size_entry_and_open_time_are_edited_in_the_app_and_undone(journal_window, qtbot):
    """The Edit dialog (double-click, Enter, context menu) edits the opening fill of a
    position opened by one fill; the position is rebuilt; Ctrl+Z puts it back."""
    from datetime import UTC, datetime

    view = journal_window.journal_view
    journal: Journal = journal_window.journal
    position = view.model.position_at(0)
    pid = int(position.id)
    before = journal.position(pid)
    view.table.setCurrentIndex(view.model.index(0, 0))
    view.edit_selected()
    qtbot.waitUntil(lambda: view.position_dialog is not None, timeout=10_000)
    dialog = view.position_dialog
    assert not dialog.opening_size.isReadOnly()
    assert dialog.opening_size.text() == str(before.max_contracts)
    save = dialog.buttons.button(dialog.buttons.StandardButton.Save)
    dialog.entry.setText("-5")
    assert "Entry" in dialog.problems.text() and not save.isEnabled()
    dialog.entry.setText("59000")
    dialog.stop.setText("59500")  # a long's stop above its entry: said as it is typed
    assert "below the entry" in dialog.problems.text() and not save.isEnabled()
    dialog.stop.setText("")
    dialog.opening_size.setText("0.75")
    dialog.opened.setText("2026-01-01 08:00:00")
    assert dialog.problems.isHidden() and save.isEnabled()
    save.click()
    qtbot.waitUntil(lambda: journal.position(pid).entry_price == Decimal(59000), timeout=10_000)
    after = journal.position(pid)
    assert after.max_contracts == Decimal("0.75")
    assert after.opened_at == datetime(2026, 1, 1, 8, 0).astimezone().astimezone(UTC)
    assert view.undo_stack.undoText() == "Edit entry, open time, size"
    view.undo_action.trigger()
    qtbot.waitUntil(lambda: journal.position(pid).entry_price == before.entry_price,
                    timeout=10_000)
    restored = journal.position(pid)
    assert (restored.max_contracts, restored.opened_at) == (before.max_contracts,
                                                            before.opened_at)


def test_a_scaled_in_position_shows_why_size_is_edited_through_its_fills(journal_window,
                                                                          qtbot):
    from crossmargin.storage import NewFill

    view = journal_window.journal_view
    journal: Journal = journal_window.journal
    position = view.model.position_at(0)
    pid = int(position.id)
    journal.add_fill(position.account_id, NewFill(
        symbol=position.symbol, side="buy", price=Decimal(61000), amount=Decimal("0.1"),
        time=position.opened_at.replace(minute=(position.opened_at.minute + 1) % 60)))
    view.reload()
    qtbot.waitUntil(lambda: view.model.position_at(0).fill_count == 2, timeout=10_000)
    view.table.setCurrentIndex(view.model.index(0, 0))
    view.edit_selected()
    qtbot.waitUntil(lambda: view.position_dialog is not None, timeout=10_000)
    dialog = view.position_dialog
    assert dialog.opening_size.isReadOnly() and dialog.entry.isReadOnly()
    assert "2 opening fills" in dialog.opening_note.text()
    dialog.notes.setPlainText("added on the retest")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: journal.position(pid).notes == "added on the retest",
                    timeout=10_000)


def test_writes_pass_the_journals_change_descriptor_to_the_window(journal_window, qtbot,
                                                                   monkeypatch) -> None:
    """A notes edit touches this account's positions only: the book is re-read, the
    accounts list is not; a closing fill moves the open count: both are."""
    view = journal_window.journal_view
    journal: Journal = journal_window.journal
    pid = int(view.model.position_at(0).id)
    account_id = journal.position(pid).account_id
    seen = []
    view.changed.connect(seen.append)
    calls = {"accounts": 0, "books": 0}
    real_refresh, real_load = journal_window.journals.refresh_accounts, journal_window.journals.load

    def refresh() -> None:
        calls["accounts"] += 1
        real_refresh()

    def load(entry) -> None:
        calls["books"] += 1
        real_load(entry)

    monkeypatch.setattr(journal_window.journals, "refresh_accounts", refresh)
    monkeypatch.setattr(journal_window.journals, "load", load)
    view.apply_edit(pid, {"notes": "only a note"})
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=10_000)
    changes = seen[0]
    assert changes.positions and not changes.fills and changes.account_ids == {account_id}
    assert calls == {"accounts": 0, "books": 1}
    view.table.setCurrentIndex(view.model.index(0, 0))
    dialog = view.close_selected()
    assert dialog is not None
    dialog.price.setText("61000")
    dialog.time.setText("2099-01-01 00:00:00")
    dialog.close_button.click()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=10_000)
    assert seen[1].fills and seen[1].position_ids
    assert calls == {"accounts": 1, "books": 2}


def test_a_journal_book_arrives_evaluated_in_one_task(journal_window, qtbot,
                                                       monkeypatch) -> None:
    """Journal → book → engine figures in one worker round trip: showing a journal
    account does not start a second evaluation."""
    window = journal_window
    evaluations = []
    monkeypatch.setattr(window.session, "refresh", lambda: evaluations.append(1))
    entry = window.session.entry
    with qtbot.waitSignal(window.session.snapshot_ready, timeout=10_000) as blocker:
        window.journals.load(entry)
    snap = blocker.args[0]
    assert snap.state is window.session.state and snap.risk.positions
    assert evaluations == []


def test_the_review_tab_groups_trades_and_draws_r_calendar_and_drawdown(journal_window,
                                                                         qtbot) -> None:
    """Two closed trades with stops: the Review tab shows them by setup and by weekday,
    the R distribution has both, the calendar marks their days, the drawdown is drawn."""
    from datetime import UTC, datetime, timedelta

    from desktop.views.review import GROUPS

    now = datetime.now(UTC)
    view = journal_window.journal_view
    journal: Journal = journal_window.journal
    account_id = view.account_id()
    pid = int(view.model.position_at(0).id)
    journal.edit_position(pid, setup="breakout", stop_price=Decimal("59000"))
    journal.close_position(pid, Decimal("62000"), time=now + timedelta(hours=1))
    second = journal.add_position(account_id, "ETH/USDT:USDT", Side.SHORT, Decimal("1"),
                                  Decimal("3000"), time=now + timedelta(hours=2),
                                  setup="fade", stop_price=Decimal("3100"))
    assert second.id is not None
    journal.close_position(second.id, Decimal("3150"), time=now + timedelta(days=1))
    journal_window.tabs.setCurrentWidget(view)
    view.tables.setCurrentWidget(view.review)
    review = view.review
    qtbot.waitUntil(lambda: review.table.rowCount() == 2, timeout=10_000)
    groups = {review.table.item(i, 0).text(): review.table.item(i, 3).text() for i in range(2)}
    assert groups == {"breakout": "+1,000.00", "fade": "−150.00"}  # a true minus sign
    assert "2 trades" in review.r_plot.plotItem.titleLabel.text
    heights = review.r_bars.opts["height"]
    assert sum(heights) == 2  # +2 R (1000 / 500) and -1.5 R (150 / 100)
    cells = [review.calendar.item(r, c) for r in range(review.calendar.rowCount())
             for c in range(7) if review.calendar.item(r, c) is not None]
    assert any(c.text().endswith("+1.0k") and "+1,000.00 USDT" in c.toolTip() for c in cells)
    assert any(c.text().endswith("−150") for c in cells)
    _x, y = review.dd_curve.getData()
    assert list(y) == [0.0, -150.0]
    review.group_by.setCurrentIndex([k for k, _t in GROUPS].index("weekday"))
    qtbot.waitUntil(lambda: review.table.item(0, 0) is not None
                    and review.table.item(0, 0).text()[0].isdigit(), timeout=10_000)


def test_the_pnl_chart_says_so_when_nothing_is_closed(journal_window, qtbot) -> None:
    """No closed trade: a word, not bare axes; the first close draws the curve."""
    view = journal_window.journal_view
    qtbot.waitUntil(lambda: not view._tasks.is_busy(), timeout=10_000)
    assert view.pnl_empty.isVisible()  # a graphics item: its own visibility flag
    assert not view.pnl_plot.getPlotItem().getAxis("left").style["showValues"]
    pid = int(view.model.position_at(0).id)
    journal_window.journal.close_position(pid, Decimal("61000"))
    view.reload()
    qtbot.waitUntil(lambda: not view.pnl_empty.isVisible(), timeout=10_000)
    assert len(view.pnl_curve.getData()[0]) >= 1
