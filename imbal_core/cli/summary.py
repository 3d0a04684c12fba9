"""``imbal summary PATH... [--format F] [--conditions FILE] [--json]``: what an export holds, per class and split."""
from __future__ import annotations

import argparse

from ..summary import summarize
from ._common import add_input_arguments, add_lake_arguments, collector_paused, format_table, load_dataset, print_json, report_lines


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="images, annotations and per-class counts by split, with the load report",
                       description="Read an export and print its per-class counts by split and the load report.")
    add_input_arguments(p)
    add_lake_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with collector_paused():
        dataset = load_dataset(args)
        summary = summarize(dataset)
    if args.json:
        print_json(summary.to_dict())
        return 0
    print(f"{dataset.format} {dataset.task} — {dataset.summary_line()}")
    if dataset.conditions:
        print(f"conditions: {', '.join(dataset.conditions)}")
    headers = ["class", "images", "instances"] + (["pixels"] if dataset.task == "segmentation" else [])
    headers += [f"{s} inst." for s in summary.splits]
    rows = []
    for r in sorted(summary.classes.to_pylist(), key=lambda r: -r["instances"]):
        row = [r["class"], r["images"], r["instances"]] + ([r["pixels"]] if dataset.task == "segmentation" else [])
        rows.append(row + [r[f"{s}_instances"] for s in summary.splits])
    print(format_table(headers, rows))
    for line in report_lines(dataset):
        print(line)
    return 0
