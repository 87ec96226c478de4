"""Exchange-account work the desktop app runs on worker threads (never the GUI thread).

Thin wrappers over :mod:`crossmargin.sync` (the only package that talks to ccxt):
test a key with one read-only request, and store a new account (keys in the secret
store, settings in the account registry, a matching exchange account in the journal).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from crossmargin.errors import InputError
from crossmargin.storage import AccountKind, Journal
from crossmargin.sync.config import AccountConfig, AccountRegistry, Credentials
from crossmargin.sync.secrets import (
    PASSPHRASE_ENV,
    EncryptedFileStore,
    MemoryStore,
    SecretStore,
    keyring_usable,
    open_store,
    secrets_file_path,
)

READ_ONLY_ADVICE = (
    "Use a READ-ONLY API key: enable reading only, no trading, no withdrawals, and restrict "
    "it to your IP address if the exchange allows it. CrossMargin never places orders."
)


@dataclass(frozen=True, slots=True)
class ConnectionResult:
    """The answer of "Test connection": ``ok`` and one line for the user."""

    ok: bool
    message: str


def test_connection(config: AccountConfig, credentials: Credentials) -> ConnectionResult:
    """Load the markets and read the balance once (read-only); never raises for the
    exchange's answer, only for an invalid ``config`` (InputError)."""
    from crossmargin.sync.cycle import AccountClient
    from crossmargin.sync.exchanges import fetcher_for
    from crossmargin.sync.faults import Caller, RetryPolicy, SyncError, to_sync_error

    config.validate()
    try:
        client = AccountClient(config, credentials)
    except SyncError as err:
        return ConnectionResult(False, str(err))
    caller = Caller(client.exchange, RetryPolicy(attempts=1, base_delay=0.2, max_delay=0.5),
                    secrets=client.secrets)
    try:
        fetcher = fetcher_for(config.exchange)(client.exchange, config, caller, {})
        fetcher.load_markets()
        balances = fetcher.balances()
    except SyncError as err:
        return ConnectionResult(False, str(err))
    except Exception as exc:
        return ConnectionResult(False, str(to_sync_error(exc, client.secrets)))
    finally:
        client.close()
    settle = next((b for b in balances if b.currency == config.settle), None)
    wallet = (f"wallet {settle.wallet_balance} {config.settle}" if settle
              else f"no {config.settle} balance")
    markets = len(client.exchange.markets or {})
    return ConnectionResult(True, f"Connected: {markets} markets, {wallet}.")


def default_store_kind() -> str:
    """``keyring`` when the OS has one; else ``memory`` (keys asked again each run)."""
    return "keyring" if keyring_usable() else "memory"


def save_exchange_account(
    journal: Journal, config: AccountConfig, credentials: Credentials,
    memory: MemoryStore | None = None,
) -> int:
    """Store keys, registry entry and journal account; return the journal account id.

    Checks everything first (label free in the registry and the journal, config valid,
    key store usable) so a refusal stores nothing.
    """
    config.validate()
    problems = []
    registry = AccountRegistry()
    if any(a.label.lower() == config.label.lower() for a in registry.all()):
        problems.append(f"label: an exchange account named {config.label!r} already exists")
    if any(a.label.lower() == config.label.lower() for a in journal.accounts()):
        problems.append(f"label: the journal already has an account named {config.label!r}")
    if not credentials.api_key or not credentials.secret:
        problems.append("API key and secret: both are required")
    if problems:
        raise InputError(problems)
    store = open_store(config.secret_store, memory=memory)
    store.put(config.label, credentials)
    registered = False
    try:
        registry.add(config)
        registered = True
        changes = journal.create_account(
            config.label, kind=AccountKind.EXCHANGE, rules=config.rules,
            settle=config.settle, exchange_id=config.exchange,
        )
    except BaseException:
        if registered:
            registry.remove(config.label)
        store.delete(config.label)
        raise
    assert changes.id is not None
    return int(changes.id)


def sync_setup(keys: SessionKeys | None = None,
               ) -> tuple[list[AccountConfig], dict[str, object], list[str]]:
    """The registered exchange accounts, their last known sync status and the labels of
    those whose keys wait for the encrypted key file to be unlocked (worker thread)."""
    from crossmargin.sync.status import StatusBoard

    configs = AccountRegistry().all()
    board = StatusBoard()
    locked = [c.label for c in (keys or SessionKeys()).locked(configs)]
    return configs, {c.label: board.get(c.label) for c in configs}, locked


class SessionKeys:
    """Where the app finds each exchange account's keys during this session.

    ``keyring`` accounts read the OS keyring; ``memory`` accounts the keys typed this
    session; ``file`` accounts the passphrase-encrypted file once the user unlocked it
    (:meth:`unlock`, or ``CROSSMARGIN_SECRETS_PASSPHRASE``). The passphrase itself is not
    kept: only the unlocked store (its derived key) lives in memory until the app quits.
    Thread-safe: the sync service calls :meth:`credentials` from its worker threads.
    """

    def __init__(self, memory: MemoryStore | None = None) -> None:
        self.memory = memory or MemoryStore()
        self._file: SecretStore | None = None
        self._lock = threading.Lock()

    @property
    def file_unlocked(self) -> bool:
        return self._file is not None

    def unlock(self, passphrase: str) -> int:
        """Open the encrypted key file with ``passphrase`` (slow: scrypt; worker thread).

        Returns how many registered accounts keep their keys there. A wrong passphrase, a
        missing or damaged file raises :class:`InputError` and changes nothing.
        """
        path = secrets_file_path()
        if not passphrase:
            raise InputError("passphrase: enter the passphrase of the encrypted key file")
        if not path.exists():
            raise InputError(f"{path}: there is no encrypted key file to unlock; add the "
                             "account again with `crossmargin accounts add --secrets file`")
        store = EncryptedFileStore(passphrase, path)
        with self._lock:
            self._file = store
        return sum(1 for c in AccountRegistry().all() if c.secret_store == "file")

    def lock(self) -> None:
        """Forget the unlocked key file (the app asks again next time)."""
        with self._lock:
            self._file = None

    def _file_store(self) -> SecretStore | None:
        with self._lock:
            if self._file is None and os.environ.get(PASSPHRASE_ENV):
                try:
                    self._file = open_store("file")
                except InputError:
                    return None
            return self._file

    def credentials(self, config: AccountConfig) -> Credentials | None:
        """The account's keys, or None (not stored, or the key file is still locked)."""
        if config.secret_store == "memory":
            return self.memory.get(config.label)
        if config.secret_store == "keyring":
            try:
                return open_store("keyring").get(config.label)
            except InputError:
                return None
        if config.secret_store == "file":
            store = self._file_store()
            return store.get(config.label) if store is not None else None
        return None

    def locked(self, configs: list[AccountConfig]) -> list[AccountConfig]:
        """The accounts of ``configs`` whose keys wait for the key file to be unlocked."""
        if any(c.secret_store == "file" for c in configs) and self._file_store() is None:
            return [c for c in configs if c.secret_store == "file"]
        return []


def build_sync_service(journal: Journal, configs: list[AccountConfig], keys: SessionKeys):
    """A :class:`SyncService` over ``journal`` with ``configs`` registered (not started).

    Keys come from ``keys`` (keyring, this session's memory store, or the encrypted
    file once unlocked); an account whose keys are unavailable needs attention.
    """
    from crossmargin.sync.journal_port import JournalAdapter
    from crossmargin.sync.service import SyncService

    service = SyncService(JournalAdapter(journal), credentials=keys.credentials)
    for config in configs:
        service.add_account(config)
    return service


def public_marks_config(label: str, exchange_id: str, settle: str,
                        endpoint: str | None = None, ws_endpoint: str | None = None) -> Any:
    """The :class:`~crossmargin.sync.config.AccountConfig` a mark feed uses for a journal
    account that names its exchange: public calls only, no keys (``secret_store`` memory,
    nothing is ever asked for). ``endpoint``/``ws_endpoint``: a regional host or proxy
    override for the REST calls / the websocket stream."""
    from crossmargin.sync.config import AccountConfig

    options = {"ws_endpoint": ws_endpoint} if ws_endpoint else {}
    return AccountConfig(label, exchange_id, settle=settle, endpoint=endpoint,
                         secret_store="memory", options=options)


def build_mark_feed(interval: float, streams: bool = True, stall_seconds: float = 10.0) -> Any:
    """A :class:`crossmargin.sync.service.MarkFeed`: public marks streamed over websockets
    where the exchange can, polled every ``interval`` seconds otherwise and whenever a
    stream stalls (not started; built on a worker: the sync package loads there)."""
    from crossmargin.sync.service import MarkFeed

    return MarkFeed(interval=interval, streams=streams, stall_seconds=stall_seconds)
