"""Burn-up / burn-down lines per quota class (and for all of them together), from quota progress."""
from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from ..types import QuotaStatus
from .history import working_days
from .progress import ALL_CLASSES, DAY, QuotaProgress

BURN_SCHEMA = pa.schema([
    pa.field("class", pa.string()), pa.field("series", pa.string()), pa.field("day", pa.date32()),
    pa.field("count", pa.float64()), pa.field("remaining", pa.float64()), pa.field("target", pa.float64()),
    pa.field("deadline", pa.date32()),
])
#: How far a projection is drawn past the deadline, at most (working days).
PROJECTION_LIMIT = 60


def burn_series(result: QuotaProgress) -> pa.Table:
    """Burn-up / burn-down lines per quota class, and for all of them together.

    Columns: ``class``, ``series`` (``actual``: the history; ``projected``: the current rate from
    ``as_of`` until the target or the deadline, whichever is later (at most :data:`PROJECTION_LIMIT`
    working days); ``needed``: the straight line from ``as_of`` to the target on the deadline),
    ``day``, ``count`` (cumulative, in the class's unit), ``remaining`` (target - count, at least 0),
    ``target`` and ``deadline`` (for all classes: the latest). The aggregate row set (class :data:`ALL_CLASSES`, only when every target
    has the same unit) adds up each class's count capped at its target, so a class far past its
    target does not hide one that is behind.
    """
    rows: list[dict[str, Any]] = []
    if result.as_of is None:
        return BURN_SCHEMA.empty_table()
    per_class: dict[str, dict[str, dict[date, float]]] = {}
    for c in result.classes:
        lines: dict[str, dict[date, float]] = {"actual": {}, "projected": {}, "needed": {}}
        series = result.history.series(c.category, c.unit).dropna()
        lines["actual"] = {d: float(v) for d, v in series.items()}
        if c.status != QuotaStatus.DONE and c.rate_per_day is not None:
            end = max(c.deadline, c.projected_date or c.deadline)
            days = [result.as_of] + working_days(result.as_of + DAY, end, result.workdays)[:PROJECTION_LIMIT]
            lines["projected"] = {d: c.current + c.rate_per_day * i for i, d in enumerate(days)}
        if c.status != QuotaStatus.DONE and c.days_left > 0:
            days = [result.as_of] + working_days(result.as_of + DAY, c.deadline, result.workdays)
            step = c.remaining / c.days_left
            lines["needed"] = {d: c.current + step * i for i, d in enumerate(days)}
        per_class[c.category] = lines
        for series_name, points in lines.items():
            for d, v in points.items():
                rows.append({"class": c.category, "series": series_name, "day": d, "count": v,
                             "remaining": max(c.target - v, 0.0), "target": float(c.target), "deadline": c.deadline})
    units = {c.unit for c in result.classes}
    if len(result.classes) > 1 and len(units) == 1:
        total_target = float(sum(c.target for c in result.classes))
        for series_name in ("actual", "projected", "needed"):
            days = sorted({d for lines in per_class.values() for d in lines[series_name]})
            for d in days:
                value = 0.0
                for c in result.classes:
                    points = per_class[c.category][series_name] or {}
                    if not points:  # a class without this line stays where it is (done, or no rate)
                        points = {result.as_of: c.current}
                    known = [p for p in points if p <= d]
                    v = points[max(known)] if known else per_class[c.category]["actual"].get(d, 0.0)
                    value += min(v, c.target)
                rows.append({"class": ALL_CLASSES, "series": series_name, "day": d, "count": value,
                             "remaining": max(total_target - value, 0.0), "target": total_target,
                             "deadline": max(c.deadline for c in result.classes)})
    if not rows:
        return BURN_SCHEMA.empty_table()
    return pa.Table.from_pylist(rows, schema=BURN_SCHEMA)
