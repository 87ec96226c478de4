"""Errors as the app shows them: the user-facing lines of an exception."""

from __future__ import annotations

from crossmargin.errors import CrossMarginError, InputError


def problems_of(exc: BaseException) -> list[str]:
    """The lines to show for ``exc``: an InputError's problems, a CrossMargin or OS
    error's message, or (a bug) the exception's type and message."""
    if isinstance(exc, InputError):
        return list(exc.problems)
    if isinstance(exc, CrossMarginError | OSError):
        return [str(exc)]
    return [f"{type(exc).__name__}: {exc}"]
