"""Where API keys live: the OS keyring, an encrypted file, or memory for this run only.

* :class:`KeyringStore`: the OS keyring (macOS Keychain, Windows Credential Locker,
  Secret Service/KWallet on Linux) through ``keyring``.
* :class:`EncryptedFileStore`: when no usable keyring backend exists (headless Linux):
  ``config_dir()/secrets.enc``, a JSON envelope whose entries are AES-256-GCM sealed
  with a key derived from the user's passphrase by scrypt with the cost RFC 7914 gives
  for file encryption (N=2**20, r=8, p=1: about 3 s and 1 GiB once per unlock; 16-byte
  salt). Each entry's label is authenticated data, so entries cannot be swapped; the
  passphrase check entry also authenticates the scrypt parameters and salt, which are
  bounded before use (a forged huge N is refused, not run), and a file without its check
  is refused. Files of format /1 (N=2**15, unauthenticated parameters) are re-sealed at
  the new cost on their first unlock. The passphrase is never stored;
  ``CROSSMARGIN_SECRETS_PASSPHRASE`` may supply it for unattended runs.
* :class:`MemoryStore`: nothing written anywhere; gone when the process exits.

Secrets are never written in plain text, never logged, and never part of an exception
message (:class:`~crossmargin.sync.config.Credentials` hides them in ``repr``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets as _pysecrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from crossmargin import paths
from crossmargin.errors import InputError
from crossmargin.sync.config import Credentials
from crossmargin.sync.files import write_private_text

SERVICE = "CrossMargin"
PASSPHRASE_ENV = "CROSSMARGIN_SECRETS_PASSPHRASE"
STORE_KINDS = ("keyring", "file", "memory")
_SCRYPT = {"n": 2**20, "r": 8, "p": 1}  # RFC 7914 §2: file encryption
#: The parameters a file may carry (anything else is damage or tampering, never run).
_N_RANGE = (2**14, 2**21)
_R_RANGE = (1, 16)
_P_RANGE = (1, 4)
_SALT_RANGE = (16, 64)
_CHECK = "__passphrase_check__"
FORMAT = "crossmargin.secrets/2"
_FORMATS = ("crossmargin.secrets/1", FORMAT)


def _kdf_params(kdf: object, where: Path) -> tuple[bytes, int, int, int]:
    """(salt, n, r, p) of a file header, checked against the bounds."""
    bad = InputError(f"{where}: the encrypted key file's header is damaged or was altered; "
                     "restore the file from a backup, or remove it and add the keys again")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise bad
    try:
        salt = base64.b64decode(str(kdf["salt"]), validate=True)
        n, r, p = (kdf[k] for k in ("n", "r", "p"))
    except (KeyError, ValueError, TypeError):
        raise bad from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p)):
        raise bad
    if not (_N_RANGE[0] <= n <= _N_RANGE[1] and n & (n - 1) == 0
            and _R_RANGE[0] <= r <= _R_RANGE[1] and _P_RANGE[0] <= p <= _P_RANGE[1]
            and _SALT_RANGE[0] <= len(salt) <= _SALT_RANGE[1]):
        raise bad
    return salt, n, r, p


def _check_aad(fmt: str, salt: bytes, n: int, r: int, p: int) -> str:
    """Authenticated data of the passphrase check: in format /2 it binds the scrypt
    parameters and salt, so a changed header fails the check instead of being used."""
    if fmt == "crossmargin.secrets/1":
        return _CHECK
    return f"{_CHECK}|{fmt}|scrypt|{n}|{r}|{p}|{base64.b64encode(salt).decode()}"


class SecretStore(Protocol):
    kind: str

    def get(self, label: str) -> Credentials | None: ...

    def put(self, label: str, credentials: Credentials) -> None: ...

    def delete(self, label: str) -> None: ...


def _encode(c: Credentials) -> str:
    return json.dumps({"k": c.api_key, "s": c.secret, "p": c.password})


def _decode(text: str) -> Credentials:
    d = json.loads(text)
    return Credentials(api_key=d["k"], secret=d["s"], password=d.get("p"))


def keyring_usable() -> bool:
    """True when ``keyring`` has a real backend (not ``fail`` or an empty chainer)."""
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:  # pragma: no cover - keyring is a dependency
        return False
    try:
        kr = keyring.get_keyring()
    except Exception:
        return False
    if isinstance(kr, fail.Keyring):
        return False
    if isinstance(kr, chainer.ChainerBackend):
        return bool(kr.backends)
    return float(getattr(kr, "priority", 1) or 0) > 0


class KeyringStore:
    """Credentials in the OS keyring, one entry per account label."""

    kind = "keyring"

    def _username(self, label: str) -> str:
        return f"account:{label}"

    def get(self, label: str) -> Credentials | None:
        import keyring

        try:
            text = keyring.get_password(SERVICE, self._username(label))
        except Exception as exc:
            raise InputError(
                f"keyring: could not read the keys of {label!r} ({type(exc).__name__}); "
                "unlock your keyring or re-add the account"
            ) from None
        return _decode(text) if text else None

    def put(self, label: str, credentials: Credentials) -> None:
        import keyring

        try:
            keyring.set_password(SERVICE, self._username(label), _encode(credentials))
        except Exception as exc:
            raise InputError(
                f"keyring: could not save the keys of {label!r} ({type(exc).__name__}); "
                "use the encrypted file (--secrets file) or memory-only (--secrets memory)"
            ) from None

    def delete(self, label: str) -> None:
        import keyring
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(SERVICE, self._username(label))


class MemoryStore:
    """Credentials for this process only (nothing on disk)."""

    kind = "memory"

    def __init__(self) -> None:
        self._items: dict[str, Credentials] = {}
        self._lock = threading.Lock()

    def get(self, label: str) -> Credentials | None:
        with self._lock:
            return self._items.get(label)

    def put(self, label: str, credentials: Credentials) -> None:
        with self._lock:
            self._items[label] = credentials

    def delete(self, label: str) -> None:
        with self._lock:
            self._items.pop(label, None)


def secrets_file_path() -> Path:
    return paths.config_dir() / "secrets.enc"


class EncryptedFileStore:
    """Credentials sealed with AES-256-GCM under a scrypt-derived key.

    ``passphrase`` is asked once (by the caller) and kept only as the derived key.
    A wrong passphrase raises :class:`InputError`; nothing is overwritten then.
    """

    kind = "file"

    def __init__(self, passphrase: str, path: Path | None = None) -> None:
        if not passphrase:
            raise InputError("secrets passphrase: must not be empty")
        self.path = path or secrets_file_path()
        self._lock = threading.Lock()
        doc = self._read()
        if doc is None:  # a new file at today's cost
            self._doc = self._new_doc()
            self._key = self._derive(passphrase, *_kdf_params(self._doc["kdf"], self.path))
            self._doc["entries"][_CHECK] = self._seal_check()
            self._write()
            return
        fmt = doc.get("format")
        if fmt not in _FORMATS:
            raise InputError(f"{self.path}: not a CrossMargin key file this version reads "
                             f"(format {str(fmt)[:40]!r})")
        salt, n, r, p = _kdf_params(doc.get("kdf"), self.path)
        check = doc["entries"].get(_CHECK)
        if not isinstance(check, dict):
            raise InputError(
                f"{self.path}: the passphrase check is missing, so no passphrase can be "
                "verified: the file is damaged or was altered; restore it from a backup, or "
                "remove it and add the keys again")
        self._key = self._derive(passphrase, salt, n, r, p)
        self._doc = doc
        try:
            self._open(_check_aad(fmt, salt, n, r, p), check)
        except InputError:
            raise InputError(
                f"{self.path}: wrong passphrase for the encrypted key file (or its header "
                "was altered)") from None
        if fmt != FORMAT:
            self._reseal(passphrase)

    @staticmethod
    def _new_doc() -> dict:
        salt = _pysecrets.token_bytes(16)
        return {"format": FORMAT, "kdf": {"name": "scrypt", **_SCRYPT,
                "salt": base64.b64encode(salt).decode()}, "entries": {}}

    def _seal_check(self) -> dict[str, str]:
        salt, n, r, p = _kdf_params(self._doc["kdf"], self.path)
        return self._seal(_check_aad(self._doc["format"], salt, n, r, p), "ok")

    def _reseal(self, passphrase: str) -> None:
        """Re-encrypt every entry under a new salt at today's cost and format (an older
        file, unlocked with the right passphrase)."""
        plain = {label: self._open(label, entry)
                 for label, entry in self._doc["entries"].items() if label != _CHECK}
        self._doc = self._new_doc()
        self._key = self._derive(passphrase, *_kdf_params(self._doc["kdf"], self.path))
        self._doc["entries"][_CHECK] = self._seal_check()
        for label, text in plain.items():
            self._doc["entries"][label] = self._seal(label, text)
        self._write()

    @staticmethod
    def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())

    def _seal(self, label: str, text: str) -> dict[str, str]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = _pysecrets.token_bytes(12)
        ct = AESGCM(self._key).encrypt(nonce, text.encode(), label.encode())
        return {"nonce": base64.b64encode(nonce).decode(), "ct": base64.b64encode(ct).decode()}

    def _open(self, label: str, entry: dict[str, str]) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            nonce = base64.b64decode(entry["nonce"])
            ct = base64.b64decode(entry["ct"])
            return AESGCM(self._key).decrypt(nonce, ct, label.encode()).decode()
        except (InvalidTag, KeyError, ValueError, TypeError):
            raise InputError(f"{self.path}: entry {label!r} cannot be decrypted") from None

    def _read(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            if self.path.stat().st_size > 4 * 1024 * 1024:
                raise ValueError("too large")
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            raise InputError(f"{self.path}: unreadable secrets file") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("entries"), dict):
            raise InputError(f"{self.path}: not a CrossMargin secrets file")
        return doc

    def _write(self) -> None:
        write_private_text(self.path, json.dumps(self._doc, indent=1), prefix=".secrets-")

    def get(self, label: str) -> Credentials | None:
        with self._lock:
            entry = self._doc["entries"].get(label)
            return _decode(self._open(label, entry)) if entry else None

    def put(self, label: str, credentials: Credentials) -> None:
        with self._lock:
            self._doc["entries"][label] = self._seal(label, _encode(credentials))
            self._write()

    def delete(self, label: str) -> None:
        with self._lock:
            if self._doc["entries"].pop(label, None) is not None:
                self._write()


def open_store(
    kind: str,
    *,
    passphrase: Callable[[], str] | None = None,
    memory: MemoryStore | None = None,
) -> SecretStore:
    """The store named ``kind`` (``keyring``, ``file``, ``memory``).

    ``passphrase`` is called only for ``file`` when ``CROSSMARGIN_SECRETS_PASSPHRASE`` is
    unset. Raises :class:`InputError` when the keyring has no usable backend.
    """
    if kind == "keyring":
        if not keyring_usable():
            raise InputError(
                "keyring: no usable OS keyring on this machine; choose --secrets file "
                "(encrypted with a passphrase) or --secrets memory (this run only)"
            )
        return KeyringStore()
    if kind == "file":
        phrase = os.environ.get(PASSPHRASE_ENV) or (passphrase() if passphrase else "")
        if not phrase:
            raise InputError(
                f"secrets passphrase: needed to unlock {secrets_file_path()}, and there is "
                f"no terminal to ask on: set {PASSPHRASE_ENV} for unattended runs"
            )
        return EncryptedFileStore(phrase)
    if kind == "memory":
        return memory or MemoryStore()
    raise InputError(f"secrets: {kind!r} must be one of {', '.join(STORE_KINDS)}")


def default_store_kind() -> str:
    """``keyring`` when usable, else ``file`` (the user may still choose ``memory``)."""
    return "keyring" if keyring_usable() else "file"


class CredentialResolver:
    """Credentials per account from the store each account names (for the sync service).

    Opens each store once (the encrypted file asks ``passphrase`` once, or reads
    ``CROSSMARGIN_SECRETS_PASSPHRASE``); memory-only keys come from ``memory``. Returns
    ``None`` for an account without keys (the service then says "needs attention").
    Thread-safe: the service calls it from worker threads.
    """

    def __init__(self, *, passphrase: Callable[[], str] | None = None,
                 memory: MemoryStore | None = None) -> None:
        self.passphrase = passphrase
        self.memory = memory or MemoryStore()
        self._stores: dict[str, SecretStore] = {}
        self._lock = threading.Lock()

    def store(self, kind: str) -> SecretStore:
        with self._lock:
            if kind not in self._stores:
                self._stores[kind] = open_store(kind, passphrase=self.passphrase,
                                                memory=self.memory)
            return self._stores[kind]

    def __call__(self, config: object) -> Credentials | None:
        kind = str(getattr(config, "secret_store", "keyring"))
        label = str(getattr(config, "label", ""))
        return self.store(kind).get(label)
