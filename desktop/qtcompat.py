"""Work-arounds for defects of the Qt for Python build we run on.

PySide6 6.12 on CPython 3.11: when a C++ caller (a view, a proxy model) calls a
Python override that returns ``None`` where Qt expects a ``QVariant`` (``data``,
``headerData``: "no value for this role", which every item model answers
thousands of times per repaint), the binding drops one reference to ``None``
too many. After a few hundred thousand such calls ``None``'s reference count
reaches zero and CPython aborts with "Fatal Python error: none_dealloc:
deallocating None". Reproduced with a three-line model in
``tests/gui/test_qtcompat.py``. Painting pyqtgraph items drains ``True`` the same
way (a few hundred references per second on the live dashboard), ending in
"bool_dealloc: deallocating True or False".

CPython 3.12 made these singletons immortal (PEP 683), which makes the lost
references harmless. :func:`protect_none` emulates that on older interpreters by
giving ``None``, ``True`` and ``False`` a reference count no session can drain.
It changes nothing else and does nothing on 3.12+.

``pyproject.toml`` excludes PySide6 6.12.0, so a normal install never has the defect;
this is the guarded fallback for a build that does (a distribution's package, a frozen
bundle): :func:`guard` measures whether the running binding drops references and only
then applies the protection.
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 60


def none_references_lost(calls: int = 2000) -> int:
    """How many references to ``None`` the binding drops over ``calls`` calls of a Python
    ``data()`` override that answers ``None`` through C++ (0 on a sound build; about
    ``calls`` on the defective one)."""
    from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

    class _AnswersNone(QAbstractListModel):
        def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()  # noqa: B008
                     ) -> int:
            return 1

        def data(self, index: QModelIndex | QPersistentModelIndex,
                 role: int = Qt.ItemDataRole.DisplayRole) -> None:
            return None

    model = _AnswersNone()
    index = model.index(0, 0)
    before = sys.getrefcount(None)
    for _ in range(calls):
        index.data(Qt.ItemDataRole.DecorationRole)
    lost = max(0, before - sys.getrefcount(None))
    for _ in range(lost):  # the probe itself must not bring None closer to zero
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    return lost


def guard() -> bool:
    """Protect ``None``/``True``/``False`` if (and only if) this binding drops their
    references; returns True when the protection is in place."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if none_references_lost() < 1000:
        return False
    return protect_none()


def protect_none() -> bool:
    """Make the reference counts of ``None``, ``True`` and ``False`` undrainable.

    Only on CPython < 3.12 (release builds); returns True when the protection is
    in place (idempotent).
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    applied = True
    for singleton in (None, True, False):
        # PyObject.ob_refcnt is the first field of every object in release builds
        field = ctypes.c_ssize_t.from_address(id(singleton))
        if field.value >= _HEADROOM:
            continue  # already applied
        if abs(field.value - sys.getrefcount(singleton)) > 1000:
            applied = False  # not the layout we expect (e.g. a debug build): leave it
            continue
        field.value += _HEADROOM
    return applied
