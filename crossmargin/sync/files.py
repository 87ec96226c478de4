"""Private files of the sync layer (accounts, encrypted secrets, status) written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from crossmargin import paths


def write_private_text(path: Path, text: str, *, prefix: str, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8) all at once, readable by its owner only.

    The text goes to a temporary file in the same folder (created if missing) whose
    permissions are set to 0600 before any data is written, then renamed over ``path``;
    a failure leaves the old file untouched and no temporary file behind. ``durable``
    flushes the data to disk (fsync) before the rename; leave it off only for files
    that can be rebuilt (a status cache).
    """
    folder = paths.ensure(path.parent)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)  # permissions before any data
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
