"""Staging a what-if from a position's context menu (Positions tab) in the What-if tab."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtWidgets import QWidget

from crossmargin.domain import MarginMode, PositionId
from desktop.dialogs.add_margin import AddMarginDialog
from desktop.session import RiskSnapshot
from desktop.whatif.viewmodel import WhatIfViewModel

ACTIONS = ("switch", "close", "add_margin")


def stage(vm: WhatIfViewModel, snap: RiskSnapshot, action: str, position_id: str,
          delta: Decimal | None = None, *, dialog_parent: QWidget | None = None
          ) -> tuple[bool, str | None]:
    """Stage ``action`` on a position: ``switch`` (to the other margin mode; a second
    switch undoes the first), ``close``, or ``add_margin`` (``delta`` in the settlement
    currency, asked for in a dialog when ``None``). Returns (staged, problem): not
    staged when the user cancelled the dialog."""
    if action not in ACTIONS:
        raise ValueError(f"unknown what-if action {action!r}")
    pid = PositionId(position_id)
    position = snap.risk.position(pid)
    if action == "switch":
        current = vm.plan.edit(pid).mode or MarginMode(str(position.margin_mode))
        return True, vm.set_mode(pid, current.other)
    if action == "close":
        return True, vm.set_close(pid, True)
    margin = vm.plan.edit(pid).margin or position.margin
    if delta is None:
        dialog = AddMarginDialog(symbol=position.symbol, current=margin,
                                 settle=snap.risk.settle, parent=dialog_parent)
        if not dialog.exec() or dialog.delta is None:
            return False, None
        delta = dialog.delta
    return True, vm.set_margin(pid, margin + delta)
