"""Garbage collection on the GUI thread only.

CPython runs its cyclic garbage collector on whichever thread happens to allocate when a
generation fills up: a sync worker, the task pool. When the garbage holds Qt wrappers
(a dialog and the closure that references it, say), their C++ objects are then
destroyed on that worker; with PySide6 6.12 that deadlocks against the GUI thread
(the worker waits for the GIL inside ``QObject::~QObject`` while the GUI thread, which
holds it, waits for a Qt mutex the worker holds), and with any binding destroying
widgets off the GUI thread is undefined behaviour.

:class:`MainThreadCollector` turns automatic collection off and runs the same
generational collection from a timer on the GUI thread instead (the approach of
PyDev's ``GarbageCollector`` for Qt applications): the thresholds are CPython's own,
checked every 250 ms, so memory behaves as before and no Qt object is ever collected
off the GUI thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 250


class MainThreadCollector(QObject):
    """Collect garbage on this (the GUI) thread; :meth:`stop` gives collection back."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collect the youngest generation whose threshold is reached (as CPython would)."""
        t0, t1, t2 = self._thresholds
        c0, c1, c2 = gc.get_count()
        if c0 > t0:
            gc.collect(0)
            if c1 > t1:
                gc.collect(1)
                if c2 > t2:
                    gc.collect(2)

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
