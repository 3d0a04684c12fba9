"""``imbal eval GT... --pred FILE [--iou 0.5] [--score-threshold 0.5] [--by CONDITION] [--json]
[--hard-negatives out.csv]``: per-class metrics of a model's predictions against an export.

The task follows the export: classification (a predictions table), detection (COCO results
JSON or YOLO txt), segmentation (COCO results with masks; or semantic mask images with
``--gt-masks``). Exit codes: 0 done, 1 ``--min-recall`` failed for a class, 2 unusable input
(no prediction matches the export, a bad option value), 3 internal error.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..evaluate import by_condition, evaluate, evaluate_masks, hard_negatives, slice_columns
from ..evaluate._common import check_fraction
from ..evaluate.table import select_images
from ..evaluate.document import evaluation_dict
from ..downloads import csv_bytes
from ..io.files import read_bytes, write_bytes
from ..io.archive import extract_zip
from ..io.predictions import PREDICTION_FORMATS, read_predictions
from ..report import LoadError, LoadReport, ReportRow
from ._common import add_input_arguments, format_table, load_dataset, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="per-class metrics of predictions: confusion matrix, P/R/F1, AP, IoU, by condition",
                       description="Evaluate a model's predictions against an export, per class and per condition.")
    add_input_arguments(p)
    p.add_argument("--pred", required=True, metavar="FILE",
                   help="predictions: COCO results JSON, a folder (or zip) of YOLO txt files, Scalabel / BDD100K JSON "
                        "with a score per label, or a CSV / Parquet of predicted labels")
    p.add_argument("--pred-format", default="auto", choices=["auto", *PREDICTION_FORMATS], help="predictions format")
    p.add_argument("--pred-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="a predictions option, e.g. layout=cls,conf,x,y,w,h or coords=pixels (YOLO), "
                        "image_column=file (CSV) (repeatable)")
    p.add_argument("--names", metavar="FILE", help="YOLO predictions: class names in index order, one per line")
    p.add_argument("--iou", type=float, default=0.5, help="IoU of a match for the confusion matrix and P/R/F1 (0.5)")
    p.add_argument("--score-threshold", type=float, default=0.5, help="lowest score counted as a detection (0.5)")
    p.add_argument("--split", action="append", metavar="SPLIT", help="evaluate only this split (repeatable)")
    p.add_argument("--by", action="append", metavar="CONDITION", help="also slice by a condition or `split` (repeatable)")
    p.add_argument("--min-support", type=int, default=30, help="flag condition cells with fewer ground-truth items (30)")
    p.add_argument("--hard-negatives", metavar="CSV", help="write the hard negatives (confident mistakes) to this CSV")
    p.add_argument("--min-score", type=float, help="lowest score of a hard negative (default: --score-threshold)")
    p.add_argument("--gt-masks", metavar="DIR", help="semantic masks: ground-truth mask images; --pred is then a folder of predicted masks")
    p.add_argument("--mask-classes", metavar="FILE", help="semantic masks: class names by pixel value, one per line (line 0 = background)")
    p.add_argument("--min-recall", type=float, metavar="R", help="exit 1 when a class with ground truth has recall below R")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(handler=run)


def _lines(path: str, what: str) -> list[str]:
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: the {what} must be UTF-8 text; byte {exc.start} is not "
                        f"(0x{exc.object[exc.start]:02x}).", file=path) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _pred_options(pairs: list[str]) -> dict[str, str]:
    """``--pred-opt KEY=VALUE`` pairs as a dict; values stay text (a layout, a column name)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"`--pred-opt` must be KEY=VALUE. Got {pair[:80]!r} instead.")
        options[key.strip()] = value.strip()
    return options


def _check_options(args: argparse.Namespace, dataset) -> None:
    """Fail fast, before any evaluation runs, on option values that cannot work."""
    check_fraction("iou", args.iou, open_low=True)
    check_fraction("score_threshold", args.score_threshold, high=float("inf"))
    if args.min_recall is not None and not 0 <= args.min_recall <= 1:
        raise ValueError(f"`--min-recall` must be between 0 and 1. Got {args.min_recall} instead.")
    allowed = slice_columns(dataset)
    for by in args.by or []:
        if by not in allowed:
            raise ValueError(f"`by` must be one of {allowed}. Got {by!r} instead.")
    if args.split:
        select_images(dataset, args.split)


def run(args: argparse.Namespace) -> int:
    dataset = load_dataset(args)
    _check_options(args, dataset)
    split = args.split or None
    predictions = None
    if args.gt_masks:
        if not args.mask_classes:
            raise ValueError("`--gt-masks` needs `--mask-classes`: the class names by pixel value, one per line.")
        evaluation = evaluate_masks(args.gt_masks, args.pred, Path(args.mask_classes), dataset=dataset)
    else:
        names = _lines(args.names, "class names") if args.names else None
        with _unzipped(args.pred) as (pred_path, renamed):
            predictions = renamed(read_predictions(pred_path, dataset, format=args.pred_format, names=names,
                                                   options=_pred_options(args.pred_opt)))
        problem = predictions.unusable()
        if problem:
            raise LoadError(problem, predictions.report, args.pred)
        evaluation = evaluate(dataset, predictions, iou=args.iou, score_threshold=args.score_threshold, split=split)
    slices = [by_condition(evaluation, dataset, by, min_support=args.min_support) for by in (args.by or [])]
    negatives = None
    if args.hard_negatives:
        negatives = hard_negatives(evaluation, dataset, min_score=args.min_score)
        write_bytes(args.hard_negatives, csv_bytes(negatives.table.drop_columns(["image_id"])))
    failing = _failing(evaluation, args.min_recall)
    if args.json:
        doc = evaluation_dict(evaluation, [row for s in slices for row in s.to_dict()] if slices else None)
        doc["predictions"] = _predictions_doc(predictions)
        doc["hard_negatives"] = {"file": args.hard_negatives, "rows": len(negatives)} if negatives is not None else None
        doc["failed"] = failing
        print_json(doc)
    else:
        _print_text(dataset, evaluation, predictions, slices, negatives, args)
    if failing:
        print(f"imbal: recall below {args.min_recall:g} for " + ", ".join(f"{f['class']} ({f['recall']:.3f})" for f in failing),
              file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _unzipped(path: str):
    """``(folder, renamed)``: a zip of YOLO txt files is read from a temporary folder (extracted
    safely, removed after); other predictions as they are. An entry that cannot be extracted is
    skipped: printed on stderr and put first in the predictions report. ``renamed(predictions)``
    and a :class:`LoadError` raised inside name the archive (``x.zip/labels/a.txt``), not the
    temporary folder."""
    if not str(path).lower().endswith(".zip"):
        yield path, lambda predictions: predictions
        return
    skipped = LoadReport()
    with tempfile.TemporaryDirectory(prefix="imbal-pred-") as folder:
        try:
            root = str(extract_zip(Path(path), Path(folder), report=skipped))
        finally:
            _print_skipped(skipped)

        def rows(report: LoadReport) -> list[ReportRow]:
            return skipped.rows + [replace(r, file=r.file.replace(folder, str(path), 1)) for r in report.rows]

        def renamed(predictions):
            return replace(predictions, source=str(path), report=LoadReport(rows(predictions.report)))

        try:
            yield root, renamed
        except LoadError as exc:
            raise LoadError(str(exc).replace(folder, str(path)), LoadReport(rows(exc.report)), str(path)) from None


def _print_skipped(report: LoadReport, limit: int = 5) -> None:
    """The archive entries skipped, on stderr (the JSON and the text output hold them too)."""
    for row in report.rows[:limit]:
        print(f"imbal: {row.file}: skipped the entry {row.record!r} — {row.problem}", file=sys.stderr)
    if len(report) > limit:
        print(f"imbal: {report.rows[0].file}: {len(report) - limit:,} more entries skipped", file=sys.stderr)


def _failing(evaluation, min_recall: float | None) -> list[dict]:
    if min_recall is None:
        return []
    rows = evaluation.classes.select(["class", "support", "recall"]).to_pylist()
    return [r for r in rows if r["support"] and r["recall"] is not None and r["recall"] < min_recall]


def _predictions_doc(predictions) -> dict | None:
    if predictions is None:
        return None
    return {"file": predictions.source, "format": predictions.format, **predictions.coverage.to_dict(),
            "report": predictions.report.summary().to_pylist()}


def _metric_columns(evaluation) -> list[str]:
    if evaluation.task == "classification":
        return ["pr_auc"]
    if evaluation.task == "segmentation":
        return ["iou", "ap"] if evaluation.instances is not None else ["iou"]
    return ["ap", "ap50", "ar"]


def _print_text(dataset, evaluation, predictions, slices, negatives, args) -> None:
    task = evaluation.task
    print(f"{task} evaluation — {evaluation.images:,} images — {dataset.summary_line()}")
    if predictions is not None:
        print(predictions.summary_line())
    if task != "classification" and hasattr(evaluation, "score_threshold") and not np.isnan(evaluation.score_threshold):
        print(f"operating point: score >= {evaluation.score_threshold:g}" + (f", IoU >= {args.iou:g}" if task == "detection" else ""))
    extra = _metric_columns(evaluation)
    headers = ["class", "support", "predicted", "precision", "recall", "f1", *extra]
    rows = []
    for r in sorted(evaluation.classes.to_pylist(), key=lambda r: -(r["support"] or 0)):
        rows.append([r["class"] + (" *" if r["critical"] else ""), r["support"], r["predicted"],
                     *(_f(r[c]) for c in ("precision", "recall", "f1", *extra))])
    print(format_table(headers, rows))
    for name in ("macro", "weighted", "micro"):
        avg = getattr(evaluation, name)
        print(f"{name:>9}: precision {_f(avg.precision)}  recall {_f(avg.recall)}  f1 {_f(avg.f1)}")
    if task == "classification":
        print(f"accuracy {_f(evaluation.accuracy)}  balanced accuracy {_f(evaluation.balanced_accuracy)}")
    if getattr(evaluation, "pixels", None) is not None:
        px = evaluation.pixels
        print(f"mIoU {_f(px.miou)}  frequency-weighted IoU {_f(px.fwiou)}  pixel accuracy {_f(px.pixel_accuracy)}")
    if evaluation.coco is not None:
        s = evaluation.coco.summary
        print(f"COCO {s.iou_type}: AP {_f(s.ap)}  AP50 {_f(s.ap50)}  AP75 {_f(s.ap75)}  AR100 {_f(s.ar100)}")
    confusion = evaluation.confusion
    if len(confusion.labels) <= 16:
        print("confusion (rows = ground truth, columns = predicted):")
        short = [label[:10] for label in confusion.labels]
        print(format_table(["true \\ predicted", *short], [[label, *map(int, row)] for label, row in zip(confusion.labels, confusion.matrix)]))
    metric = "iou" if task == "segmentation" else "recall"
    for s in slices:
        print(f"{metric} by {s.by} (support; * fewer than {s.min_support}):")
        values, support = s.pivot(metric), s.support_pivot()
        table_rows = [[name, *(_cell(values.loc[name, v], support.loc[name, v], s.min_support) for v in s.values)]
                      for name in values.index]
        print(format_table(["class", *s.values], table_rows))
    if negatives is not None:
        print(f"hard negatives: {len(negatives):,} written to {args.hard_negatives}"
              + (f" (most: {', '.join(f'{k} {v}' for k, v in list(negatives.per_class().items())[:3])})" if len(negatives) else ""))
    if predictions is not None and predictions.report:
        print(f"predictions report: {len(predictions.report):,} rows")
        for row in predictions.report.summary().to_pylist()[:8]:
            print(f"  {row['rows']:>7,}  {row['code']:<26} {row['action']:<28} e.g. {row['example']}")


def _f(value: float) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def _cell(value: float, support: float, min_support: int) -> str:
    mark = "*" if support < min_support else ""
    return f"{_f(value)} ({int(support):,}{mark})"
