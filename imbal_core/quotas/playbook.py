"""The daily playbook: a per-day, per-class quota sheet within the team's capacity, and a one-page plan.

Given where each class stands (a :class:`~imbal_core.quotas.progress.QuotaProgress`), a horizon
of working days after ``as_of`` and a labelling capacity per day (in the targets' unit), the
sheet says how many of each class to label on each day:

- It never asks for more than ``capacity`` on any day; capacity left over is ``free`` (the
  regular queue).
- Every class gets, by its deadline, as much of what it still needs as can be fitted: when all
  targets can be met within the capacity, all are (earliest-deadline-first feasibility); when
  not, classes are admitted in order — critical first, then by priority, then by deadline — and
  the ones that do not fit keep a ``shortfall``.
- Within that, critical classes are front-loaded: paced to finish within ``front_load`` (0.7) of
  the working days before their deadline, leaving the rest as a buffer; the others are paced
  evenly. A class whose deadline lies past the horizon gets its pro-rata share of the horizon.
- Classes that met their target get no quota (stop collecting).

How the days are filled: :mod:`.schedule`. The one-page plan to hand out: :meth:`Playbook.to_markdown`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from ..downloads import csv_bytes
from ..types import QuotaStatus
from .progress import QuotaProgress
from .schedule import horizon_days, schedule

MAX_DAYS = 260


@dataclass(frozen=True)
class PlannedClass:
    """One class in the playbook: what it needs in the horizon, what the sheet gives it, and why."""

    category: str
    unit: str
    critical: bool
    priority: int
    deadline: date
    status: QuotaStatus
    #: What is still missing of the target.
    remaining: int
    #: What the horizon should deliver: ``remaining``, or its pro-rata share when the deadline lies beyond.
    demand: int
    planned: int
    shortfall: int
    #: The day the sheet completes ``demand`` (None when it does not, or when nothing is needed).
    completes: date | None
    overdue: bool
    advice: str

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.category, "unit": self.unit, "critical": self.critical, "priority": self.priority,
                "deadline": self.deadline.isoformat(), "status": self.status.value, "remaining": self.remaining,
                "demand": self.demand, "planned": self.planned, "shortfall": self.shortfall,
                "completes": self.completes.isoformat() if self.completes else None, "overdue": self.overdue,
                "advice": self.advice}


@dataclass(frozen=True, eq=False)
class Playbook:
    project: str
    as_of: date
    days: tuple[date, ...]
    capacity: int
    unit: str
    front_load: float
    classes: tuple[PlannedClass, ...]
    #: ``day``, ``class``, ``quota``: one row per day and class with a quota (zeros included).
    sheet: pa.Table
    progress: QuotaProgress

    @property
    def free(self) -> list[int]:
        """Capacity left over on each day."""
        used = {d: 0 for d in self.days}
        for d, q in zip(self.sheet.column("day").to_pylist(), self.sheet.column("quota").to_pylist()):
            used[d] += q
        return [self.capacity - used[d] for d in self.days]

    def quota(self, day: date, category: str) -> int:
        for d, c, q in zip(*(self.sheet.column(k).to_pylist() for k in ("day", "class", "quota"))):
            if d == day and c == category:
                return q
        return 0

    def sheet_wide(self) -> pa.Table:
        """The quota sheet a team reads: one row per day; ``day``, ``weekday``, one column per class, ``total``, ``free``."""
        names = [c.category for c in self.classes if c.demand > 0]
        columns: dict[str, list] = {"day": list(self.days), "weekday": [d.strftime("%a") for d in self.days]}
        for name in names:
            columns[name] = [self.quota(d, name) for d in self.days]
        columns["total"] = [sum(columns[n][i] for n in names) for i in range(len(self.days))]
        columns["free"] = self.free
        return pa.table(columns)

    def warnings(self) -> list[str]:
        """What the lead must know about this sheet: classes it cannot fit, and quotas the supply may not allow."""
        notes = []
        for c in self.classes:
            if c.shortfall:
                notes.append(f"{c.category}: the capacity fits {c.planned:,} of the {c.demand:,} {c.unit} it needs by "
                             f"{c.deadline.isoformat()} ({c.shortfall:,} short). Raise the capacity, move the deadline "
                             "or lower the target.")
            state = next((k for k in self.progress.classes if k.category == c.category), None)
            peak = max((self.quota(d, c.category) for d in self.days), default=0)
            if state is not None and state.diagnosis == "supply" and state.rate_per_day is not None and peak > state.rate_per_day:
                notes.append(f"{c.category}: the sheet asks up to {peak:,} a day, but the frames that show it gave "
                             f"{state.rate_per_day:.1f} a day lately and are running out; the quota holds only if "
                             "collection is re-routed (see the advice).")
        return notes

    def to_csv(self) -> bytes:
        """The wide sheet as CSV (formula-safe)."""
        return csv_bytes(self.sheet_wide())

    def to_dict(self) -> dict[str, Any]:
        wide = self.sheet_wide().to_pylist()
        return {"project": self.project, "as_of": self.as_of.isoformat(), "capacity": self.capacity, "unit": self.unit,
                "days": [d.isoformat() for d in self.days], "classes": [c.to_dict() for c in self.classes],
                "sheet": [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()} for row in wide]}

    def to_markdown(self, predictions_hint: str = "PREDICTIONS") -> str:
        """The one-page plan: where each class stands, the daily quotas, sourcing actions, the active-learning
        rule (``predictions_hint`` stands for the predictions file in its command), the metrics to watch and
        the stop / adjust rules."""
        return "\n".join(_standing(self) + _quota_lines(self) + _rules(self, predictions_hint))


def playbook(result: QuotaProgress, *, days: int = 10, capacity: int, front_load: float = 0.7,
             unit: str | None = None) -> Playbook:
    """The quota sheet for the ``days`` working days after ``result.as_of`` (see the module docstring).

    ``capacity``: units labelled per day by the whole team (labellers x items per labeller), in
    the targets' unit. ``front_load`` (0.7): critical classes aim to finish within this fraction of
    their days. ``unit`` (None): plan the classes of this unit; needed when targets mix units.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"`days` must be a whole number of working days from 1 to {MAX_DAYS}. Got {days!r} instead.")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"`capacity` must be a whole number of at least 1 per day. Got {capacity!r} instead.")
    if not isinstance(front_load, (int, float)) or not 0 < front_load <= 1:
        raise ValueError(f"`front_load` must be above 0 and at most 1. Got {front_load!r} instead.")
    if result.as_of is None:
        raise ValueError("The project has no snapshot yet: ingest an export before planning.")
    units = sorted({c.unit for c in result.classes})
    if unit is None:
        if len(units) > 1:
            raise ValueError(f"`capacity` is in one unit but the targets use {units}; choose one with `unit`.")
        unit = units[0] if units else "instances"
    classes = [c for c in result.classes if c.unit == unit]
    horizon = horizon_days(result.as_of, days, result.workdays)
    plan = schedule(classes, horizon, capacity, result.workdays, front_load)
    sheet_rows: dict[str, list] = {"day": [], "class": [], "quota": []}
    planned_classes = []
    for c, demand, quotas in zip(classes, plan.demand, plan.quotas):
        if demand > 0:
            sheet_rows["day"] += horizon
            sheet_rows["class"] += [c.category] * len(horizon)
            sheet_rows["quota"] += quotas
        total = sum(quotas)
        cumulative, completes = 0, None
        for d, quota in zip(horizon, quotas):
            cumulative += quota
            if demand > 0 and completes is None and cumulative >= demand:
                completes = d
        planned_classes.append(PlannedClass(
            category=c.category, unit=c.unit, critical=c.critical, priority=c.priority, deadline=c.deadline,
            status=c.status, remaining=math.ceil(c.remaining), demand=demand, planned=total,
            shortfall=max(demand - total, 0), completes=completes, overdue=c.deadline <= result.as_of and c.remaining > 0,
            advice=c.advice,
        ))
    sheet = pa.table({"day": pa.array(sheet_rows["day"], pa.date32()), "class": pa.array(sheet_rows["class"], pa.string()),
                      "quota": pa.array(sheet_rows["quota"], pa.int64())})
    ranked = tuple(planned_classes[i] for i in plan.order)
    return Playbook(result.project, result.as_of, tuple(horizon), capacity, unit, float(front_load), ranked, sheet, result)


# --------------------------------------------------------------------------- the one-page plan (Markdown)


def _cell(text: object) -> str:
    """Markdown table cells: no pipes or newlines from class names."""
    return str(text).replace("|", "/").replace("\n", " ")


def _per_day(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _standing(book: Playbook) -> list[str]:
    """The heading and where each class of the playbook's unit stands."""
    progress = book.progress
    first, last = book.days[0], book.days[-1]
    lines = [
        f"# Annotation plan — {_cell(book.project)}",
        "",
        f"As of **{book.as_of.isoformat()}** · {len(book.days)} working days, {first:%a %Y-%m-%d} to {last:%a %Y-%m-%d} · "
        f"capacity **{book.capacity:,} {book.unit} a day**"
        + (f" · {progress.labellers_per_day:.1f} labellers a day lately" if progress.labellers_per_day else ""),
        "",
        "## Where we stand",
        "",
        f"| class | status | now / target | pace (last {progress.window} d) | needed a day | projected | deadline |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for c in progress.classes:
        if c.unit != book.unit:
            continue
        flag = " (critical)" if c.critical else ""
        lines.append(
            f"| {_cell(c.category)}{flag} | {c.status.label} | {c.current:,.0f} / {c.target:,} | "
            f"{_per_day(c.rate_per_day)} | {_per_day(c.needed_per_day)} | "
            f"{c.projected_date.isoformat() if c.projected_date else '—'} | {c.deadline.isoformat()} |")
    return lines


def _quota_lines(book: Playbook) -> list[str]:
    """The daily quota sheet with its notes, and each class's sourcing action."""
    names = [c.category for c in book.classes if c.demand > 0]
    lines = ["", "## Daily quotas", ""]
    if names:
        lines += ["| day | " + " | ".join(_cell(n) for n in names) + " | free |",
                  "| --- | " + " | ".join("---:" for _ in names) + " | ---: |"]
        for row in book.sheet_wide().to_pylist():
            lines.append(f"| {row['weekday']} {row['day'].isoformat()} | "
                         + " | ".join(f"{row[n]:,}" for n in names) + f" | {row['free']:,} |")
        for note in book.warnings():
            lines.append(f"\n**Note:** {_cell(note)}")
    else:
        lines.append("Every quota class has met its target: no quotas to hand out.")
    lines += ["", "## Sourcing actions", ""]
    for c in book.classes:
        lines.append(f"- **{_cell(c.category)}** ({c.status.label}{', critical' if c.critical else ''}): {c.advice}")
    return lines


def _rules(book: Playbook, predictions_hint: str) -> list[str]:
    """The active-learning rule, the metrics to watch and the stop / adjust rules."""
    window, rules = book.progress.window, book.progress.rules
    boosted = [c.category for c in book.classes if c.demand > 0]
    return [
        "", "## Active-learning rule", "",
        "Each morning, run the model on the new unlabelled frames and pick the batch to label from its predictions:",
        "",
        f"    imbal select --pool {predictions_hint} --project \"{book.project}\" --n <batch size> --rule entropy "
        "--group sequence -o batch.csv",
        "",
        "The batch is ranked by uncertainty (entropy), boosted for frames predicted to hold a class still short of its "
        "quota" + (f" ({', '.join(boosted)})" if boosted else "") + "; each class gets its share of the batch in "
        "proportion to what it still needs, and no drive gives more than its share of frames.",
        "", "## Metrics to watch", "",
        f"- Each quota class's pace over the last {window} working days against the pace it needs "
        f"(`imbal quota status \"{book.project}\"`).",
        "- Each class's share of the day's output: a share that keeps falling while the team keeps its pace means the "
        "frames that show it are running out — more labellers will not help, routing collection will.",
        "- The team's daily output against the capacity planned here; labellers a day.",
        "- Per-class recall of the model on the quota classes, per condition, after each retraining (Evaluation page).",
        "", "## Stop / adjust rules", "",
        "- **Stop** collecting a class the day it meets its target; move its effort to the classes behind.",
        f"- **On track**: the pace is at least {rules.on_track:g} x the pace needed. Keep going.",
        f"- **At risk**: the pace is between {rules.at_risk:g} x and {rules.on_track:g} x the pace needed. Look again "
        "tomorrow; re-plan if it stays there two days.",
        f"- **Off track**: below {rules.at_risk:g} x. If the class is capacity-limited, add labellers; if its share of "
        "the output is falling (supply-limited), re-route collection or run an active-learning batch for it.",
        "- **Re-plan** when the capacity changes (absences, new labellers) or a target or deadline moves: "
        f"`imbal quota playbook \"{book.project}\" --days {len(book.days)} --capacity {book.capacity}`.",
        "",
    ]
