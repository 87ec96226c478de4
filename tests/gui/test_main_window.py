"""The main window: starts on the demo account, shows the engine's numbers, opens files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.margin import evaluate, switched_liquidation_prices
from crossmargin.scenario import load_scenario
from desktop.models.positions import RAW_ROLE, PositionColumn
from desktop.session import EntryKind

pytestmark = pytest.mark.gui


def test_app_starts_on_the_demo_account(window) -> None:
    entry = window.session.entry
    assert entry is not None and entry.kind is EntryKind.DEMO
    assert window.header.title.text() == "Demo account"
    assert window.header.badge.text() == "DEMO"
    assert window.accounts_model.entries()[0].label == "Demo account"
    assert window.banner.isVisible()
    # figures are filled in from the engine, and the simulated feed is running
    risk = window.session.snapshot.risk
    assert window.figures.equity.value.text().endswith(risk.settle)
    assert window.marks.simulated is not None and window.marks.simulated.is_running()
    assert window.positions.model.rowCount() == len(window.session.state.positions) > 0
    assert [window.tabs.tabText(i) for i in range(2)] == ["Dashboard", "Positions"]


def test_main_entry_point_starts_on_the_demo_account(qapp, qtbot, monkeypatch) -> None:
    """``crossmargin-desktop --demo --theme dark`` builds everything and shows the demo.

    The event loop is driven by qtbot: once ``QApplication.exec`` returns, Qt refuses
    to run another event loop in this process, which would break the next tests.
    """
    from desktop import app as desktop_app
    from desktop.main_window import MainWindow

    seen: dict[str, object] = {}

    def drive(app) -> int:
        windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        assert len(windows) == 1
        window = windows[0]
        qtbot.waitUntil(lambda: window.session.snapshot is not None, timeout=10_000)
        seen["entry"] = window.session.entry
        seen["dark"] = window.theme.dark
        seen["figure"] = window.figures.equity.value.text()
        seen["icon"] = not window.windowIcon().isNull()
        return 0

    monkeypatch.setattr(desktop_app, "run_event_loop", drive)
    assert desktop_app.main(["--demo", "--theme", "dark"]) == 0
    entry = seen["entry"]
    assert entry is not None and entry.kind is EntryKind.DEMO  # type: ignore[union-attr]
    assert seen["dark"] is True and seen["icon"] is True
    assert seen["figure"] != "—"
    # the log folder the README names exists and holds the app's log
    from crossmargin import paths

    log = paths.log_dir() / "crossmargin-desktop.log"
    assert log.is_file() and "CrossMargin desktop starting" in log.read_text(encoding="utf-8")


def test_positions_table_shows_the_engine_liquidation_prices_exactly(window, settle) -> None:
    settle(window)
    state = window.session.state
    expected = evaluate(state)
    switched = switched_liquidation_prices(state)
    model = window.positions.model
    formats = model.formats()
    assert model.rowCount() == len(expected.positions)
    for p in expected.positions:
        row = model.row_of(p.id)
        lp = model.index(row, PositionColumn.LIQUIDATION)
        assert lp.data(RAW_ROLE) == p.liquidation_price
        assert lp.data() == formats.price(p.symbol, p.liquidation_price)
        sw = model.index(row, PositionColumn.SWITCHED_LIQUIDATION)
        assert sw.data(RAW_ROLE) == switched[p.id]
        assert model.index(row, PositionColumn.DISTANCE).data(RAW_ROLE) == p.liquidation_distance
        assert model.index(row, PositionColumn.UPNL).data(RAW_ROLE) == p.unrealized_pnl
    # key figures are the engine's account figures
    assert window.figures.equity.value.text().replace(",", "").startswith(
        str(expected.equity.quantize(Decimal("0.01")))
    )


def test_mark_ticks_update_rows_without_resetting_the_model(window, qtbot, settle) -> None:
    settle(window)
    model = window.positions.model
    resets: list[int] = []
    changed: list[tuple[int, int]] = []
    model.modelAboutToBeReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda a, b, _roles: changed.append((a.row(), b.row())))
    before = window.session.snapshot
    window.marks.simulated.step()
    qtbot.waitUntil(lambda: window.session.snapshot is not before, timeout=10_000)
    assert resets == []
    assert changed, "a mark tick must emit dataChanged"


def test_open_scenario_with_a_bad_file_shows_the_problem_and_changes_nothing(
    window, qtbot, tmp_path: Path, settle
) -> None:
    settle(window)
    bad = tmp_path / "broken.json"
    data = json.loads((Path(__file__).parent / "data" / "book.json").read_text())
    data["positions"][0]["leverage"] = "-5"
    data["wallet_balance"] = "lots"
    bad.write_text(json.dumps(data))
    entries_before = window.accounts_model.entries()
    state_before = window.session.state
    entry_before = window.session.entry
    window.scenarios.open(bad)
    qtbot.waitUntil(window.message_bar.isVisible, timeout=10_000)
    assert window.message_bar.level() == "error"
    text = window.message_bar.message()
    assert "broken.json" in text and "Nothing was changed" in text
    assert "positions[0].leverage" in text and "wallet_balance" in text
    assert window.accounts_model.entries() == entries_before
    assert window.session.entry == entry_before
    assert window.session.state == state_before

    # not JSON at all, and a missing file: same inline message, never a traceback
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff not json")
    window.message_bar.dismiss()
    window.scenarios.open(garbage)
    qtbot.waitUntil(window.message_bar.isVisible, timeout=10_000)
    assert "garbage.json" in window.message_bar.message()
    window.message_bar.dismiss()
    window.scenarios.open(tmp_path / "missing.json")
    qtbot.waitUntil(window.message_bar.isVisible, timeout=10_000)
    assert "file not found" in window.message_bar.message()
    assert window.accounts_model.entries() == entries_before


def test_open_scenario_adds_the_account_and_shows_it(window, qtbot, book_path: Path) -> None:
    window.scenarios.open(book_path)
    qtbot.waitUntil(
        lambda: window.session.entry is not None
        and window.session.entry.kind is EntryKind.SCENARIO
        and window.session.snapshot is not None
        and window.session.snapshot.state == window.session.state,
        timeout=10_000,
    )
    assert window.marks.simulated is None  # a file has no live prices
    keys = [e.key for e in window.accounts_model.entries()]
    key = f"scenario:{book_path.resolve()}"
    assert keys[0] == "demo" and key in keys
    assert window.session.state == load_scenario(book_path)
    assert not window.banner.isVisible()
    current = window.accounts_view.currentIndex()
    assert current.row() == keys.index(key)
    # remembered for the next start
    from desktop.settings import recent_scenarios

    assert recent_scenarios(window.settings) == [book_path.resolve()]


def test_save_scenario_round_trips_the_current_book(window, qtbot, tmp_path: Path, settle) -> None:
    settle(window)
    target = tmp_path / "saved.json"
    window.scenarios.save(window.session.state, target)
    qtbot.waitUntil(lambda: target.exists() and not window.tasks.is_busy(), timeout=10_000)
    assert load_scenario(target) == window.session.state
    assert window.accounts_model.row_of(f"scenario:{target.resolve()}") >= 0


def test_settings_persist_across_two_windows(services, open_window, qtbot) -> None:
    first = open_window(services, start_demo=True)
    first.resize(1200, 700)
    first.tabs.setCurrentIndex(1)
    first.splitter.setSizes([300, 800])
    first.positions.table.setColumnWidth(int(PositionColumn.SYMBOL), 211)
    first.dashboard.equity_chart.set_range("1W")
    sizes = first.splitter.sizes()
    first.close()

    second = open_window(services)
    assert second.tabs.currentIndex() == 1
    assert second.size().width() == 1200 and second.size().height() == 700
    assert second.splitter.sizes() == sizes
    assert second.positions.table.columnWidth(int(PositionColumn.SYMBOL)) == 211
    assert second.dashboard.equity_chart.current_range() == "1W"
    assert second.session.entry is not None and second.session.entry.key == "demo"


def test_keyboard_shortcuts_switch_tabs(window, qtbot) -> None:
    shortcuts = {a.text(): a.shortcut().toString() for a in window.tab_actions}
    assert shortcuts["Dashboard"] == "Ctrl+1" and shortcuts["Positions"] == "Ctrl+2"
    window.tab_actions[1].trigger()
    assert window.tabs.currentIndex() == 1
    assert window.open_action.shortcut().toString() == "Ctrl+O"
    assert window.save_action.shortcut().toString() == "Ctrl+S"
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    assert "F5" in [s.toString() for s in window.refresh_action.shortcuts()]
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["File", "Edit", "View", "Help"]
    edit = [a for a in menus["Edit"].actions() if not a.isSeparator()]
    assert edit[:2] == [window.journal_view.undo_action, window.journal_view.redo_action]
    assert window.prefs_action in edit and window.prefs_action.shortcut().toString() == "Ctrl+,"


def test_margin_alert_fires_once_when_the_ratio_crosses_it(window, qtbot, settle) -> None:
    from desktop.settings import Preferences

    settle(window)
    ratio = window.session.snapshot.risk.margin_ratio
    assert ratio is not None
    fired: list[str] = []
    window.alerts.alert.crossed.connect(lambda label, _r: fired.append(label))
    window.apply_preferences(Preferences(margin_alert=Decimal("0.01"), notifications=True))
    window.session.refresh()
    qtbot.waitUntil(lambda: bool(fired), timeout=10_000)
    assert fired == ["Demo account"]
    assert window.message_bar.level() == "warning"
    assert "crossed your alert" in window.message_bar.message()
    window.session.refresh()
    qtbot.waitUntil(lambda: not window.tasks.is_busy(), timeout=10_000)
    qtbot.wait(50)
    assert fired == ["Demo account"]  # no repeat while the ratio stays above


def test_whatif_tab_is_built_on_first_use_with_the_current_book(window, settle) -> None:
    if not window.whatif_available:
        pytest.skip("the What-if panel is not part of this build")
    settle(window)
    assert window.whatif_panel is None
    window.tabs.setCurrentIndex(window.tabs.indexOf(window.whatif_tab))
    panel = window.whatif_panel
    assert panel is not None and panel.isVisible()
    assert panel.viewmodel.base == window.session.state


def test_preferences_switch_the_theme_and_are_saved(qapp, services, qtbot) -> None:
    from PySide6.QtGui import QPalette

    from desktop import app as desktop_app
    from desktop.settings import Preferences
    from desktop.theme import DARK, LIGHT

    args = desktop_app.parse_args(["--demo", "--theme", "light"])
    window = desktop_app.build_window(qapp, args, services)
    qtbot.addWidget(window)
    assert not window.theme.dark
    window.apply_preferences(Preferences(margin_alert=Decimal("0.6"), theme="dark"))
    assert window.theme.dark
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == DARK.window
    assert Preferences.load(services.settings).margin_alert == Decimal("0.6")
    assert window.dashboard.ratio_chart.alert_line.label.format == "Alert 60 %"
    window.apply_preferences(Preferences(theme="light"))
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == LIGHT.window
    window.close()


def test_a_damaged_journal_is_said_and_a_backup_restored(qtbot, services, open_window,
                                                         tmp_path) -> None:
    """The app opens on a damaged journal without reading it, says so with the way out
    (no CLI flag in sight) and restores the backup the user picks."""
    from crossmargin import paths
    from crossmargin.storage import Journal

    db = paths.default_journal_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    with Journal.open(db) as j:
        j.create_account("Kept")
        for i in range(300):
            j.record_balance("Kept", Decimal(1000 + i))
        good = j.backup()
    data = bytearray(db.read_bytes())
    mid = len(data) // 2
    data[mid - 4096: mid + 4096] = bytes(b ^ 0xFF for b in data[mid - 4096: mid + 4096])
    db.write_bytes(bytes(data))
    window = open_window(services, start_demo=True)
    qtbot.waitUntil(lambda: window.journals.restore_dialog is not None, timeout=20_000)
    text = window.message_bar.message()
    assert "The journal is damaged" in text and "--db" not in text and "crossmargin " not in text
    dialog = window.journals.restore_dialog
    assert dialog.chosen() == good  # the newest sound backup is preselected
    dialog.submit()
    qtbot.waitUntil(lambda: window.journals.restore_dialog is None, timeout=20_000)
    qtbot.waitUntil(lambda: any(e.label == "Kept" for e in window.accounts_model.entries()),
                    timeout=20_000)
    assert "restored from" in window.message_bar.message()
    assert window.journal is not None and not window.journal.info.damage


def test_the_cli_writes_beside_the_app_and_the_app_shows_it(journal_window, qtbot) -> None:
    """The journal is shared with the CLI while the window is open (no "already open"),
    and the window notices the outside write and shows it."""
    from crossmargin.cli.main import main

    window = journal_window
    db = str(window.journal.path)
    assert main(["journal", "account", "add", "From the shell", "--exchange", "bybit",
                 "--db", db]) == 0
    window.journals.check_outside()  # the timer's tick, without waiting 2 s
    qtbot.waitUntil(lambda: any(e.label == "From the shell"
                                for e in window.accounts_model.entries()), timeout=10_000)


def test_quit_closes_the_journal_quickly_and_quietly(open_window, services, qtbot,
                                                    caplog) -> None:
    import logging
    import time as _time

    from crossmargin.storage import Journal

    with Journal.open() as j:
        j.create_account("Book")
    window = open_window(services, start_demo=True)
    qtbot.waitUntil(lambda: window.journal is not None, timeout=10_000)
    journal = window.journal
    caplog.set_level(logging.WARNING)
    t0 = _time.perf_counter()
    window.close()
    elapsed = _time.perf_counter() - t0
    assert journal._closed
    assert not [r for r in caplog.records if "ProgrammingError" in r.getMessage()
                or "thread" in r.getMessage().lower()]
    print(f"quit with an open journal: {elapsed * 1000:.0f} ms")


def test_the_demo_shows_a_sample_journal_that_is_thrown_away(window, qtbot) -> None:
    """First run: the demo's Journal tab has weeks of sample trades (its Review too);
    they live in a temporary file removed at quit, never in the user's journal."""
    window.tabs.setCurrentWidget(window.journal_view)
    view = window.journal_view
    qtbot.waitUntil(lambda: view.model.rowCount() > 20, timeout=20_000)
    demo = view._journal
    assert demo is not None and demo is not window.journal
    folder = demo.path.parent
    assert folder.is_dir() and "crossmargin-demo-" in folder.name
    view.tables.setCurrentWidget(view.review)
    qtbot.waitUntil(lambda: view.review.table.rowCount() == 3, timeout=10_000)  # 3 setups
    window.close()
    assert not folder.exists()


def test_the_accounts_list_can_be_hidden_for_room(window, qtbot) -> None:
    """View ▸ Show the accounts list (Ctrl+B) hides the sidebar; the tabs get its width.
    Below 1180 px it folds away by itself, until the user chooses."""
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    assert not window.sidebar.isHidden()
    window.resize(1024, 700)
    qtbot.waitUntil(window.sidebar.isHidden, timeout=5_000)
    assert not window.sidebar_action.isChecked()
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: not window.sidebar.isHidden()
                    and window.tabs.width() < window.width() - 120, timeout=5_000)
    before = window.tabs.width()
    window.sidebar_action.trigger()  # the user's choice: it now stands at any width
    assert window.sidebar.isHidden() and not window.sidebar_action.isChecked()
    qtbot.waitUntil(lambda: window.tabs.width() > before + 100, timeout=5_000)
    window.resize(1024, 700)
    window.sidebar_action.trigger()
    assert not window.sidebar.isHidden()
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.width() == 1000, timeout=5_000)
    assert not window.sidebar.isHidden()


def test_the_pooled_example_shows_its_collateral_and_what_selling_it_does(window, qtbot):
    """The bundled multi-asset example is in the accounts list from the first run (the
    first-run banner still shows); its dashboard lists the collateral; in the What-if,
    selling the BTC held for USDT moves the BTC long's liquidation price down."""
    from desktop.controllers.scenarios import bundled_examples

    (example,) = bundled_examples()
    assert window.sidebar.has(example.key) and window.banner.isVisible()
    window.select_account(example.key)
    qtbot.waitUntil(lambda: window.session.snapshot is not None
                    and window.session.snapshot.state.multi_asset, timeout=10_000)
    window.dashboard.redraw()
    panel = window.dashboard.collateral
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=5_000)
    assert not panel.isHidden() and "Multi-asset margin" in panel.summary.text()
    window.tabs.setCurrentWidget(window.whatif_tab)
    whatif = window.ensure_whatif_panel()
    vm = whatif.viewmodel
    qtbot.waitUntil(lambda: vm.snapshot is not None and vm.base is not None
                    and vm.base.multi_asset, timeout=20_000)
    box = whatif.collateral_box
    assert not box.isHidden() and box.pool.isChecked() and box.table.rowCount() == 2
    before = vm.snapshot.book.whatif.after.position("btc-long").liquidation_price
    box.table.selectRow(0)  # BTC
    box.sell.click()
    qtbot.waitUntil(lambda: vm.snapshot is not None and vm.snapshot.plan == vm.plan
                    and bool(vm.plan.sold), timeout=20_000)
    after = vm.snapshot.book.whatif.after
    assert after.position("btc-long").liquidation_price < before
    assert after.collateral[0].amount == 0
    # the cascade row says what the collateral lost on the way (live book: pooled BTC)
    box.pool.setChecked(False)  # single-asset: the collateral no longer counts
    qtbot.waitUntil(lambda: vm.snapshot is not None and vm.snapshot.plan == vm.plan
                    and vm.plan.collateral_mode is not None, timeout=20_000)
    assert vm.snapshot.book.whatif.after.collateral_value == 0
