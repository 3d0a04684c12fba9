"""``imbal hierarchy PATH... [--mapping FILE] [--min-instances 50] [--merge CHILD=PARENT] [--apply-suggestions]
[--out FILE] [--json]``: merge suggestions, the what-if of chosen merges, and the merged export."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..hierarchy import (
    from_supercategories, merged_coco, merged_labels_csv, merged_yolo_zip, read_mapping, resolve_merges,
    suggest_merges, what_if,
)
from ..cube import is_count_source
from ..io.files import write_bytes
from ._common import add_input_arguments, add_lake_arguments, format_table, load_dataset, print_json

OUT_FORMATS = ("coco", "yolo", "labels")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hierarchy", help="label hierarchy: merge suggestions, what-if, merged export",
                       description="Suggest merging classes below a minimum into their parent (COCO supercategory or "
                                   "a mapping), show the long tail before and after, and write the merged export.")
    add_input_arguments(p)
    add_lake_arguments(p)
    p.add_argument("--mapping", metavar="FILE", help="parents from a CSV (child,parent) or YAML mapping instead of "
                                                     "the export's supercategories")
    p.add_argument("--min-instances", type=int, default=50, metavar="N", help="the minimum a class should reach (default 50)")
    p.add_argument("--critical", default=None, metavar="A,B", help="classes never suggested (default: the export's flags)")
    p.add_argument("--merge", action="append", default=[], metavar="CHILD=PARENT",
                   help="merge CHILD into PARENT (a parent name or another class; repeatable)")
    p.add_argument("--apply-suggestions", action="store_true", help="merge every suggested class")
    p.add_argument("--out", metavar="FILE", help="write the export with the merges applied")
    p.add_argument("--out-format", choices=OUT_FORMATS, default=None,
                   help="coco (JSON), yolo (zip of data.yaml and labels) or labels (classification CSV); "
                        "default from the --out extension")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def _merges(args: argparse.Namespace) -> dict[str, str]:
    out = {}
    for pair in args.merge:
        child, sep, parent = pair.partition("=")
        if not sep or not child.strip() or not parent.strip():
            raise ValueError(f"`--merge` must be CHILD=PARENT. Got {pair!r} instead.")
        out[child.strip()] = parent.strip()
    return out


def _out_format(args: argparse.Namespace) -> str:
    if args.out_format:
        return args.out_format
    suffix = Path(args.out).suffix.lower()
    return {".zip": "yolo", ".csv": "labels"}.get(suffix, "coco")


def run(args: argparse.Namespace) -> int:
    merges = _merges(args)
    dataset = load_dataset(args)
    if args.out and is_count_source(dataset):
        raise dataset.unavailable("Writing the merged export (`--out`)",
                                  "it rewrites the export's annotations, which a lake does not keep")
    hierarchy = read_mapping(args.mapping, dataset) if args.mapping else from_supercategories(dataset)
    critical = None if args.critical is None else [n.strip() for n in args.critical.split(",") if n.strip()]
    suggestions = suggest_merges(dataset, hierarchy, args.min_instances, critical=critical)
    if args.apply_suggestions:
        merges = {**suggestions.merges(), **merges}
    resolved = resolve_merges(dataset, merges)
    result = what_if(dataset, merges) if merges else None
    written = None
    if args.out:
        if not merges:
            raise ValueError("`--out` needs merges: give --merge CHILD=PARENT or --apply-suggestions.")
        kind = _out_format(args)
        make = {"coco": merged_coco, "yolo": merged_yolo_zip, "labels": merged_labels_csv}[kind]
        write_bytes(args.out, make(dataset, merges))
        written = {"path": args.out, "format": kind}
    if args.json:
        print_json({"hierarchy": hierarchy.to_dict(), "suggestions": suggestions.to_dict(), "merges": merges,
                    "resolved": resolved, "what_if": result.to_dict() if result else None, "written": written})
        return 0
    print(f"{dataset.format} {dataset.task} — {dataset.summary_line()}")
    if not hierarchy:
        print("No class has a parent: give --mapping FILE (CSV child,parent or YAML).")
        return 0
    rows = [[r["class"], r["parent"], r["instances"], r["merged_instances"], "yes" if r["suggested"] else "", r["reason"]]
            for r in suggestions.table.to_pylist() if r["below"]]
    print(f"{len(rows)} class{'' if len(rows) == 1 else 'es'} below {args.min_instances:,} instances:")
    if rows:
        print(format_table(["class", "parent", "instances", "parent after", "suggest", "why"], rows))
    if result is not None:
        b, a = result.before.metrics, result.after.metrics
        print("merges: " + ", ".join(f"{c} -> {t}" for c, t in resolved.items()))
        print(format_table(["", "classes", "imbalance ratio", "gini", "evenness"],
                           [["before", b.present, b.imbalance_ratio, b.gini, b.evenness],
                            ["after", a.present, a.imbalance_ratio, a.gini, a.evenness]]))
    if written:
        print(f"wrote {written['format']} export with the merges: {written['path']}")
    return 0

