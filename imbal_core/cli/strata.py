"""``imbal strata PATH... --by COND[,COND2] [--unit instances] [--critical A,B] [--json]``: hidden subgroup gaps."""
from __future__ import annotations

import argparse
import math

from ..longtail import pixel_source, unit_label
from ..strata import DEFAULT_MAX_VALUES, hidden_subgroups
from ._common import add_input_arguments, add_lake_arguments, format_table, load_dataset, print_json, report_lines
from ._options import option_names

#: Library parameters -> this command's options, for messages.
OPTIONS = {"by": "--by", "unit": "--unit", "critical": "--critical", "min_count": "--min-count",
           "min_expected": "--min-expected", "max_ratio": "--max-ratio", "alpha": "--alpha", "max_values": "--max-values"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "strata", help="class x condition tables and ranked hidden-subgroup gaps (e.g. a class missing at night)",
        description="Cross the classes with one condition or a pair, test independence (chi-square, Cramér's V) and "
                    "list the cells where a class is far below its expected share, ranked, critical classes first.")
    add_input_arguments(p)
    add_lake_arguments(p)
    p.add_argument("--by", required=True, metavar="COND[,COND2]",
                   help="one condition, or two separated by a comma (as imbal names it, time_of_day, or as the export "
                        "does, 'Time of day')")
    p.add_argument("--unit", default="instances", choices=["instances", "images", "pixels"], help="what to count (default: instances)")
    p.add_argument("--critical", metavar="A,B", help="critical classes, ranked first (default: the export's own flags)")
    p.add_argument("--min-count", type=float, metavar="N", help="also flag cells with fewer than N (an absolute floor; off by default)")
    p.add_argument("--min-expected", type=float, default=5.0, metavar="E", help="test only cells expecting at least E (default 5)")
    p.add_argument("--max-ratio", type=float, default=0.5, metavar="R", help="a gap is at most R x expected (default 0.5)")
    p.add_argument("--alpha", type=float, default=0.01, help="family-wise error rate, Bonferroni-corrected (default 0.01)")
    p.add_argument("--max-values", type=int, default=DEFAULT_MAX_VALUES, metavar="K",
                   help=f"the most condition values kept; smaller ones fold into 'other' (default {DEFAULT_MAX_VALUES})")
    p.add_argument("--no-splits", action="store_true", help="do not look inside each split")
    p.add_argument("--table", action="store_true", help="also print the class x condition counts and residuals")
    p.add_argument("--strict", action="store_true", help="exit 1 when any gap is found (a CI gate)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(handler=run)


def _critical(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [c.strip() for c in text.split(",") if c.strip()]


def run(args: argparse.Namespace) -> int:
    dataset = load_dataset(args)
    with option_names(OPTIONS):
        result = hidden_subgroups(
            dataset, args.by, args.unit, critical=_critical(args.critical), per_split=not args.no_splits,
            min_expected=args.min_expected, max_ratio=args.max_ratio, alpha=args.alpha, min_count=args.min_count,
            max_values=args.max_values)
    gaps = [f for f in result.findings if f.kind != "below_minimum"]
    code = 1 if args.strict and result.findings else 0
    if args.json:
        print_json(result.to_dict())
        return code
    table = result.table
    unit = unit_label(result.unit, pixel_source(dataset))
    print(f"{' x '.join(result.conditions)} — {unit}: {len(table.classes)} classes x {len(table.values)} values"
          + (f"; {table.unknown:,.0f} {result.unit} with an unknown value left out" if table.unknown else ""))
    if result.findings:
        n, g = len(result.findings), len(gaps)
        print(f"\n{n} finding{'s' * (n != 1)} ({g} gap{'s' * (g != 1)}; {result.cells_tested} cells tested, "
              f"family-wise alpha {result.alpha:g}):")
        for rank, f in enumerate(result.findings, 1):
            mark = " [critical]" if f.critical else ""
            print(f"{rank:>3}. {f.text}{mark}")
    else:
        print(f"\nNo hidden-subgroup gap: no cell of the {result.cells_tested} tested is far enough below its "
              "expected count to rule out chance.")
    print("\nIndependence tests:")
    rows = []
    for t in result.tests:
        rows.append([t.split or "all", t.chi2, t.dof, _p(t.p_value), t.cramers_v])
    print(format_table(["split", "chi2", "dof", "p-value", "Cramér's V"], rows))
    if args.table:
        print()
        headers = ["class", *table.labels]
        body = [[c, *[f"{v:,.0f} ({r:+.1f})" for v, r in zip(table.counts[i], table.residuals[i])]]
                for i, c in enumerate(table.classes)]
        print(format_table(headers, body))
        print("(count (adjusted residual); below -2 is unusual, below -4 very unusual under independence)")
    for line in report_lines(dataset):
        print(line)
    return code


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.2g}" if value >= 1e-300 else "<1e-300"
