"""PositionsTableModel: qtmodeltester, Decimal sorting, filtering, in-place updates."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from crossmargin.domain import MarginMode, Position, PositionId, Side
from crossmargin.margin import evaluate, switched_liquidation_prices
from crossmargin.scenario import load_scenario
from desktop.models.accounts import AccountsListModel
from desktop.models.positions import (
    RAW_ROLE,
    RISK_ROLE,
    PositionColumn,
    PositionsSortProxy,
    PositionsTableModel,
    risk_level,
)
from desktop.session import AccountEntry, EntryKind, with_marks

pytestmark = pytest.mark.gui


@pytest.fixture
def state(book_path: Path):
    return load_scenario(book_path)


@pytest.fixture
def model(qapp, state) -> PositionsTableModel:
    m = PositionsTableModel()
    risk = evaluate(state)
    m.set_positions(risk.positions, switched_liquidation_prices(state))
    return m


def test_model_passes_qtmodeltester(qtmodeltester, model) -> None:
    qtmodeltester.check(model, force_py=True)


def test_proxy_passes_qtmodeltester(qtmodeltester, model) -> None:
    proxy = PositionsSortProxy()
    proxy.setSourceModel(model)
    proxy.set_query("long")
    qtmodeltester.check(proxy, force_py=True)


def test_empty_model_passes_qtmodeltester(qtmodeltester, qapp) -> None:
    qtmodeltester.check(PositionsTableModel(), force_py=True)


def test_accounts_model_passes_qtmodeltester(qtmodeltester, qapp) -> None:
    m = AccountsListModel()
    m.set_entries([AccountEntry("demo", EntryKind.DEMO, "Demo account")])
    m.upsert(AccountEntry("scenario:/x.json", EntryKind.SCENARIO, "x"))
    qtmodeltester.check(m, force_py=True)


def test_raw_role_is_the_engine_value(model, state) -> None:
    risk = evaluate(state)
    for p in risk.positions:
        row = model.row_of(p.id)
        assert model.index(row, PositionColumn.ENTRY).data(RAW_ROLE) == p.entry_price
        assert model.index(row, PositionColumn.MARGIN).data(RAW_ROLE) == p.margin
        assert model.index(row, PositionColumn.ROE).data(RAW_ROLE) == p.roe
        assert model.index(row, PositionColumn.LIQUIDATION).data(RAW_ROLE) == p.liquidation_price
        assert isinstance(model.index(row, PositionColumn.SIZE).data(RAW_ROLE), Decimal)


@pytest.mark.parametrize("column", list(PositionColumn))
@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
def test_sorting_compares_raw_values_with_none_last(model, column, order) -> None:
    proxy = PositionsSortProxy()
    proxy.setSourceModel(model)
    proxy.sort(int(column), order)
    values = [proxy.index(r, int(column)).data(RAW_ROLE) for r in range(proxy.rowCount())]
    present = [v for v in values if v is not None]
    assert values[: len(present)] == present  # None at the end
    assert present == sorted(present, reverse=order == Qt.SortOrder.DescendingOrder)


def test_sorting_is_numeric_not_textual(qapp, state) -> None:
    """9.5 sorts before 10 (text sort would put "10" first)."""
    base = state.positions[0]
    positions = (
        base.with_(id=PositionId("a"), leverage=Decimal("10")),
        base.with_(id=PositionId("b"), leverage=Decimal("9.5")),
        base.with_(id=PositionId("c"), leverage=Decimal("100")),
    )
    m = PositionsTableModel()
    m.set_positions(evaluate(state.with_(positions=positions)).positions)
    m.sort(int(PositionColumn.LEVERAGE), Qt.SortOrder.AscendingOrder)
    ids = [m.index(r, 0).data(RAW_ROLE) and m.position_at(r).id for r in range(3)]
    assert ids == ["b", "a", "c"]


def test_filter_matches_symbol_side_and_mode(model) -> None:
    proxy = PositionsSortProxy()
    proxy.setSourceModel(model)
    total = model.rowCount()
    proxy.set_query("isolated")
    isolated = {model.position_at(r).id for r in range(total)
                if model.position_at(r).margin_mode is MarginMode.ISOLATED}
    assert {proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 2)
            for r in range(proxy.rowCount())} == isolated
    proxy.set_query("btc LONG")
    assert proxy.rowCount() == 1
    proxy.set_query("")
    assert proxy.rowCount() == total


def test_new_marks_emit_data_changed_only_for_changed_rows(model, state) -> None:
    resets: list[int] = []
    inserted: list[int] = []
    changed: list[tuple[int, int]] = []
    model.modelAboutToBeReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda *_: inserted.append(1))
    model.dataChanged.connect(lambda a, b, _r: changed.append((a.row(), b.row())))
    moved_symbol = state.positions[0].symbol
    moved = with_marks(state, {moved_symbol: state.positions[0].mark_price * Decimal("1.01")})
    risk = evaluate(moved)
    before = switched_liquidation_prices(state)
    after = switched_liquidation_prices(moved)
    model.set_positions(risk.positions, after)
    assert resets == [] and inserted == []
    assert changed
    # isolated rows of other symbols whose "if switched" price did not move are not repainted
    untouched = [
        model.row_of(p.id) for p in risk.positions
        if p.symbol != moved_symbol and p.margin_mode is MarginMode.ISOLATED
        and before[p.id] == after[p.id]
    ]
    touched = {r for a, b in changed for r in range(a, b + 1)}
    assert untouched and not touched & set(untouched)
    row = model.row_of(state.positions[0].id)
    assert model.index(row, PositionColumn.MARK).data(RAW_ROLE) == risk.position(
        state.positions[0].id).mark_price


def test_positions_appear_and_vanish_with_insert_and_remove(model, state) -> None:
    removed: list[tuple[int, int]] = []
    inserted: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _p, a, b: removed.append((a, b)))
    model.rowsInserted.connect(lambda _p, a, b: inserted.append((a, b)))
    gone = state.positions[1]
    extra = Position(PositionId("new-eth"), gone.symbol, Side.SHORT, Decimal("1"),
                     gone.entry_price, gone.mark_price, Decimal("5"))
    positions = (*(p for p in state.positions if p.id != gone.id), extra)
    risk = evaluate(state.with_(positions=positions))
    model.set_positions(risk.positions)
    assert removed == [(1, 1)]
    assert inserted == [(len(positions) - 1, len(positions) - 1)]
    assert model.row_of(gone.id) == -1 and model.row_of("new-eth") == len(positions) - 1


def test_risk_colours_follow_liquidation_distance(model) -> None:
    assert risk_level(Decimal("0.049")) == "bad"
    assert risk_level(Decimal("0.05")) == "warn"
    assert risk_level(Decimal("0.149")) == "warn"
    assert risk_level(Decimal("0.15")) == ""
    assert risk_level(None) == ""
    assert risk_level(Decimal("0.5"), liquidated=True) == "bad"
    for r in range(model.rowCount()):
        p = model.position_at(r)
        idx = model.index(r, PositionColumn.DISTANCE)
        assert idx.data(RISK_ROLE) == risk_level(p.liquidation_distance, p.liquidated)
        if idx.data(RISK_ROLE):
            assert idx.data(Qt.ItemDataRole.ForegroundRole) is not None
            assert idx.data(Qt.ItemDataRole.BackgroundRole) is not None


def test_display_uses_instrument_precision(model) -> None:
    for r in range(model.rowCount()):
        p = model.position_at(r)
        mark = model.index(r, PositionColumn.MARK).data()
        assert mark.replace(",", "") == str(p.mark_price.normalize()) or "." in mark
        lp = model.index(r, PositionColumn.LIQUIDATION).data()
        if p.liquidation_price is None:
            assert lp == "—"
        else:
            decimals = len(lp.split(".")[1]) if "." in lp else 0
            assert decimals == model.formats().price_decimals[p.symbol]
