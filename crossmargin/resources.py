"""Find the bundled ``resources/`` folder from a checkout, a wheel or a frozen bundle."""

from __future__ import annotations

import sys
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The folder holding icons, stylesheets, example scenarios and demo data.

    Looked up, in order: a PyInstaller bundle (``sys._MEIPASS/resources``), the
    copy installed inside the package (``crossmargin/_resources`` in a wheel), and
    the source checkout (``<repo>/resources``).
    """
    candidates: list[Path] = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.append(Path(frozen) / "resources")
    candidates.append(_PKG / "_resources")
    candidates.append(_PKG.parent / "resources")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "CrossMargin's resources folder is missing; reinstall the application "
        f"(looked in: {', '.join(str(c) for c in candidates)})"
    )


def resource_path(*parts: str) -> Path:
    """Path of one bundled resource, e.g. ``resource_path("scenarios", "demo.json")``."""
    return resources_dir().joinpath(*parts)
