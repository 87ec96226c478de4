"""CrossMargin core: domain model, margin engine, journal storage, exchange sync, CLI.

This package never imports Qt; it is usable from the command line and tests
without a display.
"""

from __future__ import annotations

__version__ = "0.1.0"
