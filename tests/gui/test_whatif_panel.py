"""What-if tab: the table and the charts show exactly what the engine returns.

Runs offscreen; ``tests/gui/conftest.py`` makes any Qt warning fail the test.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QLineEdit
from test_whatif_books import make_book

from crossmargin.domain import AccountState, MarginMode, Position, PositionId
from crossmargin.margin import (
    AddPosition,
    ClosePosition,
    ShockProfile,
    SwitchMode,
    compare_whatif,
    evaluate,
    shock_point,
    sweep,
)
from crossmargin.scenario import load_scenario
from desktop.tasks import TaskRunner
from desktop.whatif.dialogs import AddPositionDialog
from desktop.whatif.models import RAW_ROLE, BookColumn, CascadeColumn, WeightColumn
from desktop.whatif.panel import WhatIfPanel
from desktop.whatif.plan import ShockMode

pytestmark = pytest.mark.gui

CHECKED = Qt.CheckState.Checked.value
UNCHECKED = Qt.CheckState.Unchecked.value


@pytest.fixture
def tasks(qapp):
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def state() -> AccountState:
    return make_book(12, wallet=Decimal(2500))


@pytest.fixture
def panel(qtbot, tasks, state):
    widget = WhatIfPanel(tasks=tasks)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.set_account_state(state)
    widget.show()
    wait_answer(qtbot, widget)
    return widget


def wait_answer(qtbot, panel: WhatIfPanel) -> None:
    """Wait until the newest snapshot answers the current book and plan."""
    vm = panel.viewmodel

    def current() -> bool:
        snap = vm.snapshot
        return (
            not vm.busy
            and snap is not None
            and snap.plan == vm.plan
            and snap.book.live is vm.base
        )

    qtbot.waitUntil(current, timeout=15_000)


def cell(panel: WhatIfPanel, position_id: str, column: BookColumn):
    row = panel.book_model.row_of(position_id)
    assert row >= 0, position_id
    return panel.book_model.index(row, int(column))


def first(state: AccountState, mode: MarginMode) -> Position:
    return next(p for p in state.positions if p.margin_mode is mode)


def table_lps(panel: WhatIfPanel, column: BookColumn) -> dict[str, Decimal | None]:
    model = panel.book_model
    return {
        model.position_at(r)[0].id: model.index(r, int(column)).data(RAW_ROLE)
        for r in range(model.rowCount())
    }


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


# --------------------------------------------------------------------------- engine parity


def test_switching_to_isolated_shows_exactly_the_engines_answer(qtbot, panel, state):
    target = first(state, MarginMode.CROSS)
    before_ratio = panel.shock_chart.ratio_whatif.getData()[1].copy()
    before_lps = table_lps(panel, BookColumn.LP_WHATIF)

    # the user ticks "Isolated" on the row (what a click on the checkbox does)
    assert panel.book_model.setData(cell(panel, target.id, BookColumn.ISOLATED), CHECKED,
                                    Qt.ItemDataRole.CheckStateRole)
    assert cell(panel, target.id, BookColumn.ISOLATED).data(
        Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked  # instant, before the answer
    wait_answer(qtbot, panel)

    expected = compare_whatif(state, [SwitchMode(target.id)])
    shown_after = table_lps(panel, BookColumn.LP_WHATIF)
    shown_now = table_lps(panel, BookColumn.LP_NOW)
    for p in state.positions:
        assert shown_after[p.id] == expected.after.position(p.id).liquidation_price, p.id
        assert shown_now[p.id] == expected.before.position(p.id).liquidation_price, p.id
    assert cell(panel, target.id, BookColumn.MARGIN).data(RAW_ROLE) == (
        expected.after.position(target.id).margin
    )
    # the switch moves the other cross positions' liquidation prices, and the table follows
    others = [p.id for p in state.positions if p.id != target.id
              and p.margin_mode is MarginMode.CROSS]
    moved = [pid for pid in others if shown_after[pid] != before_lps[pid]]
    assert moved, "switching a cross position must move the other cross LPs"

    # chart data: exactly the engine's sweep of the what-if book
    axis = panel.viewmodel.axis
    expected_sweep = sweep(expected.state, ShockProfile.uniform(), axis)
    x, ratio = panel.shock_chart.ratio_whatif.getData()
    assert same(x, axis * 100)
    assert same(ratio, expected_sweep.margin_ratio * 100)
    assert not same(ratio, before_ratio)
    assert same(panel.shock_chart.equity_whatif.getData()[1], expected_sweep.equity)
    current_sweep = sweep(state, ShockProfile.uniform(), axis)
    assert same(panel.shock_chart.equity_now.getData()[1], current_sweep.equity)
    # liquidation markers sit at the cascade's shocks
    xs = panel.shock_chart.markers_whatif.data["x"]
    assert list(xs) == [float(e.shock) * 100 for e in expected_sweep.cascade.events]
    assert panel.cascade_model.rowCount() == len(expected_sweep.cascade.events)
    for r, event in enumerate(expected_sweep.cascade.events):
        assert panel.cascade_model.index(r, int(CascadeColumn.SHOCK)).data(RAW_ROLE) == event.shock

    # ...and back to cross: the what-if equals the live book again
    panel.book_model.setData(cell(panel, target.id, BookColumn.ISOLATED), UNCHECKED,
                             Qt.ItemDataRole.CheckStateRole)
    wait_answer(qtbot, panel)
    live = evaluate(state)
    assert table_lps(panel, BookColumn.LP_WHATIF) == {
        p.id: p.liquidation_price for p in live.positions
    }
    assert not panel.viewmodel.plan.edits


def test_isolated_margin_and_close_match_compare_whatif(qtbot, panel, state):
    target = first(state, MarginMode.CROSS)
    closing = [p for p in state.positions if p.id != target.id][3]
    model = panel.book_model
    model.setData(cell(panel, target.id, BookColumn.ISOLATED), CHECKED,
                  Qt.ItemDataRole.CheckStateRole)
    assert model.setData(cell(panel, target.id, BookColumn.MARGIN), "321.5")
    assert model.setData(cell(panel, closing.id, BookColumn.CLOSE), CHECKED,
                         Qt.ItemDataRole.CheckStateRole)
    wait_answer(qtbot, panel)
    expected = compare_whatif(
        state, [ClosePosition(closing.id), SwitchMode(target.id, Decimal("321.5"))]
    )
    shown = table_lps(panel, BookColumn.LP_WHATIF)
    for p in expected.after.positions:
        assert shown[p.id] == p.liquidation_price
    assert shown[closing.id] is None
    assert cell(panel, closing.id, BookColumn.LP_WHATIF).data() == "closed"
    assert cell(panel, target.id, BookColumn.MARGIN).data(RAW_ROLE) == Decimal("321.5")
    summary = panel.viewmodel.snapshot.summary
    assert summary.available_whatif == expected.after.available_balance
    assert summary.equity_whatif == expected.after.equity


def test_slider_moves_give_the_engines_point_and_latest_wins(qtbot, panel, state):
    target = first(state, MarginMode.CROSS)
    panel.viewmodel.set_mode(target.id, MarginMode.ISOLATED)
    for value in (-10, -50, -120, -200, -87):  # slider steps of 0.1 %
        panel.slider.setValue(value)
    wait_answer(qtbot, panel)
    snap = panel.viewmodel.snapshot
    assert snap.shock == Decimal("-0.087")
    assert panel.spin.value() == pytest.approx(-8.7)
    assert panel.shock_chart.shock_line.value() == pytest.approx(-8.7)
    result = compare_whatif(state, [SwitchMode(target.id)])
    profile = ShockProfile.uniform()
    axis = panel.viewmodel.axis
    point_now = shock_point(state, profile, Decimal("-0.087"),
                            sweep(state, profile, axis).cascade)
    point_whatif = shock_point(result.state, profile, Decimal("-0.087"),
                               sweep(result.state, profile, axis).cascade)
    assert snap.summary.equity_now == point_now.equity
    assert snap.summary.equity_whatif == point_whatif.equity
    assert snap.summary.ratio_whatif == point_whatif.margin_ratio
    # the table shows the shocked marks (a slider move repaints only what changed)
    model = panel.book_model
    for r in range(model.rowCount()):
        position = model.position_at(r)[0]
        assert model.index(r, int(BookColumn.MARK)).data(RAW_ROLE) == (
            position.mark_price * (1 + Decimal("-0.087"))
        )
    assert table_lps(panel, BookColumn.LP_WHATIF) == {
        p.id: p.liquidation_price for p in result.after.positions
    }
    liquidated = {pid for pid, v in snap.positions.items() if v.liquidated_whatif}
    expected_dead = {
        pid for e in sweep(result.state, profile, axis).cascade.events
        if e.direction == "now" or (e.direction == "down" and Decimal("-0.087") <= e.shock)
        for pid in e.position_ids
    }
    assert liquidated == expected_dead
    for pid in liquidated:
        assert cell(panel, pid, BookColumn.SYMBOL).data(Qt.ItemDataRole.BackgroundRole) is not None
    # the spin box drives the same value
    panel.spin.setValue(12.5)
    wait_answer(qtbot, panel)
    assert panel.viewmodel.snapshot.shock == Decimal("0.125")
    assert panel.slider.value() == 125


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("abc", "is not a number"),
        ("-5", "greater than 0"),
        ("0", "greater than 0"),
        ("250,5", "use a dot"),
        ("", "enter a number"),
        ("nan", "not a finite number"),
    ],
)
def test_bad_isolated_margin_shows_inline_message_and_changes_nothing(
    qtbot, panel, state, text, fragment
):
    target = first(state, MarginMode.ISOLATED)
    index = cell(panel, target.id, BookColumn.MARGIN)
    plan_before = panel.viewmodel.plan
    snapshot_before = panel.viewmodel.snapshot
    shown_before = index.data()

    assert not panel.book_model.setData(index, text)

    assert panel.viewmodel.plan == plan_before
    assert not panel.viewmodel.busy  # no recompute was even scheduled
    assert panel.viewmodel.snapshot is snapshot_before
    assert index.data() == shown_before
    assert panel.message.isVisible()
    assert fragment in panel.message.text()
    assert "Isolated margin (USDT)" in panel.message.text()
    assert index.data(Qt.ItemDataRole.BackgroundRole) is not None  # red cell
    assert fragment in index.data(Qt.ItemDataRole.ToolTipRole)
    # a good value afterwards clears the message and the red cell
    assert panel.book_model.setData(index, "400")
    assert not panel.message.isVisible()
    assert index.data(Qt.ItemDataRole.ToolTipRole) is None or fragment not in index.data(
        Qt.ItemDataRole.ToolTipRole)
    wait_answer(qtbot, panel)
    assert index.data(RAW_ROLE) == Decimal("400")


def test_typing_in_the_margin_editor_validates_live(qtbot, panel, state):
    target = first(state, MarginMode.ISOLATED)
    index = cell(panel, target.id, BookColumn.MARGIN)
    view = panel.book_view
    plan_before = panel.viewmodel.plan
    view.setCurrentIndex(index)
    view.edit(index)
    editor = view.findChild(QLineEdit, "WhatIfCellEditor")
    assert editor is not None
    editor.clear()
    qtbot.keyClicks(editor, "12x")
    assert panel.message.isVisible() and "not a number" in panel.message.text()
    assert "border" in editor.styleSheet()  # red frame while the text is bad
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on a queued call
    qtbot.waitUntil(lambda: view.state() != QAbstractItemView.State.EditingState)
    assert panel.viewmodel.plan == plan_before
    assert "not a number" in panel.message.text()
    assert index.data(Qt.ItemDataRole.BackgroundRole) is not None


def test_margin_is_not_editable_in_cross_mode(panel, state):
    target = first(state, MarginMode.CROSS)
    index = cell(panel, target.id, BookColumn.MARGIN)
    assert not index.flags() & Qt.ItemFlag.ItemIsEditable
    assert not panel.book_model.setData(index, "100")
    assert not panel.viewmodel.plan.edits


def test_bad_weight_input_is_refused_inline(qtbot, panel):
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData(ShockMode.BETA.value))
    wait_answer(qtbot, panel)
    model = panel.weights_model
    index = model.index(0, int(WeightColumn.VALUE))
    plan_before = panel.viewmodel.plan
    assert not model.setData(index, "fast")
    assert "Beta of" in panel.message.text() and "not a number" in panel.message.text()
    assert not model.setData(index, "55")
    assert "between -20 and 20" in panel.message.text()
    assert panel.viewmodel.plan == plan_before
    assert model.setData(index, "2.5")
    wait_answer(qtbot, panel)
    symbol = model.symbol_at(0)
    assert panel.viewmodel.plan.profile(panel.viewmodel.base).weight(symbol) == Decimal("2.5")


# --------------------------------------------------------------------------- banner


def test_a_what_if_that_liquidates_at_once_is_called_out(qtbot, panel, state):
    losing = [r for r in evaluate(state).positions
              if r.margin_mode is MarginMode.CROSS and r.unrealized_pnl < 0]
    target = state.position(losing[0].id)
    panel.viewmodel.set_mode(target.id, MarginMode.ISOLATED)
    assert panel.viewmodel.set_margin_text(target.id, "0.5") is None
    wait_answer(qtbot, panel)
    expected = compare_whatif(state, [SwitchMode(target.id, Decimal("0.5"))])
    assert target.id in expected.liquidated_at_once
    assert panel.viewmodel.snapshot.liquidated_at_once == expected.liquidated_at_once
    assert panel.banner.isVisible()
    assert target.id in panel.banner_text.text()
    assert "liquidates" in panel.banner_text.text()
    panel.reset_button.click()
    wait_answer(qtbot, panel)
    assert not panel.banner.isVisible()
    assert not panel.viewmodel.plan.edits


# --------------------------------------------------------------------------- models


def test_book_model_passes_qtmodeltester(qtmodeltester, qtbot, panel, state):
    # one check per test: the tester stays connected and watches every later change
    # (the edits, the sort and the answers arriving), a second check would double it
    target = first(state, MarginMode.CROSS)
    panel.viewmodel.set_mode(target.id, MarginMode.ISOLATED)
    panel.viewmodel.set_close(state.positions[-1].id, True)
    qtmodeltester.check(panel.book_model, force_py=True)
    panel.book_model.sort(int(BookColumn.LP_WHATIF), Qt.SortOrder.DescendingOrder)
    wait_answer(qtbot, panel)
    panel.viewmodel.set_shock(Decimal("-0.2"))
    wait_answer(qtbot, panel)
    panel.viewmodel.reset_to_live()
    wait_answer(qtbot, panel)


def test_book_model_passes_qtmodeltester_when_fresh(qtmodeltester, panel):
    qtmodeltester.check(panel.book_model, force_py=True)


def test_cascade_model_passes_qtmodeltester(qtmodeltester, qtbot, panel, state):
    qtmodeltester.check(panel.cascade_model, force_py=True)
    panel.viewmodel.set_mode(first(state, MarginMode.CROSS).id, MarginMode.ISOLATED)
    wait_answer(qtbot, panel)


def test_weights_model_passes_qtmodeltester(qtmodeltester, qtbot, panel):
    panel.viewmodel.set_shock_mode(ShockMode.PER_SYMBOL)
    wait_answer(qtbot, panel)
    qtmodeltester.check(panel.weights_model, force_py=True)
    panel.viewmodel.set_shock_mode(ShockMode.BETA)
    wait_answer(qtbot, panel)


def test_empty_panel_models_pass_qtmodeltester(qtmodeltester, qtbot, tasks):
    widget = WhatIfPanel(tasks=tasks)
    qtbot.addWidget(widget)
    for model in (widget.book_model, widget.cascade_model, widget.weights_model):
        qtmodeltester.check(model, force_py=True)
    assert "No account loaded" in widget.summary.text()
    assert not widget.save_button.isEnabled()


def test_sorting_uses_decimal_values(panel):
    model = panel.book_model
    panel.book_view.sortByColumn(int(BookColumn.MARK), Qt.SortOrder.AscendingOrder)
    marks = [model.index(r, int(BookColumn.MARK)).data(RAW_ROLE) for r in range(model.rowCount())]
    assert marks == sorted(marks)
    assert all(isinstance(m, Decimal) for m in marks)


# --------------------------------------------------------------------------- files


def test_save_then_open_round_trips_the_what_if(qtbot, tmp_path: Path, tasks, panel, state):
    vm = panel.viewmodel
    target = first(state, MarginMode.CROSS)
    isolated = first(state, MarginMode.ISOLATED)
    closing = state.positions[-1]
    vm.set_mode(target.id, MarginMode.ISOLATED)
    assert vm.set_margin_text(target.id, "275.25") is None
    assert vm.set_margin_text(isolated.id, "1,234.5") is None
    assert vm.set_close(closing.id, True) is None
    single = state.positions[5]  # the only position on its symbol
    new = Position(
        id=vm.new_position_id(), symbol=single.symbol, side=single.side.opposite,
        contracts=Decimal(3), entry_price=single.mark_price, mark_price=single.mark_price,
        leverage=Decimal(5), margin_mode=MarginMode.ISOLATED,
    )
    assert vm.add_position(new) == []
    vm.set_shock_mode(ShockMode.BETA)
    assert vm.set_weight_text(state.positions[1].symbol, "1.75") is None
    wait_answer(qtbot, panel)
    answer_before = vm.snapshot
    whatif_state = vm.whatif_state()

    path = tmp_path / "whatif.json"
    panel.save_scenario(path)
    qtbot.waitUntil(lambda: not tasks.is_busy(), timeout=10_000)
    assert path.is_file(), panel.message.text()
    saved = load_scenario(path)
    assert saved.positions == whatif_state.positions
    assert saved.wallet_balance == whatif_state.wallet_balance
    assert saved.betas[state.positions[1].symbol] == Decimal("1.75")
    assert json.loads(path.read_text())["format"] == "crossmargin.scenario/2"
    assert "Saved" in panel.message.text()

    panel.open_scenario(path)
    qtbot.waitUntil(lambda: vm.is_scenario, timeout=10_000)
    wait_answer(qtbot, panel)
    assert vm.base == saved
    assert "whatif.json" in panel.source_label.text()
    assert not vm.plan.edits and not vm.plan.added
    # the opened book's "now" is the saved what-if, to the last digit
    opened = vm.snapshot
    for p in saved.positions:
        assert opened.positions[p.id].lp_now == answer_before.positions[p.id].lp_whatif, p.id
    assert opened.summary.available_now == answer_before.summary.available_whatif
    # live updates no longer replace the opened scenario, until "Reset to live"
    panel.set_account_state(make_book(12, wallet=Decimal(2600)))
    assert vm.base == saved
    panel.reset_button.click()
    wait_answer(qtbot, panel)
    assert not vm.is_scenario and vm.base.wallet_balance == Decimal(2600)


def test_opening_a_bad_file_explains_inline_and_keeps_the_book(qtbot, tmp_path, tasks, panel):
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "crossmargin.scenario/1", "rules": "binance", "settle": "USDT", '
                   '"wallet_balance": "-x", "positions": []}')
    base_before = panel.viewmodel.base
    panel.open_scenario(bad)
    qtbot.waitUntil(panel.message.isVisible, timeout=10_000)
    assert "Could not open broken.json" in panel.message.text()
    assert "wallet_balance" in panel.message.text()
    assert panel.viewmodel.base is base_before
    missing = tmp_path / "nope.json"
    panel.open_scenario(missing)
    qtbot.waitUntil(lambda: "nope.json" in panel.message.text(), timeout=10_000)
    assert panel.viewmodel.base is base_before


# --------------------------------------------------------------------------- dialog


def test_add_position_dialog_validates_in_place(qtbot, panel, state):
    vm = panel.viewmodel
    rows_before = panel.book_model.rowCount()
    panel.add_button.click()
    qtbot.waitUntil(lambda: panel.findChild(AddPositionDialog) is not None, timeout=5_000)
    dialog = panel.findChild(AddPositionDialog)
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.contracts, "-1")
    assert "Contracts: must be greater than 0" in dialog.message.text()
    assert dialog.contracts.property("invalid") is True
    assert not dialog.ok_button.isEnabled()
    dialog.contracts.clear()
    qtbot.keyClicks(dialog.contracts, "0.02")
    dialog.leverage.clear()
    qtbot.keyClicks(dialog.leverage, "1000")
    assert "Leverage: must be at most 200" in dialog.message.text()
    dialog.leverage.clear()
    qtbot.keyClicks(dialog.leverage, "8")
    assert dialog.ok_button.isEnabled()
    assert not dialog.message.isVisible()
    # an unknown symbol needs a maintenance margin rate; the engine then refuses the missing tiers
    dialog.symbol.setCurrentText("FOO/USDT:USDT")
    assert dialog.mmr.isVisible() or not dialog.mmr.isHidden()
    dialog.mmr.setText("0.01")
    dialog.mmr.textEdited.emit("0.01")
    dialog.mark.setText("5")
    dialog.mark.textEdited.emit("5")
    dialog.ok_button.click()
    assert dialog.isVisible()
    assert "no maintenance-margin tiers for FOO/USDT:USDT" in dialog.message.text()
    assert panel.book_model.rowCount() == rows_before
    # a second long on a symbol that has one is refused (one leg per side in hedge mode)
    dialog.symbol.setCurrentText(state.positions[0].symbol)
    dialog.side.setCurrentIndex(dialog.side.findData(state.positions[0].side.value))
    dialog.ok_button.click()
    assert dialog.isVisible()
    assert "second" in dialog.message.text()
    # the other side of a single-position symbol is accepted, with the engine's LP
    single = state.positions[5]
    dialog.symbol.setCurrentText(single.symbol)
    dialog.side.setCurrentIndex(dialog.side.findData(single.side.opposite.value))
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5_000)
    assert panel.book_model.rowCount() == rows_before + 1
    added = vm.plan.added[0]
    wait_answer(qtbot, panel)
    expected = compare_whatif(state, [AddPosition(added)])
    assert cell(panel, added.id, BookColumn.LP_WHATIF).data(RAW_ROLE) == (
        expected.after.position(added.id).liquidation_price
    )
    assert cell(panel, added.id, BookColumn.LP_NOW).data() == "not held"
    # remove it again
    panel.book_view.setCurrentIndex(cell(panel, added.id, BookColumn.SYMBOL))
    assert panel.remove_button.isEnabled()
    panel.remove_button.click()
    assert panel.book_model.rowCount() == rows_before
    assert vm.plan.added == ()


def test_live_mark_updates_keep_the_plan(qtbot, panel, state):
    target = first(state, MarginMode.CROSS)
    panel.viewmodel.set_mode(target.id, MarginMode.ISOLATED)
    wait_answer(qtbot, panel)
    moved = state.with_(positions=tuple(
        p.with_(mark_price=p.mark_price * Decimal("0.99")) for p in state.positions
    ))
    panel.set_account_state(moved)
    wait_answer(qtbot, panel)
    expected = compare_whatif(moved, [SwitchMode(PositionId(target.id))])
    shown = table_lps(panel, BookColumn.LP_WHATIF)
    assert shown == {p.id: p.liquidation_price for p in expected.after.positions}
    # a position closed on the exchange drops its edits
    gone = state.with_(positions=tuple(p for p in moved.positions if p.id != target.id))
    panel.set_account_state(gone)
    wait_answer(qtbot, panel)
    assert target.id not in panel.viewmodel.plan.edits
    assert panel.book_model.row_of(target.id) == -1


# --------------------------------------------------------------------------- modes, odd books


def test_per_symbol_moves_are_the_engines_per_symbol_profile(qtbot, panel, state):
    vm = panel.viewmodel
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData(ShockMode.PER_SYMBOL.value))
    wait_answer(qtbot, panel)
    assert vm.plan.shock == 1  # the typed moves, in full
    assert not panel.weights_box.isHidden()
    symbol = state.positions[0].symbol
    row = [
        panel.weights_model.symbol_at(r) for r in range(panel.weights_model.rowCount())
    ].index(symbol)
    assert panel.weights_model.setData(panel.weights_model.index(row, int(WeightColumn.VALUE)),
                                       "-25")
    assert not panel.weights_model.setData(
        panel.weights_model.index(row, int(WeightColumn.VALUE)), "-100")
    assert "above -100" in panel.message.text()
    wait_answer(qtbot, panel)
    moves = {p.symbol: Decimal("-0.10") * state.betas.get(p.symbol, Decimal(1))
             for p in state.positions}
    moves[symbol] = Decimal("-0.25")
    profile = ShockProfile.per_symbol(moves)
    axis = vm.axis
    assert axis[0] == -1.0 and axis[-1] == 1.0
    expected = sweep(state, profile, axis)
    assert same(panel.shock_chart.equity_now.getData()[1], expected.equity)
    point = shock_point(state, profile, Decimal(1), expected.cascade)
    assert vm.snapshot.summary.equity_now == point.equity
    mark_row = panel.book_model.row_of(state.positions[0].id)
    assert panel.book_model.index(mark_row, int(BookColumn.MARK)).data(RAW_ROLE) == (
        state.positions[0].mark_price * (1 + Decimal("-0.25"))
    )


@pytest.mark.parametrize(
    "name",
    ["empty", "isolated_only", "demo.json", "bybit_isolated.json", "coinm_inverse.json"],
)
def test_odd_and_bundled_books_give_the_engines_curves(qtbot, tasks, name):
    from test_whatif_screens import REPO

    base = make_book(6)
    if name == "empty":
        book = base.with_(positions=())
    elif name == "isolated_only":
        book = base.with_(positions=tuple(
            p.with_(margin_mode=MarginMode.ISOLATED) for p in base.positions))
    else:
        book = load_scenario(REPO / "resources" / "scenarios" / name)
    widget = WhatIfPanel(tasks=tasks)
    qtbot.addWidget(widget)
    widget.set_account_state(book)
    wait_answer(qtbot, widget)
    expected = sweep(book, ShockProfile.uniform(), widget.viewmodel.axis)
    assert same(widget.shock_chart.equity_whatif.getData()[1], expected.equity)
    assert same(widget.shock_chart.ratio_now.getData()[1], expected.margin_ratio * 100)
    assert widget.book_model.rowCount() == len(book.positions)
    assert widget.cascade_model.rowCount() == len(expected.cascade.events)
    assert table_lps(widget, BookColumn.LP_NOW) == {
        p.id: p.liquidation_price for p in evaluate(book).positions
    }
    widget.viewmodel.set_shock(Decimal("-0.2"))
    wait_answer(qtbot, widget)
    assert not widget.banner.isVisible()


def test_scenario_changed_is_emitted_for_every_what_if_change(qtbot, panel, state):
    target = first(state, MarginMode.CROSS)
    with qtbot.waitSignal(panel.scenario_changed, timeout=1000):
        panel.viewmodel.set_mode(target.id, MarginMode.ISOLATED)
    with qtbot.waitSignal(panel.scenario_changed, timeout=1000):
        panel.slider.setValue(-30)
    with qtbot.waitSignal(panel.scenario_changed, timeout=1000):
        panel.reset_button.click()


def test_another_account_starts_a_fresh_plan(qtbot, panel, state):
    target = first(state, MarginMode.CROSS)
    panel.viewmodel.set_mode(target.id, MarginMode.ISOLATED)
    panel.slider.setValue(-50)
    wait_answer(qtbot, panel)
    other = make_book(12).with_(label="another account")
    panel.set_account_state(other)
    wait_answer(qtbot, panel)
    assert not panel.viewmodel.plan.edits
    assert panel.viewmodel.plan.shock == 0
    assert "another account" in panel.source_label.text()
    assert table_lps(panel, BookColumn.LP_WHATIF) == {
        p.id: p.liquidation_price for p in evaluate(other).positions
    }


def test_rapid_changes_are_debounced_into_one_recompute(qtbot, tasks, state):
    class Counting:
        """The real task runner, counting what-if submissions."""

        def __init__(self, runner: TaskRunner) -> None:
            self.runner = runner
            self.calls = 0

        def submit(self, fn, *args, **kwargs):
            self.calls += 1
            return self.runner.submit(fn, *args, **kwargs)

    counting = Counting(tasks)
    widget = WhatIfPanel(tasks=counting)
    qtbot.addWidget(widget)
    widget.set_account_state(state)
    wait_answer(qtbot, widget)
    before = counting.calls
    for value in range(-1, -41, -1):  # a drag: 40 slider steps in one go
        widget.slider.setValue(value)
    wait_answer(qtbot, widget)
    assert counting.calls - before == 1
    assert widget.viewmodel.snapshot.shock == Decimal("-0.040")


def test_dragging_the_chart_line_moves_the_shock(qtbot, panel):
    line = panel.shock_chart.shock_line
    line.setValue(-12.34)
    line.sigDragged.emit(line)  # what a mouse drag emits
    wait_answer(qtbot, panel)
    assert panel.viewmodel.plan.shock == Decimal("-0.123")
    assert panel.slider.value() == -123


def test_the_ladder_follows_the_selected_row(qtbot, panel, state):
    other = next(p for p in state.positions if p.symbol != state.positions[0].symbol)
    row = panel.book_model.row_of(other.id)
    panel.book_view.selectRow(row)
    assert panel.ladder_combo.currentText() == other.symbol
    ladder = panel.viewmodel.snapshot.ladders[other.symbol]
    ids = {r.position_id for r in ladder.rungs}
    assert ids == {p.id for p in state.positions if p.symbol == other.symbol}
    for rung in ladder.rungs:
        view = panel.viewmodel.snapshot.positions[rung.position_id]
        assert (rung.lp_now, rung.lp_whatif) == (view.lp_now, view.lp_whatif)
    assert panel.ladder_chart.mark_line.value() == float(ladder.mark_live)


def test_ui_state_round_trips(qtbot, tasks, panel, state):
    panel.splitter.setSizes([500, 780])
    panel.book_view.horizontalHeader().resizeSection(int(BookColumn.SYMBOL), 177)
    saved = panel.ui_state()
    widget = WhatIfPanel(tasks=tasks)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.restore_ui_state(saved)
    widget.set_account_state(state)
    widget.show()
    wait_answer(qtbot, widget)
    assert widget.book_view.horizontalHeader().sectionSize(int(BookColumn.SYMBOL)) == 177
    assert abs(widget.splitter.sizes()[0] - panel.splitter.sizes()[0]) <= 2
    widget.restore_ui_state({"splitter": "garbage"})  # ignored, no error


def test_edits_of_unknown_positions_are_refused_with_a_reason(panel):
    vm = panel.viewmodel
    for call in (
        lambda: vm.set_mode(PositionId("nope"), MarginMode.ISOLATED),
        lambda: vm.set_margin(PositionId("nope"), Decimal(10)),
        lambda: vm.set_close(PositionId("nope"), True),
    ):
        message = call()
        assert message is not None and "nope" in message and "not in the book" in message
    assert not vm.plan.edits


def test_each_account_keeps_its_what_if_for_the_session(qtbot, panel, state):
    """Switching accounts and back brings the first account's what-if back, with the
    engine's answer for it; the other account starts fresh."""
    target = first(state, MarginMode.CROSS)
    panel.viewmodel.set_mode(target.id, MarginMode.ISOLATED)
    wait_answer(qtbot, panel)
    other = make_book(12).with_(label="another account")
    panel.set_account_state(other)
    wait_answer(qtbot, panel)
    assert not panel.viewmodel.plan.edits
    panel.set_account_state(state)
    wait_answer(qtbot, panel)
    assert panel.viewmodel.plan.edit(target.id).mode is MarginMode.ISOLATED
    expected = compare_whatif(state, [SwitchMode(PositionId(target.id))])
    assert table_lps(panel, BookColumn.LP_WHATIF) == {
        p.id: p.liquidation_price for p in expected.after.positions}


def test_a_book_the_engine_refused_shows_no_numbers(qtbot, panel, state):
    """The selected account could not be evaluated: the tab shows no book (never the
    previous account's figures), and the account's what-if comes back with it."""
    target = first(state, MarginMode.CROSS)
    panel.viewmodel.set_mode(target.id, MarginMode.ISOLATED)
    wait_answer(qtbot, panel)
    panel.clear_account()
    assert panel.viewmodel.base is None and panel.book_model.rowCount() == 0
    assert "No account loaded" in panel.summary.text()
    panel.set_account_state(state)
    wait_answer(qtbot, panel)
    assert panel.viewmodel.plan.edit(target.id).mode is MarginMode.ISOLATED


def test_a_second_position_on_the_same_symbol_and_side_is_explained(panel, state):
    """The exchange adds a second order on a symbol, side and mode to the position it
    has: the what-if says so in words (and how to try it), nothing is added."""
    vm = panel.viewmodel
    held = first(state, MarginMode.CROSS)
    again = held.with_(id=vm.new_position_id())
    problems = vm.add_position(again)
    assert len(problems) == 1 and not vm.plan.added
    text = problems[0]
    assert f"already has a {held.side.value} cross position" in text
    assert "adds to that position" in text and "positions[" not in text
    # closed in the what-if, the same position may be added again (a larger one, say)
    vm.set_close(held.id, True)
    assert vm.add_position(again.with_(contracts=held.contracts * 2)) == []
