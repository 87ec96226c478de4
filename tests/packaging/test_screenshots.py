"""``packaging/screenshots.py`` (the README's pictures and the layout review at 1024×700,
1280×800 and 1920×1080) still runs: every tab is rendered and the PNGs are not blank."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.gui


def test_the_screenshot_script_renders_every_tab_at_the_smallest_size(tmp_path) -> None:
    from PySide6.QtGui import QImage

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "screenshots.py"), str(tmp_path / "shots"),
         "--size", "1024x700", "--theme", "dark"],
        check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shots = sorted((tmp_path / "shots").glob("*.png"))
    names = {p.name.split("-")[0] for p in shots}
    assert {"dashboard", "positions", "whatif", "journal", "journal_fills"} <= names
    for path in shots:
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1024, 700), path.name
        # not one flat colour: something was drawn
        colours = {image.pixel(x, y) for x in range(0, 1024, 37) for y in range(0, 700, 29)}
        assert len(colours) > 8, path.name
