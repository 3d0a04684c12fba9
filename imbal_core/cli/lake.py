"""``imbal lake add LAKE EXPORT... | --table GLOB --map K=V,...`` and ``imbal lake info LAKE [--json]``."""
from __future__ import annotations

import argparse

from ..io import DESCRIPTIONS
from ._common import collector_paused, format_table, print_json, reader_options

HELP = "a Parquet lake for data beyond memory: add exports or register tables, show what it holds"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lake", help=HELP,
                       description="A lake is a folder of Parquet tables that the lake engine reads out of core. "
                                   "`add` copies an export into it (or registers your own Parquet table); "
                                   "`info` shows its sources, rows, classes and conditions.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    a = actions.add_parser("add", help="add an export (parsed by imbal's readers) or register a Parquet table",
                           description="Add an export to LAKE as one source (several PATHs make one export, as for "
                                       "`imbal summary`), or with --table register Parquet files without copying "
                                       "them. Class names are unified by name; adding the same content twice does "
                                       "nothing. A LAKE folder that does not exist becomes a new lake.")
    a.add_argument("lake", metavar="LAKE", help="the lake folder")
    a.add_argument("paths", nargs="*", metavar="PATH", help="export file(s) or folder(s)")
    a.add_argument("--format", default="auto", choices=["auto", *DESCRIPTIONS],
                   help="input format (default: sniffed from the files)")
    a.add_argument("--conditions", metavar="FILE", help="conditions sidecar (CSV / Parquet keyed by file name or image id)")
    a.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="a reader option, e.g. image_column=file (repeatable)")
    a.add_argument("--no-cache", action="store_true", help="parse again even when a cached parse exists")
    a.add_argument("--table", metavar="GLOB", help="register these Parquet files (one row per annotation) instead of an export")
    a.add_argument("--map", metavar="K=V,...", dest="mapping",
                   help="with --table: lake column = table column, e.g. image_id=frame_id,category=label,split=subset; "
                        "other keys are conditions (time_of_day=tod)")
    a.add_argument("--name", help="the source's display name (default: from the path)")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.set_defaults(handler=run_add)

    i = actions.add_parser("info", help="sources, rows, classes and conditions of a lake",
                           description="Check LAKE and print its sources, rows, classes and conditions.")
    i.add_argument("lake", metavar="LAKE", help="the lake folder")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.set_defaults(handler=run_info)


def run_add(args: argparse.Namespace) -> int:
    from ..lake.manifest import LakeError
    from ..lake.store import add, register_table

    if args.table is not None:
        if args.paths:
            raise LakeError(f"give either export PATHs or `--table`, not both. Got PATHs {args.paths} and --table {args.table!r}.")
        if not args.mapping:
            raise LakeError("`--table` needs `--map`, e.g. --map image_id=frame_id,category=label.")
        if args.conditions or args.opt or args.format != "auto":
            raise LakeError("`--conditions`, `--opt` and `--format` apply to exports, not to `--table` "
                            "(map condition columns with --map instead).")
        result = register_table(args.lake, args.table, args.mapping, name=args.name)
    else:
        if args.mapping:
            raise LakeError("`--map` applies to `--table` only.")
        if not args.paths:
            raise LakeError("give the export to add (PATH...) or a table (`--table GLOB --map ...`).")
        with collector_paused():
            result = add(args.lake, args.paths, format=args.format, conditions=args.conditions, name=args.name,
                         cache=not args.no_cache, **reader_options(args.opt))
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.message)
    return 0


def run_info(args: argparse.Namespace) -> int:
    from ..lake.store import info

    lake = info(args.lake)
    if args.json:
        print_json(lake.to_dict())
        return 0
    print(f"lake {lake.path} (format {lake.version}): {len(lake.sources):,} sources, {lake.images:,} images, "
          f"{lake.annotations:,} annotations, {len(lake.classes):,} classes")
    print(f"conditions: {', '.join(lake.conditions) or 'none'}")
    if lake.sources:
        rows = [[s.id, s.name, s.kind, s.format, s.images, s.annotations, ", ".join(s.conditions) or "-", s.added]
                for s in lake.sources]
        print(format_table(["id", "name", "kind", "format", "images", "annotations", "conditions", "added"], rows))
    return 0
