"""Readers on other threads never see a write half done (WAL + one transaction per write)."""

from __future__ import annotations

import threading
from pathlib import Path

from crossmargin.storage import Journal

from .test_crash import make_csv


def test_readers_see_all_or_nothing_of_a_running_import(
    journal: Journal, acct: int, tmp_path: Path
) -> None:
    rows = 8_000
    csv_path = tmp_path / "f.csv"
    make_csv(csv_path, rows)
    seen: set[int] = set()
    errors: list[BaseException] = []

    def importer() -> None:
        try:
            journal.import_fills_csv(acct, csv_path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=importer)
    t.start()
    while t.is_alive():
        seen.add(journal.fills(limit=1).total)
        page = journal.positions(limit=5)
        assert all(p.fill_count > 0 for p in page.items)
    t.join()
    assert not errors
    seen.add(journal.fills(limit=1).total)
    assert seen <= {0, rows} and rows in seen
