"""In-tree build backend: setuptools, plus ``resources/`` inside the wheel.

``pyproject.toml`` names this module as the PEP 517 backend (``backend-path =
["packaging"]``). It re-exports every setuptools hook unchanged; the only
addition is the ``build_py``/``sdist`` commands registered in
``[tool.setuptools.cmdclass]``, so that a built wheel carries ``resources/``
(icons, styles, example scenarios, the self-test's known answers) as
``crossmargin/_resources`` — where :func:`crossmargin.resources.resources_dir`
looks in an installed copy — and the sdist carries ``resources/`` and this file.

Why a hook and not ``package-dir``: mapping a non-Python folder to a sub-package
would need every sub-folder listed as a package by hand, next to the automatic
package discovery in ``pyproject.toml``. Editable installs skip the copy: they run
from the checkout, where ``resources/`` is found beside the package.
"""

from __future__ import annotations

from pathlib import Path

from setuptools.build_meta import *  # noqa: F403 - the PEP 517 hooks, unchanged
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
TARGET = ("crossmargin", "_resources")
SKIP = {"__pycache__", ".DS_Store"}


def resource_files() -> list[Path]:
    """Every file under ``resources/`` (relative paths), in a stable order."""
    if not RESOURCES.is_dir():
        raise SystemExit(f"cannot build CrossMargin: {RESOURCES} is missing")
    return sorted(
        p.relative_to(RESOURCES)
        for p in RESOURCES.rglob("*")
        if p.is_file() and not SKIP.intersection(p.relative_to(RESOURCES).parts)
    )


class BuildPyWithResources(build_py):
    """``build_py`` plus a copy of ``resources/`` into ``<build_lib>/crossmargin/_resources``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib).joinpath(*TARGET)
        for rel in resource_files():
            dest = target / rel
            self.mkpath(str(dest.parent))
            self.copy_file(str(RESOURCES / rel), str(dest))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            target = Path(self.build_lib).joinpath(*TARGET)
            outputs.extend(str(target / rel) for rel in resource_files())
        return outputs


class SdistWithResources(sdist):
    """``sdist`` that also carries ``resources/`` and this backend module."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        # setuptools builds the file list through egg_info's manifest maker, which
        # calls the base class's add_defaults; extending the list here is the one
        # hook every setuptools version honours.
        extra = ["packaging/cm_backend.py"]
        extra += [f"resources/{rel.as_posix()}" for rel in resource_files()]
        super().make_release_tree(base_dir, sorted(set(files) | set(extra)))
