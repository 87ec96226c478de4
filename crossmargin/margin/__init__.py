"""The margin engine: exact, pure (no I/O), Decimal in and Decimal out.

See :mod:`crossmargin.margin.rules` for the exchange rule sets,
:mod:`crossmargin.margin.solver` for how liquidation prices are solved,
:mod:`crossmargin.margin.whatif` for what-if operations and
:mod:`crossmargin.margin.shock` for shocks, cascades and sweeps and
:mod:`crossmargin.margin.vectorised` for all liquidation prices in float64 (live views).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crossmargin.margin.risk import (
    ENGINE_CONTEXT,
    AccountRisk,
    CollateralFigures,
    PositionRisk,
    SwitchEffect,
    evaluate,
    liquidation_prices,
    margin_function,
    switch_effects,
    switched_liquidation_prices,
)
from crossmargin.margin.tiers import (
    TierTable,
    derive_maintenance_amounts,
    validate_tiers,
)
from crossmargin.margin.whatif import (
    AddPosition,
    AdjustMargin,
    ClosePosition,
    ConvertCollateral,
    SetCollateral,
    SetCollateralMode,
    SetMarks,
    SwitchMode,
    WhatIfOp,
    WhatIfResult,
    apply_whatif,
    compare_whatif,
)

#: Names whose modules load numpy: imported on first use (PEP 562), so a ``crossmargin``
#: command that needs no sweep (``whatif FILE``, ``--help``) never loads it.
_LAZY = {
    "Cascade": "shock", "CascadeEvent": "shock", "ShockPoint": "shock",
    "ShockProfile": "shock", "SweepResult": "shock", "cascade": "shock",
    "shock_point": "shock", "shock_state": "shock", "sweep": "shock",
    "VectorBook": "vectorised", "liquidation_prices_array": "vectorised",
}

if TYPE_CHECKING:
    from crossmargin.margin.shock import (
        Cascade,
        CascadeEvent,
        ShockPoint,
        ShockProfile,
        SweepResult,
        cascade,
        shock_point,
        shock_state,
        sweep,
    )
    from crossmargin.margin.vectorised import VectorBook, liquidation_prices_array


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"crossmargin.margin.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ENGINE_CONTEXT",
    "AccountRisk",
    "AddPosition",
    "AdjustMargin",
    "Cascade",
    "CascadeEvent",
    "ClosePosition",
    "CollateralFigures",
    "ConvertCollateral",
    "PositionRisk",
    "SetCollateral",
    "SetCollateralMode",
    "SetMarks",
    "ShockPoint",
    "ShockProfile",
    "SweepResult",
    "SwitchEffect",
    "SwitchMode",
    "TierTable",
    "VectorBook",
    "WhatIfOp",
    "WhatIfResult",
    "apply_whatif",
    "cascade",
    "compare_whatif",
    "derive_maintenance_amounts",
    "evaluate",
    "liquidation_prices",
    "liquidation_prices_array",
    "margin_function",
    "shock_point",
    "shock_state",
    "sweep",
    "switch_effects",
    "switched_liquidation_prices",
    "validate_tiers",
]
