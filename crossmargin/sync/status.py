"""Per-account sync status: ok / syncing / stale since T / needs attention: why.

Kept in memory by the :class:`~crossmargin.sync.service.SyncService` and mirrored to
``data_dir()/sync_status.json`` (atomic write, owner-only) so ``crossmargin status``
in another process sees it. Messages are already scrubbed of secrets.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from crossmargin import paths
from crossmargin.sync.files import write_private_text


class SyncState(StrEnum):
    NEVER = "never"  # added, not synced yet
    SYNCING = "syncing"
    OK = "ok"  # last cycle committed
    STALE = "stale"  # last cycle failed transiently; data is as of ``last_success``
    NEEDS_ATTENTION = "needs_attention"  # stopped: the user must act (keys, permissions)


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """What the GUI and CLI show for one account. Times are aware UTC datetimes."""

    label: str
    state: SyncState = SyncState.NEVER
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    message: str = ""
    fault: str = ""

    def describe(self, now: datetime | None = None) -> str:
        """``ok (synced 12:01:03Z)``, ``stale since ...: why``, ``needs attention: why``."""
        def t(x: datetime | None) -> str:
            return x.strftime("%Y-%m-%d %H:%M:%SZ") if x else "never"

        if self.state is SyncState.OK:
            return f"ok (synced {t(self.last_success)})"
        if self.state is SyncState.STALE:
            return f"stale since {t(self.last_success)}: {self.message}"
        if self.state is SyncState.NEEDS_ATTENTION:
            return f"needs attention: {self.message}"
        if self.state is SyncState.SYNCING:
            return f"syncing… (last success {t(self.last_success)})"
        return "not synced yet"

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        for k in ("last_success", "last_attempt"):
            v = getattr(self, k)
            d[k] = v.isoformat() if v else None
        d["state"] = self.state.value
        return d

    @classmethod
    def from_json(cls, d: dict[str, object]) -> AccountStatus:
        def ts(v: object) -> datetime | None:
            return datetime.fromisoformat(str(v)) if v else None

        return cls(
            label=str(d["label"]), state=SyncState(str(d.get("state", "never"))),
            last_success=ts(d.get("last_success")), last_attempt=ts(d.get("last_attempt")),
            message=str(d.get("message", "")), fault=str(d.get("fault", "")),
        )


def status_path() -> Path:
    return paths.data_dir() / "sync_status.json"


class StatusBoard:
    """Thread-safe table of :class:`AccountStatus`, persisted after every change."""

    def __init__(self, path: Path | None = None, *, persist: bool = True) -> None:
        self.path = path or status_path()
        self.persist = persist
        self._lock = threading.Lock()
        self._items: dict[str, AccountStatus] = self._load()

    def _load(self) -> dict[str, AccountStatus]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {d["label"]: AccountStatus.from_json(d) for d in raw.get("accounts", [])}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def get(self, label: str) -> AccountStatus:
        with self._lock:
            return self._items.get(label) or AccountStatus(label)

    def all(self) -> list[AccountStatus]:
        with self._lock:
            return sorted(self._items.values(), key=lambda s: s.label)

    def update(self, label: str, **changes: object) -> AccountStatus:
        with self._lock:
            cur = self._items.get(label) or AccountStatus(label)
            new = replace(cur, **changes)  # type: ignore[arg-type]
            self._items[label] = new
            if self.persist:
                self._save()
            return new

    def forget(self, label: str) -> None:
        with self._lock:
            self._items.pop(label, None)
            if self.persist:
                self._save()

    def _save(self) -> None:
        data = json.dumps({"accounts": [s.to_json() for s in self._items.values()]}, indent=1)
        # a cache rebuilt by the next cycle: no fsync (it is saved on every state change)
        write_private_text(self.path, data, prefix=".status-", durable=False)


def utcnow() -> datetime:
    return datetime.now(UTC)
