"""How the playbook fills its days: a per-day quota for each class within the team's capacity.

Classes are admitted in order — critical first, then by priority, then by deadline — each taking
what still fits by every later deadline (earliest-deadline-first feasibility), so when all targets
can be met within the capacity, all are. A backward pass then places each admitted amount as late
as possible (the latest schedule that still meets every deadline); the forward pass fills each day
with what that schedule requires by then, and spends the remaining capacity on a steady pace, in
admission order: critical classes aim to finish within ``front_load`` of their days.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from ..apportion import apportion
from ..types import QuotaStatus
from .history import working_days
from .progress import DAY, ClassProgress


@dataclass(frozen=True)
class Schedule:
    """Per class, in the order given: ``demand`` (what the horizon should deliver) and ``quotas`` (one
    per horizon day); ``order``: the class indices in admission order."""

    demand: tuple[int, ...]
    quotas: tuple[tuple[int, ...], ...]
    order: tuple[int, ...]


def schedule(classes: list[ClassProgress], horizon: list[date], capacity: int, workdays: str,
             front_load: float) -> Schedule:
    """The quotas of ``classes`` on the ``horizon`` days, ``capacity`` units a day at most (see the module docstring)."""
    n = len(horizon)
    wanted = [_demand(c, horizon, workdays) for c in classes]
    last = [w[1] for w in wanted]
    order = sorted(range(len(classes)), key=lambda i: (not classes[i].critical, classes[i].priority,
                                                       classes[i].deadline, classes[i].category))
    admitted = [0] * len(classes)
    for i in order:  # earliest-deadline-first slack: what still fits by every later deadline
        demand = wanted[i][0]
        if demand <= 0:
            continue
        slack = min(capacity * (k + 1) - sum(admitted[j] for j in range(len(classes)) if last[j] <= k)
                    for k in range(last[i], n))
        admitted[i] = max(0, min(demand, slack))
    latest = _as_late_as_possible(admitted, last, capacity, n)
    plan = _forward(classes, admitted, last, latest, capacity, n, order, front_load)
    return Schedule(tuple(w[0] for w in wanted), tuple(tuple(row) for row in plan), tuple(order))


def horizon_days(as_of: date, days: int, workdays: str) -> list[date]:
    """The first ``days`` working days after ``as_of``."""
    out: list[date] = []
    start = as_of + DAY
    while len(out) < days:  # a year of calendar days holds at least 52 working days for any mask
        out += working_days(start, start + 366 * DAY, workdays)
        start += 367 * DAY
    return out[:days]


def _demand(c: ClassProgress, horizon: list[date], workdays: str) -> tuple[int, int]:
    """(units to deliver within the horizon, index of the last horizon day that counts for the deadline)."""
    remaining = math.ceil(c.remaining - 1e-9)
    if c.status == QuotaStatus.DONE or remaining <= 0:
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
            shares = {i: left[i] for i in group} if wanted <= room else apportion(room, {i: left[i] for i in group})
            for i, take in shares.items():
                out[i][k] += take
                left[i] -= take
                room -= take
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
