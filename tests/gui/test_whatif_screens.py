"""The What-if panel at 1280×800 and 1920×1080, light and dark: laid out, nothing clipped.

As a test it renders the panel on the demo book with a what-if applied and checks
the layout (the book's columns fit, the charts and the cascade have room, the
summary and the banner are readable). As a script it also writes the PNGs:

    python3 tests/gui/test_whatif_screens.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "scenarios" / "demo.json"
SIZES = ((1024, 700), (1280, 800), (1920, 1080))

pytestmark = pytest.mark.gui


def build(tasks, theme_name: str, size: tuple[int, int]):
    """A shown panel on the demo book with a what-if applied and a −8 % shock."""
    from PySide6.QtWidgets import QApplication

    from crossmargin.domain import MarginMode, Position
    from crossmargin.scenario import load_scenario
    from desktop.theme import DARK, LIGHT, apply_theme
    from desktop.whatif.panel import WhatIfPanel

    app = QApplication.instance()
    theme = DARK if theme_name == "dark" else LIGHT
    apply_theme(app, theme)
    panel = WhatIfPanel(tasks=tasks)
    panel.set_theme(theme)
    panel.resize(*size)
    state = load_scenario(DEMO)
    panel.set_account_state(state)
    panel.show()
    vm = panel.viewmodel
    cross = [p for p in state.positions if p.margin_mode is MarginMode.CROSS]
    isolated = [p for p in state.positions if p.margin_mode is MarginMode.ISOLATED]
    assert vm.set_mode(cross[0].id, MarginMode.ISOLATED) is None
    assert vm.set_margin_text(cross[0].id, "150") is None
    assert vm.set_close(isolated[-1].id, True) is None
    eth = next(p for p in state.positions if p.symbol.startswith("ETH"))
    new = Position(
        id=vm.new_position_id(), symbol=eth.symbol, side=eth.side.opposite,
        contracts=Decimal("2"), entry_price=eth.mark_price, mark_price=eth.mark_price,
        leverage=Decimal(10), margin_mode=MarginMode.ISOLATED,
    )
    assert vm.add_position(new) == []
    vm.set_shock(Decimal("-0.08"))
    panel.book_view.selectRow(0)
    return panel


def settle(app, panel, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    vm = panel.viewmodel
    while vm.busy or vm.snapshot is None or vm.snapshot.plan != vm.plan:
        app.processEvents()
        if time.monotonic() > end:
            raise TimeoutError("the what-if did not finish")
        time.sleep(0.005)
    for _ in range(5):
        app.processEvents()


def check_layout(panel) -> None:
    from PySide6.QtCore import Qt

    view = panel.book_view
    assert not view.horizontalScrollBar().isVisible(), "book columns do not fit"
    header = view.horizontalHeader()
    metrics = view.fontMetrics()
    for column in range(panel.book_model.columnCount()):
        title = panel.book_model.headerData(column, Qt.Orientation.Horizontal)
        needed = max(metrics.horizontalAdvance(line) for line in title.split("\n"))
        assert header.sectionSize(column) >= needed + 8, title
    assert panel.shock_chart.width() >= 300 and panel.shock_chart.height() >= 200
    assert panel.ladder_chart.height() >= 150
    assert panel.cascade_view.width() >= 220
    summary = panel.summary
    assert summary.height() >= summary.heightForWidth(summary.width()) - 2, "summary clipped"
    assert panel.banner.isHidden() or panel.banner_text.height() >= 16
    grabbed = panel.grab().toImage()
    assert grabbed.width() == panel.width() and grabbed.height() == panel.height()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme_name", ["light", "dark"])
def test_panel_layout(qtbot, qapp, theme_name, size):
    from desktop.tasks import TaskRunner

    tasks = TaskRunner()
    try:
        panel = build(tasks, theme_name, size)
        qtbot.addWidget(panel)
        settle(qapp, panel)
        check_layout(panel)
    finally:
        tasks.shutdown()


def main(out: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    from desktop.qtcompat import protect_none

    protect_none()
    from PySide6.QtWidgets import QApplication

    from desktop.tasks import TaskRunner

    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    tasks = TaskRunner()
    for theme_name in ("light", "dark"):
        for size in SIZES:
            panel = build(tasks, theme_name, size)
            settle(app, panel)
            path = out / f"whatif_{theme_name}_{size[0]}x{size[1]}.png"
            panel.grab().save(str(path))
            print(path)
            panel.close()
            panel.deleteLater()
    tasks.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "screens")))
