"""The wheel builds, installs into a fresh venv with its resources, and passes its self-test.

Offline: ``python -m build --no-isolation`` uses the build tools of the test extra,
and the new venv sees the dependencies already installed for this interpreter through
a ``.pth`` file listing its site-packages (``--system-site-packages`` would not do:
run from a venv, it exposes the base Python's packages, not the venv's); the wheel
itself is installed with ``--no-deps --no-index``. The source tree is
copied first, so the build never writes into the checkout, and every command runs
from a temporary folder so ``crossmargin`` is imported from the venv's copy, never
from the source tree (checked).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from crossmargin import __version__

REPO = Path(__file__).resolve().parents[2]
COPY_IGNORE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", "venv", ".pytest_cache",
    ".ruff_cache", ".mypy_cache", ".hypothesis", "screenshots", "*.sqlite3*",
)
RESOURCE_FILES = (
    "selftest.json",
    "scenarios/demo.json",
    "styles/app.qss",
    "icons/crossmargin.svg",
    "icons/crossmargin-256.png",
)

pytestmark = pytest.mark.slow


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(cmd)} exited {done.returncode}\n--- stdout\n{done.stdout[-4000:]}"
        f"\n--- stderr\n{done.stderr[-4000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sdist + wheel (the wheel is built from the sdist, so the sdist hook is tested too)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    shutil.copytree(REPO, src, ignore=COPY_IGNORE)
    out = root / "dist"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        cwd=root, env=env)
    (wheel,) = out.glob("crossmargin-*.whl")
    (sdist,) = out.glob("crossmargin-*.tar.gz")
    return {"root": root, "wheel": wheel, "sdist": sdist}


def test_wheel_and_sdist_carry_the_resources(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = wheel.read(entry_points).decode()
    for rel in RESOURCE_FILES:
        assert f"crossmargin/_resources/{rel}" in names
    assert "desktop/selftest.py" in names and "crossmargin/resources.py" in names
    assert not any(n.startswith(("resources/", "tests/")) for n in names)
    assert "crossmargin = crossmargin.cli.main:main" in scripts
    assert "crossmargin-desktop = desktop.app:main" in scripts
    with tarfile.open(built["sdist"]) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    for rel in RESOURCE_FILES:
        assert f"resources/{rel}" in members
    assert "packaging/cm_backend.py" in members


def test_installed_wheel_runs_version_and_self_test(built: dict[str, Path]) -> None:
    root = built["root"]
    venv = root / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=root, env=dict(os.environ))
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    # the dependencies (PySide6, numpy, ...) of this interpreter, after the venv's own
    # site-packages; .pth files inside them (e.g. an editable crossmargin) are not run
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    venv_site = run([str(python), "-c", purelib], cwd=root, env=env).strip()
    outer = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"],
                           sysconfig.get_paths()["platlib"]])
    Path(venv_site, "_crossmargin_test_deps.pth").write_text("\n".join(outer) + "\n")
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         str(built["wheel"])], cwd=root, env=env)

    where = run([str(python), "-c",
                 "import crossmargin, desktop; from crossmargin.resources import resources_dir; "
                 "print(crossmargin.__file__); print(desktop.__file__); print(resources_dir())"],
                cwd=root, env=env).splitlines()
    package, desktop_pkg, resources = (Path(line).resolve() for line in where)
    venv_root = venv.resolve()
    assert venv_root in package.parents, f"crossmargin imported from {package}, not the venv"
    assert venv_root in desktop_pkg.parents, f"desktop imported from {desktop_pkg}"
    assert resources == package.parent / "_resources"
    for rel in RESOURCE_FILES:
        assert (resources / rel).is_file(), rel

    assert run([str(bindir / "crossmargin"), "--version"], cwd=root, env=env).strip() == (
        f"crossmargin {__version__}"
    )
    report = run([str(bindir / "crossmargin-desktop"), "--self-test"], cwd=root, env=env)
    lines = report.rstrip().splitlines()
    assert lines[0] == f"CrossMargin {__version__} self-test"
    assert f"files in {resources}" in report
    assert "btc liquidation price 26,316.89, eth liquidation price 1,153.26" in report
    assert "ok    tab Dashboard" in report and "ok    demo account" in report
    assert lines[-1].startswith("self-test passed"), report
