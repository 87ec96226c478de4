"""Lint and architecture contracts run as part of the test suite (and so in CI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_clean() -> None:
    result = _run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_packages_are_typed() -> None:
    """The core and the desktop app type-check cleanly (configuration in pyproject.toml)."""
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts() -> None:
    exe = shutil.which("lint-imports")
    if exe is None:  # pragma: no cover - installed with the [test] extra
        pytest.fail("import-linter is not installed; run: pip install -e '.[test]'")
    result = _run(exe)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_without_qt() -> None:
    """The core and its CLI load in a process where Qt cannot be imported at all."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'PySide6', 'shiboken6', 'pyqtgraph'}:\n"
        "            raise ImportError('Qt blocked in the core test: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import crossmargin.cli.main as m\n"
        "m.build_parser()\n"
        "import crossmargin.margin\n"
        "print('ok')\n"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
