"""The What-if tab's host: builds the panel the first time the tab is needed (~0.25 s
saved at start-up), feeds it the book and the theme, and stages context-menu what-ifs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from crossmargin.domain import AccountState
from desktop.session import RiskSnapshot
from desktop.tasks import TaskRunner
from desktop.theme import LIGHT, Theme

if TYPE_CHECKING:
    from desktop.whatif.panel import WhatIfPanel

log = logging.getLogger(__name__)


class WhatIfTab(QWidget):
    def __init__(self, factory: Callable[[TaskRunner], WhatIfPanel], tasks: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._tasks = tasks
        self._broken = False
        self._theme = LIGHT
        self.panel: WhatIfPanel | None = None
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)

    def ensure_panel(self, state: AccountState | None) -> WhatIfPanel | None:
        """The panel, built on first use and fed ``state`` (``None`` if it cannot start:
        the tab then says so, and the window goes on without it)."""
        if self.panel is not None or self._broken:
            return self.panel
        layout = self.layout()
        assert layout is not None
        try:
            panel = self._factory(self._tasks)
        except Exception:  # a broken tab must not take the window down
            log.exception("the What-if panel failed to start")
            hint = QLabel("The What-if tab could not start; see the log for details.")
            hint.setObjectName("EmptyHint")
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(hint)
            self._broken = True
            return None
        layout.addWidget(panel)
        panel.show()  # the tab may already be on screen
        self.panel = panel
        panel.set_theme(self._theme)
        if state is not None:
            panel.set_account_state(state)
        return panel

    def set_state(self, state: AccountState) -> None:
        if self.panel is not None:
            self.panel.set_account_state(state)

    def clear(self) -> None:
        if self.panel is not None:
            self.panel.clear_account()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self.panel is not None:
            self.panel.set_theme(theme)

    def stage(self, snap: RiskSnapshot, action: str, position_id: str,
              delta: Decimal | None) -> tuple[bool, str | None]:
        """Stage a context-menu what-if (see :func:`desktop.whatif.routing.stage`)."""
        from desktop.whatif.routing import stage

        panel = self.ensure_panel(snap.state)
        if panel is None:
            return False, None
        return stage(panel.viewmodel, snap, action, position_id, delta, dialog_parent=self)
