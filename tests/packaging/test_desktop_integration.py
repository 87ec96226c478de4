"""Linux desktop integration files: .desktop entry, AppStream metainfo, icons, the spec."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESOURCES = REPO / "resources"
DESKTOP = RESOURCES / "crossmargin-desktop.desktop"
APP_ID = "io.github.crossmargin.CrossMargin"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def gui_scripts() -> dict[str, str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]["gui-scripts"]


def test_desktop_entry_launches_the_gui_script_in_the_finance_category() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert "Finance" in entry["Categories"].split(";")
    assert entry["Categories"].endswith(";")
    command = entry["Exec"].split()[0]
    assert command in gui_scripts()
    assert entry["TryExec"] == command
    assert entry["Icon"] == "crossmargin"
    assert entry["Terminal"] == "false"
    # Wayland matches windows to this file through QGuiApplication.desktopFileName
    app_source = (REPO / "desktop" / "startup.py").read_text(encoding="utf-8")
    assert f'setDesktopFileName("{DESKTOP.stem}")' in app_source


def test_metainfo_names_the_desktop_file_and_binary() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("provides/binary") in gui_scripts()
    assert "Finance" in [c.text for c in root.findall("categories/category")]
    assert root.findtext("metadata_license") == "CC0-1.0"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert version in [r.get("version") for r in root.findall("releases/release")]


def test_icons_exist_in_svg_and_every_png_size(qapp) -> None:
    from PySide6.QtGui import QImage

    svg = RESOURCES / "icons" / "crossmargin.svg"
    assert ET.parse(svg).getroot().tag.endswith("svg")
    for size in ICON_SIZES:
        image = QImage(str(RESOURCES / "icons" / f"crossmargin-{size}.png"))
        assert not image.isNull(), size
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()


@pytest.mark.parametrize(
    ("tool", "args", "path"),
    [
        ("desktop-file-validate", [], DESKTOP),
        ("appstreamcli", ["validate", "--no-net"], METAINFO),
    ],
)
def test_files_pass_the_freedesktop_validators_when_installed(
    tool: str, args: list[str], path: Path
) -> None:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed (Debian: desktop-file-utils / appstream)")
    done = subprocess.run([exe, *args, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_spec_bundles_resources_and_excludes_unused_qt() -> None:
    spec = (REPO / "packaging" / "crossmargin-desktop.spec").read_text(encoding="utf-8")
    assert '(str(ROOT / "resources"), "resources")' in spec
    for module in ("QtWebEngineCore", "QtQml", "QtQuick", "Qt3DCore", "QtMultimedia",
                   "QtCharts", "QtDataVisualization", "QtPdf", "QtBluetooth"):
        assert f'"{module}"' in spec
    launcher = (REPO / "packaging" / "launcher.py").read_text(encoding="utf-8")
    assert "from desktop.app import main" in launcher
    assert gui_scripts()["crossmargin-desktop"] == "desktop.app:main"
