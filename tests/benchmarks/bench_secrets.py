"""Unlock time of the encrypted key file at its real cost (printed; not part of the suite).

Run: python3 tests/benchmarks/bench_secrets.py
The file's scrypt cost is RFC 7914's for file encryption (N=2**20, r=8, p=1): one
unlock per session, when the app or `crossmargin sync` first needs the keys.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from crossmargin.sync.config import Credentials
from crossmargin.sync.secrets import _SCRYPT, EncryptedFileStore


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "secrets.enc"
        t = time.perf_counter()
        EncryptedFileStore("correct horse battery staple", path).put("a", Credentials("k", "s"))
        create = time.perf_counter() - t
        times = []
        for _ in range(3):
            t = time.perf_counter()
            EncryptedFileStore("correct horse battery staple", path).get("a")
            times.append(time.perf_counter() - t)
    print(f"scrypt N=2**{_SCRYPT['n'].bit_length() - 1}, r={_SCRYPT['r']}, p={_SCRYPT['p']} "
          f"(memory {128 * _SCRYPT['r'] * _SCRYPT['n'] / 2**20:.0f} MiB)")
    print(f"create the file: {create:.2f} s; unlock: {statistics.median(times):.2f} s median of 3")


if __name__ == "__main__":
    main()
