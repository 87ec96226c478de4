"""The one background-task helper of the desktop app.

Every slow call (evaluating a big book, building chart history, loading a file,
syncing, importing) goes through :class:`TaskRunner`:

* the work function runs on a :class:`QThreadPool` worker thread and must not
  touch any widget or Qt model;
* ``on_success``, ``on_error`` and ``on_progress`` always run on the GUI thread
  (the thread that created the runner): results travel through queued signals;
* **latest wins**: tasks submitted with the same ``key`` supersede each other.
  When a newer task with the key is submitted, the older one's context is marked
  cancelled (cooperative: a long loop can check ``ctx.cancelled``) and its result,
  error and progress are dropped, so the view only ever shows the newest answer;
* ``serial=True`` tasks run one at a time, in submission order, on a dedicated
  single-thread pool (journal writes are serialised this way).

Modelled on Electrum's ``TaskThread`` and Orange's ``ConcurrentMixin``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

SuccessCallback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]
ProgressCallback = Callable[[float, str], None]


class TaskContext:
    """Handed to a work function that asks for it (``with_context=True``).

    Thread-safe: ``cancelled`` may be read and ``progress`` called from the worker.
    """

    def __init__(self, task_id: int, emit_progress: Callable[[int, float, str], None]) -> None:
        self.task_id = task_id
        self._cancel = threading.Event()
        self._emit_progress = emit_progress

    @property
    def cancelled(self) -> bool:
        """True once a newer task with the same key was submitted, or the runner shut down."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress (``fraction`` in 0..1); delivered queued to the GUI thread."""
        if not self.cancelled:
            self._emit_progress(self.task_id, float(fraction), message)


@dataclass
class _Task:
    id: int
    key: str | None
    context: TaskContext
    on_success: SuccessCallback | None
    on_error: ErrorCallback | None
    on_progress: ProgressCallback | None
    runnable: QRunnable | None = field(default=None, repr=False)


class _Bridge(QObject):
    """Lives on the GUI thread; worker threads emit its signals (delivered queued)."""

    finished = Signal(int, object)  # task id, result
    failed = Signal(int, object, str)  # task id, exception, formatted traceback
    progressed = Signal(int, float, str)  # task id, fraction, message


class _Job(QRunnable):
    def __init__(
        self,
        task_id: int,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        bridge: _Bridge,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps the Python reference until delivery
        self._id = task_id
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._bridge = bridge

    def run(self) -> None:  # worker thread
        try:
            result = self._fn(*self._args, **self._kwargs)
        except BaseException as exc:  # delivered to on_error on the GUI thread
            self._bridge.failed.emit(self._id, exc, traceback.format_exc())
        else:
            self._bridge.finished.emit(self._id, result)


class TaskRunner(QObject):
    """Runs callables off the GUI thread; every callback lands on the GUI thread.

    Signals (GUI thread): ``busy_changed(bool)`` when the first task starts or the
    last one ends (drives a status-bar spinner); ``task_failed(str)`` for an error
    that had no ``on_error`` callback (the main window shows it in its message bar).
    """

    busy_changed = Signal(bool)
    task_failed = Signal(str)

    def __init__(self, *, max_threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        if max_threads is not None:
            self._pool.setMaxThreadCount(max(1, max_threads))
        self._serial_pool = QThreadPool(self)
        self._serial_pool.setMaxThreadCount(1)
        self._bridge = _Bridge(self)
        self._bridge.finished.connect(self._on_finished)
        self._bridge.failed.connect(self._on_failed)
        self._bridge.progressed.connect(self._on_progress)
        self._ids = itertools.count(1)
        self._tasks: dict[int, _Task] = {}
        self._latest: dict[str, int] = {}
        self._closed = False

    # -- public API (GUI thread) ------------------------------------------------
    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        key: str | None = None,
        on_success: SuccessCallback | None = None,
        on_error: ErrorCallback | None = None,
        on_progress: ProgressCallback | None = None,
        with_context: bool = False,
        serial: bool = False,
        **kwargs: Any,
    ) -> int:
        """Run ``fn(*args, **kwargs)`` on a worker; return the task id.

        With ``with_context=True`` the function receives ``ctx=TaskContext`` as a
        keyword argument (for progress and cooperative cancellation). A task with
        a ``key`` supersedes any unfinished task with the same key (latest wins).
        After :meth:`shutdown` the call does nothing and returns 0.
        """
        if self._closed:
            # late timers during shutdown: nothing will ever deliver the result, drop it
            log.debug("task submitted after shutdown dropped: %r", fn)
            return 0
        task_id = next(self._ids)
        ctx = TaskContext(task_id, self._bridge.progressed.emit)
        if key is not None:
            older = self._latest.get(key)
            if older is not None and older in self._tasks:
                self._tasks[older].context.cancel()
            self._latest[key] = task_id
        if with_context:
            kwargs["ctx"] = ctx
        task = _Task(task_id, key, ctx, on_success, on_error, on_progress)
        task.runnable = _Job(task_id, fn, args, kwargs, self._bridge)
        was_idle = not self._tasks
        self._tasks[task_id] = task
        if was_idle:
            self.busy_changed.emit(True)
        (self._serial_pool if serial else self._pool).start(task.runnable)
        return task_id

    def cancel(self, key: str) -> None:
        """Drop the result of the unfinished task with ``key`` (if any)."""
        task_id = self._latest.pop(key, None)
        if task_id is not None and task_id in self._tasks:
            self._tasks[task_id].context.cancel()

    def is_busy(self) -> bool:
        return bool(self._tasks)

    def pending(self) -> int:
        """Number of submitted tasks whose callbacks have not been delivered yet."""
        return len(self._tasks)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker threads are idle (tests, shutdown); callbacks stay queued."""
        ok = self._pool.waitForDone(msecs)
        return self._serial_pool.waitForDone(msecs) and ok

    def shutdown(self, msecs: int = 3000) -> None:
        """Cancel everything, wait for running work (up to ``msecs``), drop the callbacks."""
        self._closed = True
        for task in self._tasks.values():
            task.context.cancel()
        self._pool.clear()
        self._serial_pool.clear()
        self.wait(msecs)
        self._tasks.clear()
        self._latest.clear()

    # -- delivery (GUI thread, queued from workers) -----------------------------
    def _take(self, task_id: int) -> _Task | None:
        task = self._tasks.pop(task_id, None)
        if task is None:
            return None
        if task.key is not None and self._latest.get(task.key) == task_id:
            del self._latest[task.key]
        if not self._tasks:
            self.busy_changed.emit(False)
        if task.context.cancelled:
            return None  # superseded: latest wins
        return task

    @Slot(int, object)
    def _on_finished(self, task_id: int, result: object) -> None:
        task = self._take(task_id)
        if task is not None and task.on_success is not None:
            task.on_success(result)

    @Slot(int, object, str)
    def _on_failed(self, task_id: int, exc: object, formatted: str) -> None:
        task = self._take(task_id)
        if task is None:
            return
        assert isinstance(exc, BaseException)
        if task.on_error is not None:
            task.on_error(exc)
        else:
            log.error("background task failed:\n%s", formatted)
            self.task_failed.emit(str(exc) or type(exc).__name__)

    @Slot(int, float, str)
    def _on_progress(self, task_id: int, fraction: float, message: str) -> None:
        task = self._tasks.get(task_id)
        if task is None or task.context.cancelled or task.on_progress is None:
            return
        task.on_progress(fraction, message)
