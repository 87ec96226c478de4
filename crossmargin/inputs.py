"""Reading files a user points at, with bounds: a CSV export, a scenario, a tier table.

:func:`read_text` refuses anything larger than its limit before reading it whole (so
``/dev/zero`` or a 20 GB file end in a message, not in memory exhaustion), reads UTF-8
(a BOM tolerated) and turns every OS and decoding failure into an
:class:`~crossmargin.errors.InputError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from crossmargin.errors import InputError

#: Largest CSV export read (an exchange's full trade history is a few hundred MB at most).
CSV_LIMIT = 512 * 1024 * 1024
#: Largest JSON document read (scenario files, tier tables).
JSON_LIMIT = 64 * 1024 * 1024


def read_text(path: Path | str, *, limit: int, what: str = "file") -> str:
    """The text of ``path`` (UTF-8, BOM stripped), at most ``limit`` bytes."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            if p.is_file():
                size = os.fstat(fh.fileno()).st_size
                if size > limit:
                    raise InputError(
                        f"{p}: {size / 1e6:,.0f} MB is more than a {what} can be "
                        f"({limit / 1e6:,.0f} MB at most); is it the right file?")
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a folder, not a {what}") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(f"{p}: more than {limit / 1e6:,.0f} MB; not a {what} (is it the "
                         "right file?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it "
                         f"as UTF-8 and try again") from None


__all__ = ["CSV_LIMIT", "JSON_LIMIT", "read_text"]
