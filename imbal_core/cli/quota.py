"""``imbal quota set|ingest|status|playbook|list``: annotation quotas kept in a workspace file.

    imbal quota set PROJECT --target "Wheelchair=600,Bicycle=500" --deadline 2026-12-10 [--unit instances]
    imbal quota ingest PROJECT PATH... [--at 2026-11-27]
    imbal quota status PROJECT [--json] [--as-of DATE] [--fail-on off_track]
    imbal quota playbook PROJECT --days 10 --capacity 400 [-o plan.md] [--csv sheet.csv]
    imbal quota list [PROJECT]

The workspace is ``--workspace FILE``, else ``$IMBAL_WORKSPACE``, else ``./imbal_workspace.duckdb``.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timezone

from ..io.files import write_bytes
from ..quotas import UNITS, Workspace, targets_from_mapping
from ..quotas.history import HISTORY_MODES
from ..quotas.playbook import playbook
from ..quotas.progress import StatusRules, project_progress
from ..report import safe_text
from ..types import QuotaStatus
from ._common import add_input_arguments, format_table, load_dataset, print_json

#: The statuses ``--fail-on`` takes: a class fails at that status or a worse one (:attr:`QuotaStatus.rank`).
FAIL_LEVELS = (QuotaStatus.AT_RISK, QuotaStatus.OFF_TRACK)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quota", help="annotation quotas: targets, daily snapshots, progress, forecast, playbook",
                       description="Per-class annotation quotas kept in a workspace file (DuckDB).")
    actions = p.add_subparsers(dest="quota_command", metavar="ACTION")
    actions.required = True

    s = actions.add_parser("set", help="create a project or change its targets",
                           description="Create PROJECT if needed and set per-class targets (other classes keep theirs).")
    _project_arguments(s)
    s.add_argument("--target", required=True, metavar="CLASS=N,...", help='targets, e.g. "Wheelchair=600,Bicycle=500"')
    s.add_argument("--deadline", required=True, type=_date, metavar="DATE", help="deadline of these targets (YYYY-MM-DD)")
    s.add_argument("--unit", default="instances", choices=UNITS, help="what the targets count (default: instances)")
    s.add_argument("--critical", default="", metavar="CLASS,...", help="classes to front-load (rare but important)")
    s.add_argument("--priority", default="", metavar="CLASS=N,...", help="priorities, 1 first (default 1 for all)")
    s.add_argument("--window", type=int, metavar="DAYS", help="working days the daily rate averages over (default 5)")
    s.add_argument("--workdays", metavar="MASK", help="working days, Monday first, e.g. 1111100 (the default)")
    s.add_argument("--replace", action="store_true", help="drop targets of classes not named here")
    s.set_defaults(handler=run_set)

    i = actions.add_parser("ingest", help="add today's export to a project (a no-op for an export seen before)",
                           description="Append a snapshot of one export (one or several files) to PROJECT.")
    _project_arguments(i)
    add_input_arguments(i)
    i.add_argument("--at", metavar="TIMESTAMP",
                   help="the date or time the export stands for (default: its latest annotated_at; "
                        "for an export without timestamps, now)")
    i.add_argument("--json", action="store_true", help="print the snapshot as one JSON object")
    i.set_defaults(handler=run_ingest)

    t = actions.add_parser("status", help="progress, pace, forecast, status and advice per quota class")
    _project_arguments(t)
    _progress_arguments(t)
    t.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    t.add_argument("--fail-on", choices=[s.value for s in FAIL_LEVELS],
                   help="exit 1 when a class is at this status or worse (off_track; at_risk includes off_track)")
    t.set_defaults(handler=run_status)

    b = actions.add_parser("playbook", help="a per-day quota sheet within capacity, and a one-page plan")
    _project_arguments(b)
    _progress_arguments(b)
    b.add_argument("--days", type=int, default=10, help="working days to plan (default 10)")
    b.add_argument("--capacity", type=int, required=True, help="units the team labels a day (labellers x items each)")
    b.add_argument("--front-load", type=float, default=0.7,
                   help="critical classes aim to finish within this share of their days (default 0.7)")
    b.add_argument("--unit", choices=UNITS, help="plan the targets in this unit (needed when targets mix units)")
    b.add_argument("-o", "--output", metavar="FILE", help="write the Markdown plan here (default: print it)")
    b.add_argument("--csv", metavar="FILE", help="write the per-day sheet as CSV here")
    b.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    b.set_defaults(handler=run_playbook)

    ls = actions.add_parser("list", help="projects, or one project's targets and snapshots")
    ls.add_argument("project", nargs="?", metavar="PROJECT")
    _workspace_argument(ls)
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    ls.set_defaults(handler=run_list)


def _workspace_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", metavar="FILE",
                   help="the workspace file (default: $IMBAL_WORKSPACE, else ./imbal_workspace.duckdb)")


def _project_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", metavar="PROJECT", help="project name")
    _workspace_argument(p)


def _progress_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=_date, metavar="DATE", help="the day to stand on (default: the latest snapshot's)")
    p.add_argument("--window", type=int, metavar="DAYS", help="working days the rate averages over (default: the project's)")
    p.add_argument("--history", default="auto", choices=HISTORY_MODES,
                   help="daily counts from snapshots, from timestamps, or both (auto, the default)")
    p.add_argument("--on-track", type=float, default=1.0, help="pace / needed at or above this is on track (1.0)")
    p.add_argument("--at-risk", type=float, default=0.8, help="pace / needed at or above this is at risk (0.8)")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date like 2026-12-10. Got {text!r} instead.") from None


def _pairs(text: str, option: str) -> dict[str, int]:
    """``"A=1,B=2"`` -> ``{"A": 1, "B": 2}``; class names may hold spaces."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.rpartition("=")
        if not sep or not name.strip():
            raise ValueError(f"`{option}` must be CLASS=N pairs separated by commas. Got {part!r} instead.")
        try:
            out[name.strip()] = int(value.strip())
        except ValueError:
            raise ValueError(f"`{option}` for {name.strip()!r} must be a whole number. Got {value.strip()!r} instead.") from None
    if not out:
        raise ValueError(f"`{option}` names no class. Got {text!r} instead.")
    return out


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace(args.workspace)


def run_set(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    targets = targets_from_mapping(
        _pairs(args.target, "--target"), args.deadline, args.unit,
        critical=[c.strip() for c in args.critical.split(",") if c.strip()],
        priority=_pairs(args.priority, "--priority") if args.priority.strip() else None,
    )
    existed = args.project in [p.name for p in ws.projects()]
    if not existed:
        ws.create_project(args.project, **({"window_days": args.window} if args.window else {}),
                          **({"workdays": args.workdays} if args.workdays else {}))
        print(f"Created project {args.project!r} in {ws.path}.", file=sys.stderr)
    elif args.window or args.workdays:
        ws.update_project(args.project, window_days=args.window, workdays=args.workdays)
    saved = ws.set_targets(args.project, targets, replace=args.replace)
    data = ws.load(args.project)
    known = set(data.totals.column("class").to_pylist())
    unknown = [t.category for t in targets if known and t.category not in known]
    if unknown:
        print(f"note: {', '.join(map(repr, unknown))} is not a class of any ingested export "
              f"(classes: {', '.join(sorted(known))}).", file=sys.stderr)
    print(format_table(["class", "target", "unit", "deadline", "priority", "critical"],
                       [[t.category, t.target, t.unit, t.deadline.isoformat(), t.priority, t.critical] for t in saved]))
    return 0


def run_ingest(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    ws.project(args.project)  # a clear error before parsing a large export
    dataset = load_dataset(args)
    at = args.at
    stamped = dataset.num_annotations and dataset.annotations.column("annotated_at").null_count < dataset.num_annotations
    if at is None and not stamped:
        at = datetime.now(timezone.utc).replace(microsecond=0)
        print(f"note: the export has no annotated_at timestamps; dated now ({at.isoformat()}). "
              "Pass --at to date it.", file=sys.stderr)
    result = ws.ingest(args.project, dataset, at=at)
    snap = result.snapshot
    targets = [t.category for t in ws.targets(args.project)]
    missing = [name for name in targets if name not in set(dataset.class_names)]
    if missing:
        print(f"note: this export has no class {', '.join(map(repr, missing))} of the project's targets; "
              "is it the right export for this project?", file=sys.stderr)
    if args.json:
        print_json({**snap.to_dict(), "created": result.created, "workspace": str(ws.path)})
        return 0
    if result.created:
        print(f"Snapshot {snap.snapshot_id} of {args.project!r}: {snap.images:,} images, {snap.annotations:,} annotations, "
              f"as of {snap.taken_at.isoformat(sep=' ')} UTC ({ws.path}).")
    else:
        print(f"Already ingested: this export is snapshot {snap.snapshot_id} of {args.project!r} "
              f"(as of {snap.taken_at.isoformat(sep=' ')} UTC); nothing written.")
    return 0


def _progress(args: argparse.Namespace):
    rules = StatusRules(on_track=args.on_track, at_risk=args.at_risk)
    return project_progress(_workspace(args), args.project, as_of=args.as_of, window=args.window,
                            history=args.history, rules=rules)


def run_status(args: argparse.Namespace) -> int:
    result = _progress(args)
    failing = [c.category for c in result.classes if args.fail_on and c.status.at_least_as_bad_as(args.fail_on)]
    if args.json:
        print_json({**result.to_dict(), "failing": failing})
    else:
        if result.as_of is None:
            print(f"{args.project}: nothing ingested yet — run `imbal quota ingest {args.project} PATH`.")
        elif not result.classes:
            print(f"{args.project}: no targets yet — run `imbal quota set {args.project} --target CLASS=N --deadline DATE`.")
        else:
            print(f"{result.project} — as of {result.as_of.isoformat()} (pace over the last {result.window} working days)")
            rows = [[c.category, c.status.label, f"{c.current:,.0f} / {c.target:,}", round(c.percent, 1),
                     c.rate_per_day, c.needed_per_day, c.days_left,
                     c.projected_date.isoformat() if c.projected_date else None] for c in result.classes]
            print(format_table(["class", "status", "now / target", "%", "rate/day", "needed/day", "days left",
                                "projected"], rows))
            print()
            for c in result.classes:
                print(f"- {c.advice}")
    return 1 if failing else 0


def run_playbook(args: argparse.Namespace) -> int:
    book = playbook(_progress(args), days=args.days, capacity=args.capacity, front_load=args.front_load, unit=args.unit)
    if args.csv:
        write_bytes(args.csv, book.to_csv())
    text = book.to_markdown()
    if args.output:
        write_bytes(args.output, safe_text(text).encode("utf-8"))
    if args.json:
        print_json(book.to_dict())
    elif not args.output:
        sys.stdout.write(text)
    else:
        short = [c.category for c in book.classes if c.shortfall]
        print(f"Wrote the plan to {args.output}" + (f" and the sheet to {args.csv}" if args.csv else "")
              + (f"; short of capacity for {', '.join(short)}." if short else "; every quota fits the capacity."))
    return 0


def run_list(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    if args.project is None:
        projects = ws.projects()
        if args.json:
            print_json({"workspace": str(ws.path), "projects": [p.to_dict() for p in projects]})
        elif not projects:
            print(f"No projects in {ws.path}" + ("" if ws.exists else " (the file does not exist yet)") + ".")
        else:
            print(f"Workspace {ws.path}")
            print(format_table(["project", "window", "workdays"], [[p.name, p.window_days, p.workdays] for p in projects]))
        return 0
    data = ws.load(args.project)
    if args.json:
        print_json({"workspace": str(ws.path), **data.project.to_dict(), "targets": [t.to_dict() for t in data.targets],
                    "snapshots": [s.to_dict() for s in data.snapshots]})
        return 0
    print(f"{data.project.name} — {ws.path}")
    print(format_table(["class", "target", "unit", "deadline", "priority", "critical"],
                       [[t.category, t.target, t.unit, t.deadline.isoformat(), t.priority, t.critical] for t in data.targets])
          if data.targets else "no targets")
    print()
    print(format_table(["snapshot", "as of (UTC)", "images", "annotations", "timestamps", "source"],
                       [[s.snapshot_id, s.taken_at.isoformat(sep=" "), s.images, s.annotations, s.has_timestamps, s.source]
                        for s in data.snapshots]) if data.snapshots else "no snapshots")
    return 0


