"""The margin engine: exact, pure (no I/O), Decimal in and Decimal out.

See :mod:`crossmargin.margin.rules` for the exchange rule sets,
:mod:`crossmargin.margin.solver` for how liquidation prices are solved,
:mod:`crossmargin.margin.whatif` for what-if operations and
:mod:`crossmargin.margin.shock` for shocks, cascades and sweeps and
:mod:`crossmargin.margin.vectorised` for all liquidation prices in float64 (live views).
"""

from __future__ import annotations

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
from crossmargin.margin.tiers import (
    TierTable,
    derive_maintenance_amounts,
    validate_tiers,
)
from crossmargin.margin.vectorised import VectorBook, liquidation_prices_array
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
