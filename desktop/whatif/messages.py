"""What the What-if tab says when it cannot take a change: the engine's and the scenario
checker's problems in the words of the dialog the user typed in."""

from __future__ import annotations

from crossmargin.domain import MarginMode, Position
from crossmargin.numbers import plain

from .compute import display_symbol


def same_position(clash: Position) -> str:
    """A second position on a symbol, side and mode the book has: the exchange would add
    to the first; say so, and how to try a larger one."""
    side, mode = clash.side.value, MarginMode(str(clash.margin_mode))
    return (
        f"{display_symbol(clash.symbol)} already has a {side} {mode.value} position here "
        f"({plain(clash.contracts)} contracts at {plain(clash.entry_price)}). On the "
        f"exchange a second {side} order adds to that position instead of opening another: "
        "to try a larger one, tick Close on it and add one with the combined size, or add "
        f"this one in the other margin mode ({mode.other.value})."
    )


def field_of(line: str, symbol: str) -> str:
    """A scenario problem in the add dialog's words (``positions[7].leverage: ...`` ->
    ``leverage: ...``)."""
    if line.startswith("tiers:"):
        return (
            f"Symbol: the account has no maintenance-margin tiers for {symbol}; "
            "pick a symbol of the book"
        )
    head, _, rest = line.partition("]")
    return rest.lstrip(".") if head.startswith("positions[") and rest else line
