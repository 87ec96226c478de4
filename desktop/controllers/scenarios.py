"""Scenario files in the app: open and save dialogs, reading and writing on a worker,
and the recent-files rows of the accounts list."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from crossmargin.domain import AccountState
from crossmargin.scenario import load_scenario, save_scenario
from desktop.errors import problems_of
from desktop.session import AccountEntry, AccountSession, EntryKind, EntryStatus
from desktop.settings import recent_scenarios, remember_scenario
from desktop.tasks import TaskRunner

SCENARIO_FILTER = "CrossMargin scenario (*.json);;All files (*)"


def scenario_entry(path: Path, label: str = "") -> AccountEntry:
    """The accounts-list row of a scenario file (``scenario:<absolute path>``)."""
    return AccountEntry(
        f"scenario:{path.resolve()}", EntryKind.SCENARIO, label or path.stem,
        EntryStatus.STATIC, "Scenario file · marks as saved", path.resolve(),
    )


#: The bundled scenario shown in the accounts list from the first run.
POOLED_EXAMPLE = ("btc_collateral.json", "Demo: BTC as collateral")


def bundled_examples() -> list[AccountEntry]:
    """Accounts-list rows of the bundled examples shown from the first run."""
    from crossmargin.resources import resource_path

    try:
        path = resource_path("scenarios") / POOLED_EXAMPLE[0]
    except FileNotFoundError:
        return []
    if not path.is_file():
        return []
    entry = scenario_entry(path, POOLED_EXAMPLE[1])
    return [AccountEntry(entry.key, entry.kind, entry.label, entry.status,
                         "Example · multi-asset margin", entry.path)]


def is_bundled(entry: AccountEntry) -> bool:
    return any(e.key == entry.key for e in bundled_examples())


class ScenarioFiles(QObject):
    """Signals: ``opened(entry, state)`` (a file chosen in the Open dialog was read),
    ``loaded(entry, state)`` (a scenario row's file was re-read), ``saved(entry)``,
    ``problem(text, problems)``."""

    opened = Signal(object, object)
    loaded = Signal(object, object)
    saved = Signal(object)
    problem = Signal(str, object)

    def __init__(self, *, tasks: TaskRunner, settings: QSettings, session: AccountSession,
                 dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self._session = session
        self._tasks = tasks
        self._settings = settings
        self._dialog_parent = dialog_parent

    def recent_entries(self) -> list[AccountEntry]:
        """The recently opened files, then the bundled multi-asset example (a pooled
        account holding BTC as collateral, so the collateral effect can be tried at once)."""
        entries = [scenario_entry(p) for p in recent_scenarios(self._settings)]
        keys = {e.key for e in entries}
        entries.extend(e for e in bundled_examples() if e.key not in keys)
        return entries

    def _last_dir(self) -> Path:
        return Path(str(self._settings.value("files/last_dir", str(Path.home()))))

    def _remember(self, path: Path) -> None:
        self._settings.setValue("files/last_dir", str(path.resolve().parent))
        remember_scenario(self._settings, path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent, "Open scenario file",
                                              str(self._last_dir()), SCENARIO_FILTER)
        if path:
            self.open(Path(path))

    def open(self, path: Path) -> None:
        """Read ``path`` on a worker (``opened`` on success; a bad file changes nothing
        and its problems go to ``problem``)."""
        def read(state: AccountState) -> None:
            self._remember(path)
            self.opened.emit(scenario_entry(path, state.label), state)

        self._tasks.submit(load_scenario, path, key="scenario.load", on_success=read,
                           on_error=lambda exc: self._failed(path, exc))

    def load(self, entry: AccountEntry) -> None:
        """Re-read a scenario row's file (``loaded``)."""
        path = entry.path
        if path is None:
            return
        self._tasks.submit(load_scenario, path, key="scenario.load",
                           on_success=lambda state: self.loaded.emit(entry, state),
                           on_error=lambda exc: self._failed(path, exc))

    def _failed(self, path: Path, exc: BaseException) -> None:
        self.problem.emit(f"Could not open “{path.name}”. Nothing was changed.",
                          problems_of(exc))

    def save_dialog(self) -> None:
        """Ask where to save the selected account's book (at its current marks)."""
        state = self._session.state
        if state is None:
            return
        name = (state.label or "scenario").replace("/", "-") + ".json"
        path, _ = QFileDialog.getSaveFileName(self._dialog_parent, "Save scenario file",
                                              str(self._last_dir() / name), SCENARIO_FILTER)
        if path:
            self.save(state, Path(path))

    def save(self, state: AccountState, path: Path) -> None:
        """Write ``state`` (the book at its current marks) to ``path`` on a worker."""
        def written(_result: object) -> None:
            self._remember(path)
            self.saved.emit(scenario_entry(path))

        self._tasks.submit(
            save_scenario, state, path, serial=True, on_success=written,
            on_error=lambda exc: self.problem.emit(
                f"Could not save “{path.name}”. The file was not changed.", problems_of(exc)),
        )
