"""``crossmargin.resources``: one lookup for a checkout, a wheel and a frozen bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from crossmargin import resources

REPO = Path(__file__).resolve().parents[2]


def test_source_checkout_finds_the_top_level_folder() -> None:
    assert resources.resources_dir() == REPO / "resources"
    assert resources.resource_path("scenarios", "demo.json").is_file()
    assert resources.resource_path("selftest.json").is_file()


def test_installed_copy_inside_the_package_wins_over_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "site-packages" / "crossmargin"
    (pkg / "_resources").mkdir(parents=True)
    (tmp_path / "site-packages" / "resources").mkdir()  # someone else's top-level folder
    monkeypatch.setattr(resources, "_PKG", pkg)
    assert resources.resources_dir() == pkg / "_resources"


def test_pyinstaller_bundle_wins_over_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    meipass = tmp_path / "_internal"
    (meipass / "resources").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(meipass), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert resources.resources_dir() == meipass / "resources"
    assert resources.resource_path("icons", "x.png") == meipass / "resources" / "icons" / "x.png"


def test_other_freezers_find_resources_beside_the_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = tmp_path / "app" / "crossmargin-desktop"
    (exe.parent / "resources").mkdir(parents=True)
    exe.write_text("")
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    monkeypatch.setattr(resources, "_PKG", tmp_path / "lib" / "crossmargin")
    assert resources.resources_dir() == exe.parent / "resources"


def test_a_broken_install_names_every_place_looked_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    monkeypatch.setattr(resources, "_PKG", tmp_path / "crossmargin")
    with pytest.raises(FileNotFoundError) as err:
        resources.resources_dir()
    message = str(err.value)
    assert "reinstall the application" in message
    assert str(tmp_path / "crossmargin" / "_resources") in message
    assert str(tmp_path / "resources") in message
