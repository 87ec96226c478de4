"""The ``crossmargin`` command line: one module per command group."""

from __future__ import annotations

import re


def help_text(doc: str | None) -> str:
    """A module docstring as ``--help`` text: reST markup removed, layout kept."""
    text = (doc or "").strip("\n")
    text = re.sub(r"^::\n", "", text, flags=re.MULTILINE)
    text = text.replace("``", "").replace("**", "")
    return re.sub(r"\n{3,}", "\n\n", text)
