"""Entry point of the ``crossmargin`` command.

Each command group lives in its own module exposing ``register(subparsers)``;
handlers return an exit code. Expected failures (:class:`InputError` and other
:class:`CrossMarginError`) print one line per problem to stderr and exit 2 —
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from crossmargin import __version__
from crossmargin.errors import CrossMarginError, InputError

# Modules under crossmargin.cli that register sub-commands, in --help order.
COMMAND_MODULES: tuple[str, ...] = ("whatif", "journal", "io", "accounts", "sync")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BUG = 1  # an unexpected error (a bug): one line on stderr, details in the log


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # pragma: no cover - argparse plumbing
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="crossmargin",
        description=(
            "CrossMargin: exact cross/isolated margin, liquidation prices and what-if "
            "scenarios for crypto derivatives, plus a local trading journal."
        ),
    )
    parser.add_argument("--version", action="version", version=f"crossmargin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"crossmargin.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or EXIT_OK)
    except InputError as exc:
        for line in exc.problems:
            print(f"crossmargin: {line}", file=sys.stderr)
        return EXIT_USAGE
    except CrossMarginError as exc:
        print(f"crossmargin: {exc}", file=sys.stderr)
        from crossmargin.storage.db import JournalCorruptError

        if isinstance(exc, JournalCorruptError) and exc.path is not None:
            print(f"crossmargin: `crossmargin restore --list --db {exc.path}` lists the "
                  "backups (newest first, each checked); `crossmargin restore BACKUP --yes "
                  f"--db {exc.path}` restores one", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("crossmargin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # the file system or the OS refused: say what, no traceback
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"crossmargin: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line for the user, the details in the log
        import logging

        logging.getLogger("crossmargin").exception("unexpected error in %s", args.command)
        print(f"crossmargin: unexpected error ({type(exc).__name__}: {str(exc)[:200]}); this "
              "is a bug in CrossMargin, please report it with the command you ran",
              file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
