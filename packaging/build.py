"""Build CrossMargin for distribution: wheel, PyInstaller bundle, Linux AppDir/AppImage, icons.

Run from anywhere, with the dev tools installed (``python3 -m pip install -e ".[dev]"``)::

    python3 packaging/build.py                # the one-folder bundle + its self-test
    python3 packaging/build.py bundle --no-sync   # without exchange sync (no ccxt): smaller
    python3 packaging/build.py wheel          # sdist + wheel into dist/
    python3 packaging/build.py appdir         # bundle -> dist/CrossMargin.AppDir (+ .AppImage
                                              #   when appimagetool is on PATH)
    python3 packaging/build.py icons          # re-render resources/icons/*.png from the SVG

Outputs go to ``dist/`` and intermediate files to ``build/`` (both git-ignored).
Every bundle is smoke-tested with ``--self-test`` before the script reports success;
the script prints the bundle's size and how long the self-test took from a cold start.
Exit code 0 on success, 1 on a failed step (with what failed), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "crossmargin-desktop.spec"
DIST = ROOT / "dist"
BUILD = ROOT / "build"
NAME = "crossmargin-desktop"
APP_ID = "io.github.crossmargin.CrossMargin"
RESOURCES = ROOT / "resources"
ICON_SVG = RESOURCES / "icons" / "crossmargin.svg"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


class BuildError(Exception):
    """A build step failed; the message says which and what to do."""


def step(title: str) -> None:
    print(f"==> {title}", flush=True)


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    print("    $ " + " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, check=False)
    if done.returncode != 0:
        raise BuildError(f"{Path(str(cmd[0])).name} exited with code {done.returncode}")


def folder_size(path: Path) -> int:
    """Bytes in all regular files under ``path`` (symlinks not followed)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


# ------------------------------------------------------------------------------ icons


def render_icons(svg: Path, out_dir: Path, sizes: Sequence[int] = ICON_SIZES) -> list[Path]:
    """Render ``svg`` into ``crossmargin-<size>.png`` files with Qt (offscreen)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise BuildError(f"{svg} is not a valid SVG file")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out_dir / f"crossmargin-{size}.png"
        if not image.save(str(target), "PNG"):
            raise BuildError(f"could not write {target}")
        written.append(target)
    return written


def platform_icon(out_dir: Path) -> Path | None:
    """``crossmargin.ico`` (Windows) or ``crossmargin.icns`` (macOS) for the executable."""
    if sys.platform not in ("win32", "darwin"):
        return None
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QImage

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    fmt, name = ("ico", "crossmargin.ico") if sys.platform == "win32" else ("icns",
                                                                          "crossmargin.icns")
    source = RESOURCES / "icons" / "crossmargin-256.png"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    if not QImage(str(source)).save(str(target), fmt.upper()):
        print(f"    (no {fmt} writer in this Qt: the executable keeps the default icon)")
        return None
    return target


# ----------------------------------------------------------------------------- bundle


def strip_python_runtime(bundle: Path) -> None:
    """Strip debug symbols from libpython and the stdlib extensions only (Linux).

    A global ``strip`` corrupts auditwheel-repaired libraries such as numpy's OpenBLAS.
    """
    if not sys.platform.startswith("linux") or shutil.which("strip") is None:
        return
    internal = bundle / "_internal"
    targets = [*internal.glob("libpython3*.so*"), *internal.glob("python3*/lib-dynload/*.so")]
    for path in targets:
        if path.is_file() and not path.is_symlink():
            subprocess.run(["strip", "--strip-debug", str(path)], check=False)


def self_test(executable: Path, runs: int = 1) -> list[float]:
    """Run ``--self-test`` from the bundle ``runs`` times; wall-clock seconds of each."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    times = []
    for n in range(runs):
        start = time.perf_counter()
        done = subprocess.run([str(executable), "--self-test"], env=env, cwd=BUILD,
                              capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if n == 0 or done.returncode != 0:
            sys.stdout.write(done.stdout)
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-4000:])
            raise BuildError(f"the bundle's --self-test failed (exit code {done.returncode})")
    return times


def build_bundle(*, with_sync: bool = True, test: bool = True, runs: int = 1) -> Path:
    """PyInstaller one-folder bundle in ``dist/crossmargin-desktop``; returns its folder."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError as exc:
        raise BuildError('PyInstaller is not installed: python3 -m pip install -e ".[dev]"'
                         ) from exc
    step("platform icon")
    platform_icon(BUILD / "icons")
    step("PyInstaller bundle" + ("" if with_sync else " (without exchange sync)"))
    env = dict(os.environ)
    env["CROSSMARGIN_BUNDLE_SYNC"] = "1" if with_sync else "0"
    run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
         "--distpath", DIST, "--workpath", BUILD / "pyinstaller", SPEC], env=env)
    bundle = DIST / NAME
    strip_python_runtime(bundle)
    exe = bundle / (NAME + (".exe" if sys.platform == "win32" else ""))
    if not exe.is_file():
        raise BuildError(f"PyInstaller reported success but {exe} is missing")
    print(f"    bundle: {bundle} ({human(folder_size(bundle))})")
    if test:
        step("self-test from the bundle")
        times = self_test(exe, runs)
        print("    self-test wall time: " + ", ".join(f"{t:.2f} s" for t in times))
    return bundle


# ----------------------------------------------------------------------------- wheel


def build_wheel() -> None:
    """sdist + wheel (built from the sdist) into ``dist/``.

    ``build/lib`` is removed first: setuptools reuses it, so a module or resource
    deleted from the source would otherwise still ship.
    """
    step("sdist + wheel")
    shutil.rmtree(BUILD / "lib", ignore_errors=True)
    run([sys.executable, "-m", "build", "--outdir", DIST, ROOT])


# ---------------------------------------------------------------------------- AppDir


APPRUN = """#!/bin/sh
# AppImage entry point: run the bundled CrossMargin desktop app.
HERE="$(dirname "$(readlink -f "$0")")"
exec "$HERE/usr/lib/crossmargin/crossmargin-desktop" "$@"
"""


def build_appdir(bundle: Path) -> Path:
    """Lay out ``dist/CrossMargin.AppDir`` from a bundle; make an AppImage if possible.

    Layout (AppImage spec): ``AppRun``, ``crossmargin-desktop.desktop`` and
    ``crossmargin.png`` at the top, the bundle in ``usr/lib/crossmargin``, the desktop
    file, AppStream metainfo and hicolor icons under ``usr/share``.
    """
    step("AppDir")
    appdir = DIST / "CrossMargin.AppDir"
    if appdir.exists():
        shutil.rmtree(appdir)
    shutil.copytree(bundle, appdir / "usr" / "lib" / "crossmargin", symlinks=True)
    share = appdir / "usr" / "share"
    desktop_file = RESOURCES / f"{NAME}.desktop"
    metainfo = RESOURCES / f"{APP_ID}.metainfo.xml"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(desktop_file, share / "applications" / desktop_file.name)
    shutil.copy2(desktop_file, appdir / desktop_file.name)
    (share / "metainfo").mkdir(parents=True)
    shutil.copy2(metainfo, share / "metainfo" / metainfo.name)
    for size in ICON_SIZES:
        png = RESOURCES / "icons" / f"crossmargin-{size}.png"
        if png.is_file():
            target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "crossmargin.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(png, target)
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True)
    shutil.copy2(ICON_SVG, scalable / "crossmargin.svg")
    shutil.copy2(RESOURCES / "icons" / "crossmargin-256.png", appdir / "crossmargin.png")
    (appdir / ".DirIcon").symlink_to("crossmargin.png")
    apprun = appdir / "AppRun"
    apprun.write_text(APPRUN, encoding="utf-8")
    apprun.chmod(apprun.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"    {appdir} ({human(folder_size(appdir))})")

    tool = shutil.which("appimagetool")
    if tool is None:
        print("    appimagetool is not on PATH: the AppDir is ready; make the AppImage with\n"
              f"      ARCH=x86_64 appimagetool {appdir} {DIST / 'CrossMargin-x86_64.AppImage'}")
    else:
        env = dict(os.environ, ARCH=os.uname().machine)
        run([tool, appdir, DIST / f"CrossMargin-{os.uname().machine}.AppImage"], env=env)
    return appdir


# ------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="packaging/build.py", description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", default="bundle",
                        choices=("bundle", "wheel", "appdir", "icons"),
                        help="what to build (default: bundle)")
    parser.add_argument("--no-sync", action="store_true",
                        help="leave exchange sync (ccxt) out of the bundle")
    parser.add_argument("--no-self-test", action="store_true",
                        help="do not run the bundle's --self-test")
    parser.add_argument("--runs", type=int, default=1,
                        help="run the self-test this many times and print each time")
    parser.add_argument("--out", type=Path, default=RESOURCES / "icons",
                        help="icons: folder for the PNG files (default: resources/icons)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.what == "icons":
            step(f"icons from {ICON_SVG}")
            for path in render_icons(ICON_SVG, args.out):
                print(f"    {path}")
        elif args.what == "wheel":
            build_wheel()
        else:
            bundle = build_bundle(with_sync=not args.no_sync, test=not args.no_self_test,
                                  runs=args.runs)
            if args.what == "appdir":
                if not sys.platform.startswith("linux"):
                    raise BuildError("an AppDir/AppImage is built on Linux only")
                build_appdir(bundle)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
