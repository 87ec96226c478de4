"""Entry script of the frozen CrossMargin desktop app (PyInstaller starts here).

The same ``desktop.app:main`` as the ``crossmargin-desktop`` command of a wheel, so
``--self-test``, ``--demo``, ``--theme`` and ``--version`` work in the bundle too.
"""

from __future__ import annotations

import sys

from desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
