"""Find the bundled ``resources/`` folder from a checkout, a wheel or a frozen bundle.

``resources/`` (icons, stylesheets, example scenarios, the self-test's known answers)
sits at the top of the source tree. How each way of running CrossMargin reaches it:

* frozen by PyInstaller: the spec copies it to ``sys._MEIPASS/resources``;
* other freezers (cx_Freeze, Briefcase-style layouts): ``resources`` beside the executable;
* installed wheel: ``setup.py``'s ``build_py`` hook copies it into the package as
  ``crossmargin/_resources``;
* source checkout or editable install: ``<repo>/resources``, beside the package.

Nothing is looked up at import time.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def candidate_dirs() -> list[Path]:
    """The places :func:`resources_dir` looks in, in order (they need not exist)."""
    candidates: list[Path] = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.append(Path(frozen) / "resources")
    if getattr(sys, "frozen", False):
        candidates.append(Path(sys.executable).resolve().parent / "resources")
    candidates.append(_PKG / "_resources")
    candidates.append(_PKG.parent / "resources")
    return candidates


def resources_dir() -> Path:
    """The folder holding icons, stylesheets, example scenarios and demo data.

    The first of :func:`candidate_dirs` that exists. Raises :class:`FileNotFoundError`
    naming every place looked in when none does (a broken install).
    """
    candidates = candidate_dirs()
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "CrossMargin's resources folder is missing; reinstall the application "
        f"(looked in: {', '.join(str(c) for c in candidates)})"
    )


def resource_path(*parts: str) -> Path:
    """Path of one bundled resource, e.g. ``resource_path("scenarios", "demo.json")``.

    The file itself may not exist; callers check (and say what is missing).
    """
    return resources_dir().joinpath(*parts)
