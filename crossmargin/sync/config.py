"""Per-account sync settings (never secrets) and the credentials object.

The settings live in ``config_dir()/sync_accounts.json`` (owner-only, written
atomically). API keys never go there: see :mod:`crossmargin.sync.secrets`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from crossmargin import paths
from crossmargin.domain import RuleSet
from crossmargin.errors import InputError
from crossmargin.sync.files import write_private_text

#: Exchanges whose positions, fills, funding and tiers are synced (the rest: balances and
#: whatever their ccxt class supports).
FIRST_CLASS = ("binanceusdm", "binancecoinm", "bybit", "okx")

_RULES_BY_EXCHANGE = {
    "binanceusdm": RuleSet.BINANCE,
    "binancecoinm": RuleSet.BINANCE,
    "binance": RuleSet.BINANCE,
    "bybit": RuleSet.BYBIT,
    "okx": RuleSet.OKX,
    "gate": RuleSet.GATE,
    "hyperliquid": RuleSet.HYPERLIQUID,
}
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")

DEFAULT_POLL_SECONDS = 60
#: How far back the first sync of an account looks for fills and funding (days).
DEFAULT_HISTORY_DAYS = 30


def rules_for(exchange_id: str) -> RuleSet:
    """The margin rule set an exchange follows (``generic`` when unknown)."""
    return _RULES_BY_EXCHANGE.get(exchange_id, RuleSet.GENERIC)


@dataclass(frozen=True, slots=True)
class Credentials:
    """API credentials. ``repr``/``str`` never show them; pass the object, not the strings."""

    api_key: str
    secret: str
    password: str | None = None  # OKX "passphrase"

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    __str__ = __repr__

    def values(self) -> tuple[str, ...]:
        """The secret strings (for scrubbing text); empty ones left out."""
        return tuple(v for v in (self.api_key, self.secret, self.password) if v)


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """How to reach one exchange account.

    ``endpoint``: advanced override. Either one base URL (``http://127.0.0.1:8080``) that
    replaces scheme and host of every API section, or a mapping ``{section: url}`` for
    ccxt's ``urls['api']`` keys (regional hosts, proxies, a replay server).
    ``network``: ``live``, ``testnet`` (ccxt sandbox) or ``demo`` (demo trading), where the
    ccxt class supports it. ``poll_seconds``: interval of periodic syncs (> 0).
    ``history_start``: first time (ms) fetched for fills/funding when no cursor exists yet
    (``None``: :data:`DEFAULT_HISTORY_DAYS` ago). ``secret_store``: where the API keys are
    (``keyring``, ``file`` or ``memory``; see :mod:`crossmargin.sync.secrets`).
    ``settle``: settlement currency of the margin account the engine models (``USDT`` for
    USDⓈ-M; the coin for inverse).
    """

    label: str
    exchange: str
    settle: str = "USDT"
    network: str = "live"
    endpoint: str | Mapping[str, str] | None = None
    poll_seconds: int = DEFAULT_POLL_SECONDS
    history_start: int | None = None
    timeout_ms: int = 10_000
    rate_limit: bool = True
    secret_store: str = "keyring"
    options: Mapping[str, object] = field(default_factory=dict)

    @property
    def rules(self) -> RuleSet:
        return rules_for(self.exchange)

    def validate(self) -> AccountConfig:
        problems = []
        if not _LABEL_RE.match(self.label or ""):
            problems.append(
                f"label: {self.label!r} must be 1-64 letters, digits, spaces, '_', '.' or '-'"
            )
        try:
            import ccxt

            known = set(ccxt.exchanges)
        except ImportError:  # pragma: no cover - ccxt is a hard dependency
            known = set(FIRST_CLASS)
        if self.exchange not in known:
            problems.append(
                f"exchange: unknown ccxt exchange id {self.exchange!r} "
                "(examples: binanceusdm, binancecoinm, bybit, okx)"
            )
        if self.network not in ("live", "testnet", "demo"):
            problems.append(f"network: {self.network!r} must be live, testnet or demo")
        if self.secret_store not in ("keyring", "file", "memory"):
            problems.append(f"secret_store: {self.secret_store!r} must be keyring, file or memory")
        if self.poll_seconds <= 0:
            problems.append(f"poll_seconds: must be > 0, got {self.poll_seconds}")
        if self.timeout_ms <= 0:
            problems.append(f"timeout_ms: must be > 0, got {self.timeout_ms}")
        if not self.settle or not self.settle.isalnum():
            problems.append(f"settle: {self.settle!r} must be a currency code such as USDT")
        ep = self.endpoint
        urls = [ep] if isinstance(ep, str) else list((ep or {}).values())
        for url in urls:
            if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
                problems.append(f"endpoint: {url!r} must be an http(s) URL")
        if problems:
            raise InputError(problems)
        return self

    def with_(self, **changes: object) -> AccountConfig:
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["endpoint"] = (
            dict(self.endpoint) if isinstance(self.endpoint, Mapping) else self.endpoint
        )
        data["options"] = dict(self.options)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> AccountConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"account settings: unknown keys {unknown}")
        return cls(**data).validate()  # type: ignore[arg-type]


def registry_path() -> Path:
    return paths.config_dir() / "sync_accounts.json"


class AccountRegistry:
    """The saved account settings (labels, exchange ids, endpoints; never secrets)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or registry_path()

    def _load(self) -> dict[str, AccountConfig]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"{self.path}: unreadable account settings ({type(exc).__name__}); "
                "fix or remove the file and add the accounts again"
            ) from None
        if not isinstance(raw, dict) or not isinstance(raw.get("accounts"), list):
            raise InputError(f"{self.path}: expected {{'accounts': [...]}}")
        out: dict[str, AccountConfig] = {}
        for i, item in enumerate(raw["accounts"]):
            if not isinstance(item, dict):
                raise InputError(f"{self.path}: accounts[{i}] must be an object")
            cfg = AccountConfig.from_json(item)
            out[cfg.label] = cfg
        return out

    def _save(self, accounts: Mapping[str, AccountConfig]) -> None:
        payload = json.dumps(
            {"accounts": [a.to_json() for a in accounts.values()]}, indent=2, sort_keys=True
        )
        write_private_text(self.path, payload, prefix=".accounts-")

    def all(self) -> list[AccountConfig]:
        return list(self._load().values())

    def __iter__(self) -> Iterator[AccountConfig]:
        return iter(self.all())

    def get(self, label: str) -> AccountConfig:
        accounts = self._load()
        if label not in accounts:
            names = ", ".join(sorted(accounts)) or "none yet"
            raise InputError(f"account {label!r} not found (known: {names})")
        return accounts[label]

    def add(self, config: AccountConfig, *, replace_existing: bool = False) -> None:
        config.validate()
        accounts = self._load()
        if config.label in accounts and not replace_existing:
            raise InputError(f"account {config.label!r} already exists; remove it first")
        accounts[config.label] = config
        self._save(accounts)

    def remove(self, label: str) -> AccountConfig:
        accounts = self._load()
        if label not in accounts:
            raise InputError(f"account {label!r} not found")
        cfg = accounts.pop(label)
        self._save(accounts)
        return cfg
