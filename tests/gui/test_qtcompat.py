"""The PySide6 None-refcount work-around keeps long GUI sessions alive."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from desktop.qtcompat import protect_none

pytestmark = pytest.mark.gui


class _NoneModel(QAbstractTableModel):
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 1

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        return None


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal on CPython 3.12+")
def test_none_survives_a_model_answering_none_millions_of_times(qapp) -> None:
    assert protect_none()
    model = _NoneModel()
    index = model.index(0, 0)
    for _ in range(20_000):  # each call through C++ may drop a reference to None
        index.data(Qt.ItemDataRole.DecorationRole)
    assert sys.getrefcount(None) > 1 << 59
    assert sys.getrefcount(True) > 1 << 59 and sys.getrefcount(False) > 1 << 59
    assert protect_none()  # idempotent
