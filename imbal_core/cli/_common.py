"""Helpers shared by the commands: the input arguments, loading, JSON and table output."""
from __future__ import annotations

import argparse
import gc
import math
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from ..dataset import Dataset
from ..downloads import json_bytes
from ..io import DESCRIPTIONS, load


def add_input_arguments(parser: argparse.ArgumentParser, paths_required: bool = True) -> None:
    parser.add_argument("paths", nargs="+" if paths_required else "*", metavar="PATH",
                        help="export file(s) or folder(s)")
    parser.add_argument("--format", default="auto", choices=["auto", *DESCRIPTIONS],
                        help="input format (default: sniffed from the files)")
    parser.add_argument("--conditions", metavar="FILE", help="conditions sidecar (CSV / Parquet keyed by file name or image id)")
    parser.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                        help="a reader option, e.g. image_column=file or names_file=classes.txt (repeatable)")
    parser.add_argument("--no-cache", action="store_true", help="parse again even when a cached parse exists")


#: Why a command that needs an export's rows cannot run on a lake (the rest say it in general).
_ROWS_NEEDED = {
    "eval": "evaluation on lakes is out of scope: it matches each prediction to the annotations' boxes, which a "
            "lake does not keep",
    "split": "making new splits needs every image's record (split health of a lake is a library call, "
             "imbal_core.splits.check_splits, and its stratification rule is in `imbal check`)",
    "gallery": "it draws the annotations on the images, which a lake does not keep",
    "quota": "a snapshot counts annotations by their annotation dates and annotators, which a lake does not keep",
}


def add_lake_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--memory``, ``--master``: how a lake given as PATH is read (commands that take one)."""
    group = parser.add_argument_group("a lake as PATH", "PATH may be a lake (`imbal lake add`): its counts are "
                                                         "computed by the lake engine, out of core")
    group.add_argument("--engine", choices=["duckdb", "spark"], default=None,
                       help="the lake engine: duckdb (embedded, the default) or spark (pip install 'imbal[spark]')")
    group.add_argument("--memory", metavar="SIZE", default=None,
                       help="the lake engine's memory limit, e.g. 500MB, 1GB (the default), 4GB; also bounds the "
                            "per-image rows a step may read")
    group.add_argument("--master", metavar="URL", default=None,
                       help="Spark's master with --engine spark (default local[2]; a cluster: spark://host:7077)")


def lake_path(args: argparse.Namespace) -> str | None:
    """The lake the command's PATHs name (one PATH that is a lake folder), or None."""
    from ..lake.manifest import is_lake

    lakes = [p for p in getattr(args, "paths", None) or [] if is_lake(p)]
    if not lakes:
        return None
    if len(args.paths) > 1:
        raise ValueError(f"A lake is read alone: give one PATH when it is a lake. Got {len(args.paths)} PATHs, of "
                         f"which {lakes[0]!r} is a lake (add several exports to one lake with `imbal lake add`).")
    return lakes[0]


def _open_lake(args: argparse.Namespace, path: str):
    command = getattr(args, "command", None) or "this command"
    if not hasattr(args, "engine"):
        why = _ROWS_NEEDED.get(command, "it needs the export's rows (annotations, boxes, files), and a lake answers "
                                        "with counts")
        raise ValueError(f"`imbal {command}` is not available on a lake ({path}): {why}. Run it on the export "
                         "itself; on a lake use imbal summary | check | strata | plan | hierarchy.")
    given = [f"--{name}" for name in ("format", "conditions", "opt")
             if getattr(args, name, None) not in (None, "auto", [])]
    if given:
        raise ValueError(f"{' '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to reading an export; {path} is "
                         "a lake, read as it was added (give them to `imbal lake add`).")
    from ..lake.dataset import open_dataset

    return open_dataset(path, engine=args.engine, memory=args.memory, master=args.master)


def reader_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"`--opt` must be KEY=VALUE. Got {pair!r} instead.")
        options[key.strip()] = _typed(value.strip())
    return options


def _typed(text: str) -> object:
    """``true`` / ``false`` as booleans, whole numbers as int; anything else stays text."""
    if text.lower() in ("true", "yes"):
        return True
    if text.lower() in ("false", "no"):
        return False
    if text.lstrip("-").isdigit():
        return int(text)
    return text


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block (then as it was). Loading and counting make few
    objects that could form cycles, while each collection walks every object of the imported
    libraries again (pyarrow imports pandas): 0.05-0.15 s of an `imbal summary` of the bench file."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_dataset(args: argparse.Namespace) -> Dataset:
    """The command's input (the collector paused, see :func:`collector_paused`): a lake
    (:class:`~imbal_core.lake.dataset.LakeDataset`) when PATH is one and the command takes lakes
    (:func:`add_lake_arguments`), else the parsed export."""
    lake = lake_path(args)
    if lake is not None:
        return _open_lake(args, lake)
    lake_only = [f"--{name}" for name in ("engine", "memory", "master") if getattr(args, name, None) is not None]
    if lake_only:
        raise ValueError(f"{' '.join(lake_only)} appl{'ies' if len(lake_only) == 1 else 'y'} to a lake; "
                         f"{', '.join(args.paths)} is not one (a folder made by `imbal lake add`).")
    with collector_paused():
        return load(args.paths, format=args.format, conditions=args.conditions, cache=not args.no_cache,
                    **reader_options(args.opt))


def print_json(obj: Any) -> None:
    """Exactly one JSON object on stdout; NaN and infinities become null."""
    sys.stdout.write(json_bytes(obj, indent=None).decode("utf-8"))
    sys.stdout.write("\n")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A plain-text table; numbers right-aligned with thousands separators."""
    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, int):
            return f"{v:,}"
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    text = [[cell(v) for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) and rows for i in range(len(headers))]
    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))).rstrip()
    return "\n".join([line(list(headers)), line(["-" * w for w in widths])] + [line(r) for r in text])


def report_lines(dataset: Dataset, limit: int = 10) -> list[str]:
    """The load report, grouped by problem, for the end of a readable output."""
    if not dataset.report:
        return []
    lines = [f"Load report: {len(dataset.report):,} problems ({dataset.report.skipped:,} records skipped)"]
    for row in dataset.report.summary().to_pylist()[:limit]:
        lines.append(f"  {row['rows']:>7,}  {row['code']:<24} {row['action']:<24} e.g. {row['example']}")
    return lines
