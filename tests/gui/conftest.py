"""GUI test set-up: offscreen Qt, Qt warnings fail the test, a window on the demo account."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

GUI_DATA = Path(__file__).resolve().parent / "data"

# The offscreen platform's default screen is 800×600, smaller than the window's minimum
# size, so restored geometry would be clamped; give it a desktop-sized screen instead.
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={GUI_DATA / 'offscreen_screen.json'}"

from PySide6.QtCore import QtMsgType, qInstallMessageHandler  # noqa: E402

from desktop import qtcompat  # noqa: E402
from desktop.gc_guard import MainThreadCollector  # noqa: E402

# PySide6 6.12.0 on CPython 3.11 drops references to None from every item model; the
# app guards against it in create_application() (when the build has the defect), the
# tests once here.
qtcompat.guard()

# Typed numbers follow the user's locale (create_application reads QLocale.system());
# the tests are an English-locale user: '.' decimals, ',' thousands.
from desktop.validation import use_locale_separators  # noqa: E402

use_locale_separators(".", ",")

REPO = Path(__file__).resolve().parents[2]

# Messages the offscreen platform plugin itself prints for every top-level window
# (not a problem of the code under test). Everything else at warning level fails.
PLATFORM_NOISE = ("This plugin does not support",)


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread(qapp) -> Iterator[None]:
    """As in the app: garbage (Qt wrappers in it) is collected on the GUI thread only,
    never by a sync or task worker (see desktop.gc_guard)."""
    collector = MainThreadCollector()
    yield
    collector.stop()


@pytest.fixture(autouse=True)
def qt_warnings_fail() -> Iterator[list[str]]:
    """Fail the test when Qt logs a warning or a critical message during it."""
    caught: list[str] = []
    previous = None

    def handler(kind: QtMsgType, context: object, message: str) -> None:
        serious = (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
        if kind in serious and not message.startswith(PLATFORM_NOISE):
            caught.append(f"{kind.name}: {message}")
        if previous is not None:
            previous(kind, context, message)

    previous = qInstallMessageHandler(handler)
    yield caught
    qInstallMessageHandler(previous)
    if caught:
        pytest.fail("Qt reported warnings:\n" + "\n".join(caught))


@pytest.fixture
def book_path() -> Path:
    """A small multi-position cross/isolated book (Binance tiers from the fixtures)."""
    return GUI_DATA / "book.json"


@pytest.fixture
def demo_path(book_path: Path) -> Path:
    bundled = REPO / "resources" / "scenarios" / "demo.json"
    return bundled if bundled.is_file() else book_path


@pytest.fixture
def services(qapp, demo_path: Path):
    from desktop.services import Services
    from desktop.settings import Preferences, open_settings
    from desktop.tasks import TaskRunner

    settings = open_settings()
    tasks = TaskRunner()
    svc = Services(
        tasks=tasks,
        settings=settings,
        preferences=Preferences.load(settings),
        demo_path=demo_path,
        demo_seed=3,
        history_hours=24 * 30,
        stream_marks=False,  # tests never reach an exchange; stream tests use a replay
    )
    yield svc
    tasks.shutdown()


@pytest.fixture
def open_window(qtbot):
    """Factory: a MainWindow on some services, shown, with its first figures computed."""
    from desktop.main_window import MainWindow

    opened = []

    def make(services, **kwargs):
        window = MainWindow(services=services, **kwargs)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.session.snapshot is not None, timeout=10_000)
        opened.append(window)
        return window

    yield make
    for window in opened:
        window.close()


@pytest.fixture
def window(open_window, services):
    return open_window(services, start_demo=True)


@pytest.fixture
def settle(qtbot):
    """Stop the simulated feed and wait until the figures match the current state."""

    def run(window) -> None:
        if window.marks.simulated is not None:
            window.marks.simulated.stop()
        window.session.refresh()
        qtbot.waitUntil(lambda: not window.tasks.is_busy(), timeout=10_000)
        qtbot.waitUntil(
            lambda: window.session.snapshot is not None
            and window.session.snapshot.state == window.session.state,
            timeout=10_000,
        )

    return run


@pytest.fixture
def journal_window(window, qtbot):
    """The window with a manual journal account holding one logged BTC long."""
    from desktop.session import EntryKind

    window.log_position()
    qtbot.waitUntil(lambda: window.journals.log_dialog is not None, timeout=10_000)
    dialog = window.journals.log_dialog
    dialog.new_wallet.setText("10000")
    for name, text in {"symbol": "BTC/USDT:USDT", "contracts": "0.5", "entry": "60000",
                       "leverage": "10", "mmr": "0.005"}.items():
        getattr(dialog, name).setText(text)
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: window.session.entry is not None
                    and window.session.entry.kind is EntryKind.JOURNAL
                    and window.journal_view.model.rowCount() == 1, timeout=10_000)
    return window
