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
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 60


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
