"""The PySide6 6.12.0 reference-count defect: detected where present, guarded there."""

from __future__ import annotations

import sys

import pytest

from desktop import qtcompat

pytestmark = pytest.mark.gui


def test_the_probe_measures_the_binding_not_the_shim(qapp) -> None:
    """The probe counts references the binding drops; protecting ``None`` changes the
    count's level, not its fall, so it answers the same before and after."""
    lost = qtcompat.none_references_lost(4000)
    defective = lost > 2000
    import PySide6

    if defective:  # the release pyproject.toml excludes, installed by other means
        assert PySide6.__version__ == "6.12.0", f"{PySide6.__version__} drops {lost} refs"
    assert lost < 50 or defective  # a sound build loses none (a little noise allowed)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal on CPython 3.12+")
def test_the_guard_protects_where_the_defect_is(qapp) -> None:
    defective = qtcompat.none_references_lost() >= 1000
    assert qtcompat.guard() is defective
    if defective:  # the app's start-up applied it: a long session cannot drain None
        assert sys.getrefcount(None) > 1 << 59
        assert sys.getrefcount(True) > 1 << 59 and sys.getrefcount(False) > 1 << 59
