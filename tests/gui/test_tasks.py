"""TaskRunner: callbacks on the GUI thread, latest wins, errors, progress, serial order."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from desktop.tasks import TaskRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qapp):
    r = TaskRunner()
    yield r
    r.shutdown()


def test_success_callback_runs_on_the_gui_thread(runner, qtbot) -> None:
    seen: dict[str, object] = {}

    def work() -> str:
        seen["worker"] = threading.current_thread() is not threading.main_thread()
        return "done"

    def done(result: str) -> None:
        seen["result"] = result
        seen["gui"] = QThread.currentThread() is qtbot_app_thread()

    def qtbot_app_thread():
        from PySide6.QtWidgets import QApplication

        return QApplication.instance().thread()

    runner.submit(work, on_success=done)
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen == {"worker": True, "result": "done", "gui": True}
    assert not runner.is_busy()


def test_latest_wins_drops_the_older_result(runner, qtbot) -> None:
    release = threading.Event()
    results: list[str] = []

    def slow(name: str) -> str:
        release.wait(5)
        return name

    runner.submit(slow, "old", key="k", on_success=results.append)
    runner.submit(lambda: "new", key="k", on_success=results.append)
    qtbot.waitUntil(lambda: results == ["new"], timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    qtbot.wait(20)
    assert results == ["new"]


def test_superseded_task_sees_cancelled(runner, qtbot) -> None:
    started = threading.Event()
    observed: list[bool] = []

    def loop(ctx) -> None:
        started.set()
        deadline = time.monotonic() + 5
        while not ctx.cancelled and time.monotonic() < deadline:
            time.sleep(0.005)
        observed.append(ctx.cancelled)

    runner.submit(loop, key="sweep", with_context=True)
    assert started.wait(5)
    runner.submit(lambda: None, key="sweep")
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    assert observed == [True]


def test_errors_reach_on_error_on_the_gui_thread(runner, qtbot) -> None:
    errors: list[BaseException] = []

    def boom() -> None:
        raise ValueError("bad input: leverage must be > 0")

    runner.submit(boom, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], ValueError) and "leverage" in str(errors[0])


def test_unhandled_errors_are_reported_by_signal(runner, qtbot) -> None:
    with qtbot.waitSignal(runner.task_failed, timeout=5000) as blocker:
        runner.submit(lambda: 1 / 0)
    assert "division" in blocker.args[0]


def test_progress_is_delivered_in_order(runner, qtbot) -> None:
    progress: list[tuple[float, str]] = []
    done: list[int] = []

    def work(ctx) -> int:
        for i in range(1, 5):
            ctx.progress(i / 4, f"step {i}")
        return 4

    runner.submit(work, with_context=True, on_progress=lambda f, m: progress.append((f, m)),
                  on_success=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert progress == [(0.25, "step 1"), (0.5, "step 2"), (0.75, "step 3"), (1.0, "step 4")]


def test_serial_tasks_run_one_at_a_time_in_order(runner, qtbot) -> None:
    order: list[int] = []
    active = [0]
    overlap: list[bool] = []
    lock = threading.Lock()

    def write(i: int) -> int:
        with lock:
            active[0] += 1
            overlap.append(active[0] > 1)
        time.sleep(0.01)
        with lock:
            order.append(i)
            active[0] -= 1
        return i

    for i in range(6):
        runner.submit(write, i, serial=True)
    qtbot.waitUntil(lambda: len(order) == 6 and not runner.is_busy(), timeout=5000)
    assert order == list(range(6)) and not any(overlap)


def test_busy_signal_and_shutdown(qapp, qtbot) -> None:
    runner = TaskRunner()
    states: list[bool] = []
    runner.busy_changed.connect(states.append)
    runner.submit(lambda: 1)
    qtbot.waitUntil(lambda: states == [True, False], timeout=5000)
    runner.shutdown()
    assert runner.submit(lambda: 2) == 0  # dropped after shutdown
