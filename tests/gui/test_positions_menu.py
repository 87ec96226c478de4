"""Positions context menu: what-if actions land in the What-if tab; inline validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.domain import MarginMode
from desktop.dialogs.add_margin import AddMarginDialog, parse_margin_delta

pytestmark = pytest.mark.gui


def _panel(window):
    if not window.whatif_available:
        pytest.skip("the What-if panel is not part of this build")
    assert window.whatif_panel is None  # built on first use
    panel = window.ensure_whatif_panel()
    assert panel is not None and window.ensure_whatif_panel() is panel
    return panel


def test_menu_lists_the_actions_for_a_position(window, settle) -> None:
    settle(window)
    state = window.session.state
    cross = next(p for p in state.positions if p.margin_mode is MarginMode.CROSS)
    isolated = next(p for p in state.positions if p.margin_mode is MarginMode.ISOLATED)
    menu = window.positions.build_menu(cross.id)
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[0] == "Switch to isolated (what-if)"
    assert "Close position (what-if)" in texts and "Open in journal" in texts
    add = next(a for a in menu.actions() if a.objectName() == "add_margin")
    assert not add.isEnabled()  # cross positions have no margin of their own
    menu = window.positions.build_menu(isolated.id)
    assert menu.actions()[0].text() == "Switch to cross (what-if)"
    journal = next(a for a in menu.actions() if a.text() == "Open in journal")
    edit = next(a for a in menu.actions() if a.text() == "Edit position…")
    assert not journal.isEnabled() and not edit.isEnabled()  # the demo is not in the journal


def test_switch_from_the_menu_stages_it_in_the_whatif_tab(window, qtbot, settle) -> None:
    panel = _panel(window)
    settle(window)
    cross = next(p for p in window.session.state.positions if p.margin_mode is MarginMode.CROSS)
    menu = window.positions.build_menu(cross.id)
    next(a for a in menu.actions() if a.objectName() == "switch").trigger()
    assert window.tabs.currentWidget() is window.whatif_tab
    assert panel.isVisible()
    assert panel.viewmodel.plan.edit(cross.id).mode is MarginMode.ISOLATED
    window.route_whatif("switch", cross.id)  # a second switch undoes the first
    assert panel.viewmodel.plan.edit(cross.id).mode in (None, MarginMode.CROSS)


def test_close_and_add_margin_from_the_menu(window, settle) -> None:
    panel = _panel(window)
    settle(window)
    state = window.session.state
    isolated = next(p for p in state.positions if p.margin_mode is MarginMode.ISOLATED)
    own = window.session.snapshot.risk.position(isolated.id).margin
    window.route_whatif("add_margin", isolated.id, Decimal("100"))
    assert panel.viewmodel.plan.edit(isolated.id).margin == own + 100
    window.route_whatif("close", isolated.id)
    assert panel.viewmodel.plan.edit(isolated.id).close


def test_add_margin_dialog_validates_in_place(qtbot) -> None:
    dialog = AddMarginDialog(symbol="DOGE/USDT:USDT", current=Decimal("500"), settle="USDT")
    qtbot.addWidget(dialog)
    dialog.show()
    for bad in ("", "abc", "0", "-500", "-1,000"):
        dialog.amount.setText(bad)
        dialog.buttons.accepted.emit()
        assert dialog.isVisible() and dialog.delta is None
        assert dialog.problem.isVisible() and dialog.problem.text()
        assert dialog.amount.property("invalid") is True
    dialog.amount.setText("1,250.50")
    assert not dialog.problem.isVisible()  # typing clears the message
    dialog.buttons.accepted.emit()
    assert dialog.delta == Decimal("1250.50") and not dialog.isVisible()


def test_parse_margin_delta() -> None:
    assert parse_margin_delta("−100", Decimal(500), "USDT") == (Decimal(-100), "")
    value, problem = parse_margin_delta("-600", Decimal(500), "USDT")
    assert value is None and "would leave no margin" in problem
