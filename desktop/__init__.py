"""CrossMargin desktop application (PySide6 + pyqtgraph).

The GUI only adapts and draws: every number comes from the public functions of
:mod:`crossmargin`; slow work runs through :mod:`desktop.tasks`. Importing this
package does no work (no QApplication, no file access).
"""

from __future__ import annotations
