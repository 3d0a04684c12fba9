"""``imbal split PATH...``: check the splits, or make new stratified, group-safe ones.

    imbal split PATH... [--json]                                  # check: exit 1 when a split fails
    imbal split PATH... --ratios 0.8,0.1,0.1 [--stratify class,time_of_day] [--group auto]
                        [--seed 0] --out DIR [--out-format coco|yolo|voc|csv] [--json]
"""
from __future__ import annotations

import argparse

from ..splits.check import SplitHealth, check_splits
from ..splits.export import EXPORT_FORMATS, check_folder, export_splits
from ..splits.generate import make_splits, resolve_group_by
from ._common import add_input_arguments, format_table, load_dataset, print_json, report_lines
from ._options import option_names

#: Library parameters -> this command's options, for messages.
OPTIONS = {"group_by": "--group", "stratify_by": "--stratify", "ratios": "--ratios", "names": "--names",
           "tolerance": "--tolerance", "seed": "--seed", "format": "--out-format", "unit": "--unit", "folder": "--out"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "split", help="check the splits (leakage, missing classes, divergence) or make new stratified, group-safe ones",
        description="Without --ratios: check the export's splits (exit 1 when one fails: a group or file in two "
                    "splits, a class missing, a skewed class distribution). With --ratios: make new splits "
                    "stratified by class (and conditions) that never divide a group, write them in the export's "
                    "format into --out, and print the achieved proportions and the new splits' check.")
    add_input_arguments(p)
    p.add_argument("--ratios", metavar="R1,R2[,R3]", help="make new splits with these shares of the images, e.g. 0.8,0.1,0.1")
    p.add_argument("--names", metavar="A,B[,C]", help="names of the new splits (default train,val,test or train,val)")
    p.add_argument("--stratify", default="class", metavar="class[,COND...]",
                   help="what to keep in proportion: 'class' and/or condition names (default: class)")
    p.add_argument("--group", default="auto", metavar="auto|none|group|COND",
                   help="what must stay together: auto = the export's sequence/video/site groups when it has them "
                        "(default), none, group (or the export's own name for it, e.g. sequence), or a condition "
                        "whose values are sites")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same splits (default 0)")
    p.add_argument("--tolerance", type=float, default=0.005, help="how far a split's image share may stray from its ratio "
                   "(default 0.005)")
    p.add_argument("--out", metavar="DIR", help="write the new splits into this folder, created when missing (without it, "
                   "nothing is written)")
    p.add_argument("--out-format", dest="export_format", choices=EXPORT_FORMATS,
                   help="format of the written splits (default: the export's own when COCO, YOLO or VOC, else csv)")
    p.add_argument("--yolo-paths", default="relative", choices=["relative", "absolute"],
                   help="YOLO lists: paths relative to the dataset root (default) or absolute")
    p.add_argument("--unit", default="instances", choices=["instances", "images", "pixels"],
                   help="unit of the class shares in the check (default instances)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    dataset = load_dataset(args)
    with option_names(OPTIONS):
        return _run(args, dataset)


def _run(args: argparse.Namespace, dataset) -> int:
    if args.ratios is None:
        for flag, value in (("--out", args.out), ("--names", args.names), ("--out-format", args.export_format)):
            if value is not None:
                raise ValueError(f"`{flag}` needs `--ratios`: without it, imbal split only checks the existing splits.")
        health = check_splits(dataset, args.unit, group_by=_group(args.group, dataset))
        if args.json:
            print_json(health.to_dict())
        else:
            _print_health(health)
            for line in report_lines(dataset):
                print(line)
        return 0 if health.passed else 1
    if args.out:
        check_folder(args.out)  # before the search, which can take a while
    names = [n.strip() for n in args.names.split(",")] if args.names else None
    result = make_splits(dataset, args.ratios, args.stratify, None if args.group in ("none", "") else args.group,
                         args.seed, names=names, tolerance=args.tolerance)
    written, export = [], None
    if args.out:
        export = export_splits(result.dataset, args.export_format, paths=args.yolo_paths)
        written = [str(p) for p in export.write(args.out)]
    code = 0 if result.health.passed else 1
    if args.json:
        doc = result.to_dict()
        doc["written"] = written
        doc["format"] = export.format if export else None
        doc["note"] = export.note if export else None
        print_json(doc)
        return code
    group = f"groups from `{result.group_by}`" if result.group_by else "no groups"
    print(f"New splits (seed {result.seed}, stratified by {', '.join(result.stratify_by) or 'nothing'}, {group}: "
          f"{result.blocks:,} units placed whole)")
    rows = [[r["split"], r["images"], f"{r['share']:.1%}", f"{r['target']:.1%}", r["instances"]] for r in result.sizes.to_pylist()]
    print(format_table(["split", "images", "share", "target", "instances"], rows))
    err, before = result.label_distribution_error, result.before
    line = f"label-distribution error: instances {err['instances']:.5f}, images {err['images']:.5f}"
    if before:
        line += f" (the export's splits: {before['instances']:.5f}, {before['images']:.5f})"
    print("\n" + line)
    print("\nPer-class instance share by split:")
    by = {}
    for r in result.classes.to_pylist():
        by.setdefault(r["class"], {"whole": r["whole_instance_share"]})[r["split"]] = r["instance_share"]
    rows = [[c, *[_pct(v[s]) for s in result.names], _pct(v["whole"])] for c, v in sorted(by.items(), key=lambda kv: -kv[1]["whole"])]
    print(format_table(["class", *result.names, "whole"], rows))
    print()
    _print_health(result.health)
    if export is not None:
        print(f"\nWrote {len(written)} file(s) to {args.out} ({export.format}): {export.note}")
        for w in export.warnings:
            print(f"warning: {w}")
    else:
        print("\nNothing written (dry run): give --out DIR to write the new splits.")
    return code


def _group(text: str, dataset) -> str | None:
    return resolve_group_by(dataset, None if text in ("none", "") else text)


def _pct(x: float) -> str:
    return "-" if x != x else f"{x * 100:.2f}%"


def _print_health(health: SplitHealth) -> None:
    if not health.verdicts:
        print(f"Split check: nothing to check. {health.message}")
        return
    strat = health.stratification
    print(f"Split check: {health.status} (class shares of images against {strat.reference}: {strat.status}; "
          f"label-distribution error {health.label_distribution_error:.5f}, {health.unit})")
    rows = []
    for v in health.verdicts:
        rows.append([v.split, v.status, v.images, f"{v.image_share:.1%}", v.js_divergence,
                     len(v.missing), v.leaked_groups, v.duplicate_files, "; ".join(v.reasons) or "-"])
    print(format_table(["split", "verdict", "images", "share", "divergence", "missing", "leaked groups",
                        "dup. files", "why"], rows))
    for v in health.verdicts:
        if v.status != "pass" and v.worst:
            print(f"  {v.split}: furthest from {strat.reference}'s class shares: {', '.join(v.worst)}")
    if health.leaks.num_rows:
        shown = health.leaks.slice(0, 5).to_pylist()
        print(f"  {health.leaks.num_rows:,} groups straddle splits, e.g. " +
              "; ".join(f"{r['group']} in {r['splits']}" for r in shown))
    if health.duplicates.num_rows:
        shown = health.duplicates.slice(0, 5).to_pylist()
        print(f"  {health.duplicates.num_rows:,} file names are in several splits, e.g. " +
              "; ".join(f"{r['file_name']} in {r['splits']}" for r in shown))
    if health.message:
        print(f"  {health.message}")
