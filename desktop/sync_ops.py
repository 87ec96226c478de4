"""Exchange-account work the desktop app runs on worker threads (never the GUI thread).

Thin wrappers over :mod:`crossmargin.sync` (the only package that talks to ccxt):
test a key with one read-only request, and store a new account (keys in the secret
store, settings in the account registry, a matching exchange account in the journal).
"""

from __future__ import annotations

from dataclasses import dataclass

from crossmargin.errors import InputError
from crossmargin.storage import AccountKind, Journal
from crossmargin.sync.config import AccountConfig, AccountRegistry, Credentials
from crossmargin.sync.secrets import MemoryStore, keyring_usable, open_store

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
    from crossmargin.sync.faults import Caller, RetryPolicy, SyncError, to_sync_error
    from crossmargin.sync.fetchers import fetcher_for

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


def sync_setup() -> tuple[list[AccountConfig], dict[str, object]]:
    """The registered exchange accounts and their last known sync status (worker thread)."""
    from crossmargin.sync.status import StatusBoard

    configs = AccountRegistry().all()
    board = StatusBoard()
    return configs, {c.label: board.get(c.label) for c in configs}


def build_sync_service(journal: Journal, configs: list[AccountConfig], memory: MemoryStore):
    """A :class:`SyncService` over ``journal`` with ``configs`` registered (not started).

    Keys come from the OS keyring, or from this session's memory store; accounts whose
    keys sit in the passphrase-encrypted file are synced by ``crossmargin sync`` instead
    (the app shows them as needing attention).
    """
    from crossmargin.sync.journal_port import JournalAdapter
    from crossmargin.sync.service import SyncService

    def credentials(config: AccountConfig) -> Credentials | None:
        if config.secret_store == "memory":
            return memory.get(config.label)
        if config.secret_store == "keyring":
            try:
                return open_store("keyring").get(config.label)
            except InputError:
                return None
        return None

    service = SyncService(JournalAdapter(journal), credentials=credentials)
    for config in configs:
        service.add_account(config)
    return service
