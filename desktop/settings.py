"""Where the desktop app keeps UI state and its few preferences.

UI state (window geometry, splitter, last tab, column widths, recent scenario
files) and the desktop preferences live in one INI file,
``crossmargin.paths.config_dir()/desktop.ini``, read through :class:`QSettings`.
Because the folder follows ``CROSSMARGIN_HOME``, tests and portable installs
never touch the user's real settings. Secrets never go here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from PySide6.QtCore import QSettings

from crossmargin import paths

SETTINGS_FILE = "desktop.ini"
THEMES = ("system", "light", "dark")
MAX_RECENT = 8


def open_settings(path: Path | None = None) -> QSettings:
    """The app's settings store (INI format) under the config folder, or at ``path``."""
    if path is None:
        path = paths.ensure(paths.config_dir()) / SETTINGS_FILE
    return QSettings(str(path), QSettings.Format.IniFormat)


@dataclass(frozen=True, slots=True)
class Preferences:
    """User choices edited in the Preferences dialog.

    ``margin_alert`` is a margin ratio (cross maintenance margin / margin balance,
    a fraction: ``0.8`` = 80 %, ``1`` = liquidation); crossing it upwards raises a
    tray notification. ``theme`` is ``system``, ``light`` or ``dark``.
    ``feed_interval_ms`` is the demo account's simulated mark-price tick period.
    """

    margin_alert: Decimal = Decimal("0.8")
    notifications: bool = True
    theme: str = "system"
    feed_interval_ms: int = 1000

    @classmethod
    def load(cls, settings: QSettings) -> Preferences:
        default = cls()
        raw = settings.value("preferences/margin_alert", str(default.margin_alert))
        try:
            alert = Decimal(str(raw))
            if not (Decimal("0.01") <= alert <= Decimal(1)):
                alert = default.margin_alert
        except (InvalidOperation, ValueError):
            alert = default.margin_alert
        theme = str(settings.value("preferences/theme", default.theme))
        if theme not in THEMES:
            theme = default.theme
        notifications = _as_bool(settings.value("preferences/notifications", True))
        try:
            interval = int(str(settings.value("preferences/feed_interval_ms",
                                              default.feed_interval_ms)))
        except (TypeError, ValueError):
            interval = default.feed_interval_ms
        interval = min(10_000, max(100, interval))
        return cls(alert, notifications, theme, interval)

    def save(self, settings: QSettings) -> None:
        settings.setValue("preferences/margin_alert", str(self.margin_alert))
        settings.setValue("preferences/notifications", self.notifications)
        settings.setValue("preferences/theme", self.theme)
        settings.setValue("preferences/feed_interval_ms", self.feed_interval_ms)
        settings.sync()


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def recent_scenarios(settings: QSettings) -> list[Path]:
    """Scenario files opened or saved lately, newest first (missing files dropped)."""
    raw = settings.value("scenarios/recent", [])
    if isinstance(raw, str):
        raw = [raw]
    out: list[Path] = []
    for item in raw if isinstance(raw, list) else []:
        path = Path(str(item))
        if path.is_file() and path not in out:
            out.append(path)
    return out[:MAX_RECENT]


def remember_scenario(settings: QSettings, path: Path) -> None:
    items = [str(path.resolve())] + [
        str(p) for p in recent_scenarios(settings) if p.resolve() != path.resolve()
    ]
    settings.setValue("scenarios/recent", items[:MAX_RECENT])
    settings.sync()
