"""The services the desktop app builds once at start-up and injects into its windows.

Nothing here is global: :func:`desktop.app.main` builds one :class:`Services` and
passes it (keyword-only) to :class:`desktop.main_window.MainWindow`; tests build
their own with a private settings file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon

from desktop.settings import Preferences
from desktop.tasks import TaskRunner

if TYPE_CHECKING:
    from crossmargin.storage import Journal
    from desktop.controllers.theme import ThemeController
    from desktop.whatif.panel import WhatIfPanel


def whatif_panel(tasks: TaskRunner) -> WhatIfPanel:
    """The What-if tab's panel (imported when the tab is first opened: ~0.25 s)."""
    from desktop.whatif.panel import WhatIfPanel

    return WhatIfPanel(tasks=tasks)


@dataclass
class Services:
    """Everything a window needs from the outside world.

    ``demo_path``: the demo scenario file (``None`` = the bundled one).
    ``demo_seed``: seeds the simulated mark feed and the synthetic history
    (``None`` = random each run). ``journal_path``: the journal file (``None`` = the
    default under the data folder); it is opened in the background when it exists and
    created when the user first logs a position. ``journal``: an already open
    :class:`crossmargin.storage.Journal` (tests). ``themes``: applies the theme the
    Preferences dialog picks (``None``: the window only recolours itself).
    ``whatif``: builds the What-if panel (``None``: the tab is left out).
    ``mark_interval``: seconds between polls of the selected exchange account's public
    mark prices (live marks between syncs), and of a journal account that names its
    exchange. ``public_endpoints``: per exchange id,
    a host for those public calls (a proxy, or a replay server in tests).
    """

    tasks: TaskRunner
    settings: QSettings
    preferences: Preferences
    icon: QIcon = field(default_factory=QIcon)
    demo_path: Path | None = None
    demo_seed: int | None = None
    history_hours: int = 365 * 24
    journal_path: Path | None = None
    journal: Journal | None = None
    themes: ThemeController | None = None
    whatif: Callable[[TaskRunner], WhatIfPanel] | None = whatif_panel
    mark_interval: float = 5.0
    #: exchange id -> endpoint override for public calls (marks) of journal accounts
    public_endpoints: dict[str, str] = field(default_factory=dict)
    #: exchange id -> websocket endpoint override for streamed marks (a replay in tests)
    stream_endpoints: dict[str, str] = field(default_factory=dict)
    #: stream marks over websockets (polling stays the fallback); seconds without a
    #: message before a stream counts as stalled
    stream_marks: bool = True
    stall_seconds: float = 10.0

