"""Journal tab: the fills table, editing and deleting a fill (undoable), paging, export."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from crossmargin.storage import Journal, NewFill
from desktop.models.journal import (
    RAW_ROLE,
    FillColumn,
    FillsTableModel,
    JournalPositionsTableModel,
)

pytestmark = pytest.mark.gui

T0 = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)


def _fills(n: int, symbol: str = "ETH/USDT:USDT", start: datetime = T0) -> list[NewFill]:
    """``n`` alternating buys and sells of 1 contract (n/2 round trips), one a minute."""
    return [NewFill(symbol=symbol, side="buy" if i % 2 == 0 else "sell",
                    price=Decimal(3000 + i), amount=Decimal(1), time=start + timedelta(minutes=i),
                    fee=Decimal("0.5"), fee_currency="USDT",
                    trade_id=f"t{i}" if symbol == "ETH/USDT:USDT" else f"{symbol[:3]}{i}")
            for i in range(n)]


def _select(view, trade_id: str) -> int:
    """Show the fills table and select the fill with ``trade_id``; return its row."""
    view.tables.setCurrentWidget(view.fills_table)
    m = view.fills_model
    row = next(r for r in range(m.rowCount()) if m.fill_at(r).trade_id == trade_id)
    view.fills_table.setCurrentIndex(m.index(row, 0))
    return row


@pytest.fixture
def fills_window(journal_window, qtbot):
    """A manual journal account: a logged BTC long and 4 ETH fills (2 closed round trips)."""
    window = journal_window
    view = window.journal_view
    window.journal.add_fills(view.account_id(), _fills(4))
    view.reload()
    # the logged BTC position is one fill too
    qtbot.waitUntil(lambda: view.fills_model.rowCount() == 5, timeout=10_000)
    return window


def test_fills_table_lists_the_account_fills_newest_first(fills_window) -> None:
    view = fills_window.journal_view
    view.tables.setCurrentWidget(view.fills_table)
    m = view.fills_model
    assert m.fill_at(0).symbol == "BTC/USDT:USDT"  # logged just now: the newest
    newest = m.fill_at(1)
    assert newest.trade_id == "t3" and newest.side == "sell"
    assert [m.fill_at(r).trade_id for r in range(1, 5)] == ["t3", "t2", "t1", "t0"]
    assert m.index(1, FillColumn.TIME).data() == \
        newest.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")  # local time
    assert m.index(1, FillColumn.SYMBOL).data() == "ETH/USDT"
    assert m.index(1, FillColumn.SIDE).data() == "Sell"
    assert m.index(1, FillColumn.PRICE).data(RAW_ROLE) == Decimal(3003)
    assert m.index(1, FillColumn.FEE).data() == "0.5 USDT"
    assert m.index(1, FillColumn.TRADE_ID).data() == "t3"
    assert m.index(1, FillColumn.POSITION).data() == f"#{newest.position_id}"
    assert view.count_label.text() == "5 fills"
    assert not view.status_filter.isVisible()
    # two closed ETH trades and the BTC position
    assert view.model.total == 3


def test_pnl_curve_follows_the_closed_trades(fills_window, qtbot) -> None:
    view = fills_window.journal_view
    journal: Journal = fills_window.journal
    qtbot.waitUntil(lambda: view.pnl_curve.getData()[0] is not None
                    and len(view.pnl_curve.getData()[0]) == 3, timeout=10_000)
    _t, pnl = view.pnl_curve.getData()
    closed = [p for p in journal.positions().items if not p.is_open]
    assert pnl[0] == 0.0 and pnl[-1] == pytest.approx(float(sum(p.net_pnl for p in closed)))


def test_fill_edit_with_bad_input_stays_in_the_dialog_and_stores_nothing(
        fills_window, qtbot) -> None:
    view = fills_window.journal_view
    journal: Journal = fills_window.journal
    _select(view, "t3")
    fill = view.selected_fill()
    dialog = view.edit_selected_fill()
    assert dialog is not None and dialog.isVisible()
    dialog.price.setText("-5")
    dialog.amount.setText("abc")
    dialog.time.setText("yesterday")
    dialog.buttons.accepted.emit()
    assert dialog.isVisible()
    text = dialog.problems.text()
    assert "Price: must be greater than 0" in text and "Amount:" in text and "Time:" in text
    assert dialog.price.property("invalid") and dialog.amount.property("invalid")
    assert dialog.time.property("invalid") and not dialog.fee.property("invalid")
    dialog.fee.setText("1")
    dialog.fee_currency.setText("")
    dialog.price.setText("3100")
    dialog.amount.setText("1")
    dialog.time.setText(fill.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"))
    dialog.buttons.accepted.emit()
    assert dialog.isVisible() and "Fee currency" in dialog.problems.text()
    dialog.reject()
    qtbot.waitUntil(lambda: view.fill_dialog is None, timeout=5_000)
    assert journal.fill(int(fill.id)) == fill
    assert view.undo_stack.count() == 0


def test_fill_edit_is_stored_rebuilds_positions_and_is_undoable(fills_window, qtbot) -> None:
    view = fills_window.journal_view
    journal: Journal = fills_window.journal
    row = _select(view, "t3")
    fill = view.selected_fill()
    fid = int(fill.id)
    pnl_before = journal.position(int(fill.position_id)).net_pnl
    dialog = view.edit_selected_fill()
    dialog.price.setText("3,103")
    dialog.note.setText("fat finger")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: journal.fill(fid).price == Decimal(3103), timeout=10_000)
    assert journal.fill(fid).note == "fat finger"
    # the closing fill moved by +100: the position's PnL follows
    assert journal.position(int(fill.position_id)).net_pnl == pnl_before + 100
    qtbot.waitUntil(lambda: view.fills_model.fill_at(row).price == Decimal(3103), timeout=10_000)
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: journal.fill(fid).price == Decimal(3003), timeout=10_000)
    assert journal.fill(fid).note == ""
    assert journal.position(int(fill.position_id)).net_pnl == pnl_before
    view.undo_stack.redo()
    qtbot.waitUntil(lambda: journal.fill(fid).price == Decimal(3103), timeout=10_000)


def test_fill_delete_through_the_dialog_and_undo_restores_it(fills_window, qtbot) -> None:
    view = fills_window.journal_view
    journal: Journal = fills_window.journal
    account = view.account_id()
    _select(view, "t3")
    fill = view.selected_fill()
    dialog = view.edit_selected_fill()
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: journal.fills(account=account).total == 4, timeout=10_000)
    qtbot.waitUntil(lambda: view.fills_model.rowCount() == 4, timeout=10_000)
    assert all(f.trade_id != "t3" for f in journal.fills(account=account).items)
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: journal.fills(account=account).total == 5, timeout=10_000)
    back = next(f for f in journal.fills(account=account).items if f.trade_id == "t3")
    assert (back.trade_id, back.price, back.amount, back.fee, back.time) == \
        (fill.trade_id, fill.price, fill.amount, fill.fee, fill.time)
    view.undo_stack.redo()  # deletes the restored fill again
    qtbot.waitUntil(lambda: journal.fills(account=account).total == 4, timeout=10_000)
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: journal.fills(account=account).total == 5, timeout=10_000)
    qtbot.waitUntil(lambda: view.fills_model.rowCount() == 5, timeout=10_000)
    # the Delete key on the fills table does the same
    _select(view, "t2")
    view.fills_table.setFocus()
    qtbot.keyClick(view.fills_table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: journal.fills(account=account).total == 4, timeout=10_000)
    assert all(f.trade_id != "t2" for f in journal.fills(account=account).items)


def test_undo_through_a_deleted_and_restored_fill(fills_window, qtbot) -> None:
    """Edit, delete, then undo both: the edit's undo finds the fill under its new id."""
    view = fills_window.journal_view
    journal: Journal = fills_window.journal
    account = view.account_id()
    _select(view, "t1")
    fill = view.selected_fill()
    view.apply_fill_edit(int(fill.id), {"price": Decimal(2999)})
    qtbot.waitUntil(lambda: journal.fill(int(fill.id)).price == Decimal(2999), timeout=10_000)
    view.delete_fill(int(fill.id))
    qtbot.waitUntil(lambda: journal.fills(account=account).total == 4, timeout=10_000)
    view.undo_stack.undo()  # the delete
    view.undo_stack.undo()  # at once: the edit, on the restored fill
    qtbot.waitUntil(lambda: not fills_window.tasks.is_busy(), timeout=10_000)
    restored = next(f for f in journal.fills(account=account).items if f.trade_id == "t1")
    assert restored.price == Decimal(3001) and int(restored.id) != int(fill.id)
    assert not fills_window.message_bar.isVisible()


def test_undo_pressed_before_the_write_finished_still_undoes_it(fills_window, qtbot) -> None:
    view = fills_window.journal_view
    journal: Journal = fills_window.journal
    account = view.account_id()
    _select(view, "t0")
    fill = view.selected_fill()
    view.apply_fill_edit(int(fill.id), {"fee": Decimal(2)})
    view.undo_stack.undo()  # no wait in between
    view.delete_fill(int(fill.id))
    view.undo_stack.undo()
    pid = int(view.model.position_at(0).id)
    view.apply_edit(pid, {"notes": "quick"})
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: not fills_window.tasks.is_busy(), timeout=10_000)
    assert journal.fills(account=account).total == 5
    back = next(f for f in journal.fills(account=account).items if f.trade_id == "t0")
    assert back.fee == Decimal("0.5")
    assert journal.position(pid).notes == ""
    assert not fills_window.message_bar.isVisible()


def test_years_of_fills_and_positions_load_page_by_page(fills_window, qtbot) -> None:
    view = fills_window.journal_view
    journal: Journal = fills_window.journal
    journal.add_fills(view.account_id(),
                      _fills(1300, symbol="SOL/USDT:USDT", start=T0 + timedelta(seconds=30)))
    view.reload()
    qtbot.waitUntil(lambda: view.fills_model.total == 1305, timeout=20_000)
    fills, positions = view.fills_model, view.model
    assert fills.rowCount() == 500 and fills.canFetchMore()
    assert positions.total == 653 and positions.rowCount() == 500
    view.tables.setCurrentWidget(view.fills_table)
    assert "500 of 1305 fills" in view.count_label.text()
    # scrolling to the end makes the view ask for more, page by page
    for expected in (1000, 1305):
        view.fills_table.scrollToBottom()
        qtbot.waitUntil(lambda n=expected: fills.rowCount() == n, timeout=20_000)
    assert not fills.canFetchMore()
    assert view.count_label.text() == "1305 fills"
    oldest = fills.fill_at(fills.rowCount() - 1)  # the SOL fills start a minute later
    assert oldest.time == T0 and oldest.symbol == "ETH/USDT:USDT"
    positions.fetchMore()
    qtbot.waitUntil(lambda: positions.rowCount() == 653, timeout=20_000)
    ids = [int(positions.position_at(r).id) for r in range(positions.rowCount())]
    assert len(set(ids)) == 653
    # a reload after an edit keeps what was loaded
    view.reload()
    qtbot.waitUntil(lambda: not fills_window.tasks.is_busy(), timeout=20_000)
    assert fills.rowCount() == 1305
    # the status filter is a journal query too (closed SOL and ETH round trips)
    view.status_filter.setCurrentIndex(view.status_filter.findData("closed"))
    qtbot.waitUntil(lambda: positions.total == 652, timeout=20_000)


def test_export_writes_each_kind_and_reports_in_the_message_bar(
        fills_window, qtbot, tmp_path: Path) -> None:
    view = fills_window.journal_view
    bar = fills_window.message_bar
    targets = {kind: tmp_path / f"out-{kind}.{'json' if kind == 'journal' else 'csv'}"
               for kind in ("positions", "fills", "funding", "journal")}
    for kind, path in targets.items():
        view.export(kind, path)
        qtbot.waitUntil(lambda p=path: p.exists(), timeout=10_000)
        qtbot.waitUntil(lambda p=path: str(p) in bar.message(), timeout=10_000)
    with targets["fills"].open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5
    assert {r["price"] for r in rows} == {"60000", "3000", "3001", "3002", "3003"}
    with targets["positions"].open() as fh:
        assert len(list(csv.DictReader(fh))) == 3
    doc = json.loads(targets["journal"].read_text())
    assert isinstance(doc, dict) and doc
    # an unwritable place (its folder is a file): an error in the bar, nothing written
    (tmp_path / "not-a-folder").write_text("")
    bad = tmp_path / "not-a-folder" / "x.csv"
    view.export("fills", bad)
    qtbot.waitUntil(lambda: "failed" in bar.message(), timeout=10_000)
    assert not bad.exists()


def test_fill_models_pass_qtmodeltester(fills_window, qtmodeltester) -> None:
    qtmodeltester.check(fills_window.journal_view.fills_model, force_py=True)
    qtmodeltester.check(fills_window.journal_view.model, force_py=True)
    qtmodeltester.check(FillsTableModel(), force_py=True)
    qtmodeltester.check(JournalPositionsTableModel(), force_py=True)


def test_export_menu_asks_for_a_file_name_then_writes_it(
        fills_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    view = fills_window.journal_view
    asked: list[str] = []
    target = tmp_path / "funding"  # no suffix typed: .csv is added

    def fake_dialog(_parent, title, default, name_filter):
        asked.append(f"{title}|{default}|{name_filter}")
        return str(target), name_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
    assert set(view.export_actions) == {"positions", "fills", "funding", "journal"}
    view.export_actions["funding"].trigger()
    written = target.with_suffix(".csv")
    qtbot.waitUntil(written.exists, timeout=10_000)
    assert "Funding CSV" in asked[0] and "CSV files" in asked[0]
    qtbot.waitUntil(lambda: "Exported 0 funding payments" in fills_window.message_bar.message(),
                    timeout=10_000)
    # cancelled dialog: nothing happens
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *_a: ("", "")))
    view.export_actions["journal"].trigger()
    qtbot.wait(100)
    assert not list(tmp_path.glob("*.json"))
