"""The main window's menus and keyboard shortcuts (every action is also a window
action, so its shortcut works wherever the focus is)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence

from desktop.dialogs.about import AboutDialog
from desktop.views.accounts_sidebar import CollapseWhenNarrow

if TYPE_CHECKING:
    from desktop.main_window import MainWindow

Shortcut = QKeySequence | QKeySequence.StandardKey | str | None


class WindowActions:
    """The actions :func:`build_menus` puts on the main window (declared here, with it)."""

    open_action: QAction
    save_action: QAction
    add_account_action: QAction
    unlock_action: QAction
    log_position_action: QAction
    restore_action: QAction
    prefs_action: QAction
    quit_action: QAction
    tab_actions: list[QAction]
    refresh_action: QAction
    sidebar_action: QAction
    sidebar_collapse: CollapseWhenNarrow
    banner_action: QAction
    about_action: QAction


def _action(window: MainWindow, text: str, slot: Callable[[], object],
            shortcut: Shortcut = None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)
    return action


def build_menus(w: MainWindow) -> None:
    """File, Edit, View and Help menus; the actions are kept on the window (``w.open_action``…)."""
    file_menu = w.menuBar().addMenu("&File")
    w.open_action = _action(w, "&Open scenario…", w.scenarios.open_dialog,
                            QKeySequence.StandardKey.Open,
                            "Open a scenario file (an account as JSON)")
    w.save_action = _action(w, "&Save scenario as…", w.scenarios.save_dialog,
                            QKeySequence.StandardKey.Save,
                            "Save the selected account's book, at the current marks, as a "
                            "scenario file")
    w.add_account_action = _action(w, "Add &exchange account…", w.add_exchange_account,
                                   tip="Connect an exchange account with read-only API keys")
    w.unlock_action = _action(w, "&Unlock exchange keys…", w.sync.unlock_keys, "Ctrl+U",
                              "Enter the passphrase of the encrypted key file to sync its "
                              "accounts")
    w.unlock_action.setEnabled(False)
    w.log_position_action = _action(w, "&Log a position…", w.log_position,
                                    tip="Record a position in the journal")
    w.restore_action = _action(w, "&Restore the journal from a backup…",
                               w.journals.restore_backup,
                               tip="Replace the journal with one of its backups (the current "
                                   "content is kept aside first)")
    w.prefs_action = _action(w, "&Preferences…", w.edit_preferences,
                             QKeySequence.StandardKey.Preferences)
    if w.prefs_action.shortcut().isEmpty():
        w.prefs_action.setShortcut(QKeySequence("Ctrl+,"))
    w.quit_action = _action(w, "&Quit", w.close, "Ctrl+Q")
    w.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    for group in ((w.open_action, w.save_action),
                  (w.add_account_action, w.unlock_action, w.log_position_action,
                   w.restore_action),
                  (w.quit_action,)):
        for action in group:
            file_menu.addAction(action)
        if group[0] is not w.quit_action:
            file_menu.addSeparator()
    w.banner.add_account_button.setToolTip(w.add_account_action.toolTip())
    w.banner.log_position_button.setToolTip(w.log_position_action.toolTip())

    # Edit: the journal's undo stack (its texts name the step: "Undo Edit size, entry")
    edit_menu = w.menuBar().addMenu("&Edit")
    edit_menu.addAction(w.journal_view.undo_action)
    edit_menu.addAction(w.journal_view.redo_action)
    edit_menu.addSeparator()
    edit_menu.addAction(w.prefs_action)

    view_menu = w.menuBar().addMenu("&View")
    w.tab_actions = []
    for i in range(w.tabs.count()):
        action = _action(w, w.tabs.tabText(i), partial(w.tabs.setCurrentIndex, i),
                         f"Ctrl+{i + 1}")
        view_menu.addAction(action)
        w.tab_actions.append(action)
    view_menu.addSeparator()
    w.sidebar_action = _action(w, "Show the &accounts list", lambda: None, "Ctrl+B",
                               "Hide the accounts list to give the tabs the width")
    w.sidebar_action.setCheckable(True)
    w.sidebar_action.setChecked(True)
    w.sidebar_action.toggled.connect(w.sidebar.setVisible)
    w.sidebar_collapse = CollapseWhenNarrow(w, w.sidebar_action)
    view_menu.addAction(w.sidebar_action)
    w.refresh_action = _action(w, "&Refresh", w.refresh, QKeySequence.StandardKey.Refresh,
                               "Re-read the account and recompute every figure")
    if w.refresh_action.shortcut() != QKeySequence("F5"):
        w.refresh_action.setShortcuts([QKeySequence("F5"), w.refresh_action.shortcut()])
    view_menu.addAction(w.refresh_action)
    def show_banner() -> None:
        w.settings.setValue("window/banner_hidden", False)
        w.banner.setVisible(True)

    w.banner_action = _action(w, "Show &welcome banner", show_banner)
    view_menu.addAction(w.banner_action)

    help_menu = w.menuBar().addMenu("&Help")
    w.about_action = _action(w, "&About CrossMargin",
                             lambda: AboutDialog(icon=w.services.icon, parent=w).exec())
    w.about_action.setMenuRole(QAction.MenuRole.AboutRole)
    help_menu.addAction(w.about_action)
