"""Secrets: keyring detection, the encrypted file, memory-only; and the proof that a
distinctive fake secret appears in no file, log line or exception text after a sync."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from crossmargin.cli.main import main
from crossmargin.errors import InputError
from crossmargin.sync.config import Credentials
from crossmargin.sync.faults import scrub, to_sync_error
from crossmargin.sync.secrets import (
    EncryptedFileStore,
    MemoryStore,
    keyring_usable,
    open_store,
)
from tests.sync.conftest import FAST, server_for

LEAK = {
    "binanceusdm": Credentials("AKzebraQ7leakKEYbn51f0", "SKzebraQ7leakSECRETbn9a3c"),
    "bybit": Credentials("AKzebraQ7leakKEYby51f0", "SKzebraQ7leakSECRETby9a3c"),
    "okx": Credentials("AKzebraQ7leakKEYok51f0", "SKzebraQ7leakSECRETok9a3c",
                       "PPzebraQ7leakPASSok77"),
}


def test_encrypted_file_roundtrip_and_wrong_passphrase(tmp_path):
    path = tmp_path / "secrets.enc"
    store = EncryptedFileStore("pass phrase 1", path)
    creds = Credentials("k-zebra", "s-zebra", "p-zebra")
    store.put("acct", creds)
    raw = path.read_bytes()
    for v in creds.values():
        assert v.encode() not in raw
    doc = json.loads(raw)
    assert doc["kdf"]["name"] == "scrypt" and doc["kdf"]["n"] >= 2**14
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = EncryptedFileStore("pass phrase 1", path)
    assert again.get("acct") == creds
    assert again.get("other") is None
    with pytest.raises(InputError, match="wrong passphrase"):
        EncryptedFileStore("wrong", path)
    # an entry moved to another label does not decrypt (the label is authenticated data)
    doc["entries"]["evil"] = doc["entries"]["acct"]
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="cannot be decrypted"):
        EncryptedFileStore("pass phrase 1", path).get("evil")
    again.delete("acct")
    assert EncryptedFileStore("pass phrase 1", path).get("acct") is None


def test_credentials_never_print():
    c = Credentials("k-zebra", "s-zebra", "p-zebra")
    assert "zebra" not in repr(c) and "zebra" not in str(c) and "zebra" not in f"{c}"


def test_headless_keyring_is_detected_and_memory_store_works(monkeypatch):
    import keyring
    from keyring.backends import chainer, fail

    monkeypatch.setattr(keyring, "get_keyring", fail.Keyring)
    assert not keyring_usable()
    empty = chainer.ChainerBackend()
    monkeypatch.setattr(type(empty), "backends", property(lambda self: []))
    monkeypatch.setattr(keyring, "get_keyring", lambda: empty)
    assert not keyring_usable()
    with pytest.raises(InputError, match="no usable OS keyring"):
        open_store("keyring")
    mem = open_store("memory")
    assert isinstance(mem, MemoryStore)
    mem.put("a", Credentials("k", "s"))
    assert mem.get("a") == Credentials("k", "s")


def test_keyring_store_with_a_real_backend(monkeypatch):
    """A working in-memory keyring backend stands in for the OS one."""
    import keyring
    from keyring.backend import KeyringBackend

    class DictKeyring(KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.store = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    kr = DictKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: kr)
    monkeypatch.setattr(keyring, "get_password", kr.get_password)
    monkeypatch.setattr(keyring, "set_password", kr.set_password)
    monkeypatch.setattr(keyring, "delete_password", kr.delete_password)
    assert keyring_usable()
    store = open_store("keyring")
    store.put("acct", Credentials("k1", "s1", "p1"))
    assert store.get("acct") == Credentials("k1", "s1", "p1")
    store.delete("acct")
    assert store.get("acct") is None


def test_scrub_removes_keys_signatures_and_headers():
    text = ("binanceusdm GET http://h/fapi/v3/account?timestamp=1&recvWindow=5000&signature="
            "abcdef0123 401 {'X-MBX-APIKEY': 'AKzebra', 'OK-ACCESS-SIGN': 'zzz'} AKzebra")
    out = scrub(text, ["AKzebra"])
    assert "AKzebra" not in out and "abcdef0123" not in out and "zzz" not in out
    assert "http://h/fapi/v3/account" in out
    err = to_sync_error(RuntimeError("boom SKzebra " + "x" * 2000), ["SKzebra"], "what")
    assert "SKzebra" not in str(err) and len(str(err)) < 600


def _all_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit", "okx"])
def test_secret_appears_nowhere_after_full_sync(exchange, tmp_path, monkeypatch, capsys,
                                                caplog):
    home = tmp_path / "home"
    creds = LEAK[exchange]
    monkeypatch.setenv("CROSSMARGIN_HOME", str(home))
    monkeypatch.setenv("CROSSMARGIN_SECRETS_PASSPHRASE", "leak-test passphrase")
    monkeypatch.setenv("CROSSMARGIN_API_KEY", creds.api_key)
    monkeypatch.setenv("CROSSMARGIN_API_SECRET", creds.secret)
    monkeypatch.setenv("CROSSMARGIN_API_PASSPHRASE", creds.password or "")
    monkeypatch.setattr("crossmargin.cli.sync.RETRY_POLICY", FAST)
    caplog.set_level(logging.DEBUG)  # every logger, including ccxt, urllib3 and requests
    texts: list[str] = []
    with server_for(exchange, creds=creds) as srv:
        assert main(["accounts", "add", "leak", "--exchange", exchange, "--endpoint",
                     srv.base_url, "--secrets", "file", "--keys-from-env",
                     "--timeout", "1000"]) == 0
        # faults whose error texts carry URLs, signatures and the echoed API key
        balance_path = {"binanceusdm": "/fapi/v3/account", "bybit": "/v5/account/wallet-balance",
                        "okx": "/api/v5/account/balance"}[exchange]
        srv.inject(path=balance_path, kind="echo", status=400, count=10)
        assert main(["sync", "--once"]) == 1
        srv.clear_faults()
        srv.inject(path=balance_path, kind="status", status=500, count=10,
                   body="<html>500 at " + srv.base_url + "/?apikey=" + creds.api_key + "</html>")
        assert main(["sync", "--once"]) == 1
        srv.clear_faults()
        srv.inject(path=balance_path, kind="delay", delay=1.5)
        assert main(["sync", "--once"]) == 0  # timeout, retried
        assert main(["accounts", "test", "leak"]) == 0
        srv.api_key = "revoked"
        assert main(["sync", "--once"]) == 1  # authentication refused
        assert main(["status"]) == 1
        assert main(["accounts", "list"]) == 0
        cap = capsys.readouterr()
        texts += [cap.out, cap.err, caplog.text]
        texts += [r.getMessage() for r in caplog.records]
        texts += [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    assert "needs attention" in cap.out
    status = json.loads((home / "data" / "sync_status.json").read_text())
    texts.append(json.dumps(status))
    files = _all_bytes(home)
    assert any(p.name == "journal.sqlite3" for p, _ in files)
    for value in creds.values():
        for t in texts:
            assert value not in t
        for p, data in files:
            assert value.encode() not in data, f"{value} found in {p}"


def test_credential_resolver_opens_each_store_once(tmp_path, monkeypatch):
    from crossmargin.sync.config import AccountConfig
    from crossmargin.sync.secrets import CredentialResolver

    monkeypatch.setenv("CROSSMARGIN_HOME", str(tmp_path))
    monkeypatch.delenv("CROSSMARGIN_SECRETS_PASSPHRASE", raising=False)
    EncryptedFileStore("pp").put("a", Credentials("ka", "sa"))
    asked = []
    res = CredentialResolver(passphrase=lambda: asked.append(1) or "pp")
    res.memory.put("m", Credentials("km", "sm"))
    a = AccountConfig("a", "bybit", secret_store="file")
    m = AccountConfig("m", "bybit", secret_store="memory")
    assert res(a) == Credentials("ka", "sa") and res(a) == Credentials("ka", "sa")
    assert res(m) == Credentials("km", "sm")
    assert res(AccountConfig("zz", "bybit", secret_store="file")) is None
    assert asked == [1]


def test_the_default_cost_is_rfc7914s_for_files():
    """N=2**20, r=8, p=1 (RFC 7914 §2, file encryption); the suite itself runs at the
    lowest accepted cost (tests/conftest.py), unlock time: tests/benchmarks/bench_secrets.py."""
    import importlib

    import crossmargin.sync.secrets as mod

    fresh = importlib.reload(mod)
    try:
        assert fresh._SCRYPT == {"n": 2**20, "r": 8, "p": 1}
    finally:
        importlib.reload(mod)


@pytest.mark.parametrize(("field", "value"), [
    ("n", 2**40), ("n", 2**30), ("n", 1000), ("n", 2**13), ("n", "16384"), ("r", 10**6),
    ("p", 0), ("p", 2**20), ("salt", "c2hvcnQ="), ("salt", "!!!"), ("name", "pbkdf2"),
])
def test_forged_or_damaged_parameters_are_refused_not_run(tmp_path, field, value):
    path = tmp_path / "secrets.enc"
    EncryptedFileStore("pass phrase 1", path).put("acct", Credentials("k", "s"))
    doc = json.loads(path.read_text())
    doc["kdf"][field] = value
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="header is damaged or was altered"):
        EncryptedFileStore("pass phrase 1", path)


def test_parameters_are_authenticated_by_the_check(tmp_path):
    """A header changed within the bounds (weaker r, another salt) fails the check."""
    path = tmp_path / "secrets.enc"
    EncryptedFileStore("pass phrase 1", path).put("acct", Credentials("k", "s"))
    doc = json.loads(path.read_text())
    doc["kdf"]["r"] = 1
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"wrong passphrase .*header was altered"):
        EncryptedFileStore("pass phrase 1", path)


def test_a_file_without_its_check_is_refused(tmp_path):
    path = tmp_path / "secrets.enc"
    EncryptedFileStore("pass phrase 1", path).put("acct", Credentials("k", "s"))
    doc = json.loads(path.read_text())
    del doc["entries"]["__passphrase_check__"]
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="passphrase check is missing"):
        EncryptedFileStore("any passphrase at all", path)


def test_a_format_1_file_is_resealed_at_the_new_cost(tmp_path):
    """A file written by the previous version (N=2**15, unauthenticated header) still
    unlocks, and is re-sealed as format /2 with a new salt."""
    import base64

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    salt = b"0123456789abcdef"
    key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(b"old phrase")

    def seal(label: str, text: str) -> dict:
        nonce = b"n" * 12
        ct = AESGCM(key).encrypt(nonce, text.encode(), label.encode())
        return {"nonce": base64.b64encode(nonce).decode(), "ct": base64.b64encode(ct).decode()}

    path = tmp_path / "secrets.enc"
    path.write_text(json.dumps({
        "format": "crossmargin.secrets/1",
        "kdf": {"name": "scrypt", "n": 2**15, "r": 8, "p": 1,
                "salt": base64.b64encode(salt).decode()},
        "entries": {"__passphrase_check__": seal("__passphrase_check__", "ok"),
                    "acct": seal("acct", json.dumps({"k": "key1", "s": "sec1", "p": None}))},
    }))
    store = EncryptedFileStore("old phrase", path)
    assert store.get("acct") == Credentials("key1", "sec1")
    doc = json.loads(path.read_text())
    assert doc["format"] == "crossmargin.secrets/2" and doc["kdf"]["salt"] != \
        base64.b64encode(salt).decode()
    assert EncryptedFileStore("old phrase", path).get("acct") == Credentials("key1", "sec1")


def test_no_terminal_and_no_passphrase_names_the_variable(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("CROSSMARGIN_SECRETS_PASSPHRASE", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    with pytest.raises(InputError, match="CROSSMARGIN_SECRETS_PASSPHRASE"):
        open_store("file", passphrase=None)
