"""``crossmargin import|export|backup|restore``: moving journal data in and out.

::

    crossmargin import FILE.csv --account NAME [--preset generic|binance|bybit|okx|closed]
                       [--map FIELD=COLUMN ...] [--tz ZONE] [--dry-run] [--skip-bad-rows]
    crossmargin export positions|fills|funding FILE.csv [--account NAME] [position filters]
    crossmargin export json FILE.json
    crossmargin backup [FILE]
    crossmargin restore BACKUP --yes
    crossmargin restore --list

All take ``--db PATH``. An import is one transaction: re-importing a file adds nothing
(duplicates by exchange trade id, or by content when the file has no ids); a file with
bad rows is refused as a whole and every bad line is listed, unless ``--skip-bad-rows``
imports the good rows and lists the rest. ``--dry-run`` shows what would happen and
writes nothing. A closed-P&L export (entry price, exit price and PnL columns) is read
as closed positions: each row becomes an opening and a closing fill whose position nets
the file's PnL. ``backup`` uses SQLite's online backup, so it is safe while the desktop
app has the journal open; ``restore`` saves the current journal before replacing it.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from crossmargin.cli._journal_common import db_parent, dump_json, local, num, open_journal, table
from crossmargin.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    from crossmargin.storage.closed_import import CLOSED_ALIASES
    from crossmargin.storage.csv_import import FIELDS, PRESET_NAMES

    db = db_parent()
    imp = subparsers.add_parser(
        "import", parents=[db], help="import fills from a CSV file into a journal account",
        description=(__doc__ or "").replace("``", "").replace("::\n", "\n").strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--account", required=True, help="journal account label or id")
    imp.add_argument("--preset", default="auto", choices=["auto", *PRESET_NAMES],
                     help="column names to expect (default auto: detected from the header, "
                          "and said which)")
    imp.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                     help=f"use COLUMN for FIELD (fields: {', '.join(FIELDS)}; of a "
                          f"closed-P&L file: {', '.join(CLOSED_ALIASES)})")
    imp.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
    imp.add_argument("--skip-bad-rows", action="store_true",
                     help="import the good rows even when some rows are bad")
    imp.add_argument("--tz", default="UTC",
                     help="zone of times written without one: UTC (default), +08:00, "
                          "Asia/Singapore...")
    imp.add_argument("--decimal", choices=(".", ","), default=None,
                     help="the file's decimal separator (default: detected once from its "
                          "numbers; a number that could be read both ways is never guessed)")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(handler=_import)

    exp = subparsers.add_parser("export", parents=[db],
                                help="export positions, fills or funding to CSV, or all to JSON")
    exp.add_argument("what", choices=("positions", "fills", "funding", "json"))
    exp.add_argument("out", type=Path, help="file to write (replaced if it exists)")
    exp.add_argument("--account")
    exp.add_argument("--symbol", help="positions only")
    g = exp.add_mutually_exclusive_group()
    g.add_argument("--open", action="store_true", help="positions only: open ones")
    g.add_argument("--closed", action="store_true", help="positions only: closed ones")
    exp.add_argument("--tag", help="positions only")
    exp.add_argument("--from", dest="since", help="positions only: activity on/after")
    exp.add_argument("--to", dest="until", help="positions only: activity before")
    exp.add_argument("--side", choices=("long", "short"))
    exp.set_defaults(handler=_export)

    bk = subparsers.add_parser("backup", parents=[db],
                               help="copy the journal safely (works while the app runs)")
    bk.add_argument("out", nargs="?", type=Path,
                    help="backup file (default: backups/journal-<UTC time>.sqlite3 next to the "
                         "journal)")
    bk.set_defaults(handler=_backup)

    rs = subparsers.add_parser("restore", parents=[db],
                               help="replace the journal with a backup (saves the current one)")
    rs.add_argument("backup", type=Path, nargs="?")
    rs.add_argument("--yes", action="store_true", help="confirm replacing the journal")
    rs.add_argument("--list", action="store_true",
                    help="list the journal's backups, newest first, each checked")
    rs.set_defaults(handler=_restore)


def _import(args: argparse.Namespace) -> int:
    from crossmargin.storage.csv_import import parse_mapping, parse_zone

    mapping = parse_mapping(args.map)
    zone = parse_zone(args.tz)
    if not args.file.is_file():
        raise InputError(f"{args.file}: file not found")
    with open_journal(args) as j:
        rep = j.import_fills_csv(
            args.account, args.file, preset=args.preset, mapping=mapping or None,
            dry_run=args.dry_run, strict=not args.skip_bad_rows, naive_tz=zone,
            decimal=args.decimal,
        )
    if args.json:
        print(dump_json(rep))
        return 0
    verb = "Would import" if rep.dry_run else "Imported"
    print(f"{verb} {rep.new} new fills from {rep.file} ({rep.rows} rows; {rep.duplicates} "
          f"already in the journal; {len(rep.rejected)} rejected).")
    from crossmargin.storage.csv_import import columns_note

    if columns_note(rep.preset, rep.preset_reason):
        print(columns_note(rep.preset, rep.preset_reason))
    if rep.decimal_reason and rep.decimal_reason != "given":
        print(f"Numbers read with a {rep.decimal_reason}.")
    if rep.rejected:
        print("Rejected rows:")
        for r in rep.rejected[:200]:
            print(f"  line {r.line}: {r.reason}")
        if len(rep.rejected) > 200:
            print(f"  ... and {len(rep.rejected) - 200} more")
        if rep.dry_run and not args.skip_bad_rows:
            print("The real import refuses a file with bad rows; fix them or add --skip-bad-rows.")
    if rep.dry_run and rep.preview:
        print("\nFirst rows:")
        print(table(["Time", "Symbol", "Side", "Size", "Price", "Fee", "Trade id"], [[
            local(f.time), f.symbol, f.side, num(f.amount), num(f.price),
            f"{num(f.fee)} {f.fee_currency}".strip(), f.trade_id or "-",
        ] for f in rep.preview], right={3, 4}))
    return 0


def _export(args: argparse.Namespace) -> int:
    from crossmargin.storage import export

    with open_journal(args) as j:
        if args.what == "positions":
            from crossmargin.cli.journal_reports import position_filter as _filter

            n = export.export_positions_csv(j, args.out, _filter(args))
            print(f"Wrote {n} positions to {args.out}.")
        elif args.what == "fills":
            n = export.export_fills_csv(j, args.out, args.account)
            print(f"Wrote {n} fills to {args.out}.")
        elif args.what == "funding":
            n = export.export_funding_csv(j, args.out, args.account)
            print(f"Wrote {n} funding payments to {args.out}.")
        else:
            if args.account:
                raise InputError("export json writes the whole journal; drop --account")
            counts = export.export_json(j, args.out)
            print(f"Wrote the whole journal to {args.out} ({counts['position']} positions, "
                  f"{counts['fill']} fills).")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from crossmargin import paths
    from crossmargin.storage import backup_file

    db = (args.db or paths.default_journal_path()).expanduser()
    out = args.out
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if out is not None and not str(out).strip():
        raise InputError("backup: the file name is empty; give one, or none for the default")
    if out is None:
        out = paths.ensure(db.resolve().parent / "backups") / f"{db.stem}-{stamp}.sqlite3"
    elif out.is_dir():  # a folder: the backup goes inside it, under the usual name
        out = out / f"{db.stem}-{stamp}.sqlite3"
    dest = backup_file(db, out)
    print(f"Backed up {db} to {dest}.")
    return 0


def _list_backups(args: argparse.Namespace) -> int:
    from crossmargin import paths
    from crossmargin.cli._journal_common import local, table
    from crossmargin.storage.backups import list_backups

    db = (args.db or paths.default_journal_path()).expanduser()
    found = list_backups(db)
    if not found:
        print(f"No backups of {db} yet; make one with: crossmargin backup")
        return 0
    print(table(["Written", "Size", "State", "File"], [
        [local(b.written_at), f"{b.size / 1024:,.0f} KiB",
         ("sound" if b.restorable else b.problem or "sound"), str(b.path)] for b in found
    ], right={1}))
    return 0


def _restore(args: argparse.Namespace) -> int:
    if args.list:
        if args.backup is not None or args.yes:
            raise InputError("--list: lists the backups; give no BACKUP and no --yes with it")
        return _list_backups(args)
    if args.backup is None:
        raise InputError("give the BACKUP file to restore (crossmargin restore --list "
                         "shows them)")
    if not args.yes:
        raise InputError(
            f"restoring replaces everything in the journal with {args.backup} (the current "
            "content is saved first); add --yes to confirm"
        )
    from crossmargin.storage import Journal

    with Journal.open(args.db, create=False, allow_damaged=True) as j:  # restore mends damage
        changes = j.restore(args.backup)
        n = len(j.accounts())
    print(f"Restored {args.backup} ({n} accounts). The journal as it was before is saved "
          f"at {changes.saved_copy}.")
    return 0
