"""``imbal report PATH... [--pred FILE] [--critical A,B] [--by COND ...] [--plan-budget N --plan-cap C]
[--out report.html] [--markdown summary.md] [--title T]``: a self-contained HTML health report to share,
and a Markdown summary for a CI job's page.

Exit 0 when the report is written (a failing health rule is in the report, not in the exit code:
``imbal check`` is the gate), 2 when the input or a setting cannot be used.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import add_input_arguments, load_dataset
from ._options import option_names

#: Library settings -> this command's options, for messages.
OPTIONS = {"critical": "--critical", "by": "--by", "budget": "--plan-budget", "cap": "--plan-cap",
           "strategy": "--plan-strategy"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="a self-contained HTML health report to share, and a Markdown summary for CI",
        description="Write one HTML file that opens offline (checklist, long tail, hidden subgroups, split health, "
                    "plan and evaluation when asked, load report; every chart with its numbers in a table) and, "
                    "with --markdown, a short GitHub-flavoured summary for $GITHUB_STEP_SUMMARY.")
    add_input_arguments(p)
    p.add_argument("--pred", metavar="FILE", help="predictions to evaluate (as `imbal eval --pred`); adds the evaluation")
    p.add_argument("--critical", metavar="A,B", help="critical classes, comma-separated (default: the export's own flags)")
    p.add_argument("--by", nargs="+", metavar="COND",
                   help="conditions to cross with the classes, each one name or a pair A,B (default: the dataset's "
                        "conditions, one at a time)")
    p.add_argument("--plan-budget", metavar="N", help="add a rebalancing plan with this budget (effective samples per epoch)")
    p.add_argument("--plan-cap", metavar="X", help="add a rebalancing plan with this cap (default 5 when --plan-budget is given)")
    p.add_argument("--plan-strategy", metavar="S", help="the plan's strategy (default: as `imbal plan`)")
    p.add_argument("--out", default="report.html", metavar="FILE", help="the HTML report (default report.html)")
    p.add_argument("--markdown", metavar="FILE", help="also write the Markdown summary here ('-' for standard output)")
    p.add_argument("--title", metavar="T", help="the report's title (default: imbal report — the first file's name)")
    p.set_defaults(handler=run)


def settings_from_args(args: argparse.Namespace):
    """The report settings the flags describe."""
    from ..sharing import PlanSettings, ReportSettings

    critical = None
    if args.critical is not None:
        critical = tuple(n.strip() for n in args.critical.split(",") if n.strip())
    by = None
    if args.by:
        by = tuple(tuple(c.strip() for c in item.split(",") if c.strip()) for item in args.by)
        empty = [item for item, names in zip(args.by, by) if not names]
        if empty:
            raise ValueError(f"`--by` must name a condition or a pair A,B. Got {empty[0]!r} instead.")
    plan = None
    if args.plan_budget is not None or args.plan_cap is not None or args.plan_strategy is not None:
        plan = PlanSettings(budget=args.plan_budget, cap=args.plan_cap if args.plan_cap is not None else 5.0,
                            strategy=args.plan_strategy)
    return ReportSettings(title=args.title, critical=critical, by=by, plan=plan, predictions=args.pred)


def _check_outputs(args: argparse.Namespace) -> None:
    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"`--out` must end in .html. Got {args.out!r} instead.")
    if args.markdown not in (None, "-") and Path(args.markdown).resolve() == Path(args.out).resolve():
        raise ValueError(f"`--markdown` must differ from `--out`. Got {args.markdown!r} for both.")
    for flag, value in (("--out", args.out), ("--markdown", args.markdown)):
        if value in (None, "-"):
            continue
        if Path(value).is_dir():
            raise ValueError(f"`{flag}` must be a file name. Got {value!r}, a folder, instead.")
        if not Path(value).resolve().parent.is_dir():
            raise ValueError(f"`{flag}` must be in a folder that exists. Got {value!r} instead.")


def run(args: argparse.Namespace) -> int:
    from ..io.files import write_bytes
    from ..sharing import build_report

    _check_outputs(args)  # before loading: a bad flag should not wait for a big parse
    settings = settings_from_args(args)
    dataset = load_dataset(args)
    with option_names(OPTIONS):
        report = build_report(dataset, settings, html_name=args.out)
    write_bytes(args.out, report.html_bytes())
    size = len(report.html_bytes())
    print(f"wrote the report ({size / 1e6:.1f} MB) to {args.out}", file=sys.stderr)
    if args.markdown == "-":
        sys.stdout.write(report.markdown)
    elif args.markdown:
        write_bytes(args.markdown, report.markdown_bytes())
        print(f"wrote the summary to {args.markdown}", file=sys.stderr)
    return 0
