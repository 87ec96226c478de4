"""``crossmargin sync`` and ``crossmargin status``: bring exchange accounts into the journal.

::

    crossmargin sync [--account LABEL] [--once] [--db PATH] [--quiet]
    crossmargin status

``sync --once`` runs one cycle per account and exits (code 0 when every account
synced, 1 otherwise); without ``--once`` it keeps polling each account at its interval
until Ctrl-C. Each cycle commits in one transaction or not at all. ``status`` shows
each account as ok / stale since T / needs attention: why.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from crossmargin.cli import help_text
from crossmargin.errors import InputError
from crossmargin.sync.faults import RetryPolicy

#: Backoff of the CLI's sync (tests replace it with a fast one).
RETRY_POLICY = RetryPolicy()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="sync exchange accounts into the journal",
                       description=help_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--account", metavar="LABEL", help="only this account")
    p.add_argument("--once", action="store_true", help="one cycle per account, then exit")
    p.add_argument("--db", type=Path, default=None, help="journal file (default: the user's)")
    p.add_argument("--quiet", action="store_true", help="only the final line per account")
    p.set_defaults(handler=_sync)
    st = sub.add_parser("status", help="sync status of every exchange account")
    st.set_defaults(handler=_status)


class _Progress:
    """Prints one line per step and per retry; throttles page counters (worker threads)."""

    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def _line(self, text: str) -> None:
        with self._lock:
            print(text, file=self.out, flush=True)

    def sync_started(self, label: str) -> None:
        if not self.quiet:
            self._line(f"{label}: syncing…")

    def sync_progress(self, label: str, message: str) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        page = ":" in message
        if page and now - self._last.get(label, 0.0) < 0.5:
            return
        self._last[label] = now
        self._line(f"{label}: {message}")

    def sync_retrying(self, label: str, event: Any) -> None:
        self._line(f"{label}: retry {event.attempt} in {event.delay:.1f}s: {event.message}")

    def sync_finished(self, label: str, report: Any) -> None:
        self._line(f"{label}: ok: {report.summary()}")
        if not self.quiet:
            for row in report.reconciliation:
                self._line(f"{label}:   liquidation {row.describe()}")
            if report.wallet_check is not None and report.wallet_check.ok:
                self._line(f"{label}:   {report.wallet_check.describe()}")

    def sync_failed(self, label: str, error: Any) -> None:
        self._line(f"{label}: FAILED: {error}")


def _sync(args: argparse.Namespace) -> int:
    from crossmargin.cli.accounts import credentials_for
    from crossmargin.storage.journal import Journal
    from crossmargin.sync.config import AccountRegistry
    from crossmargin.sync.journal_port import JournalAdapter
    from crossmargin.sync.secrets import MemoryStore
    from crossmargin.sync.service import SyncService
    from crossmargin.sync.status import SyncState

    registry = AccountRegistry()
    accounts = [registry.get(args.account)] if args.account else registry.all()
    if not accounts:
        raise InputError("no exchange accounts; add one with `crossmargin accounts add`")
    memory = MemoryStore()
    keys: dict[str, Any] = {}
    for cfg in accounts:  # unlock every store up front (prompts happen before threads)
        keys[cfg.label] = credentials_for(cfg, memory_store=memory)
    journal = Journal.open(args.db)
    progress = _Progress(sys.stdout, args.quiet)
    service = SyncService(JournalAdapter(journal), credentials=lambda c: keys.get(c.label),
                          policy=RETRY_POLICY)
    service.subscribe(progress)
    try:
        for cfg in accounts:
            service.add_account(cfg)
        if args.once:
            futures = service.sync_now()
            results = [f.result() for f in futures]
            return 0 if all(r is not None for r in results) else 1
        service.start()
        print("Syncing every account at its interval; Ctrl-C to stop.", flush=True)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping…", file=sys.stderr)
        return 130
    finally:
        service.stop()
        journal.close()
        for cfg in accounts:
            st = service.status.get(cfg.label)
            if st.state is SyncState.NEEDS_ATTENTION:
                print(f"{cfg.label}: needs attention: {st.message}", file=sys.stderr)


def _status(args: argparse.Namespace) -> int:
    from crossmargin.sync.config import AccountRegistry
    from crossmargin.sync.status import StatusBoard, SyncState

    accounts = AccountRegistry().all()
    if not accounts:
        print("No exchange accounts yet. Add one with: crossmargin accounts add")
        return 0
    board = StatusBoard(persist=False)
    bad = 0
    for a in accounts:
        st = board.get(a.label)
        bad += st.state in (SyncState.STALE, SyncState.NEEDS_ATTENTION)
        print(f"{a.label} ({a.exchange}): {st.describe()}")
    return 1 if bad else 0
