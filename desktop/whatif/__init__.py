"""The What-if tab: try margin-mode switches, margin changes, closes, hypothetical
positions and price shocks on the whole book, and see the engine's answer at once.

* :mod:`desktop.whatif.plan` — the user's what-if as immutable data, turned into
  engine operations and a shock profile (no Qt).
* :mod:`desktop.whatif.compute` — runs the engine for a plan (no Qt; runs on a
  worker thread) and returns everything the views draw.
* :mod:`desktop.whatif.viewmodel` — holds the live book and the plan, debounces
  and submits recomputes through :class:`desktop.tasks.TaskRunner` (latest wins).
* :mod:`desktop.whatif.models`, :mod:`~desktop.whatif.charts`,
  :mod:`~desktop.whatif.dialogs`, :mod:`~desktop.whatif.panel` — Qt adapters and views.
"""

from __future__ import annotations
