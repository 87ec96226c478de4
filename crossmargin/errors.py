"""Errors that reach a user: each carries plain-language problems, never a traceback."""

from __future__ import annotations

from collections.abc import Iterable


class CrossMarginError(Exception):
    """Base class of every error the core raises on purpose."""


class InputError(CrossMarginError):
    """Bad input (a file, a form, a CLI argument, an exchange reply).

    ``problems`` holds one line per problem, each naming where it is, e.g.
    ``positions[2].leverage: must be > 0, got -5``.
    """

    def __init__(self, problems: Iterable[str] | str) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))
