"""``imbal select --pool PREDICTIONS [--images EXPORT] [--project P] --n 500 -o batch.csv``: an active-learning batch.

Ranks the unlabelled pool by uncertainty, boosts images predicted to hold classes still short of
their quota (``--project``), shares the batch among those classes in proportion to what each
still needs and caps the images per group (``--group sequence``), then writes the ranked CSV.
"""
from __future__ import annotations

import argparse
import sys

from ..active import AGGREGATES, RULES, build_pool, select_batch
from ..active.summary import quota_needs
from ..io import load
from ..io.files import write_bytes
from ..io.predictions import PREDICTION_FORMATS, read_predictions
from ..quotas import Workspace
from ..quotas.progress import project_progress
from ..report import LoadError
from ._common import format_table, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("select", help="an active-learning batch from model predictions on an unlabelled pool",
                       description="Choose the images to label next: uncertain ones, shared among the classes "
                                   "still short of their quota, a few per group at most.")
    p.add_argument("--pool", required=True, metavar="PREDICTIONS",
                   help="predictions on the pool: COCO results JSON, YOLO txt folder, or classification CSV "
                        "with score_<class> columns")
    p.add_argument("--pool-format", default="auto", choices=["auto", *PREDICTION_FORMATS],
                   help="format of the predictions (default: from the name)")
    p.add_argument("--images", nargs="+", metavar="EXPORT",
                   help="an export listing the pool's images and classes (needed for COCO / YOLO ids; "
                        "gives file names, groups and conditions)")
    p.add_argument("--project", metavar="PROJECT", help="fill this quota project's remaining targets")
    p.add_argument("--workspace", metavar="FILE", help="the workspace file (default: $IMBAL_WORKSPACE, else "
                                                        "./imbal_workspace.duckdb)")
    p.add_argument("--n", type=int, required=True, help="images to select")
    p.add_argument("--rule", default="entropy", choices=RULES, help="uncertainty measure (default: entropy)")
    p.add_argument("--aggregate", default="max", choices=AGGREGATES, help="detection: objects -> image (default: max)")
    p.add_argument("--group", default="group",
                   help="cap images per value of this column: group (the export's sequence / video / site; "
                        "also spelt sequence, video ...) or a condition; 'none' for no cap (default: group)")
    p.add_argument("--max-per-group", type=int, help="images per group at most (default: n / 20, rounded up)")
    p.add_argument("--boost", type=float, default=1.0, help="extra weight of images with a short quota class (1.0)")
    p.add_argument("--threshold", type=float, default=0.3,
                   help="probability from which an image counts as holding a class (0.3)")
    p.add_argument("--seed", type=int, default=0, help="breaks ties (default 0)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the ranked batch as CSV here")
    p.add_argument("--json", action="store_true", help="print the selection summary as one JSON object")
    p.set_defaults(handler=run)


def _check_pool(predictions, path: str) -> None:
    """A pool with no prediction to rank (an empty or unreadable file, a file of another kind),
    or none matching ``--images``, cannot give a batch: :class:`LoadError` naming the file."""
    problem = predictions.unusable()
    if problem is None and predictions.num_predictions == 0:
        first = f" (first problem: {predictions.report.rows[0].problem})" if predictions.report else ""
        problem = f"{path}: no prediction could be read, so there is nothing to rank{first}."
    if problem is not None:
        raise LoadError(problem, predictions.report, str(path))


def run(args: argparse.Namespace) -> int:
    dataset = load(args.images) if args.images else None
    predictions = read_predictions(args.pool, dataset, format=args.pool_format)
    _check_pool(predictions, args.pool)
    quotas = None
    if args.project:
        progress = project_progress(Workspace(args.workspace), args.project)
        quotas = quota_needs(progress)
        if progress.classes and dataset is None and predictions.kind == "detection":
            print("note: without --images, COCO / YOLO class ids cannot be matched to the project's class names.",
                  file=sys.stderr)
    pool = build_pool(predictions, dataset, rule=args.rule, aggregate=args.aggregate, class_threshold=args.threshold)
    group = None if str(args.group).lower() == "none" else args.group
    if group is not None and pool.table.column("group").null_count == pool.size and group == "group":
        group = None  # nothing to cap by (no export, or one without groups)
    selection = select_batch(pool, args.n, quotas, boost=args.boost, group=group, max_per_group=args.max_per_group,
                             seed=args.seed)
    if args.output:
        write_bytes(args.output, selection.to_csv())
    if args.json:
        print_json({**selection.to_dict(), "pool": pool.size, "source": str(args.pool), "output": args.output})
        return 0
    print(f"Selected {selection.size:,} of {pool.size:,} pool images by {args.rule}"
          + (f", at most {selection.max_per_group} per {selection.group}" if selection.group else "")
          + (f"; wrote {args.output}" if args.output else ""))
    if selection.classes.num_rows:
        print(format_table(["class", "still needed", "share", "selected", "candidates"],
                           [[r["class"], r["remaining"], r["share"], r["selected"], r["candidates"]]
                            for r in selection.classes.to_pylist()]))
    if not args.output:
        print(format_table(["rank", "file", "score", "predicted", "reason"],
                           [[r["rank"], r["file_name"], round(r["score"], 3), r["predicted"], r["reason"]]
                            for r in selection.batch.slice(0, 20).to_pylist()]))
        if selection.size > 20:
            print(f"... {selection.size - 20:,} more; write them all with -o batch.csv")
    return 0
