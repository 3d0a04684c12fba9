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

How: a backward pass places each admitted amount as late as possible (the latest schedule that
still meets every deadline); the forward pass then fills each day with what that schedule requires
by then, and spends the remaining capacity on the paces above, in admission order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from ..exports import csv_bytes
from .history import working_days
from .progress import DAY, ClassProgress, QuotaProgress

MAX_DAYS = 260


@dataclass(frozen=True)
class PlannedClass:
    """One class in the playbook: what it needs in the horizon, what the sheet gives it, and why."""

    category: str
    unit: str
    critical: bool
    priority: int
    deadline: date
    status: str
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
        return {"name": self.category, "unit": self.unit, "critical": self.critical, "priority": self.priority,
                "deadline": self.deadline.isoformat(), "status": self.status, "remaining": self.remaining,
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
    #: ``day``, ``category``, ``quota``: one row per day and class with a quota (zeros included).
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
        for d, c, q in zip(*(self.sheet.column(k).to_pylist() for k in ("day", "category", "quota"))):
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
        """The one-page plan (see :func:`plan_markdown`)."""
        from .plan_text import plan_markdown

        return plan_markdown(self, predictions_hint)


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
    horizon = _horizon(result.as_of, days, result.workdays)
    n = len(horizon)
    wanted = [_demand(c, horizon, result.workdays) for c in classes]
    order = sorted(range(len(classes)), key=lambda i: (not classes[i].critical, classes[i].priority,
                                                       classes[i].deadline, classes[i].category))
    admitted = [0] * len(classes)
    for i in order:  # earliest-deadline-first slack: what still fits by every later deadline
        demand, last = wanted[i]
        if demand <= 0:
            continue
        slack = min(capacity * (k + 1) - sum(admitted[j] for j in range(len(classes)) if wanted[j][1] <= k)
                    for k in range(last, n))
        admitted[i] = max(0, min(demand, slack))
    latest = _as_late_as_possible(admitted, [w[1] for w in wanted], capacity, n)
    plan = _forward(classes, admitted, [w[1] for w in wanted], latest, capacity, n, order, front_load)
    sheet_rows = {"day": [], "category": [], "quota": []}
    planned_classes = []
    for i, c in enumerate(classes):
        demand, last = wanted[i]
        if demand > 0:
            for k, d in enumerate(horizon):
                sheet_rows["day"].append(d)
                sheet_rows["category"].append(c.category)
                sheet_rows["quota"].append(plan[i][k])
        total = sum(plan[i])
        cumulative, completes = 0, None
        for k, d in enumerate(horizon):
            cumulative += plan[i][k]
            if demand > 0 and completes is None and cumulative >= demand:
                completes = d
        planned_classes.append(PlannedClass(
            category=c.category, unit=c.unit, critical=c.critical, priority=c.priority, deadline=c.deadline,
            status=c.status, remaining=math.ceil(c.remaining), demand=demand, planned=total,
            shortfall=max(demand - total, 0), completes=completes, overdue=c.deadline <= result.as_of and c.remaining > 0,
            advice=c.advice,
        ))
    sheet = pa.table({"day": pa.array(sheet_rows["day"], pa.date32()), "category": pa.array(sheet_rows["category"], pa.string()),
                      "quota": pa.array(sheet_rows["quota"], pa.int64())})
    ranked = tuple(planned_classes[i] for i in order) + tuple(
        p for i, p in enumerate(planned_classes) if i not in order)
    return Playbook(result.project, result.as_of, tuple(horizon), capacity, unit, float(front_load), ranked, sheet, result)


def _horizon(as_of: date, days: int, workdays: str) -> list[date]:
    out: list[date] = []
    start = as_of + DAY
    while len(out) < days:  # a year of calendar days holds at least 52 working days for any mask
        out += working_days(start, start + 366 * DAY, workdays)
        start += 367 * DAY
    return out[:days]


def _demand(c: ClassProgress, horizon: list[date], workdays: str) -> tuple[int, int]:
    """(units to deliver within the horizon, index of the last horizon day that counts for the deadline)."""
    remaining = math.ceil(c.remaining - 1e-9)
    if c.status == "done" or remaining <= 0:
        return 0, len(horizon) - 1
    if c.deadline < horizon[0]:  # overdue: the whole horizon to catch up
        return remaining, len(horizon) - 1
    if c.deadline > horizon[-1]:
        total_days = len(working_days(horizon[0], c.deadline, workdays))
        return math.ceil(remaining * len(horizon) / max(total_days, 1) - 1e-9), len(horizon) - 1
    return remaining, max(k for k, d in enumerate(horizon) if d <= c.deadline)


def _as_late_as_possible(admitted: list[int], last: list[int], capacity: int, n: int) -> list[list[int]]:
    """Per class and day, the latest schedule meeting every admitted amount by its last day.

    Latest deadline first (the mirror of earliest-deadline-first, feasible whenever that is);
    classes with the same deadline share a day's room in proportion to what they still need.
    """
    left = list(admitted)
    out = [[0] * n for _ in admitted]
    for k in range(n - 1, -1, -1):
        room = capacity
        for deadline in sorted({last[i] for i in range(len(admitted)) if last[i] >= k}, reverse=True):
            group = [i for i in range(len(admitted)) if last[i] == deadline and left[i] > 0]
            wanted = sum(left[i] for i in group)
            if not group or room == 0:
                continue
            shares = {i: left[i] for i in group} if wanted <= room else _split(room, {i: left[i] for i in group})
            for i, take in shares.items():
                out[i][k] += take
                left[i] -= take
                room -= take
    return out


def _split(total: int, weights: dict[int, int]) -> dict[int, int]:
    """``total`` split in proportion to ``weights`` (largest remainders get the leftover units)."""
    whole = sum(weights.values())
    exact = {i: total * w / whole for i, w in weights.items()}
    out = {i: math.floor(v) for i, v in exact.items()}
    for i in sorted(exact, key=lambda i: (-(exact[i] - out[i]), i))[: total - sum(out.values())]:
        out[i] += 1
    return out


def _forward(classes: list[ClassProgress], admitted: list[int], last: list[int], latest: list[list[int]],
             capacity: int, n: int, order: list[int], front_load: float) -> list[list[int]]:
    plan = [[0] * n for _ in classes]
    done = [0] * len(classes)
    required = [[sum(row[: m + 1]) for m in range(n)] for row in latest]
    for k in range(n):
        room = capacity
        for i in range(len(classes)):  # what the latest schedule needs by today (fits: it is at most its day)
            need = max(0, required[i][k] - done[i])
            plan[i][k] += need
            done[i] += need
            room -= need
        for i in order:  # then a steady pace, in admission order
            left = admitted[i] - done[i]
            if left <= 0 or room <= 0 or k > last[i]:
                continue
            end = last[i]
            if classes[i].critical:
                end = min(end, max(k, math.ceil(front_load * (last[i] + 1)) - 1))
            # The steadiest pace that keeps ahead of the latest schedule and finishes by ``end``.
            goals = [(required[i][m], m) for m in range(k, end)] + [(admitted[i], end)]
            pace = max(math.ceil((goal - done[i] + plan[i][k]) / (m - k + 1)) for goal, m in goals)
            extra = min(max(pace - plan[i][k], 0), left, room)
            plan[i][k] += extra
            done[i] += extra
            room -= extra
    return plan
