"""The shape of the code: no import circles, modules of one concern and modest size.

Import circles are looked for in every import statement of both packages, the ones
inside functions (lazy imports) included. Imports under ``if TYPE_CHECKING:`` are left
out: they never run, and annotating a helper with the class that calls it is not a
circle in the program.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crossmargin", "desktop")
#: modules allowed above the ~500-line guideline, each with its reason
LARGE = {
    "crossmargin/storage/csv_import.py": "one preset table per exchange export format",
    "crossmargin/cli/whatif.py": "the what-if command's options, input and computing",
    "crossmargin/margin/vectorised.py": "the numpy sweep of the same rules",
    "desktop/whatif/panel.py": "the What-if tab: its reactions, shock controls, read-outs and "
                               "actions (widgets built in panel_layout.py, models elsewhere)",
    "desktop/whatif/models.py": "the What-if book table: its columns, edits and tooltips",
    "desktop/whatif/viewmodel.py": "the What-if view-model: every edit the tab offers "
                                   "(positions, shocks, collateral) and the compute schedule",
    "desktop/views/journal.py": "the Journal tab: its tables, paging, statistics, import and "
                                "export (its editing actions are in journal_editing.py)",
}
LIMIT = 500


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for raw in targets:
            target = raw
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # importing a.b.c runs a and a.b first: a child naming its own package is not
            # a circle of the program's making
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circles_lazy_ones_included() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_checker_sees_a_lazy_circle() -> None:
    """A circle closed by an import inside a function is reported."""
    graph = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert _cycles(graph) == [["a", "b"]]


def test_modules_stay_small_or_say_why() -> None:
    too_big = {}
    for path in _modules().values():
        rel = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > LIMIT and rel not in LARGE:
            too_big[rel] = lines
    assert too_big == {}, f"over {LIMIT} lines with no stated reason in LARGE: {too_big}"
    stale = [rel for rel in LARGE if not (ROOT / rel).is_file()
             or len((ROOT / rel).read_text(encoding="utf-8").splitlines()) <= LIMIT]
    assert stale == [], f"in LARGE but gone or no longer large (drop them): {stale}"


def test_the_journal_is_a_facade_and_the_window_routes() -> None:
    """The two classes everything passes through stay thin: the Journal binds the
    storage modules' functions, the main window lays out and routes."""
    journal = ROOT / "crossmargin" / "storage" / "journal.py"
    window = ROOT / "desktop" / "main_window.py"
    assert len(journal.read_text(encoding="utf-8").splitlines()) <= 400
    assert len(window.read_text(encoding="utf-8").splitlines()) <= 500
