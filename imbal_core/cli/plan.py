"""``imbal plan [PATH... | --counts "Car=6000,Pedestrian=2500"] --budget N --cap 5 [--strategy S] [--json]``:
a rebalancing plan — per-class effective counts under a cap and a budget, per-image weights, exports.

Exit 0 with a plan (an infeasible budget still gives the largest feasible plan, with a warning),
2 when the input or a setting cannot be used.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..cube import RowsUnavailable
from ..io.files import write_bytes
from ..plan import (DESCRIPTIONS, STRATEGIES, build_document, default_split, default_strategy, fit_weights, incidence,
                    make_spec, parse_counts, plan_for_dataset, read_targets, repeat_factor_weights, solve, weights_csv,
                    weights_parquet)
from ..plan.reach import TOLERANCE
from ..plan.spec import check_target_classes
from ..report import safe_text
from ._common import add_input_arguments, add_lake_arguments, format_table, load_dataset, print_json

_OUTPUTS = {".json": "the complete plan (JSON)", ".md": "the one-page summary (Markdown)", ".csv": "one row per class"}
_WEIGHTS = (".parquet", ".csv")


def register(sub: argparse._SubParsersAction) -> None:
    strategies = "; ".join(f"{s}: {DESCRIPTIONS[s]}" for s in STRATEGIES)
    p = sub.add_parser(
        "plan", help="a rebalancing plan: capped over/undersampling to a budget, per-image weights",
        description="Plan per-class effective counts per epoch (oversample up to --cap, undersample down to "
                    "--floor, total --budget), from an export or from --counts; with an export, also per-image "
                    f"sampling weights. Strategies — {strategies}.")
    add_input_arguments(p, paths_required=False)
    add_lake_arguments(p)
    p.add_argument("--counts", metavar="TEXT", help='per-class counts instead of an export: "Car=6000,Pedestrian=2500"')
    p.add_argument("--budget", metavar="N", help="effective samples per epoch, summed over classes (default: the current total)")
    p.add_argument("--cap", default="5", metavar="X", help="the most a class may be oversampled (default 5)")
    p.add_argument("--floor", default="0", metavar="F", help="the least fraction of a class kept (default 0)")
    p.add_argument("--strategy", metavar="S",
                   help=f"one of {', '.join(STRATEGIES)} (default: balanced for --counts and classification, sqrt "
                        "for detection and segmentation exports, whose images hold several classes; custom with --targets)")
    p.add_argument("--targets", metavar="FILE", help="custom targets: CSV with class and target columns, or a JSON object")
    p.add_argument("--beta", default="0.999", metavar="B", help="effective-number beta (default 0.999)")
    p.add_argument("--threshold", metavar="T",
                   help="repeat-factor threshold t (default 0.001, as LVIS); also used by the LVIS comparison of "
                        "per-image weights, which otherwise takes the median class's image share")
    p.add_argument("--unit", default="images", choices=["images", "instances"], help="count classes by images or instances")
    p.add_argument("--split", metavar="S", help="plan for this split of the export (default train if there is one; 'all')")
    p.add_argument("--epochs", type=int, default=10, metavar="N", help="epochs of quotas in the plan document (default 10)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the epoch quotas (default 0)")
    p.add_argument("--critical", metavar="A,B", help="rare classes to track first (default: the export's critical flags)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the plan) instead of a table")
    p.add_argument("-o", "--output", metavar="FILE", help="write the plan: .json (complete), .md (summary) or .csv (per class)")
    p.add_argument("--weights", metavar="FILE", help="write per-image weights (.parquet or .csv); needs an export")
    p.set_defaults(handler=run)


def _check_outputs(args: argparse.Namespace) -> None:
    if args.output and Path(args.output).suffix.lower() not in _OUTPUTS:
        raise ValueError(f"`--output` must end in {', '.join(_OUTPUTS)}. Got {args.output!r} instead.")
    if args.weights and Path(args.weights).suffix.lower() not in _WEIGHTS:
        raise ValueError(f"`--weights` must end in {' or '.join(_WEIGHTS)}. Got {args.weights!r} instead.")
    if args.counts and args.paths:
        raise ValueError("Give either export PATHs or `--counts`, not both.")
    if not args.counts and not args.paths:
        raise ValueError('Give export PATHs or `--counts "Car=6000,Pedestrian=2500"`.')
    if args.weights and not args.paths:
        raise ValueError("`--weights` needs an export (PATH): per-image weights come from the images.")


def run(args: argparse.Namespace) -> int:
    _check_outputs(args)
    targets = read_targets(args.targets) if args.targets else None
    spec = make_spec(args.strategy, budget=args.budget, cap=args.cap, floor=args.floor, unit=args.unit,
                     beta=args.beta, threshold=args.threshold or 0.001, targets=targets)
    critical = [c.strip() for c in args.critical.split(",") if c.strip()] if args.critical else None
    weights = alternative = dataset = None
    if args.counts:
        counts = parse_counts(args.counts)
        if targets is not None:
            check_target_classes(targets, list(counts), args.targets, among="`--counts`")
        plan = solve(counts, spec)
    else:
        dataset = load_dataset(args)
        if targets is not None:
            check_target_classes(targets, dataset.class_names, args.targets)
        if args.strategy is None and targets is None:
            spec = replace(spec, strategy=default_strategy(dataset))
        split = default_split(dataset) if args.split is None else args.split
        plan = plan_for_dataset(dataset, spec, split)
        try:
            inc = incidence(dataset, split, spec.unit)
        except RowsUnavailable as exc:  # a lake whose per-image rows do not fit --memory: the class-level plan stands
            if args.weights:
                raise
            print(f"warning: per-image weights skipped: {exc}", file=sys.stderr)
        else:
            weights = fit_weights(inc, plan)
            alternative = repeat_factor_weights(inc, plan, spec.threshold if args.threshold else None)
        critical = dataset.critical_classes if critical is None else critical
    doc = build_document(plan, weights=weights, alternative=alternative, epochs=args.epochs, seed=args.seed,
                         critical=critical or ())
    _write(args, doc, dataset)
    if args.json:
        out = plan.to_dict()
        if plan.source:
            out["source"] = plan.source.to_dict()
        if weights is not None:
            out["per_image"] = {"fitted": weights.to_dict(), "repeat_factor": alternative.to_dict()}
        print_json(out)
        return 0
    _print(plan, weights, alternative)
    return 0


def _write(args: argparse.Namespace, doc, dataset) -> None:
    if args.output:
        suffix = Path(args.output).suffix.lower()
        data = doc.json_bytes() if suffix == ".json" else safe_text(doc.markdown()).encode() if suffix == ".md" else doc.csv_bytes()
        write_bytes(args.output, data)
        print(f"wrote {_OUTPUTS[suffix]} to {args.output}", file=sys.stderr)
    if args.weights:
        suffix = Path(args.weights).suffix.lower()
        writer = weights_parquet if suffix == ".parquet" else weights_csv
        write_bytes(args.weights, writer(doc.weights, dataset, doc.policy))
        print(f"wrote per-image weights ({doc.weights.epoch_images:,} images per epoch) to {args.weights}", file=sys.stderr)


def _print(plan, weights, alternative) -> None:
    spec = plan.spec
    where = f" — {plan.source.split} split, {plan.source.images:,} images" if plan.source else ""
    print(f"{spec.strategy} plan in {spec.unit}{where}: cap {spec.cap:g}x, floor {spec.floor:g}, budget {plan.budget:,}")
    rows = []
    for c, n, t, e, m, cap, flo in zip(plan.classes, plan.counts, plan.targets, plan.effective, plan.multipliers,
                                       plan.capped, plan.floored):
        row = [c, int(n), int(t), int(e), f"{m:.2f}x" if m == m else "-", "cap" if cap else "floor" if flo else ""]
        rows.append(row)
    headers = ["class", "count", "target", "planned", "multiplier", "bound"]
    if weights is not None:
        headers += ["fitted", "LVIS"]
        rows = [r + [round(float(a), 1), round(float(b), 1)] for r, a, b in zip(rows, weights.achieved, alternative.achieved)]
    print(format_table(headers, rows))
    print(f"total {plan.total_effective:,} of {plan.budget:,}; imbalance {plan.imbalance_ratio_before:.1f}:1 -> "
          f"{plan.imbalance_ratio_after:.1f}:1")
    if weights is not None:
        print(f"per-image weights: {int(weights.within().sum())} of {len(weights.classes)} classes within {TOLERANCE:.0%} "
              f"(worst {weights.worst_error:.0%}); LVIS repeat factors: {int(alternative.within().sum())} "
              f"(worst {alternative.worst_error:.0%}); {weights.epoch_images:,} images per epoch")
    for warning in plan.warnings + (weights.warnings if weights is not None else ()):
        print(f"warning: {warning}", file=sys.stderr)
