"""``packaging/build.py``: AppDir layout, icon rendering, arguments (no PyInstaller run)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build() -> ModuleType:
    # loaded from its path: the folder name "packaging" would clash with the library
    spec = importlib.util.spec_from_file_location("crossmargin_build_script",
                                                  REPO / "packaging" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_appdir_follows_the_appimage_layout(
    build: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "dist" / "crossmargin-desktop"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    exe = bundle / "crossmargin-desktop"
    exe.write_text("#!/bin/sh\necho frozen \"$@\"\n")
    exe.chmod(0o755)
    monkeypatch.setattr(build, "DIST", tmp_path / "dist")
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # no appimagetool

    appdir = build.build_appdir(bundle)

    assert appdir == tmp_path / "dist" / "CrossMargin.AppDir"
    apprun = appdir / "AppRun"
    assert os.access(apprun, os.X_OK)
    assert "usr/lib/crossmargin/crossmargin-desktop" in apprun.read_text()
    assert (appdir / "usr" / "lib" / "crossmargin" / "crossmargin-desktop").is_file()
    assert (appdir / "crossmargin-desktop.desktop").is_file()
    assert (appdir / "usr/share/applications/crossmargin-desktop.desktop").is_file()
    assert (appdir / f"usr/share/metainfo/{build.APP_ID}.metainfo.xml").is_file()
    assert (appdir / "crossmargin.png").is_file()
    assert os.readlink(appdir / ".DirIcon") == "crossmargin.png"
    for size in build.ICON_SIZES:
        assert (appdir / f"usr/share/icons/hicolor/{size}x{size}/apps/crossmargin.png").is_file()
    assert (appdir / "usr/share/icons/hicolor/scalable/apps/crossmargin.svg").is_file()
    # the icon named by the desktop file is at the AppDir's top, as appimagetool wants
    desktop = (appdir / "crossmargin-desktop.desktop").read_text()
    assert "Icon=crossmargin\n" in desktop


def test_icons_render_from_the_svg_at_every_size(
    build: ModuleType, tmp_path: Path, qapp
) -> None:
    from PySide6.QtGui import QImage

    written = build.render_icons(build.ICON_SVG, tmp_path, sizes=(16, 48))
    assert [p.name for p in written] == ["crossmargin-16.png", "crossmargin-48.png"]
    image = QImage(str(written[1]))
    assert (image.width(), image.height()) == (48, 48)
    bad = tmp_path / "bad.svg"
    bad.write_text("not svg")
    with pytest.raises(build.BuildError, match="not a valid SVG"):
        build.render_icons(bad, tmp_path)


def test_arguments_and_sizes(build: ModuleType) -> None:
    args = build.parse_args([])
    assert args.what == "bundle" and not args.no_sync and args.runs == 1
    assert build.parse_args(["appdir", "--no-sync", "--runs", "3"]).runs == 3
    with pytest.raises(SystemExit) as err:
        build.parse_args(["--runs", "0"])
    assert err.value.code == 2
    assert build.human(512) == "512 B"
    assert build.human(3 * 1024 * 1024) == "3.0 MiB"
