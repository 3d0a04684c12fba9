"""``imbal check PATH... [--min-instances 50] [--critical A,B] [--max-ratio 50] [--json]``: the data-health gate.

Exit 0 when every rule passes (warnings allowed), 1 when a rule fails, 2 when the input cannot
be used (or a setting is invalid, e.g. a critical class the dataset does not have).
"""
from __future__ import annotations

import argparse

from ..health import HealthConfig, check
from ._common import add_input_arguments, add_lake_arguments, load_dataset, print_json
from ._options import option_names

_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}
_DEFAULTS = HealthConfig()
#: Checklist settings -> this command's options, for messages.
OPTIONS = {"min_instances": "--min-instances", "comfortable_instances": "--comfortable", "critical": "--critical",
           "critical_min_instances": "--critical-min", "max_ratio": "--max-ratio", "share_tolerance": "--tolerance"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="the data-health checklist; exit 1 when a rule fails (a gate before training)",
        description="Run the data-health checklist (per-split counts, classes in every split, stratification, "
                    "minimum instances, critical classes, long-tail ratio). Exit 0 when all rules pass "
                    "(warnings allowed), 1 when any rule fails, 2 when the input cannot be used.")
    add_input_arguments(p)
    add_lake_arguments(p)
    p.add_argument("--min-instances", type=int, default=_DEFAULTS.min_instances, metavar="N",
                   help=f"fewest instances a class may have (default {_DEFAULTS.min_instances}; fail below)")
    p.add_argument("--comfortable", type=int, default=None, metavar="N",
                   help="instances a class needs to pass without a warning (default: "
                        f"{_DEFAULTS.comfortable_instances}, or twice --min-instances when that is higher)")
    p.add_argument("--critical", default=None, metavar="A,B",
                   help="critical classes, comma-separated (default: the export's own critical flags)")
    p.add_argument("--critical-min", type=int, default=_DEFAULTS.critical_min_instances, metavar="N",
                   help=f"fewest instances a critical class may have (default {_DEFAULTS.critical_min_instances})")
    p.add_argument("--max-ratio", type=float, default=_DEFAULTS.max_ratio, metavar="R",
                   help=f"largest / smallest class above which the long-tail rule fails (default {_DEFAULTS.max_ratio:g})")
    p.add_argument("--tolerance", type=float, default=_DEFAULTS.share_tolerance, metavar="T",
                   help="relative deviation of a class's share of val / test images from its share of train images "
                        f"before a warning, when beyond chance (default {_DEFAULTS.share_tolerance:g}; twice that "
                        "fails); `imbal split` judges the same way")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object: {"status": ..., "rules": [{"rule", "status", "detail", "classes", ...}]}')
    p.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> HealthConfig:
    """The checklist settings the flags describe (invalid values raise ``ValueError`` -> exit 2)."""
    critical = None
    if args.critical is not None:
        critical = tuple(n.strip() for n in args.critical.split(",") if n.strip())
    with option_names(OPTIONS):
        return HealthConfig.from_limits(
            min_instances=args.min_instances, comfortable_instances=args.comfortable, critical=critical,
            critical_min_instances=args.critical_min, max_ratio=args.max_ratio, share_tolerance=args.tolerance,
        )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)  # before loading: a bad flag should not wait for a big parse
    dataset = load_dataset(args)
    with option_names(OPTIONS):
        report = check(dataset, config)
    if args.json:
        print_json(report.to_dict())
        return report.exit_code
    print(f"{dataset.format} {dataset.task} — {dataset.summary_line()}")
    if report.critical:
        print(f"critical classes: {', '.join(report.critical)}")
    for r in report.rules:
        print(f"{_MARK[r.status]}  {r.title}: {r.detail}")
    failed = [r.rule for r in report.rules if r.status == "fail"]
    warned = [r.rule for r in report.rules if r.status == "warn"]
    verdict = f"FAILED ({len(failed)} rule{'s' if len(failed) != 1 else ''}: {', '.join(failed)})" if failed else "passed"
    if warned:
        verdict += f"; {len(warned)} warning{'s' if len(warned) != 1 else ''}"
    print(f"check {verdict}")
    return report.exit_code
