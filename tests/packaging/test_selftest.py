"""``crossmargin-desktop --self-test``: known answers, blank-image detection, the report."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from crossmargin.resources import resource_path
from desktop import selftest


def test_bundled_known_answers_pass() -> None:
    cases = selftest.load_known_answers()
    ids = [c["id"] for c in cases]
    assert "binance-faq-cross" in ids
    for case in cases:
        ok, detail = selftest.check_case(case)
        assert ok, detail
    faq = next(c for c in cases if c["id"] == "binance-faq-cross")
    assert selftest.check_case(faq)[1] == (
        "binance-faq-cross: btc liquidation price 26,316.89, eth liquidation price 1,153.26"
    )


def test_a_wrong_answer_is_reported_with_the_figure() -> None:
    case = copy.deepcopy(selftest.load_known_answers()[0])
    case["expected"]["btc"]["liquidation_price"] = "26316.90"
    ok, detail = selftest.check_case(case)
    assert not ok
    assert "btc.liquidation_price = 26316.89, expected 26316.90" in detail


def test_an_engine_change_that_moves_the_answer_fails() -> None:
    case = selftest.load_known_answers()[0]
    case = copy.deepcopy(case)
    case["scenario"]["wallet_balance"] = "1535000"  # a different book -> a different LP
    ok, detail = selftest.check_case(case)
    assert not ok and "expected 26316.89" in detail


def test_unknown_figures_and_bad_files_are_named(tmp_path: Path) -> None:
    case = copy.deepcopy(selftest.load_known_answers()[0])
    case["expected"] = {"nope": {"liquidation_price": "1"},
                        "btc": {"colour": "1", "liquidation_price": "red"}}
    ok, detail = selftest.check_case(case)
    assert not ok
    assert "nope.liquidation_price is not computed" in detail
    assert "btc.colour is not computed" in detail
    assert "btc.liquidation_price: the expected value 'red' is not a number" in detail
    bad = tmp_path / "selftest.json"
    bad.write_text(json.dumps({"format": "something/1", "cases": []}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"not a crossmargin\.selftest/1 file"):
        selftest.load_known_answers(bad)
    report = selftest.SelfTestReport()
    assert not selftest.check_engine(report, bad)
    assert report.checks[-1].detail.startswith("known answers unreadable")


def test_ink_tells_a_blank_image_from_a_drawn_one(qapp) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QImage, QPainter

    image = QImage(400, 300, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    assert selftest.ink(image) == (1, 0.0)
    painter = QPainter(image)
    painter.setPen(QColor("black"))
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, "CrossMargin 26,316.89")
    painter.fillRect(10, 10, 120, 40, QColor("#2a7"))
    painter.end()
    colours, share = selftest.ink(image)
    assert colours >= selftest.MIN_COLOURS and share >= selftest.MIN_INK
    assert selftest.ink(QImage()) == (0, 0.0)


def test_report_lines_and_exit_status() -> None:
    report = selftest.SelfTestReport()
    assert not report.ok  # nothing checked is not a pass
    report.add("engine", True, "fine")
    assert report.ok
    report.add("tab Dashboard", False, "rendered blank")
    assert not report.ok
    lines = report.lines()
    assert lines[0].startswith("CrossMargin ") and lines[0].endswith(" self-test")
    assert "FAIL  tab Dashboard  rendered blank" in lines[2]
    assert lines[-1].startswith("self-test FAILED (tab Dashboard)")


def test_missing_resources_are_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "icons").mkdir()
    monkeypatch.setattr(selftest, "resources_dir", lambda: tmp_path)
    monkeypatch.setattr(selftest, "resource_path", tmp_path.joinpath)
    report = selftest.SelfTestReport()
    assert not selftest.check_resources(report)
    assert "lacks icons/crossmargin.svg" in report.checks[0].detail
    assert "reinstall" in report.checks[0].detail


@pytest.mark.gui
def test_self_test_runs_in_process(qapp, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole self-test passes here, prints every tab, and leaves the environment alone."""
    import os

    before = dict(os.environ)
    assert selftest.run_self_test() == 0
    out = capsys.readouterr().out
    assert "binance-faq-cross: btc liquidation price 26,316.89" in out
    for tab in ("Dashboard", "Positions"):
        assert f"ok    tab {tab}" in out
    assert out.rstrip().splitlines()[-1].startswith("self-test passed")
    assert dict(os.environ) == before
    assert resource_path("selftest.json").is_file()


def test_desktop_entry_point_dispatches_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop import app as desktop_app

    calls: list[str] = []
    monkeypatch.setattr(selftest, "run_self_test", lambda: calls.append("ran") or 7)
    assert desktop_app.main(["--self-test"]) == 7
    assert calls == ["ran"]


def test_a_platform_without_its_display_is_reported_not_aborted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.delenv("DISPLAY", raising=False)
    report = selftest.SelfTestReport()
    assert selftest.check_desktop(report) is False
    assert report.checks[-1].name == "qt" and not report.checks[-1].ok
    assert "DISPLAY is not set" in report.checks[-1].detail
