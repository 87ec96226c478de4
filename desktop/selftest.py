"""``crossmargin-desktop --self-test``: a smoke test of an installed or frozen build.

It proves, in a few seconds and without a screen, that a build is whole:

1. **resources**: the bundled ``resources/`` folder is found (source checkout, wheel or
   PyInstaller bundle) and holds the icons, the stylesheet and the demo scenario;
2. **engine**: every known answer in ``resources/selftest.json`` (published exchange
   worked examples, e.g. Binance's cross-margin FAQ: BTC liquidates at 26,316.89 USDT,
   ETH at 1,153.26 USDT) is reproduced by :func:`crossmargin.margin.evaluate` at the
   precision the source prints;
3. **desktop**: the real start-up path of :func:`desktop.app.main` (application,
   services, theme, main window) runs on the demo account; the first figures must come
   back from the engine worker and equal a direct evaluation of the same book;
4. **tabs**: each tab of the main window is rendered once into an image, and the
   image must not be blank (a missing Qt plugin, style or font shows up here).

Qt runs offscreen (``QT_QPA_PLATFORM=offscreen``) unless the caller chose a platform.
The run uses a throw-away ``CROSSMARGIN_HOME``, so the user's settings, journal and
window state are never read or written. The report goes to stdout; when there is no
stdout (a windowed Windows build) it is written to ``<log folder>/selftest.txt``.
Exit code 0 when every check passed, 1 otherwise (each failure says what is wrong).
Set ``CROSSMARGIN_SELFTEST_TRACE=1`` to print the traceback of an unexpected error.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from crossmargin import __version__, paths
from crossmargin.resources import resource_path, resources_dir

SELFTEST_FILE = "selftest.json"
SELFTEST_FORMAT = "crossmargin.selftest/1"
GUI_TIMEOUT_S = 30.0
WINDOW_SIZE = (1280, 800)
# Messages the offscreen platform plugin prints for every top-level window.
PLATFORM_NOISE = ("This plugin does not support",)
# An image counts as drawn when it has at least this many distinct colours and this
# share of sampled pixels differs from its most common colour.
MIN_COLOURS = 4
MIN_INK = 0.002
REQUIRED_RESOURCES = (
    ("icons", "crossmargin.svg"),
    ("icons", "crossmargin-256.png"),
    ("styles", "app.qss"),
    ("scenarios", "demo.json"),
    (SELFTEST_FILE,),
)


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: ``ok`` plus what was seen (or what is wrong)."""

    name: str
    ok: bool
    detail: str


@dataclass
class SelfTestReport:
    """The checks run so far, in order, and the Qt messages caught during the run."""

    checks: list[Check] = field(default_factory=list)
    qt_messages: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def add(self, name: str, ok: bool, detail: str) -> Check:
        check = Check(name, ok, detail)
        self.checks.append(check)
        return check

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        width = max((len(c.name) for c in self.checks), default=8)
        out = [f"CrossMargin {__version__} self-test"]
        for c in self.checks:
            out.append(f"  {'ok  ' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}")
        for message in self.qt_messages[:10]:
            out.append(f"  note  Qt said: {message}")
        elapsed = time.perf_counter() - self.started
        failed = [c.name for c in self.checks if not c.ok]
        if failed:
            out.append(f"self-test FAILED ({', '.join(failed)}) after {elapsed:.1f} s")
        else:
            out.append(f"self-test passed: {len(self.checks)} checks in {elapsed:.1f} s")
        return out


# ---------------------------------------------------------------------------- resources


def check_resources(report: SelfTestReport) -> bool:
    """The resources folder exists and holds every file the app and this test need."""
    try:
        folder = resources_dir()
    except FileNotFoundError as exc:
        report.add("resources", False, str(exc))
        return False
    missing = [
        "/".join(parts) for parts in REQUIRED_RESOURCES if not resource_path(*parts).is_file()
    ]
    if missing:
        report.add("resources", False, f"{folder} lacks {', '.join(missing)}; reinstall the app")
        return False
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    report.add("resources", True, f"{files} files in {folder}")
    return True


# ------------------------------------------------------------------------------- engine


def load_known_answers(path: Path | None = None) -> list[dict[str, Any]]:
    """The cases of ``selftest.json`` (numbers read exactly, as :class:`Decimal`).

    Raises ``ValueError`` naming the problem when the file is not a self-test file.
    """
    path = path or resource_path(SELFTEST_FILE)
    data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    if not isinstance(data, dict) or data.get("format") != SELFTEST_FORMAT:
        raise ValueError(f"{path}: not a {SELFTEST_FORMAT} file")
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases:
        raise ValueError(f"{path}: 'cases' must be a non-empty list")
    return cases


def check_case(case: dict[str, Any]) -> tuple[bool, str]:
    """Evaluate one case's scenario; compare each expected figure at the case's quantum.

    Figures are position attributes of :class:`crossmargin.margin.PositionRisk`
    (prices in quote currency per base unit, margins in the settlement currency).
    Returns ``(ok, one-line detail)``.
    """
    from crossmargin.errors import InputError
    from crossmargin.margin import evaluate
    from crossmargin.scenario import parse_scenario

    case_id = str(case.get("id", "?"))
    try:
        quantum = Decimal(str(case.get("quantum", "0.01")))
        risk = evaluate(parse_scenario(case["scenario"]))
    except (InputError, InvalidOperation, KeyError) as exc:
        return False, f"{case_id}: cannot evaluate the bundled case ({exc})"
    seen: list[str] = []
    wrong: list[str] = []
    for pid, figures in dict(case.get("expected", {})).items():
        for name, raw in dict(figures).items():
            try:
                expected = Decimal(str(raw))
            except InvalidOperation:
                wrong.append(f"{pid}.{name}: the expected value {raw!r} is not a number")
                continue
            try:
                got = getattr(risk.position(pid), name)
            except (KeyError, AttributeError):
                wrong.append(f"{pid}.{name} is not computed")
                continue
            got_q = None if got is None else Decimal(got).quantize(quantum)
            if got_q != expected.quantize(quantum):
                wrong.append(f"{pid}.{name} = {got_q}, expected {expected}")
            else:
                seen.append(f"{pid} {name.replace('_', ' ')} {got_q:,}")
    if wrong:
        return False, f"{case_id}: " + "; ".join(wrong)
    if not seen:
        return False, f"{case_id}: the case lists no expected figure"
    return True, f"{case_id}: " + ", ".join(seen)


def check_engine(report: SelfTestReport, path: Path | None = None) -> bool:
    """Every known answer is reproduced."""
    try:
        cases = load_known_answers(path)
    except (OSError, ValueError) as exc:
        report.add("engine", False, f"known answers unreadable: {exc}")
        return False
    ok = True
    for case in cases:
        passed, detail = check_case(case)
        report.add("engine", passed, detail)
        ok = ok and passed
    return ok


# ------------------------------------------------------------------------------ desktop


@contextmanager
def isolated_environment() -> Iterator[Path]:
    """A throw-away ``CROSSMARGIN_HOME`` and, unless set, the offscreen Qt platform.

    The offscreen screen is made desktop-sized (its default, 800×600, is smaller than
    the main window's minimum size). The environment is restored on exit.
    """
    saved = {k: os.environ.get(k) for k in (paths.HOME_ENV, "QT_QPA_PLATFORM")}
    with tempfile.TemporaryDirectory(prefix="crossmargin-selftest-") as tmp:
        home = Path(tmp)
        os.environ[paths.HOME_ENV] = str(home)
        if not os.environ.get("QT_QPA_PLATFORM"):
            screen = home / "offscreen.json"
            screen.write_text(json.dumps({"screens": [{
                "name": "selftest", "x": 0, "y": 0, "width": 1920, "height": 1200,
                "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1,
            }]}), encoding="utf-8")
            os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen}"
        try:
            yield home
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def ink(image: Any) -> tuple[int, float]:
    """``(distinct colours, share of pixels unlike the most common colour)`` of a QImage.

    Sampled on a grid of at most about 200×200 points (enough to see text and lines).
    """
    width, height = image.width(), image.height()
    if width <= 0 or height <= 0:
        return 0, 0.0
    step_x = max(1, width // 200)
    step_y = max(1, height // 200)
    counts: dict[int, int] = {}
    for y in range(0, height, step_y):
        for x in range(0, width, step_x):
            rgb = image.pixel(x, y)
            counts[rgb] = counts.get(rgb, 0) + 1
    total = sum(counts.values())
    return len(counts), 1.0 - max(counts.values()) / total


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Run the Qt event loop until ``predicate()`` holds; ``False`` on timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    return True


def check_desktop(report: SelfTestReport, timeout_s: float = GUI_TIMEOUT_S) -> bool:
    """Start the app as ``main()`` does, on the demo account, and render every tab."""
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler, qVersion
    from PySide6.QtGui import QGuiApplication, QImageReader

    from desktop import startup as desktop_app

    def on_message(kind: QtMsgType, _context: object, message: str) -> None:
        if kind in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg):
            return
        if message.startswith(PLATFORM_NOISE):
            return
        report.qt_messages.append(f"[{kind.name}] {message}")

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    for name, display in (("xcb", "DISPLAY"), ("wayland", "WAYLAND_DISPLAY")):
        if platform.startswith(name) and not os.environ.get(display):
            # Qt would abort the process without a word; say why instead
            report.add("qt", False, f"QT_QPA_PLATFORM={platform} but {display} is not set: "
                       "unset QT_QPA_PLATFORM to run the self-test offscreen")
            return False
    previous = qInstallMessageHandler(on_message)
    try:
        args = desktop_app.parse_args(["--demo"])
        qapp = desktop_app.create_application()
        formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
        report.add(
            "qt", "png" in formats,
            f"PySide6 {pyside_version}, Qt {qVersion()}, platform "
            f"{QGuiApplication.platformName()}, image formats: "
            f"{'png' if 'png' in formats else 'NO PNG'}{', svg' if 'svg' in formats else ''}",
        )
        services = desktop_app.build_services(qapp)
        qapp.setWindowIcon(services.icon)
        report.add("icon", not services.icon.isNull(),
                   "application icon loaded" if not services.icon.isNull()
                   else "the application icon could not be loaded from resources/icons")
        window = desktop_app.build_window(qapp, args, services)
        try:
            window.resize(*WINDOW_SIZE)
            window.show()
            return _check_window(report, window, timeout_s)
        finally:
            window.close()
            services.tasks.shutdown()
    finally:
        qInstallMessageHandler(previous)
        fatal = [m for m in report.qt_messages if m.startswith(("[QtCriticalMsg]", "[QtFatalMsg]"))]
        if fatal:
            report.add("qt messages", False, f"{len(fatal)} critical: {fatal[0]}")


def _check_window(report: SelfTestReport, window: Any, timeout_s: float) -> bool:
    """The demo book's figures, then one rendered image per tab and of the whole window."""
    from crossmargin.margin import evaluate
    from desktop.session import EntryKind

    t0 = time.perf_counter()
    if not wait_until(lambda: window.session.snapshot is not None, timeout_s):
        report.add("demo account", False,
                   f"no figures from the engine within {timeout_s:.0f} s of start-up")
        return False
    if window.marks.simulated is not None:  # freeze the simulated prices: one steady book
        window.marks.simulated.stop()
    wait_until(lambda: not window.tasks.is_busy(), timeout_s)  # the synthetic history
    snap = window.session.snapshot
    entry = window.session.entry
    problems = []
    if entry is None or entry.kind is not EntryKind.DEMO:
        problems.append("the window did not open the demo account")
    if not snap.state.positions:
        problems.append("the demo account has no positions")
    if snap.risk != evaluate(snap.state):
        problems.append("the figures shown differ from a direct evaluation of the same book")
    ratio = snap.risk.margin_ratio
    report.add(
        "demo account", not problems,
        "; ".join(problems) if problems else
        f"{len(snap.state.positions)} positions, equity {snap.risk.equity:,.2f} "
        f"{snap.risk.settle}, margin ratio "
        f"{'n/a' if ratio is None else f'{ratio * 100:.2f} %'}, first figures in "
        f"{time.perf_counter() - t0:.2f} s",
    )
    ok = not problems
    tabs = window.tabs
    for index in range(tabs.count()):
        name = tabs.tabText(index)
        tabs.setCurrentIndex(index)
        wait_until(lambda: False, 0.15)  # let layouts, charts and delegates settle
        widget = tabs.widget(index)
        image = widget.grab().toImage()
        colours, share = ink(image)
        drawn = colours >= MIN_COLOURS and share >= MIN_INK
        report.add(
            f"tab {name}", drawn,
            f"{image.width()}×{image.height()} px, {colours} colours, {share:.1%} ink"
            if drawn else
            f"rendered blank ({image.width()}×{image.height()} px, {colours} colours, "
            f"{share:.2%} ink)",
        )
        ok = ok and drawn
    image = window.grab().toImage()
    colours, share = ink(image)
    drawn = colours >= MIN_COLOURS and share >= MIN_INK
    report.add("main window", drawn,
               f"{image.width()}×{image.height()} px, {colours} colours, {share:.1%} ink")
    return ok and drawn


# --------------------------------------------------------------------------------- run


def _output() -> tuple[TextIO | None, Path | None]:
    """stdout, or (windowed build without a console) the report file in the log folder."""
    if sys.stdout is not None:
        return sys.stdout, None
    return None, paths.log_dir() / "selftest.txt"


def run_self_test(*, timeout_s: float = GUI_TIMEOUT_S) -> int:
    """Run every check, print the report, return the exit code (0 = all passed)."""
    stream, report_file = _output()  # decided before CROSSMARGIN_HOME is replaced
    report = SelfTestReport()
    step = "resources"
    try:
        check_resources(report)
        step = "engine"
        check_engine(report)
        step = "desktop"
        with isolated_environment():
            check_desktop(report, timeout_s)
    except Exception as exc:  # a broken build must still give a readable report
        report.add(step, False, f"unexpected error: {type(exc).__name__}: {exc}")
        if os.environ.get("CROSSMARGIN_SELFTEST_TRACE"):
            traceback.print_exc()
    text = "\n".join(report.lines()) + "\n"
    if stream is not None:
        stream.write(text)
        stream.flush()
    elif report_file is not None:
        paths.ensure(report_file.parent)
        report_file.write_text(text, encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_self_test())
