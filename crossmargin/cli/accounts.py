"""``crossmargin accounts``: add, list, remove and test exchange accounts (read-only sync).

::

    crossmargin accounts add LABEL --exchange ID [--settle USDT] [--network live|testnet|demo]
                             [--endpoint URL | --endpoint SECTION=URL ...] [--poll SECONDS]
                             [--history-days N] [--secrets keyring|file|memory] [--keys-from-env]
                             [--option KEY=JSON ...]
    crossmargin accounts list
    crossmargin accounts remove LABEL
    crossmargin accounts test LABEL

API keys are asked for without echo (or read from ``CROSSMARGIN_API_KEY``,
``CROSSMARGIN_API_SECRET`` and ``CROSSMARGIN_API_PASSPHRASE`` with ``--keys-from-env``);
they are never command-line arguments (those end up in shell history). They go to the
OS keyring, or to an encrypted file unlocked by a passphrase, or stay in memory for
this run only. Create a **read-only** key on the exchange: CrossMargin never trades.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

from crossmargin.cli import help_text
from crossmargin.errors import InputError

KEY_ENV = "CROSSMARGIN_API_KEY"
SECRET_ENV = "CROSSMARGIN_API_SECRET"
PASSWORD_ENV = "CROSSMARGIN_API_PASSPHRASE"

READ_ONLY_ADVICE = (
    "Use a READ-ONLY API key: enable reading only, no trading, no withdrawals, and restrict "
    "it to your IP address if the exchange allows it. CrossMargin never places orders."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("accounts", help="add, list, remove or test exchange accounts",
                       description=help_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    asub = p.add_subparsers(dest="accounts_command", metavar="ACTION")

    add = asub.add_parser("add", help="add an exchange account (asks for a read-only API key)")
    add.add_argument("label", help="a name for the account, e.g. 'binance main'")
    add.add_argument("--exchange", required=True,
                     help="ccxt exchange id: binanceusdm, binancecoinm, bybit, okx, ...")
    add.add_argument("--settle", default=None,
                     help="settlement currency of the margin account (default USDT; the coin "
                          "for binancecoinm)")
    add.add_argument("--network", choices=("live", "testnet", "demo"), default="live")
    add.add_argument("--endpoint", action="append", default=[], metavar="URL|SECTION=URL",
                     help="advanced: override the API base URL (regional host, proxy, replay "
                          "server); repeat SECTION=URL for ccxt's urls['api'] sections")
    add.add_argument("--poll", type=int, default=60, metavar="SECONDS",
                     help="poll interval of `crossmargin sync` (default 60)")
    add.add_argument("--history-days", type=int, default=None, metavar="N",
                     help="how far back the first sync fetches fills and funding (default 30)")
    add.add_argument("--secrets", choices=("keyring", "file", "memory"), default=None,
                     help="where to keep the keys (default: keyring when usable, else an "
                          "encrypted file)")
    add.add_argument("--keys-from-env", action="store_true",
                     help=f"read the keys from {KEY_ENV}, {SECRET_ENV}, {PASSWORD_ENV}")
    add.add_argument("--timeout", type=int, default=10_000, metavar="MS",
                     help="HTTP timeout per request in milliseconds (default 10000)")
    add.add_argument("--option", action="append", default=[], metavar="KEY=JSON",
                     help="advanced: a ccxt option, e.g. enableUnifiedAccount=false for a "
                          "classic Bybit account, or categories='[\"linear\",\"inverse\"]'")
    add.set_defaults(handler=_add)

    ls = asub.add_parser("list", help="list the accounts and their sync status")
    ls.set_defaults(handler=_list)

    rm = asub.add_parser("remove", help="forget an account and delete its stored keys")
    rm.add_argument("label")
    rm.set_defaults(handler=_remove)

    test = asub.add_parser("test", help="check the keys with one read-only balance request")
    test.add_argument("label")
    test.set_defaults(handler=_test)
    p.set_defaults(handler=lambda _a: (p.print_help(), 2)[1])


def _endpoint(values: list[str]) -> str | dict[str, str] | None:
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    out: dict[str, str] = {}
    for v in values:
        section, sep, url = v.partition("=")
        if not sep or not section or not url:
            raise InputError(f"--endpoint {v!r}: use one URL, or SECTION=URL for each section")
        out[section] = url
    return out


def _options(values: list[str]) -> dict[str, object]:
    import json

    out: dict[str, object] = {}
    problems = []
    for v in values:
        key, sep, raw = v.partition("=")
        if not sep or not key.strip():
            problems.append(f"--option {v!r}: use KEY=VALUE")
            continue
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw  # a bare word is a string
    if problems:
        raise InputError(problems)
    return out


def _ask(prompt: str, *, secret: bool = True) -> str:
    if not sys.stdin.isatty():
        raise InputError(
            f"{prompt.strip(': ')}: no terminal to ask on; use --keys-from-env "
            f"({KEY_ENV}, {SECRET_ENV}, {PASSWORD_ENV})"
        )
    return (getpass.getpass(prompt) if secret else input(prompt)).strip()


def read_credentials(exchange: str, *, from_env: bool,
                     ask: Callable[[str], str] | None = None):  # -> Credentials
    """Keys from the environment or asked without echo; OKX also needs its passphrase."""
    from crossmargin.sync.config import Credentials

    ask = ask or _ask
    needs_password = exchange in ("okx", "kucoin", "kucoinfutures", "bitget")
    if from_env:
        key, secret = os.environ.get(KEY_ENV, ""), os.environ.get(SECRET_ENV, "")
        password = os.environ.get(PASSWORD_ENV) or None
    else:
        key = ask("API key: ")
        secret = ask("API secret: ")
        password = ask("API passphrase: ") if needs_password else None
    problems = []
    if not key:
        problems.append(f"API key: empty (set {KEY_ENV} or type it when asked)")
    if not secret:
        problems.append(f"API secret: empty (set {SECRET_ENV} or type it when asked)")
    if needs_password and not password:
        problems.append(f"API passphrase: {exchange} needs one (set {PASSWORD_ENV})")
    if problems:
        raise InputError(problems)
    return Credentials(key, secret, password)


def _passphrase_prompt(confirm: bool) -> Callable[[], str]:
    def ask() -> str:
        if not sys.stdin.isatty():
            from crossmargin.sync.secrets import PASSPHRASE_ENV

            raise InputError(f"secrets passphrase: no terminal to ask on; set {PASSPHRASE_ENV} "
                             "to unlock the encrypted key file")
        first = _ask("Passphrase for the encrypted key file: ")
        if confirm:
            again = _ask("Repeat the passphrase: ")
            if again != first:
                raise InputError("secrets passphrase: the two entries differ")
        return first

    return ask


def open_secret_store(kind: str, *, creating: bool = False):  # -> SecretStore
    from crossmargin.sync.secrets import open_store, secrets_file_path

    confirm = creating and not secrets_file_path().exists()
    return open_store(kind, passphrase=_passphrase_prompt(confirm))


def _add(args: argparse.Namespace) -> int:
    from crossmargin.sync.config import AccountConfig, AccountRegistry
    from crossmargin.sync.secrets import default_store_kind

    settle = args.settle or ("BTC" if args.exchange == "binancecoinm" else "USDT")
    store_kind = args.secrets or default_store_kind()
    history = None
    if args.history_days is not None:
        if args.history_days <= 0:
            raise InputError(f"--history-days: must be > 0, got {args.history_days}")
        import time

        history = int(time.time() * 1000) - args.history_days * 86_400_000
    cfg = AccountConfig(
        label=args.label.strip(), exchange=args.exchange.strip().lower(), settle=settle.upper(),
        network=args.network, endpoint=_endpoint(args.endpoint), poll_seconds=args.poll,
        history_start=history, timeout_ms=args.timeout, secret_store=store_kind,
        options=_options(args.option),
    ).validate()
    registry = AccountRegistry()
    if any(a.label.lower() == cfg.label.lower() for a in registry.all()):
        raise InputError(f"account {cfg.label!r} already exists; remove it first")
    # the store first: never ask for keys that could not be kept
    store = open_secret_store(store_kind, creating=True) if store_kind != "memory" else None
    print(READ_ONLY_ADVICE)
    creds = read_credentials(cfg.exchange, from_env=args.keys_from_env)
    if store is not None:
        store.put(cfg.label, creds)
    registry.add(cfg)
    where = {"keyring": "keys stored in the OS keyring",
             "file": "keys stored in the encrypted key file",
             "memory": "keys kept in memory only: not written anywhere; you will be asked "
                       "for them again on every run"}[store_kind]
    print(f"Added {cfg.label!r} ({cfg.exchange}, {cfg.network}); {where}.")
    print(f"Check it with: crossmargin accounts test {cfg.label!r}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from crossmargin.sync.config import AccountRegistry
    from crossmargin.sync.status import StatusBoard

    accounts = AccountRegistry().all()
    if not accounts:
        print("No exchange accounts yet. Add one with: crossmargin accounts add LABEL "
              "--exchange binanceusdm")
        return 0
    board = StatusBoard(persist=False)
    for a in accounts:
        ep = "" if not a.endpoint else f" endpoint={a.endpoint}"
        net = "" if a.network == "live" else f" [{a.network}]"
        print(f"{a.label}: {a.exchange}{net} settle={a.settle} poll={a.poll_seconds}s "
              f"keys={a.secret_store}{ep}")
        print(f"    {board.get(a.label).describe()}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from crossmargin.sync.config import AccountRegistry
    from crossmargin.sync.status import StatusBoard

    registry = AccountRegistry()
    cfg = registry.get(args.label)
    if cfg.secret_store != "memory":
        try:
            open_secret_store(cfg.secret_store).delete(cfg.label)
        except InputError as exc:
            print(f"crossmargin: keys of {cfg.label!r} not deleted: {exc}", file=sys.stderr)
    registry.remove(cfg.label)
    StatusBoard().forget(cfg.label)
    print(f"Removed {cfg.label!r} and its stored keys; its journal history is kept. "
          "Also revoke the API key on the exchange if you no longer use it.")
    return 0


def credentials_for(cfg, *, memory_store=None):  # -> Credentials | None
    """The stored keys of ``cfg`` (asks for memory-only keys when a terminal is there)."""
    if cfg.secret_store == "memory":
        if memory_store is not None and memory_store.get(cfg.label):
            return memory_store.get(cfg.label)
        if not sys.stdin.isatty():
            return None
        print(f"{cfg.label}: keys are kept in memory only; enter them for this run.")
        creds = read_credentials(cfg.exchange, from_env=False)
        if memory_store is not None:
            memory_store.put(cfg.label, creds)
        return creds
    return open_secret_store(cfg.secret_store).get(cfg.label)


def _test(args: argparse.Namespace) -> int:
    from crossmargin.sync.config import AccountRegistry
    from crossmargin.sync.cycle import AccountClient
    from crossmargin.sync.exchanges import fetcher_for
    from crossmargin.sync.faults import Caller, RetryPolicy, SyncError, to_sync_error

    cfg = AccountRegistry().get(args.label)
    creds = credentials_for(cfg)
    if creds is None:
        raise InputError(f"{cfg.label}: no API keys stored; add the account again")
    client = AccountClient(cfg, creds)
    caller = Caller(client.exchange, RetryPolicy(attempts=2, base_delay=0.5, max_delay=2),
                    secrets=client.secrets)
    f = fetcher_for(cfg.exchange)(client.exchange, cfg, caller, {})
    try:
        f.load_markets()
        balances = f.balances()
    except SyncError as err:
        print(f"{cfg.label}: FAILED: {err}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"{cfg.label}: FAILED: {to_sync_error(exc, client.secrets)}", file=sys.stderr)
        return 1
    finally:
        client.close()
    settle = next((b for b in balances if b.currency == cfg.settle), None)
    shown = f"{settle.wallet_balance} {cfg.settle}" if settle else f"no {cfg.settle} balance"
    print(f"{cfg.label}: OK ({len(client.exchange.markets or {})} markets; wallet {shown})")
    return 0
